package ssm

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/state"
)

// Limits of parameter values and versions.
const (
	maxStandardValue = 4096
	maxAdvancedValue = 8192
	maxVersions      = 100
	maxTags          = 50
)

type PutParameterInput struct {
	Name           *string `json:"Name"`
	Value          *string `json:"Value"`
	AllowedPattern *string `json:"AllowedPattern"`
	DataType       *string `json:"DataType"`
	Description    *string `json:"Description"`
	KeyId          *string `json:"KeyId"`
	Overwrite      *bool   `json:"Overwrite"`
	Policies       *string `json:"Policies"`
	Tags           []Tag   `json:"Tags"`
	Tier           string  `json:"Tier"`
	Type           string  `json:"Type"`
}

type PutParameterOutput struct {
	Tier    string `json:"Tier"`
	Version int64  `json:"Version"`
}

// PutParameter creates a parameter, or with Overwrite adds a version to it.
func (a *API) PutParameter(ctx context.Context, in *PutParameterInput) (*PutParameterOutput, error) {
	var v validator
	if in.Name == nil {
		v.add("name", "null", false, "Member must not be null")
	} else {
		v.length("name", strings.TrimSpace(*in.Name), 1, maxNameLen, false)
	}
	if in.Value == nil {
		v.add("value", "", true, "Member must not be null")
	} else {
		v.length("value", *in.Value, 1, 0, true)
	}
	v.optLength("description", in.Description, 0, 1024)
	v.optLength("allowedPattern", in.AllowedPattern, 0, 1024)
	if in.KeyId != nil {
		v.length("keyId", *in.KeyId, 1, 256, false)
		v.pattern("keyId", *in.KeyId, keyIDPattern, keyIDSource)
	}
	v.optLength("dataType", in.DataType, 0, 128)
	v.enum("type", in.Type, parameterTypes...)
	v.enum("tier", in.Tier, tiers...)
	v.tags("tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	name, nerr := checkNewName(*in.Name)
	if nerr != nil {
		return nil, nerr
	}
	value := *in.Value
	overwrite := in.Overwrite != nil && *in.Overwrite
	if overwrite && len(in.Tags) > 0 {
		return nil, validationErr("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	if in.Policies != nil && strings.TrimSpace(*in.Policies) != "" && strings.TrimSpace(*in.Policies) != "[]" {
		return nil, awsapi.Errorf("InvalidPolicyTypeException", "Berth does not support parameter policies (Expiration, ExpirationNotification, NoChangeNotification).")
	}
	if strings.Contains(value, "{{") && strings.Contains(value, "}}") {
		return nil, validationErr(`Parameter value can't nest another parameter. Do not use "{{}}" in the value.`)
	}
	if in.DataType != nil && *in.DataType != "" && *in.DataType != dataTypeText && *in.DataType != dataTypeImage {
		return nil, validationErr("The following data type is not supported: %s (Data type names are all lowercase.)", *in.DataType)
	}
	var pattern *regexp.Regexp
	if in.AllowedPattern != nil && *in.AllowedPattern != "" {
		re, err := regexp.Compile(*in.AllowedPattern)
		if err != nil {
			return nil, awsapi.Errorf("InvalidAllowedPatternException", "The allowed pattern %s is not a valid regular expression.", *in.AllowedPattern)
		}
		pattern = re
	}
	tags := tagDocs(in.Tags)
	if len(tags) > maxTags {
		return nil, awsapi.Errorf("TooManyTagsError", "A parameter can have at most %d tags.", maxTags)
	}

	account, region := tenancy(ctx)
	caller := awsapi.CallerFrom(ctx)
	arn := arnOf(region, account, name)
	// A SecureString may be sealed in the attempt below; hold sealMu until
	// the write is committed (see RewrapAll).
	a.sealMu.RLock()
	defer a.sealMu.RUnlock()
	return retryConflicts(ctx, func() (*PutParameterOutput, error) {
		snap := a.store.Snapshot()
		h, err := loadHead(snap, account, region, name)
		if err != nil {
			return nil, err
		}
		var prev *version
		if h != nil {
			if !overwrite {
				return nil, awsapi.Errorf("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
			}
			if prev, err = loadVersion(snap, account, region, name, h.Version); err != nil {
				return nil, err
			}
			if prev == nil {
				return nil, fmt.Errorf("ssm: parameter %q has no document for its version %d", name, h.Version)
			}
		} else if in.Type == "" {
			return nil, validationErr("A parameter type is required when you create a parameter.")
		}

		nv, aerr := newVersion(in, prev, value, pattern)
		if aerr != nil {
			return nil, aerr
		}
		nv.Modified = a.now().UnixMilli()
		nv.User = caller.PrincipalARN

		var ops []state.DocOp
		if h == nil {
			nv.Version = 1
			h = &head{paramDoc: paramDoc{Name: name, Tags: tags}}
			ops = append(ops, state.DocOp{Key: headKey(account, region, name), IfAbsent: true})
		} else {
			nv.Version = h.Version + 1
			ops = append(ops, state.DocOp{Key: h.doc.ID, IfIndex: h.doc.ModifyIndex})
			versions, err := loadVersions(snap, account, region, name)
			if err != nil {
				return nil, err
			}
			if len(versions) >= maxVersions {
				oldest := versions[0]
				if labels := h.labelsOf(oldest.Version); len(labels) > 0 {
					return nil, awsapi.Errorf("ParameterMaxVersionLimitExceeded", "You attempted to create a new version of %s by calling the PutParameter API with the overwrite flag. Version %d, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.", name, oldest.Version)
				}
				ops = append(ops, state.DocOp{Key: oldest.doc.ID, Delete: true, IfIndex: oldest.doc.ModifyIndex})
			}
		}
		h.Version = nv.Version
		ops[0].Value = mustJSON(h.paramDoc)
		if nv.Type == typeSecureString {
			env, err := a.kr.Seal([]byte(value), sealAAD(arn, nv.Version))
			if err != nil {
				return nil, err
			}
			nv.Sealed = &env
		} else {
			nv.Value = value
		}
		ops = append(ops, state.DocOp{Key: versionKey(account, region, name, nv.Version), Value: mustJSON(nv), IfAbsent: true})
		if err := a.writeDocs(ctx, ops); err != nil {
			return nil, err
		}
		return &PutParameterOutput{Tier: nv.Tier, Version: nv.Version}, nil
	})
}

const (
	dataTypeText  = "text"
	dataTypeImage = "aws:ec2:image"
)

var amiPattern = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)

// newVersion works out the attributes of the version a put creates: what the
// request sets, else what the previous version had, else the defaults. Its
// Value and Sealed are left to the caller.
func newVersion(in *PutParameterInput, prev *version, value string, pattern *regexp.Regexp) (*versionDoc, *awsapi.Error) {
	nv := &versionDoc{Type: in.Type, DataType: dataTypeText, Tier: tierStandard}
	if prev != nil {
		nv.Description, nv.AllowedPattern, nv.DataType = prev.Description, prev.AllowedPattern, prev.DataType
		if nv.Type == "" {
			nv.Type = prev.Type
		}
		if prev.Tier == tierAdvanced {
			nv.Tier = tierAdvanced
		}
	}
	if in.Description != nil {
		nv.Description = *in.Description
	}
	if in.AllowedPattern != nil {
		nv.AllowedPattern = *in.AllowedPattern
	}
	if in.DataType != nil && *in.DataType != "" {
		nv.DataType = *in.DataType
	}
	switch {
	case nv.Type == typeSecureString && in.KeyId != nil:
		nv.KeyID = *in.KeyId
	case nv.Type == typeSecureString && prev != nil && prev.Type == typeSecureString:
		nv.KeyID = prev.KeyID
	case nv.Type == typeSecureString:
		nv.KeyID = defaultKeyID
	case in.KeyId != nil:
		return nil, validationErr("KeyId is required for SecureString type parameter only.")
	}
	if nv.DataType == dataTypeImage {
		if nv.Type != typeString {
			return nil, validationErr("The data type %s is only supported for parameters of type String.", dataTypeImage)
		}
		if !amiPattern.MatchString(value) {
			return nil, validationErr("Parameter value %s is not a valid Amazon Machine Image (AMI) ID, such as ami-12345abcdeEXAMPLE.", value)
		}
	}

	switch in.Tier {
	case tierStandard:
		if prev != nil && prev.Tier == tierAdvanced {
			return nil, validationErr("This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.")
		}
	case tierAdvanced:
		nv.Tier = tierAdvanced
	case tierIntelligent:
		if len(value) > maxStandardValue {
			nv.Tier = tierAdvanced
		}
	}
	switch {
	case nv.Tier == tierStandard && len(value) > maxStandardValue:
		return nil, validationErr("Standard tier parameters support a maximum parameter value of %d characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html", maxStandardValue)
	case len(value) > maxAdvancedValue:
		return nil, validationErr("Advanced tier parameters support a maximum parameter value of %d characters.", maxAdvancedValue)
	}

	if nv.AllowedPattern != "" {
		re := pattern
		if re == nil || in.AllowedPattern == nil {
			var err error
			if re, err = regexp.Compile(nv.AllowedPattern); err != nil {
				return nil, awsapi.Errorf("InvalidAllowedPatternException", "The allowed pattern %s is not a valid regular expression.", nv.AllowedPattern)
			}
		}
		if !re.MatchString(value) {
			return nil, awsapi.Errorf("ParameterPatternMismatchException", "Parameter value, cannot be validated against allowedPattern: %s", nv.AllowedPattern)
		}
	}
	return nv, nil
}

// tagDocs turns request tags into stored ones: sorted by key, a later value
// of a key replacing an earlier one.
func tagDocs(tags []Tag) []tagDoc {
	m := map[string]string{}
	for _, t := range tags {
		if t.Key != nil && t.Value != nil {
			m[*t.Key] = *t.Value
		}
	}
	return tagMapDocs(m)
}

func tagMapDocs(m map[string]string) []tagDoc {
	out := make([]tagDoc, 0, len(m))
	for k, v := range m {
		out = append(out, tagDoc{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b tagDoc) int { return strings.Compare(a.Key, b.Key) })
	if len(out) == 0 {
		return nil
	}
	return out
}
