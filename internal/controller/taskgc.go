// Package controller holds Berth's reconcile loops. They run on the raft
// leader only, each in a context that ends when leadership does.
package controller

import (
	"context"
	"log/slog"
	"time"

	"github.com/berthhq/berth/internal/state"
)

// TaskGC forgets STOPPED tasks once they have been visible for Retention,
// as ECS keeps stopped tasks describable for at least an hour, and RunTask
// client tokens and deleted (INACTIVE) services after the same time.
type TaskGC struct {
	Store     *state.Store
	Retention time.Duration
	Interval  time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

// Run collects until ctx ends.
func (g *TaskGC) Run(ctx context.Context) error {
	if g.Interval == 0 {
		g.Interval = time.Minute
	}
	if g.Now == nil {
		g.Now = time.Now
	}
	log := g.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(g.Interval)
	defer t.Stop()
	for {
		if g.Store.IsLeader() {
			snap := g.Store.Snapshot()
			for _, key := range Expired(snap, g.Now(), g.Retention) {
				if _, err := g.Store.Apply(ctx, &state.DeleteTask{TaskKey: key}); err != nil && ctx.Err() == nil {
					log.Warn("forget stopped task", "component", "taskgc", "err", err)
				}
			}
			for svc := range snap.AllServices(nil) {
				if svc.Status != state.ServiceInactive || g.Now().Sub(svc.InactiveAt) <= g.Retention {
					continue
				}
				if _, err := g.Store.Apply(ctx, &state.DeleteService{ServiceKey: svc.ID}); err != nil && ctx.Err() == nil {
					log.Warn("forget deleted service", "component", "taskgc", "service", svc.Name, "err", err)
				}
			}
			for tok := range snap.ClientTokens() {
				if g.Now().Sub(tok.CreatedAt) <= g.Retention {
					continue
				}
				if _, err := g.Store.Apply(ctx, &state.DeleteClientToken{ID: tok.ID}); err != nil && ctx.Err() == nil {
					log.Warn("forget client token", "component", "taskgc", "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Expired returns the keys of STOPPED tasks stopped before now - retention.
func Expired(snap *state.Snapshot, now time.Time, retention time.Duration) []string {
	var keys []string
	for t := range snap.AllTasks() {
		if t.LastStatus == state.TaskStopped && !t.StoppedAt.IsZero() && now.Sub(t.StoppedAt) > retention {
			keys = append(keys, t.ID)
		}
	}
	return keys
}
