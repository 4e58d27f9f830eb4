package secretsmanager

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/state"
)

// Run purges, every PurgeInterval, the secrets whose recovery window has
// passed (by the configured clock). It blocks until ctx ends and then
// returns nil. Writes need the raft leader: run it where the other leader
// loops run; elsewhere its passes fail quietly until leadership comes.
func (a *API) Run(ctx context.Context) error {
	t := time.NewTicker(a.purgeInterval)
	defer t.Stop()
	for {
		if _, err := a.Purge(ctx); err != nil && ctx.Err() == nil {
			if errors.Is(err, errdefs.ErrUnavailable) {
				a.log.Debug("purge pass skipped", "err", err)
			} else {
				a.log.Warn("purge pass failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Purge deletes, with all their versions, the secrets of every tenancy
// whose deletion date has passed, and returns how many. A secret changed
// meanwhile (restored, say) is left for the next pass.
func (a *API) Purge(ctx context.Context) (int, error) {
	now := a.now()
	snap := a.store.Snapshot()
	n := 0
	// Each tenancy's secret documents come before its value documents
	// ("secret" < "value"): at the first value document, skip to the next
	// tenancy.
	for after, more := "", true; more; {
		more = false
		for d := range snap.Docs(nil, state.KeyPrefix(ns), after) {
			parts := state.KeyParts(d.ID)
			if len(parts) < 4 || parts[3] != kindSecret {
				if len(parts) >= 4 {
					after, more = state.Key(parts[:4]...)+"\x01", true
					break
				}
				continue
			}
			s, err := decodeSecret(d)
			if err != nil {
				return n, err
			}
			if !s.deleted() || s.Deletion.After(now) {
				continue
			}
			err = a.purge(ctx, snap, s)
			if errors.Is(err, errdefs.ErrConflict) {
				continue
			}
			if err != nil {
				return n, err
			}
			n++
			a.log.Info("secret purged after its recovery window", "secret", s.ARN)
		}
	}
	return n, nil
}

// RewrapAll passes every stored envelope to rewrap and stores what it
// returns when it changed, each write conditional on the envelope being the
// one read; a version written or removed meanwhile is read again or
// skipped. It first waits for the writes that sealed a value before the
// call to commit, so that their envelopes are in the pass. It implements
// keyring.Holder.
func (a *API) RewrapAll(ctx context.Context, rewrap func(keyring.Envelope) (keyring.Envelope, bool, error)) error {
	a.sealMu.Lock()
	//lint:ignore SA2001 an empty critical section is the barrier: it waits for the writers that hold the read lock.
	a.sealMu.Unlock()
	snap := a.store.Snapshot()
	n := 0
	for d := range snap.Docs(nil, state.KeyPrefix(ns), "") {
		if err := ctx.Err(); err != nil {
			return err
		}
		if parts := state.KeyParts(d.ID); len(parts) < 4 || parts[3] != kindValue {
			continue
		}
		changed, err := a.rewrapDoc(ctx, d, rewrap)
		if err != nil {
			return err
		}
		if changed {
			n++
		}
	}
	a.log.Info("secret values re-wrapped", "count", n)
	return nil
}

// rewrapDoc re-wraps the envelope of one value document, reading it again
// after a conflicting write.
func (a *API) rewrapDoc(ctx context.Context, d *state.Doc, rewrap func(keyring.Envelope) (keyring.Envelope, bool, error)) (bool, error) {
	return retryConflicts(ctx, func() (bool, error) {
		var sv storedValue
		if err := json.Unmarshal(d.Value, &sv); err != nil {
			return false, err
		}
		env, changed, err := rewrap(sv.Envelope)
		if err != nil || !changed {
			return false, err
		}
		sv.Envelope = env
		b, err := json.Marshal(sv)
		if err != nil {
			return false, err
		}
		_, err = state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: []state.DocOp{{Key: d.ID, Value: b, IfIndex: d.ModifyIndex}}})
		if errors.Is(err, errdefs.ErrConflict) {
			if d = a.store.Snapshot().Doc(d.ID); d == nil {
				return false, nil // removed meanwhile
			}
		}
		return err == nil, err
	})
}
