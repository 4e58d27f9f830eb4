package placement

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
)

// parseVersion reads an agent version argument: numbers separated by dots.
// Components are returned without leading zeros, so that they compare by
// length and then lexically, whatever their size.
func parseVersion(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	parts := strings.Split(s, ".")
	for k, c := range parts {
		if c == "" || strings.Trim(c, "0123456789") != "" {
			return nil, false
		}
		parts[k] = strings.TrimLeft(c, "0")
	}
	return parts, true
}

// instanceVersion reads an instance's agent version, ignoring a suffix such
// as "-dev" or "+build" after the numbers. An unreadable version is no value.
func instanceVersion(s string) ([]string, bool) {
	if k := strings.IndexAny(s, "-+ "); k >= 0 {
		s = s[:k]
	}
	return parseVersion(s)
}

// compareVersions compares component by component, numerically; a missing
// component is 0, so 1.14 == 1.14.0 and 1.2.0 < 1.14.5.
func compareVersions(a, b []string) int {
	for k := range max(len(a), len(b)) {
		var x, y string
		if k < len(a) {
			x = a[k]
		}
		if k < len(b) {
			y = b[k]
		}
		if c := compareDigits(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareDigits compares two digit strings without leading zeros.
func compareDigits(x, y string) int {
	if c := cmp.Compare(len(x), len(y)); c != 0 {
		return c
	}
	return strings.Compare(x, y)
}

// decimal is a decimal number as written, normalised for exact comparison:
// no leading zeros in whole, no trailing zeros in frac.
type decimal struct {
	neg         bool
	whole, frac string
}

// parseDecimal reads [+-]digits[.digits].
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	switch {
	case strings.HasPrefix(s, "-"):
		d.neg = true
		s = s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" ||
		dot && (frac == "" || strings.Trim(frac, "0123456789") != "") {
		return decimal{}, false
	}
	d.whole = strings.TrimLeft(whole, "0")
	d.frac = strings.TrimRight(frac, "0")
	if d.whole == "" && d.frac == "" {
		d.neg = false // -0 is 0
	}
	return d, true
}

func compareDecimals(a, b decimal) int {
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := compareDigits(a.whole, b.whole)
	if c == 0 {
		// Without trailing zeros, fractions compare lexically.
		c = strings.Compare(a.frac, b.frac)
	}
	if a.neg {
		return -c
	}
	return c
}

// The date formats of the cluster query language page. A time without a
// zone, and a date, are UTC.
var timeLayouts = []string{
	"2006-01-02T15:04:05Z07:00", // also takes fractions of a second
	"2006-01-02T15:04:05",
	"2006-01-02",
}

// parseTime reads a registeredAt argument, and reports whether it has
// fractions of a second.
func parseTime(s string) (time.Time, bool, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, t.Nanosecond() != 0, true
		}
	}
	return time.Time{}, false, false
}

// Bounds on the regular expressions of one expression, in units of about
// one compiled instruction. Go's regexp matches in time linear in the input,
// so only the size of the compiled programs needs a bound: realistic
// patterns are tens of units, and these keep a hostile expression to a
// megabyte or so.
const (
	maxRegexSize  = 2000
	maxRegexTotal = 20000
)

// compileRegexp compiles a =~ pattern to match the whole value, as Java's
// String.matches does, and charges its size to budget. On failure it
// returns a message for a SyntaxError.
func compileRegexp(pat string, budget *int) (*regexp.Regexp, string) {
	// Parse the pattern alone first: wrapped, "a)|(b" would compile.
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			msg := fmt.Sprintf("%q is not a valid regular expression: %s", pat, se.Code)
			if se.Expr != "" && se.Expr != pat {
				msg += fmt.Sprintf(" at %q", se.Expr)
			}
			switch se.Code {
			case syntax.ErrInvalidPerlOp, syntax.ErrInvalidNamedCapture, syntax.ErrInvalidEscape, syntax.ErrInvalidRepeatOp:
				// Java has these; RE2 syntax, which keeps matching linear, does not.
				msg += "; lookaround, backreferences and possessive quantifiers are not supported"
			}
			return nil, msg
		}
		return nil, fmt.Sprintf("%q is not a valid regular expression", pat)
	}
	size := regexSize(re, maxRegexSize)
	if size > maxRegexSize {
		return nil, fmt.Sprintf("the regular expression %q is too large", pat)
	}
	if *budget -= size; *budget < 0 {
		return nil, "the regular expressions of the expression are too large in total"
	}
	rx, err := regexp.Compile(`\A(?:` + pat + `)\z`)
	if err != nil {
		return nil, fmt.Sprintf("%q is not a valid regular expression", pat)
	}
	return rx, ""
}

// regexSize estimates the compiled size of re, counting repetitions out in
// full, and stops counting past limit.
func regexSize(re *syntax.Regexp, limit int) int {
	size := 1
	switch re.Op {
	case syntax.OpLiteral:
		size += len(re.Rune)
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		sub := regexSize(re.Sub[0], limit)
		if sub > limit || n > 0 && sub > limit/n {
			return limit + 1
		}
		size += sub * max(n, 1)
	default:
		for _, s := range re.Sub {
			size += regexSize(s, limit)
			if size > limit {
				return limit + 1
			}
		}
	}
	return size
}
