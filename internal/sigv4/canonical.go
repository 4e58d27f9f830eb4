package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// canon holds the parts of one request's canonical request. Instances are
// pooled so that a verification allocates nothing for them.
type canon struct {
	method   string
	rawQuery string
	hdr      []byte    // canonical header lines, each ending in '\n'
	paths    [2][]byte // canonical URI: normalised, then as sent when that differs
	npaths   int
	query    []byte // canonical query string
	query2   []byte // the same without X-Amz-Security-Token
	buf      []byte // assembled canonical request
	qbuf     []byte
	params   []qparam
	segs     []span
	payload  [64]byte
	npayload int
}

type qparam struct{ k0, k1, v0, v1 int }

type span struct{ start, end int }

var canonPool = sync.Pool{New: func() any { return new(canon) }}

func getCanon() *canon { return canonPool.Get().(*canon) }

func putCanon(c *canon) {
	if cap(c.buf) > 64<<10 || cap(c.hdr) > 64<<10 || cap(c.qbuf) > 64<<10 {
		return // let an outsized request's buffers go
	}
	c.method, c.rawQuery = "", ""
	canonPool.Put(c)
}

// prepare computes everything of the canonical request that does not depend
// on the key: headers, payload hash, URI variants and query.
func (c *canon) prepare(r *http.Request, body []byte, a *authInfo) *Error {
	c.method = r.Method
	if c.method == "" {
		c.method = http.MethodGet
	}
	var err *Error
	if c.hdr, err = appendCanonicalHeaders(c.hdr[:0], r, a.signedHeaders); err != nil {
		return err
	}
	if err := c.setPayload(r, body, a); err != nil {
		return err
	}
	path, query := rawTarget(r)
	c.rawQuery = query
	c.paths[0], c.segs = appendNormalizedPath(c.paths[0][:0], path, c.segs)
	c.paths[1] = appendRawPath(c.paths[1][:0], path)
	c.npaths = 1
	if !bytes.Equal(c.paths[0], c.paths[1]) {
		c.npaths = 2
	}
	c.query = c.appendQuery(c.query[:0], query, a.presigned, false)
	return nil
}

// setPayload picks the payload hash: X-Amz-Content-Sha256 when present (it
// must then be the body's hash, or UNSIGNED-PAYLOAD on a presigned request),
// else the hex SHA-256 of body.
func (c *canon) setPayload(r *http.Request, body []byte, a *authInfo) *Error {
	claimed := headerFirst(r.Header, "X-Amz-Content-Sha256")
	if claimed == "" && a.presigned {
		claimed = a.contentSHA
	}
	if claimed == unsignedPayload {
		if !a.presigned {
			return newError(ErrIncomplete, msgUnsignedPayload)
		}
		c.npayload = copy(c.payload[:], unsignedPayload)
		return nil
	}
	sum := sha256.Sum256(body)
	hex.Encode(c.payload[:], sum[:])
	c.npayload = len(c.payload)
	if claimed != "" && claimed != string(c.payload[:]) {
		if len(claimed) == 64 && isHexString(claimed) {
			return newError(ErrSignature, msgContentSHAMismatch)
		}
		return newError(ErrIncomplete, "Unsupported x-amz-content-sha256 value '"+clip(claimed)+"'.")
	}
	return nil
}

// canonicalRequest assembles the canonical request with URI variant i.
func (c *canon) canonicalRequest(i int, signedHeaders string, query []byte) []byte {
	b := c.buf[:0]
	b = append(b, c.method...)
	b = append(b, '\n')
	b = append(b, c.paths[i]...)
	b = append(b, '\n')
	b = append(b, query...)
	b = append(b, '\n')
	b = append(b, c.hdr...)
	b = append(b, '\n')
	b = append(b, signedHeaders...)
	b = append(b, '\n')
	b = append(b, c.payload[:c.npayload]...)
	c.buf = b
	return b
}

// match reports whether a.signature is the signature of one of the canonical
// request variants under key. With dropToken the query is canonicalised
// without X-Amz-Security-Token (a token appended to a presigned URL after
// signing).
func (c *canon) match(key *[32]byte, a *authInfo, dropToken bool) bool {
	query := c.query
	if dropToken {
		c.query2 = c.appendQuery(c.query2[:0], c.rawQuery, a.presigned, true)
		query = c.query2
	}
	for i := 0; i < c.npaths; i++ {
		h := sha256.Sum256(c.canonicalRequest(i, a.signedHeaders, query))
		sig := signature(key, a, &h)
		if sigEqual(a.signature, &sig) {
			return true
		}
	}
	return false
}

// appendCanonicalHeaders writes "name:value\n" for each signed header, in the
// client's order: names as signed, values trimmed with runs of spaces
// collapsed, repeated headers joined with ','.
func appendCanonicalHeaders(dst []byte, r *http.Request, signed string) ([]byte, *Error) {
	for rest := signed; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		if name == "" {
			continue
		}
		dst = append(dst, name...)
		dst = append(dst, ':')
		switch {
		case strings.EqualFold(name, "host"):
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			if host == "" {
				return dst, missingHeader(name)
			}
			dst = appendHeaderValue(dst, host)
		case strings.EqualFold(name, "content-length") && r.ContentLength > 0:
			dst = strconv.AppendInt(dst, r.ContentLength, 10)
		default:
			vals := headerValues(r.Header, name)
			if len(vals) == 0 {
				if r.ContentLength == 0 && strings.EqualFold(name, "content-length") {
					dst = append(dst, '0')
					break
				}
				return dst, missingHeader(name)
			}
			for i, v := range vals {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendHeaderValue(dst, v)
			}
		}
		dst = append(dst, '\n')
	}
	return dst, nil
}

func missingHeader(name string) *Error {
	return newError(ErrIncomplete, "The request is missing the header '"+clip(name)+"' listed in SignedHeaders.")
}

// appendHeaderValue trims v and collapses runs of spaces into one, as the AWS
// signers do (aws-c-auth, aws-sdk-go-v2).
func appendHeaderValue(dst []byte, v string) []byte {
	v = trimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if ch == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, ch)
	}
	return dst
}

// headerValues looks name up in h by its canonical MIME form, without the
// allocation of textproto.CanonicalMIMEHeaderKey.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	b := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !isTokenChar(ch) {
			return h[name] // textproto leaves such keys as they are
		}
		if upper && 'a' <= ch && ch <= 'z' {
			ch -= 'a' - 'A'
		} else if !upper && 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		b[i] = ch
		upper = ch == '-'
	}
	return h[string(b)]
}

// headerFirst returns the first value of the header with canonical key k.
func headerFirst(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func isTokenChar(ch byte) bool {
	switch {
	case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0
}

// appendNormalizedPath writes the canonical URI of the non-S3 services:
// empty and "." segments dropped, ".." removing the previous segment, a
// trailing slash kept, each byte outside the unreserved set percent-encoded
// (so an escape already on the wire is encoded again).
func appendNormalizedPath(dst []byte, p string, segs []span) ([]byte, []span) {
	segs = segs[:0]
	for start := 0; start <= len(p); {
		end := strings.IndexByte(p[start:], '/')
		if end < 0 {
			end = len(p)
		} else {
			end += start
		}
		switch p[start:end] {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, span{start, end})
		}
		start = end + 1
	}
	trailing := len(p) > 0 && p[len(p)-1] == '/'
	dst = append(dst, '/')
	for i, s := range segs {
		dst = appendEncoded(dst, p[s.start:s.end], true)
		if i < len(segs)-1 || trailing {
			dst = append(dst, '/')
		}
	}
	return dst, segs
}

// appendRawPath writes the path as sent, encoded once, without normalising:
// what a signer that does not normalise (aws-sdk-go-v2, the suite's
// "unnormalized" cases) signs.
func appendRawPath(dst []byte, p string) []byte {
	if p == "" {
		return append(dst, '/')
	}
	return appendEncoded(dst, p, true)
}

const upperHex = "0123456789ABCDEF"

func unreserved(ch byte) bool {
	return 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' ||
		ch == '-' || ch == '_' || ch == '.' || ch == '~'
}

// appendEncoded writes s with every byte outside the RFC 3986 unreserved set
// (and '/', when keepSlash) as %XX.
func appendEncoded(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if unreserved(ch) || keepSlash && ch == '/' {
			dst = append(dst, ch)
		} else {
			dst = append(dst, '%', upperHex[ch>>4], upperHex[ch&15])
		}
	}
	return dst
}

// appendQueryComponent decodes the %XX escapes of a raw query key or value
// ('+' is a literal plus; a malformed escape is taken literally) and encodes
// the result per RFC 3986, so that any spelling of the same bytes gives the
// same canonical form.
func appendQueryComponent(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			ch = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		if unreserved(ch) {
			dst = append(dst, ch)
		} else {
			dst = append(dst, '%', upperHex[ch>>4], upperHex[ch&15])
		}
	}
	return dst
}

// appendQuery writes the canonical query string: parameters encoded, sorted
// by key then value, "k=" for an empty value; X-Amz-Signature dropped for a
// presigned request and X-Amz-Security-Token with dropToken.
func (c *canon) appendQuery(dst []byte, raw string, presigned, dropToken bool) []byte {
	if raw == "" {
		return dst
	}
	c.qbuf, c.params = c.qbuf[:0], c.params[:0]
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k0 := len(c.qbuf)
		c.qbuf = appendQueryComponent(c.qbuf, k)
		k1 := len(c.qbuf)
		key := c.qbuf[k0:k1]
		if presigned && string(key) == qSignature || dropToken && string(key) == qSecurityToken {
			c.qbuf = c.qbuf[:k0]
			continue
		}
		c.qbuf = appendQueryComponent(c.qbuf, v)
		c.params = append(c.params, qparam{k0, k1, k1, len(c.qbuf)})
	}
	qb := c.qbuf
	slices.SortFunc(c.params, func(x, y qparam) int {
		if n := bytes.Compare(qb[x.k0:x.k1], qb[y.k0:y.k1]); n != 0 {
			return n
		}
		return bytes.Compare(qb[x.v0:x.v1], qb[y.v0:y.v1])
	})
	for i, p := range c.params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, qb[p.k0:p.k1]...)
		dst = append(dst, '=')
		dst = append(dst, qb[p.v0:p.v1]...)
	}
	return dst
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}
