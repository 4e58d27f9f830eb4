package lb

import (
	"strings"
	"unicode/utf8"
)

// glob is an ALB match pattern: '*' matches any run of characters, '?'
// exactly one. Compiled once per rule, matched per request without
// allocating.
type glob struct {
	fold bool      // ASCII case-insensitive
	segs [][]piece // the pattern split at each '*'; one segment means no '*'
}

// piece is a literal run or a '?'.
type piece struct {
	lit string
	one bool // '?': exactly one character
}

// compileGlob compiles pattern. With escapes, a backslash makes the next
// character literal (ALB's rule for query strings, where "\*" is a literal
// star); otherwise a backslash is an ordinary character.
func compileGlob(pattern string, fold, escapes bool) glob {
	g := glob{fold: fold}
	var (
		seg []piece
		lit strings.Builder
	)
	flush := func() {
		if lit.Len() > 0 {
			seg = append(seg, piece{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case escapes && c == '\\' && i+1 < len(pattern):
			i++
			lit.WriteByte(pattern[i])
		case c == '*':
			flush()
			g.segs = append(g.segs, seg)
			seg = nil
		case c == '?':
			flush()
			seg = append(seg, piece{one: true})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	g.segs = append(g.segs, seg)
	return g
}

// match reports whether the whole of s matches the pattern.
func (g *glob) match(s string) bool {
	if len(g.segs) == 1 {
		n, ok := g.matchAt(g.segs[0], s)
		return ok && n == len(s)
	}
	n, ok := g.matchAt(g.segs[0], s)
	if !ok {
		return false
	}
	s = s[n:]
	// Middle segments: the leftmost occurrence of each leaves the most
	// room for the rest, so a greedy scan is exact (segments hold no '*').
	for _, seg := range g.segs[1 : len(g.segs)-1] {
		found := false
		for i := 0; i <= len(s); i++ {
			if n, ok := g.matchAt(seg, s[i:]); ok {
				s = s[i+n:]
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	last := g.segs[len(g.segs)-1]
	for i := 0; i <= len(s); i++ {
		if n, ok := g.matchAt(last, s[i:]); ok && i+n == len(s) {
			return true
		}
	}
	return false
}

// matchAt matches one segment at the start of s and returns the bytes used.
func (g *glob) matchAt(seg []piece, s string) (int, bool) {
	n := 0
	for _, p := range seg {
		if p.one {
			if n >= len(s) {
				return 0, false
			}
			_, w := utf8.DecodeRuneInString(s[n:])
			n += w
			continue
		}
		if len(s)-n < len(p.lit) {
			return 0, false
		}
		if g.fold {
			if !asciiEqualFold(s[n:n+len(p.lit)], p.lit) {
				return 0, false
			}
		} else if s[n:n+len(p.lit)] != p.lit {
			return 0, false
		}
		n += len(p.lit)
	}
	return n, true
}

// asciiEqualFold compares two equally long strings ignoring ASCII case.
func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
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
