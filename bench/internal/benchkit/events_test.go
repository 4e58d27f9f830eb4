package benchkit

import (
	"slices"
	"testing"
	"time"
)

func TestCollectFirstPerContainer(t *testing.T) {
	t0 := time.Unix(100, 0)
	l := NewEventLog()
	for _, ev := range []Event{
		{ID: "b", Action: "start", Time: t0.Add(3 * time.Millisecond)},
		{ID: "a", Action: "start", Time: t0.Add(2 * time.Millisecond)},
		{ID: "a", Action: "start", Time: t0.Add(5 * time.Millisecond)}, // a restart: not counted again
		{ID: "c", Action: "start", Time: t0.Add(-time.Millisecond)},    // before since
		{ID: "d", Action: "die", Time: t0.Add(time.Millisecond)},
	} {
		l.Add(ev)
	}
	got := IDs(l.Collect("start", t0, func(Event) bool { return true }))
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Collect = %v; want [a b]", got)
	}
}
