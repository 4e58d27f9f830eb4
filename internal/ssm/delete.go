package ssm

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthhq/berth/internal/state"
)

type DeleteParameterInput struct {
	Name *string `json:"Name"`
}

type DeleteParameterOutput struct{}

// DeleteParameter deletes a parameter and all its versions.
func (a *API) DeleteParameter(ctx context.Context, in *DeleteParameterInput) (*DeleteParameterOutput, error) {
	if in.Name == nil {
		return nil, validationErr("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if err := nameLength(strings.TrimSpace(*in.Name)); err != nil {
		return nil, err
	}
	account, region := tenancy(ctx)
	name := canonical(strings.TrimSpace(*in.Name))
	return retryConflicts(ctx, func() (*DeleteParameterOutput, error) {
		snap := a.store.Snapshot()
		h, err := loadHead(snap, account, region, name)
		if err != nil {
			return nil, err
		}
		if h == nil {
			return nil, errParamNotFound
		}
		if err := a.writeDocs(ctx, deleteOps(snap, account, region, h)); err != nil {
			return nil, err
		}
		return &DeleteParameterOutput{}, nil
	})
}

type DeleteParametersInput struct {
	Names []string `json:"Names"`
}

type DeleteParametersOutput struct {
	DeletedParameters []string `json:"DeletedParameters"`
	InvalidParameters []string `json:"InvalidParameters"`
}

// DeleteParameters deletes up to ten parameters at once; the names that name
// nothing are InvalidParameters.
func (a *API) DeleteParameters(ctx context.Context, in *DeleteParametersInput) (*DeleteParametersOutput, error) {
	var val validator
	val.listLength("names", in.Names, 1, 10)
	for i, n := range in.Names {
		val.length(fmt.Sprintf("names.%d.member", i+1), n, 1, maxNameLen, false)
	}
	if err := val.err(); err != nil {
		return nil, err
	}
	account, region := tenancy(ctx)
	return retryConflicts(ctx, func() (*DeleteParametersOutput, error) {
		snap := a.store.Snapshot()
		out := &DeleteParametersOutput{DeletedParameters: []string{}, InvalidParameters: []string{}}
		var ops []state.DocOp
		done := map[string]bool{}
		for _, raw := range in.Names {
			name := canonical(strings.TrimSpace(raw))
			h, err := loadHead(snap, account, region, name)
			if err != nil {
				return nil, err
			}
			switch {
			case h == nil:
				out.InvalidParameters = append(out.InvalidParameters, raw)
			case done[name]:
				out.DeletedParameters = append(out.DeletedParameters, raw)
			default:
				done[name] = true
				out.DeletedParameters = append(out.DeletedParameters, raw)
				ops = append(ops, deleteOps(snap, account, region, h)...)
			}
		}
		if len(ops) > 0 {
			if err := a.writeDocs(ctx, ops); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}
