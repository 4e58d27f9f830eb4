package placement

import (
	"cmp"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Instance is what an expression can ask about a container instance.
type Instance struct {
	EC2InstanceID     string
	AgentConnected    bool
	AgentVersion      string // e.g. "1.14.5"
	RegisteredAt      time.Time
	RunningTasksCount int
	Attributes        map[string]string // name -> value ("" for attributes without a value)
	TaskGroups        []string          // the groups of the tasks running on it (task:group)
}

// Expr is a parsed cluster query expression. It is immutable, so one Expr
// may be matched from many goroutines at once.
//
// How values compare:
//   - ==, != and in compare text exactly, as the page's "string equality"
//     says, except for the subjects below.
//   - agentConnected is true or false, in any case; =~ sees "true" or "false".
//   - agentVersion compares numerically, component by component, a missing
//     component counting as 0: 1.2.0 < 1.14.5 and 1.14 == 1.14.0. A suffix
//     such as "-dev" on the instance's version is ignored.
//   - registeredAt arguments without a zone are UTC, and a date is its
//     midnight. The instance's time is cut to the second unless the argument
//     has fractions of one, so "== 2018-02-13T12:30:45Z" holds for that whole
//     second.
//   - runningTasksCount compares as a whole number.
//   - >, >=, < and <= on an attribute compare numbers as numbers when both
//     sides are decimal numbers (10, -1.5), and text otherwise, so "10" > "9"
//     but "10" != "10.0". On task:group they compare text.
//   - =~ and !~ match the whole value, as Java's String.matches does, in RE2
//     syntax: no lookaround, backreferences or possessive quantifiers.
//
// A subject has no value, one, or (task:group) several on an instance, and
// a comparison holds if it holds for at least one of them. So every
// comparison, != and !in and !~ included, is false for an attribute the
// instance lacks, an empty ec2InstanceId or agentVersion, a zero
// registeredAt, or an instance running no task, as ECS does for
// "attribute:x != v"; not(...) is the way to ask for its absence.
type Expr struct {
	root node // nil: the zero Expr, which matches every instance
}

// Match reports whether the instance satisfies the expression. A nil Expr
// matches every instance; a nil Instance is an instance with no attribute,
// no task and zero fields.
func (e *Expr) Match(i *Instance) bool {
	if e == nil || e.root == nil {
		return true
	}
	if i == nil {
		i = &Instance{}
	}
	return e.root.match(i)
}

// attribute returns the one attribute the expression asks about, when it
// asks about nothing else: then whether it matches an instance depends on
// that attribute's value alone (or its absence).
func (e *Expr) attribute() (string, bool) {
	if e == nil || e.root == nil {
		return "", false
	}
	name, only := "", true
	var walk func(n node)
	walk = func(n node) {
		switch n := n.(type) {
		case *orNode:
			for _, s := range n.subs {
				walk(s)
			}
		case *andNode:
			for _, s := range n.subs {
				walk(s)
			}
		case *notNode:
			walk(n.sub)
		case *term:
			if n.subj.kind != subjAttribute || name != "" && n.subj.attr != name {
				only = false
			}
			name = n.subj.attr
		default:
			only = false
		}
	}
	walk(e.root)
	return name, only
}

// String renders the expression in canonical form: symbolic operators, "and",
// "or", "not(...)", lists as [a, b], parentheses only where precedence needs
// them, and values quoted only where they must be. Parsing the result gives
// back the same expression. It may be longer than the text that was parsed,
// even past MaxExpressionLength, so keep that text where ECS echoes an
// expression back.
func (e *Expr) String() string {
	if e == nil || e.root == nil {
		return ""
	}
	var b strings.Builder
	write(&b, e.root)
	return b.String()
}

// node is one node of a parsed expression.
type node interface {
	match(*Instance) bool
}

// orNode and andNode are n-ary: the parser flattens chains, so an orNode
// never holds an orNode and an andNode never holds an andNode.
type (
	orNode  struct{ subs []node }
	andNode struct{ subs []node }
	notNode struct{ sub node }
)

func (n *orNode) match(i *Instance) bool {
	for _, s := range n.subs {
		if s.match(i) {
			return true
		}
	}
	return false
}

func (n *andNode) match(i *Instance) bool {
	for _, s := range n.subs {
		if !s.match(i) {
			return false
		}
	}
	return true
}

func (n *notNode) match(i *Instance) bool { return !n.sub.match(i) }

func write(b *strings.Builder, n node) {
	switch n := n.(type) {
	case *orNode:
		for k, s := range n.subs {
			if k > 0 {
				b.WriteString(" or ")
			}
			write(b, s)
		}
	case *andNode:
		for k, s := range n.subs {
			if k > 0 {
				b.WriteString(" and ")
			}
			if _, ok := s.(*orNode); ok {
				b.WriteByte('(')
				write(b, s)
				b.WriteByte(')')
			} else {
				write(b, s)
			}
		}
	case *notNode:
		b.WriteString("not(")
		write(b, n.sub)
		b.WriteByte(')')
	case *term:
		n.write(b)
	}
}

// subjectKind is what a term asks about.
type subjectKind uint8

const (
	subjAgentConnected subjectKind = iota + 1
	subjAgentVersion
	subjAttribute
	subjEC2InstanceID
	subjRegisteredAt
	subjRunningTasksCount
	subjTaskGroup
)

type subject struct {
	kind subjectKind
	attr string // the attribute name, for subjAttribute
}

func (s subject) String() string {
	switch s.kind {
	case subjAgentConnected:
		return "agentConnected"
	case subjAgentVersion:
		return "agentVersion"
	case subjAttribute:
		return "attribute:" + s.attr
	case subjEC2InstanceID:
		return "ec2InstanceId"
	case subjRegisteredAt:
		return "registeredAt"
	case subjRunningTasksCount:
		return "runningTasksCount"
	case subjTaskGroup:
		return "task:group"
	}
	return "?"
}

// operator is a comparison operator.
type operator uint8

const (
	opEq operator = iota + 1
	opNe
	opGt
	opGe
	opLt
	opLe
	opExists
	opNotExists
	opIn
	opNotIn
	opMatch
	opNotMatch
)

// symbols are the canonical spellings, the ones String writes.
var symbols = [...]string{
	opEq: "==", opNe: "!=", opGt: ">", opGe: ">=", opLt: "<", opLe: "<=",
	opExists: "exists", opNotExists: "!exists", opIn: "in", opNotIn: "!in",
	opMatch: "=~", opNotMatch: "!~",
}

func (o operator) String() string { return symbols[o] }

// ordering reports whether o orders values rather than testing equality.
func (o operator) ordering() bool { return o >= opGt && o <= opLe }

func (o operator) takesList() bool  { return o == opIn || o == opNotIn }
func (o operator) takesValue() bool { return o != opExists && o != opNotExists }

// Valid operators by subject, from the cluster query language page. The page
// lists none for attribute:<name> and task:group, which take them all.
var (
	equalityOps = []operator{opEq, opNe, opIn, opNotIn, opMatch, opNotMatch}
	orderingOps = []operator{opEq, opNe, opGt, opGe, opLt, opLe}
	allOps      = []operator{opEq, opNe, opGt, opGe, opLt, opLe, opExists, opNotExists, opIn, opNotIn, opMatch, opNotMatch}
)

func (s subject) operators() []operator {
	switch s.kind {
	case subjAgentConnected, subjEC2InstanceID:
		return equalityOps
	case subjAgentVersion, subjRegisteredAt, subjRunningTasksCount:
		return orderingOps
	}
	return allOps
}

// arg is one argument of a term, as written and as its subject reads it.
type arg struct {
	text    string
	off     int       // byte offset in the expression, for errors
	b       bool      // agentConnected
	version []string  // agentVersion: normalised components
	time    time.Time // registeredAt
	frac    bool      // registeredAt: the argument has fractions of a second
	n       int64     // runningTasksCount
	dec     decimal   // attribute:<name>, when text is a decimal number
	isDec   bool
}

// term is "subject operator [argument]".
type term struct {
	subj subject
	op   operator
	args []arg          // none for exists, one for most operators, the list for in
	re   *regexp.Regexp // for =~ and !~, anchored at both ends
}

// value is one value of a subject on an instance.
type value struct {
	s       string
	b       bool
	version []string
	time    time.Time
	n       int64
}

func (t *term) match(i *Instance) bool {
	switch t.subj.kind {
	case subjAgentConnected:
		s := "false"
		if i.AgentConnected {
			s = "true"
		}
		return t.test(value{s: s, b: i.AgentConnected})
	case subjAgentVersion:
		v, ok := instanceVersion(i.AgentVersion)
		return ok && t.test(value{s: i.AgentVersion, version: v})
	case subjAttribute:
		s, ok := i.Attributes[t.subj.attr]
		switch t.op {
		case opExists:
			return ok
		case opNotExists:
			return !ok
		}
		return ok && t.test(value{s: s})
	case subjEC2InstanceID:
		return i.EC2InstanceID != "" && t.test(value{s: i.EC2InstanceID})
	case subjRegisteredAt:
		return !i.RegisteredAt.IsZero() && t.test(value{time: i.RegisteredAt})
	case subjRunningTasksCount:
		return t.test(value{n: int64(i.RunningTasksCount)})
	case subjTaskGroup:
		switch t.op {
		case opExists:
			return len(i.TaskGroups) > 0
		case opNotExists:
			return len(i.TaskGroups) == 0
		}
		for _, g := range i.TaskGroups {
			if t.test(value{s: g}) {
				return true
			}
		}
	}
	return false
}

// test applies the operator to one value of the subject.
func (t *term) test(v value) bool {
	switch t.op {
	case opEq:
		return t.compare(v, &t.args[0]) == 0
	case opNe:
		return t.compare(v, &t.args[0]) != 0
	case opGt:
		return t.compare(v, &t.args[0]) > 0
	case opGe:
		return t.compare(v, &t.args[0]) >= 0
	case opLt:
		return t.compare(v, &t.args[0]) < 0
	case opLe:
		return t.compare(v, &t.args[0]) <= 0
	case opIn, opNotIn:
		in := false
		for k := range t.args {
			if t.compare(v, &t.args[k]) == 0 {
				in = true
				break
			}
		}
		return in == (t.op == opIn)
	case opMatch:
		return t.re.MatchString(v.s)
	case opNotMatch:
		return !t.re.MatchString(v.s)
	}
	return false
}

// compare orders a value against an argument the way its subject reads
// them. agentConnected has only equality, so any non-zero result means
// "different".
func (t *term) compare(v value, a *arg) int {
	switch t.subj.kind {
	case subjAgentConnected:
		if v.b == a.b {
			return 0
		}
		return 1
	case subjAgentVersion:
		return compareVersions(v.version, a.version)
	case subjRegisteredAt:
		// Arguments are written to the second; compare the instance's time
		// at that precision so that == can hold.
		it := v.time
		if !a.frac {
			it = it.Truncate(time.Second)
		}
		return it.Compare(a.time)
	case subjRunningTasksCount:
		return cmp.Compare(v.n, a.n)
	case subjAttribute:
		if t.op.ordering() && a.isDec {
			if d, ok := parseDecimal(v.s); ok {
				return compareDecimals(d, a.dec)
			}
		}
	}
	return strings.Compare(v.s, a.text)
}

func (t *term) write(b *strings.Builder) {
	b.WriteString(t.subj.String())
	b.WriteByte(' ')
	b.WriteString(t.op.String())
	switch {
	case t.op.takesList():
		b.WriteString(" [")
		for k, a := range t.args {
			if k > 0 {
				b.WriteString(", ")
			}
			writeValue(b, a.text, listStops)
		}
		b.WriteByte(']')
	case t.op.takesValue():
		b.WriteByte(' ')
		writeValue(b, t.args[0].text, valueStops)
	}
}

// writeValue writes v bare when the parser would read it back whole where
// stops end a bare value, and in quotes otherwise. No value holds both kinds of quote: a bare value holds
// neither, a quoted one not its own.
func writeValue(b *strings.Builder, v, stops string) {
	if bareOK(v, stops) {
		b.WriteString(v)
		return
	}
	q := byte('\'')
	if strings.IndexByte(v, '\'') >= 0 {
		q = '"'
	}
	b.WriteByte(q)
	b.WriteString(v)
	b.WriteByte(q)
}

// bareOK reports whether v can be written unquoted. Keywords are quoted for
// the reader's sake, though the parser would take them bare.
func bareOK(v, stops string) bool {
	if v == "" || v == "and" || v == "or" || v == "not" || bareLen(v, stops) != len(v) {
		return false
	}
	for _, r := range v {
		if !unicode.IsPrint(r) || r == ' ' {
			return false
		}
	}
	return true
}
