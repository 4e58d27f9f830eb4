package state

import (
	"encoding/json"
	"iter"

	"github.com/berthhq/berth/internal/errdefs"
)

func init() {
	register(func() Command { return new(CreateAccessKey) })
	register(func() Command { return new(PutMeta) })
	register(func() Command { return new(SealAccessKey) })
}

// SealAccessKey replaces an access key's secret by its sealed form (or a
// sealed form by one re-wrapped under a newer master key) if the key has not
// changed since ModifyIndex.
type SealAccessKey struct {
	ID          string
	Sealed      json.RawMessage
	ModifyIndex uint64
}

func (*SealAccessKey) commandName() string { return "SealAccessKey" }

func (c *SealAccessKey) apply(tx *txn) (any, error) {
	old, err := first[AccessKey](tx.Txn, tableAccessKeys, c.ID)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "access-key", "access key %s does not exist", c.ID)
	}
	if old.ModifyIndex != c.ModifyIndex {
		return nil, errdefs.New(errdefs.ErrConflict, "access-key", "access key %s changed concurrently", c.ID)
	}
	k := *old
	k.SecretAccessKey, k.SealedSecret = "", c.Sealed
	k.ModifyIndex = tx.index
	return &k, tx.put(tableAccessKeys, &k)
}

// AccessKeys yields every access key.
func (s *Snapshot) AccessKeys() iter.Seq[*AccessKey] {
	return scan[AccessKey](s, nil, tableAccessKeys, "", "")
}

// CreateAccessKey stores a new access key.
type CreateAccessKey struct{ Key *AccessKey }

func (*CreateAccessKey) commandName() string { return "CreateAccessKey" }

func (c *CreateAccessKey) apply(tx *txn) (any, error) {
	old, err := first[AccessKey](tx.Txn, tableAccessKeys, c.Key.ID)
	if err != nil {
		return nil, err
	}
	if old != nil {
		return nil, errdefs.New(errdefs.ErrAlreadyExists, "access-key", "access key %s already exists", c.Key.ID)
	}
	k := *c.Key
	k.CreateIndex, k.ModifyIndex = tx.index, tx.index
	return &k, tx.put(tableAccessKeys, &k)
}

// PutMeta sets a meta value. With IfAbsent, an existing value is kept and
// returned instead: the first writer wins, which makes bootstrap steps safe
// to race or repeat.
type PutMeta struct {
	ID, Value string
	IfAbsent  bool
}

func (*PutMeta) commandName() string { return "PutMeta" }

func (c *PutMeta) apply(tx *txn) (any, error) {
	old, err := first[Meta](tx.Txn, tableMeta, c.ID)
	if err != nil {
		return nil, err
	}
	if old != nil && c.IfAbsent {
		return old, nil
	}
	m := &Meta{ID: c.ID, Value: c.Value, CreateIndex: tx.index, ModifyIndex: tx.index}
	if old != nil {
		m.CreateIndex = old.CreateIndex
	}
	return m, tx.put(tableMeta, m)
}

// Meta IDs the server uses.
const (
	MetaRootAccessKey = "root-access-key"
	MetaJoinTokenHash = "join-token-sha256"
)

func init() { register(func() Command { return new(Bootstrap) }) }

// Bootstrap creates the root access key of the default account and records
// the agent join token's hash, once. When the server was bootstrapped before,
// it changes nothing and returns the existing root key: the first bootstrap
// wins, so a crash between steps or a repeat is harmless.
type Bootstrap struct {
	RootKey       *AccessKey
	JoinTokenHash string
}

func (*Bootstrap) commandName() string { return "Bootstrap" }

func (c *Bootstrap) apply(tx *txn) (any, error) {
	m, err := first[Meta](tx.Txn, tableMeta, MetaRootAccessKey)
	if err != nil {
		return nil, err
	}
	if m != nil {
		k, err := first[AccessKey](tx.Txn, tableAccessKeys, m.Value)
		if err != nil {
			return nil, err
		}
		if k == nil {
			return nil, errdefs.New(errdefs.ErrNotFound, "access-key", "root access key %s is missing", m.Value)
		}
		return k, nil
	}
	k := *c.RootKey
	k.CreateIndex, k.ModifyIndex = tx.index, tx.index
	if err := tx.put(tableAccessKeys, &k); err != nil {
		return nil, err
	}
	for id, v := range map[string]string{MetaRootAccessKey: k.ID, MetaJoinTokenHash: c.JoinTokenHash} {
		if err := tx.put(tableMeta, &Meta{ID: id, Value: v, CreateIndex: tx.index, ModifyIndex: tx.index}); err != nil {
			return nil, err
		}
	}
	return &k, nil
}
