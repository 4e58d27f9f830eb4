package docker

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

// Events streams container events of containers carrying every label in
// labels. The subscription starts from the client's clock at the call
// (Docker's "since"), so events between the call and the engine's subscribe
// are not lost; with an engine whose clock runs ahead some may be repeated.
// When ctx ends both channels close without an error.
func (d *Docker) Events(ctx context.Context, labels map[string]string) (<-chan runtime.Event, <-chan error) {
	out := make(chan runtime.Event)
	errc := make(chan error, 1)
	f := labelFilters(labels)
	f.Add("type", string(events.ContainerEventType))
	// "health_status" matches "health_status: healthy" and the like.
	f.Add("event", runtime.EventCreate, runtime.EventStart, runtime.EventDie, runtime.EventOOM, runtime.EventHealth, runtime.EventDestroy)
	res := d.cli.Events(ctx, client.EventsListOptions{Since: time.Now().Format(time.RFC3339Nano), Filters: f})
	go func() {
		defer close(out)
		defer close(errc)
		for {
			select {
			case m := <-res.Messages:
				ev, ok := toEvent(m)
				if !ok {
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case err := <-res.Err:
				if ctx.Err() != nil {
					return
				}
				if err == nil {
					err = fmt.Errorf("event stream ended: %w", errdefs.ErrUnavailable)
				}
				errc <- classify(err, opOther, "events")
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errc
}

// notLabels are the attributes Docker adds to a container event's labels.
var notLabels = []string{"image", "name", "exitCode", "signal", "execDuration", "execID"}

// toEvent maps a Docker event; ok is false for actions Berth ignores.
func toEvent(m events.Message) (ev runtime.Event, ok bool) {
	attrs := m.Actor.Attributes
	ev = runtime.Event{ContainerID: m.Actor.ID, Labels: maps.Clone(attrs)}
	if ev.Labels == nil {
		ev.Labels = map[string]string{}
	}
	for _, k := range notLabels {
		delete(ev.Labels, k)
	}
	switch {
	case m.TimeNano != 0:
		ev.Time = time.Unix(0, m.TimeNano)
	case m.Time != 0:
		ev.Time = time.Unix(m.Time, 0)
	}
	act := string(m.Action)
	switch {
	case act == runtime.EventCreate, act == runtime.EventStart, act == runtime.EventOOM, act == runtime.EventDestroy:
		ev.Action = act
	case act == runtime.EventDie:
		ev.Action = act
		ev.ExitCode, _ = strconv.Atoi(attrs["exitCode"])
	case strings.HasPrefix(act, runtime.EventHealth+":"):
		ev.Action = runtime.EventHealth
		ev.Health = strings.TrimSpace(strings.TrimPrefix(act, runtime.EventHealth+":"))
	default:
		return runtime.Event{}, false
	}
	return ev, true
}
