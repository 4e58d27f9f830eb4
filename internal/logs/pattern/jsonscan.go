package pattern

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// pathNode is a trie of the selectors of a JSON pattern: the scan follows
// it and records the values at its slots.
type pathNode struct {
	keys  map[string]*pathNode
	index map[int]*pathNode
	slot  int   // -1: no selector ends here
	under []int // the slots in this subtree, this one included
}

func newPathNode() *pathNode { return &pathNode{slot: -1} }

// insert adds a selector and returns its slot; *n counts the slots.
func (t *pathNode) insert(path []step, n *int) int {
	cur := t
	var seen []*pathNode
	for _, s := range path {
		seen = append(seen, cur)
		var next *pathNode
		if s.key != "" || s.index < 0 {
			if cur.keys == nil {
				cur.keys = map[string]*pathNode{}
			}
			if next = cur.keys[s.key]; next == nil {
				next = newPathNode()
				cur.keys[s.key] = next
			}
		} else {
			if cur.index == nil {
				cur.index = map[int]*pathNode{}
			}
			if next = cur.index[s.index]; next == nil {
				next = newPathNode()
				cur.index[s.index] = next
			}
		}
		cur = next
	}
	if cur.slot < 0 {
		cur.slot = *n
		*n++
		for _, p := range append(seen, cur) {
			p.under = append(p.under, cur.slot)
		}
	}
	return cur.slot
}

// The kinds of JSON value a scan records.
const (
	kindMissing = iota
	kindString
	kindNumber
	kindTrue
	kindFalse
	kindNull
	kindObject
	kindArray
)

// jval is a value found in a message: its kind and, for strings and
// numbers, its bytes in the message.
type jval struct {
	kind byte
	esc  bool   // a string with escapes
	raw  []byte // a string's content between its quotes, a number's text
}

// text returns a string value's text, unescaped.
func (v jval) text() []byte {
	if !v.esc {
		return v.raw
	}
	var s string
	quoted := make([]byte, 0, len(v.raw)+2)
	quoted = append(append(append(quoted, '"'), v.raw...), '"')
	if json.Unmarshal(quoted, &s) != nil {
		return v.raw
	}
	return []byte(s)
}

// float returns a number value.
func (v jval) float() (float64, bool) {
	// Small integers are most numbers in logs: parse them without
	// allocating.
	if len(v.raw) > 0 && len(v.raw) <= 15 {
		neg, digits := v.raw[0] == '-', v.raw
		if neg {
			digits = digits[1:]
		}
		n, ok := int64(0), len(digits) > 0
		for _, c := range digits {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n = n*10 + int64(c-'0')
		}
		if ok {
			if neg {
				n = -n
			}
			return float64(n), true
		}
	}
	f, err := strconv.ParseFloat(string(v.raw), 64)
	return f, err == nil
}

// maxJSONDepth bounds the nesting a scan follows, as encoding/json does.
const maxJSONDepth = 10000

// scanJSON checks that msg is one JSON value and records into vals the
// values at the trie's slots. It reports false for anything that is not
// JSON (a pattern then does not match).
func scanJSON(msg []byte, trie *pathNode, vals []jval) bool {
	s := jscan{b: msg, vals: vals}
	s.ws()
	if s.i == len(s.b) || (s.b[s.i] != '{' && s.b[s.i] != '[') {
		return false
	}
	if !s.value(trie, 0) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

type jscan struct {
	b    []byte
	i    int
	vals []jval
}

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans the value at s.i; n (nil when no selector goes there) says
// what to record of it.
func (s *jscan) value(n *pathNode, depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	if n != nil {
		// Only the last of duplicate keys counts: forget what an
		// earlier one recorded.
		for _, slot := range n.under {
			s.vals[slot] = jval{}
		}
	}
	s.ws()
	if s.i == len(s.b) {
		return false
	}
	var v jval
	switch c := s.b[s.i]; {
	case c == '{':
		v.kind = kindObject
		if !s.object(n, depth) {
			return false
		}
	case c == '[':
		v.kind = kindArray
		if !s.array(n, depth) {
			return false
		}
	case c == '"':
		raw, esc, ok := s.str()
		if !ok {
			return false
		}
		v = jval{kind: kindString, raw: raw, esc: esc}
	case c == 't':
		v.kind = kindTrue
		if !s.lit("true") {
			return false
		}
	case c == 'f':
		v.kind = kindFalse
		if !s.lit("false") {
			return false
		}
	case c == 'n':
		v.kind = kindNull
		if !s.lit("null") {
			return false
		}
	case c == '-' || c >= '0' && c <= '9':
		raw, ok := s.num()
		if !ok {
			return false
		}
		v = jval{kind: kindNumber, raw: raw}
	default:
		return false
	}
	if n != nil && n.slot >= 0 {
		s.vals[n.slot] = v
	}
	return true
}

func (s *jscan) lit(word string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// str scans a string, returning its content between the quotes.
func (s *jscan) str() (raw []byte, esc, ok bool) {
	start := s.i + 1
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return s.b[start:i], esc, true
		case c == '\\':
			esc = true
			i++
			if i < len(s.b) && s.b[i] == 'u' {
				if i+4 >= len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return nil, false, false
					}
				}
				i += 4
			} else if i >= len(s.b) || bytes.IndexByte([]byte(`"\/bfnrt`), s.b[i]) < 0 {
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

// num scans a number as JSON writes them.
func (s *jscan) num() ([]byte, bool) {
	start, i := s.i, s.i
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
		}
		return i - j
	}
	if n := digits(); n == 0 || (n > 1 && s.b[i-n] == '0') {
		return nil, false
	}
	if i < len(s.b) && s.b[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	s.i = i
	return s.b[start:i], true
}

func (s *jscan) object(n *pathNode, depth int) bool {
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		s.ws()
		if s.i == len(s.b) || s.b[s.i] != '"' {
			return false
		}
		key, esc, ok := s.str()
		if !ok {
			return false
		}
		var child *pathNode
		if n != nil && n.keys != nil {
			if esc {
				key = jval{kind: kindString, raw: key, esc: true}.text()
			}
			child = n.keys[string(key)]
		}
		s.ws()
		if s.i == len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		if !s.value(child, depth+1) {
			return false
		}
		s.ws()
		if s.i == len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *jscan) array(n *pathNode, depth int) bool {
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for k := 0; ; k++ {
		var child *pathNode
		if n != nil && n.index != nil {
			child = n.index[k]
		}
		if !s.value(child, depth+1) {
			return false
		}
		s.ws()
		if s.i == len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}
