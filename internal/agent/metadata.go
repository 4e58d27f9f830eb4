package agent

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/runtime"
)

// metadataServer serves the task metadata endpoint v4 to containers: each
// container gets a URL with a random key that names it, in
// ECS_CONTAINER_METADATA_URI_V4.
//
// Every other path is relayed to the control plane, so that tasks reach
// Berth's AWS APIs at AWS_ENDPOINT_URL (this server) from inside a bridge
// network, where the control plane's own address may be unreachable.
type metadataServer struct {
	a     *Agent
	ln    net.Listener
	base  string // http://addr
	relay http.Handler
	// secret keys the containers' URIs (see register).
	secret []byte

	mu   sync.Mutex
	keys map[string]metaRef
}

type metaRef struct {
	r         *runner
	container string // container name in the task
}

func newMetadataServer(a *Agent, addr string) (*metadataServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	target, err := url.Parse(a.cfg.Server)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("agent: server URL: %w", err)
	}
	relay := httputil.NewSingleHostReverseProxy(target)
	relay.Transport = a.client.Transport()
	secret, err := a.local.metadataSecret()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("agent: metadata secret: %w", err)
	}
	return &metadataServer{a: a, ln: ln, base: "http://" + ln.Addr().String(), keys: map[string]metaRef{}, relay: relay, secret: secret}, nil
}

// register returns the URI for one container of r. The key is derived from
// the agent's metadata secret, the task and the container, so that containers
// adopted after an agent restart keep the URI they were started with.
func (m *metadataServer) register(r *runner, container string) string {
	mac := hmac.New(sha256.New, m.secret)
	mac.Write([]byte(r.current().TaskARN + "\x00" + container))
	key := hex.EncodeToString(mac.Sum(nil)[:16])
	m.mu.Lock()
	m.keys[key] = metaRef{r: r, container: container}
	m.mu.Unlock()
	return m.base + "/v4/" + key
}

func (m *metadataServer) forget(r *runner) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, ref := range m.keys {
		if ref.r == r {
			delete(m.keys, k)
		}
	}
}

func (m *metadataServer) run(ctx context.Context) {
	srv := &http.Server{Handler: http.HandlerFunc(m.serve), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.a.log.Warn("metadata endpoint stopped", "err", err)
		}
	}()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-done
}

func (m *metadataServer) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v4/")
	if !ok {
		// The signature covers the Host header the task sent, which the
		// relay keeps.
		m.relay.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	key, sub, _ := strings.Cut(rest, "/")
	m.mu.Lock()
	ref, ok := m.keys[key]
	m.mu.Unlock()
	if !ok {
		http.Error(w, "unknown container", http.StatusNotFound)
		return
	}
	meta := ref.r.metadata()
	var v any
	switch sub {
	case "":
		c, ok := meta.container(ref.container)
		if !ok {
			http.NotFound(w, r)
			return
		}
		v = c
	case "task":
		v = meta.task(false)
	case "taskWithTags":
		v = meta.task(true)
	case "stats":
		c, ok := meta.container(ref.container)
		if !ok || c.DockerID == "" {
			http.NotFound(w, r)
			return
		}
		v = m.stats(r.Context(), c.DockerID)
	case "task/stats":
		all := map[string]any{}
		for _, c := range meta.Containers {
			if c.DockerID != "" {
				all[c.DockerID] = m.stats(r.Context(), c.DockerID)
			}
		}
		v = all
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// dockerStats is the subset of Docker's stats document the endpoint
// returns, in Docker's shape.
type dockerStats struct {
	Read     time.Time `json:"read"`
	CPUStats struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
		SystemCPUUsage uint64 `json:"system_cpu_usage"`
		OnlineCPUs     int    `json:"online_cpus"`
	} `json:"cpu_stats"`
	MemoryStats struct {
		Usage uint64 `json:"usage"`
		Limit uint64 `json:"limit"`
	} `json:"memory_stats"`
	Networks map[string]struct {
		RxBytes uint64 `json:"rx_bytes"`
		TxBytes uint64 `json:"tx_bytes"`
	} `json:"networks,omitempty"`
	PidsStats struct {
		Current uint64 `json:"current"`
	} `json:"pids_stats"`
}

func (m *metadataServer) stats(ctx context.Context, id string) any {
	s, err := m.a.rt.Stats(ctx, id)
	if err != nil {
		return nil
	}
	return toDockerStats(s)
}

func toDockerStats(s runtime.Stats) dockerStats {
	var d dockerStats
	d.Read = s.Time
	d.CPUStats.CPUUsage.TotalUsage = s.CPUTotalNanos
	d.CPUStats.SystemCPUUsage = s.SystemCPUNanos
	d.CPUStats.OnlineCPUs = s.OnlineCPUs
	d.MemoryStats.Usage, d.MemoryStats.Limit = s.MemoryUsageBytes, s.MemoryLimitBytes
	d.Networks = map[string]struct {
		RxBytes uint64 `json:"rx_bytes"`
		TxBytes uint64 `json:"tx_bytes"`
	}{"eth0": {RxBytes: s.NetworkRxBytes, TxBytes: s.NetworkTxBytes}}
	d.PidsStats.Current = s.PIDs
	return d
}

// Metadata documents, in the shapes of the ECS task metadata endpoint v4.

type metaLimits struct {
	CPU    float64 `json:"CPU"`
	Memory int64   `json:"Memory"`
}

type metaPort struct {
	ContainerPort int32  `json:"ContainerPort"`
	Protocol      string `json:"Protocol"`
	HostPort      int32  `json:"HostPort,omitempty"`
	HostIP        string `json:"HostIp,omitempty"`
}

type metaNetwork struct {
	NetworkMode   string   `json:"NetworkMode"`
	IPv4Addresses []string `json:"IPv4Addresses,omitempty"`
}

type metaContainer struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID,omitempty"`
	Ports         []metaPort        `json:"Ports,omitempty"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        metaLimits        `json:"Limits"`
	CreatedAt     *time.Time        `json:"CreatedAt,omitempty"`
	StartedAt     *time.Time        `json:"StartedAt,omitempty"`
	FinishedAt    *time.Time        `json:"FinishedAt,omitempty"`
	Type          string            `json:"Type"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	Networks      []metaNetwork     `json:"Networks,omitempty"`
}

type metaTask struct {
	Cluster               string            `json:"Cluster"`
	TaskARN               string            `json:"TaskARN"`
	Family                string            `json:"Family"`
	Revision              string            `json:"Revision"`
	DesiredStatus         string            `json:"DesiredStatus"`
	KnownStatus           string            `json:"KnownStatus"`
	Limits                *metaLimits       `json:"Limits,omitempty"`
	PullStartedAt         *time.Time        `json:"PullStartedAt,omitempty"`
	PullStoppedAt         *time.Time        `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    *time.Time        `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string            `json:"AvailabilityZone"`
	LaunchType            string            `json:"LaunchType"`
	Containers            []metaContainer   `json:"Containers"`
	TaskTags              map[string]string `json:"TaskTags,omitempty"`
	ContainerInstanceTags map[string]string `json:"ContainerInstanceTags,omitempty"`
}

// metaView is what a runner publishes for the endpoint.
type metaView struct {
	metaTask
}

func (v metaView) container(name string) (metaContainer, bool) {
	for _, c := range v.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return metaContainer{}, false
}

func (v metaView) task(withTags bool) metaTask {
	t := v.metaTask
	if withTags {
		t.TaskTags = map[string]string{}
		t.ContainerInstanceTags = map[string]string{}
	}
	return t
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
