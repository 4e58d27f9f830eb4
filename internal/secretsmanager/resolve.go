package secretsmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
)

// Resolve returns the value a container secret's valueFrom names, for a
// task of account that runs in region: the secret's ARN (full, or partial
// without the suffix; its Region may differ from the task's), then, as ECS
// defines it, optionally :json-key:version-stage:version-id. With a JSON key
// the value is that key's member of the SecretString's JSON object: a
// string as it is, any other JSON value encoded. Errors name the reference
// and what is missing, never a value; they wrap errdefs.ErrNotFound (no
// such secret, version, label or key), errdefs.ErrInvalidArgument (a
// malformed reference, a value that is not a JSON object, a secret marked
// for deletion) or errdefs.ErrAccessDenied (another account's secret).
func (a *API) Resolve(ctx context.Context, account, region, valueFrom string) (string, error) {
	ref, err := parseValueFrom(valueFrom)
	if err != nil {
		return "", errdefs.New(errdefs.ErrInvalidArgument, "secret", "Secrets Manager reference: %v", err)
	}
	fail := func(class error, format string, args ...any) error {
		e := errdefs.New(class, "secret", format, args...)
		e.Message = "Secrets Manager reference " + quote(valueFrom) + ": " + e.Message
		return e
	}
	if ref.Ref.Account != account {
		return "", fail(errdefs.ErrAccessDenied, "the secret belongs to account %s, not to the task's account %s", ref.Ref.Account, account)
	}
	snap := a.store.Snapshot()
	s, err := findSecret(snap, account, ref.Ref.Region, ref.ARN)
	if err != nil {
		return "", err
	}
	if s == nil {
		return "", fail(errdefs.ErrNotFound, "no such secret")
	}
	if s.deleted() {
		return "", fail(errdefs.ErrInvalidArgument, "the secret is marked for deletion")
	}
	v, aerr := pickVersion(s, ref.VersionID, ref.Stage)
	if aerr != nil {
		switch {
		case ref.VersionID != "" && s.version(ref.VersionID) == nil:
			return "", fail(errdefs.ErrNotFound, "the secret has no version %s", ref.VersionID)
		case ref.VersionID != "":
			return "", fail(errdefs.ErrNotFound, "version %s of the secret does not have the staging label %s", ref.VersionID, ref.Stage)
		}
		stage := ref.Stage
		if stage == "" {
			stage = stageCurrent
		}
		return "", fail(errdefs.ErrNotFound, "the secret has no version with the staging label %s", stage)
	}
	val, err := a.open(snap, s, v.ID)
	if err != nil {
		var ae *awsapi.Error
		if errors.As(err, &ae) {
			return "", fail(errdefs.ErrUnavailable, "version %s of the secret could not be decrypted", v.ID)
		}
		return "", err
	}
	a.touch(ctx, s, v.ID)
	if ref.JSONKey == "" {
		return string(val.data), nil
	}
	if val.binary {
		return "", fail(errdefs.ErrInvalidArgument, "version %s holds a SecretBinary, so it has no JSON key %s", v.ID, quote(ref.JSONKey))
	}
	// The decoder's errors quote the input, which is the secret: never
	// pass them on.
	var obj map[string]json.RawMessage
	if json.Unmarshal(val.data, &obj) != nil || obj == nil {
		return "", fail(errdefs.ErrInvalidArgument, "the SecretString of version %s is not a JSON object, so it has no JSON key %s", v.ID, quote(ref.JSONKey))
	}
	raw, ok := obj[ref.JSONKey]
	if !ok {
		return "", fail(errdefs.ErrNotFound, "the SecretString of version %s has no JSON key %s", v.ID, quote(ref.JSONKey))
	}
	var str string
	if bytes.HasPrefix(raw, []byte(`"`)) && json.Unmarshal(raw, &str) == nil {
		return str, nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return "", fail(errdefs.ErrInvalidArgument, "the JSON key %s of version %s does not hold a JSON value", quote(ref.JSONKey), v.ID)
	}
	return buf.String(), nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
