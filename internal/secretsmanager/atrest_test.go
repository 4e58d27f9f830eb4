package secretsmanager_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/state"
)

// marker is a value no document, log line or metadata response may hold.
const marker = "MARKER-7f3c9a41-do-not-store"

func TestNoPlaintextAtRest(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "str", marker, func(in *sm.CreateSecretInput) { in.Description = aws.String("holds the marker") })
	create(t, e.c, "bin", "", func(in *sm.CreateSecretInput) { in.SecretString, in.SecretBinary = nil, []byte(marker) })
	put(t, e.c, "str", `{"k":"`+marker+`"}`)
	if _, err := e.c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("bin"), SecretBinary: []byte(marker + "2")}); err != nil {
		t.Fatal(err)
	}
	// Reads, failures and listings, so that their logs are in too.
	if got := value(t, e.c, "str"); !strings.Contains(got, marker) {
		t.Fatalf("GetSecretValue(str) = %q; want the marker back", got)
	}
	if _, err := e.api.Resolve(ctx, "000000000000", "us-east-1", "arn:aws:secretsmanager:us-east-1:000000000000:secret:str:nope"); err == nil {
		t.Fatal("Resolve(str:nope) = nil error; want a missing key")
	}
	_, _ = e.c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("str"), SecretString: aws.String(marker + "x"), ClientRequestToken: tok("dup")})
	_, _ = e.c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("str"), SecretString: aws.String(marker + "y"), ClientRequestToken: tok("dup")})

	forms := [][]byte{
		[]byte(marker),
		[]byte(base64.StdEncoding.EncodeToString([]byte(marker))),
		[]byte(base64.StdEncoding.EncodeToString([]byte("s" + marker))),
		[]byte(base64.StdEncoding.EncodeToString([]byte("b" + marker))),
	}
	all := docs(e)
	if len(all) == 0 {
		t.Fatal("the store holds no documents")
	}
	for k, v := range all {
		for _, f := range forms {
			if bytes.Contains(v, f) || strings.Contains(k, string(f)) {
				t.Errorf("document %q holds the marker (as %q) in plaintext", k, f)
			}
		}
	}
	if strings.Contains(e.logs.String(), marker) {
		t.Errorf("the logs hold the marker:\n%s", e.logs.String())
	}

	for _, id := range []string{"str", "bin"} {
		d, _ := json.Marshal(describe(t, e.c, id))
		vs, err := e.c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String(id), IncludeDeprecated: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		l, _ := json.Marshal(vs)
		if bytes.Contains(d, []byte(marker)) || bytes.Contains(l, []byte(marker)) {
			t.Errorf("DescribeSecret/ListSecretVersionIds(%s) shows the marker", id)
		}
	}
	ls, err := e.c.ListSecrets(ctx, &sm.ListSecretsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(ls); bytes.Contains(b, []byte(marker)) {
		t.Errorf("ListSecrets shows the marker: %s", b)
	}
}

// envelopeOf reads the stored envelope of a secret's version document.
type storedValue struct {
	ARN      string           `json:"arn"`
	Version  string           `json:"version"`
	Envelope keyring.Envelope `json:"envelope"`
}

func valueDocs(t *testing.T, e *env, name string) map[string]*state.Doc {
	t.Helper()
	out := map[string]*state.Doc{}
	for d := range e.srv.Store.Snapshot().Docs(nil, state.KeyPrefix("secretsmanager", "000000000000", "us-east-1", "value", name), "") {
		out[d.ID] = d
	}
	return out
}

func TestSwappedEnvelopeDoesNotDecrypt(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "alice", "alice-password")
	create(t, e.c, "bob", "bob-password")
	var a, b *state.Doc
	for _, d := range valueDocs(t, e, "alice") {
		a = d
	}
	for _, d := range valueDocs(t, e, "bob") {
		b = d
	}
	var av, bv storedValue
	if err := json.Unmarshal(a.Value, &av); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Value, &bv); err != nil {
		t.Fatal(err)
	}
	av.Envelope, bv.Envelope = bv.Envelope, av.Envelope
	aj, _ := json.Marshal(av)
	bj, _ := json.Marshal(bv)
	if _, err := state.Do[[]*state.Doc](ctx, e.srv.Store, &state.WriteDocs{Ops: []state.DocOp{{Key: a.ID, Value: aj}, {Key: b.ID, Value: bj}}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alice", "bob"} {
		out, err := e.c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(id)})
		wantError(t, "GetSecretValue("+id+") with the other secret's envelope", err, "DecryptionFailure", "Secrets Manager can't decrypt the protected secret text using the provided KMS key.")
		if out != nil {
			t.Errorf("GetSecretValue(%s) = %q; want no value", id, aws.ToString(out.SecretString))
		}
	}
}

func TestRewrapAll(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "one", "v1")
	put(t, e.c, "one", "v2")
	create(t, e.c, "two", "w1")
	before := e.kr.CurrentID()
	if err := e.kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	after := e.kr.CurrentID()
	if after == before {
		t.Fatalf("keyring Rotate kept generation %s current", before)
	}
	if err := e.api.RewrapAll(ctx, e.kr.Rewrap); err != nil {
		t.Fatalf("RewrapAll() = %v", err)
	}
	n := 0
	for _, name := range []string{"one", "two"} {
		for k, d := range valueDocs(t, e, name) {
			var sv storedValue
			if err := json.Unmarshal(d.Value, &sv); err != nil {
				t.Fatal(err)
			}
			if sv.Envelope.KeyID != after {
				t.Errorf("envelope %q key id = %s after RewrapAll; want %s", k, sv.Envelope.KeyID, after)
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("value documents = %d; want 3", n)
	}
	if got := value(t, e.c, "one"); got != "v2" {
		t.Errorf("GetSecretValue(one) after RewrapAll = %q; want v2", got)
	}
	if got := get(t, e.c, &sm.GetSecretValueInput{SecretId: aws.String("one"), VersionStage: aws.String("AWSPREVIOUS")}); aws.ToString(got.SecretString) != "v1" {
		t.Errorf("GetSecretValue(one, AWSPREVIOUS) after RewrapAll = %q; want v1", aws.ToString(got.SecretString))
	}
	// A second pass has nothing left to change.
	calls := 0
	if err := e.api.RewrapAll(ctx, func(env keyring.Envelope) (keyring.Envelope, bool, error) {
		calls++
		return e.kr.Rewrap(env)
	}); err != nil || calls != 3 {
		t.Errorf("second RewrapAll() = %v after %d envelopes; want nil after 3", err, calls)
	}
}

func TestRewrapAllDuringWrites(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "busy", "v0")
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			n++
			if _, err := e.c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("busy"), SecretString: aws.String(fmt.Sprint("v", n))}); err != nil {
				t.Errorf("PutSecretValue(busy) during re-wrap = %v", err)
				return
			}
		}
	}()
	for range 3 {
		if err := e.kr.Rotate(); err != nil {
			t.Fatal(err)
		}
		if err := e.api.RewrapAll(ctx, e.kr.Rewrap); err != nil {
			t.Fatalf("RewrapAll() = %v", err)
		}
		// Every envelope committed before RewrapAll returned is current;
		// writes after it seal under the current generation anyway.
		cur := e.kr.CurrentID()
		for k, d := range valueDocs(t, e, "busy") {
			var sv storedValue
			if err := json.Unmarshal(d.Value, &sv); err != nil {
				t.Fatal(err)
			}
			if sv.Envelope.KeyID != cur {
				t.Errorf("envelope %q key id = %s after RewrapAll; want %s", k, sv.Envelope.KeyID, cur)
			}
		}
	}
	close(stop)
	if n := <-done; n < 2 {
		t.Logf("only %d writes ran during the re-wraps", n)
	}
}
