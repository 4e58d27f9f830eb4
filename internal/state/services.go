package state

import (
	"encoding/json"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

// Service statuses.
const (
	ServiceActive   = "ACTIVE"
	ServiceDraining = "DRAINING"
	ServiceInactive = "INACTIVE"
)

// Deployment statuses and rollout states.
const (
	DeploymentPrimary  = "PRIMARY"
	DeploymentActive   = "ACTIVE"
	DeploymentInactive = "INACTIVE"

	RolloutInProgress = "IN_PROGRESS"
	RolloutCompleted  = "COMPLETED"
	RolloutFailed     = "FAILED"
)

// Scheduling strategies.
const (
	SchedulingReplica = "REPLICA"
	SchedulingDaemon  = "DAEMON"
)

// MaxServiceEvents is how many events a service keeps, newest first.
const MaxServiceEvents = 100

// MaxPastDeployments is how many finished deployments a service remembers
// for ListServiceDeployments and rollbacks.
const MaxPastDeployments = 20

// CircuitBreaker is a deployment circuit breaker configuration.
type CircuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// DeploymentConfiguration bounds a rolling deployment.
type DeploymentConfiguration struct {
	MaximumPercent        int32           `json:"maximumPercent"`
	MinimumHealthyPercent int32           `json:"minimumHealthyPercent"`
	CircuitBreaker        *CircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
	// Alarms is stored as given; CloudWatch alarms are not evaluated yet.
	Alarms json.RawMessage `json:"alarms,omitempty"`
}

// PlacementConstraint is a service or task placement constraint.
type PlacementConstraint struct {
	Type       string `json:"type"`
	Expression string `json:"expression,omitempty"`
}

// PlacementStrategy is a service or task placement strategy.
type PlacementStrategy struct {
	Type  string `json:"type"`
	Field string `json:"field,omitempty"`
}

// LoadBalancer ties a service's container port to a target group.
type LoadBalancer struct {
	TargetGroupARN   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    int32  `json:"containerPort,omitempty"`
}

// ServiceRegistry ties a service to a Cloud Map service.
type ServiceRegistry struct {
	RegistryARN   string `json:"registryArn,omitempty"`
	Port          int32  `json:"port,omitempty"`
	ContainerName string `json:"containerName,omitempty"`
	ContainerPort int32  `json:"containerPort,omitempty"`
}

// Deployment is one task definition a service rolls out. Its counts are
// kept up to date by the service controller.
type Deployment struct {
	ID                 string // ecs-svc/<digits>
	ServiceDeployment  string // the id in the service-deployment ARN
	Status             string // PRIMARY, ACTIVE or INACTIVE
	TaskDefinition     string // ARN
	LaunchType         string
	DesiredCount       int32
	PendingCount       int32
	RunningCount       int32
	FailedTasks        int32
	RolloutState       string
	RolloutStateReason string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// StartedAt and FinishedAt bound the rollout (FinishedAt zero while in
	// progress); StoppedAt is set when a newer deployment superseded it
	// before it finished.
	FinishedAt time.Time `json:",omitzero"`
	StoppedAt  time.Time `json:",omitzero"`
	// Rollback is true for a deployment the circuit breaker started to go
	// back to RollbackTo (a deployment id), after RollbackOf failed. It
	// shares the failed deployment's service deployment, as in ECS: one
	// service deployment that fails and rolls back.
	Rollback   bool   `json:",omitempty"`
	RollbackTo string `json:",omitempty"`
	RollbackOf string `json:",omitempty"`
	// Source is the task definition the service ran before this deployment.
	Source string `json:",omitempty"`
	// Config is the deployment configuration it was started with.
	Config DeploymentConfiguration
}

// ServiceEvent is one line of a service's event log.
type ServiceEvent struct {
	ID        string
	CreatedAt time.Time
	Message   string
}

// Service keeps a number of copies of a task definition running.
type Service struct {
	ID         string // Key(account, region, cluster, name)
	Account    string
	Region     string
	Cluster    string
	Name       string
	ARN        string
	ClusterARN string
	Status     string

	DesiredCount       int32
	SchedulingStrategy string
	LaunchType         string
	// TaskDefinition is the ARN the PRIMARY deployment runs.
	TaskDefinition string

	DeploymentConfiguration       DeploymentConfiguration
	PlacementConstraints          []PlacementConstraint
	PlacementStrategy             []PlacementStrategy
	LoadBalancers                 []LoadBalancer
	ServiceRegistries             []ServiceRegistry
	HealthCheckGracePeriodSeconds int32
	PropagateTags                 string
	EnableECSManagedTags          bool
	RoleARN                       string
	Tags                          []Tag
	CreatedAt                     time.Time
	CreatedBy                     string
	// InactiveAt is when the service became INACTIVE after a deletion.
	InactiveAt time.Time `json:",omitzero"`

	// Deployments are the current ones, PRIMARY first.
	Deployments []Deployment
	// Past are finished or superseded deployments, newest first.
	Past []Deployment
	// Events are the newest first, at most MaxServiceEvents.
	Events []ServiceEvent

	// Controller bookkeeping.
	//
	// StartFailures counts tasks in a row that stopped before reaching
	// RUNNING; while it is non-zero launches wait until NextLaunchAt.
	StartFailures int32
	NextLaunchAt  time.Time `json:",omitzero"`
	// FailureAt is when the last start failure was counted; a task that
	// reaches RUNNING after it ends the streak.
	FailureAt time.Time `json:",omitzero"`
	// Steady is true while the service is in a steady state; SteadyAt is
	// when that was last announced.
	Steady   bool
	SteadyAt time.Time `json:",omitzero"`

	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a deep copy of s that the caller may modify and write back.
func (s *Service) Copy() *Service {
	n := *s
	n.PlacementConstraints = append([]PlacementConstraint(nil), s.PlacementConstraints...)
	n.PlacementStrategy = append([]PlacementStrategy(nil), s.PlacementStrategy...)
	n.LoadBalancers = append([]LoadBalancer(nil), s.LoadBalancers...)
	n.ServiceRegistries = append([]ServiceRegistry(nil), s.ServiceRegistries...)
	n.Tags = append([]Tag(nil), s.Tags...)
	n.Deployments = append([]Deployment(nil), s.Deployments...)
	n.Past = append([]Deployment(nil), s.Past...)
	n.Events = append([]ServiceEvent(nil), s.Events...)
	if s.DeploymentConfiguration.CircuitBreaker != nil {
		cb := *s.DeploymentConfiguration.CircuitBreaker
		n.DeploymentConfiguration.CircuitBreaker = &cb
	}
	return &n
}

// Primary returns the PRIMARY deployment, or nil.
func (s *Service) Primary() *Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Status == DeploymentPrimary {
			return &s.Deployments[i]
		}
	}
	return nil
}

// Group is the task group of the service's tasks.
func (s *Service) Group() string { return "service:" + s.Name }

func init() {
	register(func() Command { return new(CreateService) })
	register(func() Command { return new(PutService) })
	register(func() Command { return new(ReconcileService) })
	register(func() Command { return new(DeleteService) })
}

// CreateService adds a service. An ACTIVE or DRAINING service of that name
// is a conflict; an INACTIVE one is replaced.
type CreateService struct{ Service *Service }

func (*CreateService) commandName() string { return "CreateService" }

func (c *CreateService) apply(tx *txn) (any, error) {
	n := c.Service.Copy()
	n.ID = Key(n.Account, n.Region, n.Cluster, n.Name)
	cl, err := first[Cluster](tx.Txn, tableClusters, Key(n.Account, n.Region, n.Cluster))
	if err != nil {
		return nil, err
	}
	if cl == nil || cl.Status != ClusterActive {
		return nil, errdefs.New(errdefs.ErrNotFound, "cluster", "Cluster not found.")
	}
	old, err := first[Service](tx.Txn, tableServices, n.ID)
	if err != nil {
		return nil, err
	}
	if old != nil && old.Status != ServiceInactive {
		return nil, errdefs.New(errdefs.ErrAlreadyExists, "service", "Creation of service was not idempotent.")
	}
	n.Status = ServiceActive
	n.CreateIndex, n.ModifyIndex = tx.index, tx.index
	return n, tx.put(tableServices, n)
}

// PutService replaces a service that has not changed since it was read at
// ModifyIndex (an optimistic update), as UpdateService and DeleteService do.
type PutService struct {
	Service     *Service
	ModifyIndex uint64
}

func (*PutService) commandName() string { return "PutService" }

func (c *PutService) apply(tx *txn) (any, error) {
	n := c.Service.Copy()
	n.ID = Key(n.Account, n.Region, n.Cluster, n.Name)
	old, err := first[Service](tx.Txn, tableServices, n.ID)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "service", "Service not found.")
	}
	if old.ModifyIndex != c.ModifyIndex {
		return nil, errdefs.New(errdefs.ErrConflict, "service", "service %s changed concurrently", n.Name)
	}
	n.CreateIndex, n.ModifyIndex = old.CreateIndex, tx.index
	return n, tx.put(tableServices, n)
}

// DeleteService forgets an INACTIVE service (after its retention).
type DeleteService struct{ ServiceKey string }

func (*DeleteService) commandName() string { return "DeleteService" }

func (c *DeleteService) apply(tx *txn) (any, error) {
	old, err := first[Service](tx.Txn, tableServices, c.ServiceKey)
	if err != nil || old == nil {
		return nil, err
	}
	if old.Status != ServiceInactive {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "service", "service %s is not INACTIVE", old.Name)
	}
	return nil, tx.remove(tableServices, old)
}

// TaskStop is one task the service controller stops.
type TaskStop struct {
	TaskKey  string
	StopCode string
	Reason   string
	// Now marks the task STOPPED at once instead of asking its agent: for a
	// task whose instance is gone and whose agent will never report.
	Now bool
	// Deactivate only marks a running task DEACTIVATING, with the stop
	// code and reason it will stop with: it is leaving its load balancer
	// target groups, and the controller stops it once they released it.
	Deactivate bool
}

// ReconcileService applies one step of the service controller: the
// service's new bookkeeping (when Service is set, guarded by ModifyIndex),
// tasks to start (placed, with room re-checked as RunTasks does), tasks to
// stop, and stopped tasks whose failures the controller has now counted.
// It applies all of it or nothing.
type ReconcileService struct {
	Service *Service
	// ServiceKey with ModifyIndex, when Service is nil, only checks that the
	// service has not changed since the controller read it.
	ServiceKey  string
	ModifyIndex uint64
	Start       []*Task
	Stop        []TaskStop
	Accounted   []string // task keys
	At          time.Time
}

func (*ReconcileService) commandName() string { return "ReconcileService" }

func (c *ReconcileService) apply(tx *txn) (any, error) {
	switch {
	case c.Service != nil:
		if _, err := (&PutService{Service: c.Service, ModifyIndex: c.ModifyIndex}).apply(tx); err != nil {
			return nil, err
		}
	case c.ServiceKey != "":
		old, err := first[Service](tx.Txn, tableServices, c.ServiceKey)
		if err != nil {
			return nil, err
		}
		if old == nil || old.ModifyIndex != c.ModifyIndex {
			return nil, errdefs.New(errdefs.ErrConflict, "service", "service changed concurrently")
		}
	}
	for _, s := range c.Stop {
		old, err := first[Task](tx.Txn, tableTasks, s.TaskKey)
		if err != nil {
			return nil, err
		}
		if old == nil || old.LastStatus == TaskStopped || (old.DesiredStatus == TaskStopped && !s.Now) {
			continue
		}
		n := old.Copy()
		if s.Deactivate {
			if StatusRank(n.LastStatus) < StatusRank(TaskDeactivating) {
				n.LastStatus = TaskDeactivating
			}
			n.StopCode, n.StoppedReason = s.StopCode, s.Reason
			n.Version++
			n.ModifyIndex = tx.index
			if err := tx.put(tableTasks, n); err != nil {
				return nil, err
			}
			continue
		}
		if n.DesiredStatus != TaskStopped {
			n.DesiredStatus = TaskStopped
			n.StopCode, n.StoppedReason = s.StopCode, s.Reason
			n.StoppingAt = c.At
		}
		if s.Now {
			n.LastStatus = TaskStopped
			n.StoppedAt, n.ExecutionStoppedAt = c.At, c.At
			for i := range n.Containers {
				n.Containers[i].LastStatus = TaskStopped
			}
		}
		n.Version++
		n.ModifyIndex = tx.index
		if err := tx.put(tableTasks, n); err != nil {
			return nil, err
		}
	}
	for _, key := range c.Accounted {
		old, err := first[Task](tx.Txn, tableTasks, key)
		if err != nil {
			return nil, err
		}
		if old == nil || old.Accounted {
			continue
		}
		n := old.Copy()
		n.Accounted = true
		n.ModifyIndex = tx.index
		if err := tx.put(tableTasks, n); err != nil {
			return nil, err
		}
	}
	if len(c.Start) > 0 {
		if _, err := (&RunTasks{Tasks: c.Start}).apply(tx); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
