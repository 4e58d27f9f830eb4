package ecs

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/state"
	"github.com/berthhq/berth/internal/taskdef"
)

// taskDefinitionView renders a stored revision: the registered body with the
// identity fields of the record laid over it (the outer fields win over the
// embedded ones of the same JSON name).
type taskDefinitionView struct {
	*taskdef.TaskDefinition
	TaskDefinitionArn string        `json:"taskDefinitionArn"`
	Family            string        `json:"family"`
	Revision          int32         `json:"revision"`
	Status            string        `json:"status"`
	RegisteredAt      awsjson.Time  `json:"registeredAt"`
	RegisteredBy      string        `json:"registeredBy,omitempty"`
	DeregisteredAt    *awsjson.Time `json:"deregisteredAt,omitempty"`
	DeleteRequestedAt *awsjson.Time `json:"deleteRequestedAt,omitempty"`
}

// taskDefView renders d; a non-empty status overrides the stored one (as for
// a revision whose deletion is under way).
func taskDefView(d *state.TaskDefinition, status string) *taskDefinitionView {
	v := &taskDefinitionView{
		TaskDefinition:    d.Body,
		TaskDefinitionArn: d.ARN,
		Family:            d.Family,
		Revision:          d.Revision,
		Status:            d.Status,
		RegisteredAt:      awsjson.At(d.RegisteredAt),
		RegisteredBy:      d.RegisteredBy,
	}
	if status != "" {
		v.Status = status
	}
	if !d.DeregisteredAt.IsZero() {
		v.DeregisteredAt = awsjson.Ptr(d.DeregisteredAt)
	}
	return v
}

type RegisterTaskDefinitionOutput struct {
	TaskDefinition *taskDefinitionView `json:"taskDefinition"`
	Tags           []Tag               `json:"tags"`
}

type DescribeTaskDefinitionInput struct {
	TaskDefinition *string  `json:"taskDefinition"`
	Include        []string `json:"include"`
}
type DescribeTaskDefinitionOutput struct {
	TaskDefinition *taskDefinitionView `json:"taskDefinition"`
	// Tags is nil (left out) unless the caller included TAGS.
	Tags []Tag `json:"tags,omitzero"`
}

type ListTaskDefinitionsInput struct {
	FamilyPrefix *string `json:"familyPrefix"`
	Status       *string `json:"status"`
	Sort         *string `json:"sort"`
	NextToken    *string `json:"nextToken"`
	MaxResults   *int32  `json:"maxResults"`
}
type ListTaskDefinitionsOutput struct {
	TaskDefinitionArns []string `json:"taskDefinitionArns"`
	NextToken          *string  `json:"nextToken,omitempty"`
}

type ListTaskDefinitionFamiliesInput struct {
	FamilyPrefix *string `json:"familyPrefix"`
	Status       *string `json:"status"`
	NextToken    *string `json:"nextToken"`
	MaxResults   *int32  `json:"maxResults"`
}
type ListTaskDefinitionFamiliesOutput struct {
	Families  []string `json:"families"`
	NextToken *string  `json:"nextToken,omitempty"`
}

type DeregisterTaskDefinitionInput struct {
	TaskDefinition *string `json:"taskDefinition"`
}
type DeregisterTaskDefinitionOutput struct {
	TaskDefinition *taskDefinitionView `json:"taskDefinition"`
}

type DeleteTaskDefinitionsInput struct {
	TaskDefinitions []string `json:"taskDefinitions"`
}
type DeleteTaskDefinitionsOutput struct {
	TaskDefinitions []*taskDefinitionView `json:"taskDefinitions"`
	Failures        []Failure             `json:"failures"`
}

// RegisterTaskDefinition validates a definition and stores it as the next
// revision of its family.
func (a *API) RegisterTaskDefinition(ctx context.Context, in *taskdef.RegisterInput) (*RegisterTaskDefinitionOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if err := taskdef.Validate(in); err != nil {
		var ve *taskdef.Error
		if errors.As(err, &ve) {
			return nil, &awsapi.Error{Code: ve.Code, Message: ve.Message}
		}
		return nil, err
	}
	tags, err := validateTags(wireTagsFromTaskdef(in))
	if err != nil {
		return nil, err
	}
	now := a.now().UTC()
	body := taskdef.Build(in, "", 0, now, c.PrincipalARN)
	d, err := state.Do[*state.TaskDefinition](ctx, a.store, &state.RegisterTaskDefinition{Def: &state.TaskDefinition{
		Account: c.Account, Region: c.Region, Family: familyOf(in),
		Body: body, Tags: tags, RegisteredAt: now, RegisteredBy: c.PrincipalARN,
	}})
	if err != nil {
		return nil, err
	}
	return &RegisterTaskDefinitionOutput{TaskDefinition: taskDefView(d, ""), Tags: wireTags(d.Tags)}, nil
}

// parseTaskDefRef splits "family", "family:revision" or a task definition ARN.
// revision is 0 when ref names a family only. ok is false when ref is
// malformed or an ARN of another tenancy.
func parseTaskDefRef(ref string, c *awsapi.Caller) (family string, revision int32, ok bool) {
	if strings.HasPrefix(ref, "arn:") {
		a, valid := ParseARN(ref)
		if !valid || !isECSARNOf(a, c.Account, c.Region) {
			return "", 0, false
		}
		rest, found := strings.CutPrefix(a.Resource, "task-definition/")
		if !found {
			return "", 0, false
		}
		ref = rest
	}
	fam, rev, hasRev := strings.Cut(ref, ":")
	if fam == "" {
		return "", 0, false
	}
	if !hasRev {
		return fam, 0, true
	}
	n, err := strconv.ParseInt(rev, 10, 32)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return fam, int32(n), true
}

// findTaskDefinition resolves a reference. A family alone means its latest
// ACTIVE revision; needRevision refuses a family alone (as ARNs and
// deregistration require).
func (a *API) findTaskDefinition(snap *state.Snapshot, c *awsapi.Caller, ref string, needRevision bool) (*state.TaskDefinition, error) {
	fam, rev, ok := parseTaskDefRef(ref, c)
	if !ok || (needRevision && rev == 0) {
		return nil, clientErr("Unable to describe task definition.")
	}
	var d *state.TaskDefinition
	if rev == 0 {
		d = snap.LatestActiveTaskDefinition(c.Account, c.Region, fam)
	} else {
		d = snap.TaskDefinition(c.Account, c.Region, fam, rev)
	}
	if d == nil {
		return nil, clientErr("Unable to describe task definition.")
	}
	return d, nil
}

// DescribeTaskDefinition describes one revision.
func (a *API) DescribeTaskDefinition(ctx context.Context, in *DescribeTaskDefinitionInput) (*DescribeTaskDefinitionOutput, error) {
	c := awsapi.CallerFrom(ctx)
	ref, err := required(in.TaskDefinition, "taskDefinition")
	if err != nil {
		return nil, err
	}
	if _, err := includeTags(in.Include); err != nil {
		return nil, err
	}
	d, err := a.findTaskDefinition(a.store.Snapshot(), c, ref, false)
	if err != nil {
		return nil, err
	}
	out := &DescribeTaskDefinitionOutput{TaskDefinition: taskDefView(d, "")}
	if slices.Contains(in.Include, "TAGS") {
		out.Tags = wireTags(d.Tags)
	}
	return out, nil
}

var taskDefStatuses = []string{state.TaskDefActive, state.TaskDefInactive, state.TaskDefDeleteInProgress}

// ListTaskDefinitions lists revision ARNs, optionally of one family (the
// familyPrefix member names a whole family), by status, in either order.
func (a *API) ListTaskDefinitions(ctx context.Context, in *ListTaskDefinitionsInput) (*ListTaskDefinitionsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	status := state.TaskDefActive
	if in.Status != nil {
		if !slices.Contains(taskDefStatuses, *in.Status) {
			return nil, invalidParam("Invalid status %q. Valid values: ACTIVE, INACTIVE, DELETE_IN_PROGRESS.", *in.Status)
		}
		status = *in.Status
	}
	desc := false
	if in.Sort != nil {
		if *in.Sort != "ASC" && *in.Sort != "DESC" {
			return nil, invalidParam("Invalid sort %q. Valid values: ASC, DESC.", *in.Sort)
		}
		desc = *in.Sort == "DESC"
	}
	n, after, err := pageArgs(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if in.FamilyPrefix != nil && *in.FamilyPrefix != "" {
		prefix = state.Key(*in.FamilyPrefix, "")
	}
	snap := a.store.Snapshot()
	var matching []*state.TaskDefinition
	for d := range snap.TaskDefinitions(c.Account, c.Region, prefix, "") {
		if d.Status == status {
			matching = append(matching, d)
		}
	}
	if desc {
		slices.Reverse(matching)
	}
	seq := func(yield func(*state.TaskDefinition) bool) {
		for _, d := range matching {
			if after != "" && ((!desc && d.ID <= after) || (desc && d.ID >= after)) {
				continue
			}
			if !yield(d) {
				return
			}
		}
	}
	page, next := paginate(seq, n, func(d *state.TaskDefinition) string { return d.ID })
	out := &ListTaskDefinitionsOutput{TaskDefinitionArns: []string{}, NextToken: next}
	for _, d := range page {
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, d.ARN)
	}
	return out, nil
}

// ListTaskDefinitionFamilies lists families by name prefix. A family is
// ACTIVE while any revision is ACTIVE, INACTIVE once none is; by default both
// are listed. A family whose revisions are all deleted is not listed.
func (a *API) ListTaskDefinitionFamilies(ctx context.Context, in *ListTaskDefinitionFamiliesInput) (*ListTaskDefinitionFamiliesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	status := "ALL"
	if in.Status != nil {
		if *in.Status != "ACTIVE" && *in.Status != "INACTIVE" && *in.Status != "ALL" {
			return nil, invalidParam("Invalid status %q. Valid values: ACTIVE, INACTIVE, ALL.", *in.Status)
		}
		status = *in.Status
	}
	n, after, err := pageArgs(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if in.FamilyPrefix != nil {
		prefix = *in.FamilyPrefix
	}
	snap := a.store.Snapshot()
	seq := func(yield func(*state.Family) bool) {
		for f := range snap.Families(c.Account, c.Region, prefix, after) {
			active, exists := false, false
			for d := range snap.TaskDefinitions(c.Account, c.Region, state.Key(f.Name, ""), "") {
				exists = true
				if d.Status == state.TaskDefActive {
					active = true
					break
				}
			}
			keep := exists && (status == "ALL" || (status == "ACTIVE") == active)
			if keep && !yield(f) {
				return
			}
		}
	}
	page, next := paginate(seq, n, func(f *state.Family) string { return f.ID })
	out := &ListTaskDefinitionFamiliesOutput{Families: []string{}, NextToken: next}
	for _, f := range page {
		out.Families = append(out.Families, f.Name)
	}
	return out, nil
}

// updateTaskDefinition applies mutate to a fresh copy of a revision and
// writes it back, retrying on concurrent changes.
func (a *API) updateTaskDefinition(ctx context.Context, family string, revision int32, c *awsapi.Caller, mutate func(*state.TaskDefinition) error) (*state.TaskDefinition, error) {
	return retryConflicts(ctx, func() (*state.TaskDefinition, error) {
		d := a.store.Snapshot().TaskDefinition(c.Account, c.Region, family, revision)
		if d == nil {
			return nil, clientErr("Unable to describe task definition.")
		}
		n := d.Copy()
		if err := mutate(n); err != nil {
			return nil, err
		}
		return state.Do[*state.TaskDefinition](ctx, a.store, &state.PutTaskDefinition{Def: n, ModifyIndex: d.ModifyIndex})
	})
}

// DeregisterTaskDefinition marks a revision INACTIVE.
func (a *API) DeregisterTaskDefinition(ctx context.Context, in *DeregisterTaskDefinitionInput) (*DeregisterTaskDefinitionOutput, error) {
	c := awsapi.CallerFrom(ctx)
	ref, err := required(in.TaskDefinition, "taskDefinition")
	if err != nil {
		return nil, err
	}
	fam, rev, ok := parseTaskDefRef(ref, c)
	if !ok {
		return nil, clientErr("Unable to describe task definition.")
	}
	if rev == 0 {
		return nil, clientErr("Invalid revision number. Number: %s", ref)
	}
	// Deregistering an INACTIVE revision again succeeds and changes nothing.
	if d := a.store.Snapshot().TaskDefinition(c.Account, c.Region, fam, rev); d != nil && d.Status != state.TaskDefActive {
		return &DeregisterTaskDefinitionOutput{TaskDefinition: taskDefView(d, "")}, nil
	}
	d, err := a.updateTaskDefinition(ctx, fam, rev, c, func(n *state.TaskDefinition) error {
		if n.Status == state.TaskDefActive {
			n.Status = state.TaskDefInactive
			n.DeregisteredAt = a.now().UTC()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &DeregisterTaskDefinitionOutput{TaskDefinition: taskDefView(d, "")}, nil
}

// DeleteTaskDefinitions deletes INACTIVE revisions, up to 10 a call; each
// revision that cannot be deleted is reported as a failure.
func (a *API) DeleteTaskDefinitions(ctx context.Context, in *DeleteTaskDefinitionsInput) (*DeleteTaskDefinitionsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(in.TaskDefinitions) == 0 {
		return nil, invalidParam("taskDefinitions must contain at least one task definition.")
	}
	if len(in.TaskDefinitions) > 10 {
		return nil, invalidParam("taskDefinitions can have at most 10 items.")
	}
	out := &DeleteTaskDefinitionsOutput{TaskDefinitions: []*taskDefinitionView{}, Failures: []Failure{}}
	now := a.now().UTC()
	for _, ref := range in.TaskDefinitions {
		fam, rev, ok := parseTaskDefRef(ref, c)
		arn := ref
		if ok && rev > 0 {
			arn = state.TaskDefinitionARN(c.Account, c.Region, fam, rev)
		}
		fail := func(reason string) {
			out.Failures = append(out.Failures, Failure{Arn: ptr(arn), Reason: ptr(reason)})
		}
		if !ok || rev == 0 {
			fail("The specified task definition identifier is invalid. Specify a valid name or ARN and try again.")
			continue
		}
		d, err := state.Do[*state.TaskDefinition](ctx, a.store, &state.DeleteTaskDefinition{Account: c.Account, Region: c.Region, Family: fam, Revision: rev})
		if err != nil {
			if _, ok := errdefs.As(err); ok {
				fail(err.Error())
				continue
			}
			return nil, err
		}
		v := taskDefView(d, state.TaskDefDeleteInProgress)
		v.DeleteRequestedAt = awsjson.Ptr(now)
		out.TaskDefinitions = append(out.TaskDefinitions, v)
	}
	return out, nil
}

func familyOf(in *taskdef.RegisterInput) string { return in.Family }

func wireTagsFromTaskdef(in *taskdef.RegisterInput) []Tag {
	out := make([]Tag, len(in.Tags))
	for i, t := range in.Tags {
		out[i] = Tag{Key: ptr(t.Key), Value: ptr(t.Value)}
	}
	return out
}
