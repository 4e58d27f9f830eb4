package fake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
	"github.com/berthhq/berth/internal/runtime/fake"
)

const img = "berth-testapp:fake"

func newFake(t *testing.T, cfg fake.Config) *fake.Fake {
	f := fake.New(cfg)
	f.AddImage(img)
	t.Cleanup(func() { removeAll(t, f) })
	return f
}

func mustRun(t *testing.T, f *fake.Fake, spec runtime.ContainerSpec) string {
	t.Helper()
	if spec.Image == "" {
		spec.Image = img
	}
	id, err := f.CreateContainer(t.Context(), spec)
	if err != nil {
		t.Fatalf("CreateContainer(%+v) = %v", spec, err)
	}
	if err := f.StartContainer(t.Context(), id); err != nil {
		t.Fatalf("StartContainer() = %v", err)
	}
	return id
}

func state(t *testing.T, f *fake.Fake, id string) runtime.Container {
	t.Helper()
	c, err := f.InspectContainer(t.Context(), id)
	if err != nil {
		t.Fatalf("InspectContainer(%.12s) = %v", id, err)
	}
	return c
}

func TestPullImage(t *testing.T) {
	auth := &runtime.RegistryAuth{Username: "u", Password: "p", ServerAddress: "reg.test"}
	tests := []struct {
		name    string
		add     string
		cfg     fake.ImageConfig
		pull    string
		auth    *runtime.RegistryAuth
		wantErr error
	}{
		{name: "Unknown", pull: "reg.test/absent:1", wantErr: errdefs.ErrNotFound},
		{name: "Added", add: "reg.test/app:1", pull: "reg.test/app:1"},
		{name: "ImplicitLatest", add: "reg.test/app", pull: "reg.test/app:latest"},
		{name: "OtherTag", add: "reg.test/app:1", pull: "reg.test/app:2", wantErr: errdefs.ErrNotFound},
		{name: "Remote", add: "reg.test/app:1", cfg: fake.ImageConfig{Remote: true}, pull: "reg.test/app:1"},
		{name: "AuthMissing", add: "reg.test/app:1", cfg: fake.ImageConfig{Remote: true, Auth: auth}, pull: "reg.test/app:1", wantErr: errdefs.ErrAccessDenied},
		{name: "AuthWrong", add: "reg.test/app:1", cfg: fake.ImageConfig{Remote: true, Auth: auth}, pull: "reg.test/app:1",
			auth: &runtime.RegistryAuth{Username: "u", Password: "x"}, wantErr: errdefs.ErrAccessDenied},
		{name: "AuthRight", add: "reg.test/app:1", cfg: fake.ImageConfig{Remote: true, Auth: auth}, pull: "reg.test/app:1", auth: auth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			f := fake.New(fake.Config{})
			var added runtime.Image
			if tt.add != "" {
				added = f.AddImageConfig(tt.add, tt.cfg)
			}
			got, err := f.PullImage(ctx, tt.pull, tt.auth)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("PullImage(%s) = %v; want %v", tt.pull, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got != added || got.Digest == "" {
				t.Errorf("PullImage(%s) = %+v; want %+v with a digest", tt.pull, got, added)
			}
			if insp, err := f.InspectImage(ctx, tt.pull); err != nil || insp != added {
				t.Errorf("InspectImage(%s) after pull = %+v, %v; want %+v", tt.pull, insp, err, added)
			}
		})
	}
}

func TestRemoteImageIsNotLocalUntilPulled(t *testing.T) {
	ctx := t.Context()
	f := fake.New(fake.Config{})
	const ref = "reg.test/app:1"
	added := f.AddImageConfig(ref, fake.ImageConfig{Remote: true})
	if _, err := f.InspectImage(ctx, ref); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("InspectImage(remote) = %v; want ErrNotFound", err)
	}
	if _, err := f.CreateContainer(ctx, runtime.ContainerSpec{Image: ref}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("CreateContainer(remote) = %v; want ErrNotFound", err)
	}
	if _, err := f.PullImage(ctx, ref, nil); err != nil {
		t.Fatalf("PullImage() = %v", err)
	}
	byDigest := "reg.test/app@" + added.Digest
	if got, err := f.InspectImage(ctx, byDigest); err != nil || got != added {
		t.Errorf("InspectImage(%s) = %+v, %v; want %+v", byDigest, got, err, added)
	}
	if _, err := f.CreateContainer(ctx, runtime.ContainerSpec{Image: ref}); err != nil {
		t.Errorf("CreateContainer(pulled) = %v; want nil", err)
	}
}

func TestFailNext(t *testing.T) {
	boom := fmt.Errorf("boom: %w", errdefs.ErrUnavailable)
	tests := []struct {
		name string
		arm  func(*fake.Fake)
		call func(context.Context, *fake.Fake) error
	}{
		{"Pull", func(f *fake.Fake) { f.FailNextPull(boom) }, func(ctx context.Context, f *fake.Fake) error {
			_, err := f.PullImage(ctx, img, nil)
			return err
		}},
		{"Create", func(f *fake.Fake) { f.FailNextCreate(boom) }, func(ctx context.Context, f *fake.Fake) error {
			_, err := f.CreateContainer(ctx, runtime.ContainerSpec{Image: img})
			return err
		}},
		{"Start", func(f *fake.Fake) { f.FailNextStart(boom) }, func(ctx context.Context, f *fake.Fake) error {
			id, err := f.CreateContainer(ctx, runtime.ContainerSpec{Image: img})
			if err != nil {
				return err
			}
			return f.StartContainer(ctx, id)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fake.Config{})
			tt.arm(f)
			if err := tt.call(t.Context(), f); !errors.Is(err, boom) {
				t.Errorf("%s after FailNext = %v; want %v", tt.name, err, boom)
			}
			if err := tt.call(t.Context(), f); err != nil {
				t.Errorf("%s the second time = %v; want nil", tt.name, err)
			}
		})
	}
}

func TestFailedStartIsRecorded(t *testing.T) {
	f := newFake(t, fake.Config{})
	ctx := t.Context()
	boom := errors.New("OCI runtime create failed")
	f.FailNextStart(boom)
	id, err := f.CreateContainer(ctx, runtime.ContainerSpec{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.StartContainer(ctx, id); !errors.Is(err, boom) {
		t.Fatalf("StartContainer() = %v; want %v", err, boom)
	}
	if c := state(t, f, id); c.State != runtime.StateCreated || c.ExitCode != 128 || c.Error != boom.Error() {
		t.Errorf("after a failed start: state %s exit %d error %q; want created 128 %q", c.State, c.ExitCode, c.Error, boom)
	}
}

func TestRestart(t *testing.T) {
	tests := []struct {
		liveRestore bool
		wantState   string
		wantExit    int
	}{
		{false, runtime.StateExited, 137},
		{true, runtime.StateRunning, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("LiveRestore=%v", tt.liveRestore), func(t *testing.T) {
			f := newFake(t, fake.Config{LiveRestore: tt.liveRestore})
			id := mustRun(t, f, runtime.ContainerSpec{})
			evs, errs := f.Events(t.Context(), nil)
			f.Restart()
			if c := state(t, f, id); c.State != tt.wantState || c.ExitCode != tt.wantExit {
				t.Errorf("after Restart: state %s exit %d; want %s %d", c.State, c.ExitCode, tt.wantState, tt.wantExit)
			}
			if err := <-errs; !errors.Is(err, errdefs.ErrUnavailable) {
				t.Errorf("event stream error after Restart = %v; want ErrUnavailable", err)
			}
			if ev, ok := <-evs; ok {
				t.Errorf("event after Restart = %+v; want the stream closed", ev)
			}
		})
	}
}

func TestKill(t *testing.T) {
	f := newFake(t, fake.Config{})
	ctx := t.Context()
	id := mustRun(t, f, runtime.ContainerSpec{Command: []string{"-ignore-sigterm"}})
	if err := f.Kill(id); err != nil {
		t.Fatalf("Kill(running) = %v; want nil", err)
	}
	if c := state(t, f, id); c.State != runtime.StateExited || c.ExitCode != 137 || c.OOMKilled {
		t.Errorf("after Kill: state %s exit %d oom %v; want exited 137, not OOM", c.State, c.ExitCode, c.OOMKilled)
	}
	if err := f.Kill(id); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("Kill(exited) = %v; want ErrConflict", err)
	}
	if err := f.Kill("absent"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Kill(absent) = %v; want ErrNotFound", err)
	}
	if err := f.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("StopContainer(killed) = %v; want nil", err)
	}
}

func TestSetUnreachable(t *testing.T) {
	f := newFake(t, fake.Config{})
	ctx := t.Context()
	f.SetUnreachable(true)
	if err := f.Ping(ctx); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("Ping(unreachable) = %v; want ErrUnavailable", err)
	}
	if _, err := f.ListContainers(ctx, nil); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("ListContainers(unreachable) = %v; want ErrUnavailable", err)
	}
	_, errs := f.Events(ctx, nil)
	if err := <-errs; !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("Events(unreachable) error = %v; want ErrUnavailable", err)
	}
	f.SetUnreachable(false)
	if err := f.Ping(ctx); err != nil {
		t.Errorf("Ping(reachable again) = %v; want nil", err)
	}
}

func TestEventsEndWithContext(t *testing.T) {
	f := newFake(t, fake.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	evs, errs := f.Events(ctx, nil)
	cancel()
	if _, ok := <-evs; ok {
		t.Error("event after cancel; want the stream closed")
	}
	if err, ok := <-errs; ok {
		t.Errorf("error after cancel = %v; want none, channel closed", err)
	}
}

func TestCreateValidation(t *testing.T) {
	tests := []struct {
		name string
		spec runtime.ContainerSpec
		want error
	}{
		{"BadName", runtime.ContainerSpec{Name: "no spaces"}, errdefs.ErrInvalidArgument},
		{"TinyMemory", runtime.ContainerSpec{MemoryBytes: 1 << 20}, errdefs.ErrInvalidArgument},
		{"ReservationAboveLimit", runtime.ContainerSpec{MemoryBytes: 64 << 20, MemoryReservation: 128 << 20}, errdefs.ErrInvalidArgument},
		{"BadStopSignal", runtime.ContainerSpec{StopSignal: "SIGNOPE"}, errdefs.ErrInvalidArgument},
		{"BadProtocol", runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 80, Protocol: "icmp"}}}, errdefs.ErrInvalidArgument},
		{"PortZero", runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 0, Protocol: "tcp"}}}, errdefs.ErrInvalidArgument},
		{"RelativeTarget", runtime.ContainerSpec{Mounts: []runtime.Mount{{Type: runtime.MountTmpfs, Target: "tmp"}}}, errdefs.ErrInvalidArgument},
		{"BindWithoutSource", runtime.ContainerSpec{Mounts: []runtime.Mount{{Type: runtime.MountBind, Target: "/x"}}}, errdefs.ErrInvalidArgument},
		{"DuplicateTarget", runtime.ContainerSpec{Mounts: []runtime.Mount{{Type: runtime.MountTmpfs, Target: "/x"}, {Type: runtime.MountTmpfs, Target: "/x/"}}}, errdefs.ErrInvalidArgument},
		{"ReadOnlyAnonymousVolume", runtime.ContainerSpec{Mounts: []runtime.Mount{{Type: runtime.MountVolume, Target: "/x", ReadOnly: true}}}, errdefs.ErrInvalidArgument},
		{"NegativeRetries", runtime.ContainerSpec{HealthCheck: &runtime.HealthCheck{Test: []string{"NONE"}, Retries: -1}}, errdefs.ErrInvalidArgument},
		{"UnknownNetwork", runtime.ContainerSpec{NetworkMode: "berth-net"}, errdefs.ErrNotFound},
		{"ContainerNetworkAbsent", runtime.ContainerSpec{NetworkMode: "container:absent"}, errdefs.ErrNotFound},
		{"VolumesFromAbsent", runtime.ContainerSpec{VolumesFrom: []string{"absent:ro"}}, errdefs.ErrNotFound},
		{"UnknownImage", runtime.ContainerSpec{Image: "absent:1"}, errdefs.ErrNotFound},
		{"NoCommand", runtime.ContainerSpec{Image: "nocmd:1"}, errdefs.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, fake.Config{})
			f.AddImageConfig("nocmd:1", fake.ImageConfig{Entrypoint: []string{}})
			if tt.spec.Image == "" {
				tt.spec.Image = img
			}
			if _, err := f.CreateContainer(t.Context(), tt.spec); !errors.Is(err, tt.want) {
				t.Errorf("CreateContainer(%s) = %v; want %v", tt.name, err, tt.want)
			}
		})
	}
}

func TestNetworkModes(t *testing.T) {
	f := newFake(t, fake.Config{})
	ctx := t.Context()
	f.AddNetwork("berth-net")
	pause := mustRun(t, f, runtime.ContainerSpec{NetworkMode: "berth-net"})
	if c := state(t, f, pause); c.IPAddress == "" {
		t.Errorf("IPAddress on a user network = %q; want one", c.IPAddress)
	}
	joined := mustRun(t, f, runtime.ContainerSpec{NetworkMode: "container:" + pause})
	if c := state(t, f, joined); c.IPAddress != "" {
		t.Errorf("IPAddress of a container:<id> container = %q; want none (it shares the other's)", c.IPAddress)
	}
	if _, err := f.CreateContainer(ctx, runtime.ContainerSpec{Image: img, NetworkMode: "container:" + pause,
		Ports: []runtime.PortBinding{{ContainerPort: 80, Protocol: "tcp"}}}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("CreateContainer(container mode with ports) = %v; want ErrInvalidArgument", err)
	}
	if err := f.StopContainer(ctx, pause, time.Second); err != nil {
		t.Fatal(err)
	}
	late, err := f.CreateContainer(ctx, runtime.ContainerSpec{Image: img, NetworkMode: "container:" + pause})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.StartContainer(ctx, late); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("StartContainer(joining a stopped container) = %v; want ErrConflict", err)
	}
}

func TestEphemeralPorts(t *testing.T) {
	f := newFake(t, fake.Config{PortRangeStart: 40000, PortRangeEnd: 40001})
	ctx := t.Context()
	spec := runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 80, Protocol: "tcp"}}}
	var got []int
	for range 2 {
		c := state(t, f, mustRun(t, f, spec))
		got = append(got, c.Ports[0].HostPort)
	}
	if got[0] != 40000 || got[1] != 40001 {
		t.Errorf("host ports picked = %v; want [40000 40001]", got)
	}
	third, err := f.CreateContainer(ctx, runtime.ContainerSpec{Image: img, Ports: spec.Ports})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.StartContainer(ctx, third); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("StartContainer(range exhausted) = %v; want ErrInvalidArgument", err)
	}
}

func TestHTTPGet(t *testing.T) {
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "metadata %s", r.URL.Path)
	}))
	defer metadata.Close()

	f := newFake(t, fake.Config{})
	ctx := t.Context()
	mustRun(t, f, runtime.ContainerSpec{
		Command: []string{"-listen", ":8080"},
		Env:     []string{"ECS_CONTAINER_METADATA_URI_V4=" + metadata.URL + "/v4/abc"},
		Ports:   []runtime.PortBinding{{ContainerPort: 8080, HostPort: 18080, Protocol: "tcp"}, {ContainerPort: 9090, HostPort: 19090, Protocol: "tcp"}},
	})
	mustRun(t, f, runtime.ContainerSpec{Command: []string{"-listen", ":7070"}, NetworkMode: "host"})

	tests := []struct {
		port       int
		target     string
		wantStatus int
		wantBody   string
		wantErr    error
	}{
		{port: 18080, target: "/", wantStatus: 200},
		{port: 18080, target: "/health", wantStatus: 200, wantBody: "healthy\n"},
		{port: 18080, target: "/metadata?path=/task", wantStatus: 200, wantBody: "metadata /v4/abc/task"},
		{port: 18080, target: "/nope", wantStatus: 404, wantBody: "404 page not found\n"},
		{port: 7070, target: "/", wantStatus: 200},
		{port: 19090, target: "/", wantErr: syscall.ECONNREFUSED}, // bound, but nothing listens on 9090
		{port: 18081, target: "/", wantErr: syscall.ECONNREFUSED},
	}
	for _, tt := range tests {
		status, body, err := f.HTTPGet(ctx, tt.port, tt.target)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("HTTPGet(%d, %s) error = %v; want %v", tt.port, tt.target, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if status != tt.wantStatus || (tt.wantBody != "" && string(body) != tt.wantBody) {
			t.Errorf("HTTPGet(%d, %s) = %d %q; want %d %q", tt.port, tt.target, status, body, tt.wantStatus, tt.wantBody)
		}
	}
}

func TestHTTPGetSleepUsesTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t, fake.Config{})
		mustRun(t, f, runtime.ContainerSpec{Command: []string{"-listen", ":8080"},
			Ports: []runtime.PortBinding{{ContainerPort: 8080, HostPort: 18080, Protocol: "tcp"}}})
		begin := time.Now()
		status, body, err := f.HTTPGet(t.Context(), 18080, "/sleep?d=2s")
		if err != nil || status != 200 || time.Since(begin) != 2*time.Second {
			t.Errorf("HTTPGet(/sleep?d=2s) = %d %q %v after %v; want 200 after 2s", status, body, err, time.Since(begin))
		}
	})
}

// TestHealthStartPeriod: failures inside the start period do not count.
func TestHealthStartPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t, fake.Config{})
		id := mustRun(t, f, runtime.ContainerSpec{HealthCheck: &runtime.HealthCheck{
			Test:        []string{"CMD-SHELL", "exit 0"}, // no /bin/sh in a testapp image: fails
			Interval:    time.Second,
			StartPeriod: 5 * time.Second,
			Retries:     2,
		}})
		tests := []struct {
			at   time.Duration
			want string
		}{
			{500 * time.Millisecond, runtime.HealthStarting},
			{4500 * time.Millisecond, runtime.HealthStarting},
			{5500 * time.Millisecond, runtime.HealthStarting}, // first failure that counts
			{6500 * time.Millisecond, runtime.HealthUnhealthy},
		}
		begin := time.Now()
		for _, tt := range tests {
			time.Sleep(tt.at - time.Since(begin))
			synctest.Wait()
			if c := state(t, f, id); c.Health != tt.want {
				t.Errorf("Health at %v = %q; want %q", tt.at, c.Health, tt.want)
			}
		}
	})
}

func TestOtherImages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t, fake.Config{})
		f.AddImageConfig("nginx:1", fake.ImageConfig{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx"}, Labels: map[string]string{"vendor": "x"}})
		id := mustRun(t, f, runtime.ContainerSpec{Image: "nginx:1", Labels: map[string]string{"vendor": "berth", "app": "web"}})
		c := state(t, f, id)
		if !c.Running() || c.Labels["vendor"] != "berth" || c.Labels["app"] != "web" {
			t.Errorf("other image: running %v labels %v; want running, spec labels over image labels", c.Running(), c.Labels)
		}
		if err := f.StopContainer(t.Context(), id, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if c := state(t, f, id); c.ExitCode != 143 {
			t.Errorf("other image stopped: exit %d; want 143", c.ExitCode)
		}
	})
}

func TestStatsOfStoppedContainer(t *testing.T) {
	f := newFake(t, fake.Config{})
	id := mustRun(t, f, runtime.ContainerSpec{Command: []string{"-exit", "0"}})
	s, err := f.Stats(t.Context(), id)
	if err != nil || s.Time.IsZero() || s.MemoryUsageBytes != 0 || s.CPUTotalNanos != 0 {
		t.Errorf("Stats(exited) = %+v, %v; want a zero sample with a time", s, err)
	}
}

func TestParseTestapp(t *testing.T) {
	tests := []struct {
		args    []string
		want    fake.Testapp
		wantErr bool
	}{
		{args: nil, want: fake.Testapp{TermExit: 143}},
		{args: []string{"-exit", "0"}, want: fake.Testapp{TermExit: 143, ExitSet: true}},
		{args: []string{"-listen", ":8080", "-unhealthy-after", "3s", "-term-exit", "0", "-term-delay", "1s"},
			want: fake.Testapp{Listen: ":8080", UnhealthyAfter: 3 * time.Second, TermDelay: time.Second}},
		{args: []string{"-write", "/a=1", "-write", "/b=x=y"}, want: fake.Testapp{TermExit: 143, Writes: []string{"/a=1", "/b=x=y"}}},
		{args: []string{"-write", "noequals"}, wantErr: true},
		{args: []string{"-nope"}, wantErr: true},
		{args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := fake.ParseTestapp(tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTestapp(%q) error = %v; want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if err == nil && fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("ParseTestapp(%q) = %+v; want %+v", tt.args, got, tt.want)
		}
	}
	if p := (fake.Testapp{Listen: "0.0.0.0:9000"}).ListenPort(); p != 9000 {
		t.Errorf("ListenPort(0.0.0.0:9000) = %d; want 9000", p)
	}
}
