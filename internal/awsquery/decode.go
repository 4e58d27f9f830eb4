package awsquery

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// MaxListMembers bounds the members of one list or the entries of one
	// map in a request. AWS's largest awsQuery request lists (CloudWatch
	// PutMetricData.MetricData, 1000) fit.
	MaxListMembers = 1000

	// maxKeySegments bounds the dot-separated segments of one form key; the
	// deepest real parameters (ELBv2 rule actions) have about ten. It keeps
	// decoding of recursive types from descending without limit.
	maxKeySegments = 32

	// maxQuoted and maxParam bound how much of a client's value and key are
	// echoed into an error message. Real keys reach about 90 bytes (ELBv2
	// Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams...).
	maxQuoted = 64
	maxParam  = 256
)

// DecodeError reports a request parameter that cannot be decoded: a value
// that does not parse for its type or a malformed list or map index. The API
// package turns it into its own error code (ValidationError,
// InvalidParameterValue, ...).
type DecodeError struct {
	Param   string // the form key, e.g. "Tags.member.2.Key"
	Message string // a client-facing sentence naming Param
}

func (e *DecodeError) Error() string { return e.Message }

// node is one segment of the form keys: "Tags.member.1.Key=k" is the path
// Tags -> member -> 1 -> Key, with value k on the last node.
type node struct {
	val  string
	set  bool // a key ends at this node
	kids map[string]*node
}

func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	return n.kids[name]
}

// Decode fills the struct pointed to by v from awsQuery form values.
//
// Member names come from the struct tag `query:"Name"` (default: the Go field
// name); top-level members are bare keys (RoleName=x), nested ones are
// dotted (Parent.Member=x). Tag options:
//
//	flat                 flattened list or map (Foo.1=a instead of Foo.member.1=a)
//	member=item          custom list member name (Foo.item.1=a)
//	key=K, value=V       custom map entry names (Foo.entry.1.K=k&Foo.entry.1.V=v)
//	timestamp=F          date-time (default), epoch-seconds or http-date
//	omitempty            ignored here; see Marshal
//
// Lists are Foo.member.N (N from 1, contiguous, at most MaxListMembers); an
// empty list is "Foo=" and decodes to an empty non-nil slice. Maps are
// Foo.entry.N.key / Foo.entry.N.value. Booleans are true/false, timestamps
// ISO 8601 date-time, blobs base64. Pointers mark optional members and stay
// nil when absent. Action, Version and unknown keys are ignored, as AWS does.
//
// A value that does not parse for its type or a malformed index yields a
// *DecodeError; any other error means v's type is not supported.
func Decode(form url.Values, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("awsquery: Decode needs a non-nil pointer to a struct, got %T", v)
	}
	c, err := planFor(rv.Elem().Type())
	if err != nil {
		return err
	}
	root := &node{kids: map[string]*node{}}
	tooDeep := ""
	for key, vals := range form {
		if len(vals) == 0 || key == "Action" || key == "Version" {
			continue
		}
		first, rest, nested := strings.Cut(key, ".")
		if c.byName[first] == nil {
			continue // unknown parameter
		}
		if nested && strings.Count(rest, ".") >= maxKeySegments-1 {
			if tooDeep == "" || key < tooDeep { // the same error whatever the map order
				tooDeep = key
			}
			continue
		}
		n := root.add(first)
		for nested {
			var seg string
			seg, rest, nested = strings.Cut(rest, ".")
			n = n.add(seg)
		}
		n.val, n.set = vals[0], true
	}
	if tooDeep != "" {
		p := clip(tooDeep, maxParam)
		return &DecodeError{Param: p, Message: fmt.Sprintf("Parameter %s is nested too deeply.", p)}
	}
	d := decoder{path: make([]string, 0, 8)}
	return d.value(root, rv.Elem(), c, defaultOptions)
}

func (n *node) add(seg string) *node {
	if n.kids == nil {
		n.kids = map[string]*node{}
	}
	k := n.kids[seg]
	if k == nil {
		k = &node{}
		n.kids[seg] = k
	}
	return k
}

// decoder walks the key tree and the codec together. path holds the key
// segments down to the node being decoded, for error messages.
type decoder struct {
	path []string
}

func (d *decoder) push(seg string) { d.path = append(d.path, seg) }
func (d *decoder) pop()            { d.path = d.path[:len(d.path)-1] }
func (d *decoder) param() string   { return clip(strings.Join(d.path, "."), maxParam) }

// present reports whether n carries anything for a value of codec c, so
// that optional members stay nil when only unrelated keys share their prefix.
func present(n *node, c *codec) bool {
	switch c.kind {
	case kPtr:
		return present(n, c.elem)
	case kStruct:
		return len(n.kids) > 0
	case kSlice, kMap:
		return n.set || len(n.kids) > 0
	default:
		return n.set
	}
}

func (d *decoder) value(n *node, v reflect.Value, c *codec, o options) error {
	switch c.kind {
	case kPtr:
		if !present(n, c.elem) {
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(c.elem.typ))
		}
		return d.value(n, v.Elem(), c.elem, o)
	case kStruct:
		for i := range c.fields {
			f := &c.fields[i]
			k := n.child(f.name)
			if k == nil {
				continue
			}
			d.push(f.name)
			err := d.value(k, v.FieldByIndex(f.index), f.codec, f.opts)
			d.pop()
			if err != nil {
				return err
			}
		}
		return nil
	case kSlice:
		return d.list(n, v, c, o)
	case kMap:
		return d.mapping(n, v, c, o)
	}
	if !n.set {
		return nil // only deeper keys: not this scalar
	}
	return d.scalar(n.val, v, c, o)
}

func (d *decoder) list(n *node, v reflect.Value, c *codec, o options) error {
	if n.set && n.val != "" {
		return d.listValue(n.val)
	}
	items := n
	if !o.flat {
		if items = n.child(o.member); items != nil {
			d.push(o.member)
			defer d.pop()
			if items.set {
				return d.badIndex()
			}
		}
	}
	if items == nil || len(items.kids) == 0 {
		if n.set { // "Foo=": present and empty
			v.Set(reflect.MakeSlice(c.typ, 0, 0))
		}
		return nil
	}
	nodes, err := d.indexed(items)
	if err != nil {
		return err
	}
	s := reflect.MakeSlice(c.typ, len(nodes), len(nodes))
	eo := o.elemOptions()
	for i, e := range nodes {
		d.push(strconv.Itoa(i + 1))
		err := d.element(e, s.Index(i), c.elem, eo)
		d.pop()
		if err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func (d *decoder) mapping(n *node, v reflect.Value, c *codec, o options) error {
	if n.set && n.val != "" {
		return d.listValue(n.val)
	}
	entries := n
	if !o.flat {
		if entries = n.child("entry"); entries != nil {
			d.push("entry")
			defer d.pop()
			if entries.set {
				return d.badIndex()
			}
		}
	}
	if entries == nil || len(entries.kids) == 0 {
		if n.set {
			v.Set(reflect.MakeMapWithSize(c.typ, 0))
		}
		return nil
	}
	nodes, err := d.indexed(entries)
	if err != nil {
		return err
	}
	m := reflect.MakeMapWithSize(c.typ, len(nodes))
	eo := o.elemOptions()
	keyType := c.typ.Key()
	for i, e := range nodes {
		d.push(strconv.Itoa(i + 1))
		k := e.child(o.key)
		if k == nil || !k.set {
			d.push(o.key)
			p := d.param()
			return &DecodeError{Param: p, Message: fmt.Sprintf("Parameter %s is missing: every map entry needs a key.", p)}
		}
		vn := e.child(o.value)
		if vn == nil {
			vn = &node{} // a value with nothing set: zero, or an allocated pointer
		}
		val := reflect.New(c.elem.typ).Elem()
		d.push(o.value)
		err := d.element(vn, val, c.elem, eo)
		d.pop()
		if err != nil {
			return err
		}
		d.pop()
		m.SetMapIndex(reflect.ValueOf(k.val).Convert(keyType), val)
	}
	v.Set(m)
	return nil
}

// element decodes a list member or map value. Unlike an optional struct
// member, a pointer element is always allocated so that list positions hold.
func (d *decoder) element(n *node, v reflect.Value, c *codec, o options) error {
	if c.kind == kPtr {
		v.Set(reflect.New(c.elem.typ))
		return d.value(n, v.Elem(), c.elem, o)
	}
	return d.value(n, v, c, o)
}

// indexed returns the children of a list or map container ordered by their
// 1-based index, rejecting anything but exactly 1..n.
func (d *decoder) indexed(items *node) ([]*node, error) {
	if len(items.kids) > MaxListMembers {
		p := d.param()
		return nil, &DecodeError{Param: p, Message: fmt.Sprintf("Parameter %s has more than %d members.", p, MaxListMembers)}
	}
	nodes := make([]*node, len(items.kids))
	bad, found := "", false
	for seg, k := range items.kids {
		i, ok := parseIndex(seg)
		if !ok || i > len(nodes) {
			// Report the lowest bad index, whatever the map order.
			if !found || len(seg) < len(bad) || len(seg) == len(bad) && seg < bad {
				bad, found = seg, true
			}
			continue
		}
		nodes[i-1] = k
	}
	if found {
		d.push(bad)
		return nil, d.badIndex()
	}
	return nodes, nil
}

// parseIndex accepts a canonical decimal index from 1 to MaxListMembers.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 4 || s[0] == '0' {
		return 0, false
	}
	i := 0
	for j := 0; j < len(s); j++ {
		c := s[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, i <= MaxListMembers
}

func (d *decoder) badIndex() error {
	p := d.param()
	return &DecodeError{Param: p, Message: fmt.Sprintf(
		"Parameter %s has an invalid index: members are numbered 1, 2, 3, ... without gaps, up to %d.", p, MaxListMembers)}
}

func (d *decoder) listValue(val string) error {
	return d.invalid(val, "A list or map takes members, not a value.")
}

func (d *decoder) invalid(val, why string) error {
	p := d.param()
	return &DecodeError{Param: p, Message: fmt.Sprintf("Value '%s' for parameter %s is invalid. %s", clip(val, maxQuoted), p, why)}
}

func (d *decoder) scalar(s string, v reflect.Value, c *codec, o options) error {
	switch c.kind {
	case kString:
		v.SetString(s)
	case kBool:
		switch {
		case strings.EqualFold(s, "true"):
			v.SetBool(true)
		case strings.EqualFold(s, "false"):
			v.SetBool(false)
		default:
			return d.invalid(s, "It must be true or false.")
		}
	case kInt:
		i, err := strconv.ParseInt(s, 10, c.typ.Bits())
		if err != nil {
			return d.invalid(s, intRange(c.typ.Bits(), true))
		}
		v.SetInt(i)
	case kUint:
		u, err := strconv.ParseUint(s, 10, c.typ.Bits())
		if err != nil {
			return d.invalid(s, intRange(c.typ.Bits(), false))
		}
		v.SetUint(u)
	case kFloat:
		f, ok := parseFloat(s, c.typ.Bits())
		if !ok {
			return d.invalid(s, "It must be a number.")
		}
		v.SetFloat(f)
	case kTime:
		t, ok := parseTime(s, o.ts)
		if !ok {
			return d.invalid(s, timeHint(o.ts))
		}
		v.Set(reflect.ValueOf(t))
	case kBlob:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return d.invalid(s, "It must be base64-encoded.")
		}
		v.SetBytes(b)
	}
	return nil
}

func intRange(bits int, signed bool) string {
	switch {
	case signed && bits == 32:
		return "It must be an integer from -2147483648 to 2147483647."
	case signed && bits == 64:
		return "It must be an integer from -9223372036854775808 to 9223372036854775807."
	case signed:
		return "It must be an integer in range."
	default:
		return "It must be a non-negative integer in range."
	}
}

// parseFloat accepts decimal numbers and the Smithy spellings NaN, Infinity
// and -Infinity, but not the hex floats, underscores or "inf" that
// strconv.ParseFloat also takes.
func parseFloat(s string, bits int) (float64, bool) {
	switch s {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	case "":
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil {
		return 0, false
	}
	return f, true
}

func parseTime(s string, f tsFormat) (time.Time, bool) {
	switch f {
	case tsEpochSeconds:
		sec, ok := parseFloat(s, 64)
		// Beyond ±1e11 s (year ~5000) the nanosecond arithmetic loses meaning.
		if !ok || math.IsNaN(sec) || math.Abs(sec) > 1e11 {
			return time.Time{}, false
		}
		whole, frac := math.Modf(sec)
		return time.Unix(int64(whole), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), true
	case tsHTTPDate:
		t, err := http.ParseTime(s)
		return t.UTC(), err == nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// Some clients omit the zone; AWS reads such times as UTC.
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
	}
	return t.UTC(), err == nil
}

func timeHint(f tsFormat) string {
	switch f {
	case tsEpochSeconds:
		return "It must be a timestamp in seconds since the epoch."
	case tsHTTPDate:
		return "It must be an HTTP date such as Tue, 29 Apr 2014 18:30:38 GMT."
	}
	return "It must be an ISO 8601 timestamp such as 2014-04-29T18:30:38Z."
}

// clip shortens s to at most limit bytes and an ellipsis, on a rune boundary.
func clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
