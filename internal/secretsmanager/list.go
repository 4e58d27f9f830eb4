package secretsmanager

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
)

// item is one entry of a listing being paged: a secret or a version.
type item struct {
	t    int64  // the sort date in Unix milliseconds, when sorting by a date
	name string // the secret's name or the version's id: order and tie-break
	s    *secret
}

// order is the order of a listing.
type order func(a, b item) int

func byTime(desc bool) order {
	return direction(desc, func(a, b item) int { return cmp.Or(cmp.Compare(a.t, b.t), strings.Compare(a.name, b.name)) })
}

func byName(desc bool) order {
	return direction(desc, func(a, b item) int { return strings.Compare(a.name, b.name) })
}

func direction(desc bool, o order) order {
	if desc {
		return func(a, b item) int { return o(b, a) }
	}
	return o
}

// pageToken is what a NextToken carries: the sort key of the last entry
// returned. It is opaque to clients.
type pageToken struct {
	T int64  `json:"t,omitempty"`
	N string `json:"n"`
}

func encodeToken(it item) *string {
	b, _ := json.Marshal(pageToken{T: it.t, N: it.name})
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

// decodeToken reads a NextToken; nil means the first page.
func decodeToken(tok *string) (*item, error) {
	if tok == nil {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	var pt pageToken
	if err == nil {
		err = json.Unmarshal(b, &pt)
	}
	if err != nil || pt.N == "" {
		return nil, &awsapi.Error{Code: "InvalidNextTokenException", Message: msgBadNextToken}
	}
	return &item{t: pt.T, name: pt.N}, nil
}

// pageArgs checks MaxResults against [1, maxN], defaulting to def, and
// reads NextToken.
func pageArgs(member string, maxResults *int32, maxN, def int, tok *string) (int, *item, error) {
	n := def
	if maxResults != nil {
		m := int64(*maxResults)
		if err := checkRange(member, &m, 1, int64(maxN)); err != nil {
			return 0, nil, err
		}
		n = int(m)
	}
	if err := optLen("nextToken", tok, 1, maxNextToken, false); err != nil {
		return 0, nil, err
	}
	after, err := decodeToken(tok)
	return n, after, err
}

// paginate sorts items by o and returns the n that follow after (or the
// first n), with the token of the next page when more remain.
func paginate(items []item, o order, after *item, n int) ([]item, *string) {
	slices.SortFunc(items, o)
	start := 0
	if after != nil {
		start = slices.IndexFunc(items, func(it item) bool { return o(it, *after) > 0 })
		if start < 0 {
			start = len(items)
		}
	}
	end := min(start+n, len(items))
	var next *string
	if end < len(items) {
		next = encodeToken(items[end-1])
	}
	return items[start:end], next
}

// Filter is a filter of ListSecrets and BatchGetSecretValue.
type Filter struct {
	Key    *string  `json:"Key"`
	Values []string `json:"Values"`
}

var filterKeys = []string{"description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"}

// filter is a checked Filter: a secret passes when it matches one of the
// values (or there are only negations) and none of the negated ones.
type filter struct {
	key      string
	pos, neg []string
}

type filters []filter

// parseFilters checks filters against the model and splits their values.
func parseFilters(in []Filter) (filters, error) {
	if len(in) > 10 {
		return nil, validationErr("Value '[%d filters]' at 'filters' failed to satisfy constraint: Member must have length less than or equal to 10", len(in))
	}
	var out filters
	for i, f := range in {
		path := "filters." + strconv.Itoa(i+1) + ".member"
		if f.Key == nil {
			return nil, notNull(path + ".key")
		}
		if err := checkEnum(path+".key", *f.Key, filterKeys...); err != nil {
			return nil, err
		}
		if *f.Key == "" {
			return nil, validationErr("Value '' at '%s.key' failed to satisfy constraint: Member must satisfy enum value set: [%s]", path, strings.Join(filterKeys, ", "))
		}
		if len(f.Values) < 1 || len(f.Values) > 10 {
			return nil, validationErr("Value '[%s]' at '%s.values' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1", strings.Join(f.Values, ", "), path)
		}
		pf := filter{key: *f.Key}
		for j, v := range f.Values {
			vpath := path + ".values." + strconv.Itoa(j+1) + ".member"
			if err := checkLen(vpath, v, 0, 512, false); err != nil {
				return nil, err
			}
			if !validFilterValue(v) {
				return nil, validationErr("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$", v, vpath)
			}
			if rest, ok := strings.CutPrefix(v, "!"); ok {
				pf.neg = append(pf.neg, rest)
			} else {
				pf.pos = append(pf.pos, v)
			}
		}
		out = append(out, pf)
	}
	return out, nil
}

// validFilterValue reports whether v matches ^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$.
func validFilterValue(v string) bool {
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.ContainsRune(" :_@/+=.-!", c):
		default:
			return false
		}
	}
	return true
}

// match reports whether s passes every filter.
func (fs filters) match(s *secret) bool {
	for _, f := range fs {
		if !f.match(s) {
			return false
		}
	}
	return true
}

func (f filter) match(s *secret) bool {
	if len(f.pos) > 0 && !slices.ContainsFunc(f.pos, func(v string) bool { return matchKey(f.key, v, s) }) {
		return false
	}
	return !slices.ContainsFunc(f.neg, func(v string) bool { return matchKey(f.key, v, s) })
}

// matchKey tests one filter value against a secret, as AWS documents the
// keys: prefix matches (case-sensitive) on the name, the tag keys and
// values and the Region; words (not case-sensitive) on the description and,
// for "all", on every attribute.
func matchKey(key, v string, s *secret) bool {
	switch key {
	case "name":
		return strings.HasPrefix(s.Name, v)
	case "description":
		return matchWords(v, s.Description)
	case "tag-key":
		return slices.ContainsFunc(s.Tags, func(t tag) bool { return strings.HasPrefix(t.Key, v) })
	case "tag-value":
		return slices.ContainsFunc(s.Tags, func(t tag) bool { return strings.HasPrefix(t.Value, v) })
	case "primary-region":
		return strings.HasPrefix(s.Region, v)
	case "all":
		attrs := []string{s.Name, s.Description}
		for _, t := range s.Tags {
			attrs = append(attrs, t.Key, t.Value)
		}
		return matchWords(v, attrs...)
	}
	// owning-service: no Berth secret is owned by another service.
	return false
}

// matchWords reports whether every word of query starts a word of one of
// attrs, ignoring case.
func matchWords(query string, attrs ...string) bool {
	var words []string
	for _, a := range attrs {
		words = append(words, splitWords(a)...)
	}
	for _, q := range splitWords(query) {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	return true
}

// splitWords breaks s into lower-case words at spaces and the punctuation
// names use, and where a lower-case letter meets an upper-case one
// (myDbPassword: my, db, password).
func splitWords(s string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	var prev rune
	for _, c := range s {
		switch {
		case unicode.IsSpace(c) || strings.ContainsRune("/_+=.@-!:", c):
			flush()
		case unicode.IsUpper(c) && unicode.IsLower(prev):
			flush()
			cur = append(cur, c)
		default:
			cur = append(cur, c)
		}
		prev = c
	}
	flush()
	return words
}

type ListSecretsInput struct {
	Filters                []Filter `json:"Filters"`
	IncludePlannedDeletion *bool    `json:"IncludePlannedDeletion"`
	MaxResults             *int32   `json:"MaxResults"`
	NextToken              *string  `json:"NextToken"`
	SortBy                 *string  `json:"SortBy"`
	SortOrder              *string  `json:"SortOrder"`
}

type SecretListEntry struct {
	ARN                    string              `json:"ARN"`
	Name                   string              `json:"Name"`
	Description            *string             `json:"Description,omitempty"`
	KmsKeyID               *string             `json:"KmsKeyId,omitempty"`
	LastChangedDate        *awsjson.Time       `json:"LastChangedDate,omitempty"`
	LastAccessedDate       *awsjson.Time       `json:"LastAccessedDate,omitempty"`
	DeletedDate            *awsjson.Time       `json:"DeletedDate,omitempty"`
	CreatedDate            *awsjson.Time       `json:"CreatedDate,omitempty"`
	Tags                   []Tag               `json:"Tags,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
}

type ListSecretsOutput struct {
	SecretList []SecretListEntry `json:"SecretList"`
	NextToken  *string           `json:"NextToken,omitempty"`
}

// ListSecrets lists the caller's secrets that pass the filters, without
// those marked for deletion unless IncludePlannedDeletion, sorted by SortBy
// (the creation date by default), newest first unless SortOrder is asc.
func (a *API) ListSecrets(ctx context.Context, in *ListSecretsInput) (*ListSecretsOutput, error) {
	sortBy, sortOrder := deref(in.SortBy), deref(in.SortOrder)
	if err := firstErr(
		checkEnum("sortBy", sortBy, "created-date", "last-accessed-date", "last-changed-date", "name"),
		checkEnum("sortOrder", sortOrder, "asc", "desc"),
	); err != nil {
		return nil, err
	}
	n, after, err := pageArgs("maxResults", in.MaxResults, 100, 100, in.NextToken)
	if err != nil {
		return nil, err
	}
	fs, err := parseFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	planned := in.IncludePlannedDeletion != nil && *in.IncludePlannedDeletion
	c := awsapi.CallerFrom(ctx)
	var items []item
	for d := range a.store.Snapshot().Docs(nil, secretsPrefix(c.Account, c.Region), "") {
		s, err := decodeSecret(d)
		if err != nil {
			return nil, err
		}
		if (s.deleted() && !planned) || !fs.match(s) {
			continue
		}
		it := item{name: s.Name, s: s}
		switch sortBy {
		case "", "created-date":
			it.t = s.Created.UnixMilli()
		case "last-accessed-date":
			if !s.LastAccessed.IsZero() {
				it.t = s.LastAccessed.UnixMilli()
			}
		case "last-changed-date":
			it.t = s.LastChanged.UnixMilli()
		}
		items = append(items, it)
	}
	o := byTime(sortOrder != "asc")
	if sortBy == "name" {
		o = byName(sortOrder == "desc")
	}
	page, next := paginate(items, o, after, n)
	out := &ListSecretsOutput{SecretList: []SecretListEntry{}, NextToken: next}
	for _, it := range page {
		s := it.s
		out.SecretList = append(out.SecretList, SecretListEntry{
			ARN: s.ARN, Name: s.Name,
			Description: strPtr(s.Description), KmsKeyID: strPtr(s.KmsKeyID),
			LastChangedDate: timePtr(s.LastChanged), LastAccessedDate: timePtr(s.LastAccessed),
			DeletedDate: timePtr(s.Deletion), CreatedDate: timePtr(s.Created),
			Tags: wireTags(s.Tags), SecretVersionsToStages: s.versionsToStages(),
		})
	}
	return out, nil
}
