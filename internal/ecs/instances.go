package ecs

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
)

// Resource is the ECS container instance resource shape.
type Resource struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	DoubleValue    float64  `json:"doubleValue"`
	LongValue      int64    `json:"longValue"`
	IntegerValue   int32    `json:"integerValue"`
	StringSetValue []string `json:"stringSetValue,omitempty"`
}

// Attribute is the ECS attribute shape.
type Attribute struct {
	Name       *string `json:"name"`
	Value      *string `json:"value,omitempty"`
	TargetType *string `json:"targetType,omitempty"`
	TargetID   *string `json:"targetId,omitempty"`
}

// VersionInfo is the ECS version info shape.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion"`
	AgentHash     string `json:"agentHash"`
	DockerVersion string `json:"dockerVersion"`
}

// ContainerInstance is the ECS container instance shape.
type ContainerInstance struct {
	ContainerInstanceArn string          `json:"containerInstanceArn"`
	Ec2InstanceID        string          `json:"ec2InstanceId"`
	Version              int64           `json:"version"`
	VersionInfo          VersionInfo     `json:"versionInfo"`
	RemainingResources   []Resource      `json:"remainingResources"`
	RegisteredResources  []Resource      `json:"registeredResources"`
	Status               string          `json:"status"`
	StatusReason         string          `json:"statusReason,omitempty"`
	AgentConnected       bool            `json:"agentConnected"`
	RunningTasksCount    int32           `json:"runningTasksCount"`
	PendingTasksCount    int32           `json:"pendingTasksCount"`
	Attributes           []Attribute     `json:"attributes"`
	RegisteredAt         awsjson.Time    `json:"registeredAt"`
	Attachments          []struct{}      `json:"attachments"`
	Tags                 []Tag           `json:"tags,omitempty"`
	HealthStatus         *InstanceHealth `json:"healthStatus,omitempty"`
}

// InstanceHealth is the container instance health shape.
type InstanceHealth struct {
	OverallStatus string `json:"overallStatus"`
	Details       []struct {
		Type             string       `json:"type"`
		Status           string       `json:"status"`
		LastUpdated      awsjson.Time `json:"lastUpdated"`
		LastStatusChange awsjson.Time `json:"lastStatusChange"`
	} `json:"details"`
}

func (a *API) connected(i *state.ContainerInstance) bool {
	return i.Status != state.InstanceInactive && a.now().Sub(a.store.Heard(i)) < a.agentGrace
}

func (a *API) instanceView(snap *state.Snapshot, i *state.ContainerInstance, include map[string]bool) ContainerInstance {
	u := snap.InstanceUsage(i.ID)
	out := ContainerInstance{
		ContainerInstanceArn: i.ARN, Ec2InstanceID: i.EC2InstanceID, Version: int64(i.ModifyIndex),
		VersionInfo: VersionInfo(i.VersionInfo), Status: i.Status, StatusReason: i.StatusReason,
		AgentConnected: a.connected(i), RunningTasksCount: int32(u.Running), PendingTasksCount: int32(u.Pending),
		RegisteredAt: awsjson.At(i.RegisteredAt), Attachments: []struct{}{},
		Attributes: []Attribute{}, RegisteredResources: []Resource{}, RemainingResources: []Resource{},
	}
	for _, r := range i.RegisteredResources {
		reg := Resource{Name: r.Name, Type: r.Type, IntegerValue: int32(r.IntegerValue), StringSetValue: r.StringSetValue}
		rem := reg
		switch r.Name {
		case "CPU":
			rem.IntegerValue = int32(r.IntegerValue - u.CPU)
		case "MEMORY":
			rem.IntegerValue = int32(r.IntegerValue - u.Memory)
		case "PORTS", "PORTS_UDP":
			used := u.PortsTCP
			if r.Name == "PORTS_UDP" {
				used = u.PortsUDP
			}
			rem.StringSetValue = append([]string{}, r.StringSetValue...)
			for p := range used {
				rem.StringSetValue = append(rem.StringSetValue, itoa(int64(p)))
			}
			slices.Sort(rem.StringSetValue)
		}
		if reg.StringSetValue == nil && reg.Type == "STRINGSET" {
			reg.StringSetValue, rem.StringSetValue = []string{}, nonNil(rem.StringSetValue)
		}
		out.RegisteredResources = append(out.RegisteredResources, reg)
		out.RemainingResources = append(out.RemainingResources, rem)
	}
	for _, at := range i.Attributes {
		v := Attribute{Name: ptr(at.Name)}
		if at.Value != "" {
			v.Value = ptr(at.Value)
		}
		out.Attributes = append(out.Attributes, v)
	}
	if include["TAGS"] {
		out.Tags = wireTags(i.Tags)
	}
	if include["CONTAINER_INSTANCE_HEALTH"] {
		status := "OK"
		if !out.AgentConnected {
			status = "IMPAIRED"
		}
		out.HealthStatus = &InstanceHealth{OverallStatus: status}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// findInstance resolves an instance reference (ARN or id) in a cluster.
func findInstance(snap *state.Snapshot, c *awsapi.Caller, cluster, ref string) *state.ContainerInstance {
	id, ok := scopedID(ref, "container-instance", cluster, c)
	if !ok {
		return nil
	}
	return snap.ContainerInstance(state.Key(c.Account, c.Region, cluster, id))
}

type DescribeContainerInstancesInput struct {
	Cluster            *string  `json:"cluster"`
	ContainerInstances []string `json:"containerInstances"`
	Include            []string `json:"include"`
}
type DescribeContainerInstancesOutput struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// DescribeContainerInstances describes instances; unknown ones are MISSING.
func (a *API) DescribeContainerInstances(ctx context.Context, in *DescribeContainerInstancesInput) (*DescribeContainerInstancesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(in.ContainerInstances) == 0 {
		return nil, invalidParam("containerInstances must contain at least one container instance.")
	}
	if len(in.ContainerInstances) > 100 {
		return nil, invalidParam("containerInstances can have at most 100 items.")
	}
	include := map[string]bool{}
	for _, inc := range in.Include {
		if inc != "TAGS" && inc != "CONTAINER_INSTANCE_HEALTH" {
			return nil, invalidParam("Invalid include value %q. Valid values: TAGS, CONTAINER_INSTANCE_HEALTH.", inc)
		}
		include[inc] = true
	}
	snap := a.store.Snapshot()
	cl, err := a.activeCluster(snap, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &DescribeContainerInstancesOutput{ContainerInstances: []ContainerInstance{}, Failures: []Failure{}}
	for _, ref := range in.ContainerInstances {
		i := findInstance(snap, c, cl.Name, ref)
		if i == nil {
			out.Failures = append(out.Failures, missing(ref, "container-instance/"+cl.Name+"/", c))
			continue
		}
		out.ContainerInstances = append(out.ContainerInstances, a.instanceView(snap, i, include))
	}
	return out, nil
}

type ListContainerInstancesInput struct {
	Cluster    *string `json:"cluster"`
	Filter     *string `json:"filter"`
	Status     *string `json:"status"`
	MaxResults *int32  `json:"maxResults"`
	NextToken  *string `json:"nextToken"`
}
type ListContainerInstancesOutput struct {
	ContainerInstanceArns []string `json:"containerInstanceArns"`
	NextToken             *string  `json:"nextToken,omitempty"`
}

var instanceStatuses = []string{"ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"}

// ListContainerInstances lists a cluster's instances, by status (ACTIVE and
// DRAINING when none is given).
func (a *API) ListContainerInstances(ctx context.Context, in *ListContainerInstancesInput) (*ListContainerInstancesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	var filter *placement.Expr
	if in.Filter != nil && *in.Filter != "" {
		e, err := placement.ParseExpr(*in.Filter)
		if err != nil {
			return nil, invalidParam("%v", err)
		}
		filter = e
	}
	var statuses []string
	if in.Status != nil {
		if !slices.Contains(instanceStatuses, *in.Status) {
			return nil, invalidParam("Invalid status %q. Valid values: %s.", *in.Status, strings.Join(instanceStatuses, ", "))
		}
		statuses = []string{*in.Status}
	} else {
		statuses = []string{state.InstanceActive, state.InstanceDraining}
	}
	n, after, err := pageArgs(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	snap := a.store.Snapshot()
	cl, err := a.activeCluster(snap, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	seq := func(yield func(*state.ContainerInstance) bool) {
		for i := range snap.ContainerInstances(c.Account, c.Region, cl.Name, after) {
			if !slices.Contains(statuses, i.Status) || (filter != nil && !filter.Match(a.queryInstance(snap, i))) {
				continue
			}
			if !yield(i) {
				return
			}
		}
	}
	page, next := paginate(seq, n, func(i *state.ContainerInstance) string { return i.ID })
	out := &ListContainerInstancesOutput{ContainerInstanceArns: []string{}, NextToken: next}
	for _, i := range page {
		out.ContainerInstanceArns = append(out.ContainerInstanceArns, i.ARN)
	}
	return out, nil
}

type DeregisterContainerInstanceInput struct {
	Cluster           *string `json:"cluster"`
	ContainerInstance *string `json:"containerInstance"`
	Force             *bool   `json:"force"`
}
type DeregisterContainerInstanceOutput struct {
	ContainerInstance ContainerInstance `json:"containerInstance"`
}

// updateInstance applies mutate to a fresh copy of an instance and writes it
// back, retrying on concurrent changes (such as heartbeats).
func (a *API) updateInstance(ctx context.Context, c *awsapi.Caller, cluster, ref string, mutate func(*state.ContainerInstance, state.Usage) error) (*state.ContainerInstance, error) {
	return retryConflicts(ctx, func() (*state.ContainerInstance, error) {
		snap := a.store.Snapshot()
		i := findInstance(snap, c, cluster, ref)
		if i == nil || i.Status == state.InstanceInactive {
			return nil, invalidParam("The referenced container instance %s was not found.", ref)
		}
		n := i.Copy()
		if err := mutate(n, snap.InstanceUsage(i.ID)); err != nil {
			return nil, err
		}
		return state.Do[*state.ContainerInstance](ctx, a.store, &state.PutContainerInstance{Instance: n, ModifyIndex: i.ModifyIndex})
	})
}

// DeregisterContainerInstance removes an instance from its cluster. An
// instance with tasks needs force; its tasks keep running, untracked, as ECS
// leaves them.
func (a *API) DeregisterContainerInstance(ctx context.Context, in *DeregisterContainerInstanceInput) (*DeregisterContainerInstanceOutput, error) {
	c := awsapi.CallerFrom(ctx)
	ref, err := required(in.ContainerInstance, "containerInstance")
	if err != nil {
		return nil, err
	}
	cl, err := a.activeCluster(a.store.Snapshot(), c, in.Cluster)
	if err != nil {
		return nil, err
	}
	force := in.Force != nil && *in.Force
	i, err := a.updateInstance(ctx, c, cl.Name, ref, func(n *state.ContainerInstance, u state.Usage) error {
		if u.Tasks > 0 && !force {
			return invalidParam("Found running tasks on the instance. Use force to deregister the instance.")
		}
		n.Status = state.InstanceInactive
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &DeregisterContainerInstanceOutput{ContainerInstance: a.instanceView(a.store.Snapshot(), i, nil)}, nil
}

type UpdateContainerInstancesStateInput struct {
	Cluster            *string  `json:"cluster"`
	ContainerInstances []string `json:"containerInstances"`
	Status             *string  `json:"status"`
}
type UpdateContainerInstancesStateOutput struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// UpdateContainerInstancesState sets instances ACTIVE or DRAINING. A DRAINING
// instance takes no new tasks.
func (a *API) UpdateContainerInstancesState(ctx context.Context, in *UpdateContainerInstancesStateInput) (*UpdateContainerInstancesStateOutput, error) {
	c := awsapi.CallerFrom(ctx)
	status, err := required(in.Status, "status")
	if err != nil {
		return nil, err
	}
	if status != state.InstanceActive && status != state.InstanceDraining {
		return nil, invalidParam("Container instance status can only be updated to ACTIVE or DRAINING.")
	}
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, invalidParam("containerInstances must contain between 1 and 10 container instances.")
	}
	cl, err := a.activeCluster(a.store.Snapshot(), c, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &UpdateContainerInstancesStateOutput{ContainerInstances: []ContainerInstance{}, Failures: []Failure{}}
	for _, ref := range in.ContainerInstances {
		i, err := a.updateInstance(ctx, c, cl.Name, ref, func(n *state.ContainerInstance, _ state.Usage) error {
			n.Status = status
			return nil
		})
		if err != nil {
			if ae, ok := err.(*awsapi.Error); ok && ae.Code == "InvalidParameterException" {
				out.Failures = append(out.Failures, missing(ref, "container-instance/"+cl.Name+"/", c))
				continue
			}
			return nil, err
		}
		out.ContainerInstances = append(out.ContainerInstances, a.instanceView(a.store.Snapshot(), i, nil))
	}
	return out, nil
}

var attrNameRE = regexp.MustCompile(`^[A-Za-z0-9\-_/.]{1,128}$`)

type PutAttributesInput struct {
	Cluster    *string     `json:"cluster"`
	Attributes []Attribute `json:"attributes"`
}
type PutAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
}
type DeleteAttributesInput struct {
	Cluster    *string     `json:"cluster"`
	Attributes []Attribute `json:"attributes"`
}
type DeleteAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
}
type ListAttributesInput struct {
	Cluster        *string `json:"cluster"`
	TargetType     *string `json:"targetType"`
	AttributeName  *string `json:"attributeName"`
	AttributeValue *string `json:"attributeValue"`
	MaxResults     *int32  `json:"maxResults"`
	NextToken      *string `json:"nextToken"`
}
type ListAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
	NextToken  *string     `json:"nextToken,omitempty"`
}

func checkAttribute(at Attribute) error {
	if at.Name == nil || !attrNameRE.MatchString(*at.Name) {
		return invalidParam("Attribute name must be 1-128 characters of letters, numbers, hyphens, underscores, slashes and periods.")
	}
	if at.Value != nil {
		v := *at.Value
		if len(v) == 0 || len(v) > 128 || strings.TrimSpace(v) != v {
			return invalidParam("Attribute value must be 1-128 characters with no leading or trailing whitespace.")
		}
	}
	if at.TargetType != nil && *at.TargetType != "container-instance" {
		return invalidParam("Invalid targetType %q. Valid values: container-instance.", *at.TargetType)
	}
	if at.TargetID == nil || *at.TargetID == "" {
		return invalidParam("Attribute targetId must be specified.")
	}
	return nil
}

// PutAttributes sets custom attributes on instances.
func (a *API) PutAttributes(ctx context.Context, in *PutAttributesInput) (*PutAttributesOutput, error) {
	return a.changeAttributes(ctx, in.Cluster, in.Attributes, false)
}

// DeleteAttributes removes custom attributes from instances.
func (a *API) DeleteAttributes(ctx context.Context, in *DeleteAttributesInput) (*DeleteAttributesOutput, error) {
	out, err := a.changeAttributes(ctx, in.Cluster, in.Attributes, true)
	if err != nil {
		return nil, err
	}
	return &DeleteAttributesOutput{Attributes: out.Attributes}, nil
}

func (a *API) changeAttributes(ctx context.Context, cluster *string, attrs []Attribute, remove bool) (*PutAttributesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(attrs) == 0 {
		return nil, invalidParam("attributes must contain at least one attribute.")
	}
	if len(attrs) > 10 {
		return nil, &awsapi.Error{Code: "AttributeLimitExceededException", Message: "You can apply up to 10 custom attributes for each resource."}
	}
	for _, at := range attrs {
		if err := checkAttribute(at); err != nil {
			return nil, err
		}
	}
	cl, err := a.activeCluster(a.store.Snapshot(), c, cluster)
	if err != nil {
		return nil, err
	}
	for _, at := range attrs {
		_, err := a.updateInstance(ctx, c, cl.Name, *at.TargetID, func(n *state.ContainerInstance, _ state.Usage) error {
			kept := n.Attributes[:0:0]
			for _, old := range n.Attributes {
				if old.Name != *at.Name {
					kept = append(kept, old)
				}
			}
			if !remove {
				kept = append(kept, state.Attribute{Name: *at.Name, Value: deref(at.Value)})
				custom := 0
				for _, k := range kept {
					if !strings.HasPrefix(k.Name, "ecs.") && !strings.HasPrefix(k.Name, "com.amazonaws.ecs.") {
						custom++
					}
				}
				if custom > 10 {
					return &awsapi.Error{Code: "AttributeLimitExceededException", Message: "You can apply up to 10 custom attributes for each resource."}
				}
			}
			n.Attributes = kept
			return nil
		})
		if err != nil {
			if ae, ok := err.(*awsapi.Error); ok && ae.Code == "InvalidParameterException" && strings.Contains(ae.Message, "was not found") {
				return nil, &awsapi.Error{Code: "TargetNotFoundException", Message: "Could not find " + *at.TargetID + "."}
			}
			return nil, err
		}
	}
	return &PutAttributesOutput{Attributes: attrs}, nil
}

// ListAttributes lists attributes of a cluster's instances.
func (a *API) ListAttributes(ctx context.Context, in *ListAttributesInput) (*ListAttributesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	tt, err := required(in.TargetType, "targetType")
	if err != nil {
		return nil, err
	}
	if tt != "container-instance" {
		return nil, invalidParam("Invalid targetType %q. Valid values: container-instance.", tt)
	}
	if in.AttributeValue != nil && in.AttributeName == nil {
		return nil, invalidParam("attributeName must be specified with attributeValue.")
	}
	n, after, err := pageArgs(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	snap := a.store.Snapshot()
	cl, err := a.activeCluster(snap, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	type item struct {
		key string
		at  Attribute
	}
	seq := func(yield func(item) bool) {
		for i := range snap.ContainerInstances(c.Account, c.Region, cl.Name, "") {
			if i.Status == state.InstanceInactive {
				continue
			}
			for _, at := range i.Attributes {
				if in.AttributeName != nil && at.Name != *in.AttributeName {
					continue
				}
				if in.AttributeValue != nil && at.Value != *in.AttributeValue {
					continue
				}
				key := i.ID + "\x00" + at.Name
				if after != "" && key <= after {
					continue
				}
				v := Attribute{Name: ptr(at.Name), TargetType: ptr("container-instance"), TargetID: ptr(i.ARN)}
				if at.Value != "" {
					v.Value = ptr(at.Value)
				}
				if !yield(item{key, v}) {
					return
				}
			}
		}
	}
	page, next := paginate(seq, n, func(it item) string { return it.key })
	out := &ListAttributesOutput{Attributes: []Attribute{}, NextToken: next}
	for _, it := range page {
		out.Attributes = append(out.Attributes, it.at)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// queryInstance is what the cluster query language sees of an instance.
func (a *API) queryInstance(snap *state.Snapshot, i *state.ContainerInstance) *placement.Instance {
	return state.PlacementCandidate(i, snap.TasksOnInstance(nil, i.ID), a.connected(i)).Query
}
