package keyring

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

const (
	keySize   = 32 // AES-256
	nonceSize = 12 // the GCM standard nonce
	tagSize   = 16 // the GCM tag
	// wrappedSize is the length of Envelope.WrappedKey: the wrapping nonce,
	// then the sealed data key.
	wrappedSize = nonceSize + keySize + tagSize
)

// Domain separation of the two uses of AES-GCM, so that a wrapped key can
// never be presented as a value or the other way round.
const (
	valueDomain = "berth-keyring/1 value\x00"
	wrapDomain  = "berth-keyring/1 wrap\x00"
)

// ErrDecrypt is the error of every envelope that does not open: wrong
// associated data, tampering, or a key generation this keyring does not hold.
var ErrDecrypt = errors.New("keyring: decryption failed")

// Config configures a Keyring.
type Config struct {
	// Dir is the data directory: the master key file is <Dir>/master.keys
	// unless MasterKeyFile is set.
	Dir string
	// MasterKeyFile, when set, is the master key file (mode 0600). It should
	// live outside the data directory, so that a copy of the data holds no
	// key.
	MasterKeyFile string
	Logger        *slog.Logger

	// RetireGrace is how long this process still opens envelopes of a
	// generation after Run retired it from the file, for readers that read an
	// envelope just before it was re-wrapped. Default one minute.
	RetireGrace time.Duration
	// RetryBackoff is Run's first wait after a failed re-wrap pass; it
	// doubles up to a minute. Default one second.
	RetryBackoff time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// FileName is the name of the master key file in Config.Dir.
const FileName = "master.keys"

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RetireGrace == 0 {
		c.RetireGrace = time.Minute
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.Dir == "" && c.MasterKeyFile == "" {
		return errors.New("keyring: neither Dir nor MasterKeyFile is set")
	}
	if c.RetireGrace < 0 || c.RetryBackoff < 0 {
		return errors.New("keyring: RetireGrace and RetryBackoff must not be negative")
	}
	return nil
}

// Keyring holds the master key generations and seals and opens envelopes.
// It is safe for concurrent use.
type Keyring struct {
	path    string
	log     *slog.Logger
	now     func() time.Time
	grace   time.Duration
	backoff time.Duration

	// fileMu serialises the changes of the key file (Rotate, retiring).
	fileMu sync.Mutex

	mu sync.RWMutex
	// gens are the generations in the key file, oldest first; the last one
	// is current.
	gens []*generation
	// retired are generations removed from the file that still open
	// envelopes until their time.
	retired map[string]retiredGen

	// wake tells Run that a generation was added.
	wake chan struct{}
}

type retiredGen struct {
	g     *generation
	until time.Time
}

// Envelope is one sealed value: a fresh data key per Seal, AES-256-GCM; the
// data key wrapped (AES-256-GCM) by master generation KeyID.
type Envelope struct {
	KeyID      string `json:"k"`
	WrappedKey []byte `json:"w"`
	Nonce      []byte `json:"n"`
	Ciphertext []byte `json:"c"`
}

// Open opens the keyring's master key file, creating it with one fresh
// 256-bit generation on first use.
func Open(cfg Config) (*Keyring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	path := cfg.MasterKeyFile
	if path == "" {
		path = filepath.Join(cfg.Dir, FileName)
	}
	k := &Keyring{
		path:    path,
		log:     cfg.Logger.With("component", "keyring"),
		now:     cfg.Now,
		grace:   cfg.RetireGrace,
		backoff: cfg.RetryBackoff,
		retired: map[string]retiredGen{},
		wake:    make(chan struct{}, 1),
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		g := newGeneration(k.now())
		if err := writeKeyFile(path, []*generation{g}); err != nil {
			return nil, err
		}
		k.gens = []*generation{g}
		k.log.Info("created the master key file", "path", path, "generation", g.id)
	case err != nil:
		return nil, fmt.Errorf("keyring: %w", err)
	default:
		gens, err := parseKeyFile(b)
		if err != nil {
			return nil, fmt.Errorf("keyring: %s: %w", path, err)
		}
		k.gens = gens
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			k.log.Warn("the master key file is readable by other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
		}
	}
	removeTemps(path)
	return k, nil
}

// Path is the master key file.
func (k *Keyring) Path() string { return k.path }

// CurrentID is the id of the generation Seal wraps data keys with.
func (k *Keyring) CurrentID() string { return k.current().id }

// Generations lists the ids of the generations in the key file, oldest
// first; the last one is current.
func (k *Keyring) Generations() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, len(k.gens))
	for i, g := range k.gens {
		ids[i] = g.id
	}
	return ids
}

func (k *Keyring) current() *generation {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.gens[len(k.gens)-1]
}

// lookup returns the generation id names, if this keyring can still open
// envelopes of it.
func (k *Keyring) lookup(id string) (*generation, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, g := range k.gens {
		if g.id == id {
			return g, true
		}
	}
	if r, ok := k.retired[id]; ok && k.now().Before(r.until) {
		return r.g, true
	}
	return nil, false
}

// Seal encrypts plaintext under a fresh data key bound to aad, the identity
// of the value's owner (callers pass ARN and version id). Only Open with the
// same aad opens the envelope.
func (k *Keyring) Seal(plaintext, aad []byte) (Envelope, error) {
	g := k.current()
	dek := make([]byte, keySize)
	rand.Read(dek)
	defer clear(dek)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	aead, err := newGCM(dek)
	if err != nil {
		return Envelope{}, fmt.Errorf("keyring: %w", err)
	}
	ct := aead.Seal(nil, nonce, plaintext, valueAAD(aad))
	return Envelope{KeyID: g.id, WrappedKey: wrap(g, dek, nonce, ct), Nonce: nonce, Ciphertext: ct}, nil
}

// Open decrypts env, which must have been sealed with the same aad. Its
// errors wrap ErrDecrypt and never include key material or plaintext.
func (k *Keyring) Open(env Envelope, aad []byte) ([]byte, error) {
	dek, err := k.unwrap(env)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	aead, err := newGCM(dek)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	pt, err := aead.Open(nil, env.Nonce, env.Ciphertext, valueAAD(aad))
	if err != nil {
		return nil, fmt.Errorf("%w: the value does not authenticate (wrong owner or tampered)", ErrDecrypt)
	}
	return pt, nil
}

// Rewrap returns env with the same data key wrapped by the current
// generation, and whether it changed (false when env already is current).
// It needs no associated data: the wrapped key is bound to env's
// ciphertext, which stays as it is.
func (k *Keyring) Rewrap(env Envelope) (Envelope, bool, error) {
	g := k.current()
	if env.KeyID == g.id {
		return env, false, nil
	}
	dek, err := k.unwrap(env)
	if err != nil {
		return env, false, err
	}
	defer clear(dek)
	return Envelope{KeyID: g.id, WrappedKey: wrap(g, dek, env.Nonce, env.Ciphertext), Nonce: env.Nonce, Ciphertext: env.Ciphertext}, true, nil
}

// Rotate adds a new current generation to the key file (durably) and keeps
// the old ones, which still open what they wrapped until Run has re-wrapped
// every envelope and retired them.
func (k *Keyring) Rotate() error {
	k.fileMu.Lock()
	defer k.fileMu.Unlock()
	k.mu.RLock()
	gens := slices.Clone(k.gens)
	k.mu.RUnlock()
	g := newGeneration(k.now())
	gens = append(gens, g)
	if err := writeKeyFile(k.path, gens); err != nil {
		return err
	}
	k.mu.Lock()
	k.gens = gens
	k.mu.Unlock()
	k.log.Info("added a master key generation", "generation", g.id, "generations", len(gens))
	select {
	case k.wake <- struct{}{}:
	default:
	}
	return nil
}

// unwrap returns env's data key, checking that the wrapped key belongs to
// env's ciphertext.
func (k *Keyring) unwrap(env Envelope) ([]byte, error) {
	if len(env.WrappedKey) != wrappedSize || len(env.Nonce) != nonceSize || len(env.Ciphertext) < tagSize {
		return nil, fmt.Errorf("%w: malformed envelope", ErrDecrypt)
	}
	g, ok := k.lookup(env.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: unknown key generation %q", ErrDecrypt, env.KeyID)
	}
	wn, sealed := env.WrappedKey[:nonceSize], env.WrappedKey[nonceSize:]
	dek, err := g.aead.Open(nil, wn, sealed, wrapAAD(g.id, env.Nonce, env.Ciphertext))
	if err != nil {
		return nil, fmt.Errorf("%w: the data key does not authenticate (tampered or moved)", ErrDecrypt)
	}
	return dek, nil
}

// wrap seals dek under g, bound to g's id and to the value it encrypts.
func wrap(g *generation, dek, nonce, ct []byte) []byte {
	out := make([]byte, nonceSize, wrappedSize)
	rand.Read(out)
	return g.aead.Seal(out, out[:nonceSize], dek, wrapAAD(g.id, nonce, ct))
}

func valueAAD(aad []byte) []byte {
	return append([]byte(valueDomain), aad...)
}

// wrapAAD binds a wrapped data key to its generation and to the value it
// encrypts (nonce and ciphertext, digested), so that a wrapped key moved to
// another envelope does not open.
func wrapAAD(id string, nonce, ct []byte) []byte {
	h := sha256.New()
	h.Write(nonce)
	h.Write(ct)
	b := make([]byte, 0, len(wrapDomain)+len(id)+1+sha256.Size)
	b = append(b, wrapDomain...)
	b = append(b, id...)
	b = append(b, 0)
	return h.Sum(b)
}
