package docker

import (
	"cmp"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

// createOptions maps a ContainerSpec onto Docker's create request.
func createOptions(s runtime.ContainerSpec) (client.ContainerCreateOptions, error) {
	invalid := func(format string, args ...any) (client.ContainerCreateOptions, error) {
		return client.ContainerCreateOptions{}, fmt.Errorf("container %q: "+format+": %w", append(append([]any{s.Name}, args...), errdefs.ErrInvalidArgument)...)
	}
	cfg := &container.Config{
		Hostname:   s.Hostname,
		User:       s.User,
		Env:        s.Env,
		Cmd:        s.Command,
		Entrypoint: s.Entrypoint,
		Image:      s.Image,
		WorkingDir: s.WorkingDir,
		Labels:     s.Labels,
		StopSignal: s.StopSignal,
	}
	if hc := s.HealthCheck; hc != nil {
		cfg.Healthcheck = &container.HealthConfig{
			Test:        hc.Test,
			Interval:    hc.Interval,
			Timeout:     hc.Timeout,
			StartPeriod: hc.StartPeriod,
			Retries:     hc.Retries,
		}
	}

	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(s.NetworkMode),
		ExtraHosts:     s.ExtraHosts,
		DNSSearch:      s.DNSSearch,
		VolumesFrom:    s.VolumesFrom,
		ReadonlyRootfs: s.ReadonlyRootfs,
		Privileged:     s.Privileged,
		CapAdd:         s.CapAdd,
		CapDrop:        s.CapDrop,
		ShmSize:        s.ShmSizeBytes,
		Sysctls:        s.Sysctls,
		SecurityOpt:    s.SecurityOpt,
		LogConfig:      container.LogConfig{Type: s.LogDriver, Config: s.LogOptions},
		Resources: container.Resources{
			CPUShares:         s.CPUShares,
			NanoCPUs:          s.NanoCPUs,
			Memory:            s.MemoryBytes,
			MemoryReservation: s.MemoryReservation,
		},
	}
	if s.MemoryBytes > 0 {
		// The limit is hard, as ECS's container memory is: no swap on top
		// (Docker would otherwise allow as much swap again).
		host.MemorySwap = s.MemoryBytes
	}
	if s.PidsLimit > 0 {
		host.PidsLimit = &s.PidsLimit
	}
	if s.Init {
		host.Init = &s.Init
	}
	for _, u := range s.Ulimits {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, d := range s.DNSServers {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return invalid("DNS server %q is not an IP address", d)
		}
		host.DNS = append(host.DNS, a)
	}

	for _, p := range s.Ports {
		if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
			return invalid("port %d:%d out of range", p.HostPort, p.ContainerPort)
		}
		port, ok := network.PortFrom(uint16(p.ContainerPort), network.IPProtocol(cmp.Or(p.Protocol, "tcp")))
		if !ok {
			return invalid("port %d/%s", p.ContainerPort, p.Protocol)
		}
		b := network.PortBinding{}
		if p.HostPort > 0 {
			b.HostPort = strconv.Itoa(p.HostPort)
		}
		if p.HostIP != "" {
			a, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return invalid("host IP %q", p.HostIP)
			}
			b.HostIP = a
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = network.PortSet{}
			host.PortBindings = network.PortMap{}
		}
		cfg.ExposedPorts[port] = struct{}{}
		host.PortBindings[port] = append(host.PortBindings[port], b)
	}

	for _, m := range s.Mounts {
		switch m.Type {
		case runtime.MountTmpfs:
			// HostConfig.Tmpfs rather than a tmpfs Mount: Mount's tmpfs
			// options need API 1.46, and older engines drop them silently.
			if host.Tmpfs == nil {
				host.Tmpfs = map[string]string{}
			}
			host.Tmpfs[m.Target] = tmpfsOptions(m)
		case runtime.MountBind, runtime.MountVolume:
			dm := mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
			if m.Type == runtime.MountVolume {
				// A volume the mount creates (anonymous, or named and
				// absent) carries the container's labels, so it can be
				// found and cleaned up by them.
				dm.VolumeOptions = &mount.VolumeOptions{Labels: s.Labels}
			}
			host.Mounts = append(host.Mounts, dm)
		default:
			return invalid("mount type %q", m.Type)
		}
	}

	var netcfg *network.NetworkingConfig
	if mode := host.NetworkMode; mode.IsUserDefined() && s.NetworkMode != "" {
		netcfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.NetworkMode: {}}}
	}
	return client.ContainerCreateOptions{
		Name:             s.Name,
		Config:           cfg,
		HostConfig:       host,
		NetworkingConfig: netcfg,
	}, nil
}

// tmpfsOptions renders a tmpfs mount as Docker's --tmpfs option string.
func tmpfsOptions(m runtime.Mount) string {
	var opts []string
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	if m.TmpfsSizeBytes > 0 {
		opts = append(opts, "size="+strconv.FormatInt(m.TmpfsSizeBytes, 10))
	}
	opts = append(opts, m.TmpfsOptions...)
	return strings.Join(opts, ",")
}
