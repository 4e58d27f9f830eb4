package taskdef

import (
	"testing"

	"github.com/berthhq/berth/internal/importstest"
)

// TestImports keeps the package to the standard library and internal/awsjson,
// as doc.go promises.
func TestImports(t *testing.T) {
	importstest.Check(t,
		"github.com/berthhq/berth/internal/awsjson",
	)
}
