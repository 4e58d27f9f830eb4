package fake

import (
	"context"
	"sync"

	"github.com/berthhq/berth/internal/runtime"
)

// subscriber is one Events stream. Events queue without bound so the engine
// never blocks on a slow reader.
type subscriber struct {
	labels map[string]string
	wake   chan struct{} // capacity 1

	mu    sync.Mutex
	queue []runtime.Event
	err   error
}

func (s *subscriber) push(ev runtime.Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.notify()
}

func (s *subscriber) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	s.notify()
}

func (s *subscriber) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Events streams the events of containers carrying every label in labels,
// from now until ctx ends (both channels then close without an error) or the
// engine restarts (ErrUnavailable).
func (f *Fake) Events(ctx context.Context, labels map[string]string) (<-chan runtime.Event, <-chan error) {
	evs := make(chan runtime.Event)
	errs := make(chan error, 1)
	f.mu.Lock()
	if err := f.up(); err != nil {
		f.mu.Unlock()
		errs <- err
		close(errs)
		close(evs)
		return evs, errs
	}
	s := &subscriber{labels: cloneLabels(labels), wake: make(chan struct{}, 1)}
	f.subs[s] = struct{}{}
	f.mu.Unlock()

	go func() {
		defer close(evs)
		defer close(errs)
		defer func() {
			f.mu.Lock()
			delete(f.subs, s)
			f.mu.Unlock()
		}()
		for {
			s.mu.Lock()
			q, err := s.queue, s.err
			s.queue = nil
			s.mu.Unlock()
			for _, ev := range q {
				select {
				case evs <- ev:
				case <-ctx.Done():
					return
				}
			}
			if len(q) > 0 {
				continue
			}
			if err != nil {
				errs <- err
				return
			}
			select {
			case <-s.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return evs, errs
}

// emit sends ev about c to the matching subscribers.
func (f *Fake) emit(c *container, ev runtime.Event) {
	ev.ContainerID = c.id
	ev.Time = now()
	for s := range f.subs {
		if hasLabels(c.labels, s.labels) {
			ev.Labels = cloneLabels(c.labels)
			s.push(ev)
		}
	}
}
