package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/runtime"
)

var _ runtime.Runtime = (*Docker)(nil)

// Config configures the Docker runtime.
type Config struct {
	// Host is the engine's address, e.g. "unix:///var/run/docker.sock" or
	// "tcp://10.0.0.5:2375". Empty means DOCKER_HOST, else the default
	// socket. DOCKER_API_VERSION, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY are
	// honoured as the docker CLI does.
	Host string
	// LogsThroughAPI reads container output through the engine's logs API
	// even when the engine is local and its json-file logs could be read
	// directly (the faster way, and the default).
	LogsThroughAPI bool
}

// Docker is a runtime.Runtime on a Docker Engine, through the official Moby
// client. The API version is negotiated with the engine on first use.
type Docker struct {
	cli     *client.Client
	logsAPI bool
}

// New returns a runtime for the engine cfg names. It does not connect; the
// first call does.
func New(cfg Config) (*Docker, error) {
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %q: %w", cfg.Host, err)
	}
	return &Docker{cli: cli, logsAPI: cfg.LogsThroughAPI}, nil
}

// Close releases the client's idle connections.
func (d *Docker) Close() error { return d.cli.Close() }

// Ping checks that the engine answers, negotiating the API version.
func (d *Docker) Ping(ctx context.Context) error {
	_, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	return classify(err, opOther, "ping %s", d.cli.DaemonHost())
}

// Info describes the engine's host.
func (d *Docker) Info(ctx context.Context) (runtime.HostInfo, error) {
	if err := d.Ping(ctx); err != nil {
		return runtime.HostInfo{}, err
	}
	res, err := d.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return runtime.HostInfo{}, classify(err, opOther, "info")
	}
	i := res.Info
	info := runtime.HostInfo{
		CPUs:          i.NCPU,
		MemoryBytes:   i.MemTotal,
		OSType:        i.OSType,
		Architecture:  i.Architecture,
		EngineVersion: i.ServerVersion,
		APIVersion:    d.cli.ClientVersion(),
		Hostname:      i.Name,
	}
	// The default bridge's gateway is the host as containers see it.
	if nw, err := d.cli.NetworkInspect(ctx, "bridge", client.NetworkInspectOptions{}); err == nil {
		for _, c := range nw.Network.IPAM.Config {
			switch {
			case c.Gateway.Is4():
				info.BridgeGateway = c.Gateway.String()
			case c.Subnet.Addr().Is4():
				// Docker 20.10 leaves the default bridge's gateway out of
				// its IPAM config; it is the subnet's first address.
				info.BridgeGateway = c.Subnet.Masked().Addr().Next().String()
			}
			if info.BridgeGateway != "" {
				break
			}
		}
	}
	return info, nil
}
