package elbv2

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/berthhq/berth/internal/state"
)

// The stored documents. Their JSON is the package's schema in the state
// store; fields are only ever added.

// lbDoc is a load balancer. Attributes hold only what was set; defaults
// are added when read.
type lbDoc struct {
	Account        string            `json:"account"`
	Region         string            `json:"region"`
	Name           string            `json:"name"`
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	Scheme         string            `json:"scheme"`
	IPAddressType  string            `json:"ipAddressType"`
	VPCID          string            `json:"vpcId"`
	State          string            `json:"state"`
	Created        time.Time         `json:"created"`
	Zones          []zoneDoc         `json:"zones,omitempty"`
	SecurityGroups []string          `json:"securityGroups,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`

	index uint64 // the document's ModifyIndex when read
}

type zoneDoc struct {
	Zone               string `json:"zone"`
	SubnetID           string `json:"subnetId,omitempty"`
	AllocationID       string `json:"allocationId,omitempty"`
	PrivateIPv4Address string `json:"privateIPv4Address,omitempty"`
	IPv6Address        string `json:"ipv6Address,omitempty"`
}

func (l *lbDoc) arn() string { return lbARN(l.Region, l.Account, l.Type, l.Name, l.ID) }
func (l *lbDoc) key() string { return lbKey(l.Account, l.Region, l.Name) }

// tgDoc is a target group with its registered targets.
type tgDoc struct {
	Account         string            `json:"account"`
	Region          string            `json:"region"`
	Name            string            `json:"name"`
	ID              string            `json:"id"`
	Protocol        string            `json:"protocol"`
	ProtocolVersion string            `json:"protocolVersion,omitempty"`
	Port            int32             `json:"port"`
	VPCID           string            `json:"vpcId"`
	TargetType      string            `json:"targetType"`
	IPAddressType   string            `json:"ipAddressType"`
	HealthCheck     hcDoc             `json:"healthCheck"`
	Attributes      map[string]string `json:"attributes,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Targets         []targetDoc       `json:"targets,omitempty"`

	index uint64
}

type hcDoc struct {
	Enabled   bool   `json:"enabled"`
	Protocol  string `json:"protocol"`
	Port      string `json:"port"`
	Path      string `json:"path,omitempty"`
	Interval  int32  `json:"interval"`
	Timeout   int32  `json:"timeout"`
	Healthy   int32  `json:"healthy"`
	Unhealthy int32  `json:"unhealthy"`
	Matcher   string `json:"matcher,omitempty"` // HTTP codes
}

// targetDoc is a registered target: an instance id or an IP, and the port
// it receives traffic on.
type targetDoc struct {
	ID   string `json:"id"`
	Port int32  `json:"port"`
	AZ   string `json:"az,omitempty"`
}

func (t *tgDoc) arn() string { return tgARN(t.Region, t.Account, t.Name, t.ID) }
func (t *tgDoc) key() string { return tgKey(t.Account, t.Region, t.Name) }

// listenerDoc is a listener with its rules: the default rule, whose actions
// are the listener's default actions, and the others in priority order.
// Keeping them in one document makes a priority check and its write one
// atomic step.
type listenerDoc struct {
	Account         string            `json:"account"`
	Region          string            `json:"region"`
	ID              string            `json:"id"`
	LBName          string            `json:"lbName"`
	LBID            string            `json:"lbId"`
	LBType          string            `json:"lbType"`
	Protocol        string            `json:"protocol"`
	Port            int32             `json:"port"`
	SSLPolicy       string            `json:"sslPolicy,omitempty"`
	Certificates    []string          `json:"certificates,omitempty"`
	ALPNPolicy      []string          `json:"alpnPolicy,omitempty"`
	DefaultActions  []actionDoc       `json:"defaultActions"`
	DefaultRuleID   string            `json:"defaultRuleId"`
	DefaultRuleTags map[string]string `json:"defaultRuleTags,omitempty"`
	Attributes      map[string]string `json:"attributes,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Rules           []ruleDoc         `json:"rules,omitempty"`

	index uint64
}

func (l *listenerDoc) arn() string {
	return listenerARN(l.Region, l.Account, l.LBType, l.LBName, l.LBID, l.ID)
}

func (l *listenerDoc) lbARN() string { return lbARN(l.Region, l.Account, l.LBType, l.LBName, l.LBID) }

func (l *listenerDoc) key() string { return listenerKey(l.Account, l.Region, l.LBName, l.LBID, l.ID) }

func (l *listenerDoc) ruleARN(id string) string {
	return ruleARN(l.Region, l.Account, l.LBType, l.LBName, l.LBID, l.ID, id)
}

// rule returns the index of the non-default rule id, or -1.
func (l *listenerDoc) rule(id string) int {
	return slices.IndexFunc(l.Rules, func(r ruleDoc) bool { return r.ID == id })
}

func (l *listenerDoc) sortRules() {
	slices.SortFunc(l.Rules, func(a, b ruleDoc) int { return int(a.Priority) - int(b.Priority) })
}

// targetGroups returns the ARNs of the target groups the listener's rules
// forward to, without repeats.
func (l *listenerDoc) targetGroups() []string {
	var out []string
	add := func(acts []actionDoc) {
		for _, a := range acts {
			for _, w := range a.TargetGroups {
				if !slices.Contains(out, w.ARN) {
					out = append(out, w.ARN)
				}
			}
		}
	}
	add(l.DefaultActions)
	for _, r := range l.Rules {
		add(r.Actions)
	}
	return out
}

type ruleDoc struct {
	ID         string            `json:"id"`
	Priority   int32             `json:"priority"`
	Conditions []conditionDoc    `json:"conditions,omitempty"`
	Actions    []actionDoc       `json:"actions"`
	Tags       map[string]string `json:"tags,omitempty"`
}

// actionDoc is a rule action. A forward action always lists its target
// groups in TargetGroups; SingleARN records that the client named one
// with TargetGroupArn.
type actionDoc struct {
	Type         string         `json:"type"`
	Order        int32          `json:"order"`
	TargetGroups []weightedDoc  `json:"targetGroups,omitempty"`
	SingleARN    bool           `json:"singleArn,omitempty"`
	Stickiness   *stickinessDoc `json:"stickiness,omitempty"`
	Redirect     *redirectDoc   `json:"redirect,omitempty"`
	Fixed        *fixedDoc      `json:"fixed,omitempty"`
}

type weightedDoc struct {
	ARN    string `json:"arn"`
	Weight int32  `json:"weight"`
}

type stickinessDoc struct {
	Enabled  bool  `json:"enabled"`
	Duration int32 `json:"duration,omitempty"`
}

type redirectDoc struct {
	Protocol   string `json:"protocol"`
	Port       string `json:"port"`
	Host       string `json:"host"`
	Path       string `json:"path"`
	Query      string `json:"query"`
	StatusCode string `json:"statusCode"`
}

type fixedDoc struct {
	StatusCode  string `json:"statusCode"`
	ContentType string `json:"contentType,omitempty"`
	MessageBody string `json:"messageBody,omitempty"`
}

type conditionDoc struct {
	Field        string   `json:"field"`
	Values       []string `json:"values,omitempty"`
	HeaderName   string   `json:"headerName,omitempty"`
	QueryStrings []kvDoc  `json:"queryStrings,omitempty"`
}

type kvDoc struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
}

// decode reads a stored document into v, recording its index. A document
// that does not decode is left out (and logged): it cannot have been
// written by this package.
func decode[T any](a *API, d *state.Doc, setIndex func(*T, uint64)) *T {
	if d == nil {
		return nil
	}
	v := new(T)
	if err := json.Unmarshal(d.Value, v); err != nil {
		a.log.Error("undecodable document", "key", d.ID, "err", err)
		return nil
	}
	setIndex(v, d.ModifyIndex)
	return v
}

func lbFrom(a *API, d *state.Doc) *lbDoc {
	return decode(a, d, func(v *lbDoc, i uint64) { v.index = i })
}

func tgFrom(a *API, d *state.Doc) *tgDoc {
	return decode(a, d, func(v *tgDoc, i uint64) { v.index = i })
}

func listenerFrom(a *API, d *state.Doc) *listenerDoc {
	return decode(a, d, func(v *listenerDoc, i uint64) { v.index = i })
}

// view is one snapshot read through the package's types, for one tenancy.
type view struct {
	a               *API
	snap            *state.Snapshot
	account, region string
}

func (a *API) view(account, region string) *view {
	return &view{a: a, snap: a.store.Snapshot(), account: account, region: region}
}

// lbByName returns the tenancy's load balancer name, or nil.
func (v *view) lbByName(name string) *lbDoc {
	return lbFrom(v.a, v.snap.Doc(lbKey(v.account, v.region, name)))
}

// lbByARN returns the load balancer arn names in this tenancy, or nil.
func (v *view) lbByARN(arn string) *lbDoc {
	r, ok := parseARN(arn)
	if !ok || r.Kind != kindLB || r.Account != v.account || r.Region != v.region {
		return nil
	}
	l := v.lbByName(r.Name)
	if l == nil || l.ID != r.ID || l.Type != r.LBType {
		return nil
	}
	return l
}

func (v *view) lbs() []*lbDoc {
	var out []*lbDoc
	for d := range v.snap.Docs(nil, lbPrefix(v.account, v.region), "") {
		if l := lbFrom(v.a, d); l != nil {
			out = append(out, l)
		}
	}
	return out
}

func (v *view) tgByName(name string) *tgDoc {
	return tgFrom(v.a, v.snap.Doc(tgKey(v.account, v.region, name)))
}

func (v *view) tgByARN(arn string) *tgDoc {
	r, ok := parseARN(arn)
	if !ok || r.Kind != kindTG || r.Account != v.account || r.Region != v.region {
		return nil
	}
	t := v.tgByName(r.Name)
	if t == nil || t.ID != r.ID {
		return nil
	}
	return t
}

func (v *view) tgs() []*tgDoc {
	var out []*tgDoc
	for d := range v.snap.Docs(nil, tgPrefix(v.account, v.region), "") {
		if t := tgFrom(v.a, d); t != nil {
			out = append(out, t)
		}
	}
	return out
}

func (v *view) listenerByARN(arn string) *listenerDoc {
	r, ok := parseARN(arn)
	if !ok || r.Kind != kindListener || r.Account != v.account || r.Region != v.region {
		return nil
	}
	return v.listenerOf(r)
}

// listenerOf returns the listener a listener or rule ARN names, or nil.
func (v *view) listenerOf(r arnRef) *listenerDoc {
	l := listenerFrom(v.a, v.snap.Doc(listenerKey(v.account, v.region, r.Name, r.ID, r.ListenerID)))
	if l == nil || l.LBType != r.LBType {
		return nil
	}
	return l
}

// ruleByARN returns the listener of the rule arn names and the rule's
// index in its Rules, -1 for the default rule; l is nil when there is no
// such rule.
func (v *view) ruleByARN(arn string) (l *listenerDoc, i int) {
	r, ok := parseARN(arn)
	if !ok || r.Kind != kindRule || r.Account != v.account || r.Region != v.region {
		return nil, 0
	}
	l = v.listenerOf(r)
	if l == nil {
		return nil, 0
	}
	if r.RuleID == l.DefaultRuleID {
		return l, -1
	}
	if i = l.rule(r.RuleID); i < 0 {
		return nil, 0
	}
	return l, i
}

func (v *view) listenersOf(l *lbDoc) []*listenerDoc {
	var out []*listenerDoc
	for d := range v.snap.Docs(nil, lbListenersPrefix(v.account, v.region, l.Name, l.ID), "") {
		if ld := listenerFrom(v.a, d); ld != nil {
			out = append(out, ld)
		}
	}
	return out
}

func (v *view) listeners() []*listenerDoc {
	var out []*listenerDoc
	for d := range v.snap.Docs(nil, listenersPrefix(v.account, v.region), "") {
		if ld := listenerFrom(v.a, d); ld != nil {
			out = append(out, ld)
		}
	}
	return out
}

// tgUsers returns the listeners whose rules forward to the target group
// arn.
func (v *view) tgUsers(arn string) []*listenerDoc {
	var out []*listenerDoc
	for _, l := range v.listeners() {
		if slices.Contains(l.targetGroups(), arn) {
			out = append(out, l)
		}
	}
	return out
}

// tgLoadBalancers returns the ARNs of the load balancers whose listeners
// forward to the target group arn, in order and without repeats.
func (v *view) tgLoadBalancers(arn string) []string {
	out := []string{}
	for _, l := range v.tgUsers(arn) {
		if a := l.lbARN(); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
