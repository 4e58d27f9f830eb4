package placement

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxExpressionLength is the longest expression ECS takes, in characters
// (PlacementConstraint: "The expression can have a maximum length of 2000
// characters").
const MaxExpressionLength = 2000

// maxNesting bounds how deep parentheses and not may nest, so that parsing
// and matching stay shallow whatever the input. "not(" is one level.
const maxNesting = 50

// maxAttributeName is the longest attribute name ECS allows.
const maxAttributeName = 128

// SyntaxError is an expression ECS would reject. Its message is fit for an
// InvalidParameterException.
type SyntaxError struct {
	Pos int    // 1-based position, in characters, of what is wrong
	Msg string // what was expected and what was found, or what is wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid expression at position %d: %s", e.Pos, e.Msg)
}

// ParseExpr parses a cluster query language expression:
//
//	expr    = or
//	or      = and { ("||" | "or") and }
//	and     = unary { ("&&" | "and") unary }
//	unary   = ("!" | "not") unary | "(" or ")" | term
//	term    = subject operator [argument]
//	subject = agentConnected | agentVersion | attribute:<name> | ec2InstanceId
//	        | registeredAt | runningTasksCount | task:group
//
// Operators are ==/equals, !=/not_equals, >/greater_than,
// >=/greater_than_equal, </less_than, <=/less_than_equal, exists,
// !exists/not_exists, in, !in/not_in, =~/matches and !~/not_matches; in and
// !in take a list [a, b, ...]. A value is bare, up to a space, one of
// ( ) ' " (and in a list [ ] ,) or && or ||, or in single or double quotes,
// which have no escapes. Subjects, operators and keywords are case-sensitive.
//
// Errors are *SyntaxError.
func ParseExpr(s string) (*Expr, error) {
	if n := utf8.RuneCountInString(s); n > MaxExpressionLength {
		return nil, &SyntaxError{
			Pos: MaxExpressionLength + 1,
			Msg: fmt.Sprintf("the expression is %d characters long; the limit is %d", n, MaxExpressionLength),
		}
	}
	return parse(s)
}

// parse is ParseExpr without the length limit.
func parse(s string) (*Expr, error) {
	p := &parser{src: s, regexBudget: maxRegexTotal}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.expected(`"and", "or" or the end of the expression`)
	}
	return &Expr{root: n}, nil
}

type parser struct {
	src         string
	off         int // byte offset of the next unread byte
	depth       int // parentheses and nots open
	regexBudget int // regexp size left for the whole expression
}

func (p *parser) eof() bool { return p.off >= len(p.src) }

// peek returns the next byte, or 0 at the end.
func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.off]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.src[p.off]) {
		p.off++
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// word returns the run of letters, digits and underscores at the offset.
func (p *parser) word() string {
	end := p.off
	for end < len(p.src) && isWordByte(p.src[end]) {
		end++
	}
	return p.src[p.off:end]
}

func (p *parser) errorAt(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{
		Pos: utf8.RuneCountInString(p.src[:off]) + 1,
		Msg: fmt.Sprintf(format, args...),
	}
}

// expected reports that what was wanted is not at the offset.
func (p *parser) expected(what string) *SyntaxError {
	return p.errorAt(p.off, "expected %s, found %s", what, p.found())
}

// found describes what is at the offset, for error messages.
func (p *parser) found() string {
	if p.eof() {
		return "the end of the expression"
	}
	rest := p.src[p.off:]
	if isSpace(rest[0]) {
		return "a space"
	}
	if strings.IndexByte("()[],", rest[0]) >= 0 {
		return strconv.Quote(rest[:1])
	}
	end := 0
	for end < len(rest) && !isSpace(rest[end]) && strings.IndexByte("()[],", rest[end]) < 0 {
		end++
	}
	const maxShown = 32
	if end > maxShown {
		end = maxShown
		for end > 0 && !utf8.RuneStart(rest[end]) {
			end--
		}
		return strconv.Quote(rest[:end]) + "..."
	}
	return strconv.Quote(rest[:end])
}

// combinator consumes sym or the keyword word if either is next.
func (p *parser) combinator(sym, word string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.src[p.off:], sym) {
		p.off += len(sym)
		return true
	}
	if p.word() == word {
		p.off += len(word)
		return true
	}
	return false
}

func (p *parser) parseOr() (node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	if !p.combinator("||", "or") {
		return first, nil
	}
	or := &orNode{}
	or.add(first)
	for {
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		or.add(n)
		if !p.combinator("||", "or") {
			return or, nil
		}
	}
}

func (p *parser) parseAnd() (node, error) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if !p.combinator("&&", "and") {
		return first, nil
	}
	and := &andNode{}
	and.add(first)
	for {
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		and.add(n)
		if !p.combinator("&&", "and") {
			return and, nil
		}
	}
}

// add appends n, splicing in the children of a parenthesised or.
func (o *orNode) add(n node) {
	if c, ok := n.(*orNode); ok {
		o.subs = append(o.subs, c.subs...)
		return
	}
	o.subs = append(o.subs, n)
}

func (a *andNode) add(n node) {
	if c, ok := n.(*andNode); ok {
		a.subs = append(a.subs, c.subs...)
		return
	}
	a.subs = append(a.subs, n)
}

func (p *parser) parseUnary() (node, error) {
	p.skipSpace()
	start := p.off
	switch {
	case p.peek() == '!': // where a term starts, "!" can only be not
		p.off++
		return p.parseNot(start)
	case p.word() == "not":
		p.off += len("not")
		return p.parseNot(start)
	case p.peek() == '(':
		if err := p.enter(start); err != nil {
			return nil, err
		}
		n, err := p.parseGroup()
		p.depth--
		return n, err
	}
	return p.parseTerm()
}

// parseNot parses what follows "!" or "not" at start.
func (p *parser) parseNot(start int) (node, error) {
	if err := p.enter(start); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.skipSpace()
	var (
		sub node
		err error
	)
	if p.peek() == '(' {
		sub, err = p.parseGroup()
	} else {
		sub, err = p.parseUnary()
	}
	if err != nil {
		return nil, err
	}
	return &notNode{sub: sub}, nil
}

// parseGroup parses a parenthesised expression at the offset.
func (p *parser) parseGroup() (node, error) {
	open := p.off
	p.off++
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		return nil, p.expected(fmt.Sprintf(`"and", "or" or ")" to close the "(" at position %d`, utf8.RuneCountInString(p.src[:open])+1))
	}
	p.off++
	return n, nil
}

func (p *parser) enter(start int) error {
	p.depth++
	if p.depth > maxNesting {
		return p.errorAt(start, "parentheses and not nest more than %d deep", maxNesting)
	}
	return nil
}

const subjectList = "agentConnected, agentVersion, attribute:<name>, ec2InstanceId, registeredAt, runningTasksCount or task:group"

var subjects = map[string]subjectKind{
	"agentConnected":    subjAgentConnected,
	"agentVersion":      subjAgentVersion,
	"ec2InstanceId":     subjEC2InstanceID,
	"registeredAt":      subjRegisteredAt,
	"runningTasksCount": subjRunningTasksCount,
}

func isAttributeNameByte(c byte) bool {
	return isWordByte(c) || c == '-' || c == '/' || c == '\\' || c == '.'
}

func (p *parser) parseSubject() (subject, error) {
	w := p.word()
	if kind, ok := subjects[w]; ok {
		p.off += len(w)
		return subject{kind: kind}, nil
	}
	rest := p.src[p.off:]
	if w == "task" && strings.HasPrefix(rest, "task:group") &&
		(len(rest) == len("task:group") || !isAttributeNameByte(rest[len("task:group")])) {
		p.off += len("task:group")
		return subject{kind: subjTaskGroup}, nil
	}
	if w == "attribute" && strings.HasPrefix(rest, "attribute:") {
		p.off += len("attribute:")
		nameStart := p.off
		for !p.eof() && isAttributeNameByte(p.src[p.off]) {
			p.off++
		}
		name := p.src[nameStart:p.off]
		switch {
		case name == "":
			return subject{}, p.expected(`an attribute name after "attribute:"`)
		case len(name) > maxAttributeName:
			return subject{}, p.errorAt(nameStart, "the attribute name is %d characters long; the limit is %d", len(name), maxAttributeName)
		}
		return subject{kind: subjAttribute, attr: name}, nil
	}
	err := p.expected("a subject (" + subjectList + ")")
	for _, h := range subjectHints {
		if w != h.word && strings.EqualFold(w, h.word) {
			err.Msg += fmt.Sprintf("; subjects are case-sensitive: did you mean %q?", h.subject)
		}
	}
	return subject{}, err
}

// subjectHints are the words subjects start with.
var subjectHints = []struct{ word, subject string }{
	{"agentConnected", "agentConnected"},
	{"agentVersion", "agentVersion"},
	{"attribute", "attribute:"},
	{"ec2InstanceId", "ec2InstanceId"},
	{"registeredAt", "registeredAt"},
	{"runningTasksCount", "runningTasksCount"},
	{"task", "task:group"},
}

// Spellings of the operators. Symbolic ones are tried longest first.
var (
	symbolOps = []struct {
		s  string
		op operator
	}{
		{"!exists", opNotExists}, {"!in", opNotIn},
		{"==", opEq}, {"!=", opNe}, {">=", opGe}, {"<=", opLe}, {"=~", opMatch}, {"!~", opNotMatch},
		{">", opGt}, {"<", opLt},
	}
	wordOps = map[string]operator{
		"equals": opEq, "not_equals": opNe,
		"greater_than": opGt, "greater_than_equal": opGe,
		"less_than": opLt, "less_than_equal": opLe,
		"exists": opExists, "not_exists": opNotExists,
		"in": opIn, "not_in": opNotIn,
		"matches": opMatch, "not_matches": opNotMatch,
	}
)

// parseOperator consumes an operator, if one is next.
func (p *parser) parseOperator() (operator, bool) {
	if w := p.word(); w != "" {
		op, ok := wordOps[w]
		if ok {
			p.off += len(w)
		}
		return op, ok
	}
	rest := p.src[p.off:]
	for _, o := range symbolOps {
		if !strings.HasPrefix(rest, o.s) {
			continue
		}
		// "!in" and "!exists" end where a word would.
		if isWordByte(o.s[len(o.s)-1]) && len(rest) > len(o.s) && isWordByte(rest[len(o.s)]) {
			return 0, false
		}
		p.off += len(o.s)
		return o.op, true
	}
	return 0, false
}

func (p *parser) parseTerm() (node, error) {
	subj, err := p.parseSubject()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	opStart := p.off
	op, ok := p.parseOperator()
	if !ok {
		return nil, p.expected(fmt.Sprintf("an operator after %q", subj.String()))
	}
	valid := subj.operators()
	if !containsOp(valid, op) {
		return nil, p.errorAt(opStart, "operator %q is not valid for %s; use one of %s",
			p.src[opStart:p.off], subj, opList(valid))
	}
	t := &term{subj: subj, op: op}
	spelled := p.src[opStart:p.off]
	switch {
	case op.takesList():
		p.skipSpace()
		if p.peek() != '[' {
			return nil, p.expected(fmt.Sprintf(`"[" to start the list of values after %q`, spelled))
		}
		p.off++
		for {
			a, err := p.parseArg(t, "a value", listStops)
			if err != nil {
				return nil, err
			}
			t.args = append(t.args, a)
			p.skipSpace()
			if p.peek() == ']' {
				p.off++
				break
			}
			if p.peek() != ',' {
				return nil, p.expected(`"," or "]"`)
			}
			p.off++
		}
	case op.takesValue():
		a, err := p.parseArg(t, fmt.Sprintf("a value after %q", spelled), valueStops)
		if err != nil {
			return nil, err
		}
		t.args = []arg{a}
	}
	if op == opMatch || op == opNotMatch {
		re, msg := compileRegexp(t.args[0].text, &p.regexBudget)
		if msg != "" {
			return nil, p.errorAt(t.args[0].off, "%s", msg)
		}
		t.re = re
	}
	return t, nil
}

func containsOp(ops []operator, op operator) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

func opList(ops []operator) string {
	s := make([]string, len(ops))
	for k, o := range ops {
		s[k] = o.String()
	}
	return strings.Join(s, ", ")
}

// Bytes that end a bare value. In a list, so do [ ] and , which a single
// value may hold, as in "ec2InstanceId =~ i-[0-9a-f]+".
const (
	valueStops = "()'\""
	listStops  = "()[],'\""
)

// bareLen returns the length of the bare value at the start of s, which ends
// at a space, at one of stops, or at && or ||.
func bareLen(s, stops string) int {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if isSpace(c) || strings.IndexByte(stops, c) >= 0 {
			return k
		}
		if (c == '&' || c == '|') && k+1 < len(s) && s[k+1] == c {
			return k
		}
	}
	return len(s)
}

// parseArg reads a value and checks it against what t's subject accepts.
func (p *parser) parseArg(t *term, what, stops string) (arg, error) {
	p.skipSpace()
	start := p.off
	var text string
	switch q := p.peek(); q {
	case '\'', '"':
		end := strings.IndexByte(p.src[p.off+1:], q)
		if end < 0 {
			return arg{}, p.errorAt(start, "the quoted value has no closing %c", q)
		}
		text = p.src[p.off+1 : p.off+1+end]
		p.off += end + 2
	default:
		n := bareLen(p.src[p.off:], stops)
		if n == 0 {
			e := p.expected(what)
			if !p.eof() {
				e.Msg += "; quote a value that holds spaces or any of " + strings.Join(strings.Split(stops, ""), " ")
			}
			return arg{}, e
		}
		text = p.src[p.off : p.off+n]
		p.off += n
	}
	a := arg{text: text, off: start}
	if t.op == opMatch || t.op == opNotMatch {
		return a, nil // compiled by the caller
	}
	var ok bool
	switch t.subj.kind {
	case subjAgentConnected:
		a.b = strings.EqualFold(text, "true")
		if !a.b && !strings.EqualFold(text, "false") {
			return arg{}, p.errorAt(start, "agentConnected is true or false, not %q", text)
		}
	case subjAgentVersion:
		if a.version, ok = parseVersion(text); !ok {
			return arg{}, p.errorAt(start, "%q is not an agent version; expected numbers separated by dots, such as 1.14.5", text)
		}
	case subjRegisteredAt:
		if a.time, a.frac, ok = parseTime(text); !ok {
			return arg{}, p.errorAt(start, "%q is not a date; expected 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18", text)
		}
	case subjRunningTasksCount:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return arg{}, p.errorAt(start, "%q is not a whole number", text)
		}
		a.n = n
	case subjAttribute:
		a.dec, a.isDec = parseDecimal(text)
	}
	return a, nil
}
