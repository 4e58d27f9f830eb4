package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/berthhq/berth/internal/keyring"
)

func open(t *testing.T, dir string) *keyring.Keyring {
	t.Helper()
	k, err := keyring.Open(keyring.Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	return k
}

func seal(t *testing.T, k *keyring.Keyring, plaintext, aad string) keyring.Envelope {
	t.Helper()
	env, err := k.Seal([]byte(plaintext), []byte(aad))
	if err != nil {
		t.Fatalf("Seal = %v", err)
	}
	return env
}

func wantOpen(t *testing.T, k *keyring.Keyring, env keyring.Envelope, aad, want string) {
	t.Helper()
	got, err := k.Open(env, []byte(aad))
	if err != nil {
		t.Fatalf("Open(env of %s, %q) = %v; want %q", env.KeyID, aad, err, want)
	}
	if string(got) != want {
		t.Fatalf("Open(env, %q) = %q; want %q", aad, got, want)
	}
}

func wantDecryptError(t *testing.T, k *keyring.Keyring, env keyring.Envelope, aad string) {
	t.Helper()
	got, err := k.Open(env, []byte(aad))
	if !errors.Is(err, keyring.ErrDecrypt) {
		t.Fatalf("Open(env, %q) = %q, %v; want ErrDecrypt", aad, got, err)
	}
}

func TestSealOpen(t *testing.T) {
	k := open(t, t.TempDir())
	for _, pt := range []string{"", "hunter2", string(bytes.Repeat([]byte{0, 1, 2, 255}, 3000))} {
		env := seal(t, k, pt, "arn:aws:ssm:us-east-1:000000000000:parameter/db\x001")
		if env.KeyID != k.CurrentID() {
			t.Errorf("Seal KeyID = %q; want the current generation %q", env.KeyID, k.CurrentID())
		}
		if len(pt) > 6 && bytes.Contains(env.Ciphertext, []byte(pt[:6])) {
			t.Errorf("Seal ciphertext contains the plaintext")
		}
		wantOpen(t, k, env, "arn:aws:ssm:us-east-1:000000000000:parameter/db\x001", pt)
	}
	// Two seals of one value differ: a fresh data key and nonce each time.
	a, b := seal(t, k, "same", "x"), seal(t, k, "same", "x")
	if bytes.Equal(a.Ciphertext, b.Ciphertext) || bytes.Equal(a.WrappedKey, b.WrappedKey) {
		t.Errorf("two Seals of the same value gave the same ciphertext or wrapped key")
	}
}

func TestOpenRejects(t *testing.T) {
	k := open(t, t.TempDir())
	const aad = "arn:aws:ssm:us-east-1:000000000000:parameter/db\x001"
	env := seal(t, k, "hunter2", aad)
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i%len(c)] ^= 1; return c }
	tests := []struct {
		name string
		env  keyring.Envelope
		aad  string
	}{
		{"wrong aad", env, "arn:aws:ssm:us-east-1:000000000000:parameter/db\x002"},
		{"empty aad", env, ""},
		{"other account", env, "arn:aws:ssm:us-east-1:111111111111:parameter/db\x001"},
		{"ciphertext bit", keyring.Envelope{KeyID: env.KeyID, WrappedKey: env.WrappedKey, Nonce: env.Nonce, Ciphertext: flip(env.Ciphertext, 3)}, aad},
		{"ciphertext tag bit", keyring.Envelope{KeyID: env.KeyID, WrappedKey: env.WrappedKey, Nonce: env.Nonce, Ciphertext: flip(env.Ciphertext, len(env.Ciphertext)-1)}, aad},
		{"nonce bit", keyring.Envelope{KeyID: env.KeyID, WrappedKey: env.WrappedKey, Nonce: flip(env.Nonce, 0), Ciphertext: env.Ciphertext}, aad},
		{"wrapped key bit", keyring.Envelope{KeyID: env.KeyID, WrappedKey: flip(env.WrappedKey, 20), Nonce: env.Nonce, Ciphertext: env.Ciphertext}, aad},
		{"wrapping nonce bit", keyring.Envelope{KeyID: env.KeyID, WrappedKey: flip(env.WrappedKey, 0), Nonce: env.Nonce, Ciphertext: env.Ciphertext}, aad},
		{"unknown generation", keyring.Envelope{KeyID: "0123456789abcdef", WrappedKey: env.WrappedKey, Nonce: env.Nonce, Ciphertext: env.Ciphertext}, aad},
		{"short wrapped key", keyring.Envelope{KeyID: env.KeyID, WrappedKey: env.WrappedKey[:10], Nonce: env.Nonce, Ciphertext: env.Ciphertext}, aad},
		{"short nonce", keyring.Envelope{KeyID: env.KeyID, WrappedKey: env.WrappedKey, Nonce: env.Nonce[:8], Ciphertext: env.Ciphertext}, aad},
		{"no ciphertext", keyring.Envelope{KeyID: env.KeyID, WrappedKey: env.WrappedKey, Nonce: env.Nonce}, aad},
		{"zero envelope", keyring.Envelope{}, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantDecryptError(t, k, tt.env, tt.aad) })
	}
	// The untouched envelope still opens.
	wantOpen(t, k, env, aad, "hunter2")
}

// TestSwappedEnvelopes stores two owners' envelopes and swaps them, as
// someone with write access to the state store could: neither opens as the
// other's value.
func TestSwappedEnvelopes(t *testing.T) {
	k := open(t, t.TempDir())
	const aadA, aadB = "arn:aws:ssm:us-east-1:000000000000:parameter/a\x001", "arn:aws:ssm:us-east-1:000000000000:parameter/b\x001"
	stored := map[string]keyring.Envelope{aadA: seal(t, k, "value-of-a", aadA), aadB: seal(t, k, "value-of-b", aadB)}
	stored[aadA], stored[aadB] = stored[aadB], stored[aadA]
	wantDecryptError(t, k, stored[aadA], aadA)
	wantDecryptError(t, k, stored[aadB], aadB)

	// Nor does moving only the wrapped data key, or only the ciphertext.
	a, b := seal(t, k, "value-of-a", aadA), seal(t, k, "value-of-b", aadB)
	mixed := keyring.Envelope{KeyID: a.KeyID, WrappedKey: b.WrappedKey, Nonce: a.Nonce, Ciphertext: a.Ciphertext}
	wantDecryptError(t, k, mixed, aadA)
	mixed = keyring.Envelope{KeyID: a.KeyID, WrappedKey: a.WrappedKey, Nonce: b.Nonce, Ciphertext: b.Ciphertext}
	wantDecryptError(t, k, mixed, aadA)
	wantDecryptError(t, k, mixed, aadB)
	// Re-wrapping after a rotation keeps the binding.
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	ra, _, err := k.Rewrap(a)
	if err != nil {
		t.Fatal(err)
	}
	wantDecryptError(t, k, ra, aadB)
	wantOpen(t, k, ra, aadA, "value-of-a")
	if _, _, err := k.Rewrap(keyring.Envelope{KeyID: a.KeyID, WrappedKey: b.WrappedKey, Nonce: a.Nonce, Ciphertext: a.Ciphertext}); !errors.Is(err, keyring.ErrDecrypt) {
		t.Errorf("Rewrap(a with b's wrapped key) = %v; want ErrDecrypt", err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	k := open(t, dir)
	path := filepath.Join(dir, keyring.FileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode = %v; want 0600", got)
	}
	env := seal(t, k, "persisted", "owner")
	// Reopening reads the same key.
	wantOpen(t, open(t, dir), env, "owner", "persisted")

	// A temporary file left by a crash during a write does not matter and is
	// cleaned up.
	stale := filepath.Join(dir, "."+keyring.FileName+".tmp-123")
	if err := os.WriteFile(stale, []byte("{partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOpen(t, open(t, dir), env, "owner", "persisted")
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary key file still there after Open: %v", err)
	}

	// MasterKeyFile overrides Dir, and its directory is created.
	other := filepath.Join(t.TempDir(), "secrets", "berth.keys")
	k2, err := keyring.Open(keyring.Config{Dir: dir, MasterKeyFile: other})
	if err != nil {
		t.Fatal(err)
	}
	if k2.Path() != other || k2.CurrentID() == k.CurrentID() {
		t.Errorf("Open(MasterKeyFile) = path %s, generation %s; want %s and a new generation", k2.Path(), k2.CurrentID(), other)
	}
	wantDecryptError(t, k2, env, "owner")
}

func TestOpenBadFile(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(func() string { d := t.TempDir(); open(t, d); return d }(), keyring.FileName))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"empty":         "",
		"not json":      "garbage",
		"wrong format":  `{"format":"other","generations":[]}`,
		"no generation": `{"format":"berth-keyring/1","generations":[]}`,
		"short key":     `{"format":"berth-keyring/1","generations":[{"id":"a","key":"AAAA"}]}`,
		"bad id":        `{"format":"berth-keyring/1","generations":[{"id":"a b","key":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `"}]}`,
		"duplicate id":  `{"format":"berth-keyring/1","generations":[{"id":"a","key":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `"},{"id":"a","key":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `"}]}`,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, keyring.FileName), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := keyring.Open(keyring.Config{Dir: dir}); err == nil {
				t.Errorf("Open(key file %q) = nil error; want one", name)
			} else if bytes.Contains([]byte(err.Error()), good[40:60]) {
				t.Errorf("Open error quotes key material: %v", err)
			}
		})
	}
	if _, err := keyring.Open(keyring.Config{}); err == nil {
		t.Errorf("Open(Config{}) = nil error; want one")
	}
}

// memHolder is a Holder over an in-memory table of envelopes, each stored
// with the associated data it was sealed with.
type memHolder struct {
	mu    sync.Mutex
	items map[string]memItem
	// hook, when set, runs before each rewrite; an error stops RewrapAll.
	hook  func(n int) error
	calls int
}

func (h *memHolder) callCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

type memItem struct {
	env       keyring.Envelope
	plaintext string
}

func newHolder(t *testing.T, k *keyring.Keyring, prefix string, n int) *memHolder {
	h := &memHolder{items: map[string]memItem{}}
	for i := range n {
		aad := fmt.Sprintf("%s/%03d\x001", prefix, i)
		h.items[aad] = memItem{env: seal(t, k, "secret "+aad, aad), plaintext: "secret " + aad}
	}
	return h
}

func (h *memHolder) RewrapAll(ctx context.Context, rewrap func(keyring.Envelope) (keyring.Envelope, bool, error)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range h.items {
			if !yield(k) {
				return
			}
		}
	})
	for i, key := range keys {
		if h.hook != nil {
			if err := h.hook(i); err != nil {
				return err
			}
		}
		it := h.items[key]
		env, changed, err := rewrap(it.env)
		if err != nil {
			return err
		}
		if changed {
			it.env = env
			h.items[key] = it
		}
	}
	return ctx.Err()
}

// check opens every item with k and reports how many each generation wraps.
func (h *memHolder) check(t *testing.T, k *keyring.Keyring) map[string]int {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	gens := map[string]int{}
	for aad, it := range h.items {
		wantOpen(t, k, it.env, aad, it.plaintext)
		gens[it.env.KeyID]++
	}
	return gens
}

func fileGenerations(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Generations []struct{ ID string } `json:"generations"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range f.Generations {
		ids = append(ids, g.ID)
	}
	return ids
}

func TestRotateAndRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		k := open(t, dir)
		old := k.CurrentID()
		h1, h2 := newHolder(t, k, "a", 20), newHolder(t, k, "b", 7)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- k.Run(ctx, h1, h2) }()
		synctest.Wait()
		if n := h1.callCount(); n != 0 {
			t.Errorf("Run with a single generation called RewrapAll %d times; want 0", n)
		}

		if err := k.Rotate(); err != nil {
			t.Fatal(err)
		}
		cur := k.CurrentID()
		if cur == old {
			t.Fatalf("Rotate kept the current generation %s", cur)
		}
		// Before Run catches up, old envelopes still open.
		h1.check(t, k)

		synctest.Wait()
		for name, h := range map[string]*memHolder{"h1": h1, "h2": h2} {
			if got := h.check(t, k); len(got) != 1 || got[cur] != len(h.items) {
				t.Errorf("%s generations after Run = %v; want all %d in %s", name, got, len(h.items), cur)
			}
		}
		if got := fileGenerations(t, k.Path()); !slices.Equal(got, []string{cur}) {
			t.Errorf("key file generations after Run = %v; want [%s]", got, cur)
		}
		if got := k.Generations(); !slices.Equal(got, []string{cur}) {
			t.Errorf("Generations() = %v; want [%s]", got, cur)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v; want nil on cancel", err)
		}
		// A reopened keyring sees one generation and opens everything.
		k2 := open(t, dir)
		h1.check(t, k2)
		h2.check(t, k2)
	})
}

func TestRetireGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, err := keyring.Open(keyring.Config{Dir: t.TempDir(), RetireGrace: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		// A reader took this envelope before the rotation and is slow to
		// open it.
		stale := seal(t, k, "read before the re-wrap", "owner")
		if err := k.Rotate(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = k.Run(ctx) }()
		synctest.Wait()
		if got := k.Generations(); len(got) != 1 {
			t.Fatalf("Generations after Run = %v; want one", got)
		}
		wantOpen(t, k, stale, "owner", "read before the re-wrap")
		time.Sleep(time.Minute) // fake time: the grace period passes
		wantDecryptError(t, k, stale, "owner")
	})
}

// TestCrashMidway stops Run after one holder and part of another, as a crash
// would, then reopens the keyring from its file: every value still opens,
// and a new Run finishes the job.
func TestCrashMidway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		k := open(t, dir)
		h1, h2, h3 := newHolder(t, k, "a", 10), newHolder(t, k, "b", 10), newHolder(t, k, "c", 10)
		first := k.CurrentID()
		if err := k.Rotate(); err != nil {
			t.Fatal(err)
		}
		second := k.CurrentID()

		ctx, cancel := context.WithCancel(t.Context())
		h2.hook = func(n int) error {
			if n == 4 {
				cancel() // the crash: nothing after this point happens
				return ctx.Err()
			}
			return nil
		}
		if err := k.Run(ctx, h1, h2, h3); err != nil {
			t.Errorf("Run = %v; want nil on cancel", err)
		}
		h2.hook = nil
		if got := fileGenerations(t, k.Path()); !slices.Equal(got, []string{first, second}) {
			t.Fatalf("key file after a crash midway = %v; want both generations [%s %s]", got, first, second)
		}

		k2 := open(t, dir)
		if got := h1.check(t, k2); got[second] != 10 {
			t.Errorf("h1 after the crash = %v; want all 10 in %s", got, second)
		}
		if got := h2.check(t, k2); got[first] != 6 || got[second] != 4 {
			t.Errorf("h2 after the crash = %v; want 4 in %s and 6 in %s", got, second, first)
		}
		if got := h3.check(t, k2); got[first] != 10 {
			t.Errorf("h3 after the crash = %v; want all 10 in %s", got, first)
		}

		// Run resumes at start because the file holds an old generation.
		ctx2, cancel2 := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- k2.Run(ctx2, h1, h2, h3) }()
		synctest.Wait()
		for _, h := range []*memHolder{h1, h2, h3} {
			if got := h.check(t, k2); got[second] != 10 {
				t.Errorf("after the resumed Run = %v; want all 10 in %s", got, second)
			}
		}
		if got := fileGenerations(t, k2.Path()); !slices.Equal(got, []string{second}) {
			t.Errorf("key file after the resumed Run = %v; want [%s]", got, second)
		}
		cancel2()
		<-done
	})
}

// TestRunRetriesFailedHolder keeps the old generation while a holder fails,
// and retires it once the holder succeeds.
func TestRunRetriesFailedHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		k, err := keyring.Open(keyring.Config{Dir: t.TempDir(), RetryBackoff: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		h := newHolder(t, k, "a", 3)
		var fail atomic.Bool
		fail.Store(true)
		h.hook = func(n int) error {
			if fail.Load() && n == 1 {
				return errors.New("store unavailable")
			}
			return nil
		}
		if err := k.Rotate(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = k.Run(ctx, h) }()
		synctest.Wait()
		if got := k.Generations(); len(got) != 2 {
			t.Fatalf("Generations while the holder fails = %v; want both kept", got)
		}
		h.check(t, k)
		time.Sleep(3 * time.Second) // fake time: two retries, backoff 1 s then 2 s
		synctest.Wait()
		if n := h.callCount(); n != 3 {
			t.Errorf("RewrapAll calls after 3 s = %d; want 3 (backoff 1 s, 2 s)", n)
		}
		fail.Store(false)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if got := k.Generations(); len(got) != 1 {
			t.Errorf("Generations after the holder recovered = %v; want one", got)
		}
		h.check(t, k)
		if !bytes.Contains(logs.Bytes(), []byte("store unavailable")) {
			t.Errorf("the holder's error was not logged: %s", logs.String())
		}
	})
}

// TestNoSecretsInLogs checks that no key material or plaintext reaches the
// log through the keyring's life cycle.
func TestNoSecretsInLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		dir := t.TempDir()
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		k, err := keyring.Open(keyring.Config{Dir: dir, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		h := newHolder(t, k, "marker-7f3a", 2)
		if err := k.Rotate(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		go func() { _ = k.Run(ctx, h) }()
		synctest.Wait()
		cancel()
		b, err := os.ReadFile(k.Path())
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Generations []struct{ Key []byte } `json:"generations"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		for _, g := range f.Generations {
			for _, enc := range []string{base64.StdEncoding.EncodeToString(g.Key), fmt.Sprintf("%x", g.Key)} {
				if bytes.Contains(logs.Bytes(), []byte(enc)) {
					t.Errorf("log contains key material")
				}
			}
		}
		if bytes.Contains(logs.Bytes(), []byte("secret marker-7f3a")) {
			t.Errorf("log contains a plaintext")
		}
		if logs.Len() == 0 {
			t.Errorf("no log at all; want the rotation logged")
		}
	})
}
