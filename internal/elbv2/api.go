package elbv2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/lb"
	"github.com/berthhq/berth/internal/state"
)

// Namespace is the XML namespace of ELBv2 responses.
const Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// Version is the API version clients send.
const Version = "2015-12-01"

// Config configures the ELBv2 API.
type Config struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ResolveInstance returns the address the data plane dials for an EC2
	// instance id registered as an instance target, and its availability
	// zone. Nil, or ok false, makes the instance an invalid target.
	ResolveInstance func(account, region, ec2InstanceID string) (addr string, az string, ok bool)
	// ProvisionDelay is how long a new load balancer stays provisioning
	// before Run makes it active; zero means 250 ms.
	ProvisionDelay time.Duration
	// Resync bounds how long Run waits between two full reconciliations of
	// the data plane (instance addresses can change without a document
	// changing); zero means 10 s.
	Resync time.Duration
	// HealthCheckInterval is a test knob: when not zero, the data plane
	// checks every target group at this interval (and its timeout at most)
	// instead of the group's own, which AWS bounds below by 5 s. The API
	// still reports the groups' settings.
	HealthCheckInterval time.Duration
}

// plane is what the API needs of the data plane.
type plane interface {
	Bind(l lb.Listener) error
	Unbind(listenerARN string)
	SetTargetGroup(tg lb.TargetGroup)
	RemoveTargetGroup(arn string)
	TargetHealth(tgARN string) []lb.TargetHealth
}

var _ plane = (*lb.Plane)(nil)

// API serves the ELBv2 operations and keeps the data plane in step with
// the stored load balancers.
type API struct {
	store          *state.Store
	plane          plane
	log            *slog.Logger
	now            func() time.Time
	resolve        func(account, region, id string) (string, string, bool)
	provisionDelay time.Duration
	resync         time.Duration
	hcInterval     time.Duration

	// mu serialises everything that talks to the plane, so that a listener
	// bound ahead of its commit is not unbound by a concurrent sync.
	mu      sync.Mutex
	applied applied
}

// New returns the ELBv2 API over store, driving plane. A nil plane keeps
// the API working without a data plane (nothing listens).
func New(cfg Config, store *state.Store, p *lb.Plane) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProvisionDelay == 0 {
		cfg.ProvisionDelay = 250 * time.Millisecond
	}
	if cfg.Resync == 0 {
		cfg.Resync = 10 * time.Second
	}
	a := &API{
		store:          store,
		log:            cfg.Logger.With("component", "elbv2"),
		now:            cfg.Now,
		resolve:        cfg.ResolveInstance,
		provisionDelay: cfg.ProvisionDelay,
		resync:         cfg.Resync,
		hcInterval:     cfg.HealthCheckInterval,
		applied:        newApplied(),
	}
	if p != nil {
		a.plane = p
	} else {
		a.plane = noPlane{}
	}
	return a
}

// noPlane stands in for a missing data plane.
type noPlane struct{}

func (noPlane) Bind(lb.Listener) error                { return nil }
func (noPlane) Unbind(string)                         {}
func (noPlane) SetTargetGroup(lb.TargetGroup)         {}
func (noPlane) RemoveTargetGroup(string)              {}
func (noPlane) TargetHealth(string) []lb.TargetHealth { return nil }

// Service returns the ELBv2 API's registration with the gateway.
func (a *API) Service() *awsapi.QueryService {
	return &awsapi.QueryService{
		SigningName:     "elasticloadbalancing",
		Version:         Version,
		Namespace:       Namespace,
		ServerErrorCode: "InternalFailure",
		MapError:        mapError,
		Ops: map[string]awsapi.QueryHandler{
			"CreateLoadBalancer":             awsapi.Query(a.createLoadBalancer),
			"DescribeLoadBalancers":          awsapi.Query(a.describeLoadBalancers),
			"DeleteLoadBalancer":             awsapi.Query(a.deleteLoadBalancer),
			"DescribeLoadBalancerAttributes": awsapi.Query(a.describeLoadBalancerAttributes),
			"ModifyLoadBalancerAttributes":   awsapi.Query(a.modifyLoadBalancerAttributes),
			"CreateTargetGroup":              awsapi.Query(a.createTargetGroup),
			"DescribeTargetGroups":           awsapi.Query(a.describeTargetGroups),
			"ModifyTargetGroup":              awsapi.Query(a.modifyTargetGroup),
			"DeleteTargetGroup":              awsapi.Query(a.deleteTargetGroup),
			"DescribeTargetGroupAttributes":  awsapi.Query(a.describeTargetGroupAttributes),
			"ModifyTargetGroupAttributes":    awsapi.Query(a.modifyTargetGroupAttributes),
			"RegisterTargets":                awsapi.Query(a.registerTargets),
			"DeregisterTargets":              awsapi.Query(a.deregisterTargets),
			"DescribeTargetHealth":           awsapi.Query(a.describeTargetHealth),
			"CreateListener":                 awsapi.Query(a.createListener),
			"DescribeListeners":              awsapi.Query(a.describeListeners),
			"ModifyListener":                 awsapi.Query(a.modifyListener),
			"DeleteListener":                 awsapi.Query(a.deleteListener),
			"DescribeListenerAttributes":     awsapi.Query(a.describeListenerAttributes),
			"ModifyListenerAttributes":       awsapi.Query(a.modifyListenerAttributes),
			"CreateRule":                     awsapi.Query(a.createRule),
			"DescribeRules":                  awsapi.Query(a.describeRules),
			"ModifyRule":                     awsapi.Query(a.modifyRule),
			"DeleteRule":                     awsapi.Query(a.deleteRule),
			"SetRulePriorities":              awsapi.Query(a.setRulePriorities),
			"AddTags":                        awsapi.Query(a.addTags),
			"RemoveTags":                     awsapi.Query(a.removeTags),
			"DescribeTags":                   awsapi.Query(a.describeTags),
		},
	}
}

// mapError names the domain errors of the state store as ELBv2 does.
func mapError(err error) *awsapi.Error {
	switch {
	case errors.Is(err, errdefs.ErrUnavailable):
		return &awsapi.Error{Code: "ServiceUnavailable", Message: "The service is temporarily unavailable; retry the request.", Status: http.StatusServiceUnavailable, Server: true}
	case errors.Is(err, errdefs.ErrConflict):
		// Optimistic writes that kept losing races within the retry budget.
		return &awsapi.Error{Code: "PriorRequestNotComplete", Message: "This operation is not allowed while a prior request has not been completed; retry the request.", Status: http.StatusTooManyRequests}
	}
	return nil
}

func validationError(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "ValidationError", Message: fmt.Sprintf(format, args...)}
}

func apiError(code, format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Messages AWS sends for resources a request names that do not exist.
func lbNotFound() *awsapi.Error {
	return apiError("LoadBalancerNotFound", "One or more load balancers not found")
}

func tgNotFound() *awsapi.Error {
	return apiError("TargetGroupNotFound", "One or more target groups not found")
}

func listenerNotFound() *awsapi.Error {
	return apiError("ListenerNotFound", "One or more listeners not found")
}

func ruleNotFound() *awsapi.Error {
	return apiError("RuleNotFound", "One or more rules not found")
}

// outOfRange reports a number outside [lo, hi] the way the model
// validation of the query APIs does, naming the bound it crossed; nil
// when v is in range.
func outOfRange(v int32, member string, lo, hi int32) *awsapi.Error {
	switch {
	case v < lo:
		return validationError("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", v, member, lo)
	case v > hi:
		return validationError("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", v, member, hi)
	}
	return nil
}

// required reports a missing required member the way the query APIs do.
func required(member string) *awsapi.Error {
	return validationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

// Optimistic writes retry a conflict for this long at most before reporting
// it; each retry waits a little, with jitter so that writers that collided
// do not collide again.
const (
	conflictRetryBudget = 5 * time.Second
	conflictMaxBackoff  = 20 * time.Millisecond
)

// retryConflicts runs an optimistic read-check-write until it does not
// conflict with a concurrent writer, for a bounded time.
func retryConflicts[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	deadline := time.Now().Add(conflictRetryBudget)
	for attempt := 1; ; attempt++ {
		v, err := fn()
		if !errors.Is(err, errdefs.ErrConflict) || time.Now().After(deadline) {
			return v, err
		}
		backoff := min(time.Duration(attempt)*time.Millisecond, conflictMaxBackoff)
		backoff += rand.N(backoff)
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(backoff):
		}
	}
}

// ops collects the document operations of one atomic write.
type ops []state.DocOp

// put writes v at key: absent before when index is 0, else unchanged since
// index.
func (o *ops) put(key string, index uint64, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("elbv2: marshal %T: %v", v, err)) // our own types always marshal
	}
	op := state.DocOp{Key: key, Value: b}
	if index == 0 {
		op.IfAbsent = true
	} else {
		op.IfIndex = index
	}
	*o = append(*o, op)
}

// del deletes key, unchanged since index.
func (o *ops) del(key string, index uint64) {
	*o = append(*o, state.DocOp{Key: key, Delete: true, IfIndex: index})
}

// commit applies the operations atomically. It returns once they are
// durable.
func (a *API) commit(ctx context.Context, o ops) error {
	if len(o) == 0 {
		return nil
	}
	_, err := state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: o})
	return err
}
