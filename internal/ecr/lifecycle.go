package ecr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/registry"
)

// Policy is a parsed lifecycle policy.
type Policy struct {
	Rules []Rule // in rulePriority order
}

// Rule is one rule of a lifecycle policy.
type Rule struct {
	Priority       int
	Description    string
	TagStatus      string // tagged, untagged, any
	TagPrefixList  []string
	TagPatternList []string
	CountType      string // imageCountMoreThan, sinceImagePushed
	CountUnit      string // days
	CountNumber    int
}

// lpFail is ECR's wording of a lifecycle policy that fails validation.
func lpFail(format string, args ...any) *awsapi.Error {
	return constraint("LifecyclePolicyText", "Lifecycle policy validation failure: "+fmt.Sprintf(format, args...))
}

// jsonType names the JSON type of a raw value as JSON Schema does.
func jsonType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "null"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil && f == float64(int64(f)) && !bytes.ContainsAny(raw, ".eE") {
		return "integer"
	}
	return "number"
}

func wrongType(raw json.RawMessage, want string) *awsapi.Error {
	return lpFail(`instance type (%s) does not match any allowed primitive type (allowed: ["%s"])`, jsonType(raw), want)
}

// object decodes a JSON object, checking its required and allowed members.
func object(raw json.RawMessage, required, allowed []string) (map[string]json.RawMessage, *awsapi.Error) {
	if jsonType(raw) != "object" {
		return nil, wrongType(raw, "object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, lpFail("Could not map policyString into LifecyclePolicy.")
	}
	var missing, extra []string
	for _, k := range required {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(missing) > 0 {
		return nil, lpFail("object has missing required properties (%s)", quoteList(missing))
	}
	if len(extra) > 0 {
		return nil, lpFail("object instance has properties which are not allowed by the schema: (%s)", quoteList(extra))
	}
	return m, nil
}

func quoteList(s []string) string {
	s = slices.Sorted(slices.Values(s))
	b, _ := json.Marshal(s)
	return string(b)
}

func str(raw json.RawMessage) (string, *awsapi.Error) {
	if jsonType(raw) != "string" {
		return "", wrongType(raw, "string")
	}
	var s string
	_ = json.Unmarshal(raw, &s)
	return s, nil
}

func enum(raw json.RawMessage, values ...string) (string, *awsapi.Error) {
	s, err := str(raw)
	if err != nil {
		return "", err
	}
	if !slices.Contains(values, s) {
		return "", lpFail(`instance value ("%s") not found in enum (possible values: %s)`, s, quoteList(values))
	}
	return s, nil
}

func positive(raw json.RawMessage) (int, *awsapi.Error) {
	if jsonType(raw) != "integer" {
		return 0, wrongType(raw, "integer")
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || n > 1<<31-1 {
		return 0, lpFail("numeric instance is greater than the required maximum (maximum: 2147483647, found: %s)", bytes.TrimSpace(raw))
	}
	if n < 1 {
		return 0, lpFail("numeric instance is lower than the required minimum (minimum: 1, found: %d)", n)
	}
	return int(n), nil
}

func strList(raw json.RawMessage) ([]string, *awsapi.Error) {
	if jsonType(raw) != "array" {
		return nil, wrongType(raw, "array")
	}
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	if len(items) == 0 {
		return nil, lpFail("array is too short: must have at least 1 elements but instance has 0 elements")
	}
	var out []string
	for _, it := range items {
		s, err := str(it)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ParsePolicy validates a lifecycle policy text as ECR does: the JSON
// schema (members, types, enums, minimums), then the rules between rules.
// Errors are InvalidParameterException.
func ParsePolicy(text string) (*Policy, error) {
	if len(text) < 100 {
		return nil, constraint("lifecyclePolicyText", "Member must have length greater than or equal to 100")
	}
	if len(text) > 30720 {
		return nil, constraint("lifecyclePolicyText", "Member must have length less than or equal to 30720")
	}
	if !json.Valid([]byte(text)) {
		return nil, lpFail("Could not map policyString into LifecyclePolicy.")
	}
	top, err := object(json.RawMessage(text), []string{"rules"}, []string{"rules"})
	if err != nil {
		return nil, err
	}
	if jsonType(top["rules"]) != "array" {
		return nil, wrongType(top["rules"], "array")
	}
	var raws []json.RawMessage
	_ = json.Unmarshal(top["rules"], &raws)
	if len(raws) == 0 {
		return nil, lpFail("array is too short: must have at least 1 elements but instance has 0 elements")
	}
	p := &Policy{}
	for _, raw := range raws {
		r, err := parseRule(raw)
		if err != nil {
			return nil, err
		}
		p.Rules = append(p.Rules, r)
	}
	sort.SliceStable(p.Rules, func(i, j int) bool { return p.Rules[i].Priority < p.Rules[j].Priority })
	if err := p.checkRules(); err != nil {
		return nil, err
	}
	return p, nil
}

func parseRule(raw json.RawMessage) (Rule, *awsapi.Error) {
	var r Rule
	m, err := object(raw, []string{"rulePriority", "selection", "action"}, []string{"rulePriority", "description", "selection", "action"})
	if err != nil {
		return r, err
	}
	if r.Priority, err = positive(m["rulePriority"]); err != nil {
		return r, err
	}
	if d, ok := m["description"]; ok {
		if r.Description, err = str(d); err != nil {
			return r, err
		}
	}
	action, err := object(m["action"], []string{"type"}, []string{"type"})
	if err != nil {
		return r, err
	}
	if _, err := enum(action["type"], "expire"); err != nil {
		return r, err
	}
	sel, err := object(m["selection"], []string{"tagStatus", "countType", "countNumber"},
		[]string{"tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit", "countNumber"})
	if err != nil {
		return r, err
	}
	if r.TagStatus, err = enum(sel["tagStatus"], "tagged", "untagged", "any"); err != nil {
		return r, err
	}
	for key, dst := range map[string]*[]string{"tagPrefixList": &r.TagPrefixList, "tagPatternList": &r.TagPatternList} {
		if v, ok := sel[key]; ok {
			if *dst, err = strList(v); err != nil {
				return r, err
			}
		}
	}
	// The schema's oneOf: imageCountMoreThan without countUnit, or
	// sinceImagePushed with countUnit "days".
	oneOf := lpFail("instance failed to match exactly one schema (matched 0 out of 2)")
	r.CountType, _ = str(sel["countType"])
	unit, hasUnit := sel["countUnit"]
	switch {
	case r.CountType == "imageCountMoreThan" && !hasUnit:
	case r.CountType == "sinceImagePushed" && hasUnit:
		if r.CountUnit, err = enum(unit, "days"); err != nil {
			return r, err
		}
	default:
		return r, oneOf
	}
	if r.CountNumber, err = positive(sel["countNumber"]); err != nil {
		return r, err
	}
	return r, nil
}

// checkRules enforces what the schema cannot: how a rule's tag lists fit
// its tagStatus, and how rules fit together.
func (p *Policy) checkRules() *awsapi.Error {
	priorities := map[int]bool{}
	prefixes := map[string]bool{}
	untagged := 0
	for i, r := range p.Rules {
		if priorities[r.Priority] {
			return lpFail("rulePriority %d is used by more than one rule; rule priorities must be unique.", r.Priority)
		}
		priorities[r.Priority] = true
		lists := len(r.TagPrefixList) + len(r.TagPatternList)
		switch r.TagStatus {
		case "tagged":
			if lists == 0 {
				return lpFail("rule %d: tagPrefixList or tagPatternList must be specified when tagStatus is tagged.", r.Priority)
			}
			if len(r.TagPrefixList) > 0 && len(r.TagPatternList) > 0 {
				return lpFail("rule %d: tagPrefixList and tagPatternList cannot both be specified in one rule.", r.Priority)
			}
		case "untagged", "any":
			if lists > 0 {
				return lpFail("rule %d: tagPrefixList and tagPatternList must be omitted when tagStatus is %s.", r.Priority, r.TagStatus)
			}
		}
		if r.TagStatus == "untagged" {
			untagged++
			if untagged > 1 {
				return lpFail("only one rule may select untagged images.")
			}
		}
		if r.TagStatus == "any" && i != len(p.Rules)-1 {
			return lpFail("the rule with tagStatus any must have the highest rulePriority.")
		}
		for _, pat := range r.TagPatternList {
			if strings.Count(pat, "*") > 4 {
				return lpFail("rule %d: tag pattern '%s' has more than 4 wildcards (*).", r.Priority, pat)
			}
			if pat == "" || strings.ContainsAny(pat, "?[\\/") {
				return lpFail("rule %d: tag pattern '%s' is not valid.", r.Priority, pat)
			}
		}
		for _, pre := range r.TagPrefixList {
			if prefixes[pre] {
				return lpFail("tag prefix '%s' is used by more than one rule; tag prefixes must be unique across rules.", pre)
			}
			prefixes[pre] = true
		}
	}
	return nil
}

// Candidate is an image as lifecycle rules see it.
type Candidate struct {
	Digest   registry.Digest
	Tags     []string
	PushedAt time.Time
}

// Expiry is an image a rule expires.
type Expiry struct {
	Candidate
	Rule int // the rulePriority of the rule that expires it
}

// matches reports whether the rule's selection takes c.
func (r *Rule) matches(c Candidate) bool {
	switch r.TagStatus {
	case "untagged":
		return len(c.Tags) == 0
	case "any":
		return true
	}
	if len(c.Tags) == 0 {
		return false
	}
	// Each prefix (pattern) must match at least one of the image's tags.
	for _, pre := range r.TagPrefixList {
		if !slices.ContainsFunc(c.Tags, func(t string) bool { return strings.HasPrefix(t, pre) }) {
			return false
		}
	}
	for _, pat := range r.TagPatternList {
		if !slices.ContainsFunc(c.Tags, func(t string) bool { return registry.WildcardMatch(pat, t) }) {
			return false
		}
	}
	return true
}

// Evaluate applies the policy to a repository's images as ECR documents
// it: rules in priority order; each rule selects its images, newest
// first, and picks its candidates (beyond the newest countNumber, or
// pushed more than countNumber days ago); a candidate is expired unless a
// rule of higher priority already selected it (or expired it). Images a
// higher-priority rule selected still count among a lower rule's kept
// images. The result is in rule order, oldest first within a rule.
func (p *Policy) Evaluate(images []Candidate, now time.Time) []Expiry {
	byAge := slices.Clone(images)
	sort.SliceStable(byAge, func(i, j int) bool {
		if !byAge[i].PushedAt.Equal(byAge[j].PushedAt) {
			return byAge[i].PushedAt.After(byAge[j].PushedAt)
		}
		return byAge[i].Digest < byAge[j].Digest
	})
	seen := map[registry.Digest]bool{}
	expired := map[registry.Digest]bool{}
	var out []Expiry
	for _, r := range p.Rules {
		var selected []Candidate
		for _, c := range byAge {
			if r.matches(c) {
				selected = append(selected, c)
			}
		}
		var cands []Candidate
		switch r.CountType {
		case "imageCountMoreThan":
			if len(selected) > r.CountNumber {
				cands = selected[r.CountNumber:]
			}
		case "sinceImagePushed":
			cutoff := now.Add(-time.Duration(r.CountNumber) * 24 * time.Hour)
			for _, c := range selected {
				if c.PushedAt.Before(cutoff) {
					cands = append(cands, c)
				}
			}
		}
		for i := len(cands) - 1; i >= 0; i-- {
			c := cands[i]
			if !seen[c.Digest] && !expired[c.Digest] {
				expired[c.Digest] = true
				out = append(out, Expiry{Candidate: c, Rule: r.Priority})
			}
		}
		for _, c := range selected {
			seen[c.Digest] = true
		}
	}
	return out
}
