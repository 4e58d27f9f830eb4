package pattern

import (
	"strconv"
	"strings"
)

// delimited is a space-delimited pattern, [ip, user, ..., status = 4*]: each
// slot names one field of the message, "..." stands for any number of
// fields, and a slot may carry conditions on its field.
type delimited struct {
	slots []slot
}

type slot struct {
	ellipsis bool
	name     string
	test     fieldTest // nil: any value
}

type fieldTest interface {
	ok(field string) bool
}

type fieldAnd struct{ l, r fieldTest }

func (t fieldAnd) ok(f string) bool { return t.l.ok(f) && t.r.ok(f) }

type fieldOr struct{ l, r fieldTest }

func (t fieldOr) ok(f string) bool { return t.l.ok(f) || t.r.ok(f) }

type fieldCond struct {
	op  int
	val value
}

func (c fieldCond) ok(f string) bool {
	switch c.op {
	case opEq, opNe:
		eq := c.val.matchText([]byte(f))
		if c.val.isNum && c.val.re == nil {
			if n, err := strconv.ParseFloat(f, 64); err == nil && isNumber(f) {
				eq = n == c.val.num
			}
		}
		return eq == (c.op == opEq)
	}
	if !isNumber(f) {
		return false
	}
	n, err := strconv.ParseFloat(f, 64)
	return err == nil && compare(c.op, n, c.val.num)
}

func (d *delimited) match(msg []byte) bool {
	fields := splitFields(string(msg))
	// reach[j]: the slots so far can consume exactly fields[:j].
	reach := make([]bool, len(fields)+1)
	reach[0] = true
	for _, s := range d.slots {
		next := make([]bool, len(fields)+1)
		progressed := false
		for j, r := range reach {
			if !r {
				continue
			}
			if s.ellipsis {
				for k := j; k <= len(fields); k++ {
					next[k] = true
				}
				progressed = true
				break
			}
			if j < len(fields) && (s.test == nil || s.test.ok(fields[j])) {
				next[j+1] = true
				progressed = true
			}
		}
		if !progressed {
			return false
		}
		reach = next
	}
	return reach[len(fields)]
}

// splitFields splits a message at spaces; text between double quotes or
// between [ and ] is one field, without its quotes or brackets.
func splitFields(msg string) []string {
	var fields []string
	i := 0
	for i < len(msg) {
		if isSpace(msg[i]) {
			i++
			continue
		}
		var closer byte
		switch msg[i] {
		case '"':
			closer = '"'
		case '[':
			closer = ']'
		}
		if closer != 0 {
			if end := strings.IndexByte(msg[i+1:], closer); end >= 0 {
				fields = append(fields, msg[i+1:i+1+end])
				i += end + 2
				continue
			}
		}
		j := i
		for j < len(msg) && !isSpace(msg[j]) {
			j++
		}
		fields = append(fields, msg[i:j])
		i = j
	}
	return fields
}

func parseDelimited(s string, off int) (matcher, error) {
	if len(s) < 2 || s[len(s)-1] != ']' {
		return nil, errAt(off, "space-delimited pattern without a closing ]")
	}
	body, boff := s[1:len(s)-1], off+1
	parts, offs, err := splitSlots(body, boff)
	if err != nil {
		return nil, err
	}
	d := &delimited{}
	for k, part := range parts {
		text := strings.TrimSpace(part)
		if text == "" {
			if len(parts) == 1 {
				return nil, errAt(offs[k], "no fields")
			}
			// An unnamed field, as after the trailing comma of
			// [..., status_code=4*,]: it matches any value.
			d.slots = append(d.slots, slot{})
			continue
		}
		if text == "..." {
			d.slots = append(d.slots, slot{ellipsis: true})
			continue
		}
		sl, err := parseSlot(text, offs[k]+strings.Index(part, text))
		if err != nil {
			return nil, err
		}
		d.slots = append(d.slots, sl)
	}
	return d, nil
}

// splitSlots splits at commas outside double quotes.
func splitSlots(s string, off int) ([]string, []int, error) {
	var parts []string
	var offs []int
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == ',' && !inQuote:
			parts, offs = append(parts, s[start:i]), append(offs, off+start)
			start = i + 1
		}
	}
	if inQuote {
		return nil, nil, errAt(off+start, "unterminated quoted string")
	}
	return append(parts, s[start:]), append(offs, off+start), nil
}

// parseSlot parses name, or name op value { (&& | ||) name op value } with
// every condition on the slot's own name.
func parseSlot(s string, off int) (slot, error) {
	p := &jsonParser{s: s, off: off}
	name := p.slotName()
	if name == "" {
		return slot{}, p.err("a field needs a name")
	}
	sl := slot{name: name}
	p.skipSpace()
	if p.i == len(p.s) {
		return sl, nil
	}
	// Conditions: && binds tighter than ||, as in JSON patterns.
	var or, and fieldTest
	first := true
	for {
		if !first {
			p.skipSpace()
			if n := p.slotName(); n != name {
				return slot{}, p.err("a condition on field %q names %q", name, n)
			}
		}
		first = false
		op, ok := p.parseOp()
		if !ok {
			return slot{}, p.err("expected a comparison operator")
		}
		v, err := p.parseValue()
		if err != nil {
			return slot{}, err
		}
		if op != opEq && op != opNe && !v.isNum {
			return slot{}, p.err("%s needs a number", opName(op))
		}
		var c fieldTest = fieldCond{op: op, val: v}
		if and != nil {
			c = fieldAnd{and, c}
		}
		and = c
		switch {
		case p.accept("&&"):
		case p.accept("||"):
			if or != nil {
				and = fieldOr{or, and}
			}
			or, and = and, nil
		default:
			p.skipSpace()
			if p.i != len(p.s) {
				return slot{}, p.err("unexpected %q", p.s[p.i:])
			}
			if or != nil {
				and = fieldOr{or, and}
			}
			sl.test = and
			return sl, nil
		}
	}
}

// slotName reads a field name: letters, digits, _ and $.
func (p *jsonParser) slotName() string {
	p.skipSpace()
	j := p.i
	for j < len(p.s) && (isAlnum(p.s[j]) || p.s[j] == '_' || p.s[j] == '$') {
		j++
	}
	name := p.s[p.i:j]
	p.i = j
	return name
}
