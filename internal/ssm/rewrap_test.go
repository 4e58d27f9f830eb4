package ssm_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/state"
)

// sealedGenerations counts the stored SecureString envelopes by key
// generation.
func sealedGenerations(t *testing.T, e *env) map[string]int {
	t.Helper()
	gens := map[string]int{}
	for key, v := range e.docs() {
		var d struct {
			Sealed *keyring.Envelope `json:"sealed"`
		}
		if err := json.Unmarshal(v, &d); err != nil {
			t.Fatalf("document %q: %v", key, err)
		}
		if d.Sealed != nil {
			gens[d.Sealed.KeyID]++
		}
	}
	return gens
}

// TestRewrapAll rotates the master key while SecureStrings are being
// written: after RewrapAll every stored envelope is wrapped by the new
// generation, and every value still decrypts.
func TestRewrapAll(t *testing.T) {
	e := start(t)
	other := e.other()
	for i := range 5 {
		for v := range 3 {
			e.put(fmt.Sprintf("/r/%d", i), fmt.Sprintf("secret-%d-%d", i, v), types.ParameterTypeSecureString, overwrite)
		}
	}
	if _, err := other.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/r/0"), Value: aws.String("theirs"), Type: types.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	e.put("/r/plain", "plain", types.ParameterTypeString)
	first := e.kr.CurrentID()
	if got := sealedGenerations(t, e); got[first] != 16 {
		t.Fatalf("sealed envelopes before rotation = %v; want 16 in %s", got, first)
	}

	// Writers keep putting while the key rotates and the values are
	// re-wrapped.
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range 5 {
				_, err := e.client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(fmt.Sprintf("/w/%d", w)), Value: aws.String(fmt.Sprintf("w-%d-%d", w, i)), Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true)})
				if err != nil {
					t.Errorf("PutParameter during rotation = %v", err)
				}
			}
		}()
	}
	close(start)
	if err := e.kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	second := e.kr.CurrentID()
	if err := e.api.RewrapAll(ctx, e.kr.Rewrap); err != nil {
		t.Fatalf("RewrapAll = %v", err)
	}
	wg.Wait()

	if got := sealedGenerations(t, e); len(got) != 1 || got[second] != 36 {
		t.Errorf("sealed envelopes after RewrapAll = %v; want all 36 in %s", got, second)
	}
	for i := range 5 {
		hist := history(t, e, fmt.Sprintf("/r/%d", i), 0)
		for v, h := range hist {
			if want := fmt.Sprintf("secret-%d-%d", i, v); aws.ToString(h.Value) != want {
				t.Errorf("history of /r/%d v%d = %q; want %q", i, h.Version, aws.ToString(h.Value), want)
			}
		}
	}
	for w := range 4 {
		if got, want := aws.ToString(e.get(fmt.Sprintf("/w/%d", w), true).Value), fmt.Sprintf("w-%d-4", w); got != want {
			t.Errorf("GetParameter(/w/%d) = %q; want %q", w, got, want)
		}
	}
	out, err := other.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/r/0"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(out.Parameter.Value) != "theirs" {
		t.Errorf("other account's GetParameter(/r/0) = %v, %v; want theirs", out, err)
	}
	// A second call finds nothing to do.
	if err := e.api.RewrapAll(ctx, func(env keyring.Envelope) (keyring.Envelope, bool, error) {
		if env.KeyID != second {
			t.Errorf("RewrapAll offered an envelope of %s after all were re-wrapped", env.KeyID)
		}
		return env, false, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestSwappedStoredValues swaps the sealed values of two parameters in the
// store, as someone with write access to the store could: neither decrypts.
func TestSwappedStoredValues(t *testing.T) {
	e := start(t)
	e.put("/a", "value-a", types.ParameterTypeSecureString)
	e.put("/b", "value-b", types.ParameterTypeSecureString)
	var keyA, keyB string
	for key := range e.docs() {
		switch {
		case strings.Contains(key, "\x00v\x00a\x00"):
			keyA = key
		case strings.Contains(key, "\x00v\x00b\x00"):
			keyB = key
		}
	}
	if keyA == "" || keyB == "" {
		t.Fatalf("version documents of a and b not found")
	}
	swap(t, e, keyA, keyB)
	for _, name := range []string{"a", "b"} {
		_, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		wantError(t, "GetParameter("+name+") after the swap", err, "InternalServerError", "")
		if v, rerr := e.api.Resolve(ctx, account, region, name); rerr == nil {
			t.Errorf("Resolve(%s) after the swap = %q; want an error", name, v)
		}
	}
}

// TestRewrapSkipsDamaged damages one stored envelope: RewrapAll reports it in
// the log, re-wraps the others, and does not hold up the rotation.
func TestRewrapSkipsDamaged(t *testing.T) {
	e := start(t)
	e.put("/p/ok", "fine", types.ParameterTypeSecureString)
	e.put("/p/broken", "lost", types.ParameterTypeSecureString)
	snap := e.srv.Store.Snapshot()
	var key string
	for k := range e.docs() {
		if strings.Contains(k, "\x00v\x00/p/broken\x00") {
			key = k
		}
	}
	d := snap.Doc(key)
	var doc map[string]any
	if err := json.Unmarshal(d.Value, &doc); err != nil {
		t.Fatal(err)
	}
	sealed := doc["sealed"].(map[string]any)
	sealed["w"] = "AAAA" // a wrapped key that is no wrapped key
	b, _ := json.Marshal(doc)
	if _, err := state.Do[[]*state.Doc](ctx, e.srv.Store, &state.WriteDocs{Ops: []state.DocOp{{Key: key, Value: b, IfIndex: d.ModifyIndex}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := e.api.RewrapAll(ctx, e.kr.Rewrap); err != nil {
		t.Fatalf("RewrapAll with a damaged value = %v; want nil", err)
	}
	if got := sealedGenerations(t, e); got[e.kr.CurrentID()] != 1 {
		t.Errorf("sealed envelopes after RewrapAll = %v; want the good one in %s", got, e.kr.CurrentID())
	}
	if !strings.Contains(e.logs.String(), "does not decrypt") || !strings.Contains(e.logs.String(), "/p/broken") {
		t.Errorf("the damaged value was not logged: %s", e.logs.String())
	}
	if got := aws.ToString(e.get("/p/ok", true).Value); got != "fine" {
		t.Errorf("GetParameter(/p/ok) = %q; want fine", got)
	}
}
