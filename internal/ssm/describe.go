package ssm

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
)

// ParameterStringFilter is a filter of DescribeParameters and
// GetParametersByPath.
type ParameterStringFilter struct {
	Key    *string  `json:"Key"`
	Option *string  `json:"Option"`
	Values []string `json:"Values"`
}

// ParametersFilter is the deprecated filter of DescribeParameters.
type ParametersFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

// filter is a checked ParameterStringFilter with its default option.
type filter struct {
	Key       string
	Option    string
	Values    []string
	hasValues bool
}

var filterKeyPattern = regexp.MustCompile(`^(tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType)$`)

const filterKeySource = "tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType"

// parseFilters checks filters against the model's constraints, adding what
// fails to v, and fills in the default options.
func parseFilters(v *validator, in []ParameterStringFilter) []filter {
	out := make([]filter, 0, len(in))
	for i, f := range in {
		m := fmt.Sprintf("parameterFilters.%d.member", i+1)
		if f.Key == nil {
			v.add(m+".key", "null", false, "Member must not be null")
			continue
		}
		v.length(m+".key", *f.Key, 1, 132, false)
		v.pattern(m+".key", *f.Key, filterKeyPattern, filterKeySource)
		v.optLength(m+".option", f.Option, 1, 10)
		if f.Values != nil {
			v.listLength(m+".values", f.Values, 1, 50)
			for j, val := range f.Values {
				v.length(fmt.Sprintf("%s.values.%d.member", m, j+1), val, 1, 1024, false)
			}
		}
		nf := filter{Key: *f.Key, Values: f.Values, hasValues: len(f.Values) > 0}
		switch {
		case f.Option != nil:
			nf.Option = *f.Option
		case nf.Key == "Path":
			nf.Option = "OneLevel"
		default:
			nf.Option = "Equals"
		}
		out = append(out, nf)
	}
	return out
}

// checkFilters applies the rules of the filter keys, options and values,
// for GetParametersByPath when byPath is set, else DescribeParameters.
func checkFilters(filters []filter, byPath bool) *awsapi.Error {
	seen := map[string]bool{}
	for _, f := range filters {
		tag := strings.HasPrefix(f.Key, "tag:")
		switch {
		case byPath && f.Key != "Type" && f.Key != "KeyId" && f.Key != "Label":
			return awsapi.Errorf("InvalidFilterKey", "The following filter key is not valid: %s. Valid filter keys include: [Type, KeyId, Label].", f.Key)
		case !byPath && f.Key == "Label":
			return awsapi.Errorf("InvalidFilterKey", "The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, Tier, DataType, tag].")
		case !f.hasValues && !tag:
			return awsapi.Errorf("InvalidFilterValue", "The following filter values are missing : null for filter key %s.", f.Key)
		case seen[f.Key]:
			return awsapi.Errorf("InvalidFilterKey", "The following filter is duplicated in the request: %s. A request can contain only one occurrence of a specific filter.", f.Key)
		}
		seen[f.Key] = true
		var options []string
		switch f.Key {
		case "Path":
			options = []string{"Recursive", "OneLevel"}
			for _, p := range f.Values {
				if lower := strings.ToLower(p); strings.HasPrefix(lower, "/aws") || strings.HasPrefix(lower, "/ssm") {
					return validationErr(`Filters for common parameters can't be prefixed with "aws" or "ssm" (case-insensitive). When using global parameters, please specify within a global namespace.`)
				}
				if p != "/" && (!strings.HasPrefix(p, "/") || !wellFormed(strings.TrimSuffix(p, "/"))) {
					return validationErr("%s", msgPathInvalid)
				}
			}
		case "Name":
			options = []string{"BeginsWith", "Equals", "Contains"}
		case "Label":
			options = []string{"Equals"}
		case "Tier":
			options = []string{"BeginsWith", "Equals"}
			if err := checkValues(f, tiers); err != nil {
				return err
			}
		case "Type":
			options = []string{"BeginsWith", "Equals"}
			if f.Option == "Equals" {
				if err := checkValues(f, parameterTypes); err != nil {
					return err
				}
			}
		default:
			options = []string{"BeginsWith", "Equals"}
		}
		if !slices.Contains(options, f.Option) {
			return awsapi.Errorf("InvalidFilterOption", "The following filter option is not valid: %s. Valid options include: [%s].", f.Option, strings.Join(options, ", "))
		}
	}
	return nil
}

func checkValues(f filter, valid []string) *awsapi.Error {
	for _, v := range f.Values {
		if !slices.Contains(valid, v) {
			return awsapi.Errorf("InvalidFilterValue", "The following filter value is not valid: %s. Valid values include: [%s].", v, strings.Join(valid, ", "))
		}
	}
	return nil
}

// matchOption applies an Equals, BeginsWith or Contains filter to what.
func matchOption(option, what string, values []string) bool {
	for _, v := range values {
		switch option {
		case "Equals":
			if what == v {
				return true
			}
		case "BeginsWith":
			if strings.HasPrefix(what, v) {
				return true
			}
		case "Contains":
			if strings.Contains(what, v) {
				return true
			}
		}
	}
	return false
}

// slashed is a name or path with exactly one leading slash, the form the
// Name and Path filters compare.
func slashed(s string) string { return "/" + strings.TrimLeft(s, "/") }

// matchVersionFilters applies the Type and KeyId filters to a version.
func matchVersionFilters(v *version, filters []filter) bool {
	for _, f := range filters {
		switch f.Key {
		case "Type":
			if !matchOption(f.Option, v.Type, f.Values) {
				return false
			}
		case "KeyId":
			if v.KeyID == "" || !matchOption(f.Option, v.KeyID, f.Values) {
				return false
			}
		case "Tier":
			if !matchOption(f.Option, v.Tier, f.Values) {
				return false
			}
		case "DataType":
			if !matchOption(f.Option, v.DataType, f.Values) {
				return false
			}
		}
	}
	return true
}

// matchParamFilters applies the Name, Path and tag filters to a parameter.
func matchParamFilters(h *head, filters []filter) bool {
	what := slashed(h.Name)
	for _, f := range filters {
		switch {
		case f.Key == "Name":
			values := f.Values
			if f.Option != "Contains" {
				values = make([]string, len(f.Values))
				for i, v := range f.Values {
					values[i] = slashed(v)
				}
			}
			if !matchOption(f.Option, what, values) {
				return false
			}
		case f.Key == "Path":
			if !slices.ContainsFunc(f.Values, func(p string) bool { return underPath(what, p, f.Option == "Recursive") }) {
				return false
			}
		case strings.HasPrefix(f.Key, "tag:"):
			key := strings.TrimPrefix(f.Key, "tag:")
			i := slices.IndexFunc(h.Tags, func(t tagDoc) bool { return t.Key == key })
			if i < 0 || f.hasValues && !matchOption(f.Option, h.Tags[i].Value, f.Values) {
				return false
			}
		}
	}
	return true
}

// underPath reports whether the slashed name what is one level below path,
// or at any depth below it when recursive.
func underPath(what, path string, recursive bool) bool {
	p := strings.TrimSuffix(slashed(path), "/")
	rest, ok := strings.CutPrefix(what, p+"/")
	return ok && (recursive || !strings.Contains(rest, "/"))
}

type DescribeParametersInput struct {
	Filters          []ParametersFilter      `json:"Filters"`
	MaxResults       *int32                  `json:"MaxResults"`
	NextToken        *string                 `json:"NextToken"`
	ParameterFilters []ParameterStringFilter `json:"ParameterFilters"`
	Shared           *bool                   `json:"Shared"`
}

type DescribeParametersOutput struct {
	NextToken  *string              `json:"NextToken,omitempty"`
	Parameters []*ParameterMetadata `json:"Parameters"`
}

// ParameterMetadata describes a parameter's latest version, without its
// value.
type ParameterMetadata struct {
	ARN              string         `json:"ARN"`
	AllowedPattern   *string        `json:"AllowedPattern,omitempty"`
	DataType         string         `json:"DataType"`
	Description      *string        `json:"Description,omitempty"`
	KeyId            *string        `json:"KeyId,omitempty"`
	LastModifiedDate awsjson.Time   `json:"LastModifiedDate"`
	LastModifiedUser string         `json:"LastModifiedUser"`
	Name             string         `json:"Name"`
	Policies         []InlinePolicy `json:"Policies"`
	Tier             string         `json:"Tier"`
	Type             string         `json:"Type"`
	Version          int64          `json:"Version"`
}

// DescribeParameters lists the caller's parameters, filtered, by name.
func (a *API) DescribeParameters(ctx context.Context, in *DescribeParametersInput) (*DescribeParametersOutput, error) {
	var val validator
	val.intRange("maxResults", in.MaxResults, 1, 50)
	for i, f := range in.Filters {
		m := fmt.Sprintf("filters.%d.member", i+1)
		val.enum(m+".key", f.Key, "Name", "Type", "KeyId")
		val.listLength(m+".values", f.Values, 1, 50)
		for j, v := range f.Values {
			val.length(fmt.Sprintf("%s.values.%d.member", m, j+1), v, 1, 1024, false)
		}
	}
	filters := parseFilters(&val, in.ParameterFilters)
	if err := val.err(); err != nil {
		return nil, err
	}
	if len(in.Filters) > 0 && len(in.ParameterFilters) > 0 {
		return nil, validationErr("You can use either Filters or ParameterFilters in a single request.")
	}
	if err := checkFilters(filters, false); err != nil {
		return nil, err
	}
	// The deprecated filters are Name (a prefix), Type and KeyId.
	for _, f := range in.Filters {
		option := "Equals"
		if f.Key == "Name" {
			option = "BeginsWith"
		}
		filters = append(filters, filter{Key: f.Key, Option: option, Values: f.Values, hasValues: true})
	}
	limit := pageSize(in.MaxResults, 10)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &DescribeParametersOutput{Parameters: []*ParameterMetadata{}}
	if deref(in.Shared) {
		return out, nil // Berth shares no parameters between accounts
	}
	account, region := tenancy(ctx)
	if after != "" {
		after = headKey(account, region, after)
	}
	snap := a.store.Snapshot()
	for d := range snap.Docs(nil, headPrefix(account, region), after) {
		h, err := decodeHead(d)
		if err != nil {
			return nil, err
		}
		if !matchParamFilters(h, filters) {
			continue
		}
		v, err := loadVersion(snap, account, region, h.Name, h.Version)
		if err != nil {
			return nil, err
		}
		if v == nil || !matchVersionFilters(v, filters) {
			continue
		}
		if len(out.Parameters) == limit {
			out.NextToken = encodeToken(out.Parameters[len(out.Parameters)-1].Name)
			break
		}
		out.Parameters = append(out.Parameters, &ParameterMetadata{
			ARN:              arnOf(region, account, h.Name),
			AllowedPattern:   optional(v.AllowedPattern),
			DataType:         v.DataType,
			Description:      optional(v.Description),
			KeyId:            optional(v.KeyID),
			LastModifiedDate: awsjson.At(time.UnixMilli(v.Modified)),
			LastModifiedUser: v.User,
			Name:             h.Name,
			Policies:         []InlinePolicy{},
			Tier:             v.Tier,
			Type:             v.Type,
			Version:          v.Version,
		})
	}
	return out, nil
}
