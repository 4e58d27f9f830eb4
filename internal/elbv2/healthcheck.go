package elbv2

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
)

// hcInput is the health-check part of CreateTargetGroup and
// ModifyTargetGroup.
type hcInput struct {
	Enabled   *bool
	Protocol  *string
	Port      *string
	Path      *string
	Interval  *int32
	Timeout   *int32
	Healthy   *int32
	Unhealthy *int32
	Matcher   *matcher
}

func httpCheck(proto string) bool { return proto == "HTTP" || proto == "HTTPS" }

// defaultHealthCheck is AWS's health check for a new target group of
// protocol with health checks over hcProto: for HTTP and HTTPS groups
// (ALB) interval 30 s, timeout 5 s, healthy 5, unhealthy 2, path / and
// matcher 200; for TCP groups (NLB) interval 30 s, timeout 10 s (6 s for
// HTTP checks), healthy 5, unhealthy 2, and for HTTP checks path / and
// matcher 200-399.
func defaultHealthCheck(protocol, hcProto string) hcDoc {
	h := hcDoc{Enabled: true, Protocol: hcProto, Port: "traffic-port", Interval: 30, Timeout: 5, Healthy: 5, Unhealthy: 2}
	if httpCheck(protocol) {
		h.Path, h.Matcher = "/", "200"
		return h
	}
	h.Timeout = 10
	if httpCheck(hcProto) {
		h.Path, h.Matcher = "/", "200-399"
		if hcProto == "HTTP" {
			h.Timeout = 6
		}
	}
	return h
}

// healthCheck returns cur (the target group's health check, or zero for a
// new group) with in applied and checked. protocol and targetType are the
// target group's.
func healthCheck(cur hcDoc, protocol, targetType string, in hcInput) (hcDoc, *awsapi.Error) {
	creating := cur.Protocol == ""
	hcProto := cur.Protocol
	if in.Protocol != nil {
		hcProto = *in.Protocol
	}
	if hcProto == "" {
		hcProto = protocol
	}
	switch hcProto {
	case "HTTP", "HTTPS", "TCP":
	case "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC":
		return hcDoc{}, validationError("Health check protocol '%s' is not supported", hcProto)
	default:
		return hcDoc{}, validationError("1 validation error detected: Value '%s' at 'healthCheckProtocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE]", hcProto)
	}
	if httpCheck(protocol) && hcProto == "TCP" {
		return hcDoc{}, validationError("Health check protocol 'TCP' is not supported for target groups with the '%s' protocol", protocol)
	}
	h := cur
	if creating || hcProto != cur.Protocol {
		// A new group, or a new kind of check: start from AWS's defaults for
		// it, keeping what the group already had that still applies.
		d := defaultHealthCheck(protocol, hcProto)
		if !creating {
			d.Enabled, d.Port, d.Interval, d.Healthy, d.Unhealthy = cur.Enabled, cur.Port, cur.Interval, cur.Healthy, cur.Unhealthy
			if httpCheck(hcProto) && httpCheck(cur.Protocol) {
				d.Path, d.Matcher, d.Timeout = cur.Path, cur.Matcher, cur.Timeout
			}
		}
		h = d
	}
	if in.Enabled != nil {
		if !*in.Enabled {
			return hcDoc{}, validationError("Health checks cannot be disabled for target groups with target type '%s'", targetType)
		}
		h.Enabled = true
	}
	if in.Port != nil {
		p := *in.Port
		if n, err := strconv.Atoi(p); p != "traffic-port" && (err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p) {
			return hcDoc{}, validationError("Health check port '%s' is not valid: it must be 'traffic-port' or a port from 1 to 65535", clip(p, 64))
		}
		h.Port = p
	}
	if in.Path != nil {
		if !httpCheck(hcProto) {
			return hcDoc{}, validationError("A health check path can be specified only for HTTP and HTTPS health checks")
		}
		p := *in.Path
		if p == "" || p[0] != '/' || len(p) > 1024 {
			return hcDoc{}, validationError("Health check path '%s' is not valid: it must begin with '/' and be at most 1024 characters", clip(p, 64))
		}
		h.Path = p
	}
	ranges := []struct {
		v      *int32
		dst    *int32
		member string
		lo, hi int32
	}{
		{in.Interval, &h.Interval, "healthCheckIntervalSeconds", 5, 300},
		{in.Timeout, &h.Timeout, "healthCheckTimeoutSeconds", 2, 120},
		{in.Healthy, &h.Healthy, "healthyThresholdCount", 2, 10},
		{in.Unhealthy, &h.Unhealthy, "unhealthyThresholdCount", 2, 10},
	}
	for _, r := range ranges {
		if r.v == nil {
			continue
		}
		if *r.v < r.lo {
			return hcDoc{}, validationError("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", *r.v, r.member, r.lo)
		}
		if *r.v > r.hi {
			return hcDoc{}, validationError("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *r.v, r.member, r.hi)
		}
		*r.dst = *r.v
	}
	if h.Interval <= h.Timeout {
		return hcDoc{}, validationError("Health check interval must be greater than the timeout.")
	}
	if in.Matcher != nil {
		if in.Matcher.GrpcCode != nil {
			return hcDoc{}, apiError("InvalidConfigurationRequest", "Berth's load balancers do not support gRPC health checks; specify Matcher.HttpCode")
		}
		if in.Matcher.HTTPCode == nil {
			return hcDoc{}, required("matcher.httpCode")
		}
		if !httpCheck(hcProto) {
			return hcDoc{}, validationError("A health check matcher can be specified only for HTTP and HTTPS health checks")
		}
		hi := 499
		if !httpCheck(protocol) {
			hi = 599
		}
		if err := parseMatcher(*in.Matcher.HTTPCode, 200, hi); err != nil {
			return hcDoc{}, validationError("Health check matcher HTTP code '%s' is not valid: %v", clip(*in.Matcher.HTTPCode, 64), err)
		}
		h.Matcher = *in.Matcher.HTTPCode
	}
	if !httpCheck(hcProto) {
		h.Path, h.Matcher = "", ""
	}
	return h, nil
}

// parseMatcher checks an HTTP code matcher: codes and ranges separated by
// commas ("200", "200,202", "200-299"), every code from lo to hi.
func parseMatcher(s string, lo, hi int) error {
	if s == "" {
		return fmt.Errorf("it is empty")
	}
	for part := range strings.SplitSeq(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, err := matcherCode(from, lo, hi)
		if err != nil {
			return err
		}
		if !isRange {
			continue
		}
		b, err := matcherCode(to, lo, hi)
		if err != nil {
			return err
		}
		if b < a {
			return fmt.Errorf("the range %s is empty", part)
		}
	}
	return nil
}

func matcherCode(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 3 {
		return 0, fmt.Errorf("'%s' is not an HTTP code", clip(s, 16))
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("codes must be from %d to %d", lo, hi)
	}
	return n, nil
}
