package ssm

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/state"
)

// maxLabelsPerVersion is how many labels one version may carry.
const maxLabelsPerVersion = 10

type LabelParameterVersionInput struct {
	Labels           []string `json:"Labels"`
	Name             *string  `json:"Name"`
	ParameterVersion *int64   `json:"ParameterVersion"`
}

type LabelParameterVersionOutput struct {
	InvalidLabels    []string `json:"InvalidLabels"`
	ParameterVersion int64    `json:"ParameterVersion"`
}

// LabelParameterVersion attaches labels to a version (the latest unless
// ParameterVersion is given), moving any of them that another version
// carries.
func (a *API) LabelParameterVersion(ctx context.Context, in *LabelParameterVersionInput) (*LabelParameterVersionOutput, error) {
	name, aerr := checkLabelInput(in.Name, in.Labels)
	if aerr != nil {
		return nil, aerr
	}
	account, region := tenancy(ctx)
	return retryConflicts(ctx, func() (*LabelParameterVersionOutput, error) {
		snap := a.store.Snapshot()
		h, err := loadHead(snap, account, region, name)
		if err != nil {
			return nil, err
		}
		if h == nil {
			return nil, errParamNotFound
		}
		v := h.Version
		if in.ParameterVersion != nil {
			v = *in.ParameterVersion
		}
		if ver, err := loadVersion(snap, account, region, name, v); err != nil {
			return nil, err
		} else if ver == nil {
			return nil, versionNotFound(v, strings.TrimSpace(*in.Name))
		}
		out := &LabelParameterVersionOutput{InvalidLabels: []string{}, ParameterVersion: v}
		labels := maps.Clone(h.Labels)
		if labels == nil {
			labels = map[string]int64{}
		}
		for _, l := range in.Labels {
			if !checkLabel(l) {
				out.InvalidLabels = append(out.InvalidLabels, l)
				continue
			}
			labels[l] = v
		}
		n := 0
		for _, lv := range labels {
			if lv == v {
				n++
			}
		}
		if n > maxLabelsPerVersion {
			return nil, awsapi.Errorf("ParameterVersionLabelLimitExceeded", "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.")
		}
		if maps.Equal(labels, h.Labels) {
			return out, nil
		}
		h.Labels = labels
		if err := a.writeDocs(ctx, []state.DocOp{{Key: h.doc.ID, Value: mustJSON(h.paramDoc), IfIndex: h.doc.ModifyIndex}}); err != nil {
			return nil, err
		}
		return out, nil
	})
}

type UnlabelParameterVersionInput struct {
	Labels           []string `json:"Labels"`
	Name             *string  `json:"Name"`
	ParameterVersion *int64   `json:"ParameterVersion"`
}

type UnlabelParameterVersionOutput struct {
	InvalidLabels []string `json:"InvalidLabels"`
	RemovedLabels []string `json:"RemovedLabels"`
}

// UnlabelParameterVersion removes labels from a version; the labels that
// version does not carry are InvalidLabels.
func (a *API) UnlabelParameterVersion(ctx context.Context, in *UnlabelParameterVersionInput) (*UnlabelParameterVersionOutput, error) {
	name, aerr := checkLabelInput(in.Name, in.Labels)
	if aerr != nil {
		return nil, aerr
	}
	if in.ParameterVersion == nil {
		return nil, validationErr("1 validation error detected: Value null at 'parameterVersion' failed to satisfy constraint: Member must not be null")
	}
	account, region := tenancy(ctx)
	v := *in.ParameterVersion
	return retryConflicts(ctx, func() (*UnlabelParameterVersionOutput, error) {
		snap := a.store.Snapshot()
		h, err := loadHead(snap, account, region, name)
		if err != nil {
			return nil, err
		}
		if h == nil {
			return nil, errParamNotFound
		}
		if ver, err := loadVersion(snap, account, region, name, v); err != nil {
			return nil, err
		} else if ver == nil {
			return nil, versionNotFound(v, strings.TrimSpace(*in.Name))
		}
		out := &UnlabelParameterVersionOutput{InvalidLabels: []string{}, RemovedLabels: []string{}}
		labels := maps.Clone(h.Labels)
		for _, l := range in.Labels {
			if lv, ok := labels[l]; ok && lv == v {
				delete(labels, l)
				out.RemovedLabels = append(out.RemovedLabels, l)
			} else {
				out.InvalidLabels = append(out.InvalidLabels, l)
			}
		}
		if len(out.RemovedLabels) == 0 {
			return out, nil
		}
		h.Labels = labels
		if err := a.writeDocs(ctx, []state.DocOp{{Key: h.doc.ID, Value: mustJSON(h.paramDoc), IfIndex: h.doc.ModifyIndex}}); err != nil {
			return nil, err
		}
		return out, nil
	})
}

// checkLabelInput validates the Name and Labels of the label operations as
// the model does, and returns the canonical name.
func checkLabelInput(name *string, labels []string) (string, *awsapi.Error) {
	var val validator
	if name == nil {
		val.add("name", "null", false, "Member must not be null")
	} else {
		val.length("name", strings.TrimSpace(*name), 1, maxNameLen, false)
	}
	if labels == nil {
		val.add("labels", "null", false, "Member must not be null")
	} else {
		val.listLength("labels", labels, 1, 10)
	}
	for i, l := range labels {
		val.length(fmt.Sprintf("labels.%d.member", i+1), l, 1, 100, false)
	}
	if err := val.err(); err != nil {
		return "", err
	}
	return canonical(strings.TrimSpace(*name)), nil
}
