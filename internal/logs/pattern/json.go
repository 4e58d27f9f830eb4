package pattern

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// jsonMatcher is a { ... } pattern, evaluated on messages that are JSON.
// Only the values its selectors name are extracted from a message; the
// rest is skipped without being decoded.
type jsonMatcher struct {
	root   node
	trie   *pathNode
	nslots int
}

type node interface {
	eval(vals []jval) bool
}

type andNode struct{ l, r node }

func (n andNode) eval(vals []jval) bool { return n.l.eval(vals) && n.r.eval(vals) }

type orNode struct{ l, r node }

func (n orNode) eval(vals []jval) bool { return n.l.eval(vals) || n.r.eval(vals) }

// valsPool recycles the slots a match fills, so that matching allocates
// nothing.
var valsPool = sync.Pool{New: func() any { return new([]jval) }}

func (m *jsonMatcher) match(msg []byte) bool {
	p := valsPool.Get().(*[]jval)
	defer valsPool.Put(p)
	if cap(*p) < m.nslots {
		*p = make([]jval, m.nslots)
	}
	vals := (*p)[:m.nslots]
	clear(vals)
	if !scanJSON(msg, m.trie, vals) {
		return false
	}
	return m.root.eval(vals)
}

// The operators of a condition.
const (
	opEq = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opIsNull
	opIsTrue
	opIsFalse
	opNotExists
)

// step is one selector segment: a property name, or an array index when
// key is empty and index >= 0.
type step struct {
	key   string
	index int
}

type cond struct {
	path []step
	slot int // where the scan puts the selected value
	op   int
	val  value
}

// value is the right-hand side of a comparison.
type value struct {
	text  string // unquoted text
	num   float64
	isNum bool
	g     glob
	re    *regexp.Regexp
}

func (v value) matchText(s []byte) bool {
	if v.re != nil {
		return v.re.Match(s)
	}
	return v.g.match(s)
}

var (
	trueBytes  = []byte("true")
	falseBytes = []byte("false")
)

// equal compares a scalar JSON value with v: numbers numerically when v is a
// number, anything else by its text against v's wildcard or regex.
func (v value) equal(x jval) bool {
	switch x.kind {
	case kindString:
		return v.matchText(x.text())
	case kindNumber:
		if v.isNum && v.re == nil && !v.g.any {
			f, ok := x.float()
			return ok && f == v.num
		}
		return v.matchText(x.raw)
	case kindTrue:
		return v.matchText(trueBytes)
	case kindFalse:
		return v.matchText(falseBytes)
	}
	return false
}

func (c *cond) eval(vals []jval) bool {
	x := vals[c.slot]
	switch c.op {
	case opNotExists:
		return x.kind == kindMissing
	case opIsNull:
		return x.kind == kindNull
	case opIsTrue:
		return x.kind == kindTrue
	case opIsFalse:
		return x.kind == kindFalse
	}
	switch x.kind {
	case kindMissing, kindNull, kindObject, kindArray:
		// A selector must point at a string, number or boolean; on an
		// object, an array or null neither = nor != holds.
		return false
	}
	switch c.op {
	case opEq:
		return c.val.equal(x)
	case opNe:
		return !c.val.equal(x)
	}
	if x.kind != kindNumber {
		return false
	}
	f, ok := x.float()
	return ok && compare(c.op, f, c.val.num)
}

func compare(op int, a, b float64) bool {
	switch op {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	case opGe:
		return a >= b
	}
	return false
}

// jsonParser is a recursive-descent parser of the inside of { }:
//
//	or   = and { "||" and }
//	and  = unit { "&&" unit }
//	unit = "(" or ")" | cond
//	cond = selector ( op value | "IS" ("NULL"|"TRUE"|"FALSE") | "NOT" "EXISTS" )
type jsonParser struct {
	s     string
	i     int
	off   int // offset of s in the whole pattern
	conds []*cond
}

// maxDepth bounds the nesting of parentheses, so that a hostile pattern
// cannot exhaust the stack.
const maxDepth = 64

func parseJSON(s string, off int) (matcher, error) {
	if len(s) < 2 || s[len(s)-1] != '}' {
		return nil, errAt(off, "JSON pattern without a closing }")
	}
	p := &jsonParser{s: s[1 : len(s)-1], off: off + 1}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, p.err("unexpected %q", p.s[p.i:])
	}
	m := &jsonMatcher{root: root, trie: newPathNode()}
	for _, c := range p.conds {
		c.slot = m.trie.insert(c.path, &m.nslots)
	}
	return m, nil
}

func (p *jsonParser) err(format string, args ...any) error {
	return errAt(p.off+p.i, format, args...)
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *jsonParser) accept(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *jsonParser) parseOr(depth int) (node, error) {
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.accept("||") {
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *jsonParser) parseAnd(depth int) (node, error) {
	l, err := p.parseUnit(depth)
	if err != nil {
		return nil, err
	}
	for p.accept("&&") {
		r, err := p.parseUnit(depth)
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *jsonParser) parseUnit(depth int) (node, error) {
	if p.accept("(") {
		if depth >= maxDepth {
			return nil, p.err("parentheses nested deeper than %d", maxDepth)
		}
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.accept(")") {
			return nil, p.err("missing )")
		}
		return n, nil
	}
	return p.parseCond()
}

func (p *jsonParser) parseCond() (node, error) {
	p.skipSpace()
	if p.i == len(p.s) || p.s[p.i] != '$' {
		return nil, p.err("a condition must start with a $ selector")
	}
	path, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	c := &cond{path: path}
	p.conds = append(p.conds, c)
	p.skipSpace()
	if w := p.peekWord(); strings.EqualFold(w, "IS") {
		p.i += len(w)
		p.skipSpace()
		w = p.peekWord()
		switch strings.ToUpper(w) {
		case "NULL":
			c.op = opIsNull
		case "TRUE":
			c.op = opIsTrue
		case "FALSE":
			c.op = opIsFalse
		default:
			return nil, p.err("IS must be followed by NULL, TRUE or FALSE")
		}
		p.i += len(w)
		return c, nil
	} else if strings.EqualFold(w, "NOT") {
		p.i += len(w)
		p.skipSpace()
		if w = p.peekWord(); !strings.EqualFold(w, "EXISTS") {
			return nil, p.err("NOT must be followed by EXISTS")
		}
		p.i += len(w)
		c.op = opNotExists
		return c, nil
	}
	op, ok := p.parseOp()
	if !ok {
		return nil, p.err("expected a comparison operator")
	}
	c.op = op
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	if op != opEq && op != opNe && !v.isNum {
		return nil, p.err("%s needs a number", opName(op))
	}
	c.val = v
	return c, nil
}

func opName(op int) string {
	return [...]string{"=", "!=", "<", "<=", ">", ">="}[op]
}

// parseOp reads a comparison operator.
func (p *jsonParser) parseOp() (int, bool) {
	for _, o := range []struct {
		tok string
		op  int
	}{{"!=", opNe}, {"<=", opLe}, {">=", opGe}, {"=", opEq}, {"<", opLt}, {">", opGt}} {
		if p.accept(o.tok) {
			return o.op, true
		}
	}
	return 0, false
}

// peekWord returns the run of letters at the cursor.
func (p *jsonParser) peekWord() string {
	j := p.i
	for j < len(p.s) && (p.s[j] >= 'a' && p.s[j] <= 'z' || p.s[j] >= 'A' && p.s[j] <= 'Z') {
		j++
	}
	return p.s[p.i:j]
}

// parseSelector reads $ followed by .name and [index] segments.
func (p *jsonParser) parseSelector() ([]step, error) {
	p.i++ // $
	var path []step
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '.':
			p.i++
			j := p.i
			for j < len(p.s) && isKeyByte(p.s[j]) {
				j++
			}
			if j == p.i {
				return nil, p.err("empty property name in selector")
			}
			path = append(path, step{key: p.s[p.i:j], index: -1})
			p.i = j
		case '[':
			j := p.i + 1
			for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
				j++
			}
			if j == p.i+1 || j == len(p.s) || p.s[j] != ']' {
				return nil, p.err("array index must be [digits]")
			}
			n, err := strconv.Atoi(p.s[p.i+1 : j])
			if err != nil {
				return nil, p.err("array index out of range")
			}
			path = append(path, step{index: n})
			p.i = j + 1
		default:
			return path, nil
		}
	}
	return path, nil
}

// isKeyByte reports whether c may appear in a property name: letters,
// digits, _ - @ # : and any byte of a multi-byte character.
func isKeyByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '@' || c == '#' || c == ':' || c >= 0x80
}

// parseValue reads a "quoted string", a %regex%, or a bare word (a number,
// or text such as 123.123.* or Update*).
func (p *jsonParser) parseValue() (value, error) {
	p.skipSpace()
	if p.i == len(p.s) {
		return value{}, p.err("missing value")
	}
	switch p.s[p.i] {
	case '"':
		text, n, err := readQuoted(p.s[p.i:], p.off+p.i)
		if err != nil {
			return value{}, err
		}
		p.i += n
		return textValue(text), nil
	case '%':
		end := strings.IndexByte(p.s[p.i+1:], '%')
		if end < 0 {
			return value{}, p.err("regular expression without a closing %%")
		}
		re, err := compileRegex(p.s[p.i+1:p.i+1+end], p.off+p.i+1)
		if err != nil {
			return value{}, err
		}
		p.i += end + 2
		return value{re: re}, nil
	}
	j := p.i
	for j < len(p.s) && !isSpace(p.s[j]) && !strings.ContainsRune("()&|\"%=!<>", rune(p.s[j])) {
		j++
	}
	if j == p.i {
		return value{}, p.err("missing value")
	}
	v := textValue(p.s[p.i:j])
	p.i = j
	return v, nil
}

func textValue(s string) value {
	v := value{text: s, g: newGlob(s)}
	if isNumber(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			v.num, v.isNum = f, true
		}
	}
	return v
}

// isNumber reports whether s is an integer, a decimal or a number in
// scientific notation, each with an optional sign.
func isNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
