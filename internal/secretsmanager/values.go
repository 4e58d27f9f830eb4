package secretsmanager

import (
	"context"
	"slices"
	"strconv"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/state"
)

// pickVersion finds the version a request names by id, by staging label,
// or both (which must agree); neither means AWSCURRENT.
func pickVersion(s *secret, versionID, stage string) (*version, *awsapi.Error) {
	if versionID != "" {
		v := s.version(versionID)
		if v == nil {
			return nil, notFoundf("Secrets Manager can't find the specified secret value for VersionId: %s", versionID)
		}
		if stage != "" && !slices.Contains(v.Stages, stage) {
			return nil, invalidRequest("You provided a VersionStage that is not associated to the provided VersionId.")
		}
		return v, nil
	}
	if stage == "" {
		stage = stageCurrent
	}
	v := s.withStage(stage)
	if v == nil {
		return nil, notFoundf("Secrets Manager can't find the specified secret value for staging label: %s", stage)
	}
	return v, nil
}

// touch records that versions of s were read today, as LastAccessedDate
// shows (to the day). It writes at most once a day per secret and is best
// effort: a conflict or failure only loses the date.
func (a *API) touch(ctx context.Context, s *secret, versionIDs ...string) {
	today := day(a.now())
	c := s.clone()
	changed := false
	if !c.LastAccessed.Equal(today) {
		c.LastAccessed, changed = today, true
	}
	for _, id := range versionIDs {
		if v := c.version(id); v != nil && !v.LastAccessed.Equal(today) {
			v.LastAccessed, changed = today, true
		}
	}
	if !changed {
		return
	}
	op, err := putSecretOp(c)
	if err == nil {
		_, err = state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: []state.DocOp{op}})
	}
	if err != nil {
		a.log.Debug("could not record the last access of a secret", "secret", s.ARN, "err", err)
	}
}

type GetSecretValueInput struct {
	SecretID     *string `json:"SecretId"`
	VersionID    *string `json:"VersionId"`
	VersionStage *string `json:"VersionStage"`
}

type GetSecretValueOutput struct {
	ARN           string        `json:"ARN"`
	Name          string        `json:"Name"`
	VersionID     string        `json:"VersionId"`
	SecretString  *string       `json:"SecretString,omitempty"`
	SecretBinary  []byte        `json:"SecretBinary,omitempty"`
	VersionStages []string      `json:"VersionStages,omitempty"`
	CreatedDate   *awsjson.Time `json:"CreatedDate,omitempty"`
}

// GetSecretValue returns the value of a version: AWSCURRENT unless a
// VersionId or VersionStage names another.
func (a *API) GetSecretValue(ctx context.Context, in *GetSecretValueInput) (*GetSecretValueOutput, error) {
	if err := firstErr(
		checkSecretID("secretId", in.SecretID),
		optLen("versionId", in.VersionID, minToken, maxToken, false),
		optLen("versionStage", in.VersionStage, 1, maxStage, false),
	); err != nil {
		return nil, err
	}
	c := awsapi.CallerFrom(ctx)
	snap := a.store.Snapshot()
	s, err := findSecret(snap, c.Account, c.Region, *in.SecretID)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errNotFound()
	}
	if s.deleted() {
		return nil, errMarkedDeleted()
	}
	v, aerr := pickVersion(s, deref(in.VersionID), deref(in.VersionStage))
	if aerr != nil {
		return nil, aerr
	}
	val, err := a.open(snap, s, v.ID)
	if err != nil {
		return nil, err
	}
	a.touch(ctx, s, v.ID)
	out := &GetSecretValueOutput{ARN: s.ARN, Name: s.Name, VersionID: v.ID, VersionStages: slices.Clone(v.Stages), CreatedDate: awsjson.Ptr(v.Created)}
	setValue(&out.SecretString, &out.SecretBinary, val)
	return out, nil
}

func setValue(str **string, bin *[]byte, v value) {
	if v.binary {
		*bin = v.data
		return
	}
	s := string(v.data)
	*str = &s
}

type PutSecretValueInput struct {
	SecretID           *string  `json:"SecretId"`
	ClientRequestToken *string  `json:"ClientRequestToken"`
	SecretString       *string  `json:"SecretString"`
	SecretBinary       []byte   `json:"SecretBinary"`
	VersionStages      []string `json:"VersionStages"`
	RotationToken      *string  `json:"RotationToken"`
}

type PutSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages,omitempty"`
}

// PutSecretValue adds a version whose id is the ClientRequestToken, with the
// staging labels asked for (AWSCURRENT by default); a retry with the same
// token and value changes nothing.
func (a *API) PutSecretValue(ctx context.Context, in *PutSecretValueInput) (*PutSecretValueOutput, error) {
	if err := firstErr(
		checkSecretID("secretId", in.SecretID),
		checkToken(in.ClientRequestToken),
		checkValues(in.SecretString, in.SecretBinary),
		checkStages("versionStages", in.VersionStages),
	); err != nil {
		return nil, err
	}
	val, ok := valueOf(in.SecretString, in.SecretBinary)
	if !ok {
		return nil, invalidRequest(msgNeedValue)
	}
	token := deref(in.ClientRequestToken)
	if token == "" {
		return nil, invalidRequest(msgNeedToken)
	}
	a.sealMu.RLock()
	defer a.sealMu.RUnlock()
	s, err := a.mutate(ctx, *in.SecretID, false, func(snap *state.Snapshot, s *secret) ([]state.DocOp, error) {
		ops, created, err := a.addVersion(snap, s, token, val, in.VersionStages)
		if err != nil {
			return nil, err
		}
		if !created {
			return nil, errSkip
		}
		return ops, nil
	})
	if err != nil {
		return nil, err
	}
	out := &PutSecretValueOutput{ARN: s.ARN, Name: s.Name, VersionID: token}
	if v := s.version(token); v != nil {
		out.VersionStages = slices.Clone(v.Stages)
	}
	return out, nil
}

type UpdateSecretVersionStageInput struct {
	SecretID            *string `json:"SecretId"`
	VersionStage        *string `json:"VersionStage"`
	RemoveFromVersionID *string `json:"RemoveFromVersionId"`
	MoveToVersionID     *string `json:"MoveToVersionId"`
}

type UpdateSecretVersionStageOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

// UpdateSecretVersionStage attaches a staging label to a version, removes it
// from one, or moves it. A label attached elsewhere can only be moved by
// naming its version in RemoveFromVersionId; moving AWSCURRENT moves
// AWSPREVIOUS to the version it came from.
func (a *API) UpdateSecretVersionStage(ctx context.Context, in *UpdateSecretVersionStageInput) (*UpdateSecretVersionStageOutput, error) {
	if err := firstErr(
		checkSecretID("secretId", in.SecretID),
		reqLen("versionStage", in.VersionStage, 1, maxStage),
		optLen("removeFromVersionId", in.RemoveFromVersionID, minToken, maxToken, false),
		optLen("moveToVersionId", in.MoveToVersionID, minToken, maxToken, false),
	); err != nil {
		return nil, err
	}
	stage, from, to := *in.VersionStage, deref(in.RemoveFromVersionID), deref(in.MoveToVersionID)
	s, err := a.mutate(ctx, *in.SecretID, false, func(_ *state.Snapshot, s *secret) ([]state.DocOp, error) {
		var target *version
		if to != "" {
			if target = s.version(to); target == nil {
				return nil, notFoundf("Secrets Manager can't find the specified secret value for VersionId: %s", to)
			}
		}
		holder := s.withStage(stage)
		switch {
		case holder != nil && from == "":
			if holder == target {
				return nil, errSkip
			}
			return nil, invalidParam("The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", stage, holder.ID)
		case holder != nil && from != holder.ID:
			return nil, invalidParam("When you move staging label %s, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label: %s.", stage, holder.ID)
		case holder == nil && from != "":
			return nil, invalidParam("The staging label %s is not attached to version %s, so you can't remove it from that version.", stage, from)
		case holder == nil && target == nil:
			return nil, invalidParam("Specify MoveToVersionId to attach the staging label %s to a version.", stage)
		case stage == stageCurrent && target == nil:
			return nil, invalidParam("You can't remove the staging label AWSCURRENT from a version without moving it to another version.")
		case holder == target:
			return nil, errSkip
		}
		if target == nil {
			holder.removeStage(stage)
		} else {
			s.moveStage(stage, target, false)
			if len(target.Stages) > maxStages {
				return nil, &awsapi.Error{Code: "LimitExceededException", Message: "A version of a secret can have at most 20 staging labels."}
			}
		}
		s.LastChanged = a.now()
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return &UpdateSecretVersionStageOutput{ARN: s.ARN, Name: s.Name}, nil
}

type ListSecretVersionIdsInput struct {
	SecretID          *string `json:"SecretId"`
	IncludeDeprecated *bool   `json:"IncludeDeprecated"`
	MaxResults        *int32  `json:"MaxResults"`
	NextToken         *string `json:"NextToken"`
}

type SecretVersionsListEntry struct {
	VersionID        string        `json:"VersionId"`
	VersionStages    []string      `json:"VersionStages,omitempty"`
	CreatedDate      *awsjson.Time `json:"CreatedDate,omitempty"`
	LastAccessedDate *awsjson.Time `json:"LastAccessedDate,omitempty"`
	KmsKeyIDs        []string      `json:"KmsKeyIds,omitempty"`
}

type ListSecretVersionIdsOutput struct {
	ARN       string                    `json:"ARN"`
	Name      string                    `json:"Name"`
	Versions  []SecretVersionsListEntry `json:"Versions"`
	NextToken *string                   `json:"NextToken,omitempty"`
}

// ListSecretVersionIds lists a secret's versions, newest first; the
// deprecated ones (without labels) only with IncludeDeprecated. A secret
// marked for deletion is listed too.
func (a *API) ListSecretVersionIds(ctx context.Context, in *ListSecretVersionIdsInput) (*ListSecretVersionIdsOutput, error) {
	n, after, err := pageArgs("maxResults", in.MaxResults, 100, 100, in.NextToken)
	if err != nil {
		return nil, err
	}
	if err := firstErr(checkSecretID("secretId", in.SecretID)); err != nil {
		return nil, err
	}
	// Unlike the value operations, it answers for a secret marked for
	// deletion (its errors have no InvalidRequestException).
	s, err := a.lookup(ctx, *in.SecretID)
	if err != nil {
		return nil, err
	}
	deprecated := in.IncludeDeprecated != nil && *in.IncludeDeprecated
	var items []item
	for _, v := range s.Versions {
		if len(v.Stages) == 0 && !deprecated {
			continue
		}
		items = append(items, item{t: v.Created.UnixMilli(), name: v.ID})
	}
	page, next := paginate(items, byTime(true), after, n)
	out := &ListSecretVersionIdsOutput{ARN: s.ARN, Name: s.Name, Versions: []SecretVersionsListEntry{}, NextToken: next}
	for _, it := range page {
		v := s.version(it.name)
		out.Versions = append(out.Versions, SecretVersionsListEntry{
			VersionID: v.ID, VersionStages: slices.Clone(v.Stages),
			CreatedDate: timePtr(v.Created), LastAccessedDate: timePtr(v.LastAccessed),
			KmsKeyIDs: []string{v.KmsKeyID},
		})
	}
	return out, nil
}

type BatchGetSecretValueInput struct {
	SecretIDList []string `json:"SecretIdList"`
	Filters      []Filter `json:"Filters"`
	MaxResults   *int32   `json:"MaxResults"`
	NextToken    *string  `json:"NextToken"`
}

type SecretValueEntry struct {
	ARN           string        `json:"ARN"`
	Name          string        `json:"Name"`
	VersionID     string        `json:"VersionId"`
	SecretString  *string       `json:"SecretString,omitempty"`
	SecretBinary  []byte        `json:"SecretBinary,omitempty"`
	VersionStages []string      `json:"VersionStages,omitempty"`
	CreatedDate   *awsjson.Time `json:"CreatedDate,omitempty"`
}

type APIErrorType struct {
	SecretID  string `json:"SecretId"`
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

type BatchGetSecretValueOutput struct {
	SecretValues []SecretValueEntry `json:"SecretValues"`
	Errors       []APIErrorType     `json:"Errors,omitempty"`
	NextToken    *string            `json:"NextToken,omitempty"`
}

// BatchGetSecretValue returns the AWSCURRENT values of the secrets of
// SecretIdList (each failure in Errors) or of the secrets Filters match,
// a page at a time.
func (a *API) BatchGetSecretValue(ctx context.Context, in *BatchGetSecretValueInput) (*BatchGetSecretValueOutput, error) {
	if (in.SecretIDList == nil) == (in.Filters == nil) {
		return nil, invalidParam("Either 'SecretIdList' or 'Filters' must be provided, but not both.")
	}
	if in.MaxResults != nil && in.Filters == nil {
		return nil, invalidParam("'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.")
	}
	c := awsapi.CallerFrom(ctx)
	snap := a.store.Snapshot()
	out := &BatchGetSecretValueOutput{SecretValues: []SecretValueEntry{}}
	if in.SecretIDList != nil {
		if len(in.SecretIDList) < 1 || len(in.SecretIDList) > 20 {
			return nil, validationErr("Value '[%d items]' at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20 and greater than or equal to 1", len(in.SecretIDList))
		}
		for i := range in.SecretIDList {
			if err := firstErr(checkSecretID("secretIdList."+strconv.Itoa(i+1)+".member", &in.SecretIDList[i])); err != nil {
				return nil, err
			}
		}
		for _, id := range in.SecretIDList {
			s, err := findSecret(snap, c.Account, c.Region, id)
			if err != nil {
				return nil, err
			}
			if s == nil {
				out.Errors = append(out.Errors, APIErrorType{SecretID: id, ErrorCode: "ResourceNotFoundException", Message: msgNotFound})
				continue
			}
			a.batchValue(ctx, snap, s, id, out)
		}
		return out, nil
	}
	n, after, err := pageArgs("maxResults", in.MaxResults, 20, 20, in.NextToken)
	if err != nil {
		return nil, err
	}
	fs, err := parseFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	var items []item
	for d := range snap.Docs(nil, secretsPrefix(c.Account, c.Region), "") {
		s, err := decodeSecret(d)
		if err != nil {
			return nil, err
		}
		if !s.deleted() && fs.match(s) {
			items = append(items, item{name: s.Name, s: s})
		}
	}
	items, out.NextToken = paginate(items, byName(false), after, n)
	for _, it := range items {
		a.batchValue(ctx, snap, it.s, it.s.Name, out)
	}
	return out, nil
}

// batchValue adds the AWSCURRENT value of s, or the reason there is none,
// to out.
func (a *API) batchValue(ctx context.Context, snap *state.Snapshot, s *secret, id string, out *BatchGetSecretValueOutput) {
	fail := func(e *awsapi.Error) {
		out.Errors = append(out.Errors, APIErrorType{SecretID: id, ErrorCode: e.Code, Message: e.Message})
	}
	if s.deleted() {
		fail(errMarkedDeleted())
		return
	}
	v, aerr := pickVersion(s, "", "")
	if aerr != nil {
		fail(aerr)
		return
	}
	val, err := a.open(snap, s, v.ID)
	if err != nil {
		if ae, ok := err.(*awsapi.Error); ok {
			fail(ae)
		} else {
			a.log.Error("reading a secret value failed", "secret", s.ARN, "err", err)
			fail(&awsapi.Error{Code: "InternalServiceError", Message: "An internal error occurred."})
		}
		return
	}
	a.touch(ctx, s, v.ID)
	e := SecretValueEntry{ARN: s.ARN, Name: s.Name, VersionID: v.ID, VersionStages: slices.Clone(v.Stages), CreatedDate: awsjson.Ptr(v.Created)}
	setValue(&e.SecretString, &e.SecretBinary, val)
	out.SecretValues = append(out.SecretValues, e)
}
