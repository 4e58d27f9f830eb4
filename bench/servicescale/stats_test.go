package servicescale

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	tests := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9.1},
		{[]float64{5}, 0.9, 5},
	}
	for _, tt := range tests {
		if got := quantile(tt.xs, tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v, %v) = %v; want %v", tt.xs, tt.q, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("quantile(nil) = %v; want NaN", got)
	}
}

func TestMarkRamp(t *testing.T) {
	t0 := time.Unix(100, 0)
	var evs []dockerEvent
	for i := range 50 {
		evs = append(evs, dockerEvent{ID: string(rune('a' + i)), Time: t0.Add(time.Duration(i+1) * time.Millisecond)})
	}
	m := map[string]float64{}
	markRamp(m, t0, "start", evs)
	if m["start_first"] != 1 || m["start_half"] != 25 || m["start_last"] != 50 {
		t.Errorf("markRamp = %v; want first 1, half 25, last 50", m)
	}
}

func TestCollectFirstPerContainer(t *testing.T) {
	t0 := time.Unix(100, 0)
	l := &eventLog{changed: make(chan struct{})}
	for _, ev := range []dockerEvent{
		{ID: "b", Action: "start", Time: t0.Add(3 * time.Millisecond)},
		{ID: "a", Action: "start", Time: t0.Add(2 * time.Millisecond)},
		{ID: "a", Action: "start", Time: t0.Add(5 * time.Millisecond)}, // a restart: not counted again
		{ID: "c", Action: "start", Time: t0.Add(-time.Millisecond)},    // before since
		{ID: "d", Action: "die", Time: t0.Add(time.Millisecond)},
	} {
		l.add(ev, nil)
	}
	got := eventIDs(l.collect("start", t0, func(dockerEvent) bool { return true }))
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("collect = %v; want [a b]", got)
	}
}

func TestPairedRatio(t *testing.T) {
	samples := []sample{
		{Arm: "berth", Round: 0, Up: map[string]float64{"start_last": 100}}, // warm-up
		{Arm: "swarm", Round: 0, Up: map[string]float64{"start_last": 1}},
		{Arm: "berth", Round: 1, Up: map[string]float64{"start_last": 200}},
		{Arm: "swarm", Round: 1, Up: map[string]float64{"start_last": 100}},
		{Arm: "berth", Round: 2, Up: map[string]float64{"start_last": 100}},
		{Arm: "swarm", Round: 2, Up: map[string]float64{"start_last": 100}},
	}
	if got := pairedRatio(samples, "up", "start_last"); got != 1.5 {
		t.Errorf("pairedRatio = %v; want 1.5", got)
	}
}
