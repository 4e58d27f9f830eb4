package servicescale

import (
	"testing"
	"time"

	"github.com/berthhq/berth/bench/internal/benchkit"
)

func TestMarkRamp(t *testing.T) {
	t0 := time.Unix(100, 0)
	var evs []benchkit.Event
	for i := range 50 {
		evs = append(evs, benchkit.Event{ID: string(rune('a' + i)), Time: t0.Add(time.Duration(i+1) * time.Millisecond)})
	}
	m := map[string]float64{}
	markRamp(m, t0, "start", evs)
	if m["start_first"] != 1 || m["start_half"] != 25 || m["start_last"] != 50 {
		t.Errorf("markRamp = %v; want first 1, half 25, last 50", m)
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
