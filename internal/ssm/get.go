package ssm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/state"
)

// Parameter is a parameter version as the Get operations return it.
type Parameter struct {
	ARN              string       `json:"ARN"`
	DataType         string       `json:"DataType"`
	LastModifiedDate awsjson.Time `json:"LastModifiedDate"`
	Name             string       `json:"Name"`
	Selector         *string      `json:"Selector,omitempty"`
	Type             string       `json:"Type"`
	Value            string       `json:"Value"`
	Version          int64        `json:"Version"`

	nameKey string // the canonical name, for paging
}

type GetParameterInput struct {
	Name           *string `json:"Name"`
	WithDecryption *bool   `json:"WithDecryption"`
}

type GetParameterOutput struct {
	Parameter *Parameter `json:"Parameter"`
}

// GetParameter returns one parameter version: the latest, or the one a
// ":version" or ":label" selector names.
func (a *API) GetParameter(ctx context.Context, in *GetParameterInput) (*GetParameterOutput, error) {
	if in.Name == nil {
		return nil, validationErr("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	account, region := tenancy(ctx)
	r, aerr := parseRef(*in.Name, account, region)
	if aerr != nil {
		return nil, aerr
	}
	_, v, err := a.find(a.store.Snapshot(), account, region, r)
	if err != nil {
		return nil, err
	}
	p, err := a.render(r, account, region, v, deref(in.WithDecryption))
	if err != nil {
		return nil, err
	}
	return &GetParameterOutput{Parameter: p}, nil
}

type GetParametersInput struct {
	Names          []string `json:"Names"`
	WithDecryption *bool    `json:"WithDecryption"`
}

type GetParametersOutput struct {
	InvalidParameters []string     `json:"InvalidParameters"`
	Parameters        []*Parameter `json:"Parameters"`
}

// GetParameters returns up to ten parameters, sorted by name; the names that
// name nothing are InvalidParameters.
func (a *API) GetParameters(ctx context.Context, in *GetParametersInput) (*GetParametersOutput, error) {
	var val validator
	val.listLength("names", in.Names, 1, 10)
	for i, n := range in.Names {
		val.length(fmt.Sprintf("names.%d.member", i+1), n, 1, maxNameLen, false)
	}
	if err := val.err(); err != nil {
		return nil, err
	}
	account, region := tenancy(ctx)
	snap := a.store.Snapshot()
	out := &GetParametersOutput{InvalidParameters: []string{}, Parameters: []*Parameter{}}
	seen := map[string]bool{}
	for _, raw := range in.Names {
		if seen[raw] {
			continue
		}
		seen[raw] = true
		r, aerr := parseRef(raw, account, region)
		if aerr != nil {
			return nil, aerr
		}
		_, v, err := a.find(snap, account, region, r)
		if isAPIError(err) {
			out.InvalidParameters = append(out.InvalidParameters, raw)
			continue
		}
		if err != nil {
			return nil, err
		}
		p, err := a.render(r, account, region, v, deref(in.WithDecryption))
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, p)
	}
	slices.SortStableFunc(out.Parameters, func(x, y *Parameter) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

type GetParametersByPathInput struct {
	Path             *string                 `json:"Path"`
	MaxResults       *int32                  `json:"MaxResults"`
	NextToken        *string                 `json:"NextToken"`
	ParameterFilters []ParameterStringFilter `json:"ParameterFilters"`
	Recursive        *bool                   `json:"Recursive"`
	WithDecryption   *bool                   `json:"WithDecryption"`
}

type GetParametersByPathOutput struct {
	NextToken  *string      `json:"NextToken,omitempty"`
	Parameters []*Parameter `json:"Parameters"`
}

// GetParametersByPath lists the parameters under a path: one level below
// it, or all levels with Recursive.
func (a *API) GetParametersByPath(ctx context.Context, in *GetParametersByPathInput) (*GetParametersByPathOutput, error) {
	var val validator
	if in.Path == nil {
		val.add("path", "null", false, "Member must not be null")
	}
	val.intRange("maxResults", in.MaxResults, 1, 10)
	filters := parseFilters(&val, in.ParameterFilters)
	if err := val.err(); err != nil {
		return nil, err
	}
	path, aerr := checkPath(*in.Path)
	if aerr != nil {
		return nil, aerr
	}
	if err := checkFilters(filters, true); err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults, 10)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	account, region := tenancy(ctx)
	recursive := deref(in.Recursive)
	prefix := headPrefix(account, region)
	if path != "/" {
		prefix += path + "/"
	}
	if after != "" {
		after = headKey(account, region, after)
	}
	snap := a.store.Snapshot()
	out := &GetParametersByPathOutput{Parameters: []*Parameter{}}
	for d := range snap.Docs(nil, prefix, after) {
		h, err := decodeHead(d)
		if err != nil {
			return nil, err
		}
		if !recursive && strings.Contains(strings.TrimPrefix(h.Name, strings.TrimSuffix(path, "/")+"/"), "/") {
			// Deeper than one level below path.
			continue
		}
		v, err := a.versionFor(snap, account, region, h, filters)
		if err != nil {
			return nil, err
		}
		if v == nil || !matchVersionFilters(v, filters) {
			continue
		}
		if len(out.Parameters) == limit {
			out.NextToken = encodeToken(out.Parameters[len(out.Parameters)-1].nameKey)
			break
		}
		p, err := a.render(ref{display: h.Name, name: h.Name}, account, region, v, deref(in.WithDecryption))
		if err != nil {
			return nil, err
		}
		p.nameKey = h.Name
		out.Parameters = append(out.Parameters, p)
	}
	return out, nil
}

// versionFor is the version of h that GetParametersByPath returns: the one a
// Label filter names, else the latest; nil when a Label filter names none.
func (a *API) versionFor(snap *state.Snapshot, account, region string, h *head, filters []filter) (*version, error) {
	v := h.Version
	for _, f := range filters {
		if f.Key != "Label" {
			continue
		}
		v = 0
		for _, l := range f.Values {
			if lv, ok := h.Labels[l]; ok {
				v = lv
				break
			}
		}
		if v == 0 {
			return nil, nil
		}
	}
	ver, err := loadVersion(snap, account, region, h.Name, v)
	if err == nil && ver == nil {
		err = fmt.Errorf("ssm: parameter %q has no document for its version %d", h.Name, v)
	}
	return ver, err
}

type GetParameterHistoryInput struct {
	Name           *string `json:"Name"`
	MaxResults     *int32  `json:"MaxResults"`
	NextToken      *string `json:"NextToken"`
	WithDecryption *bool   `json:"WithDecryption"`
}

type GetParameterHistoryOutput struct {
	NextToken  *string             `json:"NextToken,omitempty"`
	Parameters []*ParameterHistory `json:"Parameters"`
}

// ParameterHistory is one version in GetParameterHistory.
type ParameterHistory struct {
	AllowedPattern   *string        `json:"AllowedPattern,omitempty"`
	DataType         string         `json:"DataType"`
	Description      *string        `json:"Description,omitempty"`
	KeyId            *string        `json:"KeyId,omitempty"`
	Labels           []string       `json:"Labels"`
	LastModifiedDate awsjson.Time   `json:"LastModifiedDate"`
	LastModifiedUser string         `json:"LastModifiedUser"`
	Name             string         `json:"Name"`
	Policies         []InlinePolicy `json:"Policies"`
	Tier             string         `json:"Tier"`
	Type             string         `json:"Type"`
	Value            string         `json:"Value"`
	Version          int64          `json:"Version"`
}

// InlinePolicy is a parameter policy; Berth stores none, so lists of them
// are always empty.
type InlinePolicy struct {
	PolicyStatus *string `json:"PolicyStatus,omitempty"`
	PolicyText   *string `json:"PolicyText,omitempty"`
	PolicyType   *string `json:"PolicyType,omitempty"`
}

// GetParameterHistory lists every stored version of a parameter, oldest
// first, with its labels.
func (a *API) GetParameterHistory(ctx context.Context, in *GetParameterHistoryInput) (*GetParameterHistoryOutput, error) {
	var val validator
	if in.Name == nil {
		val.add("name", "null", false, "Member must not be null")
	}
	val.intRange("maxResults", in.MaxResults, 1, 50)
	if err := val.err(); err != nil {
		return nil, err
	}
	account, region := tenancy(ctx)
	r, aerr := parseRef(*in.Name, account, region)
	if aerr != nil {
		return nil, aerr
	}
	if r.foreign || r.selector() != "" {
		return nil, errParamNotFound
	}
	limit := pageSize(in.MaxResults, 50)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	snap := a.store.Snapshot()
	h, err := loadHead(snap, account, region, r.name)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errParamNotFound
	}
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return nil, errBadToken
		}
		after = versionKey(account, region, h.Name, n)
	}
	arn := arnOf(region, account, h.Name)
	out := &GetParameterHistoryOutput{Parameters: []*ParameterHistory{}}
	for d := range snap.Docs(nil, versionPrefix(account, region, h.Name), after) {
		if len(out.Parameters) == limit {
			out.NextToken = encodeToken(strconv.FormatInt(out.Parameters[len(out.Parameters)-1].Version, 10))
			break
		}
		v, err := decodeVersion(d)
		if err != nil {
			return nil, err
		}
		value, err := a.valueOf(arn, v, deref(in.WithDecryption))
		if err != nil {
			return nil, err
		}
		labels := h.labelsOf(v.Version)
		if labels == nil {
			labels = []string{}
		}
		out.Parameters = append(out.Parameters, &ParameterHistory{
			AllowedPattern:   optional(v.AllowedPattern),
			DataType:         v.DataType,
			Description:      optional(v.Description),
			KeyId:            optional(v.KeyID),
			Labels:           labels,
			LastModifiedDate: awsjson.At(time.UnixMilli(v.Modified)),
			LastModifiedUser: v.User,
			Name:             h.Name,
			Policies:         []InlinePolicy{},
			Tier:             v.Tier,
			Type:             v.Type,
			Value:            value,
			Version:          v.Version,
		})
	}
	return out, nil
}

// Resolve returns the decrypted value of the parameter nameOrARN (a name or
// ARN, optionally with a ":version" or ":label" selector) of account and
// region (or, by ARN, of account in another region): the agent's way to
// fill a container's secrets. Its errors say what was not found
// (errdefs.ErrNotFound) and never carry a value.
func (a *API) Resolve(ctx context.Context, account, region, nameOrARN string) (string, error) {
	r, aerr := parseRef(nameOrARN, account, region)
	if aerr != nil {
		return "", errdefs.New(errdefs.ErrInvalidArgument, "parameter", "SSM parameter reference %q: %s", nameOrARN, aerr.Message)
	}
	if r.foreign && r.arnAccount == account {
		// As ECS does, a task may name a parameter of its account in another
		// region by its ARN.
		region, r.foreign = r.arnRegion, false
	}
	_, v, err := a.find(a.store.Snapshot(), account, region, r)
	if ae, ok := err.(*awsapi.Error); ok {
		switch ae.Code {
		case "ParameterVersionNotFound":
			return "", errdefs.New(errdefs.ErrNotFound, "parameter", "SSM parameter %q of account %s in %s has no version %d", r.name, account, region, r.version)
		case "ParameterNotFound":
			if r.label != "" {
				return "", errdefs.New(errdefs.ErrNotFound, "parameter", "SSM parameter %q of account %s in %s has no version labelled %q", r.name, account, region, r.label)
			}
			return "", errdefs.New(errdefs.ErrNotFound, "parameter", "SSM parameter %q not found in account %s, region %s", r.name, account, region)
		}
	}
	if err != nil {
		return "", err
	}
	return a.valueOf(arnOf(region, account, r.name), v, true)
}

// find returns the parameter and version r refers to. Its *awsapi.Error
// results are ParameterNotFound and ParameterVersionNotFound.
func (a *API) find(snap *state.Snapshot, account, region string, r ref) (*head, *version, error) {
	if r.foreign {
		return nil, nil, errParamNotFound
	}
	h, err := loadHead(snap, account, region, r.name)
	if err != nil {
		return nil, nil, err
	}
	if h == nil {
		return nil, nil, errParamNotFound
	}
	v := h.Version
	switch {
	case r.version != 0:
		v = r.version
	case r.label != "":
		lv, ok := h.Labels[r.label]
		if !ok {
			return nil, nil, errParamNotFound
		}
		v = lv
	}
	ver, err := loadVersion(snap, account, region, h.Name, v)
	if err != nil {
		return nil, nil, err
	}
	if ver == nil {
		if r.version != 0 {
			return nil, nil, versionNotFound(r.version, r.display)
		}
		return nil, nil, fmt.Errorf("ssm: parameter %q has no document for its version %d", h.Name, v)
	}
	return h, ver, nil
}

// render turns a version into a Parameter, its value decrypted if asked.
func (a *API) render(r ref, account, region string, v *version, decrypt bool) (*Parameter, error) {
	arn := arnOf(region, account, r.name)
	value, err := a.valueOf(arn, v, decrypt)
	if err != nil {
		return nil, err
	}
	p := &Parameter{
		ARN:              arn,
		DataType:         v.DataType,
		LastModifiedDate: awsjson.At(time.UnixMilli(v.Modified)),
		Name:             r.display,
		Type:             v.Type,
		Value:            value,
		Version:          v.Version,
	}
	if s := r.selector(); s != "" {
		p.Selector = &s
	}
	return p, nil
}

// valueOf is the value of a version as a response shows it. A SecureString
// read without decryption shows its ciphertext (the stored envelope,
// base64), as AWS shows the KMS ciphertext.
func (a *API) valueOf(arn string, v *version, decrypt bool) (string, error) {
	if v.Type != typeSecureString {
		return v.Value, nil
	}
	if v.Sealed == nil {
		return "", fmt.Errorf("ssm: SecureString %s version %d has no sealed value", arn, v.Version)
	}
	if !decrypt {
		b, _ := json.Marshal(v.Sealed)
		return base64.StdEncoding.EncodeToString(b), nil
	}
	pt, err := a.kr.Open(*v.Sealed, sealAAD(arn, v.Version))
	if err != nil {
		// The keyring's error carries no key material or value.
		return "", fmt.Errorf("ssm: decrypt %s version %d: %w", arn, v.Version, err)
	}
	return string(pt), nil
}

func isAPIError(err error) bool {
	_, ok := err.(*awsapi.Error)
	return ok
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
