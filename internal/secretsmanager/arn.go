package secretsmanager

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/berthhq/berth/internal/state"
)

// suffixLen is the length of the random part AWS appends to a secret's name
// in its ARN, after a hyphen.
const suffixLen = 6

const suffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomSuffix returns six random alphanumerics. A secret re-created under
// the same name gets another ARN, so grants to the old one do not carry
// over.
func randomSuffix() string {
	b := make([]byte, suffixLen)
	for i := range b {
		b[i] = suffixAlphabet[rand.N(len(suffixAlphabet))]
	}
	return string(b)
}

func secretARN(region, account, name, suffix string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, account, name, suffix)
}

// secretRef is a parsed Secrets Manager secret ARN, full or partial.
type secretRef struct {
	Partition string
	Region    string
	Account   string
	// Resource is what follows "secret:": the name and, in a full ARN, a
	// hyphen and the six-character suffix.
	Resource string
}

// parseSecretARN parses arn:<partition>:secretsmanager:<region>:<account>:secret:<resource>.
// Secret names cannot contain colons, so the resource is everything after
// the sixth colon.
func parseSecretARN(s string) (secretRef, bool) {
	parts := strings.SplitN(s, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[1] == "" || parts[2] != "secretsmanager" ||
		parts[3] == "" || parts[4] == "" || parts[5] != "secret" || parts[6] == "" || strings.Contains(parts[6], ":") {
		return secretRef{}, false
	}
	return secretRef{Partition: parts[1], Region: parts[3], Account: parts[4], Resource: parts[6]}, true
}

// hasSuffix reports whether resource ends in a hyphen and six characters
// that could be an ARN suffix, and returns the name before it.
func hasSuffix(resource string) (name string, ok bool) {
	i := len(resource) - suffixLen - 1
	if i < 1 || resource[i] != '-' {
		return "", false
	}
	for _, c := range resource[i+1:] {
		if !strings.ContainsRune(suffixAlphabet, c) {
			return "", false
		}
	}
	return resource[:i], true
}

// findSecret resolves a SecretId (a name, a full ARN or a partial ARN
// without the suffix) in a tenancy. An ARN of another account or region
// names nothing here. As AWS does, a resource that ends like a suffix is
// first taken for a full ARN; failing that, the whole resource is a name.
func findSecret(snap *state.Snapshot, account, region, id string) (*secret, error) {
	if !strings.HasPrefix(id, "arn:") {
		return loadSecret(snap, account, region, id)
	}
	ref, ok := parseSecretARN(id)
	if !ok || ref.Account != account || ref.Region != region {
		return nil, nil
	}
	if name, ok := hasSuffix(ref.Resource); ok {
		s, err := loadSecret(snap, account, region, name)
		if err != nil || (s != nil && s.ARN == id) {
			return s, err
		}
	}
	return loadSecret(snap, account, region, ref.Resource)
}

// valueRef is a parsed ECS valueFrom of Secrets Manager:
// <secret ARN>[:json-key[:version-stage[:version-id]]].
type valueRef struct {
	ARN       string // the secret's ARN, full or partial
	Ref       secretRef
	JSONKey   string
	Stage     string
	VersionID string
}

// parseValueFrom parses the valueFrom of a container secret that names a
// Secrets Manager secret, as ECS defines it. Empty fields are allowed
// (arn:...:secret:db::AWSPREVIOUS:).
func parseValueFrom(s string) (valueRef, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 7 || len(parts) > 10 {
		return valueRef{}, fmt.Errorf("%q is not a Secrets Manager secret ARN with optional :json-key:version-stage:version-id", s)
	}
	arn := strings.Join(parts[:7], ":")
	ref, ok := parseSecretARN(arn)
	if !ok {
		return valueRef{}, fmt.Errorf("%q is not a Secrets Manager secret ARN", arn)
	}
	r := valueRef{ARN: arn, Ref: ref}
	rest := parts[7:]
	for i, p := range rest {
		switch i {
		case 0:
			r.JSONKey = p
		case 1:
			r.Stage = p
		case 2:
			r.VersionID = p
		}
	}
	return r, nil
}
