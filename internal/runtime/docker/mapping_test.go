package docker

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

func TestCreateOptions(t *testing.T) {
	labels := map[string]string{"berth.task-arn": "arn:x"}
	spec := runtime.ContainerSpec{
		Name: "web-1", Image: "reg/app:1", Labels: labels,
		Entrypoint: []string{"/bin/app"}, Command: []string{"-v"}, Env: []string{"A=1"},
		WorkingDir: "/srv", User: "1000:1000", Hostname: "web",
		CPUShares: 512, NanoCPUs: 500_000_000, MemoryBytes: 256 << 20, MemoryReservation: 128 << 20, PidsLimit: 100,
		NetworkMode: "bridge",
		Ports: []runtime.PortBinding{
			{ContainerPort: 8080, HostPort: 32001, Protocol: "tcp"},
			{ContainerPort: 8080, HostPort: 32002, Protocol: "tcp", HostIP: "127.0.0.1"},
			{ContainerPort: 53, HostPort: 5353, Protocol: "udp"},
			{ContainerPort: 9000},
		},
		ExtraHosts: []string{"db:10.0.0.2"}, DNSServers: []string{"10.0.0.53"}, DNSSearch: []string{"svc.local"},
		Mounts: []runtime.Mount{
			{Type: runtime.MountVolume, Source: "data", Target: "/data"},
			{Type: runtime.MountBind, Source: "/etc/app", Target: "/etc/app", ReadOnly: true},
			{Type: runtime.MountTmpfs, Target: "/tmp", TmpfsSizeBytes: 1 << 20, TmpfsOptions: []string{"noexec", "mode=1777"}},
		},
		VolumesFrom:    []string{"sidecar:ro"},
		Ulimits:        []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}},
		ReadonlyRootfs: true, Privileged: true, Init: true,
		CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"}, ShmSizeBytes: 64 << 20,
		Sysctls: map[string]string{"net.core.somaxconn": "1024"}, SecurityOpt: []string{"no-new-privileges"},
		HealthCheck: &runtime.HealthCheck{Test: []string{"CMD", "/bin/check"}, Interval: 5 * time.Second, Timeout: 2 * time.Second, StartPeriod: 10 * time.Second, Retries: 3},
		StopSignal:  "SIGQUIT",
		LogDriver:   "json-file", LogOptions: map[string]string{"max-size": "10m"},
	}
	opts, err := createOptions(spec)
	if err != nil {
		t.Fatalf("createOptions() = %v", err)
	}
	cfg, host := opts.Config, opts.HostConfig
	p8080, p53, p9000 := network.MustParsePort("8080/tcp"), network.MustParsePort("53/udp"), network.MustParsePort("9000/tcp")

	tests := []struct {
		field     string
		got, want any
	}{
		{"Name", opts.Name, "web-1"},
		{"Image", cfg.Image, "reg/app:1"},
		{"Labels", cfg.Labels, labels},
		{"Entrypoint", cfg.Entrypoint, []string{"/bin/app"}},
		{"Cmd", cfg.Cmd, []string{"-v"}},
		{"Env", cfg.Env, []string{"A=1"}},
		{"WorkingDir", cfg.WorkingDir, "/srv"},
		{"User", cfg.User, "1000:1000"},
		{"Hostname", cfg.Hostname, "web"},
		{"StopSignal", cfg.StopSignal, "SIGQUIT"},
		{"Healthcheck", *cfg.Healthcheck, container.HealthConfig{Test: []string{"CMD", "/bin/check"}, Interval: 5 * time.Second, Timeout: 2 * time.Second, StartPeriod: 10 * time.Second, Retries: 3}},
		{"ExposedPorts", cfg.ExposedPorts, network.PortSet{p8080: {}, p53: {}, p9000: {}}},
		{"PortBindings", host.PortBindings, network.PortMap{
			p8080: {{HostPort: "32001"}, {HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "32002"}},
			p53:   {{HostPort: "5353"}},
			p9000: {{}},
		}},
		{"CPUShares", host.CPUShares, int64(512)},
		{"NanoCPUs", host.NanoCPUs, int64(500_000_000)},
		{"Memory", host.Memory, int64(256 << 20)},
		{"MemorySwap", host.MemorySwap, int64(256 << 20)},
		{"MemoryReservation", host.MemoryReservation, int64(128 << 20)},
		{"PidsLimit", *host.PidsLimit, int64(100)},
		{"NetworkMode", host.NetworkMode, container.NetworkMode("bridge")},
		{"NetworkingConfig", opts.NetworkingConfig, (*network.NetworkingConfig)(nil)},
		{"ExtraHosts", host.ExtraHosts, []string{"db:10.0.0.2"}},
		{"DNS", host.DNS, []netip.Addr{netip.MustParseAddr("10.0.0.53")}},
		{"DNSSearch", host.DNSSearch, []string{"svc.local"}},
		{"Mounts", host.Mounts, []mount.Mount{
			{Type: mount.TypeVolume, Source: "data", Target: "/data", VolumeOptions: &mount.VolumeOptions{Labels: labels}},
			{Type: mount.TypeBind, Source: "/etc/app", Target: "/etc/app", ReadOnly: true},
		}},
		{"Tmpfs", host.Tmpfs, map[string]string{"/tmp": "size=1048576,noexec,mode=1777"}},
		{"VolumesFrom", host.VolumesFrom, []string{"sidecar:ro"}},
		{"Ulimits", host.Ulimits, []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}}},
		{"ReadonlyRootfs", host.ReadonlyRootfs, true},
		{"Privileged", host.Privileged, true},
		{"Init", *host.Init, true},
		{"CapAdd", host.CapAdd, []string{"NET_ADMIN"}},
		{"CapDrop", host.CapDrop, []string{"ALL"}},
		{"ShmSize", host.ShmSize, int64(64 << 20)},
		{"Sysctls", host.Sysctls, map[string]string{"net.core.somaxconn": "1024"}},
		{"SecurityOpt", host.SecurityOpt, []string{"no-new-privileges"}},
		{"LogConfig", host.LogConfig, container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m"}}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("createOptions().%s = %#v; want %#v", tt.field, tt.got, tt.want)
		}
	}
}

func TestCreateOptionsDefaults(t *testing.T) {
	opts, err := createOptions(runtime.ContainerSpec{Image: "app", NetworkMode: "berth-net"})
	if err != nil {
		t.Fatal(err)
	}
	h := opts.HostConfig
	if h.Init != nil || h.PidsLimit != nil || h.MemorySwap != 0 || h.PortBindings != nil || opts.Config.Healthcheck != nil {
		t.Errorf("createOptions(minimal) = Init %v PidsLimit %v MemorySwap %d ports %v health %v; want engine defaults",
			h.Init, h.PidsLimit, h.MemorySwap, h.PortBindings, opts.Config.Healthcheck)
	}
	if ep := opts.NetworkingConfig; ep == nil || ep.EndpointsConfig["berth-net"] == nil {
		t.Errorf("createOptions(network berth-net).NetworkingConfig = %+v; want an endpoint on berth-net", ep)
	}
}

func TestCreateOptionsInvalid(t *testing.T) {
	tests := []struct {
		name string
		spec runtime.ContainerSpec
	}{
		{"DNSNotIP", runtime.ContainerSpec{DNSServers: []string{"dns.example"}}},
		{"ContainerPortZero", runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 0}}}},
		{"HostPortTooBig", runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 80, HostPort: 70000}}}},
		{"HostIPNotIP", runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 80, HostIP: "localhost"}}}},
		{"MountType", runtime.ContainerSpec{Mounts: []runtime.Mount{{Type: "npipe", Target: "/x"}}}},
	}
	for _, tt := range tests {
		if _, err := createOptions(tt.spec); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("createOptions(%s) = %v; want ErrInvalidArgument", tt.name, err)
		}
	}
}

func TestToContainer(t *testing.T) {
	p8080, p53, p9000 := network.MustParsePort("8080/tcp"), network.MustParsePort("53/udp"), network.MustParsePort("9000/tcp")
	p8081, p8082 := network.MustParsePort("8081/tcp"), network.MustParsePort("8082/tcp")
	running := container.InspectResponse{
		ID: "abc", Name: "/web-1", Image: "sha256:img", Created: "2026-11-26T03:24:16.5Z",
		Config:     &container.Config{Image: "reg/app:1", Labels: map[string]string{"a": "1"}},
		HostConfig: &container.HostConfig{NetworkMode: "bridge"},
		State: &container.State{Status: container.StateRunning, Running: true, StartedAt: "2026-11-26T03:24:17.25Z",
			FinishedAt: "0001-01-01T00:00:00Z", Health: &container.Health{Status: container.Healthy}},
		NetworkSettings: &container.NetworkSettings{
			Ports: network.PortMap{
				p8080: {{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: "32001"}, {HostIP: netip.MustParseAddr("::"), HostPort: "32001"}},
				p53:   {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "5353"}},
				p9000: nil, // exposed, not published
				// Docker 20.10 may choose different ports per family.
				p8081: {{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: "32819"}, {HostIP: netip.MustParseAddr("::"), HostPort: "32812"}},
				p8082: {{HostIP: netip.MustParseAddr("::1"), HostPort: "32900"}},
			},
			Networks: map[string]*network.EndpointSettings{"bridge": {IPAddress: netip.MustParseAddr("172.17.0.2")}},
		},
	}
	oom := container.InspectResponse{
		ID: "def", Name: "/job", Image: "sha256:img", Created: "2026-11-26T03:24:16Z",
		State: &container.State{Status: container.StateExited, ExitCode: 137, OOMKilled: true,
			StartedAt: "2026-11-26T03:24:17Z", FinishedAt: "2026-11-26T03:24:18Z", Health: &container.Health{Status: container.NoHealthcheck}},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{"bridge": {}}},
	}
	failed := container.InspectResponse{
		ID: "ghi", Name: "/p2", Created: "2026-11-26T03:24:16Z",
		State: &container.State{Status: container.StateCreated, ExitCode: 128, Error: "port is already allocated",
			StartedAt: "0001-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z"},
	}
	tests := []struct {
		name string
		in   container.InspectResponse
		want runtime.Container
	}{
		{"Running", running, runtime.Container{
			ID: "abc", Name: "web-1", Image: "reg/app:1", ImageID: "sha256:img", Labels: map[string]string{"a": "1"},
			State: "running", CreatedAt: time.Date(2026, 11, 26, 3, 24, 16, 500e6, time.UTC),
			StartedAt: time.Date(2026, 11, 26, 3, 24, 17, 250e6, time.UTC), Health: "healthy",
			Ports: []runtime.PortBinding{
				{ContainerPort: 53, HostPort: 5353, Protocol: "udp", HostIP: "127.0.0.1"},
				{ContainerPort: 8080, HostPort: 32001, Protocol: "tcp"},
				{ContainerPort: 8081, HostPort: 32819, Protocol: "tcp"},
				{ContainerPort: 8082, HostPort: 32900, Protocol: "tcp", HostIP: "::1"},
			},
			IPAddress: "172.17.0.2",
		}},
		{"OOMKilled", oom, runtime.Container{
			ID: "def", Name: "job", ImageID: "sha256:img", Labels: map[string]string{}, State: "exited", ExitCode: 137, OOMKilled: true,
			CreatedAt: time.Date(2026, 11, 26, 3, 24, 16, 0, time.UTC), StartedAt: time.Date(2026, 11, 26, 3, 24, 17, 0, time.UTC),
			FinishedAt: time.Date(2026, 11, 26, 3, 24, 18, 0, time.UTC),
		}},
		{"FailedStart", failed, runtime.Container{
			ID: "ghi", Name: "p2", Labels: map[string]string{}, State: "created", ExitCode: 128, Error: "port is already allocated",
			CreatedAt: time.Date(2026, 11, 26, 3, 24, 16, 0, time.UTC),
		}},
	}
	for _, tt := range tests {
		got := toContainer(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("toContainer(%s) =\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
	}
}

func TestToEvent(t *testing.T) {
	attrs := func(kv ...string) map[string]string {
		m := map[string]string{"image": "app:1", "name": "web", "berth.task": "t1"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	at := time.Unix(1795663477, 123)
	msg := func(action string, a map[string]string) events.Message {
		return events.Message{Type: events.ContainerEventType, Action: events.Action(action),
			Actor: events.Actor{ID: "abc", Attributes: a}, Time: at.Unix(), TimeNano: at.UnixNano()}
	}
	labels := map[string]string{"berth.task": "t1"}
	tests := []struct {
		in     events.Message
		want   runtime.Event
		wantOK bool
	}{
		{msg("create", attrs()), runtime.Event{ContainerID: "abc", Action: "create", Labels: labels, Time: at}, true},
		{msg("start", attrs()), runtime.Event{ContainerID: "abc", Action: "start", Labels: labels, Time: at}, true},
		{msg("die", attrs("exitCode", "137")), runtime.Event{ContainerID: "abc", Action: "die", ExitCode: 137, Labels: labels, Time: at}, true},
		{msg("oom", attrs()), runtime.Event{ContainerID: "abc", Action: "oom", Labels: labels, Time: at}, true},
		{msg("health_status: healthy", attrs()), runtime.Event{ContainerID: "abc", Action: "health_status", Health: "healthy", Labels: labels, Time: at}, true},
		{msg("health_status: unhealthy", attrs()), runtime.Event{ContainerID: "abc", Action: "health_status", Health: "unhealthy", Labels: labels, Time: at}, true},
		{msg("destroy", attrs()), runtime.Event{ContainerID: "abc", Action: "destroy", Labels: labels, Time: at}, true},
		{msg("exec_start: /bin/check", attrs()), runtime.Event{}, false},
		{msg("kill", attrs("signal", "15")), runtime.Event{}, false},
	}
	for _, tt := range tests {
		got, ok := toEvent(tt.in)
		if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("toEvent(%s) = %+v, %v; want %+v, %v", tt.in.Action, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestToStats(t *testing.T) {
	read := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   container.StatsResponse
		want runtime.Stats
	}{
		{"CgroupV1", container.StatsResponse{
			Read:        read,
			CPUStats:    container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: 5e9}, SystemUsage: 9e12, OnlineCPUs: 2},
			MemoryStats: container.MemoryStats{Usage: 30 << 20, Limit: 256 << 20, Stats: map[string]uint64{"total_inactive_file": 10 << 20}},
			Networks:    map[string]container.NetworkStats{"eth0": {RxBytes: 100, TxBytes: 50}, "eth1": {RxBytes: 1, TxBytes: 2}},
			PidsStats:   container.PidsStats{Current: 7},
			BlkioStats: container.BlkioStats{IoServiceBytesRecursive: []container.BlkioStatEntry{
				{Op: "Read", Value: 4096}, {Op: "Write", Value: 8192}, {Op: "Total", Value: 12288}}},
		}, runtime.Stats{Time: read, CPUTotalNanos: 5e9, SystemCPUNanos: 9e12, OnlineCPUs: 2, MemoryUsageBytes: 20 << 20,
			MemoryLimitBytes: 256 << 20, NetworkRxBytes: 101, NetworkTxBytes: 52, BlockReadBytes: 4096, BlockWriteBytes: 8192, PIDs: 7}},
		{"CgroupV2", container.StatsResponse{
			Read:        read,
			CPUStats:    container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: 1, PercpuUsage: []uint64{1, 0, 0, 0}}},
			MemoryStats: container.MemoryStats{Usage: 30 << 20, Stats: map[string]uint64{"inactive_file": 40 << 20}},
			BlkioStats:  container.BlkioStats{IoServiceBytesRecursive: []container.BlkioStatEntry{{Op: "read", Value: 1}, {Op: "write", Value: 2}}},
		}, runtime.Stats{Time: read, CPUTotalNanos: 1, OnlineCPUs: 4, MemoryUsageBytes: 30 << 20, BlockReadBytes: 1, BlockWriteBytes: 2}},
	}
	for _, tt := range tests {
		if got := toStats(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("toStats(%s) = %+v; want %+v", tt.name, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	httpErr := func(class error) error { return fmt.Errorf("Error response from daemon: x: %w", class) }
	tests := []struct {
		name string
		err  error
		op   op
		want error
	}{
		{"NotFound", httpErr(cerrdefs.ErrNotFound), opCreate, errdefs.ErrNotFound},
		{"NameConflict", httpErr(cerrdefs.ErrConflict), opCreate, errdefs.ErrAlreadyExists},
		{"Conflict", httpErr(cerrdefs.ErrConflict), opOther, errdefs.ErrConflict},
		{"BadRequest", httpErr(cerrdefs.ErrInvalidArgument), opOther, errdefs.ErrInvalidArgument},
		{"InternalOnCreate", httpErr(cerrdefs.ErrInternal), opCreate, errdefs.ErrInvalidArgument},
		{"InternalOnStart", httpErr(cerrdefs.ErrInternal), opStart, errdefs.ErrInvalidArgument},
		{"Unavailable", httpErr(cerrdefs.ErrUnavailable), opOther, errdefs.ErrUnavailable},
		{"Unauthorized", httpErr(cerrdefs.ErrUnauthenticated), opOther, errdefs.ErrAccessDenied},
		{"Forbidden", httpErr(cerrdefs.ErrPermissionDenied), opOther, errdefs.ErrAccessDenied},
	}
	for _, tt := range tests {
		got := classify(tt.err, tt.op, "op")
		if !errors.Is(got, tt.want) {
			t.Errorf("classify(%s) = %v; want %v", tt.name, got, tt.want)
		}
		if !strings.Contains(got.Error(), "op: Error response from daemon: x") {
			t.Errorf("classify(%s) = %q; want Docker's message kept", tt.name, got)
		}
	}
	internal := classify(httpErr(cerrdefs.ErrInternal), opOther, "op")
	for _, class := range []error{errdefs.ErrNotFound, errdefs.ErrInvalidArgument, errdefs.ErrUnavailable, errdefs.ErrConflict} {
		if errors.Is(internal, class) {
			t.Errorf("classify(500 on inspect) = %v; want no class, got %v", internal, class)
		}
	}
	if classify(nil, opOther, "op") != nil {
		t.Error("classify(nil) != nil")
	}
}

func TestEncodeAuth(t *testing.T) {
	enc, err := encodeAuth(runtime.RegistryAuth{Username: "AWS", Password: "p+/?=", ServerAddress: "127.0.0.1:4566"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.URLEncoding.DecodeString(enc)
	if err != nil {
		t.Fatalf("encodeAuth() = %q, not base64url: %v", enc, err)
	}
	var got map[string]string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"username": "AWS", "password": "p+/?=", "serveraddress": "127.0.0.1:4566"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("encodeAuth() decodes to %v; want %v", got, want)
	}
}

func TestRepoDigest(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	digests := []string{"busybox@" + d1, "127.0.0.1:4566/team/app@" + d2}
	tests := []struct {
		ref, want string
	}{
		{"busybox", d1},
		{"docker.io/library/busybox:1.36", d1},
		{"127.0.0.1:4566/team/app:v2", d2},
		{"127.0.0.1:4566/team/app@" + d1, d1},
		{"other:1", ""},
		{"Not A Ref", ""},
	}
	for _, tt := range tests {
		if got := repoDigest(tt.ref, digests); got != tt.want {
			t.Errorf("repoDigest(%q) = %q; want %q", tt.ref, got, tt.want)
		}
	}
}

func TestStreamError(t *testing.T) {
	tests := []struct {
		code int
		want error
	}{
		{404, errdefs.ErrNotFound},
		{401, errdefs.ErrAccessDenied},
		{0, nil},
	}
	for _, tt := range tests {
		err := streamError("app:1", tt.code, "manifest unknown")
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("streamError(%d) = %v; want %v", tt.code, err, tt.want)
		}
		if !strings.Contains(err.Error(), "manifest unknown") {
			t.Errorf("streamError(%d) = %q; want the stream's message", tt.code, err)
		}
	}
}

func TestUnreachableEngine(t *testing.T) {
	d, err := New(Config{Host: "unix:///nonexistent/berth-docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := t.Context()
	if err := d.Ping(ctx); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("Ping(no engine) = %v; want ErrUnavailable", err)
	}
	if _, err := d.CreateContainer(ctx, runtime.ContainerSpec{Image: "app"}); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("CreateContainer(no engine) = %v; want ErrUnavailable", err)
	}
	if _, err := d.PullImage(ctx, "Not A Ref", nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("PullImage(bad reference) = %v; want ErrInvalidArgument", err)
	}
	_, errs := d.Events(ctx, nil)
	if err := <-errs; !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("Events(no engine) error = %v; want ErrUnavailable", err)
	}
}
