package benchkit

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Direct is a container as Berth's agent would ask the engine for it
// (internal/agent/spec.go, internal/runtime/docker/spec.go), without the
// agent's own labels and task environment: the direct create + start a
// benchmark sets against Berth.
type Direct struct {
	Name          string
	Image         string
	Cmd           []string
	Labels        map[string]string
	MemoryMiB     int64 // a hard limit: the agent allows no swap on top
	ReserveMiB    int64 // 0: no reservation
	CPUShares     int64
	ContainerPort int // 0: no published port
	HostPort      int
}

// Options is the create request: bridge network, the default log driver,
// no restart policy.
func (d Direct) Options() client.ContainerCreateOptions {
	cfg := &container.Config{Image: d.Image, Cmd: d.Cmd, Labels: maps.Clone(d.Labels)}
	host := &container.HostConfig{
		NetworkMode: "bridge",
		Resources: container.Resources{
			CPUShares:         d.CPUShares,
			Memory:            d.MemoryMiB << 20,
			MemorySwap:        d.MemoryMiB << 20,
			MemoryReservation: d.ReserveMiB << 20,
		},
	}
	if d.ContainerPort != 0 {
		port, _ := network.PortFrom(uint16(d.ContainerPort), network.TCP)
		cfg.ExposedPorts = network.PortSet{port: struct{}{}}
		host.PortBindings = network.PortMap{port: {{HostPort: strconv.Itoa(d.HostPort)}}}
	}
	return client.ContainerCreateOptions{Name: d.Name, Config: cfg, HostConfig: host}
}

// CreateStart creates the container and starts it. It returns the ID
// (also when only the start failed) and when the create call returned.
func CreateStart(ctx context.Context, cli *client.Client, opts client.ContainerCreateOptions) (id string, created time.Time, err error) {
	res, err := cli.ContainerCreate(ctx, opts)
	created = time.Now()
	if err != nil {
		return "", created, fmt.Errorf("create: %w", err)
	}
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return res.ID, created, fmt.Errorf("start: %w", err)
	}
	return res.ID, created, nil
}

// Inspect returns the engine's own JSON of a container's Config and
// HostConfig, each flattened to path -> value.
func Inspect(ctx context.Context, cli *client.Client, id string) (cfg, host map[string]string, err error) {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, nil, err
	}
	var doc struct {
		Config     any
		HostConfig any
	}
	if err := json.Unmarshal(res.Raw, &doc); err != nil {
		return nil, nil, fmt.Errorf("inspect %s: %w", id, err)
	}
	cfg, host = map[string]string{}, map[string]string{}
	flatten("", doc.Config, cfg)
	flatten("", doc.HostConfig, host)
	return cfg, host, nil
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

// Difference is one path whose value differs between two flattened
// documents; "(absent)" stands for a missing path.
type Difference struct {
	Path string
	A, B string
}

// Diff compares two flattened documents, in path order.
func Diff(a, b map[string]string) []Difference {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []Difference
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		va, okA := a[k]
		vb, okB := b[k]
		if okA == okB && va == vb {
			continue
		}
		if !okA {
			va = "(absent)"
		}
		if !okB {
			vb = "(absent)"
		}
		out = append(out, Difference{Path: k, A: va, B: vb})
	}
	return out
}

// Inspection is the engine's view of one container, flattened (see
// Inspect).
type Inspection struct{ Config, Host map[string]string }

// Inspections keeps the engine's view of the first container of each arm
// (or phase/arm), for a "same options" diff. Safe for concurrent use.
type Inspections struct {
	cli   *client.Client
	mu    sync.Mutex
	byKey map[string]Inspection
}

// NewInspections is an empty set that inspects through cli.
func NewInspections(cli *client.Client) *Inspections {
	return &Inspections{cli: cli, byKey: map[string]Inspection{}}
}

// Once inspects container id under key unless key has one already.
func (in *Inspections) Once(ctx context.Context, key, id string) error {
	in.mu.Lock()
	_, done := in.byKey[key]
	in.mu.Unlock()
	if done {
		return nil
	}
	cfg, host, err := Inspect(ctx, in.cli, id)
	if err != nil {
		return err
	}
	in.mu.Lock()
	in.byKey[key] = Inspection{cfg, host}
	in.mu.Unlock()
	return nil
}

// Get returns the inspection kept under key.
func (in *Inspections) Get(key string) (Inspection, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	i, ok := in.byKey[key]
	return i, ok
}

// Keys are the keys with an inspection, sorted.
func (in *Inspections) Keys() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Sorted(maps.Keys(in.byKey))
}

// Counter hands out numbers for container names, unique within a run. Safe
// for concurrent use.
type Counter struct {
	mu   sync.Mutex
	next int
}

// Take reserves n numbers and returns the first.
func (c *Counter) Take(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := c.next
	c.next += n
	return first
}
