package sigv4

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	algorithmHMAC   = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	iso8601Basic    = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	maxExpires      = 604800

	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
	qSecurityToken = "X-Amz-Security-Token"
	qContentSHA256 = "X-Amz-Content-Sha256"
)

// authInfo is a parsed Authorization header or presigned query. Its strings
// are substrings of the request (or decoded copies for the presigned form).
type authInfo struct {
	presigned     bool
	accessKeyID   string
	scope         string // credential without the key id: date/region/service/terminator
	scopeDate     string
	region        string
	service       string
	term          string
	signedHeaders string
	signature     string
	date          time.Time
	amzDate       [16]byte // date in ISO 8601 basic format, as it enters the string to sign
	expires       int64    // presigned only, seconds

	token        string // X-Amz-Security-Token as sent
	hasToken     bool
	tokenInQuery bool

	contentSHA string // presigned only: X-Amz-Content-Sha256 query parameter
}

// rawTarget returns the path and query exactly as the client sent them: from
// the request line when r came from a server, else from r.URL.
func rawTarget(r *http.Request) (path, query string) {
	if uri := r.RequestURI; uri != "" {
		path, query, _ = strings.Cut(uri, "?")
		// absolute-form (proxies): drop scheme and authority
		if len(path) > 7 && (hasPrefixFold(path, "http://") || hasPrefixFold(path, "https://")) {
			rest := path[strings.Index(path, "//")+2:]
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				path = rest[i:]
			} else {
				path = "/"
			}
		}
		return path, query
	}
	if r.URL == nil {
		return "/", ""
	}
	if r.URL.Opaque != "" {
		return r.URL.Opaque, r.URL.RawQuery
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseAuth fills a from the Authorization header or the presigned query.
func parseAuth(r *http.Request, a *authInfo) *Error {
	if r == nil {
		return newError(ErrMissingAuth, msgMissingAuth)
	}
	authz := r.Header["Authorization"]
	if len(authz) == 1 && trimSpace(authz[0]) == "" {
		authz = nil // an empty header is no header, as for AWS
	}
	_, query := rawTarget(r)
	presigned := queryHas(query, qAlgorithm)
	switch {
	case len(authz) == 0 && !presigned:
		return newError(ErrMissingAuth, msgMissingAuth)
	case len(authz) > 0 && presigned:
		return newError(ErrIncomplete, msgBothAuth)
	case len(authz) > 1:
		return newError(ErrIncomplete, msgTwoAuthHeaders)
	case len(authz) == 1:
		return parseHeaderAuth(r, authz[0], a)
	default:
		return parsePresigned(r, query, a)
	}
}

func parseHeaderAuth(r *http.Request, authz string, a *authInfo) *Error {
	authz = trimSpace(authz)
	alg, rest := authz, ""
	if i := strings.IndexAny(authz, " \t"); i >= 0 {
		alg, rest = authz[:i], authz[i+1:]
	}
	echo := authz
	if alg != algorithmHMAC {
		if strings.HasPrefix(alg, "AWS4-") {
			return newError(ErrIncomplete, "Unsupported AWS 'algorithm': '"+clip(alg)+"' (only AWS4-HMAC-SHA256 for now). ")
		}
		// Another scheme (Basic, Bearer...): echo only its name, never its token.
		rest, echo = "", alg
	}

	var credential, signedHeaders, signature string
	var seenCred, seenSigned, seenSig bool
	for rest != "" {
		var field string
		if i := strings.IndexAny(rest, ", \t"); i >= 0 {
			field, rest = rest[:i], rest[i+1:]
		} else {
			field, rest = rest, ""
		}
		if field == "" {
			continue
		}
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return newError(ErrIncomplete, "'"+clip(field)+"' not a valid key=value pair (missing equal-sign) in Authorization header: '"+clip(authz)+"'.")
		}
		var seen *bool
		switch k {
		case "Credential":
			seen, credential = &seenCred, v
		case "SignedHeaders":
			seen, signedHeaders = &seenSigned, v
		case "Signature":
			seen, signature = &seenSig, v
		default:
			continue
		}
		if *seen {
			return newError(ErrIncomplete, "Authorization header contains the '"+k+"' parameter more than once.")
		}
		*seen = true
	}

	xAmzDate := headerFirst(r.Header, "X-Amz-Date")
	date := ""
	if xAmzDate == "" {
		date = headerFirst(r.Header, "Date")
	}
	var msg string
	if credential == "" {
		msg += msgReqCredential
	}
	if signature == "" {
		msg += msgReqSignature
	}
	if signedHeaders == "" {
		msg += msgReqSignedHeaders
	}
	if xAmzDate == "" && date == "" {
		msg += msgReqDate
	}
	if msg != "" {
		return newError(ErrIncomplete, msg+"Authorization="+clip(echo))
	}

	if err := a.setCredential(credential); err != nil {
		return err
	}
	if !signsHost(signedHeaders) {
		return newError(ErrIncomplete, msgHostNotSigned)
	}
	a.signedHeaders = signedHeaders
	a.signature = signature
	if xAmzDate != "" {
		if err := a.setAmzDate(xAmzDate); err != nil {
			return err
		}
	} else {
		t, err := http.ParseTime(date)
		a.date = t.UTC()
		if err != nil || len(a.date.AppendFormat(a.amzDate[:0], iso8601Basic)) != len(a.amzDate) {
			return newError(ErrIncomplete, "Date must be in RFC 1123 format. Got '"+clip(date)+"'.")
		}
	}
	if tok, ok := r.Header["X-Amz-Security-Token"]; ok && len(tok) > 0 {
		if len(tok) > 1 {
			return newError(ErrIncomplete, "The request contains more than one X-Amz-Security-Token header.")
		}
		a.token, a.hasToken = tok[0], true
	}
	return nil
}

func parsePresigned(r *http.Request, query string, a *authInfo) *Error {
	a.presigned = true
	var vals [8]string
	var seen [8]bool
	names := [8]string{qAlgorithm, qCredential, qDate, qExpires, qSignedHeaders, qSignature, qSecurityToken, qContentSHA256}
	for rest := query; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		k, v, _ := strings.Cut(part, "=")
		if strings.IndexByte(k, '%') >= 0 {
			k = unescape(k)
		}
		i := 0
		for ; i < len(names); i++ {
			if k == names[i] {
				break
			}
		}
		if i == len(names) {
			continue
		}
		if seen[i] {
			return newError(ErrIncomplete, "AWS query-string parameter '"+names[i]+"' appears more than once. "+msgReexamineQuery)
		}
		seen[i] = true
		vals[i] = unescape(v)
	}
	alg, credential, date, expires, signedHeaders, signature := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]

	var msg string
	for i, v := range []string{alg, credential, signature, signedHeaders, date, expires} {
		if v == "" {
			name := [...]string{qAlgorithm, qCredential, qSignature, qSignedHeaders, qDate, qExpires}[i]
			msg += "AWS query-string parameters must include '" + name + "'. "
		}
	}
	if msg != "" {
		return newError(ErrIncomplete, msg+msgReexamineQuery)
	}
	if alg != algorithmHMAC {
		return newError(ErrIncomplete, "Unsupported AWS 'algorithm': '"+clip(alg)+"' (only AWS4-HMAC-SHA256 for now). ")
	}
	if err := a.setCredential(credential); err != nil {
		return err
	}
	if !signsHost(signedHeaders) {
		return newError(ErrIncomplete, msgHostNotSigned)
	}
	a.signedHeaders = signedHeaders
	a.signature = signature
	if err := a.setAmzDate(date); err != nil {
		return err
	}
	n, err := strconv.ParseInt(expires, 10, 64)
	switch {
	case err != nil && !isDigits(strings.TrimPrefix(expires, "-")):
		return newError(ErrIncomplete, msgExpiresNaN)
	case strings.HasPrefix(expires, "-"):
		return newError(ErrIncomplete, msgExpiresNegative)
	case err != nil || n > maxExpires:
		return newError(ErrIncomplete, msgExpiresTooLarge)
	case n == 0:
		return newError(ErrIncomplete, msgExpiresZero)
	}
	a.expires = n
	if seen[6] {
		a.token, a.hasToken, a.tokenInQuery = vals[6], true, true
	} else if tok := r.Header["X-Amz-Security-Token"]; len(tok) > 0 {
		if len(tok) > 1 {
			return newError(ErrIncomplete, "The request contains more than one X-Amz-Security-Token header.")
		}
		a.token, a.hasToken = tok[0], true
	}
	a.contentSHA = vals[7]
	return nil
}

// setCredential splits keyid/date/region/service/terminator.
func (a *authInfo) setCredential(c string) *Error {
	akid, scope, ok := strings.Cut(c, "/")
	date, rest, ok2 := strings.Cut(scope, "/")
	region, rest, ok3 := strings.Cut(rest, "/")
	service, term, ok4 := strings.Cut(rest, "/")
	if !ok || !ok2 || !ok3 || !ok4 || akid == "" || strings.IndexByte(term, '/') >= 0 {
		return newError(ErrIncomplete, msgCredentialParts+clip(c)+"'")
	}
	a.accessKeyID, a.scope = akid, scope
	a.scopeDate, a.region, a.service, a.term = date, region, service, term
	return nil
}

func (a *authInfo) setAmzDate(s string) *Error {
	t, err := time.Parse(iso8601Basic, s)
	if err != nil || len(s) != len(a.amzDate) {
		return newError(ErrIncomplete, "Date must be in ISO-8601 'basic format'. Got '"+clip(s)+"'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	a.date = t
	copy(a.amzDate[:], s)
	return nil
}

// checkScope reports every scope problem at once, as AWS does.
func (a *authInfo) checkScope(service string) *Error {
	var msg string
	if !validRegion(a.region) {
		msg += msgInvalidRegion
	}
	if a.service != service {
		msg += "Credential should be scoped to correct service: '" + service + "'. "
	}
	if a.term != terminator {
		msg += "Credential should be scoped with a valid terminator: 'aws4_request', not '" + clip(a.term) + "'. "
	}
	if a.scopeDate != string(a.amzDate[:8]) {
		msg += "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			clip(a.scopeDate) + "' != '" + string(a.amzDate[:8]) + "', from '" + string(a.amzDate[:]) + "'."
	}
	if msg != "" {
		return newError(ErrScope, msg)
	}
	return nil
}

// checkTime applies the clock-skew window (header form) or the presigned
// validity window, with AWS's messages.
func (a *authInfo) checkTime(now time.Time, skew time.Duration) *Error {
	now = now.UTC().Truncate(time.Second)
	if a.date.After(now.Add(skew)) {
		return newError(ErrExpired, "Signature not yet current: "+string(a.amzDate[:])+" is still later than "+
			now.Add(skew).Format(iso8601Basic)+" ("+now.Format(iso8601Basic)+" + "+fmtSkew(skew)+".)")
	}
	if a.presigned {
		if now.After(a.date.Add(time.Duration(a.expires) * time.Second)) {
			return newError(ErrExpired, msgRequestExpired)
		}
		return nil
	}
	if a.date.Before(now.Add(-skew)) {
		return newError(ErrExpired, "Signature expired: "+string(a.amzDate[:])+" is now earlier than "+
			now.Add(-skew).Format(iso8601Basic)+" ("+now.Format(iso8601Basic)+" - "+fmtSkew(skew)+".)")
	}
	return nil
}

func fmtSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec"
}

// validRegion accepts AWS-style region names: a 2-4 letter partition prefix,
// one or more lowercase words, and a number (us-east-1, us-gov-west-1,
// us-iso-east-1, eusc-de-east-1), rather than a list that goes stale.
func validRegion(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	parts := 0
	for rest := s; ; parts++ {
		part, tail, more := strings.Cut(rest, "-")
		switch {
		case parts == 0:
			if len(part) < 2 || len(part) > 4 || !isLower(part) {
				return false
			}
		case !more:
			return parts >= 2 && len(part) <= 3 && isDigits(part)
		default:
			if !isLower(part) {
				return false
			}
		}
		if !more {
			return false
		}
		rest = tail
	}
}

func isLower(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// signsHost reports whether the ;-separated list names host.
func signsHost(signed string) bool {
	for rest := signed; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		if strings.EqualFold(name, "host") {
			return true
		}
	}
	return false
}

// queryHas reports whether the raw query has parameter name.
func queryHas(query, name string) bool {
	for query != "" {
		var part string
		part, query, _ = strings.Cut(query, "&")
		k, _, _ := strings.Cut(part, "=")
		if k == name || (strings.IndexByte(k, '%') >= 0 && unescape(k) == name) {
			return true
		}
	}
	return false
}

// unescape decodes %XX escapes; '+' stays a literal plus and a malformed
// escape stays as written, as in the canonical query.
func unescape(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		b = append(b, c)
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
