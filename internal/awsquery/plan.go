package awsquery

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// kind classifies a Go type by how awsQuery carries it.
type kind uint8

const (
	kString kind = iota + 1
	kBool
	kInt
	kUint
	kFloat
	kTime
	kBlob
	kStruct
	kSlice
	kMap
	kPtr
)

// tsFormat is a Smithy @timestampFormat.
type tsFormat uint8

const (
	tsDateTime tsFormat = iota // the awsQuery default
	tsEpochSeconds
	tsHTTPDate
)

// codec is the cached plan for one Go type.
type codec struct {
	kind kind
	typ  reflect.Type
	elem *codec // kPtr: pointee; kSlice: element; kMap: value

	fields []field           // kStruct, in declaration order
	byName map[string]*field // kStruct
}

// field is one struct member on the wire.
type field struct {
	name  string
	index []int // path through embedded structs, as for reflect.Value.FieldByIndex
	codec *codec
	opts  options
}

// options are the per-member serialisation traits, from the struct tag.
type options struct {
	flat      bool   // @xmlFlattened
	omitEmpty bool   // encode only: skip zero values
	member    string // @xmlName on a list member; default "member"
	key       string // @xmlName on a map key; default "key"
	value     string // @xmlName on a map value; default "value"
	ts        tsFormat
}

var defaultOptions = options{member: "member", key: "key", value: "value"}

// elemOptions are the options for the members of a list or the values of a
// map: traits of the containing member do not carry over, except the
// timestamp format, which applies to a list of timestamps as a whole.
func (o options) elemOptions() options {
	e := defaultOptions
	e.ts = o.ts
	return e
}

var (
	timeType = reflect.TypeFor[time.Time]()

	plans   sync.Map   // reflect.Type -> planResult
	buildMu sync.Mutex // serialises plan building so recursive types are built once
)

type planResult struct {
	c   *codec
	err error
}

// planFor returns the codec for t, building and caching it on first use.
func planFor(t reflect.Type) (*codec, error) {
	if r, ok := plans.Load(t); ok {
		pr := r.(planResult)
		return pr.c, pr.err
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if r, ok := plans.Load(t); ok {
		pr := r.(planResult)
		return pr.c, pr.err
	}
	b := builder{seen: map[reflect.Type]*codec{}}
	c, err := b.build(t)
	if err != nil {
		err = fmt.Errorf("awsquery: type %s: %w", t, err)
		c = nil
	}
	plans.Store(t, planResult{c, err})
	return c, err
}

// builder builds codecs; seen holds struct codecs under construction so that
// recursive types (a struct that points to itself) terminate.
type builder struct {
	seen map[reflect.Type]*codec
}

func (b *builder) build(t reflect.Type) (*codec, error) {
	if c, ok := b.seen[t]; ok {
		return c, nil
	}
	if t == timeType {
		return &codec{kind: kTime, typ: t}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &codec{kind: kString, typ: t}, nil
	case reflect.Bool:
		return &codec{kind: kBool, typ: t}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &codec{kind: kInt, typ: t}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &codec{kind: kUint, typ: t}, nil
	case reflect.Float32, reflect.Float64:
		return &codec{kind: kFloat, typ: t}, nil
	case reflect.Pointer:
		if t.Elem().Kind() == reflect.Pointer {
			return nil, fmt.Errorf("pointer to pointer %s is not supported", t)
		}
		e, err := b.build(t.Elem())
		if err != nil {
			return nil, err
		}
		return &codec{kind: kPtr, typ: t, elem: e}, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return &codec{kind: kBlob, typ: t}, nil
		}
		e, err := b.build(t.Elem())
		if err != nil {
			return nil, err
		}
		return &codec{kind: kSlice, typ: t, elem: e}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key type %s is not a string", t.Key())
		}
		e, err := b.build(t.Elem())
		if err != nil {
			return nil, err
		}
		return &codec{kind: kMap, typ: t, elem: e}, nil
	case reflect.Struct:
		c := &codec{kind: kStruct, typ: t, byName: map[string]*field{}}
		b.seen[t] = c
		if err := b.addFields(c, t, nil); err != nil {
			return nil, err
		}
		for i := range c.fields {
			c.byName[c.fields[i].name] = &c.fields[i]
		}
		return c, nil
	}
	return nil, fmt.Errorf("type %s is not supported", t)
}

// addFields appends the wire members of struct type t (reached through index
// from the top-level struct) to c. Untagged embedded structs are flattened
// into their parent, as encoding/json does.
func (b *builder) addFields(c *codec, t reflect.Type, index []int) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("query")
		if tag == "-" {
			continue
		}
		idx := append(index[:len(index):len(index)], i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && sf.Type != timeType && (!hasTag || strings.HasPrefix(tag, ",")) {
			if hasTag {
				return fmt.Errorf("field %s: options on an embedded struct are not supported", sf.Name)
			}
			if err := b.addFields(c, sf.Type, idx); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		name, opts, err := parseTag(sf.Name, tag)
		if err != nil {
			return fmt.Errorf("field %s: %w", sf.Name, err)
		}
		fc, err := b.build(sf.Type)
		if err != nil {
			return fmt.Errorf("field %s: %w", sf.Name, err)
		}
		if err := checkOptions(fc, opts); err != nil {
			return fmt.Errorf("field %s: %w", sf.Name, err)
		}
		for _, f := range c.fields {
			if f.name == name {
				return fmt.Errorf("field %s: duplicate member name %q", sf.Name, name)
			}
		}
		c.fields = append(c.fields, field{name: name, index: idx, codec: fc, opts: opts})
	}
	return nil
}

// parseTag reads `query:"Name,flat,member=item,key=K,value=V,omitempty,timestamp=epoch-seconds"`.
func parseTag(goName, tag string) (string, options, error) {
	opts := defaultOptions
	name, rest, _ := strings.Cut(tag, ",")
	if name == "" {
		name = goName
	}
	if !validName(name) {
		return "", opts, fmt.Errorf("invalid member name %q", name)
	}
	for rest != "" {
		var opt string
		opt, rest, _ = strings.Cut(rest, ",")
		k, v, hasValue := strings.Cut(opt, "=")
		switch {
		case k == "flat" && !hasValue:
			opts.flat = true
		case k == "omitempty" && !hasValue:
			opts.omitEmpty = true
		case k == "member" && validName(v):
			opts.member = v
		case k == "key" && validName(v):
			opts.key = v
		case k == "value" && validName(v):
			opts.value = v
		case k == "timestamp" && v == "date-time":
			opts.ts = tsDateTime
		case k == "timestamp" && v == "epoch-seconds":
			opts.ts = tsEpochSeconds
		case k == "timestamp" && v == "http-date":
			opts.ts = tsHTTPDate
		default:
			return "", opts, fmt.Errorf("invalid tag option %q", opt)
		}
	}
	return name, opts, nil
}

// checkOptions rejects options that cannot apply to the field's type, so a
// misplaced tag fails loudly on first use instead of being silently ignored.
func checkOptions(c *codec, o options) error {
	for c.kind == kPtr {
		c = c.elem
	}
	if o.flat && c.kind != kSlice && c.kind != kMap {
		return fmt.Errorf("option flat needs a list or map")
	}
	if o.member != defaultOptions.member && c.kind != kSlice {
		return fmt.Errorf("option member needs a list")
	}
	if o.flat && o.member != defaultOptions.member {
		return fmt.Errorf("a flattened list has no member name")
	}
	if (o.key != defaultOptions.key || o.value != defaultOptions.value) && c.kind != kMap {
		return fmt.Errorf("options key and value need a map")
	}
	if o.ts != tsDateTime {
		for c.kind == kSlice || c.kind == kMap || c.kind == kPtr {
			c = c.elem
		}
		if c.kind != kTime {
			return fmt.Errorf("option timestamp needs a time.Time")
		}
	}
	return nil
}

// validName reports whether s can be both a form key segment and an XML
// element name: a letter or underscore, then letters, digits, '_' or '-'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}
