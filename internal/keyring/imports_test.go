package keyring

import (
	"testing"

	"github.com/berthhq/berth/internal/importstest"
)

// TestImports keeps the package to the standard library, as doc.go says.
func TestImports(t *testing.T) {
	importstest.Check(t)
}
