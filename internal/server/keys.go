package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/sigv4"
	"github.com/berthhq/berth/internal/state"
)

// accessKeys keeps access key secrets sealed by the keyring in the state,
// and opens them for signature checks (cached by the key's ModifyIndex).
type accessKeys struct {
	store *state.Store
	kr    *keyring.Keyring
	cache sync.Map // id -> cachedSecret
}

type cachedSecret struct {
	index  uint64
	secret string
}

var _ keyring.Holder = (*accessKeys)(nil)

func accessKeyAAD(id string) []byte { return []byte("berth/access-key\x00" + id) }

// seal seals a secret for access key id.
func (k *accessKeys) seal(id, secret string) (json.RawMessage, error) {
	env, err := k.kr.Seal([]byte(secret), accessKeyAAD(id))
	if err != nil {
		return nil, err
	}
	return json.Marshal(env)
}

// secret opens an access key's secret.
func (k *accessKeys) secret(ak *state.AccessKey) (string, error) {
	if len(ak.SealedSecret) == 0 {
		return ak.SecretAccessKey, nil
	}
	if c, ok := k.cache.Load(ak.ID); ok && c.(cachedSecret).index == ak.ModifyIndex {
		return c.(cachedSecret).secret, nil
	}
	var env keyring.Envelope
	if err := json.Unmarshal(ak.SealedSecret, &env); err != nil {
		return "", fmt.Errorf("access key %s: sealed secret: %w", ak.ID, err)
	}
	b, err := k.kr.Open(env, accessKeyAAD(ak.ID))
	if err != nil {
		return "", fmt.Errorf("access key %s: %w", ak.ID, err)
	}
	k.cache.Store(ak.ID, cachedSecret{index: ak.ModifyIndex, secret: string(b)})
	return string(b), nil
}

// lookup is the signature verifier's key lookup.
func (k *accessKeys) lookup(_ context.Context, id string) (sigv4.Credentials, error) {
	ak := k.store.Snapshot().AccessKey(id)
	if ak == nil || ak.Status != "Active" {
		return sigv4.Credentials{}, sigv4.ErrKeyNotFound
	}
	secret, err := k.secret(ak)
	if err != nil {
		return sigv4.Credentials{}, err
	}
	return sigv4.Credentials{
		AccessKeyID: ak.ID, SecretAccessKey: secret,
		Account: ak.Account, PrincipalARN: ak.PrincipalARN, UserID: ak.UserID,
	}, nil
}

// sealPlain seals the secrets of keys stored before secrets were sealed.
func (k *accessKeys) sealPlain(ctx context.Context) error {
	for ak := range k.store.Snapshot().AccessKeys() {
		if len(ak.SealedSecret) > 0 {
			continue
		}
		sealed, err := k.seal(ak.ID, ak.SecretAccessKey)
		if err != nil {
			return err
		}
		if _, err := k.store.Apply(ctx, &state.SealAccessKey{ID: ak.ID, Sealed: sealed, ModifyIndex: ak.ModifyIndex}); err != nil {
			return fmt.Errorf("seal access key %s: %w", ak.ID, err)
		}
	}
	return nil
}

// RewrapAll re-wraps every sealed secret under the keyring's current master
// key generation: the access keys' and the registry token key.
func (k *accessKeys) RewrapAll(ctx context.Context, rewrap func(keyring.Envelope) (keyring.Envelope, bool, error)) error {
	for {
		conflicted := false
		for ak := range k.store.Snapshot().AccessKeys() {
			if len(ak.SealedSecret) == 0 {
				continue
			}
			var env keyring.Envelope
			if err := json.Unmarshal(ak.SealedSecret, &env); err != nil {
				return fmt.Errorf("access key %s: sealed secret: %w", ak.ID, err)
			}
			n, changed, err := rewrap(env)
			if err != nil {
				return fmt.Errorf("access key %s: %w", ak.ID, err)
			}
			if !changed {
				continue
			}
			b, err := json.Marshal(n)
			if err != nil {
				return err
			}
			_, err = k.store.Apply(ctx, &state.SealAccessKey{ID: ak.ID, Sealed: b, ModifyIndex: ak.ModifyIndex})
			if errors.Is(err, errdefs.ErrConflict) {
				conflicted = true
				continue
			}
			if err != nil {
				return err
			}
		}
		if !conflicted {
			return k.rewrapMeta(ctx, rewrap)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// metaRegistryTokenKey holds the registry's token signing key, sealed.
const metaRegistryTokenKey = "registry-token-key"

// registryTokenKey returns the key that signs registry tokens: made once,
// kept sealed in the state so that tokens outlive restarts.
func registryTokenKey(ctx context.Context, store *state.Store, kr *keyring.Keyring) ([]byte, error) {
	aad := []byte("berth/registry-token-key")
	m := store.Snapshot().Meta(metaRegistryTokenKey)
	if m == nil {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		env, err := kr.Seal(key, aad)
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(env)
		m, err = state.Do[*state.Meta](ctx, store, &state.PutMeta{ID: metaRegistryTokenKey, Value: string(b), IfAbsent: true})
		if err != nil {
			return nil, fmt.Errorf("server: store the registry token key: %w", err)
		}
	}
	var env keyring.Envelope
	if err := json.Unmarshal([]byte(m.Value), &env); err != nil {
		return nil, fmt.Errorf("server: registry token key: %w", err)
	}
	key, err := kr.Open(env, aad)
	if err != nil {
		return nil, fmt.Errorf("server: open the registry token key: %w", err)
	}
	return key, nil
}

// rewrapMeta re-wraps the sealed values kept in meta records.
func (k *accessKeys) rewrapMeta(ctx context.Context, rewrap func(keyring.Envelope) (keyring.Envelope, bool, error)) error {
	m := k.store.Snapshot().Meta(metaRegistryTokenKey)
	if m == nil {
		return nil
	}
	var env keyring.Envelope
	if err := json.Unmarshal([]byte(m.Value), &env); err != nil {
		return fmt.Errorf("registry token key: %w", err)
	}
	n, changed, err := rewrap(env)
	if err != nil || !changed {
		return err
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = k.store.Apply(ctx, &state.PutMeta{ID: metaRegistryTokenKey, Value: string(b)})
	return err
}
