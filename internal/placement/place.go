package placement

import (
	"errors"
	"fmt"
	"math/bits"
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

// reason is why a task does not fit on an instance, fits if it does; the
// higher, the closer the instance came to taking the task.
type reason uint8

const (
	fits reason = iota
	noAgent
	noCPU
	noMemory
	noPorts
	noAttribute
)

var reasonNames = [...]string{fits: "", noAgent: ReasonAgent, noCPU: ReasonCPU, noMemory: ReasonMemory, noPorts: ReasonPorts, noAttribute: ReasonAttribute}

func (r reason) String() string { return reasonNames[r] }

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
	return place(cands, req, rnd, true)
}

// place is Place; with fast false it always chooses with a pass over the
// feasible slots (choose), never with a picker.
func place(cands []Candidate, req Request, rnd *rand.Rand, fast bool) ([]Placement, []Failure) {
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
	// order the caller listed its instances in. Whether a task fits on a
	// slot depends on that slot alone, so it is worked out once here and
	// again only for the slot that takes a task.
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	slots := grow(&sc.slots, len(cands))
	order := keyOrder(cands, sc)
	needGroup := false // whether anything reads slot.n
	for _, c := range cons {
		needGroup = needGroup || c.distinct
	}
	for _, st := range strats {
		needGroup = needGroup || st.kind == spreadInstance || st.kind == spreadAttribute
	}
	for k := range slots {
		c := &cands[k]
		if order != nil {
			c = &cands[order[k]]
		}
		s := &slots[k]
		*s = newSlot(c)
		if needGroup {
			s.n = c.Groups[req.Group]
		}
		s.reason = s.fit(&req, cons)
	}

	// Spread on an attribute balances across every eligible instance of the
	// cluster, not only those that can take the task now.
	spreads := make([]spreadCounts, len(strats))
	for k, st := range strats {
		if st.kind == spreadAttribute {
			var bucket []int32
			if k == 0 {
				bucket = grow(&sc.bucket, len(slots))
				clear(bucket)
			}
			spreads[k] = newSpreadCounts(slots, st.attr, bucket)
		}
	}

	feasible := grow(&sc.feasible, len(slots))[:0] // slot indexes, in Key order
	for k := range slots {
		if slots[k].reason == fits {
			feasible = append(feasible, int32(k))
		}
	}
	var (
		placed   []Placement
		failures []Failure
		set      []int32
		p        *picker
	)
	if fast {
		p = newPicker(slots, strats, spreads, feasible, grow(&sc.picker, 2*len(feasible)))
	}
	for n := 0; n < req.Count; n++ {
		if len(feasible) == 0 {
			f := closest(slots)
			for ; n < req.Count; n++ {
				failures = append(failures, f)
			}
			break
		}
		var k int32
		if p != nil {
			k = p.choose(rnd)
		} else {
			set = append(set[:0], feasible...)
			k = choose(set, slots, strats, spreads, &req, rnd)
		}
		s := &slots[k]
		for j := range spreads {
			if sc := &spreads[j]; sc.counts != nil {
				sc.counts[sc.bucket[k]]++
			}
		}
		s.take(&req)
		if s.reason = s.fit(&req, cons); s.reason != fits {
			at, _ := slices.BinarySearch(feasible, k)
			feasible = slices.Delete(feasible, at, at+1)
		}
		if p != nil {
			p.taken(k, s.reason == fits)
		}
		if placed == nil {
			placed = make([]Placement, 0, req.Count)
		}
		placed = append(placed, Placement{Key: s.c.Key})
	}
	return placed, failures
}

// closest is the failure of a task that fits on none of slots: the first
// instance by Key among those that came closest to taking it.
func closest(slots []slot) Failure {
	f, best := Failure{Reason: ReasonAgent}, fits // AGENT: there is no instance at all
	for k := range slots {
		if r := slots[k].reason; r > best {
			f, best = Failure{ARN: slots[k].c.ARN, Reason: r.String()}, r
		}
	}
	return f
}

// spreadCounts are the tasks of the request's group in each bucket of a
// spread attribute, on eligible instances.
type spreadCounts struct {
	bucket []int32 // per slot; 0 is the bucket of instances without the attribute
	counts []int   // per bucket
}

// newSpreadCounts puts the slots in buckets; bucket, zeroed, is used if it
// holds len(slots).
func newSpreadCounts(slots []slot, attr string, bucket []int32) spreadCounts {
	if len(bucket) != len(slots) {
		bucket = make([]int32, len(slots))
	}
	sc := spreadCounts{bucket: bucket, counts: []int{0}}
	// Attributes such as a zone have few values, mostly the same strings:
	// a list finds them faster than a map; the map takes over past 16.
	var (
		list   []string // value of bucket k+1
		values map[string]int32
	)
	for k := range slots {
		s := &slots[k]
		if s.reason != fits && (!s.c.Eligible || s.n == 0) {
			continue // neither counted nor scored: it cannot become feasible in the call
		}
		b := int32(0)
		if q := s.c.Query; q != nil {
			if v, ok := q.Attributes[attr]; ok {
				b = -1
				if values == nil {
					if at := slices.Index(list, v); at >= 0 {
						b = int32(at + 1)
					}
				} else if at, ok := values[v]; ok {
					b = at
				}
				if b < 0 {
					b = int32(len(sc.counts))
					sc.counts = append(sc.counts, 0)
					list = append(list, v)
					if values == nil && len(list) > 16 {
						values = make(map[string]int32, 2*len(list))
						for j, v := range list {
							values[v] = int32(j + 1)
						}
					} else if values != nil {
						values[v] = b
					}
				}
			}
		}
		sc.bucket[k] = b
		if s.c.Eligible {
			sc.counts[b] += s.n
		}
	}
	return sc
}

// keyOrder returns the indexes of cands in Key order, stable among equal
// keys, or nil when cands are in Key order already (as a snapshot lists
// them). It works in sc's memory and returns sc.order.
func keyOrder(cands []Candidate, sc *scratch) []int32 {
	if slices.IsSortedFunc(cands, func(a, b Candidate) int { return strings.Compare(a.Key, b.Key) }) {
		return nil
	}
	// Keys mostly share a prefix (account, region, cluster): sort on the
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
	// Each entry is the head of a key, its bytes p to p+n big-endian and
	// 0-padded, above its index: a radix sort on the head bytes, stable,
	// leaves equal heads in index order. n is as many bytes as the index
	// leaves room for.
	idxBits := bits.Len(uint(len(cands) - 1))
	n := (64 - idxBits) / 8
	idxBits = 64 - 8*n
	buf := grow(&sc.keys, 2*len(cands))
	es, tmp := buf[:len(cands)], buf[len(cands):]
	var count [8][256]int
	for k := range cands {
		e := keyHead(cands[k].Key[p:], n)<<idxBits | uint64(k)
		es[k] = e
		for b := range n {
			count[b][byte(e>>(idxBits+8*b))]++
		}
	}
	// A byte at a time from the last, skipping bytes all keys share.
	for b := range n {
		shift := idxBits + 8*b
		c := &count[b]
		if c[byte(es[0]>>shift)] == len(es) {
			continue
		}
		at := 0
		for v, m := range c {
			c[v] = at
			at += m
		}
		for _, e := range es {
			v := byte(e >> shift)
			tmp[c[v]] = e
			c[v]++
		}
		es, tmp = tmp, es
	}
	// Runs of equal heads, by the rest of the key; equal keys stay in
	// index order.
	mask := uint64(1)<<idxBits - 1
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j]>>idxBits == es[i]>>idxBits {
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(es[i:j], func(a, b uint64) int {
				return strings.Compare(cands[a&mask].Key[p:], cands[b&mask].Key[p:])
			})
		}
		i = j
	}
	out := grow(&sc.order, len(es))
	for k, e := range es {
		out[k] = int32(e & mask)
	}
	return out
}

// keyHead is the first n bytes of s as a big-endian number, padded with
// zeros: when the heads of two strings differ, they order the strings.
func keyHead(s string, n int) uint64 {
	var h uint64
	for k := 0; k < n; k++ {
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
	s := newSlot(c)
	s.n = c.Groups[req.Group]
	return s.fit(req, compileConstraints(req.Constraints)).String()
}

// choose narrows set, feasible slot indexes in Key order, with each
// strategy in turn and breaks the remaining tie. It reuses set's array.
// Each strategy keeps the slots of lowest score; the loops are written out
// per strategy, as this is the inner loop of Place.
func choose(set []int32, slots []slot, strats []strategy, spreads []spreadCounts, req *Request, rnd *rand.Rand) int32 {
	for k, st := range strats {
		if len(set) == 1 {
			break
		}
		out := set[:0]
		switch st.kind {
		case random:
			return set[pick(len(set), rnd)]
		case binpackCPU:
			// The lowest remaining CPU: req.CPU is the same for all.
			low := slots[set[0]].c.CPU - slots[set[0]].usedCPU
			for _, i := range set[1:] {
				low = min(low, slots[i].c.CPU-slots[i].usedCPU)
			}
			for _, i := range set {
				if slots[i].c.CPU-slots[i].usedCPU == low {
					out = append(out, i)
				}
			}
		case binpackMemory:
			low := slots[set[0]].c.Memory - slots[set[0]].usedMemory
			for _, i := range set[1:] {
				low = min(low, slots[i].c.Memory-slots[i].usedMemory)
			}
			for _, i := range set {
				if slots[i].c.Memory-slots[i].usedMemory == low {
					out = append(out, i)
				}
			}
		case spreadInstance:
			low := slots[set[0]].n
			for _, i := range set[1:] {
				low = min(low, slots[i].n)
			}
			for _, i := range set {
				if slots[i].n == low {
					out = append(out, i)
				}
			}
		case spreadAttribute:
			counts, bucket := spreads[k].counts, spreads[k].bucket
			low := counts[bucket[set[0]]]
			for _, i := range set[1:] {
				low = min(low, counts[bucket[i]])
			}
			for _, i := range set {
				if counts[bucket[i]] == low {
					out = append(out, i)
				}
			}
		default:
			continue
		}
		set = out
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
// which copies them into own; slots stay small, as Place makes one per
// candidate on every call.
type slot struct {
	c                   *Candidate
	usedCPU, usedMemory int64
	n                   int    // tasks of the request's group on it (when Place needs it)
	reason              reason // whether one more task of the request fits
	own                 *owned // nil until the first placement
}

// owned is a slot's copy of its candidate's maps and Query.
type owned struct {
	tcp, udp map[int32]bool
	groups   map[string]int
	q        *Instance
}

func newSlot(c *Candidate) slot {
	return slot{c: c, usedCPU: c.UsedCPU, usedMemory: c.UsedMemory}
}

func (s *slot) query() *Instance {
	if s.own != nil {
		return s.own.q
	}
	return s.c.Query
}

func (s *slot) port(tcp bool, p int32) bool {
	switch {
	case s.own != nil && tcp:
		return s.own.tcp[p]
	case s.own != nil:
		return s.own.udp[p]
	case tcp:
		return s.c.PortsTCP[p]
	}
	return s.c.PortsUDP[p]
}

func (s *slot) fit(req *Request, cons []constraint) reason {
	if !s.c.Eligible {
		return noAgent
	}
	if s.usedCPU+req.CPU > s.c.CPU {
		return noCPU
	}
	if s.usedMemory+req.Memory > s.c.Memory {
		return noMemory
	}
	for _, p := range req.PortsTCP {
		if p != 0 && s.port(true, p) {
			return noPorts
		}
	}
	for _, p := range req.PortsUDP {
		if p != 0 && s.port(false, p) {
			return noPorts
		}
	}
	for _, c := range cons {
		switch {
		case c.distinct:
			if s.n > 0 {
				return noAttribute
			}
		case c.expr == nil || !c.match(s.query()):
			return noAttribute
		}
	}
	return fits
}

// take records one task of req on s.
func (s *slot) take(req *Request) {
	if s.own == nil {
		o := &owned{tcp: copyMap(s.c.PortsTCP), udp: copyMap(s.c.PortsUDP), groups: copyMap(s.c.Groups), q: &Instance{}}
		if s.c.Query != nil {
			*o.q = *s.c.Query
		}
		o.q.TaskGroups = slices.Clip(o.q.TaskGroups)
		s.own = o
	}
	o := s.own
	s.usedCPU += req.CPU
	s.usedMemory += req.Memory
	for _, p := range req.PortsTCP {
		if p != 0 {
			o.tcp[p] = true
		}
	}
	for _, p := range req.PortsUDP {
		if p != 0 {
			o.udp[p] = true
		}
	}
	o.groups[req.Group]++
	s.n++
	if req.Group != "" && !slices.Contains(o.q.TaskGroups, req.Group) {
		// Clipped above, so this never writes into the caller's array.
		o.q.TaskGroups = append(o.q.TaskGroups, req.Group)
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
	memo     *memo // for an expr on one attribute
}

// memo keeps the matches of an expression that asks about one attribute
// only, by value, for the length of a call: a cluster has few values of
// such an attribute (an instance type, a zone) and many instances.
type memo struct {
	attr    string
	absent  int8 // match without the attribute: 0 unknown, 1 false, 2 true
	values  []string
	matches []bool
}

// maxMemo bounds a memo; values past it are matched each time.
const maxMemo = 32

func (c *constraint) match(q *Instance) bool {
	m := c.memo
	if m == nil {
		return c.expr.Match(q)
	}
	var (
		v  string
		ok bool
	)
	if q != nil {
		v, ok = q.Attributes[m.attr]
	}
	if !ok {
		if m.absent == 0 {
			m.absent = 1
			if c.expr.Match(q) {
				m.absent = 2
			}
		}
		return m.absent == 2
	}
	if at := slices.Index(m.values, v); at >= 0 {
		return m.matches[at]
	}
	match := c.expr.Match(q)
	if len(m.values) < maxMemo {
		m.values = append(m.values, v)
		m.matches = append(m.matches, match)
	}
	return match
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
			con := constraint{expr: e}
			if name, ok := e.attribute(); ok {
				con.memo = &memo{attr: name}
			}
			out = append(out, con)
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
