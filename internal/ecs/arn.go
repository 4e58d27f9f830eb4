package ecs

import (
	"github.com/berthhq/berth/internal/awsapi"
	"regexp"
	"strings"
)

// ARN is a parsed Amazon Resource Name.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ParseARN splits an ARN into its parts. ok is false when s is not an ARN.
func ParseARN(s string) (ARN, bool) {
	if !strings.HasPrefix(s, "arn:") {
		return ARN{}, false
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, false
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// String renders the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// partition is the one partition Berth's ARNs are in.
const partition = "aws"

// isECSARNOf reports whether a is an ECS ARN of the tenancy (account, region).
func isECSARNOf(a ARN, account, region string) bool {
	return a.Partition == partition && a.Service == "ecs" && a.Account == account && a.Region == region
}

// ecsARN returns the ECS ARN of resource ("cluster/name", ...) in a tenancy.
func ecsARN(region, account, resource string) string {
	return ARN{Partition: partition, Service: "ecs", Region: region, Account: account, Resource: resource}.String()
}

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// resolveName turns a name-or-ARN reference to an ECS resource of kind (e.g.
// "cluster") into its name. ok is false when ref is an ARN of another kind,
// another tenancy, or malformed; a plain name is returned as is.
func resolveName(ref, kind, account, region string) (string, bool) {
	if !strings.HasPrefix(ref, "arn:") {
		return ref, true
	}
	a, ok := ParseARN(ref)
	if !ok || !isECSARNOf(a, account, region) {
		return "", false
	}
	name, found := strings.CutPrefix(a.Resource, kind+"/")
	if !found || name == "" {
		return "", false
	}
	return name, true
}

// missing is the MISSING failure for a reference that names nothing: the
// reference itself when it is an ARN, else the ARN it would have in the
// caller's tenancy under prefix (e.g. "cluster/", "task/<cluster>/").
func missing(ref, prefix string, c *awsapi.Caller) Failure {
	arn := ref
	if !isARN(ref) {
		arn = ecsARN(c.Region, c.Account, prefix+ref)
	}
	return Failure{Arn: ptr(arn), Reason: ptr("MISSING")}
}

// scopedID resolves a reference to a resource that lives in a cluster (a
// task, a container instance): a bare id, or an ARN in the long form
// kind/cluster/id or the old short form kind/id. ok is false for an ARN of
// another kind, tenancy or cluster.
func scopedID(ref, kind, cluster string, c *awsapi.Caller) (string, bool) {
	if !strings.HasPrefix(ref, "arn:") {
		return ref, true
	}
	p, ok := ParseARN(ref)
	if !ok || p.Service != "ecs" || p.Account != c.Account || p.Region != c.Region {
		return "", false
	}
	rest, found := strings.CutPrefix(p.Resource, kind+"/")
	if !found {
		return "", false
	}
	if cl, id, long := strings.Cut(rest, "/"); long {
		return id, cl == cluster
	}
	return rest, true
}
