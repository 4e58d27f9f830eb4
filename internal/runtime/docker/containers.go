package docker

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

// CreateContainer creates a container from spec.
func (d *Docker) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	opts, err := createOptions(spec)
	if err != nil {
		return "", err
	}
	res, err := d.cli.ContainerCreate(ctx, opts)
	if err != nil {
		return "", classify(err, opCreate, "create container %q", spec.Name)
	}
	return res.ID, nil
}

// StartContainer starts a created or stopped container.
func (d *Docker) StartContainer(ctx context.Context, id string) error {
	_, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
	return classify(err, opStart, "start container %s", id)
}

// StopContainer stops a container as docker stop does. Docker counts the
// timeout in whole seconds; it is rounded up, never cut short.
func (d *Docker) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	secs := int((max(timeout, 0) + time.Second - 1) / time.Second)
	_, err := d.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs})
	return classify(err, opOther, "stop container %s", id)
}

// RemoveContainer removes a container, running or not, with its anonymous
// volumes.
func (d *Docker) RemoveContainer(ctx context.Context, id string) error {
	_, err := d.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	return classify(err, opOther, "remove container %s", id)
}

// InspectContainer returns a container's current state.
func (d *Docker) InspectContainer(ctx context.Context, id string) (runtime.Container, error) {
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return runtime.Container{}, classify(err, opOther, "inspect container %s", id)
	}
	return toContainer(res.Container), nil
}

// ListContainers lists the containers, running or not, that carry every
// label in labels, with their full state (one inspect each).
func (d *Docker) ListContainers(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: labelFilters(labels)})
	if err != nil {
		return nil, classify(err, opOther, "list containers")
	}
	out := make([]runtime.Container, 0, len(res.Items))
	for _, s := range res.Items {
		c, err := d.InspectContainer(ctx, s.ID)
		if errors.Is(err, errdefs.ErrNotFound) {
			continue // removed since the list
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func labelFilters(labels map[string]string) client.Filters {
	f := client.Filters{}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		f.Add("label", k+"="+labels[k])
	}
	return f
}

// toContainer maps Docker's inspect answer.
func toContainer(r container.InspectResponse) runtime.Container {
	c := runtime.Container{
		ID:        r.ID,
		Name:      strings.TrimPrefix(r.Name, "/"),
		ImageID:   r.Image,
		CreatedAt: parseTime(r.Created),
	}
	if r.Config != nil {
		c.Image = r.Config.Image
		c.Labels = maps.Clone(r.Config.Labels)
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	if s := r.State; s != nil {
		c.State = string(s.Status)
		c.ExitCode = s.ExitCode
		c.OOMKilled = s.OOMKilled
		c.Error = s.Error
		c.StartedAt = parseTime(s.StartedAt)
		c.FinishedAt = parseTime(s.FinishedAt)
		if s.Health != nil && s.Health.Status != container.NoHealthcheck {
			c.Health = string(s.Health.Status)
		}
	}
	if ns := r.NetworkSettings; ns != nil {
		c.Ports = toPorts(ns.Ports)
		c.IPAddress = ipAddress(r)
	}
	return c
}

// toPorts maps Docker's bound ports. Docker 20.10 lists a binding once per
// address family (0.0.0.0 and ::), and for an engine-chosen host port it
// may pick a different port for each (measured: 0.0.0.0:32819, [::]:32812).
// Both mean "all addresses"; the IPv4 one is reported, with an empty HostIP,
// since that is the port IPv4 clients (and Berth's load balancers) reach.
func toPorts(pm network.PortMap) []runtime.PortBinding {
	var out []runtime.PortBinding
	for port, bindings := range pm {
		hasV4 := slices.ContainsFunc(bindings, func(b network.PortBinding) bool { return !b.HostIP.Is6() })
		for _, b := range bindings {
			if hasV4 && b.HostIP.Is6() && b.HostIP.IsUnspecified() {
				continue
			}
			hostPort, _ := strconv.Atoi(b.HostPort)
			p := runtime.PortBinding{ContainerPort: int(port.Num()), HostPort: hostPort, Protocol: string(port.Proto())}
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				p.HostIP = b.HostIP.String()
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, func(a, b runtime.PortBinding) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort), cmp.Compare(a.Protocol, b.Protocol),
			cmp.Compare(a.HostPort, b.HostPort), cmp.Compare(a.HostIP, b.HostIP))
	})
	return out
}

// ipAddress is the container's address on the network of its network mode
// (bridge by default), else on any network it is attached to.
func ipAddress(r container.InspectResponse) string {
	nets := r.NetworkSettings.Networks
	mode := "bridge"
	if r.HostConfig != nil && r.HostConfig.NetworkMode != "" && r.HostConfig.NetworkMode != "default" {
		mode = string(r.HostConfig.NetworkMode)
	}
	if ep := nets[mode]; ep != nil && ep.IPAddress.IsValid() {
		return ep.IPAddress.String()
	}
	for _, name := range slices.Sorted(maps.Keys(nets)) {
		if ep := nets[name]; ep != nil && ep.IPAddress.IsValid() {
			return ep.IPAddress.String()
		}
	}
	return ""
}

// parseTime reads Docker's RFC 3339 times; Docker writes the zero time
// ("0001-01-01T00:00:00Z") for never, which maps to time.Time{}.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		return time.Time{}
	}
	return t
}
