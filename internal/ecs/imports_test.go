package ecs

import (
	"testing"

	"github.com/berthhq/berth/internal/importstest"
)

// TestImports keeps the package to the standard library and the internal
// packages doc.go names.
func TestImports(t *testing.T) {
	importstest.Check(t,
		"github.com/berthhq/berth/internal/awsapi",
		"github.com/berthhq/berth/internal/awsjson",
		"github.com/berthhq/berth/internal/errdefs",
		"github.com/berthhq/berth/internal/state",
		"github.com/berthhq/berth/internal/taskdef",
		"github.com/berthhq/berth/internal/placement",
	)
}
