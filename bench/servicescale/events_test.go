package servicescale

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// dockerEvent is one container event as the engine stamped it.
type dockerEvent struct {
	ID     string
	Action string
	Time   time.Time // the engine's timeNano: the neutral observer's clock
	Attrs  map[string]string
}

// eventLog records the engine's container events of containers that carry
// a label, from one subscription opened before anything is measured.
type eventLog struct {
	mu      sync.Mutex
	events  []dockerEvent
	err     error
	changed chan struct{} // closed and replaced on every new event or error
}

// The actions the benchmark times: create and start on the way up, die on
// the way down (the container's process has exited), destroy for cleanup.
var watchedActions = []events.Action{events.ActionCreate, events.ActionStart, events.ActionDie, events.ActionDestroy}

// watchEvents subscribes to container events filtered by label=value. The
// subscription starts at the client's clock now (Docker's "since"), so no
// event after this call is lost even if the stream connects a moment later.
func watchEvents(ctx context.Context, cli *client.Client, label, value string) *eventLog {
	l := &eventLog{changed: make(chan struct{})}
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	f.Add("label", label+"="+value)
	for _, a := range watchedActions {
		f.Add("event", string(a))
	}
	res := cli.Events(ctx, client.EventsListOptions{Since: time.Now().Format(time.RFC3339Nano), Filters: f})
	go func() {
		for {
			select {
			case m := <-res.Messages:
				ev := dockerEvent{ID: m.Actor.ID, Action: string(m.Action), Attrs: m.Actor.Attributes}
				if m.TimeNano != 0 {
					ev.Time = time.Unix(0, m.TimeNano)
				} else {
					ev.Time = time.Unix(m.Time, 0)
				}
				l.add(ev, nil)
			case err := <-res.Err:
				if ctx.Err() == nil {
					l.add(dockerEvent{}, fmt.Errorf("docker event stream ended: %v", err))
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return l
}

func (l *eventLog) add(ev dockerEvent, err error) {
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

// collect returns the first event with action of each container that match
// accepts, at or after since, sorted by time.
func (l *eventLog) collect(action string, since time.Time, match func(dockerEvent) bool) []dockerEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.collectLocked(action, since, match)
}

func (l *eventLog) collectLocked(action string, since time.Time, match func(dockerEvent) bool) []dockerEvent {
	seen := map[string]bool{}
	var out []dockerEvent
	for _, ev := range l.events {
		if ev.Action != action || ev.Time.Before(since) || seen[ev.ID] || !match(ev) {
			continue
		}
		seen[ev.ID] = true
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b dockerEvent) int { return a.Time.Compare(b.Time) })
	return out
}

// waitN waits until n containers that match accepts have an event with
// action at or after since, and returns the first such event of each,
// sorted by time.
func (l *eventLog) waitN(ctx context.Context, action string, since time.Time, n int, match func(dockerEvent) bool) ([]dockerEvent, error) {
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

// idIn matches the events of the given containers.
func idIn(ids []string) func(dockerEvent) bool {
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return func(ev dockerEvent) bool { return set[ev.ID] }
}

// hasAttr matches the events of containers carrying label k=v ("" = any
// value, but present).
func hasAttr(k, v string) func(dockerEvent) bool {
	return func(ev dockerEvent) bool {
		got, ok := ev.Attrs[k]
		return ok && (v == "" || got == v)
	}
}

func eventIDs(evs []dockerEvent) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}
