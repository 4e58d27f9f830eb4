package registry

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"regexp"
	"strings"
)

// MaxNameLength is the longest repository name accepted (ECR's limit).
const MaxNameLength = 256

// The OCI distribution spec's grammars for repository names and tags,
// anchored. Names are checked against them before they touch a key or a
// path.
var (
	nameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// ValidName reports whether name is a repository name the registry serves.
func ValidName(name string) bool {
	return len(name) <= MaxNameLength && nameRE.MatchString(name)
}

// ValidTag reports whether tag is a valid tag.
func ValidTag(tag string) bool { return tagRE.MatchString(tag) }

// Digest is a validated content digest, "<algorithm>:<hex>", of one of the
// algorithms the registry computes (sha256, sha512).
type Digest string

// ParseDigest validates s. Only lower-case hex of the algorithm's exact
// length is accepted, so that a digest can name a file.
func ParseDigest(s string) (Digest, bool) {
	alg, hexPart, ok := strings.Cut(s, ":")
	if !ok {
		return "", false
	}
	var n int
	switch alg {
	case "sha256":
		n = 64
	case "sha512":
		n = 128
	default:
		return "", false
	}
	if len(hexPart) != n {
		return "", false
	}
	for i := 0; i < len(hexPart); i++ {
		c := hexPart[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return Digest(s), true
}

// Algorithm is the part before the colon.
func (d Digest) Algorithm() string { a, _, _ := strings.Cut(string(d), ":"); return a }

// Hex is the part after the colon.
func (d Digest) Hex() string { _, h, _ := strings.Cut(string(d), ":"); return h }

func (d Digest) String() string { return string(d) }

// newHash returns a hash of the named algorithm, or nil.
func newHash(alg string) hash.Hash {
	switch alg {
	case "sha256":
		return sha256.New()
	case "sha512":
		return sha512.New()
	}
	return nil
}

// digestOf returns the digest of b with algorithm alg.
func digestOf(alg string, b []byte) Digest {
	h := newHash(alg)
	h.Write(b)
	return digestFromHash(alg, h)
}

func digestFromHash(alg string, h hash.Hash) Digest {
	const hexdigits = "0123456789abcdef"
	sum := h.Sum(nil)
	out := make([]byte, 0, len(alg)+1+2*len(sum))
	out = append(out, alg...)
	out = append(out, ':')
	for _, b := range sum {
		out = append(out, hexdigits[b>>4], hexdigits[b&0x0f])
	}
	return Digest(out)
}

// parseContentRange reads the Content-Range of a chunk upload: "<start>-<end>"
// (inclusive) as the OCI spec sends it, also in the "bytes <start>-<end>/<total>"
// form of RFC 9110.
func parseContentRange(s string) (start, end int64, ok bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "bytes ")
	s = strings.TrimPrefix(s, "bytes=")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	start, ok1 := parseUint(a)
	end, ok2 := parseUint(b)
	if !ok1 || !ok2 || end < start {
		return 0, 0, false
	}
	return start, end, true
}

// parseUint parses a non-negative decimal that fits an int64.
func parseUint(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
