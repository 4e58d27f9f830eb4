package secretsmanager

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/state"
)

// Tag is a tag of a secret on the wire.
type Tag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

// ReplicaRegion is an entry of AddReplicaRegions.
type ReplicaRegion struct {
	Region   *string `json:"Region,omitempty"`
	KmsKeyID *string `json:"KmsKeyId,omitempty"`
}

func wireTags(tags []tag) []Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag{Key: &t.Key, Value: &t.Value}
	}
	return out
}

// mergeTags sets the tags of in on tags: new keys at the end, existing keys
// get the new value.
func mergeTags(tags []tag, in []Tag) []tag {
	for _, t := range in {
		k, v := *t.Key, ""
		if t.Value != nil {
			v = *t.Value
		}
		if i := slices.IndexFunc(tags, func(x tag) bool { return x.Key == k }); i >= 0 {
			tags[i].Value = v
			continue
		}
		tags = append(tags, tag{Key: k, Value: v})
	}
	return tags
}

func timePtr(t time.Time) *awsjson.Time {
	if t.IsZero() {
		return nil
	}
	return awsjson.Ptr(t)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// day is the date AWS reports for a last access: the day, without the time.
func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// errSkip tells mutate that fn changed nothing and nothing is written.
var errSkip = &awsapi.Error{Code: "skip"}

// mutate reads the secret id names in the caller's tenancy, lets fn change
// a copy of it, and writes the copy together with fn's other operations,
// retrying when a concurrent writer got there first. fn returns errSkip
// when there is nothing to write. Secrets marked for deletion are refused
// unless allowDeleted.
func (a *API) mutate(ctx context.Context, id string, allowDeleted bool, fn func(snap *state.Snapshot, s *secret) ([]state.DocOp, error)) (*secret, error) {
	c := awsapi.CallerFrom(ctx)
	return retryConflicts(ctx, func() (*secret, error) {
		snap := a.store.Snapshot()
		old, err := findSecret(snap, c.Account, c.Region, id)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, errNotFound()
		}
		if old.deleted() && !allowDeleted {
			return nil, errMarkedDeleted()
		}
		s := old.clone()
		ops, err := fn(snap, s)
		if errors.Is(err, errSkip) {
			return old, nil
		}
		if err != nil {
			return nil, err
		}
		op, err := putSecretOp(s)
		if err != nil {
			return nil, err
		}
		if _, err := state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: append([]state.DocOp{op}, ops...)}); err != nil {
			return nil, err
		}
		return s, nil
	})
}

// addVersion adds version id, holding v, to s with stages (AWSCURRENT when
// nil), moving the labels as AWS does. When s already has a version id, the
// request is a retry: it succeeds, changing nothing, if that version holds
// v. It returns the operations that store the value and remove the
// versions pruned, and whether a version was created.
func (a *API) addVersion(snap *state.Snapshot, s *secret, id string, v value, stages []string) ([]state.DocOp, bool, error) {
	if s.version(id) != nil {
		got, err := a.open(snap, s, id)
		if err != nil {
			return nil, false, err
		}
		if !got.equal(v) {
			return nil, false, &awsapi.Error{Code: "ResourceExistsException", Message: msgVersionExists}
		}
		return nil, false, nil
	}
	now := a.now()
	kms := s.KmsKeyID
	if kms == "" {
		kms = defaultKMSKey
	}
	nv := &version{ID: id, Created: now, KmsKeyID: kms}
	if stages == nil {
		stages = []string{stageCurrent}
	}
	stages = slices.Compact(slices.Sorted(slices.Values(stages)))
	if len(s.Versions) == 0 && !slices.Contains(stages, stageCurrent) {
		stages = append(stages, stageCurrent)
	}
	s.Versions = append(s.Versions, nv)
	keepPrevious := slices.Contains(stages, stagePrevious)
	for _, st := range stages {
		s.moveStage(st, nv, keepPrevious)
	}
	removed := s.prune(now)
	if len(s.Versions) > maxVersions {
		return nil, false, &awsapi.Error{Code: "LimitExceededException", Message: "You can't create more than 500 versions of a secret; Secrets Manager removes unlabeled versions only once they are more than 24 hours old."}
	}
	op, err := a.putValueOp(s, id, v)
	if err != nil {
		return nil, false, err
	}
	ops := []state.DocOp{op}
	for _, r := range removed {
		ops = append(ops, state.DocOp{Key: s.valueKey(r), Delete: true})
	}
	s.LastChanged = now
	return ops, true, nil
}

type CreateSecretInput struct {
	Name                        *string         `json:"Name"`
	ClientRequestToken          *string         `json:"ClientRequestToken"`
	Description                 *string         `json:"Description"`
	KmsKeyID                    *string         `json:"KmsKeyId"`
	SecretString                *string         `json:"SecretString"`
	SecretBinary                []byte          `json:"SecretBinary"`
	Tags                        []Tag           `json:"Tags"`
	AddReplicaRegions           []ReplicaRegion `json:"AddReplicaRegions"`
	ForceOverwriteReplicaSecret bool            `json:"ForceOverwriteReplicaSecret"`
	CrossAccountPrimaryARN      *string         `json:"CrossAccountPrimaryARN"`
	Type                        *string         `json:"Type"`
}

type CreateSecretOutput struct {
	ARN       string  `json:"ARN"`
	Name      string  `json:"Name"`
	VersionID *string `json:"VersionId,omitempty"`
}

// CreateSecret creates a secret and, with a value, its first version
// (AWSCURRENT) whose id is the ClientRequestToken. A retry with the same
// token and value answers as the first call did.
func (a *API) CreateSecret(ctx context.Context, in *CreateSecretInput) (*CreateSecretOutput, error) {
	if err := firstErr(
		reqLen("name", in.Name, 1, maxName),
		checkToken(in.ClientRequestToken),
		optLen("description", in.Description, 0, maxDescription, false),
		optLen("kmsKeyId", in.KmsKeyID, 0, maxKMSKey, false),
		checkTags("tags", in.Tags),
		checkValues(in.SecretString, in.SecretBinary),
	); err != nil {
		return nil, err
	}
	name := *in.Name
	if !validName(name) {
		return nil, errInvalidName()
	}
	switch {
	case len(in.AddReplicaRegions) > 0:
		return nil, invalidRequest("Berth does not replicate secrets to other Regions (AddReplicaRegions).")
	case in.CrossAccountPrimaryARN != nil:
		return nil, invalidRequest("Berth does not support cross-account replica secrets (CrossAccountPrimaryARN).")
	case in.Type != nil:
		return nil, invalidRequest("Berth does not support managed external secrets (Type).")
	}
	val, hasValue := valueOf(in.SecretString, in.SecretBinary)
	token := deref(in.ClientRequestToken)
	if hasValue && token == "" {
		return nil, invalidRequest(msgNeedToken)
	}
	if hasValue {
		a.sealMu.RLock()
		defer a.sealMu.RUnlock()
	}
	c := awsapi.CallerFrom(ctx)
	now := a.now()
	arn := secretARN(c.Region, c.Account, name, randomSuffix())
	return retryConflicts(ctx, func() (*CreateSecretOutput, error) {
		snap := a.store.Snapshot()
		old, err := loadSecret(snap, c.Account, c.Region, name)
		if err != nil {
			return nil, err
		}
		if old != nil {
			return a.createRetry(snap, old, token, val, hasValue)
		}
		s := &secret{
			ARN: arn, Name: name, Account: c.Account, Region: c.Region,
			Description: deref(in.Description), KmsKeyID: deref(in.KmsKeyID),
			Tags: mergeTags(nil, in.Tags), CreateToken: token,
			Created: now, LastChanged: now,
		}
		var ops []state.DocOp
		out := &CreateSecretOutput{ARN: arn, Name: name}
		if hasValue {
			if ops, _, err = a.addVersion(snap, s, token, val, nil); err != nil {
				return nil, err
			}
			out.VersionID = &token
		}
		op, err := putSecretOp(s)
		if err != nil {
			return nil, err
		}
		if _, err := state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: append([]state.DocOp{op}, ops...)}); err != nil {
			return nil, err
		}
		return out, nil
	})
}

// createRetry answers a CreateSecret of a name that exists: a retry of the
// call that created it (same token, same value) gets that call's answer.
func (a *API) createRetry(snap *state.Snapshot, s *secret, token string, v value, hasValue bool) (*CreateSecretOutput, error) {
	if s.deleted() {
		return nil, invalidRequest(msgCreateScheduled)
	}
	exists := &awsapi.Error{Code: "ResourceExistsException", Message: "The operation failed because the secret " + s.Name + " already exists."}
	if token == "" || token != s.CreateToken {
		return nil, exists
	}
	out := &CreateSecretOutput{ARN: s.ARN, Name: s.Name}
	if !hasValue {
		if s.version(token) != nil {
			return nil, exists
		}
		return out, nil
	}
	if s.version(token) == nil {
		return nil, exists
	}
	got, err := a.open(snap, s, token)
	if err != nil {
		return nil, err
	}
	if !got.equal(v) {
		return nil, exists
	}
	out.VersionID = &token
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type DescribeSecretInput struct {
	SecretID *string `json:"SecretId"`
}

type DescribeSecretOutput struct {
	ARN                string              `json:"ARN"`
	Name               string              `json:"Name"`
	Description        *string             `json:"Description,omitempty"`
	KmsKeyID           *string             `json:"KmsKeyId,omitempty"`
	LastChangedDate    *awsjson.Time       `json:"LastChangedDate,omitempty"`
	LastAccessedDate   *awsjson.Time       `json:"LastAccessedDate,omitempty"`
	DeletedDate        *awsjson.Time       `json:"DeletedDate,omitempty"`
	CreatedDate        *awsjson.Time       `json:"CreatedDate,omitempty"`
	Tags               []Tag               `json:"Tags,omitempty"`
	VersionIdsToStages map[string][]string `json:"VersionIdsToStages,omitempty"`
}

// DescribeSecret returns a secret's details, never its value. It works on
// secrets marked for deletion, showing DeletedDate.
func (a *API) DescribeSecret(ctx context.Context, in *DescribeSecretInput) (*DescribeSecretOutput, error) {
	if err := firstErr(checkSecretID("secretId", in.SecretID)); err != nil {
		return nil, err
	}
	s, err := a.lookup(ctx, *in.SecretID)
	if err != nil {
		return nil, err
	}
	return &DescribeSecretOutput{
		ARN: s.ARN, Name: s.Name,
		Description: strPtr(s.Description), KmsKeyID: strPtr(s.KmsKeyID),
		LastChangedDate: timePtr(s.LastChanged), LastAccessedDate: timePtr(s.LastAccessed),
		DeletedDate: timePtr(s.Deletion), CreatedDate: timePtr(s.Created),
		Tags: wireTags(s.Tags), VersionIdsToStages: s.versionsToStages(),
	}, nil
}

// lookup finds the secret id names in the caller's tenancy.
func (a *API) lookup(ctx context.Context, id string) (*secret, error) {
	c := awsapi.CallerFrom(ctx)
	s, err := findSecret(a.store.Snapshot(), c.Account, c.Region, id)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errNotFound()
	}
	return s, nil
}

// lookupLive is lookup for operations that a secret marked for deletion
// refuses.
func (a *API) lookupLive(ctx context.Context, id string) (*secret, error) {
	s, err := a.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.deleted() {
		return nil, errMarkedDeleted()
	}
	return s, nil
}

type UpdateSecretInput struct {
	SecretID           *string `json:"SecretId"`
	ClientRequestToken *string `json:"ClientRequestToken"`
	Description        *string `json:"Description"`
	KmsKeyID           *string `json:"KmsKeyId"`
	SecretString       *string `json:"SecretString"`
	SecretBinary       []byte  `json:"SecretBinary"`
	Type               *string `json:"Type"`
}

type UpdateSecretOutput struct {
	ARN       string  `json:"ARN"`
	Name      string  `json:"Name"`
	VersionID *string `json:"VersionId,omitempty"`
}

// UpdateSecret changes a secret's description and KMS key and, with a
// value, adds a version that becomes AWSCURRENT.
func (a *API) UpdateSecret(ctx context.Context, in *UpdateSecretInput) (*UpdateSecretOutput, error) {
	if err := firstErr(
		checkSecretID("secretId", in.SecretID),
		checkToken(in.ClientRequestToken),
		optLen("description", in.Description, 0, maxDescription, false),
		optLen("kmsKeyId", in.KmsKeyID, 0, maxKMSKey, false),
		checkValues(in.SecretString, in.SecretBinary),
	); err != nil {
		return nil, err
	}
	if in.Type != nil {
		return nil, invalidRequest("Berth does not support managed external secrets (Type).")
	}
	val, hasValue := valueOf(in.SecretString, in.SecretBinary)
	token := deref(in.ClientRequestToken)
	if hasValue && token == "" {
		return nil, invalidRequest(msgNeedToken)
	}
	if hasValue {
		a.sealMu.RLock()
		defer a.sealMu.RUnlock()
	}
	s, err := a.mutate(ctx, *in.SecretID, false, func(snap *state.Snapshot, s *secret) ([]state.DocOp, error) {
		changed := false
		if in.Description != nil {
			s.Description, changed = *in.Description, true
		}
		if in.KmsKeyID != nil {
			s.KmsKeyID, changed = *in.KmsKeyID, true
			kms := s.KmsKeyID
			if kms == "" {
				kms = defaultKMSKey
			}
			// AWS re-encrypts the labeled versions under the new key.
			for _, v := range s.Versions {
				if len(v.Stages) > 0 {
					v.KmsKeyID = kms
				}
			}
		}
		var ops []state.DocOp
		if hasValue {
			var created bool
			var err error
			if ops, created, err = a.addVersion(snap, s, token, val, nil); err != nil {
				return nil, err
			}
			changed = changed || created
		}
		if !changed {
			return nil, errSkip
		}
		s.LastChanged = a.now()
		return ops, nil
	})
	if err != nil {
		return nil, err
	}
	out := &UpdateSecretOutput{ARN: s.ARN, Name: s.Name}
	if hasValue {
		out.VersionID = &token
	}
	return out, nil
}

type DeleteSecretInput struct {
	SecretID                   *string `json:"SecretId"`
	RecoveryWindowInDays       *int64  `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery *bool   `json:"ForceDeleteWithoutRecovery"`
}

type DeleteSecretOutput struct {
	ARN          string        `json:"ARN"`
	Name         string        `json:"Name"`
	DeletionDate *awsjson.Time `json:"DeletionDate,omitempty"`
}

// DeleteSecret schedules a secret's deletion after a recovery window (7 to
// 30 days, 30 by default) or, with ForceDeleteWithoutRecovery, deletes it
// and all its versions at once.
func (a *API) DeleteSecret(ctx context.Context, in *DeleteSecretInput) (*DeleteSecretOutput, error) {
	if err := firstErr(checkSecretID("secretId", in.SecretID)); err != nil {
		return nil, err
	}
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	if force && in.RecoveryWindowInDays != nil {
		return nil, invalidParam("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			return nil, invalidParam("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
	}
	id := *in.SecretID
	c := awsapi.CallerFrom(ctx)
	now := a.now()
	if force {
		return retryConflicts(ctx, func() (*DeleteSecretOutput, error) {
			snap := a.store.Snapshot()
			s, err := findSecret(snap, c.Account, c.Region, id)
			if err != nil {
				return nil, err
			}
			if s == nil {
				// AWS does not report a secret that is already gone.
				out := &DeleteSecretOutput{ARN: id, Name: id, DeletionDate: awsjson.Ptr(now)}
				if ref, ok := parseSecretARN(id); ok {
					out.Name = ref.Resource
					if name, ok := hasSuffix(ref.Resource); ok {
						out.Name = name
					}
				} else {
					out.ARN = "arn:aws:secretsmanager:" + c.Region + ":" + c.Account + ":secret:" + id
				}
				return out, nil
			}
			if err := a.purge(ctx, snap, s); err != nil {
				return nil, err
			}
			a.log.Info("secret deleted without recovery", "secret", s.ARN, "request_id", c.RequestID)
			return &DeleteSecretOutput{ARN: s.ARN, Name: s.Name, DeletionDate: awsjson.Ptr(now)}, nil
		})
	}
	when := now.Add(time.Duration(days) * 24 * time.Hour)
	s, err := a.mutate(ctx, id, true, func(_ *state.Snapshot, s *secret) ([]state.DocOp, error) {
		if s.deleted() {
			return nil, invalidRequest(msgAlreadyDeleted)
		}
		s.Deletion = when
		s.LastChanged = now
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &DeleteSecretOutput{ARN: s.ARN, Name: s.Name, DeletionDate: awsjson.Ptr(when)}, nil
}

// purge deletes s and every value stored for it, as of snap.
func (a *API) purge(ctx context.Context, snap *state.Snapshot, s *secret) error {
	ops := []state.DocOp{{Key: s.key(), Delete: true, IfIndex: s.doc.ModifyIndex}}
	for d := range snap.Docs(nil, valuesPrefix(s.Account, s.Region, s.Name), "") {
		ops = append(ops, state.DocOp{Key: d.ID, Delete: true, IfIndex: d.ModifyIndex})
	}
	_, err := state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: ops})
	return err
}

type RestoreSecretInput struct {
	SecretID *string `json:"SecretId"`
}

type RestoreSecretOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

// RestoreSecret cancels a secret's scheduled deletion. A secret not marked
// for deletion is left as it is.
func (a *API) RestoreSecret(ctx context.Context, in *RestoreSecretInput) (*RestoreSecretOutput, error) {
	if err := firstErr(checkSecretID("secretId", in.SecretID)); err != nil {
		return nil, err
	}
	s, err := a.mutate(ctx, *in.SecretID, true, func(_ *state.Snapshot, s *secret) ([]state.DocOp, error) {
		if !s.deleted() {
			return nil, errSkip
		}
		s.Deletion = time.Time{}
		s.LastChanged = a.now()
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &RestoreSecretOutput{ARN: s.ARN, Name: s.Name}, nil
}

type TagResourceInput struct {
	SecretID *string `json:"SecretId"`
	Tags     []Tag   `json:"Tags"`
}

type TagResourceOutput struct{}

// TagResource adds tags to a secret, replacing the values of keys it has.
func (a *API) TagResource(ctx context.Context, in *TagResourceInput) (*TagResourceOutput, error) {
	var tagsErr *awsapi.Error
	if in.Tags == nil {
		tagsErr = notNull("tags")
	}
	if err := firstErr(checkSecretID("secretId", in.SecretID), tagsErr, checkTags("tags", in.Tags)); err != nil {
		return nil, err
	}
	_, err := a.mutate(ctx, *in.SecretID, false, func(_ *state.Snapshot, s *secret) ([]state.DocOp, error) {
		s.Tags = mergeTags(s.Tags, in.Tags)
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &TagResourceOutput{}, nil
}

type UntagResourceInput struct {
	SecretID *string  `json:"SecretId"`
	TagKeys  []string `json:"TagKeys"`
}

type UntagResourceOutput struct{}

// UntagResource removes tags from a secret by key; keys it does not have
// are ignored.
func (a *API) UntagResource(ctx context.Context, in *UntagResourceInput) (*UntagResourceOutput, error) {
	var keysErr *awsapi.Error
	if in.TagKeys == nil {
		keysErr = notNull("tagKeys")
	}
	if err := firstErr(checkSecretID("secretId", in.SecretID), keysErr); err != nil {
		return nil, err
	}
	for i, k := range in.TagKeys {
		if err := checkLen("tagKeys."+strconv.Itoa(i+1)+".member", k, 1, maxTagKey, false); err != nil {
			return nil, err
		}
	}
	_, err := a.mutate(ctx, *in.SecretID, false, func(_ *state.Snapshot, s *secret) ([]state.DocOp, error) {
		n := len(s.Tags)
		s.Tags = slices.DeleteFunc(s.Tags, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		if len(s.Tags) == n {
			return nil, errSkip
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &UntagResourceOutput{}, nil
}

type GetResourcePolicyInput struct {
	SecretID *string `json:"SecretId"`
}

type GetResourcePolicyOutput struct {
	ARN            string  `json:"ARN"`
	Name           string  `json:"Name"`
	ResourcePolicy *string `json:"ResourcePolicy,omitempty"`
}

// GetResourcePolicy returns the resource policy stored on a secret. Berth
// stores resource policies but does not evaluate them.
func (a *API) GetResourcePolicy(ctx context.Context, in *GetResourcePolicyInput) (*GetResourcePolicyOutput, error) {
	if err := firstErr(checkSecretID("secretId", in.SecretID)); err != nil {
		return nil, err
	}
	s, err := a.lookupLive(ctx, *in.SecretID)
	if err != nil {
		return nil, err
	}
	return &GetResourcePolicyOutput{ARN: s.ARN, Name: s.Name, ResourcePolicy: strPtr(s.Policy)}, nil
}

type PutResourcePolicyInput struct {
	SecretID          *string `json:"SecretId"`
	ResourcePolicy    *string `json:"ResourcePolicy"`
	BlockPublicPolicy *bool   `json:"BlockPublicPolicy"`
}

type PutResourcePolicyOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

// PutResourcePolicy stores a resource policy (a JSON document) on a secret.
func (a *API) PutResourcePolicy(ctx context.Context, in *PutResourcePolicyInput) (*PutResourcePolicyOutput, error) {
	if err := firstErr(checkSecretID("secretId", in.SecretID), reqLen("resourcePolicy", in.ResourcePolicy, 1, maxPolicy)); err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(*in.ResourcePolicy), &doc); err != nil {
		return nil, &awsapi.Error{Code: "MalformedPolicyDocumentException", Message: "The resource policy is not a valid JSON policy document."}
	}
	s, err := a.mutate(ctx, *in.SecretID, false, func(_ *state.Snapshot, s *secret) ([]state.DocOp, error) {
		s.Policy = *in.ResourcePolicy
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &PutResourcePolicyOutput{ARN: s.ARN, Name: s.Name}, nil
}

type DeleteResourcePolicyInput struct {
	SecretID *string `json:"SecretId"`
}

type DeleteResourcePolicyOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

// DeleteResourcePolicy removes a secret's resource policy.
func (a *API) DeleteResourcePolicy(ctx context.Context, in *DeleteResourcePolicyInput) (*DeleteResourcePolicyOutput, error) {
	if err := firstErr(checkSecretID("secretId", in.SecretID)); err != nil {
		return nil, err
	}
	s, err := a.mutate(ctx, *in.SecretID, false, func(_ *state.Snapshot, s *secret) ([]state.DocOp, error) {
		if s.Policy == "" {
			return nil, errSkip
		}
		s.Policy = ""
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &DeleteResourcePolicyOutput{ARN: s.ARN, Name: s.Name}, nil
}

type RotateSecretInput struct {
	SecretID           *string         `json:"SecretId"`
	ClientRequestToken *string         `json:"ClientRequestToken"`
	RotationLambdaARN  *string         `json:"RotationLambdaARN"`
	RotationRules      json.RawMessage `json:"RotationRules"`
	RotateImmediately  *bool           `json:"RotateImmediately"`
}

type RotateSecretOutput struct {
	ARN       string  `json:"ARN"`
	Name      string  `json:"Name"`
	VersionID *string `json:"VersionId,omitempty"`
}

// RotateSecret is refused: rotation runs a Lambda function, and Berth runs
// none. The secret is looked up first, so that a missing or deleted secret
// gets AWS's answer.
func (a *API) RotateSecret(ctx context.Context, in *RotateSecretInput) (*RotateSecretOutput, error) {
	if err := firstErr(checkSecretID("secretId", in.SecretID), checkToken(in.ClientRequestToken)); err != nil {
		return nil, err
	}
	if _, err := a.lookupLive(ctx, *in.SecretID); err != nil {
		return nil, err
	}
	if deref(in.RotationLambdaARN) == "" {
		return nil, invalidRequest("No Lambda rotation function ARN is associated with this secret.")
	}
	return nil, invalidRequest("Berth does not rotate secrets: rotation runs a Lambda function, and Berth runs none.")
}

type CancelRotateSecretInput struct {
	SecretID *string `json:"SecretId"`
}

type CancelRotateSecretOutput struct {
	ARN       string  `json:"ARN"`
	Name      string  `json:"Name"`
	VersionID *string `json:"VersionId,omitempty"`
}

// CancelRotateSecret answers as AWS does for a secret without rotation,
// which every Berth secret is.
func (a *API) CancelRotateSecret(ctx context.Context, in *CancelRotateSecretInput) (*CancelRotateSecretOutput, error) {
	if err := firstErr(checkSecretID("secretId", in.SecretID)); err != nil {
		return nil, err
	}
	if _, err := a.lookupLive(ctx, *in.SecretID); err != nil {
		return nil, err
	}
	return nil, invalidRequest("You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.")
}
