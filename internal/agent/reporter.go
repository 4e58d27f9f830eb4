package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/agentapi"
)

// reporter sends task states to the server in order, one at a time, each
// with a fresh sequence number, retrying until the server acknowledges it.
// Only the latest unsent state of a task is kept: a task's reports never
// overtake each other.
type reporter struct {
	client *agentapi.Client
	local  *localStore
	log    *slog.Logger

	mu      sync.Mutex
	order   []string // task ARNs with a pending state, oldest first
	pending map[string]agentapi.TaskState
	acked   map[string]chan struct{} // closed once a task's STOPPED state is delivered
	wake    chan struct{}
}

func newReporter(c *agentapi.Client, l *localStore, log *slog.Logger) *reporter {
	return &reporter{client: c, local: l, log: log, pending: map[string]agentapi.TaskState{}, acked: map[string]chan struct{}{}, wake: make(chan struct{}, 1)}
}

// send queues the latest state of a task.
func (r *reporter) send(s agentapi.TaskState) {
	r.mu.Lock()
	if _, queued := r.pending[s.TaskARN]; !queued {
		r.order = append(r.order, s.TaskARN)
	}
	r.pending[s.TaskARN] = s
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// stoppedAcked returns a channel closed once the server has acknowledged
// (or definitively refused) a STOPPED state of the task.
func (r *reporter) stoppedAcked(arn string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch, ok := r.acked[arn]
	if !ok {
		ch = make(chan struct{})
		r.acked[arn] = ch
	}
	return ch
}

func (r *reporter) delivered(s agentapi.TaskState) {
	if s.LastStatus != statusStopped {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ch, ok := r.acked[s.TaskARN]
	if !ok {
		ch = make(chan struct{})
		r.acked[s.TaskARN] = ch
	}
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func (r *reporter) next() (agentapi.TaskState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.order) == 0 {
		return agentapi.TaskState{}, false
	}
	arn := r.order[0]
	r.order = r.order[1:]
	s := r.pending[arn]
	delete(r.pending, arn)
	return s, true
}

// requeue puts a state that failed to send back at the front, unless a newer
// state of the task was queued meanwhile.
func (r *reporter) requeue(s agentapi.TaskState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, newer := r.pending[s.TaskARN]; newer {
		return
	}
	r.pending[s.TaskARN] = s
	r.order = append([]string{s.TaskARN}, r.order...)
}

func (r *reporter) run(ctx context.Context) {
	backoff := 500 * time.Millisecond
	for {
		s, ok := r.next()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
				continue
			}
		}
		seq, err := r.local.nextSeq()
		if err == nil {
			err = r.client.Report(ctx, agentapi.ReportRequest{Seq: seq, Task: s})
		}
		var se *agentapi.StatusError
		switch {
		case err == nil:
			backoff = 500 * time.Millisecond
			r.delivered(s)
		case errors.As(err, &se) && (se.Status == 404 || se.Status == 400):
			r.log.Warn("report refused", "task_arn", s.TaskARN, "err", err)
			r.delivered(s)
		default:
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("report failed; retrying", "task_arn", s.TaskARN, "err", err, "in", backoff)
			r.requeue(s)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		}
	}
}
