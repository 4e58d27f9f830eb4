package ecs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
)

// The API layer stores what a service should be (its deployments) and
// renders it; the leader's service controller starts and stops its tasks,
// moves its deployments along and writes its events.

// PlacementConstraint is the ECS placement constraint shape.
type PlacementConstraint struct {
	Type       *string `json:"type,omitempty"`
	Expression *string `json:"expression,omitempty"`
}

// PlacementStrategy is the ECS placement strategy shape.
type PlacementStrategy struct {
	Type  *string `json:"type,omitempty"`
	Field *string `json:"field,omitempty"`
}

// LoadBalancer is the ECS service load balancer shape.
type LoadBalancer struct {
	TargetGroupArn        *string         `json:"targetGroupArn,omitempty"`
	LoadBalancerName      *string         `json:"loadBalancerName,omitempty"`
	ContainerName         *string         `json:"containerName,omitempty"`
	ContainerPort         *int32          `json:"containerPort,omitempty"`
	AdvancedConfiguration json.RawMessage `json:"advancedConfiguration,omitempty"`
}

// ServiceRegistry is the ECS service registry (Cloud Map) shape.
type ServiceRegistry struct {
	RegistryArn   *string `json:"registryArn,omitempty"`
	Port          *int32  `json:"port,omitempty"`
	ContainerName *string `json:"containerName,omitempty"`
	ContainerPort *int32  `json:"containerPort,omitempty"`
}

// DeploymentCircuitBreaker is the ECS deployment circuit breaker shape.
type DeploymentCircuitBreaker struct {
	Enable                 *bool           `json:"enable,omitempty"`
	Rollback               *bool           `json:"rollback,omitempty"`
	ResetOnHealthyTask     *bool           `json:"resetOnHealthyTask,omitempty"`
	ThresholdConfiguration json.RawMessage `json:"thresholdConfiguration,omitempty"`
}

// DeploymentAlarms is the ECS deployment alarms shape.
type DeploymentAlarms struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

// DeploymentConfiguration is the ECS deployment configuration shape.
type DeploymentConfiguration struct {
	MaximumPercent           *int32                    `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int32                    `json:"minimumHealthyPercent,omitempty"`
	DeploymentCircuitBreaker *DeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
	Alarms                   json.RawMessage           `json:"alarms,omitempty"`
	Strategy                 *string                   `json:"strategy,omitempty"`
	BakeTimeInMinutes        *int32                    `json:"bakeTimeInMinutes,omitempty"`
	LifecycleHooks           json.RawMessage           `json:"lifecycleHooks,omitempty"`
	LinearConfiguration      json.RawMessage           `json:"linearConfiguration,omitempty"`
	CanaryConfiguration      json.RawMessage           `json:"canaryConfiguration,omitempty"`
}

// DeploymentController is the ECS deployment controller shape.
type DeploymentController struct {
	Type *string `json:"type,omitempty"`
}

// Deployment is the ECS service deployment shape (Service.deployments).
type Deployment struct {
	ID                 string       `json:"id"`
	Status             string       `json:"status"`
	TaskDefinition     string       `json:"taskDefinition"`
	DesiredCount       int32        `json:"desiredCount"`
	PendingCount       int32        `json:"pendingCount"`
	RunningCount       int32        `json:"runningCount"`
	FailedTasks        int32        `json:"failedTasks"`
	CreatedAt          awsjson.Time `json:"createdAt"`
	UpdatedAt          awsjson.Time `json:"updatedAt"`
	LaunchType         string       `json:"launchType,omitempty"`
	RolloutState       string       `json:"rolloutState,omitempty"`
	RolloutStateReason string       `json:"rolloutStateReason,omitempty"`
}

// ServiceEvent is the ECS service event shape.
type ServiceEvent struct {
	ID        string       `json:"id"`
	CreatedAt awsjson.Time `json:"createdAt"`
	Message   string       `json:"message"`
}

// Service is the ECS service shape.
type Service struct {
	ServiceArn                    string                   `json:"serviceArn"`
	ServiceName                   string                   `json:"serviceName"`
	ClusterArn                    string                   `json:"clusterArn"`
	LoadBalancers                 []LoadBalancer           `json:"loadBalancers"`
	ServiceRegistries             []ServiceRegistry        `json:"serviceRegistries"`
	Status                        string                   `json:"status"`
	DesiredCount                  int32                    `json:"desiredCount"`
	RunningCount                  int32                    `json:"runningCount"`
	PendingCount                  int32                    `json:"pendingCount"`
	LaunchType                    string                   `json:"launchType,omitempty"`
	TaskDefinition                string                   `json:"taskDefinition,omitempty"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration"`
	Deployments                   []Deployment             `json:"deployments"`
	RoleArn                       string                   `json:"roleArn,omitempty"`
	Events                        []ServiceEvent           `json:"events"`
	CreatedAt                     awsjson.Time             `json:"createdAt"`
	PlacementConstraints          []PlacementConstraint    `json:"placementConstraints"`
	PlacementStrategy             []PlacementStrategy      `json:"placementStrategy"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds,omitempty"`
	SchedulingStrategy            string                   `json:"schedulingStrategy"`
	DeploymentController          DeploymentController     `json:"deploymentController"`
	Tags                          []Tag                    `json:"tags,omitempty"`
	CreatedBy                     string                   `json:"createdBy,omitempty"`
	EnableECSManagedTags          bool                     `json:"enableECSManagedTags"`
	PropagateTags                 string                   `json:"propagateTags"`
	EnableExecuteCommand          bool                     `json:"enableExecuteCommand"`
	AvailabilityZoneRebalancing   string                   `json:"availabilityZoneRebalancing"`
	CurrentServiceDeployment      string                   `json:"currentServiceDeployment,omitempty"`
}

// unsupportedService are the request members of CreateService and
// UpdateService for features Berth does not have. Each is refused when
// given, so that a caller never believes it is in effect.
type unsupportedService struct {
	CapacityProviderStrategy    []CapacityProviderStrategyItem `json:"capacityProviderStrategy"`
	PlatformVersion             *string                        `json:"platformVersion"`
	NetworkConfiguration        json.RawMessage                `json:"networkConfiguration"`
	EnableExecuteCommand        *bool                          `json:"enableExecuteCommand"`
	ServiceConnectConfiguration json.RawMessage                `json:"serviceConnectConfiguration"`
	VolumeConfigurations        json.RawMessage                `json:"volumeConfigurations"`
	VpcLatticeConfigurations    json.RawMessage                `json:"vpcLatticeConfigurations"`
	GatewayConnectors           json.RawMessage                `json:"gatewayConnectors"`
	Monitoring                  json.RawMessage                `json:"monitoring"`
	AvailabilityZoneRebalancing *string                        `json:"availabilityZoneRebalancing"`
	DeploymentController        *DeploymentController          `json:"deploymentController"`
}

type CreateServiceInput struct {
	unsupportedService
	Cluster                       *string                  `json:"cluster"`
	ServiceName                   *string                  `json:"serviceName"`
	TaskDefinition                *string                  `json:"taskDefinition"`
	LoadBalancers                 []LoadBalancer           `json:"loadBalancers"`
	ServiceRegistries             []ServiceRegistry        `json:"serviceRegistries"`
	DesiredCount                  *int32                   `json:"desiredCount"`
	ClientToken                   *string                  `json:"clientToken"`
	LaunchType                    *string                  `json:"launchType"`
	Role                          *string                  `json:"role"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration"`
	PlacementConstraints          []PlacementConstraint    `json:"placementConstraints"`
	PlacementStrategy             []PlacementStrategy      `json:"placementStrategy"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds"`
	SchedulingStrategy            *string                  `json:"schedulingStrategy"`
	Tags                          []Tag                    `json:"tags"`
	EnableECSManagedTags          *bool                    `json:"enableECSManagedTags"`
	PropagateTags                 *string                  `json:"propagateTags"`
}
type CreateServiceOutput struct {
	Service *Service `json:"service"`
}

type UpdateServiceInput struct {
	unsupportedService
	Cluster                       *string                  `json:"cluster"`
	Service                       *string                  `json:"service"`
	DesiredCount                  *int32                   `json:"desiredCount"`
	TaskDefinition                *string                  `json:"taskDefinition"`
	ForceNewDeployment            *bool                    `json:"forceNewDeployment"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration"`
	PlacementConstraints          []PlacementConstraint    `json:"placementConstraints"`
	PlacementStrategy             []PlacementStrategy      `json:"placementStrategy"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds"`
	EnableECSManagedTags          *bool                    `json:"enableECSManagedTags"`
	PropagateTags                 *string                  `json:"propagateTags"`
	LoadBalancers                 []LoadBalancer           `json:"loadBalancers"`
	ServiceRegistries             []ServiceRegistry        `json:"serviceRegistries"`
}
type UpdateServiceOutput struct {
	Service *Service `json:"service"`
}

type DeleteServiceInput struct {
	Cluster *string `json:"cluster"`
	Service *string `json:"service"`
	Force   *bool   `json:"force"`
}
type DeleteServiceOutput struct {
	Service *Service `json:"service"`
}

type DescribeServicesInput struct {
	Cluster  *string  `json:"cluster"`
	Services []string `json:"services"`
	Include  []string `json:"include"`
}
type DescribeServicesOutput struct {
	Services []*Service `json:"services"`
	Failures []Failure  `json:"failures"`
}

type ListServicesInput struct {
	Cluster                *string `json:"cluster"`
	LaunchType             *string `json:"launchType"`
	SchedulingStrategy     *string `json:"schedulingStrategy"`
	ResourceManagementType *string `json:"resourceManagementType"`
	MaxResults             *int32  `json:"maxResults"`
	NextToken              *string `json:"nextToken"`
}
type ListServicesOutput struct {
	ServiceArns []string `json:"serviceArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

// Error messages of ECS's own wording.
const (
	msgServiceNotFound  = "Service not found."
	msgServiceNotActive = "Service was not ACTIVE."
	msgNotIdempotent    = "Creation of service was not idempotent."
	msgStillDraining    = "Unable to Start a service that is still Draining."
	msgDaemonDesired    = "The daemon scheduling strategy does not support a desired count for services."
	msgDaemonStrategies = "The daemon scheduling strategy does not support placement strategies."
	msgDaemonMaxPercent = "The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again"
	msgScaledAbove0     = "The service cannot be stopped while it is scaled above 0."
	msgTaskDefNotFound  = "TaskDefinition not found."
	msgTaskDefInactive  = "TaskDefinition is inactive"
	// Berth runs the EC2 launch type only, which has no platform version.
	msgPlatformVersionEC2 = "The platform version must be null when specifying an EC2 launch type."
)

func serviceNotFound() error {
	return &awsapi.Error{Code: "ServiceNotFoundException", Message: msgServiceNotFound}
}

func serviceNotActive() error {
	return &awsapi.Error{Code: "ServiceNotActiveException", Message: msgServiceNotActive}
}

// serviceARN is the ARN of a service (the long format, with the cluster).
func serviceARN(region, account, cluster, name string) string {
	return ecsARN(region, account, "service/"+cluster+"/"+name)
}

// findService resolves a service reference (name or ARN) in a cluster; nil
// when there is no such service in any status.
func findService(snap *state.Snapshot, c *awsapi.Caller, cluster, ref string) *state.Service {
	name, ok := scopedID(ref, "service", cluster, c)
	if !ok || name == "" {
		return nil
	}
	return snap.Service(state.Key(c.Account, c.Region, cluster, name))
}

// newDeploymentID returns a deployment id: "ecs-svc/" and 19 digits.
func newDeploymentID() string {
	return "ecs-svc/" + strconv.FormatUint(1e18+rand.Uint64N(9e18), 10)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newServiceDeploymentID returns the id of a service-deployment ARN: 22
// letters and digits.
func newServiceDeploymentID() string {
	b := make([]byte, 22)
	for i := range b {
		b[i] = alnum[rand.IntN(len(alnum))]
	}
	return string(b)
}

// tokenServiceDeploymentID derives the id of the first service deployment of
// a service created with a client token from the token and the request. A
// repeat of the request with the same token derives the same id and so finds
// the service it created, which makes CreateService idempotent without
// storing the token apart.
func tokenServiceDeploymentID(c *awsapi.Caller, cluster, token string, in *CreateServiceInput) string {
	req, _ := json.Marshal(in)
	h := sha256.New()
	for _, s := range []string{c.Account, c.Region, cluster, token, string(req)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	b := make([]byte, 22)
	for i := range b {
		b[i] = alnum[int(sum[i])%len(alnum)]
	}
	return string(b)
}

// hasServiceDeployment reports whether one of s's deployments, current or
// past, has the service-deployment id.
func hasServiceDeployment(s *state.Service, id string) bool {
	for _, d := range s.Deployments {
		if d.ServiceDeployment == id {
			return true
		}
	}
	for _, d := range s.Past {
		if d.ServiceDeployment == id {
			return true
		}
	}
	return false
}

// newDeployment is the PRIMARY deployment a service starts to run a task
// definition.
func newDeployment(now time.Time, svc *state.Service, serviceDeployment, source string) state.Deployment {
	id := newDeploymentID()
	return state.Deployment{
		ID: id, ServiceDeployment: serviceDeployment, Status: state.DeploymentPrimary,
		TaskDefinition: svc.TaskDefinition, LaunchType: "EC2", DesiredCount: svc.DesiredCount,
		RolloutState: state.RolloutInProgress, RolloutStateReason: "ECS deployment " + id + " in progress.",
		CreatedAt: now.UTC(), UpdatedAt: now.UTC(), Source: source, Config: svc.DeploymentConfiguration,
	}
}

// CreateService creates a service; the service controller then starts its
// tasks.
func (a *API) CreateService(ctx context.Context, in *CreateServiceInput) (*CreateServiceOutput, error) {
	c := awsapi.CallerFrom(ctx)
	name, err := required(in.ServiceName, "serviceName")
	if err != nil {
		return nil, err
	}
	if !clusterNameRE.MatchString(name) {
		return nil, invalidParam("Service name can have up to 255 characters: letters (upper and lower case), numbers, underscores and hyphens.")
	}
	scheduling, err := schedulingStrategy(in.SchedulingStrategy)
	if err != nil {
		return nil, err
	}
	if lt := deref(in.LaunchType); lt != "" && lt != "EC2" {
		if !slices.Contains([]string{"FARGATE", "EXTERNAL", "MANAGED_INSTANCES"}, lt) {
			return nil, invalidParam("Invalid launchType %q. Valid values: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.", lt)
		}
		return nil, invalidParam("Launch type %s is not supported by Berth yet; use EC2.", lt)
	}
	if err := checkUnsupported(&in.unsupportedService); err != nil {
		return nil, err
	}
	token := deref(in.ClientToken)
	if len(token) > 36 || strings.ContainsFunc(token, func(r rune) bool { return r < 33 || r > 126 }) {
		return nil, invalidParam("clientToken can have up to 36 ASCII characters in the range 33-126.")
	}
	var desired int32
	switch {
	case scheduling == state.SchedulingDaemon && in.DesiredCount != nil:
		return nil, invalidParam(msgDaemonDesired)
	case in.DesiredCount != nil && *in.DesiredCount < 0:
		return nil, invalidParam("desiredCount must be greater than or equal to 0.")
	case in.DesiredCount != nil:
		desired = *in.DesiredCount
	}
	conf, err := mergeDeploymentConfiguration(in.DeploymentConfiguration, defaultDeploymentConfiguration(scheduling), scheduling)
	if err != nil {
		return nil, err
	}
	cons, strats, err := servicePlacement(in.PlacementConstraints, in.PlacementStrategy, scheduling)
	if err != nil {
		return nil, err
	}
	if err := checkGracePeriod(in.HealthCheckGracePeriodSeconds); err != nil {
		return nil, err
	}
	propagate, err := propagateTags(in.PropagateTags, "NONE")
	if err != nil {
		return nil, err
	}
	tags, err := validateTags(in.Tags)
	if err != nil {
		return nil, err
	}
	role := deref(in.Role)
	if role != "" && len(in.LoadBalancers) == 0 {
		return nil, invalidParam("The role parameter can only be specified with loadBalancers.")
	}
	tdRef, err := required(in.TaskDefinition, "taskDefinition")
	if err != nil {
		return nil, err
	}

	snap := a.store.Snapshot()
	cluster, err := a.activeCluster(snap, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	def, err := a.serviceTaskDefinition(snap, c, tdRef)
	if err != nil {
		return nil, err
	}
	lbs, err := a.checkLoadBalancers(c, in.LoadBalancers, def.Body)
	if err != nil {
		return nil, err
	}
	regs, err := checkServiceRegistries(in.ServiceRegistries, def.Body)
	if err != nil {
		return nil, err
	}
	now := a.now().UTC()
	svc := &state.Service{
		Account: c.Account, Region: c.Region, Cluster: cluster.Name, Name: name,
		ARN: serviceARN(c.Region, c.Account, cluster.Name, name), ClusterARN: cluster.ARN,
		DesiredCount: desired, SchedulingStrategy: scheduling, LaunchType: "EC2", TaskDefinition: def.ARN,
		DeploymentConfiguration: conf, PlacementConstraints: cons, PlacementStrategy: strats,
		LoadBalancers: lbs, ServiceRegistries: regs, HealthCheckGracePeriodSeconds: derefInt(in.HealthCheckGracePeriodSeconds),
		PropagateTags: propagate, EnableECSManagedTags: in.EnableECSManagedTags != nil && *in.EnableECSManagedTags,
		Tags: tags, CreatedAt: now, CreatedBy: c.PrincipalARN,
	}
	if role != "" {
		svc.RoleARN = roleARN(c.Account, role)
	}
	if scheduling == state.SchedulingDaemon {
		svc.DesiredCount = a.daemonCount(snap, cluster, cons, def)
	}
	sdID := newServiceDeploymentID()
	if token != "" {
		sdID = tokenServiceDeploymentID(c, cluster.Name, token, in)
	}
	svc.Deployments = []state.Deployment{newDeployment(now, svc, sdID, "")}

	// existing decides a request for a name that is taken.
	existing := func(old *state.Service) (*CreateServiceOutput, error) {
		switch {
		case token != "" && hasServiceDeployment(old, sdID):
			return &CreateServiceOutput{Service: serviceView(a.store.Snapshot(), old, true)}, nil
		case old.Status == state.ServiceDraining:
			return nil, invalidParam(msgStillDraining)
		}
		return nil, invalidParam(msgNotIdempotent)
	}
	if old := snap.Service(state.Key(c.Account, c.Region, cluster.Name, name)); old != nil && old.Status != state.ServiceInactive {
		return existing(old)
	}
	created, err := state.Do[*state.Service](ctx, a.store, &state.CreateService{Service: svc})
	if errors.Is(err, errdefs.ErrAlreadyExists) {
		// Another request created it since the snapshot.
		if old := a.store.Snapshot().Service(state.Key(c.Account, c.Region, cluster.Name, name)); old != nil {
			return existing(old)
		}
		return nil, invalidParam(msgNotIdempotent)
	}
	if err != nil {
		return nil, err
	}
	return &CreateServiceOutput{Service: serviceView(a.store.Snapshot(), created, true)}, nil
}

// daemonCount is the desired count a DAEMON service starts with: one task
// for each ACTIVE instance with a connected agent that meets the service's
// and its task definition's placement constraints. From then on the service
// controller keeps it up to date as instances come and go; starting from the
// right count keeps a services-stable waiter from seeing a new daemon as
// stable with no task.
func (a *API) daemonCount(snap *state.Snapshot, cl *state.Cluster, cons []state.PlacementConstraint, def *state.TaskDefinition) int32 {
	var req placement.Request
	for _, pc := range cons {
		req.Constraints = append(req.Constraints, placement.Constraint{Type: pc.Type, Expression: pc.Expression})
	}
	for _, pc := range def.Body.PlacementConstraints {
		req.Constraints = append(req.Constraints, placement.Constraint{Type: pc.Type, Expression: deref(pc.Expression)})
	}
	n := int32(0)
	for i := range snap.ContainerInstances(cl.Account, cl.Region, cl.Name, "") {
		if i.Status != state.InstanceActive {
			continue
		}
		// Constraints only: what the instance has free does not matter, nor
		// (for distinctInstance) the daemon's own tasks.
		c := state.PlacementCandidate(i, snap.TasksOnInstance(nil, i.ID), a.connected(i))
		c.UsedCPU, c.UsedMemory, c.PortsTCP, c.PortsUDP, c.Groups = 0, 0, nil, nil, nil
		if placement.Fit(&c, &req) == "" {
			n++
		}
	}
	return n
}

func derefInt(v *int32) int32 {
	if v == nil {
		return 0
	}
	return *v
}

// taskCounts are a service's or a deployment's tasks by status.
type taskCounts struct{ running, pending int32 }

// countServiceTasks counts tasks RUNNING and on their way to it, in all and
// by deployment. Tasks the scheduler has told to stop do not count: among
// them are the tasks of a lost instance, which keep their last reported
// status until their agent returns and stops them.
func countServiceTasks(tasks []*state.Task) (total taskCounts, byDeployment map[string]taskCounts) {
	byDeployment = map[string]taskCounts{}
	for _, t := range tasks {
		if t.DesiredStatus == state.TaskStopped {
			continue
		}
		n := byDeployment[t.DeploymentID]
		switch t.LastStatus {
		case state.TaskRunning:
			total.running++
			n.running++
		case state.TaskProvisioning, state.TaskPending, state.TaskActivating:
			total.pending++
			n.pending++
		default:
			continue
		}
		byDeployment[t.DeploymentID] = n
	}
	return total, byDeployment
}

func deploymentConfigurationView(cfg state.DeploymentConfiguration) *DeploymentConfiguration {
	cb := DeploymentCircuitBreaker{Enable: ptr(false), Rollback: ptr(false)}
	if cfg.CircuitBreaker != nil {
		cb.Enable, cb.Rollback = ptr(cfg.CircuitBreaker.Enable), ptr(cfg.CircuitBreaker.Rollback)
	}
	return &DeploymentConfiguration{
		MaximumPercent: ptr(cfg.MaximumPercent), MinimumHealthyPercent: ptr(cfg.MinimumHealthyPercent),
		DeploymentCircuitBreaker: &cb, Alarms: cfg.Alarms, Strategy: ptr("ROLLING"),
	}
}

func placementConstraintsView(cs []state.PlacementConstraint) []PlacementConstraint {
	out := make([]PlacementConstraint, 0, len(cs))
	for _, c := range cs {
		v := PlacementConstraint{Type: ptr(c.Type)}
		if c.Expression != "" {
			v.Expression = ptr(c.Expression)
		}
		out = append(out, v)
	}
	return out
}

func placementStrategyView(ss []state.PlacementStrategy) []PlacementStrategy {
	out := make([]PlacementStrategy, 0, len(ss))
	for _, s := range ss {
		v := PlacementStrategy{Type: ptr(s.Type)}
		if s.Field != "" {
			v.Field = ptr(s.Field)
		}
		out = append(out, v)
	}
	return out
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// serviceView renders a stored service, with its running and pending
// counts as its tasks are now.
func serviceView(snap *state.Snapshot, s *state.Service, withTags bool) *Service {
	total, byDep := countServiceTasks(snap.ServiceTasks(s.ID))
	out := &Service{
		ServiceArn: s.ARN, ServiceName: s.Name, ClusterArn: s.ClusterARN, Status: s.Status,
		DesiredCount: s.DesiredCount, RunningCount: total.running, PendingCount: total.pending,
		LaunchType: s.LaunchType, TaskDefinition: s.TaskDefinition,
		DeploymentConfiguration: deploymentConfigurationView(s.DeploymentConfiguration),
		LoadBalancers:           []LoadBalancer{}, ServiceRegistries: []ServiceRegistry{},
		Deployments: []Deployment{}, Events: []ServiceEvent{},
		RoleArn: s.RoleARN, CreatedAt: awsjson.At(s.CreatedAt), CreatedBy: s.CreatedBy,
		PlacementConstraints: placementConstraintsView(s.PlacementConstraints),
		PlacementStrategy:    placementStrategyView(s.PlacementStrategy),
		SchedulingStrategy:   s.SchedulingStrategy, DeploymentController: DeploymentController{Type: ptr("ECS")},
		EnableECSManagedTags: s.EnableECSManagedTags, PropagateTags: s.PropagateTags,
		AvailabilityZoneRebalancing: "DISABLED",
	}
	if out.PropagateTags == "" {
		out.PropagateTags = "NONE"
	}
	if s.HealthCheckGracePeriodSeconds > 0 || len(s.LoadBalancers) > 0 {
		out.HealthCheckGracePeriodSeconds = ptr(s.HealthCheckGracePeriodSeconds)
	}
	for _, lb := range s.LoadBalancers {
		out.LoadBalancers = append(out.LoadBalancers, LoadBalancer{
			TargetGroupArn: nonEmpty(lb.TargetGroupARN), LoadBalancerName: nonEmpty(lb.LoadBalancerName),
			ContainerName: nonEmpty(lb.ContainerName), ContainerPort: ptr(lb.ContainerPort),
		})
	}
	for _, r := range s.ServiceRegistries {
		v := ServiceRegistry{RegistryArn: ptr(r.RegistryARN), ContainerName: nonEmpty(r.ContainerName)}
		if r.Port != 0 {
			v.Port = ptr(r.Port)
		}
		if r.ContainerPort != 0 {
			v.ContainerPort = ptr(r.ContainerPort)
		}
		out.ServiceRegistries = append(out.ServiceRegistries, v)
	}
	for _, d := range s.Deployments {
		n := byDep[d.ID]
		out.Deployments = append(out.Deployments, Deployment{
			ID: d.ID, Status: d.Status, TaskDefinition: d.TaskDefinition, DesiredCount: d.DesiredCount,
			PendingCount: n.pending, RunningCount: n.running, FailedTasks: d.FailedTasks,
			CreatedAt: awsjson.At(d.CreatedAt), UpdatedAt: awsjson.At(d.UpdatedAt), LaunchType: d.LaunchType,
			RolloutState: d.RolloutState, RolloutStateReason: d.RolloutStateReason,
		})
	}
	if p := s.Primary(); p != nil && p.ServiceDeployment != "" {
		out.CurrentServiceDeployment = serviceDeploymentARN(s, p.ServiceDeployment)
	}
	for _, e := range s.Events {
		out.Events = append(out.Events, ServiceEvent{ID: e.ID, CreatedAt: awsjson.At(e.CreatedAt), Message: e.Message})
	}
	if withTags {
		out.Tags = wireTags(s.Tags)
	}
	return out
}

// updateService applies change to a fresh copy of an ACTIVE service and
// writes it back, retrying when another writer (the service controller, most
// often) got there first. change returns false when it changed nothing; the
// service is then returned as read.
func (a *API) updateService(ctx context.Context, c *awsapi.Caller, clusterRef *string, ref string, change func(snap *state.Snapshot, old, n *state.Service) (bool, error)) (*state.Service, error) {
	return retryConflicts(ctx, func() (*state.Service, error) {
		snap := a.store.Snapshot()
		cl, err := a.activeCluster(snap, c, clusterRef)
		if err != nil {
			return nil, err
		}
		old := findService(snap, c, cl.Name, ref)
		if old == nil {
			return nil, serviceNotFound()
		}
		n := old.Copy()
		changed, err := change(snap, old, n)
		if err != nil || !changed {
			return old, err
		}
		return state.Do[*state.Service](ctx, a.store, &state.PutService{Service: n, ModifyIndex: old.ModifyIndex})
	})
}

func placementChanged(old, n *state.Service) bool {
	return !slices.Equal(old.PlacementConstraints, n.PlacementConstraints) || !slices.Equal(old.PlacementStrategy, n.PlacementStrategy)
}

// UpdateService changes a service. A new task definition, a placement
// change, new load balancers or service registries, or forceNewDeployment
// start a new deployment, which the service controller rolls out.
func (a *API) UpdateService(ctx context.Context, in *UpdateServiceInput) (*UpdateServiceOutput, error) {
	c := awsapi.CallerFrom(ctx)
	ref, err := required(in.Service, "service")
	if err != nil {
		return nil, err
	}
	if err := checkUnsupported(&in.unsupportedService); err != nil {
		return nil, err
	}
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return nil, invalidParam("desiredCount must be greater than or equal to 0.")
	}
	if err := checkGracePeriod(in.HealthCheckGracePeriodSeconds); err != nil {
		return nil, err
	}
	propagate, err := propagateTags(in.PropagateTags, "")
	if err != nil {
		return nil, err
	}
	force := in.ForceNewDeployment != nil && *in.ForceNewDeployment
	svc, err := a.updateService(ctx, c, in.Cluster, ref, func(snap *state.Snapshot, old, n *state.Service) (bool, error) {
		if old.Status != state.ServiceActive {
			return false, serviceNotActive()
		}
		if in.DesiredCount != nil {
			if old.SchedulingStrategy == state.SchedulingDaemon {
				return false, invalidParam(msgDaemonDesired)
			}
			n.DesiredCount = *in.DesiredCount
		}
		// The task definition the service will run: the one named, or the
		// current one (nil if it has been deleted since).
		var def *state.TaskDefinition
		if in.TaskDefinition != nil && *in.TaskDefinition != "" {
			d, err := a.serviceTaskDefinition(snap, c, *in.TaskDefinition)
			if err != nil {
				return false, err
			}
			def = d
			n.TaskDefinition = d.ARN
		} else {
			def = a.taskDefinitionByARN(snap, c, old.TaskDefinition)
		}
		conf, err := mergeDeploymentConfiguration(in.DeploymentConfiguration, old.DeploymentConfiguration, old.SchedulingStrategy)
		if err != nil {
			return false, err
		}
		n.DeploymentConfiguration = conf
		if in.PlacementConstraints != nil || in.PlacementStrategy != nil {
			cons, strats := in.PlacementConstraints, in.PlacementStrategy
			if cons == nil {
				cons = placementConstraintsView(old.PlacementConstraints)
			}
			if strats == nil {
				strats = placementStrategyView(old.PlacementStrategy)
			}
			pc, ps, err := servicePlacement(cons, strats, old.SchedulingStrategy)
			if err != nil {
				return false, err
			}
			n.PlacementConstraints, n.PlacementStrategy = pc, ps
		}
		// Load balancers and registries are checked against the task
		// definition the service will run: when they change, and when it
		// does.
		if in.LoadBalancers != nil || in.ServiceRegistries != nil || n.TaskDefinition != old.TaskDefinition {
			if def == nil {
				return false, clientErr(msgTaskDefNotFound)
			}
			view := serviceView(snap, old, false)
			lbs, regs := in.LoadBalancers, in.ServiceRegistries
			if lbs == nil {
				lbs = view.LoadBalancers
			}
			if regs == nil {
				regs = view.ServiceRegistries
			}
			if n.LoadBalancers, err = a.checkLoadBalancers(c, lbs, def.Body); err != nil {
				return false, err
			}
			if n.ServiceRegistries, err = checkServiceRegistries(regs, def.Body); err != nil {
				return false, err
			}
		}
		if in.HealthCheckGracePeriodSeconds != nil {
			n.HealthCheckGracePeriodSeconds = *in.HealthCheckGracePeriodSeconds
		}
		if propagate != "" {
			n.PropagateTags = propagate
		}
		if in.EnableECSManagedTags != nil {
			n.EnableECSManagedTags = *in.EnableECSManagedTags
		}
		now := a.now().UTC()
		redeploy := force || n.TaskDefinition != old.TaskDefinition || placementChanged(old, n) ||
			!slices.Equal(old.LoadBalancers, n.LoadBalancers) || !slices.Equal(old.ServiceRegistries, n.ServiceRegistries)
		if redeploy {
			deps := make([]state.Deployment, 0, len(n.Deployments)+1)
			deps = append(deps, newDeployment(now, n, newServiceDeploymentID(), old.TaskDefinition))
			for _, d := range n.Deployments {
				if d.Status == state.DeploymentPrimary {
					d.Status = state.DeploymentActive
					d.UpdatedAt = now
				}
				deps = append(deps, d)
			}
			n.Deployments = deps
			// A new deployment starts launching at once: forget the
			// start failures of the old one.
			n.StartFailures, n.NextLaunchAt, n.FailureAt = 0, time.Time{}, time.Time{}
			return true, nil
		}
		if p := n.Primary(); p != nil && p.DesiredCount != n.DesiredCount {
			p.DesiredCount = n.DesiredCount
			p.UpdatedAt = now
		}
		return !serviceSettingsEqual(old, n), nil
	})
	if err != nil {
		return nil, err
	}
	return &UpdateServiceOutput{Service: serviceView(a.store.Snapshot(), svc, true)}, nil
}

// serviceSettingsEqual compares what UpdateService may change without a new
// deployment.
func serviceSettingsEqual(a, b *state.Service) bool {
	ja, _ := json.Marshal(a.DeploymentConfiguration)
	jb, _ := json.Marshal(b.DeploymentConfiguration)
	return a.DesiredCount == b.DesiredCount && bytes.Equal(ja, jb) &&
		a.HealthCheckGracePeriodSeconds == b.HealthCheckGracePeriodSeconds && a.PropagateTags == b.PropagateTags &&
		a.EnableECSManagedTags == b.EnableECSManagedTags
}

// taskDefinitionByARN finds a revision by its ARN, whatever its status (a
// service keeps running a revision deregistered since); nil when there is
// no such revision.
func (a *API) taskDefinitionByARN(snap *state.Snapshot, c *awsapi.Caller, arn string) *state.TaskDefinition {
	fam, rev, ok := parseTaskDefRef(arn, c)
	if !ok || rev == 0 {
		return nil
	}
	return snap.TaskDefinition(c.Account, c.Region, fam, rev)
}

// DeleteService sets a service DRAINING with no desired tasks; the service
// controller stops its tasks and then makes it INACTIVE.
func (a *API) DeleteService(ctx context.Context, in *DeleteServiceInput) (*DeleteServiceOutput, error) {
	c := awsapi.CallerFrom(ctx)
	ref, err := required(in.Service, "service")
	if err != nil {
		return nil, err
	}
	force := in.Force != nil && *in.Force
	svc, err := a.updateService(ctx, c, in.Cluster, ref, func(_ *state.Snapshot, old, n *state.Service) (bool, error) {
		switch {
		case old.Status == state.ServiceInactive:
			return false, serviceNotFound()
		case old.Status == state.ServiceDraining:
			return false, nil
		case old.SchedulingStrategy == state.SchedulingReplica && old.DesiredCount > 0 && !force:
			return false, invalidParam(msgScaledAbove0)
		}
		now := a.now().UTC()
		n.Status = state.ServiceDraining
		n.DesiredCount = 0
		for i := range n.Deployments {
			n.Deployments[i].DesiredCount = 0
			n.Deployments[i].UpdatedAt = now
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return &DeleteServiceOutput{Service: serviceView(a.store.Snapshot(), svc, true)}, nil
}

// DescribeServices describes up to 10 services of a cluster; unknown ones
// come back as MISSING failures. DRAINING and INACTIVE services are
// described too.
func (a *API) DescribeServices(ctx context.Context, in *DescribeServicesInput) (*DescribeServicesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(in.Services) == 0 {
		return nil, invalidParam("Services cannot be empty.")
	}
	if len(in.Services) > 10 {
		return nil, invalidParam("services can have at most 10 items.")
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
	out := &DescribeServicesOutput{Services: []*Service{}, Failures: []Failure{}}
	for _, ref := range in.Services {
		s := findService(snap, c, cl.Name, ref)
		if s == nil {
			out.Failures = append(out.Failures, missing(ref, "service/"+cl.Name+"/", c))
			continue
		}
		out.Services = append(out.Services, serviceView(snap, s, withTags))
	}
	return out, nil
}

// ListServices lists the ARNs of a cluster's ACTIVE services in name order.
// DRAINING services are not listed, as in ECS.
func (a *API) ListServices(ctx context.Context, in *ListServicesInput) (*ListServicesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if lt := in.LaunchType; lt != nil && !slices.Contains([]string{"EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"}, *lt) {
		return nil, invalidParam("Invalid launchType %q. Valid values: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.", *lt)
	}
	if ss := in.SchedulingStrategy; ss != nil && *ss != state.SchedulingReplica && *ss != state.SchedulingDaemon {
		return nil, invalidParam("Invalid schedulingStrategy %q. Valid values: REPLICA, DAEMON.", *ss)
	}
	if rm := in.ResourceManagementType; rm != nil && *rm != "CUSTOMER" && *rm != "ECS" {
		return nil, invalidParam("Invalid resourceManagementType %q. Valid values: CUSTOMER, ECS.", *rm)
	}
	n, err := pageSize(in.MaxResults, 100, 10)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	snap := a.store.Snapshot()
	cl, err := a.activeCluster(snap, c, in.Cluster)
	if err != nil {
		return nil, err
	}
	seq := func(yield func(*state.Service) bool) {
		if in.ResourceManagementType != nil && *in.ResourceManagementType == "ECS" {
			return // every Berth service is managed by its owner
		}
		for s := range snap.Services(c.Account, c.Region, cl.Name, after) {
			if s.Status != state.ServiceActive || (in.LaunchType != nil && s.LaunchType != *in.LaunchType) ||
				(in.SchedulingStrategy != nil && s.SchedulingStrategy != *in.SchedulingStrategy) {
				continue
			}
			if !yield(s) {
				return
			}
		}
	}
	page, next := paginate(seq, n, func(s *state.Service) string { return s.ID })
	out := &ListServicesOutput{ServiceArns: []string{}, NextToken: next}
	for _, s := range page {
		out.ServiceArns = append(out.ServiceArns, s.ARN)
	}
	return out, nil
}
