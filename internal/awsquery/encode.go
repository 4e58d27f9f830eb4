package awsquery

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// maxEncodeDepth bounds the nesting of a response, so that a pointer cycle
// in a result is an error rather than a stack overflow.
const maxEncodeDepth = 64

var errTooDeep = errors.New("awsquery: response nested too deeply (pointer cycle?)")

// WriteResponse writes an awsQuery success response with status 200:
//
//	<{op}Response xmlns="{ns}"><{op}Result>...</{op}Result><ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{op}Response>
//
// result is a struct or a pointer to one. A nil result writes no Result
// element, which is right only for operations whose model has no output
// (IAM DeleteRole); an operation with an output shape, even one with no
// members (ELBv2 DeleteLoadBalancer), needs a non-nil result, because the
// SDKs fail on a response without the Result element.
//
// Element names follow the same `query` tags as Decode: lists are
// <Foo><member>..</member></Foo> (or repeated <Foo> when flat), maps
// <Foo><entry><key>k</key><value>v</value></entry></Foo> sorted by key,
// timestamps 2006-01-02T15:04:05.000Z in UTC, booleans true/false, blobs
// base64, non-finite floats NaN/Infinity/-Infinity. Nil pointers, slices,
// maps and blobs are omitted; empty non-nil ones are written as empty
// elements; other zero values are written unless the member has the
// omitempty option.
//
// The request id also goes in the x-amzn-RequestId header, where the AWS
// SDKs read it. If result cannot be encoded nothing is written and the
// error is returned.
func WriteResponse(w http.ResponseWriter, op, ns, requestID string, result any) error {
	bp := bufPool.Get().(*[]byte)
	defer putBuf(bp)
	b, err := appendResponse((*bp)[:0], op, ns, requestID, result)
	*bp = b
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, requestID, b)
	_, err = w.Write(b)
	return err
}

// Marshal returns the body WriteResponse would write.
func Marshal(op, ns, requestID string, result any) ([]byte, error) {
	return appendResponse(nil, op, ns, requestID, result)
}

// WriteError writes an awsQuery error response:
//
//	<ErrorResponse xmlns="{ns}"><Error><Type>Sender|Receiver</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>
//
// sender selects Type Sender (the client's fault) over Receiver. A zero
// status becomes 400 for a sender fault and 500 otherwise. An empty message
// is left out. The request id also goes in the x-amzn-RequestId header.
func WriteError(w http.ResponseWriter, ns, requestID string, status int, code, message string, sender bool) {
	if status == 0 {
		status = http.StatusInternalServerError
		if sender {
			status = http.StatusBadRequest
		}
	}
	b := MarshalError(ns, requestID, code, message, sender)
	writeXML(w, status, requestID, b)
	_, _ = w.Write(b) // the client went away; nothing left to tell it
}

// MarshalError returns the body WriteError would write.
func MarshalError(ns, requestID, code, message string, sender bool) []byte {
	b := make([]byte, 0, 192+len(ns)+len(requestID)+len(code)+len(message))
	b = append(b, "<ErrorResponse"...)
	b = appendXMLNS(b, ns)
	b = append(b, "><Error><Type>"...)
	if sender {
		b = append(b, "Sender"...)
	} else {
		b = append(b, "Receiver"...)
	}
	b = append(b, "</Type><Code>"...)
	b = appendText(b, code)
	b = append(b, "</Code>"...)
	if message != "" {
		b = append(b, "<Message>"...)
		b = appendText(b, message)
		b = append(b, "</Message>"...)
	}
	b = append(b, "</Error><RequestId>"...)
	b = appendText(b, requestID)
	return append(b, "</RequestId></ErrorResponse>"...)
}

func writeXML(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if requestID != "" {
		h.Set("x-amzn-RequestId", requestID)
	}
	w.WriteHeader(status)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func putBuf(bp *[]byte) {
	if cap(*bp) <= 1<<20 { // don't pin the buffer of an unusually large response
		bufPool.Put(bp)
	}
}

func appendResponse(b []byte, op, ns, requestID string, result any) ([]byte, error) {
	if !validName(op) {
		return b, fmt.Errorf("awsquery: invalid operation name %q", op)
	}
	rv := reflect.ValueOf(result)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			rv = reflect.Value{}
			break
		}
		rv = rv.Elem()
	}
	var c *codec
	if rv.IsValid() {
		if rv.Kind() != reflect.Struct {
			return b, fmt.Errorf("awsquery: result must be a struct or a pointer to one, got %T", result)
		}
		var err error
		if c, err = planFor(rv.Type()); err != nil {
			return b, err
		}
	}
	b = append(b, '<')
	b = append(b, op...)
	b = append(b, "Response"...)
	b = appendXMLNS(b, ns)
	b = append(b, '>')
	if c != nil {
		e := encoder{b: b}
		e.open(op, "Result")
		if err := e.fields(rv, c); err != nil {
			return e.b, err
		}
		e.close(op, "Result")
		b = e.b
	}
	b = append(b, "<ResponseMetadata><RequestId>"...)
	b = appendText(b, requestID)
	b = append(b, "</RequestId></ResponseMetadata></"...)
	b = append(b, op...)
	return append(b, "Response>"...), nil
}

func appendXMLNS(b []byte, ns string) []byte {
	if ns == "" {
		return b
	}
	b = append(b, ` xmlns="`...)
	b = appendText(b, ns)
	return append(b, '"')
}

type encoder struct {
	b     []byte
	depth int
}

// open and close write a tag; the name comes in parts so that op+"Result"
// needs no concatenation.
func (e *encoder) open(name ...string) {
	e.b = append(e.b, '<')
	for _, s := range name {
		e.b = append(e.b, s...)
	}
	e.b = append(e.b, '>')
}

func (e *encoder) close(name ...string) {
	e.b = append(e.b, '<', '/')
	for _, s := range name {
		e.b = append(e.b, s...)
	}
	e.b = append(e.b, '>')
}

func (e *encoder) fields(v reflect.Value, c *codec) error {
	for i := range c.fields {
		f := &c.fields[i]
		if err := e.value(f.name, v.FieldByIndex(f.index), f.codec, f.opts); err != nil {
			return err
		}
	}
	return nil
}

// value writes v as the element(s) named name.
func (e *encoder) value(name string, v reflect.Value, c *codec, o options) error {
	switch c.kind {
	case kPtr:
		if v.IsNil() {
			return nil
		}
		return e.value(name, v.Elem(), c.elem, o)
	case kStruct:
		if o.omitEmpty && v.IsZero() {
			return nil
		}
		if e.depth++; e.depth > maxEncodeDepth {
			return errTooDeep
		}
		e.open(name)
		if err := e.fields(v, c); err != nil {
			return err
		}
		e.close(name)
		e.depth--
		return nil
	case kSlice:
		if v.IsNil() || o.omitEmpty && v.Len() == 0 {
			return nil
		}
		if e.depth++; e.depth > maxEncodeDepth {
			return errTooDeep
		}
		eo := o.elemOptions()
		if !o.flat {
			e.open(name)
		}
		for i := range v.Len() {
			el := name
			if !o.flat {
				el = o.member
			}
			if err := e.element(el, v.Index(i), c.elem, eo); err != nil {
				return err
			}
		}
		if !o.flat {
			e.close(name)
		}
		e.depth--
		return nil
	case kMap:
		if v.IsNil() || o.omitEmpty && v.Len() == 0 {
			return nil
		}
		return e.mapping(name, v, c, o)
	case kBlob:
		if v.IsNil() || o.omitEmpty && v.Len() == 0 {
			return nil
		}
	default:
		if o.omitEmpty && v.IsZero() {
			return nil
		}
	}
	e.open(name)
	e.scalar(v, c, o)
	e.close(name)
	return nil
}

// element writes a list member or map value. A nil one still gets an empty
// element so that list positions hold.
func (e *encoder) element(name string, v reflect.Value, c *codec, o options) error {
	switch c.kind {
	case kPtr, kSlice, kMap, kBlob:
		if v.IsNil() {
			e.open(name)
			e.close(name)
			return nil
		}
	}
	return e.value(name, v, c, o)
}

func (e *encoder) mapping(name string, v reflect.Value, c *codec, o options) error {
	if e.depth++; e.depth > maxEncodeDepth {
		return errTooDeep
	}
	type kv struct {
		k string
		v reflect.Value
	}
	entries := make([]kv, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		entries = append(entries, kv{it.Key().String(), it.Value()})
	}
	// Sorted for a deterministic body; awsQuery maps carry no order.
	slices.SortFunc(entries, func(a, b kv) int { return cmp.Compare(a.k, b.k) })
	eo := o.elemOptions()
	if !o.flat {
		e.open(name)
	}
	for _, en := range entries {
		if o.flat {
			e.open(name)
		} else {
			e.open("entry")
		}
		e.open(o.key)
		e.b = appendText(e.b, en.k)
		e.close(o.key)
		if err := e.element(o.value, en.v, c.elem, eo); err != nil {
			return err
		}
		if o.flat {
			e.close(name)
		} else {
			e.close("entry")
		}
	}
	if !o.flat {
		e.close(name)
	}
	e.depth--
	return nil
}

func (e *encoder) scalar(v reflect.Value, c *codec, o options) {
	switch c.kind {
	case kString:
		e.b = appendText(e.b, v.String())
	case kBool:
		e.b = strconv.AppendBool(e.b, v.Bool())
	case kInt:
		e.b = strconv.AppendInt(e.b, v.Int(), 10)
	case kUint:
		e.b = strconv.AppendUint(e.b, v.Uint(), 10)
	case kFloat:
		e.b = appendFloat(e.b, v.Float(), c.typ.Bits())
	case kTime:
		e.b = appendTime(e.b, v.Interface().(time.Time), o.ts)
	case kBlob:
		e.b = base64.StdEncoding.AppendEncode(e.b, v.Bytes())
	}
}

// appendFloat writes the shortest decimal that reads back as f, switching
// to an exponent for very small and very large magnitudes (as encoding/json
// does) and spelling non-finite values as Smithy does.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	return strconv.AppendFloat(b, f, format, -1, bits)
}

func appendTime(b []byte, t time.Time, f tsFormat) []byte {
	switch f {
	case tsEpochSeconds:
		ms := t.UnixMilli()
		if ms%1000 == 0 {
			return strconv.AppendInt(b, ms/1000, 10)
		}
		return strconv.AppendFloat(b, float64(ms)/1000, 'f', -1, 64)
	case tsHTTPDate:
		return t.UTC().AppendFormat(b, http.TimeFormat)
	}
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

// appendText appends s escaped for XML character data or a double-quoted
// attribute. Characters XML 1.0 cannot carry at all (most C0 controls,
// invalid UTF-8, U+FFFE/U+FFFF) become U+FFFD, so that a client-supplied
// value echoed into a message can never make the document unparsable.
func appendText(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '"':
				esc = "&quot;"
			case c == '\'':
				esc = "&apos;"
			case c == '\r': // a raw CR would be normalised away by parsers
				esc = "&#xD;"
			case c < 0x20 && c != '\t' && c != '\n':
				esc = "\uFFFD"
			default:
				i++
				continue
			}
			b = append(b, s[last:i]...)
			b = append(b, esc...)
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, s[last:i]...)
			b = append(b, "\uFFFD"...)
			i += size
			last = i
			continue
		}
		i += size
	}
	return append(b, s[last:]...)
}
