package lb

import (
	"cmp"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

// Condition fields.
const (
	FieldHostHeader        = "host-header"
	FieldPathPattern       = "path-pattern"
	FieldHTTPHeader        = "http-header"
	FieldHTTPRequestMethod = "http-request-method"
	FieldQueryString       = "query-string"
	FieldSourceIP          = "source-ip"
)

// Action types.
const (
	ActionForward       = "forward"
	ActionRedirect      = "redirect"
	ActionFixedResponse = "fixed-response"
)

// Reasons carried by the errors.Error values Bind returns, for the API
// package to pick its AWS error name.
const (
	ReasonUnsupportedProtocol = "unsupported-protocol"
	ReasonInvalidRule         = "invalid-rule"
	ReasonPortUnavailable     = "port-unavailable"
	ReasonStopped             = "stopped"
)

func invalidRule(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalidArgument, "listener", format, args...).WithReason(ReasonInvalidRule)
}

// compiledRule is a rule ready to match requests.
type compiledRule struct {
	arn   string
	conds []condition
	act   *terminal
}

// condition kinds.
const (
	condHost = iota + 1
	condPath
	condHeader
	condMethod
	condQuery
	condSourceIP
)

type condition struct {
	kind     int
	globs    []glob // host, path, header values
	header   string // canonical header name
	methods  []string
	prefixes []netip.Prefix
	query    []queryMatch
}

type queryMatch struct {
	anyKey bool
	key    glob
	value  glob
}

// terminal action kinds.
const (
	actForward = iota + 1
	actRedirect
	actFixed
)

type terminal struct {
	kind  int
	fwd   *forwardAction
	redir *redirectAction
	fixed *fixedAction
}

// forwardAction picks one of its weighted target groups per request.
type forwardAction struct {
	groups  []*group
	weights []int
	total   int
	sticky  bool
	stickyD time.Duration
	rr      atomic.Uint64
}

type redirectAction struct {
	protocol, port, host, path, query string
	portLiteral                       int // a numeric Port, before the offset; 0 when Port has placeholders
	status                            int
}

type fixedAction struct {
	status      int
	contentType string
	body        []byte
}

// compileRules orders rules as ALB evaluates them (priority ascending, the
// default last) and compiles their conditions and actions. resolve maps a
// target group ARN to its runtime group.
func compileRules(rules []Rule, resolve func(string) *group) ([]compiledRule, error) {
	var def *Rule
	var rest []Rule
	for i := range rules {
		if rules[i].IsDefault {
			if def != nil {
				return nil, invalidRule("listener has more than one default rule")
			}
			def = &rules[i]
			continue
		}
		rest = append(rest, rules[i])
	}
	if def == nil {
		return nil, invalidRule("listener has no default rule")
	}
	slices.SortStableFunc(rest, func(a, b Rule) int { return cmp.Compare(a.Priority, b.Priority) })
	for i := 1; i < len(rest); i++ {
		if rest[i].Priority == rest[i-1].Priority {
			return nil, invalidRule("rules %s and %s have the same priority %d", rest[i-1].ARN, rest[i].ARN, rest[i].Priority)
		}
	}
	ordered := append(rest, *def)
	out := make([]compiledRule, 0, len(ordered))
	for _, r := range ordered {
		cr := compiledRule{arn: r.ARN}
		if r.IsDefault && len(r.Conditions) > 0 {
			return nil, invalidRule("the default rule cannot have conditions")
		}
		for _, c := range r.Conditions {
			cc, err := compileCondition(c)
			if err != nil {
				return nil, err
			}
			cr.conds = append(cr.conds, cc)
		}
		act, err := compileActions(r.Actions, resolve)
		if err != nil {
			return nil, err
		}
		cr.act = act
		out = append(out, cr)
	}
	return out, nil
}

func compileCondition(c Condition) (condition, error) {
	cc := condition{}
	needValues := func() error {
		if len(c.Values) == 0 {
			return invalidRule("condition %s has no values", c.Field)
		}
		return nil
	}
	switch c.Field {
	case FieldHostHeader:
		cc.kind = condHost
		if err := needValues(); err != nil {
			return cc, err
		}
		for _, v := range c.Values {
			cc.globs = append(cc.globs, compileGlob(v, true, false))
		}
	case FieldPathPattern:
		cc.kind = condPath
		if err := needValues(); err != nil {
			return cc, err
		}
		for _, v := range c.Values {
			cc.globs = append(cc.globs, compileGlob(v, false, false))
		}
	case FieldHTTPHeader:
		cc.kind = condHeader
		if c.HTTPHeaderName == "" {
			return cc, invalidRule("http-header condition has no header name")
		}
		if err := needValues(); err != nil {
			return cc, err
		}
		cc.header = http.CanonicalHeaderKey(c.HTTPHeaderName)
		for _, v := range c.Values {
			cc.globs = append(cc.globs, compileGlob(v, true, false))
		}
	case FieldHTTPRequestMethod:
		cc.kind = condMethod
		if err := needValues(); err != nil {
			return cc, err
		}
		cc.methods = slices.Clone(c.Values)
	case FieldQueryString:
		cc.kind = condQuery
		if len(c.QueryStrings) == 0 {
			return cc, invalidRule("query-string condition has no values")
		}
		for _, kv := range c.QueryStrings {
			q := queryMatch{anyKey: kv.Key == "", value: compileGlob(unescapeQuery(kv.Value), true, true)}
			if !q.anyKey {
				q.key = compileGlob(unescapeQuery(kv.Key), true, true)
			}
			cc.query = append(cc.query, q)
		}
	case FieldSourceIP:
		cc.kind = condSourceIP
		if err := needValues(); err != nil {
			return cc, err
		}
		for _, v := range c.Values {
			p, err := parseCIDR(v)
			if err != nil {
				return cc, invalidRule("source-ip value %q is not a CIDR block", v)
			}
			cc.prefixes = append(cc.prefixes, p)
		}
	default:
		return cc, invalidRule("condition field %q is not supported", c.Field)
	}
	return cc, nil
}

// parseCIDR parses a CIDR block; a bare address is taken as one host.
func parseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func unescapeQuery(s string) string {
	if !strings.Contains(s, "%") && !strings.Contains(s, "+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func compileActions(actions []Action, resolve func(string) *group) (*terminal, error) {
	if len(actions) == 0 {
		return nil, invalidRule("rule has no actions")
	}
	sorted := slices.Clone(actions)
	slices.SortStableFunc(sorted, func(a, b Action) int { return cmp.Compare(a.Order, b.Order) })
	if len(sorted) > 1 {
		// authenticate-oidc and authenticate-cognito need HTTPS listeners,
		// which Berth does not serve yet.
		return nil, invalidRule("action type %q before the last action is not supported", sorted[0].Type)
	}
	a := sorted[len(sorted)-1]
	switch a.Type {
	case ActionForward:
		if len(a.TargetGroups) == 0 {
			return nil, invalidRule("forward action has no target group")
		}
		f := &forwardAction{}
		for _, wg := range a.TargetGroups {
			w := wg.Weight
			if len(a.TargetGroups) == 1 && w == 0 {
				w = 1 // a single target group gets everything whatever its weight
			}
			if w < 0 {
				return nil, invalidRule("target group %s has a negative weight", wg.ARN)
			}
			f.groups = append(f.groups, resolve(wg.ARN))
			f.weights = append(f.weights, w)
			f.total += w
		}
		if a.Stickiness != nil && a.Stickiness.Enabled {
			f.sticky = true
			f.stickyD = a.Stickiness.Duration
			if f.stickyD <= 0 {
				f.stickyD = time.Hour
			}
		}
		return &terminal{kind: actForward, fwd: f}, nil
	case ActionRedirect:
		if a.Redirect == nil {
			return nil, invalidRule("redirect action has no redirect configuration")
		}
		return compileRedirect(*a.Redirect)
	case ActionFixedResponse:
		if a.FixedResponse == nil {
			return nil, invalidRule("fixed-response action has no response configuration")
		}
		fr := a.FixedResponse
		code, err := strconv.Atoi(fr.StatusCode)
		if err != nil || code < 200 || code > 599 {
			return nil, invalidRule("fixed-response status code %q is not a 2XX, 4XX or 5XX code", fr.StatusCode)
		}
		ct := fr.ContentType
		if ct == "" {
			ct = "text/plain"
		}
		if !strings.Contains(ct, "charset") {
			ct += "; charset=utf-8"
		}
		return &terminal{kind: actFixed, fixed: &fixedAction{status: code, contentType: ct, body: []byte(fr.MessageBody)}}, nil
	default:
		return nil, invalidRule("action type %q is not supported", a.Type)
	}
}

func compileRedirect(r Redirect) (*terminal, error) {
	ra := &redirectAction{
		protocol: cmp.Or(r.Protocol, "#{protocol}"),
		port:     cmp.Or(r.Port, "#{port}"),
		host:     cmp.Or(r.Host, "#{host}"),
		path:     cmp.Or(r.Path, "/#{path}"),
		// Query is taken as it is: AWS lets it be empty, which drops the
		// request's query string.
		query: r.Query,
	}
	switch r.StatusCode {
	case "HTTP_301":
		ra.status = http.StatusMovedPermanently
	case "HTTP_302":
		ra.status = http.StatusFound
	default:
		return nil, invalidRule("redirect status code %q is not HTTP_301 or HTTP_302", r.StatusCode)
	}
	if n, err := strconv.Atoi(ra.port); err == nil {
		if n < 1 || n > 65535 {
			return nil, invalidRule("redirect port %q is out of range", ra.port)
		}
		ra.portLiteral = n
	}
	if !strings.HasPrefix(ra.path, "/") {
		return nil, invalidRule("redirect path %q must start with /", ra.path)
	}
	return &terminal{kind: actRedirect, redir: ra}, nil
}

// reqInfo is what rules see of one request, from net/http's
// *http.Request or from the HTTP/1.1 fast path's own parse.
type reqInfo struct {
	method     string
	host       string // the Host header, port included
	path       string // decoded
	rawQuery   string
	clientAddr netip.Addr // for source-ip conditions; zero unless needed

	r *http.Request // net/http path
	h *h1Request    // fast path

	query     [][2]string
	queryDone bool
}

func newReqInfo(r *http.Request) reqInfo {
	return reqInfo{method: r.Method, host: r.Host, path: r.URL.Path, rawQuery: r.URL.RawQuery, r: r}
}

// escapedPath is the path as the client sent it.
func (ri *reqInfo) escapedPath() string {
	if ri.r != nil {
		return ri.r.URL.EscapedPath()
	}
	return ri.h.escapedPath
}

// headerValues returns the values of a header by canonical name.
func (ri *reqInfo) headerValues(canon string) []string {
	if canon == "Host" {
		return []string{ri.host}
	}
	if ri.r != nil {
		return ri.r.Header[canon]
	}
	return ri.h.values(canon)
}

// cookie returns the value of the request's cookie name.
func (ri *reqInfo) cookie(name string) (string, bool) {
	if ri.r != nil {
		c, err := ri.r.Cookie(name)
		if err != nil {
			return "", false
		}
		return c.Value, true
	}
	for _, line := range ri.h.values("Cookie") {
		cs, err := http.ParseCookie(line)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if c.Name == name {
				return c.Value, true
			}
		}
	}
	return "", false
}

func (ri *reqInfo) queryPairs() [][2]string {
	if ri.queryDone {
		return ri.query
	}
	ri.queryDone = true
	ri.query = parseQueryPairs(ri.rawQuery)
	return ri.query
}

// parseQueryPairs splits a raw query into decoded key/value pairs in order;
// pairs that do not decode are kept raw rather than dropped.
func parseQueryPairs(raw string) [][2]string {
	var out [][2]string
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out = append(out, [2]string{unescapeQuery(k), unescapeQuery(v)})
	}
	return out
}

func (c *condition) match(ri *reqInfo) bool {
	switch c.kind {
	case condHost:
		h := hostOnly(ri.host)
		for i := range c.globs {
			if c.globs[i].match(h) {
				return true
			}
		}
	case condPath:
		p := ri.path
		for i := range c.globs {
			if c.globs[i].match(p) {
				return true
			}
		}
	case condHeader:
		for _, v := range ri.headerValues(c.header) {
			for i := range c.globs {
				if c.globs[i].match(v) {
					return true
				}
			}
		}
	case condMethod:
		return slices.Contains(c.methods, ri.method)
	case condQuery:
		for _, kv := range ri.queryPairs() {
			for i := range c.query {
				q := &c.query[i]
				if (q.anyKey || q.key.match(kv[0])) && q.value.match(kv[1]) {
					return true
				}
			}
		}
	case condSourceIP:
		if !ri.clientAddr.IsValid() {
			return false
		}
		for _, p := range c.prefixes {
			if p.Contains(ri.clientAddr) {
				return true
			}
		}
	}
	return false
}

// matchRule returns the first rule whose conditions all match.
func matchRule(rules []compiledRule, ri *reqInfo) *compiledRule {
	for i := range rules {
		r := &rules[i]
		ok := true
		for j := range r.conds {
			if !r.conds[j].match(ri) {
				ok = false
				break
			}
		}
		if ok {
			return r
		}
	}
	return nil
}

// hostOnly strips the port from a Host header value.
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		return h[:i]
	}
	return h
}

// clientIP returns the address part of a RemoteAddr "ip:port" string.
func clientIP(remote string) string {
	if i := strings.LastIndexByte(remote, ':'); i >= 0 {
		remote = remote[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(remote, "["), "]")
}

// location builds the Location of a redirect for a request that arrived
// on a listener bound to boundPort; offset is the plane's PortOffset.
func (ra *redirectAction) location(ri *reqInfo, proto string, boundPort, offset int) string {
	reqPath := strings.TrimPrefix(ri.escapedPath(), "/")
	host := hostOnly(ri.host)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := strconv.Itoa(boundPort)
	expand := func(s string) string {
		if !strings.Contains(s, "#{") {
			return s
		}
		return strings.NewReplacer(
			"#{protocol}", proto,
			"#{host}", host,
			"#{port}", port,
			"#{path}", reqPath,
			"#{query}", ri.rawQuery,
		).Replace(s)
	}
	outProto := strings.ToLower(expand(ra.protocol))
	outPort := expand(ra.port)
	if ra.portLiteral != 0 {
		// A literal port names another listener; clients reach it at its
		// bound port.
		outPort = strconv.Itoa(ra.portLiteral + offset)
	}
	var b strings.Builder
	b.WriteString(outProto)
	b.WriteString("://")
	b.WriteString(expand(ra.host))
	b.WriteString(":")
	b.WriteString(outPort)
	p := expand(ra.path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	b.WriteString(p)
	if q := expand(ra.query); q != "" {
		b.WriteString("?")
		b.WriteString(q)
	}
	return b.String()
}

// validateListener checks what the data plane can serve.
func validateListener(l Listener) error {
	unsupported := func(format string, args ...any) error {
		return errdefs.New(errdefs.ErrInvalidArgument, "listener", format, args...).WithReason(ReasonUnsupportedProtocol)
	}
	if l.ARN == "" {
		return errdefs.New(errdefs.ErrInvalidArgument, "listener", "listener has no ARN")
	}
	if l.Port < 0 || l.Port > 65535 {
		return errdefs.New(errdefs.ErrInvalidArgument, "listener", "listener port %d is out of range", l.Port)
	}
	switch l.Type {
	case "application":
		switch l.Protocol {
		case "HTTP":
		case "HTTPS":
			return unsupported("HTTPS listeners are not supported: Berth has no certificates yet")
		default:
			return unsupported("protocol %q is not supported by application load balancers", l.Protocol)
		}
	case "network":
		switch l.Protocol {
		case "TCP":
		case "UDP", "TCP_UDP", "TLS":
			return unsupported("protocol %s is not supported by Berth's network load balancers; only TCP is", l.Protocol)
		default:
			return unsupported("protocol %q is not supported by network load balancers", l.Protocol)
		}
	default:
		return unsupported("load balancer type %q is not supported", l.Type)
	}
	return nil
}

// networkTarget compiles an NLB listener: its default rule must forward
// to one target group.
func networkTarget(l Listener, resolve func(string) *group) (*group, error) {
	rules, err := compileRules(l.Rules, resolve)
	if err != nil {
		return nil, err
	}
	def := rules[len(rules)-1]
	if len(rules) > 1 {
		return nil, invalidRule("network listeners have only a default rule; got %d rules", len(rules))
	}
	if def.act.kind != actForward || len(def.act.fwd.groups) != 1 {
		return nil, invalidRule("a network listener's default action must forward to one target group")
	}
	return def.act.fwd.groups[0], nil
}
