package ssm

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/awsapi"
)

// validator collects the violations of the model's constraints (lengths,
// enums, patterns, ranges) and reports them in one ValidationException, the
// way AWS's front end does.
type validator struct{ msgs []string }

func (v *validator) add(field, value string, sensitive bool, constraint string) {
	if sensitive {
		v.msgs = append(v.msgs, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", field, constraint))
		return
	}
	v.msgs = append(v.msgs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint))
}

// length checks the length of a present string member.
func (v *validator) length(field, value string, min, max int, sensitive bool) {
	n := utf8.RuneCountInString(value)
	switch {
	case n < min:
		v.add(field, value, sensitive, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	case max > 0 && n > max:
		v.add(field, value, sensitive, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// optLength is length for an optional member.
func (v *validator) optLength(field string, value *string, min, max int) {
	if value != nil {
		v.length(field, *value, min, max, false)
	}
}

// enum checks a present enum member against its set.
func (v *validator) enum(field, value string, set ...string) {
	if value == "" {
		return
	}
	for _, s := range set {
		if s == value {
			return
		}
	}
	v.add(field, value, false, "Member must satisfy enum value set: ["+strings.Join(set, ", ")+"]")
}

// pattern checks a present string member against the model's pattern.
func (v *validator) pattern(field, value string, re *regexp.Regexp, source string) {
	if !re.MatchString(value) {
		v.add(field, value, false, "Member must satisfy regular expression pattern: "+source)
	}
}

// listLength checks the number of members of a list.
func (v *validator) listLength(field string, items []string, min, max int) {
	rendered := "[" + strings.Join(items, ", ") + "]"
	switch {
	case len(items) < min:
		v.add(field, rendered, false, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	case len(items) > max:
		v.add(field, rendered, false, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// intRange checks an optional integer member.
func (v *validator) intRange(field string, n *int32, min, max int32) {
	switch {
	case n == nil:
	case *n < min:
		v.add(field, fmt.Sprint(*n), false, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	case *n > max:
		v.add(field, fmt.Sprint(*n), false, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

func (v *validator) err() *awsapi.Error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return validationErr("1 validation error detected: %s", v.msgs[0])
	}
	return validationErr("%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; "))
}

// Patterns of the model.
var (
	keyIDPattern = regexp.MustCompile(`^([a-zA-Z0-9:/_-]+)$`)
	tagPattern   = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
)

const (
	keyIDSource = `^([a-zA-Z0-9:/_-]+)$`
	tagSource   = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
)

// Enums of the model.
var (
	parameterTypes = []string{typeString, typeStringList, typeSecureString}
	tiers          = []string{tierStandard, tierAdvanced, tierIntelligent}
	resourceTypes  = []string{"Document", "ManagedInstance", "MaintenanceWindow", "Parameter", "PatchBaseline", "OpsItem", "OpsMetadata", "Automation", "Association"}
)

const (
	typeString       = "String"
	typeStringList   = "StringList"
	typeSecureString = "SecureString"

	tierStandard    = "Standard"
	tierAdvanced    = "Advanced"
	tierIntelligent = "Intelligent-Tiering"
)

// Tag is a key-value pair on a parameter.
type Tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

// checkTags validates tags as the model does (TagList: at most 1000; keys 1
// to 128 characters, values up to 256, both of letters, digits, spaces and
// _.:/=+-@).
func (v *validator) tags(field string, tags []Tag) {
	if len(tags) > 1000 {
		v.add(field, fmt.Sprintf("%d tags", len(tags)), false, "Member must have length less than or equal to 1000")
	}
	for i, t := range tags {
		m := fmt.Sprintf("%s.%d.member", field, i+1)
		if t.Key == nil {
			v.add(m+".key", "null", false, "Member must not be null")
		} else {
			v.length(m+".key", *t.Key, 1, 128, false)
			v.pattern(m+".key", *t.Key, tagPattern, tagSource)
		}
		if t.Value == nil {
			v.add(m+".value", "null", false, "Member must not be null")
		} else {
			v.length(m+".value", *t.Value, 0, 256, false)
			v.pattern(m+".value", *t.Value, tagPattern, tagSource)
		}
	}
}
