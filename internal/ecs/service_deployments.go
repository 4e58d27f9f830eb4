package ecs

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/state"
)

// A service deployment (ListServiceDeployments, DescribeServiceDeployments)
// is one of a service's deployments, current or past, seen as the move from
// the revisions the service ran before to the one it deploys. A service
// revision is named after the deployment that runs it.

// ServiceRevisionSummary is the ECS service revision summary shape.
type ServiceRevisionSummary struct {
	Arn                string `json:"arn"`
	RequestedTaskCount int32  `json:"requestedTaskCount"`
	RunningTaskCount   int32  `json:"runningTaskCount"`
	PendingTaskCount   int32  `json:"pendingTaskCount"`
}

// ServiceDeploymentCircuitBreaker is the circuit breaker state of a service
// deployment.
type ServiceDeploymentCircuitBreaker struct {
	Status       string `json:"status"`
	FailureCount int32  `json:"failureCount"`
	Threshold    int32  `json:"threshold"`
}

// Rollback is the ECS service deployment rollback shape.
type Rollback struct {
	Reason             string        `json:"reason,omitempty"`
	StartedAt          *awsjson.Time `json:"startedAt,omitempty"`
	ServiceRevisionArn string        `json:"serviceRevisionArn,omitempty"`
}

// ServiceDeployment is the ECS service deployment shape.
type ServiceDeployment struct {
	ServiceDeploymentArn     string                           `json:"serviceDeploymentArn"`
	ServiceArn               string                           `json:"serviceArn"`
	ClusterArn               string                           `json:"clusterArn"`
	CreatedAt                awsjson.Time                     `json:"createdAt"`
	StartedAt                *awsjson.Time                    `json:"startedAt,omitempty"`
	FinishedAt               *awsjson.Time                    `json:"finishedAt,omitempty"`
	StoppedAt                *awsjson.Time                    `json:"stoppedAt,omitempty"`
	UpdatedAt                *awsjson.Time                    `json:"updatedAt,omitempty"`
	SourceServiceRevisions   []ServiceRevisionSummary         `json:"sourceServiceRevisions"`
	TargetServiceRevision    *ServiceRevisionSummary          `json:"targetServiceRevision,omitempty"`
	Status                   string                           `json:"status"`
	StatusReason             string                           `json:"statusReason,omitempty"`
	DeploymentConfiguration  *DeploymentConfiguration         `json:"deploymentConfiguration,omitempty"`
	Rollback                 *Rollback                        `json:"rollback,omitempty"`
	DeploymentCircuitBreaker *ServiceDeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
}

// ServiceDeploymentBrief is the ECS service deployment brief shape.
type ServiceDeploymentBrief struct {
	ServiceDeploymentArn     string        `json:"serviceDeploymentArn"`
	ServiceArn               string        `json:"serviceArn"`
	ClusterArn               string        `json:"clusterArn"`
	StartedAt                *awsjson.Time `json:"startedAt,omitempty"`
	CreatedAt                awsjson.Time  `json:"createdAt"`
	FinishedAt               *awsjson.Time `json:"finishedAt,omitempty"`
	TargetServiceRevisionArn string        `json:"targetServiceRevisionArn,omitempty"`
	Status                   string        `json:"status"`
	StatusReason             string        `json:"statusReason,omitempty"`
}

// CreatedAtFilter is the ECS CreatedAt filter shape.
type CreatedAtFilter struct {
	Before *awsjson.Time `json:"before"`
	After  *awsjson.Time `json:"after"`
}

type ListServiceDeploymentsInput struct {
	Service    *string          `json:"service"`
	Cluster    *string          `json:"cluster"`
	Status     []string         `json:"status"`
	CreatedAt  *CreatedAtFilter `json:"createdAt"`
	MaxResults *int32           `json:"maxResults"`
	NextToken  *string          `json:"nextToken"`
}
type ListServiceDeploymentsOutput struct {
	ServiceDeployments []ServiceDeploymentBrief `json:"serviceDeployments"`
	NextToken          *string                  `json:"nextToken,omitempty"`
}

type DescribeServiceDeploymentsInput struct {
	ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
}
type DescribeServiceDeploymentsOutput struct {
	ServiceDeployments []ServiceDeployment `json:"serviceDeployments"`
	Failures           []Failure           `json:"failures"`
}

var serviceDeploymentStatuses = []string{
	"PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS",
	"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED",
}

// serviceDeploymentARN is the ARN of one of s's service deployments.
func serviceDeploymentARN(s *state.Service, id string) string {
	return ecsARN(s.Region, s.Account, "service-deployment/"+s.Cluster+"/"+s.Name+"/"+id)
}

// serviceRevisionARN is the ARN of the revision a deployment (ecs-svc/<n>)
// of s runs.
func serviceRevisionARN(s *state.Service, deploymentID string) string {
	return ecsARN(s.Region, s.Account, "service-revision/"+s.Cluster+"/"+s.Name+"/"+strings.TrimPrefix(deploymentID, "ecs-svc/"))
}

// allDeployments are s's current deployments (PRIMARY first), then its past
// ones (newest first).
func allDeployments(s *state.Service) []state.Deployment {
	return append(append([]state.Deployment(nil), s.Deployments...), s.Past...)
}

// serviceDeployment is one service deployment: a deployment and, when the
// circuit breaker rolled it back, the deployment that did (ECS shows the
// two as one service deployment, whose status follows the rollback).
type serviceDeployment struct {
	d        *state.Deployment
	rollback *state.Deployment // nil unless d was rolled back
}

// serviceDeploymentsOf pairs s's deployments into service deployments, in
// allDeployments order. A rollback whose failed deployment is no longer
// kept stands alone.
func serviceDeploymentsOf(s *state.Service) []serviceDeployment {
	all := allDeployments(s)
	byID := map[string]int{}
	for i := range all {
		byID[all[i].ID] = i
	}
	rolledBack := map[int]*state.Deployment{}
	for i := range all {
		if r := &all[i]; r.Rollback && r.RollbackOf != "" {
			if k, ok := byID[r.RollbackOf]; ok {
				rolledBack[k] = r
			}
		}
	}
	var out []serviceDeployment
	for i := range all {
		d := &all[i]
		if d.Rollback && d.RollbackOf != "" {
			if _, ok := byID[d.RollbackOf]; ok {
				continue // shown with the deployment it rolled back
			}
		}
		out = append(out, serviceDeployment{d: d, rollback: rolledBack[i]})
	}
	return out
}

// status names the service deployment's state.
func (sd serviceDeployment) status() string {
	if r := sd.rollback; r != nil {
		switch serviceDeploymentStatus(r) {
		case "ROLLBACK_SUCCESSFUL", "SUCCESSFUL":
			return "ROLLBACK_SUCCESSFUL"
		case "ROLLBACK_IN_PROGRESS", "IN_PROGRESS":
			return "ROLLBACK_IN_PROGRESS"
		}
		return "ROLLBACK_FAILED" // failed, or superseded before it finished
	}
	return serviceDeploymentStatus(sd.d)
}

// finishedAt is when the service deployment ended: with its rollback, if
// it had one.
func (sd serviceDeployment) finishedAt() time.Time {
	if sd.rollback != nil {
		if !sd.rollback.FinishedAt.IsZero() {
			return sd.rollback.FinishedAt
		}
		return sd.rollback.StoppedAt
	}
	return sd.d.FinishedAt
}

// serviceDeploymentReason is the status reason of a service deployment:
// its rollout state reason, unless it was superseded while in progress
// (which that reason would still claim).
func serviceDeploymentReason(d *state.Deployment) string {
	if d.RolloutState == state.RolloutInProgress && serviceDeploymentStatus(d) == "STOPPED" {
		return ""
	}
	return d.RolloutStateReason
}

// serviceDeploymentStatus names a deployment's state as a service
// deployment.
func serviceDeploymentStatus(d *state.Deployment) string {
	switch {
	case d.RolloutState == state.RolloutCompleted && d.Rollback:
		return "ROLLBACK_SUCCESSFUL"
	case d.RolloutState == state.RolloutCompleted:
		return "SUCCESSFUL"
	case d.RolloutState == state.RolloutFailed && d.Rollback:
		return "ROLLBACK_FAILED"
	case d.RolloutState == state.RolloutFailed, !d.StoppedAt.IsZero(), d.Status != state.DeploymentPrimary:
		// Failed, or superseded by a newer deployment before it finished.
		return "STOPPED"
	case d.Rollback:
		return "ROLLBACK_IN_PROGRESS"
	}
	return "IN_PROGRESS"
}

// breakerThreshold is how many failed tasks trip a deployment's circuit
// breaker: half the desired count, at least 3 and at most 200.
func breakerThreshold(desired int32) int32 {
	return min(200, max(3, (desired+1)/2))
}

func circuitBreakerView(d *state.Deployment) *ServiceDeploymentCircuitBreaker {
	v := &ServiceDeploymentCircuitBreaker{FailureCount: d.FailedTasks, Threshold: breakerThreshold(d.DesiredCount)}
	cb := d.Config.CircuitBreaker
	switch {
	case cb == nil || !cb.Enable:
		v.Status = "DISABLED"
	case d.RolloutState == state.RolloutFailed:
		v.Status = "TRIGGERED"
	case d.RolloutState == state.RolloutInProgress && d.StoppedAt.IsZero() && d.Status == state.DeploymentPrimary:
		v.Status = "MONITORING"
	default:
		v.Status = "MONITORING_COMPLETE"
	}
	return v
}

// optTime renders an optional timestamp: nil when t is zero.
func optTime(t time.Time) *awsjson.Time {
	if t.IsZero() {
		return nil
	}
	return awsjson.Ptr(t)
}

// serviceDeploymentView renders service deployment sd of s, whose
// deployments are all (allDeployments(s)); counts are the service's tasks
// by deployment.
func serviceDeploymentView(s *state.Service, all []state.Deployment, sd serviceDeployment, counts map[string]taskCounts) ServiceDeployment {
	d := sd.d
	revision := func(d *state.Deployment) ServiceRevisionSummary {
		n := counts[d.ID]
		return ServiceRevisionSummary{
			Arn: serviceRevisionARN(s, d.ID), RequestedTaskCount: d.DesiredCount,
			RunningTaskCount: n.running, PendingTaskCount: n.pending,
		}
	}
	out := ServiceDeployment{
		ServiceDeploymentArn: serviceDeploymentARN(s, d.ServiceDeployment), ServiceArn: s.ARN, ClusterArn: s.ClusterARN,
		CreatedAt: awsjson.At(d.CreatedAt), StartedAt: awsjson.Ptr(d.CreatedAt),
		FinishedAt: optTime(sd.finishedAt()), StoppedAt: optTime(d.StoppedAt),
		UpdatedAt:              optTime(d.UpdatedAt),
		SourceServiceRevisions: []ServiceRevisionSummary{},
		Status:                 sd.status(), StatusReason: serviceDeploymentReason(d),
		DeploymentConfiguration:  deploymentConfigurationView(d.Config),
		DeploymentCircuitBreaker: circuitBreakerView(d),
	}
	target := revision(d)
	out.TargetServiceRevision = &target
	// The revisions it replaces: while it is the PRIMARY, the older
	// deployments still running; otherwise (or when there are none) the
	// deployment it followed.
	if d.Status == state.DeploymentPrimary && slices.ContainsFunc(s.Deployments, func(o state.Deployment) bool { return o.ID == d.ID }) {
		for i := range s.Deployments {
			if s.Deployments[i].ID != d.ID {
				out.SourceServiceRevisions = append(out.SourceServiceRevisions, revision(&s.Deployments[i]))
			}
		}
	}
	if len(out.SourceServiceRevisions) == 0 {
		var prev *state.Deployment
		for i := range all {
			if o := &all[i]; o.CreatedAt.Before(d.CreatedAt) && (prev == nil || o.CreatedAt.After(prev.CreatedAt)) {
				prev = o
			}
		}
		if prev != nil {
			out.SourceServiceRevisions = append(out.SourceServiceRevisions, revision(prev))
		}
	}
	if r := sd.rollback; r != nil {
		out.Rollback = &Rollback{
			Reason:    fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", r.RollbackTo),
			StartedAt: awsjson.Ptr(r.CreatedAt), ServiceRevisionArn: serviceRevisionARN(s, r.RollbackTo),
		}
	} else if d.Rollback { // a rollback of a deployment no longer kept
		out.Rollback = &Rollback{
			Reason:    fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", d.RollbackTo),
			StartedAt: awsjson.Ptr(d.CreatedAt), ServiceRevisionArn: serviceRevisionARN(s, d.RollbackTo),
		}
	}
	return out
}

// ListServiceDeployments lists a service's deployments, newest first.
func (a *API) ListServiceDeployments(ctx context.Context, in *ListServiceDeploymentsInput) (*ListServiceDeploymentsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	ref, err := required(in.Service, "service")
	if err != nil {
		return nil, err
	}
	for _, st := range in.Status {
		if !slices.Contains(serviceDeploymentStatuses, st) {
			return nil, invalidParam("Invalid status %q. Valid values: %s.", st, strings.Join(serviceDeploymentStatuses, ", "))
		}
	}
	n, err := pageSize(in.MaxResults, 100, 20)
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
	s := findService(snap, c, cl.Name, ref)
	if s == nil {
		return nil, serviceNotFound()
	}
	// Newest first: the key sorts by creation time, latest first.
	key := func(sd serviceDeployment) string {
		return fmt.Sprintf("%019d/%s", math.MaxInt64-sd.d.CreatedAt.UnixNano(), sd.d.ServiceDeployment)
	}
	var matching []serviceDeployment
	for _, sd := range serviceDeploymentsOf(s) {
		d := sd.d
		if len(in.Status) > 0 && !slices.Contains(in.Status, sd.status()) {
			continue
		}
		if f := in.CreatedAt; f != nil && ((f.After != nil && d.CreatedAt.Before(f.After.Time)) || (f.Before != nil && d.CreatedAt.After(f.Before.Time))) {
			continue
		}
		if after != "" && key(sd) <= after {
			continue
		}
		matching = append(matching, sd)
	}
	slices.SortFunc(matching, func(x, y serviceDeployment) int { return strings.Compare(key(x), key(y)) })
	page, next := paginate(slices.Values(matching), n, key)
	out := &ListServiceDeploymentsOutput{ServiceDeployments: []ServiceDeploymentBrief{}, NextToken: next}
	for _, sd := range page {
		d := sd.d
		out.ServiceDeployments = append(out.ServiceDeployments, ServiceDeploymentBrief{
			ServiceDeploymentArn: serviceDeploymentARN(s, d.ServiceDeployment), ServiceArn: s.ARN, ClusterArn: s.ClusterARN,
			StartedAt: awsjson.Ptr(d.CreatedAt), CreatedAt: awsjson.At(d.CreatedAt),
			FinishedAt:               optTime(sd.finishedAt()),
			TargetServiceRevisionArn: serviceRevisionARN(s, d.ID),
			Status:                   sd.status(), StatusReason: serviceDeploymentReason(d),
		})
	}
	return out, nil
}

// DescribeServiceDeployments describes service deployments by ARN; unknown
// ones are MISSING failures.
func (a *API) DescribeServiceDeployments(ctx context.Context, in *DescribeServiceDeploymentsInput) (*DescribeServiceDeploymentsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(in.ServiceDeploymentArns) == 0 || len(in.ServiceDeploymentArns) > 20 {
		return nil, invalidParam("serviceDeploymentArns must contain between 1 and 20 ARNs.")
	}
	snap := a.store.Snapshot()
	out := &DescribeServiceDeploymentsOutput{ServiceDeployments: []ServiceDeployment{}, Failures: []Failure{}}
	for _, arn := range in.ServiceDeploymentArns {
		v, ok := describeServiceDeployment(snap, c, arn)
		if !ok {
			out.Failures = append(out.Failures, Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, v)
	}
	return out, nil
}

func describeServiceDeployment(snap *state.Snapshot, c *awsapi.Caller, arn string) (ServiceDeployment, bool) {
	p, ok := ParseARN(arn)
	if !ok || !isECSARNOf(p, c.Account, c.Region) {
		return ServiceDeployment{}, false
	}
	rest, found := strings.CutPrefix(p.Resource, "service-deployment/")
	parts := strings.Split(rest, "/")
	if !found || len(parts) != 3 {
		return ServiceDeployment{}, false
	}
	s := snap.Service(state.Key(c.Account, c.Region, parts[0], parts[1]))
	if s == nil {
		return ServiceDeployment{}, false
	}
	for _, sd := range serviceDeploymentsOf(s) {
		if sd.d.ServiceDeployment == parts[2] {
			_, counts := countServiceTasks(snap.ServiceTasks(s.ID))
			return serviceDeploymentView(s, allDeployments(s), sd, counts), true
		}
	}
	return ServiceDeployment{}, false
}
