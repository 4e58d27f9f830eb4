package keyring

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Holder stores envelopes. RewrapAll rewrites each of its envelopes with
// rewrap (durably, with optimistic concurrency), and returns when all are
// current: every envelope it stored before the call, and every one sealed
// by a write that was in flight when the call began.
type Holder interface {
	RewrapAll(ctx context.Context, rewrap func(Envelope) (Envelope, bool, error)) error
}

// maxBackoff bounds Run's wait between failed passes.
const maxBackoff = time.Minute

// Run re-wraps in the background: whenever the key file holds generations
// older than the current one (after Rotate, or at start after a crash
// midway), it calls every holder's RewrapAll, then retires the old
// generations from the key file. Until then the old generations keep opening
// what they wrapped, so no read fails meanwhile. A failed pass is retried
// with backoff. Run returns nil when ctx is cancelled.
func (k *Keyring) Run(ctx context.Context, holders ...Holder) error {
	backoff := k.backoff
	for {
		if cur, old := k.pending(); old {
			err := k.converge(ctx, cur, holders)
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				backoff = k.backoff
				continue // a Rotate during the pass may have left more to do
			}
			k.log.Error("re-wrapping under the current master key generation failed; will retry", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-k.wake:
		}
	}
}

// pending returns the current generation and whether older ones remain in
// the key file.
func (k *Keyring) pending() (cur string, old bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.gens[len(k.gens)-1].id, len(k.gens) > 1
}

// converge has every holder re-wrap, then retires the generations older than
// cur, the generation that was current when the pass began: every envelope
// is then wrapped by cur or a newer one.
func (k *Keyring) converge(ctx context.Context, cur string, holders []Holder) error {
	start := time.Now()
	for i, h := range holders {
		if err := h.RewrapAll(ctx, k.Rewrap); err != nil {
			return fmt.Errorf("holder %d (%T): %w", i, h, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := k.retireBefore(cur)
	if err != nil {
		return err
	}
	if n > 0 {
		k.log.Info("re-wrapped every envelope and retired old master key generations", "generation", cur, "retired", n, "took", time.Since(start))
	}
	return nil
}

// retireBefore removes the generations older than id from the key file
// (durably), and keeps them in memory for the grace period.
func (k *Keyring) retireBefore(id string) (int, error) {
	k.fileMu.Lock()
	defer k.fileMu.Unlock()
	k.mu.RLock()
	gens := slices.Clone(k.gens)
	k.mu.RUnlock()
	i := slices.IndexFunc(gens, func(g *generation) bool { return g.id == id })
	if i <= 0 {
		return 0, nil
	}
	if err := writeKeyFile(k.path, gens[i:]); err != nil {
		return 0, err
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	maps.DeleteFunc(k.retired, func(_ string, r retiredGen) bool { return !now.Before(r.until) })
	for _, g := range gens[:i] {
		k.retired[g.id] = retiredGen{g: g, until: now.Add(k.grace)}
	}
	k.gens = gens[i:]
	return i, nil
}
