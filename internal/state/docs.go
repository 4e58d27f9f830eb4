package state

import (
	"encoding/json"
	"iter"
	"strings"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/errdefs"
)

// Doc is one JSON document of a service that keeps its own schema (SSM
// parameters, secrets, repositories, load balancers, ...). Its key is built
// with Key: the first part names the owning package's namespace, then the
// tenancy and the package's own parts, so that prefix scans list a
// tenancy's documents of one kind in key order.
type Doc struct {
	ID    string
	Value json.RawMessage

	CreateIndex uint64
	ModifyIndex uint64
}

// ReasonPrecondition marks the ErrConflict of a document operation whose
// precondition did not hold; Error.Message names the key.
const ReasonPrecondition = "precondition"

// DocOp is one write of a WriteDocs command: a put, or a delete when Delete
// is set. Preconditions, checked against the state the command applies to:
// IfAbsent requires that no document has the key; IfIndex, when not zero,
// requires that the document exists with that ModifyIndex. A delete of an
// absent document without preconditions is a no-op.
type DocOp struct {
	Key      string
	Value    json.RawMessage `json:",omitempty"`
	Delete   bool            `json:",omitempty"`
	IfAbsent bool            `json:",omitempty"`
	IfIndex  uint64          `json:",omitempty"`
}

// WriteDocs applies document operations atomically: all of them or, when a
// precondition fails, none (ErrConflict with ReasonPrecondition). It returns
// the documents written, in the order of the puts.
type WriteDocs struct{ Ops []DocOp }

func init() { register(func() Command { return new(WriteDocs) }) }

func (*WriteDocs) commandName() string { return "WriteDocs" }

func (c *WriteDocs) apply(tx *txn) (any, error) {
	var out []*Doc
	for _, op := range c.Ops {
		old, err := first[Doc](tx.Txn, tableDocs, op.Key)
		if err != nil {
			return nil, err
		}
		if (op.IfAbsent && old != nil) || (op.IfIndex != 0 && (old == nil || old.ModifyIndex != op.IfIndex)) {
			return nil, errdefs.New(errdefs.ErrConflict, "document", "%s", op.Key).WithReason(ReasonPrecondition)
		}
		if op.Delete {
			if old != nil {
				if err := tx.remove(tableDocs, old); err != nil {
					return nil, err
				}
			}
			continue
		}
		d := &Doc{ID: op.Key, Value: op.Value, CreateIndex: tx.index, ModifyIndex: tx.index}
		if old != nil {
			d.CreateIndex = old.CreateIndex
		}
		if err := tx.put(tableDocs, d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Doc returns the document with key, or nil.
func (s *Snapshot) Doc(key string) *Doc { return get[Doc](s, nil, tableDocs, key) }

// Docs yields the documents whose key starts with prefix, in key order,
// after the key after (when not empty), adding the scan to ws when ws is
// not nil.
func (s *Snapshot) Docs(ws memdb.WatchSet, prefix, after string) iter.Seq[*Doc] {
	return scan[Doc](s, ws, tableDocs, prefix, after)
}

// DocsIndex is the last raft index that changed any document, added to ws
// when not nil.
func (s *Snapshot) DocsIndex(ws memdb.WatchSet) uint64 { return s.Index(ws, tableDocs) }

// KeyPrefix is Key(parts...) followed by the separator, the prefix of every
// key that extends parts.
func KeyPrefix(parts ...string) string { return Key(parts...) + "\x00" }

// KeyParts splits a key built with Key into its parts.
func KeyParts(key string) []string { return strings.Split(key, "\x00") }
