package servicescale

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthhq/berth/bench/internal/benchkit"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

func floorName(c int) string { return fmt.Sprintf("floor c=%d", c) }

// floorContainer is the container the agent creates for the benchmark's
// task definition (internal/agent/spec.go, internal/runtime/docker/spec.go),
// without the agent's own labels and task environment: the same image and
// command, memory 64 MiB with no swap on top, a 32 MiB reservation, CPU
// shares 2 (ECS's cpu 0), bridge, no ports, the default log driver, no
// restart policy.
func (b *bench) floorContainer(name string) benchkit.Direct {
	return benchkit.Direct{Name: name, Image: b.image, Cmd: appCommand, Labels: b.armLabels("floor"),
		MemoryMiB: memoryMiB, ReserveMiB: reserveMiB, CPUShares: 2}
}

// each runs fn(i) for i in [0, n) on c workers.
func each(n, c int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(c, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// floorRun creates and starts N containers through the Engine API, c at a
// time, timed from the first create call to the N-th start event; then
// stops them (SIGTERM, the same 10 s grace) c at a time, timed to the N-th
// die event. The containers are removed afterwards, unmeasured.
func (b *bench) floorRun(ctx context.Context, c int) (s sample, err error) {
	n := b.cfg.tasks
	first := b.seq.Take(n)
	ids := make([]string, n)
	errs := make([]error, n)
	defer func() { b.removeByLabels(context.WithoutCancel(ctx), b.armLabels("floor")) }()

	s.Up, s.Down = map[string]float64{}, map[string]float64{}
	t0 := time.Now()
	each(n, c, func(i int) {
		name := fmt.Sprintf("berth-bench-scale-%s-%d", testimage.RunID(), first+i)
		ids[i], _, errs[i] = benchkit.CreateStart(ctx, b.cli, b.floorContainer(name).Options())
	})
	s.Up["call_returned"] = ms(t0, time.Now())
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	starts, err := b.events.WaitN(ctx, "start", t0, n, benchkit.IDIn(ids))
	if err != nil {
		return s, err
	}
	markRamp(s.Up, t0, "start", starts)
	markRamp(s.Up, t0, "create", b.events.Collect("create", t0, benchkit.IDIn(ids)))
	b.inspectOnce(ctx, "floor", ids[0])

	t1 := time.Now()
	timeout := int(stopGrace / time.Second)
	each(n, c, func(i int) {
		if _, err := b.cli.ContainerStop(ctx, ids[i], client.ContainerStopOptions{Timeout: &timeout}); err != nil {
			errs[i] = fmt.Errorf("stop: %w", err)
		}
	})
	s.Down["call_returned"] = ms(t1, time.Now())
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	dies, err := b.events.WaitN(ctx, "die", t1, n, benchkit.IDIn(ids))
	if err != nil {
		return s, err
	}
	markRamp(s.Down, t1, "die", dies)
	return s, nil
}

// fieldDiff is one HostConfig path whose value differs from Berth's.
type fieldDiff struct {
	Path  string `json:"path"`
	Berth string `json:"berth"`
	Other string `json:"other"`
}

type armDiff struct {
	Arm    string      `json:"arm"`
	Fields []fieldDiff `json:"fields"`
}

// diffFields compares two flattened documents.
func diffFields(berth, other map[string]string) []fieldDiff {
	var out []fieldDiff
	for _, d := range benchkit.Diff(berth, other) {
		out = append(out, fieldDiff{Path: d.Path, Berth: d.A, Other: d.B})
	}
	return out
}
