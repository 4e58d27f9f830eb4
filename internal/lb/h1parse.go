package lb

import (
	"bufio"
	"bytes"
	"errors"
	"net/url"
	"strconv"
)

// ALB's limits on a request head: 16 KB for the request line or one
// header line, 64 KB in all. Beyond them the answer is 400.
const (
	maxLine = 16 << 10
	maxHead = 64 << 10
)

var (
	errHeadTooLarge = errors.New("request head too large")
	errMalformed    = errors.New("malformed message")
)

// span is a header in a raw head: name and value byte offsets.
type span struct{ ns, ne, vs, ve int32 }

// head is a parsed message head (request or response), its bytes kept in
// raw and reused from one message to the next.
type head struct {
	raw  []byte
	line []byte // the start line, without CRLF (inside raw)
	hdrs []span
}

func (h *head) name(i int) []byte  { s := h.hdrs[i]; return h.raw[s.ns:s.ne] }
func (h *head) value(i int) []byte { s := h.hdrs[i]; return h.raw[s.vs:s.ve] }

// values returns the values of every header named canon (any case).
func (h *head) values(canon string) []string {
	var out []string
	for i := range h.hdrs {
		if equalFoldBytes(h.name(i), canon) {
			out = append(out, string(h.value(i)))
		}
	}
	return out
}

// read reads one head: a start line and header lines up to an empty line.
// Leading empty lines are skipped, as RFC 9112 allows. On an error raw
// holds what arrived.
func (h *head) read(br *bufio.Reader, lineMax, headMax int) error {
	raw := h.raw[:0]
	h.hdrs = h.hdrs[:0]
	h.line = nil
	defer func() { h.raw = raw }()
	lineStart := -1 // where the start line begins in raw
	skipped := 0
	for {
		start := len(raw)
		for {
			frag, err := br.ReadSlice('\n')
			raw = append(raw, frag...)
			if len(raw)-start > lineMax || len(raw) > headMax {
				return errHeadTooLarge
			}
			if err == nil {
				break
			}
			if err != bufio.ErrBufferFull {
				return err
			}
		}
		end := len(raw) - 1 // the '\n'
		if end > start && raw[end-1] == '\r' {
			end--
		}
		if lineStart < 0 {
			if end == start { // an empty line before the start line
				raw = raw[:start]
				if skipped++; skipped > 4 {
					return errMalformed
				}
				continue
			}
			lineStart = start
			h.line = raw[start:end]
			continue
		}
		if end == start {
			// The head is complete; re-slice the start line in case raw
			// grew and moved.
			h.line = raw[lineStart : lineStart+len(h.line)]
			return nil
		}
		line := raw[start:end]
		if line[0] == ' ' || line[0] == '\t' {
			return errMalformed // obsolete line folding
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return errMalformed // no name, or whitespace before the colon
		}
		vs, ve := colon+1, len(line)
		for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
			vs++
		}
		for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
			ve--
		}
		for _, c := range line[vs:ve] {
			if c == 0 || c == '\r' || c == '\n' {
				return errMalformed
			}
		}
		h.hdrs = append(h.hdrs, span{int32(start), int32(start + colon), int32(start + vs), int32(start + ve)})
	}
}

// tokenChars are the characters of an HTTP token (RFC 9110 §5.6.2).
var tokenChars = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = true
	}
	for _, c := range `"(),/:;<=>?@[\]{}` {
		t[c] = false
	}
	return t
}()

// isToken reports whether b is an HTTP token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return true
}

// equalFoldBytes compares b with the ASCII string s ignoring case.
func equalFoldBytes(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// hasTokenBytes reports whether a comma-separated header value lists token.
func hasTokenBytes(v []byte, token string) bool {
	for len(v) > 0 {
		var f []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			f, v = v[:i], v[i+1:]
		} else {
			f, v = v, nil
		}
		if equalFoldBytes(bytes.TrimSpace(f), token) {
			return true
		}
	}
	return false
}

// h1Request is a request head the fast path parsed.
type h1Request struct {
	head
	method, target        string
	escapedPath, path     string
	rawQuery              string
	host                  string
	contentLength         int64 // -1: no Content-Length header
	chunked               bool
	close                 bool // Connection: close
	expect100             bool
	fallback              bool // something the fast path leaves to net/http
	connTokens            [][]byte
	bodyless              bool // no body follows the head
	idempotentForRetrying bool
	xffBuf                []byte // for joining X-Forwarded-For headers, reused
}

// parseRequest checks a request head and extracts what routing and
// forwarding need. A request the fast path does not handle sets fallback;
// errMalformed means 400.
func (r *h1Request) parse() error {
	// The strings of the previous request on the connection are reused
	// when the bytes repeat, as they mostly do on a kept-alive connection:
	// no allocation for them.
	prev := *r
	*r = h1Request{head: r.head, contentLength: -1, xffBuf: r.xffBuf[:0]}
	line := r.line
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return errMalformed
	}
	rest := line[sp1+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 {
		return errMalformed
	}
	method, target, proto := line[:sp1], rest[:sp2], rest[sp2+1:]
	if !isToken(method) {
		return errMalformed
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return errMalformed // spaces and control characters
		}
	}
	switch {
	case bytes.Equal(method, []byte("PRI")):
		r.fallback = true // h2c prior knowledge: net/http's HTTP/2 server
		return nil
	case bytes.Equal(proto, []byte("HTTP/1.1")):
	case bytes.Equal(proto, []byte("HTTP/1.0")):
		r.fallback = true // keep-alive and framing rules of 1.0: net/http
		return nil
	default:
		return errMalformed
	}
	if len(target) == 0 || target[0] != '/' {
		r.fallback = true // absolute, authority or asterisk form
		return nil
	}
	r.method = internMethod(method)
	if prev.target != "" && string(target) == prev.target {
		r.target, r.escapedPath, r.path, r.rawQuery = prev.target, prev.escapedPath, prev.path, prev.rawQuery
	} else {
		r.target = string(target)
		r.escapedPath, r.rawQuery = r.target, ""
		if i := bytes.IndexByte(target, '?'); i >= 0 {
			r.escapedPath, r.rawQuery = r.target[:i], r.target[i+1:]
		}
		r.path = r.escapedPath
		if bytes.IndexByte(target[:len(r.escapedPath)], '%') >= 0 {
			p, err := url.PathUnescape(r.escapedPath)
			if err != nil {
				return errMalformed
			}
			r.path = p
		}
	}
	hosts := 0
	for i := range r.hdrs {
		n, v := r.name(i), r.value(i)
		switch {
		case equalFoldBytes(n, "host"):
			hosts++
			if string(v) == prev.host {
				r.host = prev.host
			} else {
				r.host = string(v)
			}
		case equalFoldBytes(n, "content-length"):
			cl, err := parseContentLength(v)
			if err != nil || (r.contentLength >= 0 && cl != r.contentLength) {
				return errMalformed
			}
			r.contentLength = cl
		case equalFoldBytes(n, "transfer-encoding"):
			if r.chunked || !equalFoldBytes(v, "chunked") {
				r.fallback = true // net/http answers other codings (501)
				return nil
			}
			r.chunked = true
		case equalFoldBytes(n, "connection"):
			for _, tok := range bytes.Split(v, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				switch {
				case equalFoldBytes(tok, "close"):
					r.close = true
				case equalFoldBytes(tok, "upgrade"):
					r.fallback = true // WebSocket and the like
				case equalFoldBytes(tok, "keep-alive"), len(tok) == 0:
				default:
					r.connTokens = append(r.connTokens, tok)
				}
			}
		case equalFoldBytes(n, "upgrade"):
			r.fallback = true
		case equalFoldBytes(n, "expect"):
			if !equalFoldBytes(v, "100-continue") {
				r.fallback = true // net/http answers 417
				return nil
			}
			r.expect100 = true
		}
	}
	if r.fallback {
		return nil
	}
	if hosts != 1 || (r.chunked && r.contentLength >= 0) {
		return errMalformed // RFC 9112: exactly one Host; both framings is smuggling
	}
	r.bodyless = !r.chunked && r.contentLength <= 0
	switch r.method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		r.idempotentForRetrying = r.bodyless
	}
	return nil
}

// internMethod returns the common methods without allocating.
func internMethod(m []byte) string {
	for _, s := range []string{"GET", "POST", "PUT", "HEAD", "DELETE", "PATCH", "OPTIONS"} {
		if string(m) == s {
			return s
		}
	}
	return string(m)
}

// parseContentLength parses a Content-Length value: digits only.
func parseContentLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 18 {
		return 0, errMalformed
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, errMalformed
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// h1Response is a response head from a target.
type h1Response struct {
	head
	code          int
	reason        []byte
	contentLength int64 // -1: none
	chunked       bool
	untilClose    bool // the body runs to the end of the connection
	noBody        bool
	close         bool // the target closes after this response
	connTokens    [][]byte
}

// parse checks a response head to a request with method.
func (r *h1Response) parse(method string) error {
	*r = h1Response{head: r.head, contentLength: -1}
	line := r.line
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return errMalformed
	}
	http10 := line[7] == '0'
	if !http10 && line[7] != '1' {
		return errMalformed
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 {
		return errMalformed
	}
	r.code = code
	if len(line) > 13 {
		r.reason = line[13:]
	}
	keepAlive := false
	te := false
	for i := range r.hdrs {
		n, v := r.name(i), r.value(i)
		switch {
		case equalFoldBytes(n, "content-length"):
			cl, err := parseContentLength(v)
			if err != nil || (r.contentLength >= 0 && cl != r.contentLength) {
				return errMalformed
			}
			r.contentLength = cl
		case equalFoldBytes(n, "transfer-encoding"):
			te = true
			// Chunked must be the last coding; anything else is read to
			// the end of the connection (RFC 9112 §6.3).
			last := v
			if j := bytes.LastIndexByte(v, ','); j >= 0 {
				last = v[j+1:]
			}
			r.chunked = equalFoldBytes(bytes.TrimSpace(last), "chunked")
		case equalFoldBytes(n, "connection"):
			for _, tok := range bytes.Split(v, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				switch {
				case equalFoldBytes(tok, "close"):
					r.close = true
				case equalFoldBytes(tok, "keep-alive"):
					keepAlive = true
				case len(tok) > 0:
					r.connTokens = append(r.connTokens, tok)
				}
			}
		}
	}
	if http10 && !keepAlive {
		r.close = true
	}
	switch {
	case method == "HEAD" || code < 200 || code == 204 || code == 304:
		r.noBody = true
	case te:
		r.contentLength = -1
		r.untilClose = !r.chunked
	case r.contentLength < 0:
		r.untilClose = true
	}
	if r.untilClose {
		r.close = true
	}
	return nil
}
