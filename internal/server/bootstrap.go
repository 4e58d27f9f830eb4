package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/state"
)

// File names in the data directory.
const (
	CredentialsFile = "credentials"
	JoinTokenFile   = "join-token"
)

// bootstrap makes sure the state has a root access key and the data dir has
// the credentials and join-token files that match it. The state is written
// first; the files are derived from it, so a crash in between is repaired on
// the next start.
func bootstrap(ctx context.Context, store *state.Store, keys *accessKeys, dataDir, account, caFingerprint string) (*Credentials, error) {
	token, err := readOrCreateToken(filepath.Join(dataDir, JoinTokenFile), caFingerprint)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(token))
	tokenHash := hex.EncodeToString(sum[:])

	id := newAccessKeyID()
	sealed, err := keys.seal(id, newSecret())
	if err != nil {
		return nil, fmt.Errorf("server: seal the root access key: %w", err)
	}
	root, err := state.Do[*state.AccessKey](ctx, store, &state.Bootstrap{
		RootKey: &state.AccessKey{
			ID:           id,
			SealedSecret: sealed,
			Account:      account,
			PrincipalARN: "arn:aws:iam::" + account + ":root",
			UserID:       account,
			Status:       "Active",
			CreatedAt:    time.Now().UTC(),
		},
		JoinTokenHash: tokenHash,
	})
	if err != nil {
		return nil, fmt.Errorf("server: bootstrap: %w", err)
	}
	if m := store.Snapshot().Meta(state.MetaJoinTokenHash); m == nil || m.Value != tokenHash {
		// The token file was replaced or recreated: it is the one that counts.
		if _, err := store.Apply(ctx, &state.PutMeta{ID: state.MetaJoinTokenHash, Value: tokenHash}); err != nil {
			return nil, fmt.Errorf("server: record join token: %w", err)
		}
	}
	// Keys stored in plain text by an older version are sealed now.
	if err := keys.sealPlain(ctx); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	secret, err := keys.secret(store.Snapshot().AccessKey(root.ID))
	if err != nil {
		return nil, fmt.Errorf("server: open the root access key (is this the data dir's master key?): %w", err)
	}
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", root.ID, secret)
	path := filepath.Join(dataDir, CredentialsFile)
	if old, err := os.ReadFile(path); err != nil || string(old) != creds {
		if err := writeFileAtomic(path, []byte(creds)); err != nil {
			return nil, fmt.Errorf("server: write credentials: %w", err)
		}
	}
	return &Credentials{AccessKeyID: root.ID, SecretAccessKey: secret}, nil
}

// readOrCreateToken returns the secret of the join token file, creating it
// on first start. The file holds the token as agents take it: the secret,
// then the fingerprint of the CA that agents pin (agentapi.ParseJoinToken).
// A file of an older version, or one that names another CA, is rewritten;
// the secret stays.
func readOrCreateToken(path, caFingerprint string) (string, error) {
	secret := ""
	b, err := os.ReadFile(path)
	if err == nil {
		secret, _ = agentapi.ParseJoinToken(strings.TrimSpace(string(b)))
	} else if !os.IsNotExist(err) {
		return "", fmt.Errorf("server: read join token: %w", err)
	}
	if secret == "" {
		var raw [32]byte
		_, _ = rand.Read(raw[:])
		secret = "berth-join-" + hex.EncodeToString(raw[:])
	}
	want := agentapi.JoinToken(secret, caFingerprint) + "\n"
	if string(b) != want {
		if err := writeFileAtomic(path, []byte(want)); err != nil {
			return "", fmt.Errorf("server: write join token: %w", err)
		}
	}
	return secret, nil
}

// writeFileAtomic writes data to path with mode 0600 so that readers see the
// old file or the whole new one, and the new one survives a crash.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// newAccessKeyID returns an id shaped like AWS's long-term keys: AKIA and 16
// characters of base32.
func newAccessKeyID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "AKIA" + base32.StdEncoding.EncodeToString(b[:])[:16]
}

// newSecret returns a 40-character secret access key.
func newSecret() string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
