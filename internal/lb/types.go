package lb

import "time"

// Listener is one ELBv2 listener as the data plane serves it.
type Listener struct {
	ARN, LoadBalancerARN string
	Type                 string // "application" or "network"
	Protocol             string // HTTP, HTTPS (refused until certificates exist), TCP, UDP (refused), TLS (refused)
	Port                 int
	Rules                []Rule        // any order; the default rule has IsDefault and comes last whatever its Priority
	IdleTimeout          time.Duration // ALB idle_timeout.timeout_seconds (default 60 s)
	// XFFMode is ALB's routing.http.xff_header_processing.mode: append
	// (the default, also for ""), preserve or remove.
	XFFMode string
	// XFFClientPort is routing.http.xff_client_port.enabled: in append
	// mode the client's address goes in X-Forwarded-For with its port.
	XFFClientPort bool
}

// Rule is a listener rule: conditions that all must match, and actions.
type Rule struct {
	ARN        string
	Priority   int
	IsDefault  bool
	Conditions []Condition
	Actions    []Action // applied in Order; the last is forward / redirect / fixed-response
}

// Condition is one rule condition. Within a condition any value may match.
type Condition struct {
	Field          string   // host-header, path-pattern, http-header, http-request-method, query-string, source-ip
	Values         []string // host-header, path-pattern, http-header, http-request-method, source-ip (CIDRs)
	HTTPHeaderName string
	QueryStrings   []KeyValue // key may be empty
}

// KeyValue is one query-string condition value.
type KeyValue struct{ Key, Value string }

// Action is one rule action.
type Action struct {
	Type          string // forward, redirect, fixed-response
	Order         int
	TargetGroups  []WeightedTargetGroup // forward
	Stickiness    *Stickiness           // forward: target-group-level stickiness across weighted groups
	Redirect      *Redirect
	FixedResponse *FixedResponse
}

// WeightedTargetGroup is one target group of a forward action.
type WeightedTargetGroup struct {
	ARN    string
	Weight int
}

// Stickiness is the target-group-level stickiness of a forward action.
type Stickiness struct {
	Enabled  bool
	Duration time.Duration
}

// Redirect is a redirect action; fields may hold ALB's #{protocol},
// #{host}, #{port}, #{path} and #{query} placeholders. An empty Protocol,
// Port, Host or Path means its placeholder (Path "/#{path}"), as AWS's
// defaults; an empty Query means no query string, so AWS's default is
// "#{query}". StatusCode is HTTP_301 or HTTP_302.
type Redirect struct{ Protocol, Port, Host, Path, Query, StatusCode string }

// FixedResponse is a fixed-response action.
type FixedResponse struct{ StatusCode, ContentType, MessageBody string }

// TargetGroup is a target group's settings and its registered targets.
type TargetGroup struct {
	ARN, Name           string
	Protocol            string // HTTP, HTTPS, TCP
	ProtocolVersion     string // HTTP1, HTTP2 (backend protocol for ALB)
	TargetType          string // instance, ip
	HealthCheck         HealthCheck
	DeregistrationDelay time.Duration // deregistration_delay.timeout_seconds (default 300 s)
	Stickiness          TGStickiness  // stickiness.enabled, stickiness.type lb_cookie, stickiness.lb_cookie.duration_seconds
	Algorithm           string        // round_robin (default) or least_outstanding_requests
	SlowStart           time.Duration
	Targets             []Target
}

// HealthCheck is a target group's active health check.
type HealthCheck struct {
	Enabled            bool
	Protocol           string // HTTP, HTTPS, TCP
	Port               string // "traffic-port" or a number
	Path               string
	Interval, Timeout  time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
	Matcher            string // HTTP codes: "200", "200-299", "200,202"
}

// TGStickiness is a target group's own (target-level) stickiness.
type TGStickiness struct {
	Enabled  bool
	Type     string
	Duration time.Duration
}

// Target is one registered target.
type Target struct {
	ID               string // instance target: the host address to dial (the controller resolves the instance to its address); ip target: the IP
	Port             int
	AvailabilityZone string
}

// TargetHealth is a target and its health as DescribeTargetHealth shows it.
type TargetHealth struct {
	Target      Target
	State       string // initial, healthy, unhealthy, unused, draining, unavailable
	Reason      string // AWS reason codes: Elb.RegistrationInProgress, Elb.InitialHealthChecking, Target.ResponseCodeMismatch, Target.Timeout, Target.FailedHealthChecks, Target.NotRegistered, Target.NotInUse, Target.DeregistrationInProgress, Target.HealthCheckDisabled, Elb.InternalError
	Description string
}

// Target states.
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnused      = "unused"
	StateDraining    = "draining"
	StateUnavailable = "unavailable"
)

// Reason codes and the descriptions ALB shows with them.
const (
	ReasonRegistrationInProgress   = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking    = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch     = "Target.ResponseCodeMismatch"
	ReasonTimeout                  = "Target.Timeout"
	ReasonFailedHealthChecks       = "Target.FailedHealthChecks"
	ReasonNotRegistered            = "Target.NotRegistered"
	ReasonNotInUse                 = "Target.NotInUse"
	ReasonDeregistrationInProgress = "Target.DeregistrationInProgress"
	ReasonHealthCheckDisabled      = "Target.HealthCheckDisabled"
	ReasonInternalError            = "Elb.InternalError"

	descRegistrationInProgress   = "Target registration is in progress"
	descInitialHealthChecking    = "Initial health checks in progress"
	descTimeout                  = "Request timed out"
	descFailedHealthChecks       = "Health checks failed"
	descNotInUse                 = "Target group is not configured to receive traffic from the load balancer"
	descDeregistrationInProgress = "Target deregistration is in progress"
	descHealthCheckDisabled      = "Health checks are disabled"
	descInternalError            = "Health checks failed due to an internal error"
)
