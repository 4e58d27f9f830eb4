package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// refMatch evaluates a JSON pattern the plain way: decode the whole message
// with encoding/json, then look the selectors up. The scanner must agree.
func refMatch(m *jsonMatcher, msg []byte) bool {
	trimmed := bytes.TrimLeft(msg, " \t\r\n")
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(msg))
	d.UseNumber()
	var doc any
	if d.Decode(&doc) != nil {
		return false
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return false // something after the value
	}
	return refEval(m.root, doc)
}

func refEval(n node, doc any) bool {
	switch n := n.(type) {
	case andNode:
		return refEval(n.l, doc) && refEval(n.r, doc)
	case orNode:
		return refEval(n.l, doc) || refEval(n.r, doc)
	case *cond:
		vals := make([]jval, n.slot+1)
		vals[n.slot] = toJval(resolve(doc, n.path))
		return n.eval(vals)
	}
	panic("unknown node")
}

func resolve(doc any, path []step) (any, bool) {
	cur := doc
	for _, s := range path {
		if s.key != "" || s.index < 0 {
			obj, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = obj[s.key]; !ok {
				return nil, false
			}
			continue
		}
		arr, ok := cur.([]any)
		if !ok || s.index >= len(arr) {
			return nil, false
		}
		cur = arr[s.index]
	}
	return cur, true
}

func toJval(x any, ok bool) jval {
	if !ok {
		return jval{}
	}
	switch x := x.(type) {
	case string:
		return jval{kind: kindString, raw: []byte(x)}
	case json.Number:
		return jval{kind: kindNumber, raw: []byte(x)}
	case bool:
		if x {
			return jval{kind: kindTrue}
		}
		return jval{kind: kindFalse}
	case nil:
		return jval{kind: kindNull}
	case map[string]any:
		return jval{kind: kindObject}
	case []any:
		return jval{kind: kindArray}
	}
	panic("unknown JSON value")
}

func TestScanAgreesWithDecoding(t *testing.T) {
	msgs := []string{trailEvent, usersEvent, metricsEvent, `{"a": 1, "a": "x"}`, `{"a": {"b": 1}, "a": 2}`, `{"k\u0065y": "v\"q"}`,
		`{"a": 1} trailing`, `{"a": 01}`, `{"a": "\x"}`, `{"a": [1, 2,]}`, `{"a": 1e400}`, " [ {\"a\" : -0.5e-3 } ] ", `{"a":"é\u00e9"}`}
	patterns := []string{`{ $.a = 1 }`, `{ $.a = "x" }`, `{ $.a.b = 1 }`, `{ $.a NOT EXISTS }`, `{ $.key = "v\"q" }`, `{ $[0].a < 0 }`,
		`{ $.a IS NULL || $.a[1] = 2 }`, `{ $.a = "é*" }`, `{ $.eventType = Update* && $.arrayKey[1] = "another value" }`, `{ $.a > 1 }`}
	for _, ps := range patterns {
		p, err := Parse(ps)
		if err != nil {
			t.Fatal(err)
		}
		m := p.m.(*jsonMatcher)
		for _, msg := range msgs {
			if got, want := m.match([]byte(msg)), refMatch(m, []byte(msg)); got != want {
				t.Errorf("Parse(%q).Match(%q) = %v; decoding the message says %v", ps, msg, got, want)
			}
		}
	}
}

// FuzzJSONScan checks the scanner against full decoding.
func FuzzJSONScan(f *testing.F) {
	f.Add(`{ $.a = 1 }`, `{"a": 1}`)
	f.Add(`{ $.a.b[1] != "x*" || $.c IS TRUE }`, `{"a": {"b": [0, "xy"]}, "c": true}`)
	f.Add(`{ $.n >= -1.5e3 && $.s = %^a% }`, `{"n": -1500, "s": "abc", "s": "a\u0062"}`)
	f.Add(`{ $.a NOT EXISTS }`, `[{"a": null}]`)
	f.Fuzz(func(t *testing.T, ps, msg string) {
		p, err := Parse(ps)
		if err != nil {
			return
		}
		m, ok := p.m.(*jsonMatcher)
		if !ok {
			return
		}
		if got, want := m.match([]byte(msg)), refMatch(m, []byte(msg)); got != want {
			t.Fatalf("Parse(%q).Match(%q) = %v; decoding the message says %v", ps, msg, got, want)
		}
	})
}
