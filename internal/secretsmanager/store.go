package secretsmanager

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/state"
)

// The staging labels Secrets Manager moves by itself.
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

// defaultKMSKey is what ListSecretVersionIds reports as the key of a version
// sealed without a KmsKeyId, as AWS does.
const defaultKMSKey = "DefaultEncryptionKey"

// Version retention, as AWS does it: unlabeled (deprecated) versions beyond
// the most recent keptVersions are removed, except those younger than
// deprecatedGrace. maxVersions bounds the rest.
const (
	keptVersions    = 100
	deprecatedGrace = 24 * time.Hour
	maxVersions     = 500
	maxStages       = 20
)

// ns is the first part of every document key of this package.
const ns = "secretsmanager"

// Document kinds, the fourth part of a key.
const (
	kindSecret = "secret"
	kindValue  = "value"
)

func secretKey(account, region, name string) string {
	return state.Key(ns, account, region, kindSecret, name)
}

func secretsPrefix(account, region string) string {
	return state.KeyPrefix(ns, account, region, kindSecret)
}

func valueKey(account, region, name, versionID string) string {
	return state.Key(ns, account, region, kindValue, name, versionID)
}

func valuesPrefix(account, region, name string) string {
	return state.KeyPrefix(ns, account, region, kindValue, name)
}

// secret is the stored document of one secret: everything but the values.
type secret struct {
	ARN         string `json:"arn"`
	Name        string `json:"name"`
	Account     string `json:"account"`
	Region      string `json:"region"`
	Description string `json:"description,omitempty"`
	KmsKeyID    string `json:"kmsKeyId,omitempty"`
	Tags        []tag  `json:"tags,omitempty"`
	Policy      string `json:"policy,omitempty"`
	// CreateToken is the ClientRequestToken of the CreateSecret that made
	// the secret, to answer its retries.
	CreateToken  string    `json:"createToken,omitempty"`
	Created      time.Time `json:"created"`
	LastChanged  time.Time `json:"lastChanged"`
	LastAccessed time.Time `json:"lastAccessed,omitzero"`
	// Deletion, when set, is when the secret is purged; until then it can be
	// restored.
	Deletion time.Time `json:"deletion,omitzero"`
	// Versions are in the order they were created, oldest first.
	Versions []*version `json:"versions,omitempty"`

	doc *state.Doc // the document this was read from; nil when new
}

// tag is a stored tag.
type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// version is one version's metadata; its value is a document of its own.
type version struct {
	ID           string    `json:"id"`
	Stages       []string  `json:"stages,omitempty"`
	Created      time.Time `json:"created"`
	LastAccessed time.Time `json:"lastAccessed,omitzero"`
	KmsKeyID     string    `json:"kmsKeyId,omitempty"`
}

// storedValue is the document of one version's sealed value.
type storedValue struct {
	ARN      string           `json:"arn"`
	Version  string           `json:"version"`
	Envelope keyring.Envelope `json:"envelope"`
}

func (s *secret) deleted() bool { return !s.Deletion.IsZero() }

func (s *secret) key() string { return secretKey(s.Account, s.Region, s.Name) }

func (s *secret) valueKey(versionID string) string {
	return valueKey(s.Account, s.Region, s.Name, versionID)
}

func (s *secret) version(id string) *version {
	for _, v := range s.Versions {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (s *secret) withStage(stage string) *version {
	for _, v := range s.Versions {
		if slices.Contains(v.Stages, stage) {
			return v
		}
	}
	return nil
}

// clone returns a deep copy to modify; doc stays shared.
func (s *secret) clone() *secret {
	c := *s
	c.Tags = slices.Clone(s.Tags)
	c.Versions = make([]*version, len(s.Versions))
	for i, v := range s.Versions {
		vc := *v
		vc.Stages = slices.Clone(v.Stages)
		c.Versions[i] = &vc
	}
	return &c
}

// versionsToStages is the VersionIdsToStages map: the labeled versions.
func (s *secret) versionsToStages() map[string][]string {
	m := map[string][]string{}
	for _, v := range s.Versions {
		if len(v.Stages) > 0 {
			m[v.ID] = slices.Clone(v.Stages)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// moveStage attaches stage to version to, taking it off every other version.
// Moving AWSCURRENT moves AWSPREVIOUS to the version it came from, unless
// keepPrevious (the caller places AWSPREVIOUS itself).
func (s *secret) moveStage(stage string, to *version, keepPrevious bool) {
	var from *version
	for _, v := range s.Versions {
		if v != to && slices.Contains(v.Stages, stage) {
			v.Stages = slices.DeleteFunc(v.Stages, func(x string) bool { return x == stage })
			from = v
		}
	}
	if !slices.Contains(to.Stages, stage) {
		to.Stages = append(to.Stages, stage)
	}
	if stage == stageCurrent && from != nil && !keepPrevious {
		s.moveStage(stagePrevious, from, false)
	}
}

// removeStage takes stage off v.
func (v *version) removeStage(stage string) {
	v.Stages = slices.DeleteFunc(v.Stages, func(x string) bool { return x == stage })
}

// prune removes the deprecated versions AWS would remove: unlabeled, not
// among the keptVersions most recent, and older than deprecatedGrace. It
// returns the ids removed.
func (s *secret) prune(now time.Time) []string {
	if len(s.Versions) <= keptVersions {
		return nil
	}
	var removed []string
	cut := len(s.Versions) - keptVersions
	kept := s.Versions[:0:0]
	for i, v := range s.Versions {
		if i < cut && len(v.Stages) == 0 && now.Sub(v.Created) >= deprecatedGrace {
			removed = append(removed, v.ID)
			continue
		}
		kept = append(kept, v)
	}
	s.Versions = kept
	return removed
}

// value is a secret value in the clear: SecretString or SecretBinary.
type value struct {
	binary bool
	data   []byte
}

func (v value) equal(o value) bool {
	return v.binary == o.binary && subtle.ConstantTimeCompare(v.data, o.data) == 1
}

// valueOf picks the value of a request; ok is false when it has none.
func valueOf(str *string, bin []byte) (v value, ok bool) {
	switch {
	case str != nil:
		return value{data: []byte(*str)}, true
	case bin != nil:
		return value{binary: true, data: bin}, true
	}
	return value{}, false
}

// aad binds a sealed value to its secret and version.
func aad(arn, versionID string) []byte { return []byte(arn + "\x00" + versionID) }

// seal encrypts v for version versionID of the secret arn. The plaintext is
// a kind byte and the value, so that even the kind is not stored in clear.
func (a *API) seal(arn, versionID string, v value) (keyring.Envelope, error) {
	pt := make([]byte, 0, len(v.data)+1)
	if v.binary {
		pt = append(pt, 'b')
	} else {
		pt = append(pt, 's')
	}
	pt = append(pt, v.data...)
	env, err := a.kr.Seal(pt, aad(arn, versionID))
	clear(pt)
	if err != nil {
		return keyring.Envelope{}, fmt.Errorf("seal version %s of %s: %w", versionID, arn, err)
	}
	return env, nil
}

// open reads and decrypts the value of version v of s from snap.
func (a *API) open(snap *state.Snapshot, s *secret, versionID string) (value, error) {
	d := snap.Doc(s.valueKey(versionID))
	if d == nil {
		return value{}, fmt.Errorf("value document of version %s of %s is missing", versionID, s.ARN)
	}
	var sv storedValue
	if err := json.Unmarshal(d.Value, &sv); err != nil {
		return value{}, fmt.Errorf("value document of version %s of %s: %w", versionID, s.ARN, err)
	}
	pt, err := a.kr.Open(sv.Envelope, aad(s.ARN, versionID))
	if err != nil || len(pt) == 0 || (pt[0] != 'b' && pt[0] != 's') {
		if err == nil {
			err = errors.New("malformed plaintext")
		}
		a.log.Error("a secret value did not decrypt", "secret", s.ARN, "version", versionID, "err", err)
		return value{}, &awsapi.Error{Code: "DecryptionFailure", Message: msgDecrypt}
	}
	return value{binary: pt[0] == 'b', data: pt[1:]}, nil
}

// putValueOp is the document write of a new version's sealed value.
func (a *API) putValueOp(s *secret, versionID string, v value) (state.DocOp, error) {
	env, err := a.seal(s.ARN, versionID, v)
	if err != nil {
		return state.DocOp{}, err
	}
	b, err := json.Marshal(storedValue{ARN: s.ARN, Version: versionID, Envelope: env})
	if err != nil {
		return state.DocOp{}, err
	}
	return state.DocOp{Key: s.valueKey(versionID), Value: b, IfAbsent: true}, nil
}

// putSecretOp is the document write of s, conditional on the document it
// was read from (or on there being none).
func putSecretOp(s *secret) (state.DocOp, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return state.DocOp{}, err
	}
	op := state.DocOp{Key: s.key(), Value: b}
	if s.doc == nil {
		op.IfAbsent = true
	} else {
		op.IfIndex = s.doc.ModifyIndex
	}
	return op, nil
}

func decodeSecret(d *state.Doc) (*secret, error) {
	var s secret
	if err := json.Unmarshal(d.Value, &s); err != nil {
		return nil, fmt.Errorf("secret document %q: %w", d.ID, err)
	}
	s.doc = d
	return &s, nil
}

// loadSecret reads the secret named name of a tenancy, or nil.
func loadSecret(snap *state.Snapshot, account, region, name string) (*secret, error) {
	d := snap.Doc(secretKey(account, region, name))
	if d == nil {
		return nil, nil
	}
	return decodeSecret(d)
}
