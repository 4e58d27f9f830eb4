package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// fileFormat names the layout of the key file, so that a later layout can be
// told apart.
const fileFormat = "berth-keyring/1"

// keyFile is the master key file: the generations, oldest first; the last
// one is current.
type keyFile struct {
	Format      string    `json:"format"`
	Generations []keyJSON `json:"generations"`
}

type keyJSON struct {
	ID      string    `json:"id"`
	Key     []byte    `json:"key"`
	Created time.Time `json:"created"`
}

// generation is one master key.
type generation struct {
	id      string
	key     []byte
	created time.Time
	aead    cipher.AEAD
}

func newGeneration(now time.Time) *generation {
	key := make([]byte, keySize)
	rand.Read(key) // never fails (crypto/rand.Read aborts the program instead)
	id := make([]byte, 8)
	rand.Read(id)
	g, err := makeGeneration(hex.EncodeToString(id), key, now.UTC())
	if err != nil {
		panic(err) // a 32-byte key always makes an AES-GCM cipher
	}
	return g
}

func makeGeneration(id string, key []byte, created time.Time) (*generation, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &generation{id: id, key: key, created: created, aead: aead}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("key of %d bytes; want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// parseKeyFile reads a key file's content. Its errors never quote key
// material.
func parseKeyFile(b []byte) ([]*generation, error) {
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, errors.New("not a key file (invalid JSON)")
	}
	if f.Format != fileFormat {
		return nil, fmt.Errorf("unknown key file format %q; want %q", f.Format, fileFormat)
	}
	if len(f.Generations) == 0 {
		return nil, errors.New("the key file holds no key generation")
	}
	gens := make([]*generation, 0, len(f.Generations))
	seen := make(map[string]bool, len(f.Generations))
	for i, kj := range f.Generations {
		if !validID(kj.ID) {
			return nil, fmt.Errorf("generation %d has an invalid id %q", i, kj.ID)
		}
		if seen[kj.ID] {
			return nil, fmt.Errorf("generation id %q appears twice", kj.ID)
		}
		seen[kj.ID] = true
		if len(kj.Key) != keySize {
			return nil, fmt.Errorf("generation %q has a key of %d bytes; want %d", kj.ID, len(kj.Key), keySize)
		}
		g, err := makeGeneration(kj.ID, kj.Key, kj.Created)
		if err != nil {
			return nil, fmt.Errorf("generation %q: %w", kj.ID, err)
		}
		gens = append(gens, g)
	}
	return gens, nil
}

// validID accepts the ids newGeneration makes and any other short printable
// token, so that an operator may name a generation by hand.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func encodeKeyFile(gens []*generation) []byte {
	f := keyFile{Format: fileFormat, Generations: make([]keyJSON, len(gens))}
	for i, g := range gens {
		f.Generations[i] = keyJSON{ID: g.id, Key: g.key, Created: g.created}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic(err) // the types above always marshal
	}
	return append(b, '\n')
}

// tempPrefix starts the names of the temporary files a key file is written
// through, next to it.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// writeKeyFile replaces the key file atomically: a temporary file in the same
// directory is written and synced, renamed over the old one, and the
// directory synced. A crash at any point leaves the old file or the new one,
// never a mix.
func writeKeyFile(path string, gens []*generation) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return fmt.Errorf("keyring: write key file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("keyring: write key file: %w", err)
	}
	if _, err = f.Write(encodeKeyFile(gens)); err != nil {
		return fmt.Errorf("keyring: write key file: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("keyring: sync key file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("keyring: write key file: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("keyring: replace key file: %w", err)
	}
	if err = syncDir(dir); err != nil {
		return fmt.Errorf("keyring: sync key file directory: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeTemps deletes temporary files a crash left behind while the key file
// was being replaced; the key file itself is whole either way.
func removeTemps(path string) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return
	}
	prefix := tempPrefix(path)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			_ = os.Remove(filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
}
