package placement

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Limits on a request's constraints and strategies (RunTask, CreateService,
// UpdateService).
const (
	MaxConstraints = 10
	MaxStrategies  = 5
)

// Constraint types.
const (
	DistinctInstance = "distinctInstance"
	MemberOf         = "memberOf"
)

// Strategy types.
const (
	Binpack = "binpack"
	Spread  = "spread"
	Random  = "random"
)

// Failure reasons, as RunTask's failures and the service placement event
// name them.
const (
	ReasonAgent     = "AGENT"
	ReasonCPU       = "RESOURCE:CPU"
	ReasonMemory    = "RESOURCE:MEMORY"
	ReasonPorts     = "RESOURCE:PORTS"
	ReasonAttribute = "ATTRIBUTE"
)

// Candidate is a container instance placement may choose, with what is
// already placed on it.
type Candidate struct {
	Key      string    // caller's identifier (returned in Placement)
	ARN      string    // container instance ARN (failures name it)
	Eligible bool      // ACTIVE and agent connected; false => failure reason "AGENT"
	Query    *Instance // what memberOf expressions and spread attribute:/instanceId fields see (Attributes, EC2InstanceID, TaskGroups, ...)

	CPU, Memory         int64          // registered amounts (CPU units, MiB)
	UsedCPU, UsedMemory int64          // reserved by active tasks
	PortsTCP, PortsUDP  map[int32]bool // host ports unavailable (in use by tasks, or reserved by the instance)
	Groups              map[string]int // active tasks per task group on this instance
}

// Request is one kind of task to place Count times.
type Request struct {
	CPU, Memory        int64
	PortsTCP, PortsUDP []int32 // static host ports the task needs; 0 (dynamic) is ignored
	Group              string  // task group, e.g. "service:web" or "family:app"
	Count              int
	Constraints        []Constraint
	Strategies         []Strategy // tried in order (first is primary, later ones break ties); empty => DefaultStrategies
}

// Constraint is a placement constraint: binding, an instance that fails it
// is not chosen.
type Constraint struct {
	Type       string // "distinctInstance" or "memberOf"
	Expression string // memberOf only (cluster query language)
}

// Strategy is a placement strategy: best effort, it orders the instances
// that meet the constraints.
type Strategy struct {
	Type  string // "binpack", "spread", "random"
	Field string // binpack: "cpu"|"memory" (any case); spread: "instanceId" (alias "host", any case) or "attribute:<name>"; random: ""
}

// DefaultStrategies is what ECS uses when none is given: spread across
// availability zones, then across instances.
var DefaultStrategies = []Strategy{{Type: Spread, Field: "attribute:ecs.availability-zone"}, {Type: Spread, Field: "instanceId"}}

// ValidateConstraints checks a request's placement constraints as ECS does.
// The message of the error is fit for an InvalidParameterException; an
// expression that does not parse gives an error wrapping its *SyntaxError.
func ValidateConstraints(cs []Constraint) error {
	if len(cs) > MaxConstraints {
		return fmt.Errorf("too many placement constraints: %d; the limit is %d", len(cs), MaxConstraints)
	}
	for _, c := range cs {
		switch c.Type {
		case DistinctInstance:
			if c.Expression != "" {
				return errors.New("a distinctInstance placement constraint takes no expression")
			}
		case MemberOf:
			if c.Expression == "" {
				return errors.New("a memberOf placement constraint needs an expression")
			}
			if _, err := ParseExpr(c.Expression); err != nil {
				return fmt.Errorf("memberOf placement constraint: %w", err)
			}
		default:
			return fmt.Errorf("placement constraint type %q is invalid; valid types: distinctInstance, memberOf", c.Type)
		}
	}
	return nil
}

// ValidateStrategies checks a request's placement strategies as ECS does.
// The message of the error is fit for an InvalidParameterException.
func ValidateStrategies(ss []Strategy) error {
	if len(ss) > MaxStrategies {
		return fmt.Errorf("too many placement strategies: %d; the limit is %d", len(ss), MaxStrategies)
	}
	for _, s := range ss {
		switch s.Type {
		case Binpack:
			if !strings.EqualFold(s.Field, "cpu") && !strings.EqualFold(s.Field, "memory") {
				return fmt.Errorf("binpack placement strategy field %q is invalid; valid fields: cpu, memory", s.Field)
			}
		case Spread:
			if s.Field == "" {
				return errors.New("a spread placement strategy needs a field: instanceId, host or attribute:<name>")
			}
			if name, ok := strings.CutPrefix(s.Field, "attribute:"); ok {
				if err := validAttributeName(name); err != nil {
					return fmt.Errorf("spread placement strategy field %q is invalid: %v", s.Field, err)
				}
			} else if !strings.EqualFold(s.Field, "instanceId") && !strings.EqualFold(s.Field, "host") {
				return fmt.Errorf("spread placement strategy field %q is invalid; valid fields: instanceId, host, attribute:<name>", s.Field)
			}
		case Random:
			if s.Field != "" {
				return fmt.Errorf("a random placement strategy takes no field; got %q", s.Field)
			}
		default:
			return fmt.Errorf("placement strategy type %q is invalid; valid types: random, spread, binpack", s.Type)
		}
	}
	return nil
}

func validAttributeName(name string) error {
	if name == "" {
		return errors.New("the attribute name is empty")
	}
	if len(name) > maxAttributeName {
		return fmt.Errorf("the attribute name is %d characters long; the limit is %d", len(name), maxAttributeName)
	}
	for k := 0; k < len(name); k++ {
		if !isAttributeNameByte(name[k]) {
			return errors.New("an attribute name may hold only letters, digits, hyphens, underscores, slashes, backslashes and periods")
		}
	}
	return nil
}

// Placement is one task placed on candidate Key.
type Placement struct{ Key string }

// Failure is one task that could not be placed.
type Failure struct {
	ARN    string // closest matching instance; empty when there was none
	Reason string // "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS", "ATTRIBUTE", "AGENT"
}

// closeness ranks failure reasons: the higher, the closer the instance came
// to taking the task.
var closeness = map[string]int{
	ReasonAgent:     1,
	ReasonCPU:       2,
	ReasonMemory:    3,
	ReasonPorts:     4,
	ReasonAttribute: 5,
}

// Place places req.Count tasks one by one: each goes through the resource
// filter (CPU, memory, host ports), then the constraints, then the
// strategies, which choose among the instances left.
//
// After each placement the chosen candidate's usage, ports, Groups and
// Query.TaskGroups are updated in Place's own copy (the caller's Candidates
// are not modified), so later tasks of the call see them;
// Query.RunningTasksCount is not changed, as placed tasks are not running
// yet.
//
// It returns the placements in order and one Failure per task that could not
// be placed, naming the closest instance: the one that got furthest through
// the filters (ATTRIBUTE > RESOURCE:PORTS > RESOURCE:MEMORY > RESOURCE:CPU >
// AGENT), the first by Key among equals. With no candidate at all the
// failure is AGENT with an empty ARN.
//
// rnd breaks the ties the strategies leave and drives "random"; a nil rnd
// means deterministic: the first candidate by Key wins.
//
// Place does not validate the request (see ValidateConstraints and
// ValidateStrategies): a strategy it does not know orders nothing, while a
// constraint it does not know, or a memberOf expression that does not parse,
// admits no instance.
func Place(cands []Candidate, req Request, rnd *rand.Rand) ([]Placement, []Failure) {
	if req.Count <= 0 {
		return nil, nil
	}
	cons := compileConstraints(req.Constraints)
	ss := req.Strategies
	if len(ss) == 0 {
		ss = DefaultStrategies
	}
	strats := make([]strategy, len(ss))
	for k, s := range ss {
		strats[k] = compileStrategy(s)
	}

	// Slots in Key order, so that ties and rnd's draws do not depend on the
	// order the caller listed its instances in.
	slots := make([]slot, len(cands))
	order := keyOrder(cands)
	for k := range slots {
		c := &cands[k]
		if order != nil {
			c = &cands[order[k]]
		}
		slots[k] = slot{c: c, usedCPU: c.UsedCPU, usedMemory: c.UsedMemory}
	}

	// Spread on an attribute balances across every eligible instance of the
	// cluster, not only those that can take the task now.
	spreads := make([]map[string]int, len(strats))
	for k, st := range strats {
		if st.kind != spreadAttribute {
			continue
		}
		counts := map[string]int{}
		for k := range slots {
			if s := &slots[k]; s.c.Eligible {
				counts[attributeBucket(s.query(), st.attr)] += s.group(req.Group)
			}
		}
		spreads[k] = counts
	}

	var (
		placed   []Placement
		failures []Failure
		feasible = make([]*slot, 0, len(slots))
	)
	for n := 0; n < req.Count; n++ {
		feasible = feasible[:0]
		best, found := Failure{Reason: ReasonAgent}, false // AGENT: there is no instance at all
		for k := range slots {
			s := &slots[k]
			reason := s.fit(&req, cons)
			switch {
			case reason == "":
				feasible = append(feasible, s)
			case !found || closeness[reason] > closeness[best.Reason]:
				best, found = Failure{ARN: s.c.ARN, Reason: reason}, true
			}
		}
		if len(feasible) == 0 {
			for ; n < req.Count; n++ {
				failures = append(failures, best)
			}
			break
		}
		s := choose(feasible, strats, spreads, &req, rnd)
		for k, st := range strats {
			if st.kind == spreadAttribute {
				spreads[k][attributeBucket(s.query(), st.attr)]++
			}
		}
		s.take(&req)
		placed = append(placed, Placement{Key: s.c.Key})
	}
	return placed, failures
}

// keyOrder returns the indexes of cands in Key order, stable among equal
// keys, or nil when cands are in Key order already (as a snapshot lists
// them).
func keyOrder(cands []Candidate) []int32 {
	if slices.IsSortedFunc(cands, func(a, b Candidate) int { return strings.Compare(a.Key, b.Key) }) {
		return nil
	}
	// Keys mostly share a prefix (account, region, cluster): sort on the 8
	// bytes after it, and compare whole keys only where those are equal.
	p := len(cands[0].Key)
	for k := range cands {
		key := cands[k].Key
		if len(key) >= p && key[:p] == cands[0].Key[:p] {
			continue
		}
		p = min(p, len(key))
		for j := 0; j < p; j++ {
			if key[j] != cands[0].Key[j] {
				p = j
				break
			}
		}
	}
	type entry struct {
		head uint64 // bytes p to p+8 of the key, big-endian, 0-padded
		k    int32
	}
	es := make([]entry, len(cands))
	for k := range cands {
		es[k] = entry{head: keyHead(cands[k].Key[p:]), k: int32(k)}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if a.head != b.head {
			return cmp.Compare(a.head, b.head)
		}
		if c := strings.Compare(cands[a.k].Key[p:], cands[b.k].Key[p:]); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	out := make([]int32, len(es))
	for k, e := range es {
		out[k] = e.k
	}
	return out
}

// keyHead is the first 8 bytes of s as a big-endian number, padded with
// zeros: when the heads of two strings differ, they order the strings.
func keyHead(s string) uint64 {
	var h uint64
	for k := 0; k < 8; k++ {
		h <<= 8
		if k < len(s) {
			h |= uint64(s[k])
		}
	}
	return h
}

// Fit reports why one task of req does not fit on c: "" if it fits, else the
// reason: AGENT if c is not eligible, then RESOURCE:CPU, RESOURCE:MEMORY,
// RESOURCE:PORTS, then ATTRIBUTE for a constraint c fails. req.Count and
// req.Strategies are not used.
func Fit(c *Candidate, req *Request) string {
	s := &slot{c: c, usedCPU: c.UsedCPU, usedMemory: c.UsedMemory}
	return s.fit(req, compileConstraints(req.Constraints))
}

// choose narrows the feasible slots with each strategy in turn and breaks
// the remaining tie.
func choose(set []*slot, strats []strategy, spreads []map[string]int, req *Request, rnd *rand.Rand) *slot {
	for k, st := range strats {
		if len(set) == 1 {
			break
		}
		if st.kind == random {
			return set[pick(len(set), rnd)]
		}
		if st.kind == none {
			continue
		}
		score := func(s *slot) int64 {
			switch st.kind {
			case binpackCPU:
				return s.c.CPU - s.usedCPU - req.CPU
			case binpackMemory:
				return s.c.Memory - s.usedMemory - req.Memory
			case spreadInstance:
				return int64(s.group(req.Group))
			case spreadAttribute:
				return int64(spreads[k][attributeBucket(s.query(), st.attr)])
			}
			return 0
		}
		set = keepBest(set, score, false)
	}
	return set[pick(len(set), rnd)]
}

// keepBest keeps the elements of set with the lowest score (the highest if
// highest), in their order. It reuses set's array.
func keepBest[T any](set []T, score func(T) int64, highest bool) []T {
	scores := make([]int64, len(set))
	best := 0
	for k, e := range set {
		scores[k] = score(e)
		if highest && scores[k] > scores[best] || !highest && scores[k] < scores[best] {
			best = k
		}
	}
	out := set[:0]
	for k, e := range set {
		if scores[k] == scores[best] {
			out = append(out, e)
		}
	}
	return out
}

// pick returns an index below n: random with rnd, else 0.
func pick(n int, rnd *rand.Rand) int {
	if rnd == nil || n <= 1 {
		return 0
	}
	return rnd.IntN(n)
}

// slot is a candidate as Place sees it, with what this call placed on it.
// Its maps and Query are the caller's until the first placement on it,
// which copies them.
type slot struct {
	c                   *Candidate
	usedCPU, usedMemory int64
	copied              bool
	tcp, udp            map[int32]bool
	groups              map[string]int
	q                   *Instance
}

func (s *slot) query() *Instance {
	if s.copied {
		return s.q
	}
	return s.c.Query
}

func (s *slot) group(g string) int {
	if s.copied {
		return s.groups[g]
	}
	return s.c.Groups[g]
}

func (s *slot) port(tcp bool, p int32) bool {
	switch {
	case s.copied && tcp:
		return s.tcp[p]
	case s.copied:
		return s.udp[p]
	case tcp:
		return s.c.PortsTCP[p]
	}
	return s.c.PortsUDP[p]
}

func (s *slot) fit(req *Request, cons []constraint) string {
	if !s.c.Eligible {
		return ReasonAgent
	}
	if s.usedCPU+req.CPU > s.c.CPU {
		return ReasonCPU
	}
	if s.usedMemory+req.Memory > s.c.Memory {
		return ReasonMemory
	}
	for _, p := range req.PortsTCP {
		if p != 0 && s.port(true, p) {
			return ReasonPorts
		}
	}
	for _, p := range req.PortsUDP {
		if p != 0 && s.port(false, p) {
			return ReasonPorts
		}
	}
	for _, c := range cons {
		switch {
		case c.distinct:
			if s.group(req.Group) > 0 {
				return ReasonAttribute
			}
		case c.expr == nil || !c.expr.Match(s.query()):
			return ReasonAttribute
		}
	}
	return ""
}

// take records one task of req on s.
func (s *slot) take(req *Request) {
	if !s.copied {
		s.copied = true
		s.tcp = copyMap(s.c.PortsTCP)
		s.udp = copyMap(s.c.PortsUDP)
		s.groups = copyMap(s.c.Groups)
		if s.c.Query != nil {
			q := *s.c.Query
			s.q = &q
		} else {
			s.q = &Instance{}
		}
		s.q.TaskGroups = slices.Clip(s.q.TaskGroups)
	}
	s.usedCPU += req.CPU
	s.usedMemory += req.Memory
	for _, p := range req.PortsTCP {
		if p != 0 {
			s.tcp[p] = true
		}
	}
	for _, p := range req.PortsUDP {
		if p != 0 {
			s.udp[p] = true
		}
	}
	s.groups[req.Group]++
	if req.Group != "" && !slices.Contains(s.q.TaskGroups, req.Group) {
		// Clipped above, so this never writes into the caller's array.
		s.q.TaskGroups = append(s.q.TaskGroups, req.Group)
	}
}

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// constraint is a Constraint ready to test.
type constraint struct {
	distinct bool
	expr     *Expr // memberOf; nil when the constraint admits no instance
}

func compileConstraints(cs []Constraint) []constraint {
	out := make([]constraint, 0, len(cs))
	for _, c := range cs {
		switch c.Type {
		case DistinctInstance:
			out = append(out, constraint{distinct: true})
		case MemberOf:
			e, err := ParseExpr(c.Expression)
			if err != nil || c.Expression == "" {
				e = nil
			}
			out = append(out, constraint{expr: e})
		default:
			out = append(out, constraint{})
		}
	}
	return out
}

type strategyKind uint8

const (
	none strategyKind = iota
	binpackCPU
	binpackMemory
	spreadInstance
	spreadAttribute
	random
)

// strategy is a Strategy ready to apply.
type strategy struct {
	kind strategyKind
	attr string // spreadAttribute
}

func compileStrategy(s Strategy) strategy {
	switch s.Type {
	case Binpack:
		switch {
		case strings.EqualFold(s.Field, "cpu"):
			return strategy{kind: binpackCPU}
		case strings.EqualFold(s.Field, "memory"):
			return strategy{kind: binpackMemory}
		}
	case Spread:
		if name, ok := strings.CutPrefix(s.Field, "attribute:"); ok && name != "" {
			return strategy{kind: spreadAttribute, attr: name}
		}
		if strings.EqualFold(s.Field, "instanceId") || strings.EqualFold(s.Field, "host") {
			return strategy{kind: spreadInstance}
		}
	case Random:
		return strategy{kind: random}
	}
	return strategy{}
}

// attributeBucket is the spread bucket of an instance: its value of the
// attribute, or a bucket of its own for instances without it.
func attributeBucket(q *Instance, name string) string {
	if q == nil {
		return ""
	}
	v, ok := q.Attributes[name]
	if !ok {
		return ""
	}
	return "=" + v
}

// TaskRef is a running or pending task that scale-in may stop.
type TaskRef struct {
	Key      string // caller's task identifier
	Instance string // Candidate.Key of its instance
}

// SelectStop chooses n of tasks to stop when a service scales in, as ECS
// does, with the strategies (DefaultStrategies when empty) applied in
// reverse: spread stops from the attribute value, or the instance, with the
// most of the remaining tasks, which keeps the balance; binpack stops from
// the instance with the most remaining cpu or memory; random at random.
// Ties are broken with rnd, or by task Key when rnd is nil.
//
// Tasks whose instance is not among cands are chosen first, in the order
// given. Candidates give instance attributes and usage; the usage is not
// updated as tasks are chosen, as a TaskRef does not say what its task
// reserves, so binpack empties the emptiest instance first.
//
// It returns task keys, at most n, without duplicates.
func SelectStop(cands []Candidate, tasks []TaskRef, n int, strategies []Strategy, rnd *rand.Rand) []string {
	if n <= 0 || len(tasks) == 0 {
		return nil
	}
	byKey := make(map[string]*Candidate, len(cands))
	for k := range cands {
		if _, dup := byKey[cands[k].Key]; !dup {
			byKey[cands[k].Key] = &cands[k]
		}
	}
	if len(strategies) == 0 {
		strategies = DefaultStrategies
	}
	strats := make([]strategy, len(strategies))
	for k, s := range strategies {
		strats[k] = compileStrategy(s)
	}

	var out []string
	seen := make(map[string]bool, len(tasks))
	type task struct {
		key string
		c   *Candidate
	}
	var rest []task
	for _, t := range tasks {
		if seen[t.Key] {
			continue
		}
		seen[t.Key] = true
		c := byKey[t.Instance]
		if c == nil {
			if len(out) < n {
				out = append(out, t.Key)
			}
			continue
		}
		rest = append(rest, task{key: t.Key, c: c})
	}
	slices.SortStableFunc(rest, func(a, b task) int { return strings.Compare(a.key, b.key) })

	set := make([]task, 0, len(rest))
	for len(out) < n && len(rest) > 0 {
		set = append(set[:0], rest...)
		for _, st := range strats {
			if len(set) == 1 {
				break
			}
			if st.kind == random {
				set = set[pick(len(set), rnd):][:1]
				break
			}
			var score func(task) int64
			switch st.kind {
			case binpackCPU:
				score = func(t task) int64 { return t.c.CPU - t.c.UsedCPU }
			case binpackMemory:
				score = func(t task) int64 { return t.c.Memory - t.c.UsedMemory }
			case spreadInstance:
				counts := map[*Candidate]int{}
				for _, t := range rest {
					counts[t.c]++
				}
				score = func(t task) int64 { return int64(counts[t.c]) }
			case spreadAttribute:
				counts := map[string]int{}
				for _, t := range rest {
					counts[attributeBucket(t.c.Query, st.attr)]++
				}
				score = func(t task) int64 { return int64(counts[attributeBucket(t.c.Query, st.attr)]) }
			default:
				continue
			}
			set = keepBest(set, score, true)
		}
		chosen := set[pick(len(set), rnd)].key
		out = append(out, chosen)
		rest = slices.DeleteFunc(rest, func(t task) bool { return t.key == chosen })
	}
	return out
}
