package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"strconv"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
	"github.com/berthhq/berth/internal/taskdef"
)

// NetworkBinding is the ECS network binding shape.
type NetworkBinding struct {
	BindIP        string `json:"bindIP"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

// Container is the ECS task container shape.
type Container struct {
	ContainerArn      string           `json:"containerArn"`
	TaskArn           string           `json:"taskArn"`
	Name              string           `json:"name"`
	Image             string           `json:"image"`
	ImageDigest       string           `json:"imageDigest,omitempty"`
	RuntimeID         string           `json:"runtimeId,omitempty"`
	LastStatus        string           `json:"lastStatus"`
	ExitCode          *int32           `json:"exitCode,omitempty"`
	Reason            string           `json:"reason,omitempty"`
	NetworkBindings   []NetworkBinding `json:"networkBindings"`
	NetworkInterfaces []struct{}       `json:"networkInterfaces"`
	HealthStatus      string           `json:"healthStatus,omitempty"`
	CPU               string           `json:"cpu,omitempty"`
	Memory            string           `json:"memory,omitempty"`
	MemoryReservation string           `json:"memoryReservation,omitempty"`
}

// Task is the ECS task shape.
type Task struct {
	TaskArn              string          `json:"taskArn"`
	ClusterArn           string          `json:"clusterArn"`
	TaskDefinitionArn    string          `json:"taskDefinitionArn"`
	ContainerInstanceArn string          `json:"containerInstanceArn,omitempty"`
	Overrides            json.RawMessage `json:"overrides"`
	LastStatus           string          `json:"lastStatus"`
	DesiredStatus        string          `json:"desiredStatus"`
	CPU                  string          `json:"cpu,omitempty"`
	Memory               string          `json:"memory,omitempty"`
	Containers           []Container     `json:"containers"`
	StartedBy            string          `json:"startedBy,omitempty"`
	Version              int64           `json:"version"`
	StopCode             string          `json:"stopCode,omitempty"`
	StoppedReason        string          `json:"stoppedReason,omitempty"`
	Connectivity         string          `json:"connectivity,omitempty"`
	ConnectivityAt       *awsjson.Time   `json:"connectivityAt,omitempty"`
	PullStartedAt        *awsjson.Time   `json:"pullStartedAt,omitempty"`
	PullStoppedAt        *awsjson.Time   `json:"pullStoppedAt,omitempty"`
	ExecutionStoppedAt   *awsjson.Time   `json:"executionStoppedAt,omitempty"`
	CreatedAt            awsjson.Time    `json:"createdAt"`
	StartedAt            *awsjson.Time   `json:"startedAt,omitempty"`
	StoppingAt           *awsjson.Time   `json:"stoppingAt,omitempty"`
	StoppedAt            *awsjson.Time   `json:"stoppedAt,omitempty"`
	Group                string          `json:"group"`
	LaunchType           string          `json:"launchType"`
	AvailabilityZone     string          `json:"availabilityZone,omitempty"`
	Attachments          []struct{}      `json:"attachments"`
	HealthStatus         string          `json:"healthStatus"`
	Tags                 []Tag           `json:"tags,omitempty"`
	EnableExecuteCommand bool            `json:"enableExecuteCommand"`
	Attributes           []Attribute     `json:"attributes,omitempty"`
}

func taskView(snap *state.Snapshot, t *state.Task, withTags bool) Task {
	out := Task{
		TaskArn: t.ARN, ClusterArn: t.ClusterARN, TaskDefinitionArn: t.TaskDefinitionARN, ContainerInstanceArn: t.InstanceARN,
		Overrides: t.Overrides, LastStatus: t.LastStatus, DesiredStatus: t.DesiredStatus,
		CPU: strconv.FormatInt(t.CPU, 10), Memory: strconv.FormatInt(t.Memory, 10),
		StartedBy: t.StartedBy, Version: t.Version, StopCode: t.StopCode, StoppedReason: t.StoppedReason,
		CreatedAt: awsjson.At(t.CreatedAt), Group: t.Group, LaunchType: t.LaunchType,
		Attachments: []struct{}{}, HealthStatus: t.HealthStatus, Containers: []Container{},
	}
	if len(out.Overrides) == 0 {
		out.Overrides = json.RawMessage(`{"containerOverrides":[],"inferenceAcceleratorOverrides":[]}`)
	}
	if out.HealthStatus == "" {
		out.HealthStatus = "UNKNOWN"
	}
	at := func(v interface {
		IsZero() bool
	}) bool {
		return !v.IsZero()
	}
	if at(t.ConnectivityAt) {
		out.Connectivity, out.ConnectivityAt = "CONNECTED", awsjson.Ptr(t.ConnectivityAt)
	}
	if at(t.PullStartedAt) {
		out.PullStartedAt = awsjson.Ptr(t.PullStartedAt)
	}
	if at(t.PullStoppedAt) {
		out.PullStoppedAt = awsjson.Ptr(t.PullStoppedAt)
	}
	if at(t.ExecutionStoppedAt) {
		out.ExecutionStoppedAt = awsjson.Ptr(t.ExecutionStoppedAt)
	}
	if at(t.StartedAt) {
		out.StartedAt = awsjson.Ptr(t.StartedAt)
	}
	if at(t.StoppingAt) {
		out.StoppingAt = awsjson.Ptr(t.StoppingAt)
	}
	if at(t.StoppedAt) {
		out.StoppedAt = awsjson.Ptr(t.StoppedAt)
	}
	if inst := snap.ContainerInstance(t.InstanceKey); inst != nil {
		for _, a := range inst.Attributes {
			if a.Name == "ecs.availability-zone" {
				out.AvailabilityZone = a.Value
			}
			if a.Name == "ecs.cpu-architecture" {
				out.Attributes = append(out.Attributes, Attribute{Name: ptr(a.Name), Value: ptr(a.Value)})
			}
		}
	}
	for _, c := range t.Containers {
		v := Container{
			ContainerArn: c.ContainerARN, TaskArn: t.ARN, Name: c.Name, Image: c.Image, ImageDigest: c.ImageDigest,
			RuntimeID: c.RuntimeID, LastStatus: c.LastStatus, ExitCode: c.ExitCode, Reason: c.Reason,
			NetworkBindings: []NetworkBinding{}, NetworkInterfaces: []struct{}{}, HealthStatus: c.HealthStatus,
			CPU: c.CPU, Memory: c.Memory, MemoryReservation: c.MemoryReservation,
		}
		for _, b := range c.NetworkBindings {
			v.NetworkBindings = append(v.NetworkBindings, NetworkBinding(b))
		}
		out.Containers = append(out.Containers, v)
	}
	if withTags {
		out.Tags = wireTags(t.Tags)
	}
	return out
}

type RunTaskInput struct {
	Cluster                  *string                        `json:"cluster"`
	TaskDefinition           *string                        `json:"taskDefinition"`
	Count                    *int32                         `json:"count"`
	Overrides                *taskdef.TaskOverride          `json:"overrides"`
	Group                    *string                        `json:"group"`
	StartedBy                *string                        `json:"startedBy"`
	Tags                     []Tag                          `json:"tags"`
	LaunchType               *string                        `json:"launchType"`
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	NetworkConfiguration     json.RawMessage                `json:"networkConfiguration"`
	PlacementConstraints     []PlacementConstraint          `json:"placementConstraints"`
	PlacementStrategy        []PlacementStrategy            `json:"placementStrategy"`
	PlatformVersion          *string                        `json:"platformVersion"`
	PropagateTags            *string                        `json:"propagateTags"`
	EnableECSManagedTags     *bool                          `json:"enableECSManagedTags"`
	EnableExecuteCommand     *bool                          `json:"enableExecuteCommand"`
	ReferenceID              *string                        `json:"referenceId"`
	ClientToken              *string                        `json:"clientToken"`
	VolumeConfigurations     json.RawMessage                `json:"volumeConfigurations"`
}
type RunTaskOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

type StartTaskInput struct {
	Cluster              *string               `json:"cluster"`
	TaskDefinition       *string               `json:"taskDefinition"`
	ContainerInstances   []string              `json:"containerInstances"`
	Overrides            *taskdef.TaskOverride `json:"overrides"`
	Group                *string               `json:"group"`
	StartedBy            *string               `json:"startedBy"`
	Tags                 []Tag                 `json:"tags"`
	NetworkConfiguration json.RawMessage       `json:"networkConfiguration"`
	PropagateTags        *string               `json:"propagateTags"`
	EnableECSManagedTags *bool                 `json:"enableECSManagedTags"`
	EnableExecuteCommand *bool                 `json:"enableExecuteCommand"`
	ReferenceID          *string               `json:"referenceId"`
	VolumeConfigurations json.RawMessage       `json:"volumeConfigurations"`
}
type StartTaskOutput = RunTaskOutput

func isNull(r json.RawMessage) bool { return len(r) == 0 || string(r) == "null" }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// launchSpec is what RunTask and StartTask share: the validated request.
type launchSpec struct {
	spec *state.TaskSpec
	// constraints are the task definition's memberOf constraints, which
	// bind every placement of its tasks.
	constraints []placement.Constraint
}

// request is what placement needs to place count tasks of ls.
func (ls *launchSpec) request(count int, cons []placement.Constraint, strats []placement.Strategy) placement.Request {
	r := ls.spec.Req
	return placement.Request{
		CPU: r.CPU, Memory: r.Memory, PortsTCP: r.PortsTCP, PortsUDP: r.PortsUDP, Group: ls.spec.Group, Count: count,
		Constraints: append(append([]placement.Constraint(nil), cons...), ls.constraints...), Strategies: strats,
	}
}

func (a *API) launch(c *awsapi.Caller, snap *state.Snapshot, cluster *state.Cluster, tdRef *string, ov *taskdef.TaskOverride, group, startedBy *string, tags []Tag, propagate *string, netConf json.RawMessage, execCmd *bool) (*launchSpec, error) {
	ref, err := required(tdRef, "taskDefinition")
	if err != nil {
		return nil, err
	}
	d, err := a.findTaskDefinition(snap, c, ref, false)
	if err != nil {
		return nil, err
	}
	if d.Status != state.TaskDefActive {
		return nil, clientErr("TaskDefinition is inactive")
	}
	body := d.Body
	if body.NetworkMode == "awsvpc" || !isNull(netConf) {
		return nil, invalidParam("Network mode awsvpc is not supported by Berth yet; use bridge, host or none.")
	}
	if execCmd != nil && *execCmd {
		return nil, invalidParam("ECS Exec (enableExecuteCommand) is not supported by Berth.")
	}
	spec := &state.TaskSpec{Cluster: cluster, Def: d, CreatedAt: a.now().UTC()}
	if ov != nil {
		for _, co := range ov.ContainerOverrides {
			if co.Name == nil || !slices.ContainsFunc(body.ContainerDefinitions, func(cd taskdef.ContainerDefinition) bool { return cd.Name == *co.Name }) {
				return nil, invalidParam("Override for container named %s is not a container in the TaskDefinition.", deref(co.Name))
			}
		}
		if ov.CPU != nil {
			if _, ok := taskdef.ParseCPU(*ov.CPU); !ok {
				return nil, invalidParam("Invalid 'cpu' override.")
			}
		}
		if ov.Memory != nil {
			if _, ok := taskdef.ParseMemory(*ov.Memory); !ok {
				return nil, invalidParam("Invalid 'memory' override.")
			}
		}
		spec.Overrides, _ = json.Marshal(ov)
	}
	spec.Group = "family:" + d.Family
	if group != nil && *group != "" {
		if len(*group) > 255 {
			return nil, invalidParam("group can have at most 255 characters.")
		}
		spec.Group = *group
	}
	if startedBy != nil {
		if len(*startedBy) > 128 {
			return nil, invalidParam("startedBy can have at most 128 characters.")
		}
		spec.StartedBy = *startedBy
	}
	st, err := validateTags(tags)
	if err != nil {
		return nil, err
	}
	if propagate != nil {
		switch *propagate {
		case "TASK_DEFINITION":
			st = mergeTags(d.Tags, st)
		case "NONE", "SERVICE":
		default:
			return nil, invalidParam("Invalid propagateTags %q. Valid values: TASK_DEFINITION, SERVICE, NONE.", *propagate)
		}
	}
	spec.Tags = st
	spec.Req, _ = body.Requirements(ov) // the overrides parsed above
	ls := &launchSpec{spec: spec}
	for _, pc := range body.PlacementConstraints {
		ls.constraints = append(ls.constraints, placement.Constraint{Type: pc.Type, Expression: deref(pc.Expression)})
	}
	return ls, nil
}

// takeCandidate records one task of req on c, for later placements of the
// same call.
func takeCandidate(c *placement.Candidate, req *placement.Request) {
	c.UsedCPU += req.CPU
	c.UsedMemory += req.Memory
	for _, p := range req.PortsTCP {
		if p != 0 {
			c.PortsTCP[p] = true
		}
	}
	for _, p := range req.PortsUDP {
		if p != 0 {
			c.PortsUDP[p] = true
		}
	}
	if c.Groups[req.Group] == 0 {
		c.Query.TaskGroups = append(c.Query.TaskGroups, req.Group)
	}
	c.Groups[req.Group]++
}

// candidates are the cluster's registered (not INACTIVE) instances as
// placement sees them (their keys are the instances' keys in snap).
func (a *API) candidates(snap *state.Snapshot, cl *state.Cluster) []placement.Candidate {
	insts := a.cands.Instances(snap, cl.Account, cl.Region, cl.Name)
	cands := make([]placement.Candidate, 0, len(insts))
	for _, i := range insts {
		cands = append(cands, a.cands.Candidate(snap, i, a.connected(i)))
	}
	return cands
}

// placementRand breaks the ties placement strategies leave.
func placementRand() *mrand.Rand {
	return mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
}

// RunTask places count tasks on instances with room, as the placement
// constraints and strategies say. Tasks that do not fit come back as
// failures naming the closest instance and what it lacks.
func (a *API) RunTask(ctx context.Context, in *RunTaskInput) (*RunTaskOutput, error) {
	c := awsapi.CallerFrom(ctx)
	count := int32(1)
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, invalidParam("count must be between 1 and 10.")
	}
	if in.LaunchType != nil && *in.LaunchType != "EC2" {
		return nil, invalidParam("Launch type %s is not supported by Berth yet; use EC2.", *in.LaunchType)
	}
	if len(in.CapacityProviderStrategy) > 0 {
		return nil, invalidParam("Capacity provider strategies are not supported by Berth yet; use launchType EC2.")
	}
	if in.PlatformVersion != nil && *in.PlatformVersion != "" {
		return nil, invalidParam(msgPlatformVersionEC2)
	}
	cons, strats, err := requestPlacement(in.PlacementConstraints, in.PlacementStrategy)
	if err != nil {
		return nil, err
	}
	if len(strats) == 0 {
		strats = placement.DefaultStrategies
	}
	if !isNull(in.VolumeConfigurations) {
		return nil, invalidParam("volumeConfigurations (EBS volumes) are not supported by Berth.")
	}
	cluster, err := a.clusterForLaunch(ctx, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	var tokenKey, reqHash string
	if in.ClientToken != nil && *in.ClientToken != "" {
		if len(*in.ClientToken) > 64 {
			return nil, invalidParam("clientToken can have at most 64 characters.")
		}
		tokenKey = state.Key(c.Account, c.Region, "RunTask", *in.ClientToken)
		h := *in
		h.ClientToken = nil
		b, _ := json.Marshal(h)
		sum := sha256.Sum256(b)
		reqHash = hex.EncodeToString(sum[:])
	}
	return retryConflicts(ctx, func() (*RunTaskOutput, error) {
		snap := a.store.Snapshot()
		ls, err := a.launch(c, snap, cluster, in.TaskDefinition, in.Overrides, in.Group, in.StartedBy, in.Tags, in.PropagateTags, in.NetworkConfiguration, in.EnableExecuteCommand)
		if err != nil {
			return nil, err
		}
		if len(cons)+len(ls.constraints) > placement.MaxConstraints {
			return nil, invalidParam("A task can have at most %d placement constraints, including those of its task definition.", placement.MaxConstraints)
		}
		cands := a.candidates(snap, cluster)
		if len(cands) == 0 {
			return nil, invalidParam("No Container Instances were found in your cluster.")
		}
		placed, failed := placement.Place(cands, ls.request(int(count), cons, strats), placementRand())
		out := &RunTaskOutput{Tasks: []Task{}, Failures: []Failure{}}
		for _, f := range failed {
			out.Failures = append(out.Failures, Failure{Arn: nonEmpty(f.ARN), Reason: ptr(f.Reason)})
		}
		var tasks []*state.Task
		for _, p := range placed {
			tasks = append(tasks, state.NewTask(ls.spec, snap.ContainerInstance(p.Key)))
		}
		if len(tasks) > 0 || tokenKey != "" {
			stored, err := state.Do[[]*state.Task](ctx, a.store, &state.RunTasks{Tasks: tasks, TokenKey: tokenKey, RequestHash: reqHash})
			if err != nil {
				if e, ok := errdefs.As(err); ok && errors.Is(err, errdefs.ErrInvalidArgument) {
					return nil, invalidParam("%s", e.Message)
				}
				return nil, err
			}
			if len(stored) > 0 && (len(tasks) == 0 || stored[0].TaskID != tasks[0].TaskID) {
				// A repeat of an earlier request with the same client token.
				out.Failures = []Failure{}
			}
			snap = a.store.Snapshot()
			for _, t := range stored {
				out.Tasks = append(out.Tasks, taskView(snap, t, true))
			}
		}
		return out, nil
	})
}

// clusterForLaunch resolves the cluster for RunTask, creating the default
// cluster on first use as ECS does.
func (a *API) clusterForLaunch(ctx context.Context, c *awsapi.Caller, ref *string) (*state.Cluster, error) {
	snap := a.store.Snapshot()
	cl, err := a.activeCluster(snap, c, ref)
	if err == nil {
		return cl, nil
	}
	if ref != nil && *ref != "" && *ref != defaultCluster {
		return nil, err
	}
	return state.Do[*state.Cluster](ctx, a.store, &state.CreateCluster{Cluster: &state.Cluster{
		Account: c.Account, Region: c.Region, Name: defaultCluster,
		ARN:       ecsARN(c.Region, c.Account, "cluster/"+defaultCluster),
		Settings:  []state.Setting{{Name: "containerInsights", Value: "disabled"}},
		CreatedAt: a.now().UTC(),
	}})
}

// StartTask starts one task on each named instance that has room for it and
// meets the task definition's placement constraints.
func (a *API) StartTask(ctx context.Context, in *StartTaskInput) (*StartTaskOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, invalidParam("containerInstances must contain between 1 and 10 container instances.")
	}
	snap := a.store.Snapshot()
	cluster, err := a.activeCluster(snap, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	return retryConflicts(ctx, func() (*StartTaskOutput, error) {
		snap := a.store.Snapshot()
		ls, err := a.launch(c, snap, cluster, in.TaskDefinition, in.Overrides, in.Group, in.StartedBy, in.Tags, in.PropagateTags, in.NetworkConfiguration, in.EnableExecuteCommand)
		if err != nil {
			return nil, err
		}
		req := ls.request(1, nil, nil)
		out := &StartTaskOutput{Tasks: []Task{}, Failures: []Failure{}}
		cands := map[string]*placement.Candidate{}
		var tasks []*state.Task
		for _, ref := range in.ContainerInstances {
			inst := findInstance(snap, c, cluster.Name, ref)
			if inst == nil || inst.Status == state.InstanceInactive {
				out.Failures = append(out.Failures, missing(ref, "container-instance/"+cluster.Name+"/", c))
				continue
			}
			cand, ok := cands[inst.ID]
			if !ok {
				pc := state.PlacementCandidate(inst, snap.TasksOnInstance(nil, inst.ID), a.connected(inst))
				cand = &pc
				cands[inst.ID] = cand
			}
			if r := placement.Fit(cand, &req); r != "" {
				out.Failures = append(out.Failures, Failure{Arn: ptr(inst.ARN), Reason: ptr(r)})
				continue
			}
			takeCandidate(cand, &req)
			tasks = append(tasks, state.NewTask(ls.spec, inst))
		}
		if len(tasks) > 0 {
			placed, err := state.Do[[]*state.Task](ctx, a.store, &state.RunTasks{Tasks: tasks})
			if err != nil {
				return nil, err
			}
			snap = a.store.Snapshot()
			for _, t := range placed {
				out.Tasks = append(out.Tasks, taskView(snap, t, true))
			}
		}
		return out, nil
	})
}

// findTask resolves a task reference (ARN or id) in a cluster.
func findTask(snap *state.Snapshot, c *awsapi.Caller, cluster, ref string) *state.Task {
	id, ok := scopedID(ref, "task", cluster, c)
	if !ok {
		return nil
	}
	return snap.Task(state.Key(c.Account, c.Region, cluster, id))
}

type StopTaskInput struct {
	Cluster *string `json:"cluster"`
	Task    *string `json:"task"`
	Reason  *string `json:"reason"`
}
type StopTaskOutput struct {
	Task Task `json:"task"`
}

// StopTask asks the agent to stop a task: SIGTERM, then SIGKILL after each
// container's stopTimeout.
func (a *API) StopTask(ctx context.Context, in *StopTaskInput) (*StopTaskOutput, error) {
	c := awsapi.CallerFrom(ctx)
	ref, err := required(in.Task, "task")
	if err != nil {
		return nil, err
	}
	reason := "Task stopped by user"
	if in.Reason != nil && *in.Reason != "" {
		if len(*in.Reason) > 255 {
			return nil, invalidParam("reason can have at most 255 characters.")
		}
		reason = *in.Reason
	}
	snap := a.store.Snapshot()
	cl, err := a.activeCluster(snap, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	t := findTask(snap, c, cl.Name, ref)
	if t == nil {
		return nil, invalidParam("The referenced task was not found.")
	}
	stopped, err := state.Do[*state.Task](ctx, a.store, &state.StopTask{TaskKey: t.ID, StopCode: "UserInitiated", Reason: reason, At: a.now().UTC()})
	if err != nil {
		return nil, err
	}
	return &StopTaskOutput{Task: taskView(a.store.Snapshot(), stopped, false)}, nil
}

type DescribeTasksInput struct {
	Cluster *string  `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}
type DescribeTasksOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// DescribeTasks describes tasks; unknown ones are MISSING failures.
func (a *API) DescribeTasks(ctx context.Context, in *DescribeTasksInput) (*DescribeTasksOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(in.Tasks) == 0 {
		return nil, invalidParam("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParam("tasks can have at most 100 items.")
	}
	withTags, err := includeTags(in.Include)
	if err != nil {
		return nil, err
	}
	snap := a.store.Snapshot()
	cl, err := a.activeCluster(snap, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &DescribeTasksOutput{Tasks: []Task{}, Failures: []Failure{}}
	for _, ref := range in.Tasks {
		t := findTask(snap, c, cl.Name, ref)
		if t == nil {
			out.Failures = append(out.Failures, missing(ref, "task/"+cl.Name+"/", c))
			continue
		}
		out.Tasks = append(out.Tasks, taskView(snap, t, withTags))
	}
	return out, nil
}

type ListTasksInput struct {
	Cluster           *string `json:"cluster"`
	ContainerInstance *string `json:"containerInstance"`
	Family            *string `json:"family"`
	StartedBy         *string `json:"startedBy"`
	ServiceName       *string `json:"serviceName"`
	DesiredStatus     *string `json:"desiredStatus"`
	LaunchType        *string `json:"launchType"`
	MaxResults        *int32  `json:"maxResults"`
	NextToken         *string `json:"nextToken"`
}
type ListTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken *string  `json:"nextToken,omitempty"`
}

// ListTasks lists task ARNs by filters; desiredStatus defaults to RUNNING.
func (a *API) ListTasks(ctx context.Context, in *ListTasksInput) (*ListTasksOutput, error) {
	c := awsapi.CallerFrom(ctx)
	desired := state.TaskRunning
	if in.DesiredStatus != nil {
		switch *in.DesiredStatus {
		case "RUNNING", "STOPPED":
			desired = *in.DesiredStatus
		case "PENDING":
			// ECS never sets desiredStatus PENDING.
			desired = "PENDING"
		default:
			return nil, invalidParam("Invalid desiredStatus %q. Valid values: RUNNING, PENDING, STOPPED.", *in.DesiredStatus)
		}
	}
	if in.LaunchType != nil && !slices.Contains([]string{"EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"}, *in.LaunchType) {
		return nil, invalidParam("Invalid launchType %q.", *in.LaunchType)
	}
	if in.StartedBy != nil && in.ServiceName != nil {
		return nil, invalidParam("startedBy and serviceName cannot both be specified.")
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
	svcKey := ""
	if in.ServiceName != nil {
		s := findService(snap, c, cl.Name, *in.ServiceName)
		if s == nil {
			return nil, serviceNotFound()
		}
		svcKey = s.ID
	}
	instKey := ""
	if in.ContainerInstance != nil {
		inst := findInstance(snap, c, cl.Name, *in.ContainerInstance)
		if inst == nil {
			return nil, invalidParam("The referenced container instance %s was not found.", *in.ContainerInstance)
		}
		instKey = inst.ID
	}
	var matching []*state.Task
	for t := range snap.Tasks(c.Account, c.Region, cl.Name, "") {
		if t.DesiredStatus != desired || (instKey != "" && t.InstanceKey != instKey) ||
			(in.Family != nil && t.Family != *in.Family) || (in.StartedBy != nil && t.StartedBy != *in.StartedBy) ||
			(in.LaunchType != nil && t.LaunchType != *in.LaunchType) || (svcKey != "" && t.ServiceKey != svcKey) {
			continue
		}
		matching = append(matching, t)
	}
	sort.Slice(matching, func(i, j int) bool { return matching[i].ID < matching[j].ID })
	seq := func(yield func(*state.Task) bool) {
		for _, t := range matching {
			if after != "" && t.ID <= after {
				continue
			}
			if !yield(t) {
				return
			}
		}
	}
	page, next := paginate(seq, n, func(t *state.Task) string { return t.ID })
	out := &ListTasksOutput{TaskArns: []string{}, NextToken: next}
	for _, t := range page {
		out.TaskArns = append(out.TaskArns, t.ARN)
	}
	return out, nil
}
