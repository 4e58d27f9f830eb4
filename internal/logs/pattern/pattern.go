package pattern

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest filter pattern CloudWatch Logs accepts (the
// FilterPattern shape's maximum).
const MaxLength = 1024

// A Pattern is a parsed filter pattern. It is safe for concurrent use.
type Pattern struct {
	src string
	m   matcher
}

type matcher interface {
	match(msg []byte) bool
}

// SyntaxError is a pattern that does not parse: AWS calls every such pattern
// "Invalid filter pattern"; Pos and Msg say what was wrong, for logs and
// tests.
type SyntaxError struct {
	Pos int // byte offset in the pattern
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid filter pattern at offset %d: %s", e.Pos, e.Msg)
}

func errAt(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a filter pattern. The empty pattern (or only spaces) matches
// every message.
func Parse(s string) (*Pattern, error) {
	if len(s) > MaxLength {
		return nil, errAt(MaxLength, "longer than %d bytes", MaxLength)
	}
	if !utf8.ValidString(s) {
		return nil, errAt(0, "not valid UTF-8")
	}
	body := strings.TrimSpace(s)
	off := strings.Index(s, body)
	var (
		m   matcher
		err error
	)
	switch {
	case body == "":
		m = all{}
	case body[0] == '{':
		m, err = parseJSON(body, off)
	case body[0] == '[':
		m, err = parseDelimited(body, off)
	case body[0] == '%':
		m, err = parseRegexTerm(body, off)
	default:
		m, err = parseTerms(body, off)
	}
	if err != nil {
		return nil, err
	}
	return &Pattern{src: s, m: m}, nil
}

// String returns the pattern as it was written.
func (p *Pattern) String() string { return p.src }

// MatchesAll reports whether the pattern matches every message (it is
// empty, or the zero Pattern), so callers may skip evaluating it.
func (p *Pattern) MatchesAll() bool {
	_, ok := p.m.(all)
	return ok || p.m == nil
}

// Match reports whether msg matches the pattern.
func (p *Pattern) Match(msg []byte) bool { return p.m == nil || p.m.match(msg) }

// MatchString is Match for a string.
func (p *Pattern) MatchString(msg string) bool { return p.Match([]byte(msg)) }

type all struct{}

func (all) match([]byte) bool { return true }

// terms is an unstructured pattern: every required term, at least one of the
// optional (?) terms if there are any, and none of the excluded (-) terms.
type terms struct {
	required, optional, excluded [][]byte
}

func (t *terms) match(msg []byte) bool {
	for _, term := range t.excluded {
		if bytes.Contains(msg, term) {
			return false
		}
	}
	for _, term := range t.required {
		if !bytes.Contains(msg, term) {
			return false
		}
	}
	if len(t.optional) == 0 {
		return true
	}
	for _, term := range t.optional {
		if bytes.Contains(msg, term) {
			return true
		}
	}
	return false
}

// parseTerms parses the unstructured form. Terms are separated by spaces; a
// term is a bare word or a "quoted phrase" (with \" and \\ escapes); a
// leading ? makes it optional and a leading - excludes it. As in CloudWatch
// Logs, a - inside a bare word starts an excluded term (request-id is
// "request" but not "id"): terms with characters other than letters, digits
// and _ belong in quotes.
func parseTerms(s string, off int) (matcher, error) {
	t := &terms{}
	add := func(kind byte, term string) {
		b := []byte(term)
		switch kind {
		case '?':
			t.optional = append(t.optional, b)
		case '-':
			t.excluded = append(t.excluded, b)
		default:
			t.required = append(t.required, b)
		}
	}
	i := 0
	for i < len(s) {
		c := s[i]
		if isSpace(c) {
			i++
			continue
		}
		var kind byte
		if c == '?' || c == '-' {
			kind = c
			i++
			if i == len(s) || isSpace(s[i]) {
				return nil, errAt(off+i, "%q without a term", c)
			}
		}
		if s[i] == '"' {
			phrase, n, err := readQuoted(s[i:], off+i)
			if err != nil {
				return nil, err
			}
			add(kind, phrase)
			i += n
			continue
		}
		j := i
		for j < len(s) && !isSpace(s[j]) && s[j] != '"' {
			j++
		}
		for k, part := range strings.Split(s[i:j], "-") {
			if part == "" {
				return nil, errAt(off+i, "empty term in %q", s[i:j])
			}
			if k > 0 {
				kind = '-'
			}
			add(kind, part)
		}
		i = j
	}
	return t, nil
}

// readQuoted reads a double-quoted string at the start of s, returning its
// unescaped content and the bytes consumed.
func readQuoted(s string, off int) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			b.WriteByte('\\')
		case '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errAt(off, "unterminated quoted string")
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// regexTerm is a standalone %regex% pattern.
type regexTerm struct{ re *regexp.Regexp }

func (r regexTerm) match(msg []byte) bool { return r.re.Match(msg) }

func parseRegexTerm(s string, off int) (matcher, error) {
	if len(s) < 2 || s[len(s)-1] != '%' {
		return nil, errAt(off, "regular expression without a closing %%")
	}
	re, err := compileRegex(s[1:len(s)-1], off+1)
	if err != nil {
		return nil, err
	}
	return regexTerm{re}, nil
}

// compileRegex compiles the body of a %...% expression, holding it to the
// characters CloudWatch Logs allows: letters, digits, space, the symbols
// _ # = @ / ; , - : and the operators ^ $ ? [ ] { } | \ * + . — no
// parentheses, no multi-byte characters.
func compileRegex(body string, off int) (*regexp.Regexp, error) {
	if body == "" {
		return nil, errAt(off, "empty regular expression")
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c >= utf8.RuneSelf {
			return nil, errAt(off+i, "multi-byte character in a regular expression")
		}
		if isAlnum(c) || strings.IndexByte(" _#=@/;,-:^$?[]{}|\\*+.", c) >= 0 {
			continue
		}
		return nil, errAt(off+i, "character %q is not allowed in a regular expression", c)
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, errAt(off, "regular expression: %v", err)
	}
	return re, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// glob is a string value of a JSON or space-delimited condition: a literal
// with an optional * wildcard at its start, its end or both (a * elsewhere
// is literal, as CloudWatch Logs documents), or * alone (anything).
type glob struct {
	lit            []byte
	prefix, suffix bool // a wildcard before / after lit
	any            bool
}

func newGlob(s string) glob {
	if s == "*" {
		return glob{any: true}
	}
	g := glob{}
	if strings.HasPrefix(s, "*") {
		s, g.prefix = s[1:], true
	}
	if strings.HasSuffix(s, "*") {
		s, g.suffix = s[:len(s)-1], true
	}
	g.lit = []byte(s)
	return g
}

func (g glob) match(s []byte) bool {
	switch {
	case g.any:
		return true
	case g.prefix && g.suffix:
		return bytes.Contains(s, g.lit)
	case g.prefix:
		return bytes.HasSuffix(s, g.lit)
	case g.suffix:
		return bytes.HasPrefix(s, g.lit)
	}
	return bytes.Equal(s, g.lit)
}
