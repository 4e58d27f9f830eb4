package elbv2

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
)

// attrSpec is one attribute AWS knows: its default and what values it
// takes. check returns why a value is not valid, or "".
type attrSpec struct {
	def   string
	check func(v string) string
}

func boolAttr(def bool) attrSpec {
	return attrSpec{def: strconv.FormatBool(def), check: func(v string) string {
		if v != "true" && v != "false" {
			return "it must be true or false"
		}
		return ""
	}}
}

func intAttr(def, lo, hi int) attrSpec {
	return attrSpec{def: strconv.Itoa(def), check: func(v string) string {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Sprintf("it must be an integer from %d to %d", lo, hi)
		}
		return ""
	}}
}

func enumAttr(def string, values ...string) attrSpec {
	return attrSpec{def: def, check: func(v string) string {
		if slices.Contains(values, v) {
			return ""
		}
		return "it must be one of " + strings.Join(values, ", ")
	}}
}

// partialEnum is an attribute of which Berth supports only some of AWS's
// values; the others are refused with a message that says so.
func partialEnum(def string, supported, aws []string) attrSpec {
	return attrSpec{def: def, check: func(v string) string {
		switch {
		case slices.Contains(supported, v):
			return ""
		case slices.Contains(aws, v):
			return "Berth's load balancers support only " + strings.Join(supported, ", ")
		}
		return "it must be one of " + strings.Join(aws, ", ")
	}}
}

// stringAttr takes any value up to 1024 characters.
func stringAttr(def string) attrSpec {
	return attrSpec{def: def, check: func(v string) string {
		if len(v) > 1024 {
			return "it must be at most 1024 characters"
		}
		return ""
	}}
}

// countOrOff takes "off" or an integer from 1 (target group health
// thresholds).
func countOrOff(def string, hi int) attrSpec {
	return attrSpec{def: def, check: func(v string) string {
		if v == "off" {
			return ""
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > hi {
			return fmt.Sprintf("it must be off or an integer from 1 to %d", hi)
		}
		return ""
	}}
}

// Load balancer attributes, with AWS's defaults, per type.
var (
	lbAttrsCommon = map[string]attrSpec{
		"access_logs.s3.enabled":      boolAttr(false),
		"access_logs.s3.bucket":       stringAttr(""),
		"access_logs.s3.prefix":       stringAttr(""),
		"deletion_protection.enabled": boolAttr(false),
		"ipv6.deny_all_igw_traffic":   boolAttr(false),
		"zonal_shift.config.enabled":  boolAttr(false),
	}
	lbAttrsApplication = map[string]attrSpec{
		"idle_timeout.timeout_seconds":                             intAttr(60, 1, 4000),
		"client_keep_alive.seconds":                                intAttr(3600, 60, 604800),
		"connection_logs.s3.enabled":                               boolAttr(false),
		"connection_logs.s3.bucket":                                stringAttr(""),
		"connection_logs.s3.prefix":                                stringAttr(""),
		"health_check_logs.s3.enabled":                             boolAttr(false),
		"health_check_logs.s3.bucket":                              stringAttr(""),
		"health_check_logs.s3.prefix":                              stringAttr(""),
		"load_balancing.cross_zone.enabled":                        partialEnum("true", []string{"true"}, []string{"true", "false"}),
		"routing.http.desync_mitigation_mode":                      enumAttr("defensive", "monitor", "defensive", "strictest"),
		"routing.http.drop_invalid_header_fields.enabled":          boolAttr(false),
		"routing.http.preserve_host_header.enabled":                boolAttr(false),
		"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": boolAttr(false),
		"routing.http.xff_client_port.enabled":                     boolAttr(false),
		"routing.http.xff_header_processing.mode":                  enumAttr("append", "append", "preserve", "remove"),
		"routing.http2.enabled":                                    boolAttr(true),
		"waf.fail_open.enabled":                                    boolAttr(false),
	}
	lbAttrsNetwork = map[string]attrSpec{
		"load_balancing.cross_zone.enabled":      boolAttr(false),
		"dns_record.client_routing_policy":       enumAttr("any_availability_zone", "availability_zone_affinity", "partial_availability_zone_affinity", "any_availability_zone"),
		"secondary_ips.auto_assigned.per_subnet": intAttr(0, 0, 7),
	}
)

func lbAttrSpecs(lbType string) map[string]attrSpec {
	m := map[string]attrSpec{}
	for k, v := range lbAttrsCommon {
		m[k] = v
	}
	extra := lbAttrsApplication
	if lbType == typeNetwork {
		extra = lbAttrsNetwork
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// Target group attributes, with AWS's defaults, for HTTP/HTTPS (ALB) and
// TCP (NLB) target groups.
var (
	tgAttrsCommon = map[string]attrSpec{
		"deregistration_delay.timeout_seconds":                                           intAttr(300, 0, 3600),
		"stickiness.enabled":                                                             boolAttr(false),
		"load_balancing.cross_zone.enabled":                                              enumAttr("use_load_balancer_configuration", "true", "false", "use_load_balancer_configuration"),
		"target_group_health.dns_failover.minimum_healthy_targets.count":                 countOrOff("1", 1000),
		"target_group_health.dns_failover.minimum_healthy_targets.percentage":            countOrOff("off", 100),
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      intAttr(1, 1, 1000),
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": countOrOff("off", 100),
	}
	tgAttrsHTTP = map[string]attrSpec{
		// Berth's data plane does lb_cookie stickiness only.
		"stickiness.type":                             partialEnum("lb_cookie", []string{"lb_cookie"}, []string{"lb_cookie", "app_cookie"}),
		"stickiness.lb_cookie.duration_seconds":       intAttr(86400, 1, 604800),
		"stickiness.app_cookie.cookie_name":           stringAttr(""),
		"stickiness.app_cookie.duration_seconds":      intAttr(86400, 1, 604800),
		"load_balancing.algorithm.type":               partialEnum("round_robin", []string{"round_robin", "least_outstanding_requests"}, []string{"round_robin", "least_outstanding_requests", "weighted_random"}),
		"load_balancing.algorithm.anomaly_mitigation": partialEnum("off", []string{"off"}, []string{"on", "off"}),
		"slow_start.duration_seconds": {def: "0", check: func(v string) string {
			n, err := strconv.Atoi(v)
			if err != nil || n != 0 && (n < 30 || n > 900) {
				return "it must be 0 or an integer from 30 to 900"
			}
			return ""
		}},
	}
	tgAttrsTCP = map[string]attrSpec{
		"stickiness.type": partialEnum("source_ip", []string{"source_ip"}, []string{"source_ip"}),
		"deregistration_delay.connection_termination.enabled":          boolAttr(false),
		"proxy_protocol_v2.enabled":                                    partialEnum("false", []string{"false"}, []string{"true", "false"}),
		"preserve_client_ip.enabled":                                   boolAttr(true),
		"target_health_state.unhealthy.connection_termination.enabled": boolAttr(true),
		"target_health_state.unhealthy.draining_interval_seconds":      intAttr(0, 0, 360000),
	}
)

func tgAttrSpecs(t *tgDoc) map[string]attrSpec {
	m := map[string]attrSpec{}
	for k, v := range tgAttrsCommon {
		m[k] = v
	}
	extra := tgAttrsHTTP
	if t.Protocol == "TCP" {
		extra = tgAttrsTCP
	}
	for k, v := range extra {
		m[k] = v
	}
	if t.Protocol == "TCP" && t.TargetType == "ip" {
		// AWS turns client IP preservation off for IP targets of TCP groups.
		m["preserve_client_ip.enabled"] = boolAttr(false)
	}
	return m
}

// Listener attributes, with AWS's defaults, per load balancer type.
var (
	listenerAttrsNetwork = map[string]attrSpec{
		"tcp.idle_timeout.seconds": intAttr(350, 60, 6000),
	}
	listenerAttrsApplication = map[string]attrSpec{
		"routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name": stringAttr("X-Amzn-Mtls-Clientcert-Serial-Number"),
		"routing.http.request.x_amzn_mtls_clientcert_issuer.header_name":        stringAttr("X-Amzn-Mtls-Clientcert-Issuer"),
		"routing.http.request.x_amzn_mtls_clientcert_subject.header_name":       stringAttr("X-Amzn-Mtls-Clientcert-Subject"),
		"routing.http.request.x_amzn_mtls_clientcert_validity.header_name":      stringAttr("X-Amzn-Mtls-Clientcert-Validity"),
		"routing.http.request.x_amzn_mtls_clientcert_leaf.header_name":          stringAttr("X-Amzn-Mtls-Clientcert-Leaf"),
		"routing.http.request.x_amzn_mtls_clientcert.header_name":               stringAttr("X-Amzn-Mtls-Clientcert"),
		"routing.http.request.x_amzn_tls_version.header_name":                   stringAttr("X-Amzn-Tls-Version"),
		"routing.http.request.x_amzn_tls_cipher_suite.header_name":              stringAttr("X-Amzn-Tls-Cipher-Suite"),
		"routing.http.response.server.enabled":                                  boolAttr(true),
		"routing.http.response.strict_transport_security.header_value":          stringAttr(""),
		"routing.http.response.access_control_allow_origin.header_value":        stringAttr(""),
		"routing.http.response.access_control_allow_methods.header_value":       stringAttr(""),
		"routing.http.response.access_control_allow_headers.header_value":       stringAttr(""),
		"routing.http.response.access_control_allow_credentials.header_value":   stringAttr(""),
		"routing.http.response.access_control_expose_headers.header_value":      stringAttr(""),
		"routing.http.response.access_control_max_age.header_value":             stringAttr(""),
		"routing.http.response.content_security_policy.header_value":            stringAttr(""),
		"routing.http.response.x_content_type_options.header_value":             stringAttr(""),
		"routing.http.response.x_frame_options.header_value":                    stringAttr(""),
	}
)

func listenerAttrSpecs(lbType string) map[string]attrSpec {
	if lbType == typeNetwork {
		return listenerAttrsNetwork
	}
	return listenerAttrsApplication
}

// withDefaults returns every attribute of specs with its stored value or
// its default.
func withDefaults(specs map[string]attrSpec, set map[string]string) map[string]string {
	m := make(map[string]string, len(specs))
	for k, s := range specs {
		m[k] = s.def
		if v, ok := set[k]; ok {
			m[k] = v
		}
	}
	return m
}

// maxAttributes is how many attributes one Modify call takes.
const maxAttributes = 20

// applyAttributes checks the attributes of a Modify call against specs and
// returns the stored set with them applied. what names the resource kind in
// messages ("Load balancer", "Target group", "Listener"); other is the
// spec of the other kind of load balancer, to say a known key does not
// apply rather than that it is unknown.
func applyAttributes(what string, specs, other map[string]attrSpec, otherName string, stored map[string]string, attrs []attribute) (map[string]string, *awsapi.Error) {
	if attrs == nil {
		return nil, required("attributes")
	}
	if len(attrs) > maxAttributes {
		return nil, validationError("1 validation error detected: Value at 'attributes' failed to satisfy constraint: Member must have length less than or equal to %d", maxAttributes)
	}
	out := cloneMap(stored)
	if out == nil {
		out = map[string]string{}
	}
	for i, at := range attrs {
		if at.Key == nil {
			return nil, required(fmt.Sprintf("attributes.%d.member.key", i+1))
		}
		k, v := *at.Key, deref(at.Value)
		spec, ok := specs[k]
		if !ok {
			if _, known := other[k]; known && otherName != "" {
				return nil, validationError("%s attribute key '%s' is not supported on %s", what, k, otherName)
			}
			return nil, validationError("%s attribute key '%s' is not recognized", what, k)
		}
		if why := spec.check(v); why != "" {
			return nil, validationError("%s attribute '%s' value '%s' is not valid: %s", what, k, clip(v, 64), why)
		}
		out[k] = v
	}
	return out, nil
}
