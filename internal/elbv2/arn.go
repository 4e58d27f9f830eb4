package elbv2

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/berthhq/berth/internal/state"
)

// ns is the document namespace of the package.
const ns = "elbv2"

// Resource kinds, as they appear in ARNs.
const (
	kindLB       = "loadbalancer"
	kindTG       = "targetgroup"
	kindListener = "listener"
	kindRule     = "listener-rule"
)

// Load balancer types and their ARN segments.
const (
	typeApplication = "application"
	typeNetwork     = "network"
)

func typeSegment(lbType string) string {
	if lbType == typeNetwork {
		return "net"
	}
	return "app"
}

func typeOfSegment(seg string) string {
	switch seg {
	case "app":
		return typeApplication
	case "net":
		return typeNetwork
	}
	return ""
}

// arnRef is a parsed ELBv2 ARN.
//
//	arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app|net/<name>/<id>
//	arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>
//	arn:aws:elasticloadbalancing:<region>:<account>:listener/app|net/<lb>/<lbid>/<id>
//	arn:aws:elasticloadbalancing:<region>:<account>:listener-rule/app|net/<lb>/<lbid>/<listenerid>/<id>
type arnRef struct {
	Region, Account string
	Kind            string
	LBType          string // application or network; not for target groups
	Name, ID        string // load balancer or target group
	ListenerID      string // listeners and rules
	RuleID          string // rules
}

const arnPrefix = "arn:aws:elasticloadbalancing:"

// parseARN parses an ELBv2 ARN; ok is false for anything else.
func parseARN(s string) (arnRef, bool) {
	rest, ok := strings.CutPrefix(s, arnPrefix)
	if !ok {
		return arnRef{}, false
	}
	region, rest, ok1 := strings.Cut(rest, ":")
	account, res, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || region == "" || !validAccount(account) || strings.Contains(res, ":") {
		return arnRef{}, false
	}
	parts := strings.Split(res, "/")
	r := arnRef{Region: region, Account: account, Kind: parts[0]}
	want := 0
	switch r.Kind {
	case kindTG:
		if len(parts) != 3 {
			return arnRef{}, false
		}
		r.Name, r.ID = parts[1], parts[2]
		if !validName(r.Name) || !validID(r.ID) {
			return arnRef{}, false
		}
		return r, true
	case kindLB:
		want = 4
	case kindListener:
		want = 5
	case kindRule:
		want = 6
	default:
		return arnRef{}, false
	}
	if len(parts) != want {
		return arnRef{}, false
	}
	r.LBType = typeOfSegment(parts[1])
	r.Name, r.ID = parts[2], parts[3]
	if r.LBType == "" || !validName(r.Name) || !validID(r.ID) {
		return arnRef{}, false
	}
	if want >= 5 {
		r.ListenerID = parts[4]
		if !validID(r.ListenerID) {
			return arnRef{}, false
		}
	}
	if want == 6 {
		r.RuleID = parts[5]
		if !validID(r.RuleID) {
			return arnRef{}, false
		}
	}
	return r, true
}

func validAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validName accepts a load balancer or target group name: 1 to 32
// alphanumerics or hyphens, not starting or ending with a hyphen.
func validName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !alnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validID accepts the 16 lowercase hex digits of the ids this package
// makes.
func validID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// newID returns 16 random lowercase hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func base(region, account string) string { return arnPrefix + region + ":" + account + ":" }

func lbARN(region, account, lbType, name, id string) string {
	return base(region, account) + kindLB + "/" + typeSegment(lbType) + "/" + name + "/" + id
}

func tgARN(region, account, name, id string) string {
	return base(region, account) + kindTG + "/" + name + "/" + id
}

func listenerARN(region, account, lbType, lbName, lbID, id string) string {
	return base(region, account) + kindListener + "/" + typeSegment(lbType) + "/" + lbName + "/" + lbID + "/" + id
}

func ruleARN(region, account, lbType, lbName, lbID, listenerID, id string) string {
	return base(region, account) + kindRule + "/" + typeSegment(lbType) + "/" + lbName + "/" + lbID + "/" + listenerID + "/" + id
}

// dnsName is the load balancer's DNS name, <name>-<id>.<region>.elb.amazonaws.com
// (with AWS's internal- prefix for internal load balancers). It resolves
// nowhere special: clients reach listeners on 127.0.0.1:<port>.
func dnsName(name, id, region, scheme string) string {
	s := name + "-" + id + "." + region + ".elb.amazonaws.com"
	if scheme == schemeInternal {
		s = "internal-" + s
	}
	return s
}

// Document keys. Load balancers and target groups are keyed by name, which
// is unique in a tenancy; listeners by their load balancer, so that one
// prefix scan lists a load balancer's listeners.
func lbKey(account, region, name string) string { return state.Key(ns, account, region, "lb", name) }

func lbPrefix(account, region string) string { return state.KeyPrefix(ns, account, region, "lb") }

func tgKey(account, region, name string) string { return state.Key(ns, account, region, "tg", name) }

func tgPrefix(account, region string) string { return state.KeyPrefix(ns, account, region, "tg") }

func listenerKey(account, region, lbName, lbID, id string) string {
	return state.Key(ns, account, region, "listener", lbName, lbID, id)
}

func lbListenersPrefix(account, region, lbName, lbID string) string {
	return state.KeyPrefix(ns, account, region, "listener", lbName, lbID)
}

func listenersPrefix(account, region string) string {
	return state.KeyPrefix(ns, account, region, "listener")
}
