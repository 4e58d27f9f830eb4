package registry

import (
	"testing"

	"github.com/berthhq/berth/internal/importstest"
)

// TestImports keeps the package to the standard library and the packages
// doc.go names.
func TestImports(t *testing.T) {
	importstest.Check(t,
		"github.com/berthhq/berth/internal/errdefs",
		"github.com/berthhq/berth/internal/state",
	)
}
