package runtask

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// dockerEvent is one container event as the engine stamped it.
type dockerEvent struct {
	ID     string
	Action string
	Time   time.Time // the engine's timeNano: the neutral observer's clock
	Attrs  map[string]string
}

// eventLog records the engine's create and start events of containers that
// carry a label, from one subscription opened before anything is measured.
type eventLog struct {
	mu      sync.Mutex
	events  []dockerEvent
	err     error
	changed chan struct{} // closed and replaced on every new event or error
}

// watchEvents subscribes to container create/start events filtered by
// label=value. The subscription starts at the client's clock now (Docker's
// "since"), so no event after this call is lost even if the stream
// connects a moment later.
func watchEvents(ctx context.Context, cli *client.Client, label, value string) *eventLog {
	l := &eventLog{changed: make(chan struct{})}
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	f.Add("label", label+"="+value)
	f.Add("event", string(events.ActionCreate), string(events.ActionStart))
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

// wait returns, for each key, the first event with that action whose key
// (as keyOf gives it) is in keys, once every key has one.
func (l *eventLog) wait(ctx context.Context, action string, keys []string, keyOf func(dockerEvent) string) (map[string]dockerEvent, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	for {
		l.mu.Lock()
		got := map[string]dockerEvent{}
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

// lookup returns the first event with action for a key, if seen yet.
func (l *eventLog) lookup(action, key string, keyOf func(dockerEvent) string) (dockerEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.events {
		if ev.Action == action && keyOf(ev) == key {
			return ev, true
		}
	}
	return dockerEvent{}, false
}

func byID(ev dockerEvent) string { return ev.ID }

// freePorts returns n distinct TCP ports that are free on all addresses now.
// All n are held open together, so they differ.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// directOptions is the create request the agent sends for the benchmark's
// task definition (internal/agent/spec.go, internal/runtime/docker/spec.go),
// without the agent's own labels and task environment: the same image,
// command, memory limit with no swap on top, CPU shares, bridge network, one
// published port, the default log driver and no restart policy.
func directOptions(name, image string, cmd []string, memMiB, cpuShares int64, containerPort, hostPort int, labels map[string]string) client.ContainerCreateOptions {
	port, _ := network.PortFrom(uint16(containerPort), network.TCP)
	return client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:        image,
			Cmd:          cmd,
			Labels:       maps.Clone(labels),
			ExposedPorts: network.PortSet{port: struct{}{}},
		},
		HostConfig: &container.HostConfig{
			NetworkMode:  "bridge",
			PortBindings: network.PortMap{port: {{HostPort: strconv.Itoa(hostPort)}}},
			Resources: container.Resources{
				CPUShares: cpuShares,
				Memory:    memMiB << 20,
				// The agent makes ECS's memory a hard limit: no swap on top.
				MemorySwap: memMiB << 20,
			},
		},
	}
}

// inspectRaw returns the engine's own JSON of a container's Config and
// HostConfig, flattened to path -> value.
func inspectRaw(ctx context.Context, cli *client.Client, id string) (cfg, host map[string]string, err error) {
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

// fieldDiff is one path whose value differs between two containers.
type fieldDiff struct {
	Path        string `json:"path"`
	Berth       string `json:"berth"`
	Direct      string `json:"direct"`
	Explanation string `json:"explanation"` // "" when nothing explains it
}

// diffFields compares two flattened documents; explain names why a path may
// differ, or "".
func diffFields(berth, direct map[string]string, explain func(path string) string) []fieldDiff {
	keys := map[string]bool{}
	for k := range berth {
		keys[k] = true
	}
	for k := range direct {
		keys[k] = true
	}
	var out []fieldDiff
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		a, okA := berth[k]
		b, okB := direct[k]
		if okA == okB && a == b {
			continue
		}
		if !okA {
			a = "(absent)"
		}
		if !okB {
			b = "(absent)"
		}
		out = append(out, fieldDiff{Path: k, Berth: a, Direct: b, Explanation: explain(k)})
	}
	return out
}

// explainHostConfig says why a HostConfig path may differ between the agent's
// container and the direct one.
func explainHostConfig(path string) string {
	if strings.HasPrefix(path, "PortBindings.") && strings.HasSuffix(path, ".HostPort") {
		return "the host port: the agent's dynamic pick from the ephemeral range vs the free port the benchmark picked (same container port, protocol and host IP)"
	}
	return ""
}

// explainConfig says why a Config path may differ.
func explainConfig(path string) string {
	switch {
	case strings.HasPrefix(path, "Labels.berth.") || strings.HasPrefix(path, "Labels.com.amazonaws.ecs."):
		return "the agent's own labels (berth.* and com.amazonaws.ecs.*), expected"
	case strings.HasPrefix(path, "Env"):
		return "the agent's task environment (AWS_*, ECS_CONTAINER_METADATA_URI_V4) and Docker's PATH default; no effect on create/start cost"
	case path == "Hostname":
		return "Docker's default hostname is the container's short ID"
	}
	return ""
}

// apiCall is one Docker Engine API request the traced agent made.
type apiCall struct {
	Op    string    `json:"op"` // method and path with IDs and refs replaced
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // when the response body was fully sent
	Code  int       `json:"status"`
}

// normalizeOp turns "POST /v1.41/containers/abc/start" into
// "POST /containers/{id}/start".
func normalizeOp(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "v1.") {
		parts = parts[1:]
	}
	if len(parts) >= 2 {
		switch parts[0] {
		case "containers":
			if parts[1] != "json" && parts[1] != "create" && parts[1] != "prune" {
				parts[1] = "{id}"
			}
		case "images":
			if parts[1] != "json" && parts[1] != "create" && parts[1] != "prune" {
				// A reference may contain slashes: keep only the last part.
				parts = []string{"images", "{ref}", parts[len(parts)-1]}
			}
		}
	}
	return method + " /" + strings.Join(parts, "/")
}

// sortCalls orders calls by start time.
func sortCalls(calls []apiCall) {
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].Start.Before(calls[j].Start) })
}
