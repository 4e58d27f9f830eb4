package servicescale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/testapp/testimage"
)

func floorName(c int) string { return fmt.Sprintf("floor c=%d", c) }

// floorOptions is the create request the agent sends for the benchmark's
// task definition (internal/agent/spec.go, internal/runtime/docker/spec.go),
// without the agent's own labels and task environment: the same image and
// command, memory 64 MiB with no swap on top, a 32 MiB reservation, CPU
// shares 2 (ECS's cpu 0), bridge, no ports, the default log driver, no
// restart policy.
func (b *bench) floorOptions(name string) client.ContainerCreateOptions {
	return client.ContainerCreateOptions{
		Name:   name,
		Config: &container.Config{Image: b.image, Cmd: appCommand, Labels: b.armLabels("floor")},
		HostConfig: &container.HostConfig{
			NetworkMode: "bridge",
			Resources: container.Resources{
				CPUShares:         2,
				Memory:            memoryMiB << 20,
				MemorySwap:        memoryMiB << 20,
				MemoryReservation: reserveMiB << 20,
			},
		},
	}
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
	b.mu.Lock()
	first := b.seq
	b.seq += n
	b.mu.Unlock()
	ids := make([]string, n)
	errs := make([]error, n)
	defer func() { b.removeByLabels(context.WithoutCancel(ctx), b.armLabels("floor")) }()

	s.Up, s.Down = map[string]float64{}, map[string]float64{}
	t0 := time.Now()
	each(n, c, func(i int) {
		name := fmt.Sprintf("berth-bench-scale-%s-%d", testimage.RunID(), first+i)
		res, err := b.cli.ContainerCreate(ctx, b.floorOptions(name))
		if err != nil {
			errs[i] = fmt.Errorf("create: %w", err)
			return
		}
		ids[i] = res.ID
		if _, err := b.cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
			errs[i] = fmt.Errorf("start: %w", err)
		}
	})
	s.Up["call_returned"] = ms(t0, time.Now())
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	starts, err := b.events.waitN(ctx, "start", t0, n, idIn(ids))
	if err != nil {
		return s, err
	}
	markRamp(s.Up, t0, "start", starts)
	markRamp(s.Up, t0, "create", b.events.collect("create", t0, idIn(ids)))
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
	dies, err := b.events.waitN(ctx, "die", t1, n, idIn(ids))
	if err != nil {
		return s, err
	}
	markRamp(s.Down, t1, "die", dies)
	return s, nil
}

// inspectHost returns the engine's own JSON of a container's HostConfig,
// flattened to path -> value.
func inspectHost(ctx context.Context, cli *client.Client, id string) (map[string]string, error) {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	var doc struct{ HostConfig any }
	if err := json.Unmarshal(res.Raw, &doc); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", id, err)
	}
	host := map[string]string{}
	flatten("", doc.HostConfig, host)
	return host, nil
}

// flatten turns a decoded JSON value into path -> JSON-encoded leaf.
func flatten(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[prefix] = "{}"
		}
		for k, e := range x {
			flatten(join(k), e, out)
		}
	case []any:
		if len(x) == 0 {
			out[prefix] = "[]"
		}
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
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
	keys := map[string]bool{}
	for k := range berth {
		keys[k] = true
	}
	for k := range other {
		keys[k] = true
	}
	var out []fieldDiff
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		a, okA := berth[k]
		o, okO := other[k]
		if okA == okO && a == o {
			continue
		}
		if !okA {
			a = "(absent)"
		}
		if !okO {
			o = "(absent)"
		}
		out = append(out, fieldDiff{Path: k, Berth: a, Other: o})
	}
	return out
}
