package logs

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/awsapi"
)

// validator collects constraint violations of a request and reports them
// the way CloudWatch Logs does:
//
//	1 validation error detected: Value 'a:b' at 'logGroupName' failed to
//	satisfy constraint: Member must satisfy regular expression pattern: ...
type validator struct {
	errs []string
}

func (v *validator) add(value, member, constraint string) {
	v.errs = append(v.errs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, member, constraint))
}

func quote(s string) string { return "'" + s + "'" }

// required checks that a member is present.
func (v *validator) required(member string, present bool) bool {
	if !present {
		v.errs = append(v.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
	}
	return present
}

// length checks a string's length in characters against [lo, hi] (hi 0:
// none).
func (v *validator) length(member, s string, lo, hi int) {
	n := utf8.RuneCountInString(s)
	if n < lo {
		v.add(quote(s), member, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
	}
	if hi > 0 && n > hi {
		v.add(quote(s), member, fmt.Sprintf("Member must have length less than or equal to %d", hi))
	}
}

// memberPattern is a model's regular expression: the text AWS shows and
// the compiled form, anchored.
type memberPattern struct {
	text string
	re   *regexp.Regexp
}

func newPattern(text string) memberPattern {
	return memberPattern{text, regexp.MustCompile(`^(?:` + strings.TrimSuffix(strings.TrimPrefix(text, "^"), "$") + `)$`)}
}

func (v *validator) pattern(member, s string, p memberPattern) {
	if !p.re.MatchString(s) {
		v.add(quote(s), member, "Member must satisfy regular expression pattern: "+p.text)
	}
}

// intRange checks n against [lo, hi].
func (v *validator) intRange(member string, n, lo, hi int64) {
	if n < lo {
		v.add(quote(strconv.FormatInt(n, 10)), member, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	if n > hi {
		v.add(quote(strconv.FormatInt(n, 10)), member, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

// atLeast checks n >= lo.
func (v *validator) atLeast(member string, n, lo int64) {
	if n < lo {
		v.add(quote(strconv.FormatInt(n, 10)), member, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
}

func (v *validator) enum(member, s string, allowed []string) {
	if !slices.Contains(allowed, s) {
		v.add(quote(s), member, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
	}
}

// count checks a list's or map's size against [lo, hi], as AWS does
// without repeating the value.
func (v *validator) count(member string, n, lo, hi int) {
	if n < lo {
		v.errs = append(v.errs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", member, lo))
	}
	if n > hi {
		v.errs = append(v.errs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", member, hi))
	}
}

func (v *validator) err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return invalidParam("1 validation error detected: %s", v.errs[0])
	}
	return invalidParam("%d validation errors detected: %s", len(v.errs), strings.Join(v.errs, "; "))
}

func invalidParam(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "InvalidParameterException", Message: fmt.Sprintf(format, args...)}
}

// The CloudWatch Logs model's constraints.
var (
	groupNamePattern             = newPattern(`[\.\-_/#A-Za-z0-9]+`)
	groupNameSearchPattern       = newPattern(`[\.\-_/#A-Za-z0-9]*`)
	streamNamePattern            = newPattern(`[^:*]*`)
	groupIdentifierPattern       = newPattern(`[\w#+=/:,.@-]*`)
	tagKeyPattern                = newPattern(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$`)
	tagValuePattern              = newPattern(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	orderByValues                = []string{"LogStreamName", "LastEventTime"}
	logGroupClassValues          = []string{"STANDARD", "INFREQUENT_ACCESS", "DELIVERY", "ESSENTIALS"}
	retentionDaysValues          = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	maxNameLen                   = 512
	maxTags                      = 50
	maxTagKeyLen                 = 128
	maxTagValueLen               = 256
	maxKMSKeyIDLen               = 256
	maxFilterStreams             = 100
	maxDescribeLimit       int64 = 50
	maxEventsLimit         int64 = 10000
)

// groupName checks a log group name member, which must be given when
// need.
func (v *validator) groupName(member string, s *string, need bool) {
	if s == nil {
		if need {
			v.required(member, false)
		}
		return
	}
	v.length(member, *s, 1, maxNameLen)
	if *s != "" {
		v.pattern(member, *s, groupNamePattern)
	}
}

func (v *validator) streamName(member string, s *string, need bool) {
	if s == nil {
		if need {
			v.required(member, false)
		}
		return
	}
	v.length(member, *s, 1, maxNameLen)
	v.pattern(member, *s, streamNamePattern)
}

func (v *validator) limit(member string, n *int32, hi int64) {
	if n != nil {
		v.intRange(member, int64(*n), 1, hi)
	}
}

func (v *validator) timestamp(member string, t *int64) {
	if t != nil {
		v.atLeast(member, *t, 0)
	}
}

// tags checks a tag map.
func (v *validator) tags(member string, tags map[string]string) {
	v.count(member, len(tags), 1, maxTags)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if n := utf8.RuneCountInString(k); n < 1 || n > maxTagKeyLen || !tagKeyPattern.re.MatchString(k) {
			v.errs = append(v.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to %d, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: %s]",
				k, member, maxTagKeyLen, tagKeyPattern.text))
		}
		if val := tags[k]; utf8.RuneCountInString(val) > maxTagValueLen || !tagValuePattern.re.MatchString(val) {
			v.errs = append(v.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to %d, Member must satisfy regular expression pattern: %s]",
				val, member, maxTagValueLen, tagValuePattern.text))
		}
	}
}

// tagKeys checks a list of tag keys.
func (v *validator) tagKeys(member string, keys []string, lo int) {
	v.count(member, len(keys), lo, maxTags)
	for i, k := range keys {
		m := fmt.Sprintf("%s.%d.member", member, i+1)
		v.length(m, k, 1, maxTagKeyLen)
		if k != "" {
			v.pattern(m, k, tagKeyPattern)
		}
	}
}
