package ssm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/state"
)

// The package's documents in the state store, all under the namespace
// "ssm", then account and region:
//
//	ssm, account, region, "p", name           one per parameter (paramDoc)
//	ssm, account, region, "v", name, version  one per version (versionDoc)
//
// name is canonical (see canonical), so a key-order scan of the "p" prefix
// lists a tenancy's parameters by name, and one of a name's "v" prefix its
// versions in order.
const namespace = "ssm"

const (
	kindParam   = "p"
	kindVersion = "v"
)

func headKey(account, region, name string) string {
	return state.Key(namespace, account, region, kindParam, name)
}

func headPrefix(account, region string) string {
	return state.KeyPrefix(namespace, account, region, kindParam)
}

func versionKey(account, region, name string, version int64) string {
	return state.Key(namespace, account, region, kindVersion, name, fmt.Sprintf("%019d", version))
}

func versionPrefix(account, region, name string) string {
	return state.KeyPrefix(namespace, account, region, kindVersion, name)
}

// paramDoc is a parameter: its latest version, labels and tags. The versions
// are documents of their own.
type paramDoc struct {
	Name    string           `json:"name"`
	Version int64            `json:"version"`
	Labels  map[string]int64 `json:"labels,omitempty"`
	Tags    []tagDoc         `json:"tags,omitempty"` // sorted by key
}

type tagDoc struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// labelsOf lists the labels on version v, sorted.
func (p *paramDoc) labelsOf(v int64) []string {
	var out []string
	for l, lv := range p.Labels {
		if lv == v {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// versionDoc is one version of a parameter. A SecureString value is only
// ever stored sealed; String and StringList values are stored as they are.
type versionDoc struct {
	Version        int64             `json:"version"`
	Type           string            `json:"type"`
	Value          string            `json:"value,omitempty"`
	Sealed         *keyring.Envelope `json:"sealed,omitempty"`
	Description    string            `json:"description,omitempty"`
	AllowedPattern string            `json:"allowedPattern,omitempty"`
	KeyID          string            `json:"keyId,omitempty"`
	Tier           string            `json:"tier"`
	DataType       string            `json:"dataType"`
	Modified       int64             `json:"modified"` // Unix milliseconds
	User           string            `json:"user"`
}

// head is a loaded parameter document.
type head struct {
	doc *state.Doc
	paramDoc
}

// version is a loaded version document.
type version struct {
	doc *state.Doc
	versionDoc
}

func loadHead(snap *state.Snapshot, account, region, name string) (*head, error) {
	d := snap.Doc(headKey(account, region, name))
	if d == nil {
		return nil, nil
	}
	return decodeHead(d)
}

func decodeHead(d *state.Doc) (*head, error) {
	h := &head{doc: d}
	if err := json.Unmarshal(d.Value, &h.paramDoc); err != nil {
		return nil, fmt.Errorf("ssm: document %q: %w", d.ID, err)
	}
	return h, nil
}

func loadVersion(snap *state.Snapshot, account, region, name string, v int64) (*version, error) {
	d := snap.Doc(versionKey(account, region, name, v))
	if d == nil {
		return nil, nil
	}
	return decodeVersion(d)
}

func decodeVersion(d *state.Doc) (*version, error) {
	ver := &version{doc: d}
	if err := json.Unmarshal(d.Value, &ver.versionDoc); err != nil {
		return nil, fmt.Errorf("ssm: document %q: %w", d.ID, err)
	}
	return ver, nil
}

// loadVersions returns all stored versions of a parameter, oldest first.
func loadVersions(snap *state.Snapshot, account, region, name string) ([]*version, error) {
	var out []*version
	for d := range snap.Docs(nil, versionPrefix(account, region, name), "") {
		v, err := decodeVersion(d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the document types always marshal
	}
	return b
}

// writeDocs applies ops atomically.
func (a *API) writeDocs(ctx context.Context, ops []state.DocOp) error {
	_, err := state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: ops})
	return err
}

// deleteOps are the operations that delete a parameter and all its versions,
// on the condition that it is still as read.
func deleteOps(snap *state.Snapshot, account, region string, h *head) []state.DocOp {
	ops := []state.DocOp{{Key: h.doc.ID, Delete: true, IfIndex: h.doc.ModifyIndex}}
	for d := range snap.Docs(nil, versionPrefix(account, region, h.Name), "") {
		ops = append(ops, state.DocOp{Key: d.ID, Delete: true})
	}
	return ops
}

// rewrapBatch bounds the documents one re-wrap command rewrites.
const rewrapBatch = 64

// RewrapAll rewrites every sealed SecureString value with rewrap, across all
// tenancies, and returns when all of them are wrapped by the keyring's
// current generation. It implements keyring.Holder.
func (a *API) RewrapAll(ctx context.Context, rewrap func(keyring.Envelope) (keyring.Envelope, bool, error)) error {
	// Writes that sealed under an older generation and have not committed
	// yet hold sealMu; wait for them, so that the scan below sees their
	// envelopes.
	a.sealMu.Lock()
	//lint:ignore SA2001 the empty critical section is the barrier
	a.sealMu.Unlock()

	total := 0
	for {
		n, conflicts, err := a.rewrapPass(ctx, rewrap)
		total += n
		if err != nil {
			return err
		}
		if !conflicts {
			a.log.Info("re-wrapped SecureString values under the current master key generation", "values", total)
			return nil
		}
	}
}

// rewrapPass re-wraps what one scan finds; it returns how many values it
// rewrote and whether a concurrent write got in the way of some batch, which
// then needs another pass.
func (a *API) rewrapPass(ctx context.Context, rewrap func(keyring.Envelope) (keyring.Envelope, bool, error)) (written int, conflicts bool, err error) {
	var ops []state.DocOp
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		err := a.writeDocs(ctx, ops)
		n := len(ops)
		ops = ops[:0]
		if e, ok := errdefs.As(err); ok && errors.Is(e, errdefs.ErrConflict) && e.Reason == state.ReasonPrecondition {
			conflicts = true
			return nil
		}
		if err == nil {
			written += n
		}
		return err
	}
	for d := range a.store.Snapshot().Docs(nil, state.KeyPrefix(namespace), "") {
		if err := ctx.Err(); err != nil {
			return written, false, err
		}
		if parts := state.KeyParts(d.ID); len(parts) != 6 || parts[3] != kindVersion || !strings.Contains(string(d.Value), `"sealed"`) {
			continue
		}
		v, err := decodeVersion(d)
		if err != nil {
			return written, false, err
		}
		if v.Sealed == nil {
			continue
		}
		env, changed, err := rewrap(*v.Sealed)
		if errors.Is(err, keyring.ErrDecrypt) {
			// No generation opens it (it was damaged in the store): it is
			// lost either way, and must not hold up the rotation.
			parts := state.KeyParts(d.ID)
			a.log.Error("a stored SecureString value does not decrypt and cannot be re-wrapped", "account", parts[1], "region", parts[2], "parameter", parts[4], "version", v.Version, "err", err)
			continue
		}
		if err != nil {
			return written, false, fmt.Errorf("ssm: re-wrap %q: %w", d.ID, err)
		}
		if !changed {
			continue
		}
		v.Sealed = &env
		ops = append(ops, state.DocOp{Key: d.ID, Value: mustJSON(v.versionDoc), IfIndex: d.ModifyIndex})
		if len(ops) == rewrapBatch {
			if err := flush(); err != nil {
				return written, false, err
			}
		}
	}
	if err := flush(); err != nil {
		return written, false, err
	}
	return written, conflicts, nil
}
