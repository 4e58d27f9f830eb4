package benchkit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Event is one container event as the engine stamped it.
type Event struct {
	ID     string
	Action string
	Time   time.Time // the engine's timeNano: the neutral observer's clock
	Attrs  map[string]string
}

// EventLog records the engine's events of containers that carry a label,
// from one subscription opened before anything is measured.
type EventLog struct {
	mu      sync.Mutex
	events  []Event
	err     error
	changed chan struct{} // closed and replaced on every new event or error
}

// NewEventLog is an empty log, fed by Add; WatchEvents makes one fed by
// the engine.
func NewEventLog() *EventLog { return &EventLog{changed: make(chan struct{})} }

// WatchEvents subscribes to the container events with the given actions
// of containers labelled label=value, until ctx ends. The subscription
// starts at the client's clock now (Docker's "since"), so no event after
// this call is lost even if the stream connects a moment later.
func WatchEvents(ctx context.Context, cli *client.Client, label, value string, actions ...events.Action) *EventLog {
	l := NewEventLog()
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	f.Add("label", label+"="+value)
	for _, a := range actions {
		f.Add("event", string(a))
	}
	res := cli.Events(ctx, client.EventsListOptions{Since: time.Now().Format(time.RFC3339Nano), Filters: f})
	go func() {
		for {
			select {
			case m := <-res.Messages:
				ev := Event{ID: m.Actor.ID, Action: string(m.Action), Attrs: m.Actor.Attributes}
				if m.TimeNano != 0 {
					ev.Time = time.Unix(0, m.TimeNano)
				} else {
					ev.Time = time.Unix(m.Time, 0)
				}
				l.add(ev, nil)
			case err := <-res.Err:
				if ctx.Err() == nil {
					l.add(Event{}, fmt.Errorf("docker event stream ended: %v", err))
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return l
}

// Add records an event as if the engine had sent it.
func (l *EventLog) Add(ev Event) { l.add(ev, nil) }

func (l *EventLog) add(ev Event, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.err = err
	} else {
		l.events = append(l.events, ev)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// WaitKeys returns, for each key, the first event with action whose key
// (as keyOf gives it) is in keys, once every key has one.
func (l *EventLog) WaitKeys(ctx context.Context, action string, keys []string, keyOf func(Event) string) (map[string]Event, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	for {
		l.mu.Lock()
		got := map[string]Event{}
		for _, ev := range l.events {
			k := keyOf(ev)
			if _, seen := got[k]; ev.Action == action && want[k] && !seen {
				got[k] = ev
			}
		}
		err, changed := l.err, l.changed
		l.mu.Unlock()
		if len(got) == len(want) {
			return got, nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %d %s events (have %d): %w", len(want), action, len(got), ctx.Err())
		case <-changed:
		}
	}
}

// Lookup returns the first event with action for a key, if seen yet.
func (l *EventLog) Lookup(action, key string, keyOf func(Event) string) (Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.events {
		if ev.Action == action && keyOf(ev) == key {
			return ev, true
		}
	}
	return Event{}, false
}

// Collect returns the first event with action of each container that match
// accepts, at or after since, sorted by time.
func (l *EventLog) Collect(action string, since time.Time, match func(Event) bool) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.collectLocked(action, since, match)
}

func (l *EventLog) collectLocked(action string, since time.Time, match func(Event) bool) []Event {
	seen := map[string]bool{}
	var out []Event
	for _, ev := range l.events {
		if ev.Action != action || ev.Time.Before(since) || seen[ev.ID] || !match(ev) {
			continue
		}
		seen[ev.ID] = true
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return out
}

// WaitN waits until n containers that match accepts have an event with
// action at or after since, and returns the first such event of each,
// sorted by time.
func (l *EventLog) WaitN(ctx context.Context, action string, since time.Time, n int, match func(Event) bool) ([]Event, error) {
	for {
		l.mu.Lock()
		got := l.collectLocked(action, since, match)
		err, changed := l.err, l.changed
		l.mu.Unlock()
		if len(got) >= n {
			return got[:n], nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return got, fmt.Errorf("waiting for %d %s events (have %d): %w", n, action, len(got), ctx.Err())
		case <-changed:
		}
	}
}

// ByID keys an event by its container's ID.
func ByID(ev Event) string { return ev.ID }

// IDIn matches the events of the given containers.
func IDIn(ids []string) func(Event) bool {
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return func(ev Event) bool { return set[ev.ID] }
}

// HasAttr matches the events of containers carrying label k=v ("" = any
// value, but present).
func HasAttr(k, v string) func(Event) bool {
	return func(ev Event) bool {
		got, ok := ev.Attrs[k]
		return ok && (v == "" || got == v)
	}
}

// IDs are the containers of evs, in order.
func IDs(evs []Event) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}
