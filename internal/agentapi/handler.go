package agentapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/state"
)

// Config configures the server side of the agent protocol.
type Config struct {
	// Account owns the instances that join with the join token.
	Account string
	// Heartbeat is how often agents should heartbeat.
	Heartbeat time.Duration
	// Grace is how long after its last heartbeat an agent counts as
	// connected; a heartbeat after a longer silence is written to the
	// instance's record, so that watchers see the agent back. Default: three
	// heartbeats.
	Grace time.Duration
	// MaxWait caps a blocking watch.
	MaxWait time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
	// Logs receives container output; nil refuses /agent/v1/logs.
	Logs LogSink
	// Secrets resolves the secrets tasks reference; nil refuses
	// /agent/v1/secrets.
	Secrets SecretResolver
	// Registry mints pull tokens for the server's image registry; nil
	// refuses /agent/v1/registry-auth.
	Registry RegistryTokens
}

// RegistryTokens mints tokens for the server's registry.
type RegistryTokens interface {
	Host() string
	MintToken(account, region, principalARN string, now time.Time) (token string, expires time.Time)
}

// SecretResolver returns the current value a valueFrom names (an SSM
// parameter name or ARN, or a Secrets Manager ARN with its optional
// json-key/stage/version suffix) for an account and region. Its errors
// name the reference, never a value, and carry errdefs classes.
type SecretResolver interface {
	Resolve(ctx context.Context, account, region, valueFrom string) (string, error)
}

// LogSink stores container output in CloudWatch Logs. Its errors carry
// errdefs classes: ErrNotFound (no such group), ErrInvalidArgument (a batch
// rule broken), anything else is retried by the agent.
type LogSink interface {
	Ingest(ctx context.Context, account, region, group, stream string, createGroup bool, events []LogEvent) error
}

// Handler serves /agent/v1/.
type Handler struct {
	cfg   Config
	store *state.Store
	log   *slog.Logger
	mux   *http.ServeMux
}

// NewHandler returns the agent API over store.
func NewHandler(cfg Config, store *state.Store) *Handler {
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 10 * time.Second
	}
	if cfg.Grace == 0 {
		cfg.Grace = 3 * cfg.Heartbeat
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, store: store, log: cfg.Logger.With("component", "agentapi"), mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /agent/v1/register", h.register)
	h.mux.HandleFunc("GET /agent/v1/tasks", h.withInstance(h.tasks))
	h.mux.HandleFunc("POST /agent/v1/report", h.withInstance(h.report))
	h.mux.HandleFunc("POST /agent/v1/heartbeat", h.withInstance(h.heartbeat))
	h.mux.HandleFunc("POST /agent/v1/logs", h.withInstance(h.logs))
	h.mux.HandleFunc("POST /agent/v1/secrets", h.withInstance(h.secrets))
	h.mux.HandleFunc("POST /agent/v1/registry-auth", h.withInstance(h.registryAuth))
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeErr(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, ErrorResponse{Code: code, Message: fmt.Sprintf(format, args...)})
}

// fail answers with the error class of err.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	var e *errdefs.Error
	switch {
	case errors.As(err, &e) && errors.Is(err, errdefs.ErrNotFound):
		writeErr(w, http.StatusNotFound, CodeNotFound, "%s", e.Message)
	case errors.As(err, &e) && errors.Is(err, errdefs.ErrInvalidArgument):
		writeErr(w, http.StatusBadRequest, CodeInvalid, "%s", e.Message)
	case errors.Is(err, errdefs.ErrUnavailable), errors.Is(err, errdefs.ErrConflict):
		writeErr(w, http.StatusServiceUnavailable, CodeUnavailable, "the control plane is busy; retry")
	default:
		h.log.Error("agent api", "err", err)
		writeErr(w, http.StatusInternalServerError, CodeInternal, "internal error")
	}
}

func decode(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

func equalHash(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// DefaultReservedPorts are the host ports ECS reserves on every instance.
var DefaultReservedPorts = []int{22, 2375, 2376, 51678, 51679}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	var req RegisterRequest
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "registration body is not valid JSON: %v", err)
		return
	}
	ctx := r.Context()
	snap := h.store.Snapshot()
	if req.Cluster == "" {
		req.Cluster = "default"
	}
	if req.Region == "" {
		req.Region = "us-east-1"
	}
	if !clusterNameRE.MatchString(req.Cluster) || !regionRE.MatchString(req.Region) {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "invalid cluster name %q or region %q", req.Cluster, req.Region)
		return
	}
	if req.CPU <= 0 || req.MemoryMiB <= 0 {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "cpu and memory must be positive")
		return
	}
	var existing *state.ContainerInstance
	switch {
	case req.InstanceID != "" && req.AgentToken != "":
		existing = snap.ContainerInstanceByID(req.InstanceID)
		if existing == nil || !equalHash(existing.AgentTokenHash, hashToken(req.AgentToken)) {
			writeErr(w, http.StatusUnauthorized, CodeUnauthorized, "unknown instance or agent token")
			return
		}
		if existing.Status == state.InstanceInactive {
			// A deregistered instance joins again as a new one, with the
			// join token.
			existing = nil
			if !h.joinTokenOK(snap, req.JoinToken) {
				writeErr(w, http.StatusUnauthorized, CodeUnauthorized, "the instance was deregistered and the join token is not valid")
				return
			}
		}
	default:
		if !h.joinTokenOK(snap, req.JoinToken) {
			writeErr(w, http.StatusUnauthorized, CodeUnauthorized, "the join token is not valid")
			return
		}
	}
	account := h.cfg.Account
	if err := h.ensureCluster(ctx, account, req.Region, req.Cluster); err != nil {
		h.fail(w, err)
		return
	}

	instanceID := randomHex(16)
	token := instanceID + "." + randomHex(24)
	now := h.cfg.Now().UTC()
	inst := &state.ContainerInstance{
		Account: account, Region: req.Region, Cluster: req.Cluster, InstanceID: instanceID,
		Status: state.InstanceActive, RegisteredAt: now, LastHeartbeat: now,
	}
	if existing != nil {
		inst.InstanceID, inst.Account, inst.Region, inst.Cluster = existing.InstanceID, existing.Account, existing.Region, existing.Cluster
		token = inst.InstanceID + "." + randomHex(24)
	}
	inst.ARN = fmt.Sprintf("arn:aws:ecs:%s:%s:container-instance/%s/%s", inst.Region, inst.Account, inst.Cluster, inst.InstanceID)
	inst.AgentTokenHash = hashToken(token)
	inst.EC2InstanceID = req.EC2InstanceID
	inst.Address = req.Address
	ports := append([]int(nil), DefaultReservedPorts...)
	ports = append(ports, req.ReservedPorts...)
	sort.Ints(ports)
	var portSet []string
	for i, p := range ports {
		if i == 0 || p != ports[i-1] {
			portSet = append(portSet, strconv.Itoa(p))
		}
	}
	inst.RegisteredResources = []state.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: req.CPU},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: req.MemoryMiB},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: portSet},
		{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
	}
	for _, a := range req.Attributes {
		inst.Attributes = append(inst.Attributes, state.Attribute{Name: a.Name, Value: a.Value})
	}
	inst.VersionInfo = state.VersionInfo{AgentVersion: req.AgentVersion, AgentHash: "berth", DockerVersion: "DockerVersion: " + req.DockerVersion}
	if existing != nil {
		// Attributes set through PutAttributes survive a re-registration.
		for _, a := range existing.Attributes {
			if !strings.HasPrefix(a.Name, "ecs.") && !hasAttr(inst.Attributes, a.Name) {
				inst.Attributes = append(inst.Attributes, a)
			}
		}
	}
	saved, err := state.Do[*state.ContainerInstance](ctx, h.store, &state.RegisterContainerInstance{Instance: inst})
	if err != nil {
		h.fail(w, err)
		return
	}
	h.log.Info("instance registered", "instance", saved.ARN, "cluster", saved.Cluster, "reregistered", existing != nil)
	writeJSON(w, http.StatusOK, RegisterResponse{
		InstanceID: saved.InstanceID, ContainerInstanceARN: saved.ARN, AgentToken: token,
		Account: saved.Account, Region: saved.Region, Cluster: saved.Cluster,
		ClusterARN:       fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", saved.Region, saved.Account, saved.Cluster),
		HeartbeatSeconds: int(h.cfg.Heartbeat / time.Second), HeartbeatMillis: h.cfg.Heartbeat.Milliseconds(),
		RegistryHost: h.registryHost(),
	})
}

func hasAttr(attrs []state.Attribute, name string) bool {
	for _, a := range attrs {
		if a.Name == name {
			return true
		}
	}
	return false
}

func (h *Handler) joinTokenOK(snap *state.Snapshot, token string) bool {
	m := snap.Meta(state.MetaJoinTokenHash)
	token, _ = ParseJoinToken(token) // the whole token, as the file holds it, is fine too
	return m != nil && token != "" && equalHash(m.Value, hashToken(token))
}

// ensureCluster creates the default cluster on first use, as ECS does; any
// other cluster must exist.
func (h *Handler) ensureCluster(ctx context.Context, account, region, name string) error {
	if cl := h.store.Snapshot().Cluster(account, region, name); cl != nil && cl.Status == state.ClusterActive {
		return nil
	}
	if name != "default" {
		return errdefs.New(errdefs.ErrNotFound, "cluster", "cluster %s not found in %s", name, region)
	}
	_, err := h.store.Apply(ctx, &state.CreateCluster{Cluster: &state.Cluster{
		Account: account, Region: region, Name: name,
		ARN:       fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", region, account, name),
		Settings:  []state.Setting{{Name: "containerInsights", Value: "disabled"}},
		CreatedAt: h.cfg.Now().UTC(),
	}})
	return err
}

type instanceHandler func(w http.ResponseWriter, r *http.Request, inst *state.ContainerInstance)

// withInstance authenticates the agent token and passes on its instance.
func (h *Handler) withInstance(next instanceHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		id, _, _ := strings.Cut(token, ".")
		if !ok || id == "" {
			writeErr(w, http.StatusUnauthorized, CodeUnauthorized, "an agent token is required")
			return
		}
		inst := h.store.Snapshot().ContainerInstanceByID(id)
		if inst == nil || !equalHash(inst.AgentTokenHash, hashToken(token)) {
			writeErr(w, http.StatusUnauthorized, CodeUnauthorized, "unknown instance or agent token")
			return
		}
		if inst.Status == state.InstanceInactive {
			writeErr(w, http.StatusUnauthorized, CodeUnauthorized, "container instance %s was deregistered", inst.ARN)
			return
		}
		next(w, r, inst)
	}
}

func (h *Handler) tasks(w http.ResponseWriter, r *http.Request, inst *state.ContainerInstance) {
	q := r.URL.Query()
	minIndex, _ := strconv.ParseUint(q.Get("index"), 10, 64)
	wait := h.cfg.MaxWait
	if d, err := time.ParseDuration(q.Get("wait")); err == nil && d >= 0 && d < wait {
		wait = d
	}
	var resp TasksResponse
	_, err := h.store.BlockingQuery(r.Context(), minIndex, wait, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		resp = TasksResponse{Tasks: []Task{}}
		cur := snap.ContainerInstanceByID(inst.InstanceID)
		if cur != nil {
			resp.InstanceStatus = cur.Status
		}
		var idx uint64
		for _, t := range snap.TasksOnInstance(ws, inst.ID) {
			idx = max(idx, t.ModifyIndex)
			if t.LastStatus == state.TaskStopped {
				continue
			}
			resp.Tasks = append(resp.Tasks, h.assignment(snap, t))
		}
		if cur != nil {
			idx = max(idx, cur.ModifyIndex)
		}
		// Deleting a task changes no remaining task's index: the table
		// index covers it.
		idx = max(idx, snap.TasksIndex(nil))
		resp.Index = idx
		return idx, nil
	})
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) assignment(snap *state.Snapshot, t *state.Task) Task {
	a := Task{
		TaskARN: t.ARN, TaskID: t.TaskID, ClusterARN: t.ClusterARN, Cluster: t.Cluster,
		DesiredStatus: t.DesiredStatus, LastStatus: t.LastStatus, StopCode: t.StopCode, StoppedReason: t.StoppedReason,
		TaskDefinitionARN: t.TaskDefinitionARN, Overrides: t.Overrides, CPU: t.CPU, Memory: t.Memory,
		CreatedAt: t.CreatedAt, Group: t.Group, StartedBy: t.StartedBy, Account: t.Account, Region: t.Region,
	}
	if d := snap.TaskDefinition(t.Account, t.Region, t.Family, t.Revision); d != nil {
		a.TaskDefinition = d.Body
	}
	for _, c := range t.Containers {
		a.Containers = append(a.Containers, ContainerRef{Name: c.Name, ContainerARN: c.ContainerARN})
	}
	return a
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request, inst *state.ContainerInstance) {
	var req ReportRequest
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "report body is not valid JSON: %v", err)
		return
	}
	if req.Seq == 0 || state.StatusRank(req.Task.LastStatus) == 0 {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "a report needs a sequence number and a known lastStatus")
		return
	}
	taskID := req.Task.TaskARN[strings.LastIndex(req.Task.TaskARN, "/")+1:]
	cur := h.store.Snapshot().Task(state.Key(inst.Account, inst.Region, inst.Cluster, taskID))
	if cur == nil || cur.ARN != req.Task.TaskARN {
		writeErr(w, http.StatusNotFound, CodeNotFound, "task %s is not assigned to this instance", req.Task.TaskARN)
		return
	}
	n := cur.Copy()
	rt := req.Task
	n.LastStatus, n.HealthStatus = rt.LastStatus, rt.HealthStatus
	n.StopCode, n.StoppedReason = rt.StopCode, rt.StoppedReason
	n.PullStartedAt, n.PullStoppedAt, n.StartedAt = rt.PullStartedAt, rt.PullStoppedAt, rt.StartedAt
	n.ConnectivityAt, n.StoppingAt, n.StoppedAt, n.ExecutionStoppedAt = rt.ConnectivityAt, rt.StoppingAt, rt.StoppedAt, rt.ExecutionStoppedAt
	byName := map[string]ContainerState{}
	for _, c := range rt.Containers {
		byName[c.Name] = c
	}
	for i := range n.Containers {
		c, ok := byName[n.Containers[i].Name]
		if !ok {
			continue
		}
		tc := &n.Containers[i]
		tc.RuntimeID, tc.ImageDigest, tc.LastStatus = c.RuntimeID, c.ImageDigest, c.LastStatus
		tc.ExitCode, tc.Reason, tc.HealthStatus = c.ExitCode, c.Reason, c.HealthStatus
		tc.NetworkBindings = nil
		for _, b := range c.NetworkBindings {
			tc.NetworkBindings = append(tc.NetworkBindings, state.NetworkBinding(b))
		}
	}
	if _, err := h.store.Apply(r.Context(), &state.ReportTask{InstanceKey: inst.ID, Seq: req.Seq, Task: n}); err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// heartbeat notes that the agent is alive. Only a heartbeat after a silence
// longer than the grace (an agent coming back) goes through raft; the
// others are kept in memory (state.Store.Beat).
func (h *Handler) heartbeat(w http.ResponseWriter, r *http.Request, inst *state.ContainerInstance) {
	now := h.cfg.Now().UTC()
	if now.Sub(h.store.Heard(inst)) >= h.cfg.Grace {
		// Written before it is kept: should the write fail, the next
		// heartbeat still finds the agent silent and tries again.
		if _, err := h.store.Apply(r.Context(), &state.Heartbeat{InstanceKey: inst.ID, At: now}); err != nil {
			h.fail(w, err)
			return
		}
	}
	h.store.Beat(inst, now)
	writeJSON(w, http.StatusOK, struct{}{})
}

func (h *Handler) logs(w http.ResponseWriter, r *http.Request, inst *state.ContainerInstance) {
	if h.cfg.Logs == nil {
		writeErr(w, http.StatusNotImplemented, CodeInvalid, "this server does not store logs")
		return
	}
	var req LogsRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, MaxLogsBody)).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "logs body is not valid JSON: %v", err)
		return
	}
	region := req.Region
	if region == "" {
		region = inst.Region
	}
	if !regionRE.MatchString(region) {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "awslogs-region %q is not a region name", region)
		return
	}
	if err := h.cfg.Logs.Ingest(r.Context(), inst.Account, region, req.Group, req.Stream, req.CreateGroup, req.Events); err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// secrets resolves the secrets of a task assigned to the calling instance.
// Only references its task definition makes are resolved, so an agent
// learns no value its tasks do not use.
func (h *Handler) secrets(w http.ResponseWriter, r *http.Request, inst *state.ContainerInstance) {
	if h.cfg.Secrets == nil {
		writeErr(w, http.StatusNotImplemented, CodeInvalid, "this server does not resolve secrets")
		return
	}
	var req SecretsRequest
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "secrets body is not valid JSON: %v", err)
		return
	}
	snap := h.store.Snapshot()
	var task *state.Task
	for _, t := range snap.TasksOnInstance(nil, inst.ID) {
		if t.ARN == req.TaskARN {
			task = t
		}
	}
	if task == nil {
		writeErr(w, http.StatusNotFound, CodeNotFound, "task %s is not assigned to this instance", req.TaskARN)
		return
	}
	def := snap.TaskDefinition(task.Account, task.Region, task.Family, task.Revision)
	if def == nil {
		writeErr(w, http.StatusNotFound, CodeNotFound, "the task definition of %s is gone", req.TaskARN)
		return
	}
	allowed := map[string]bool{}
	for _, c := range def.Body.ContainerDefinitions {
		for _, s := range c.Secrets {
			allowed[s.ValueFrom] = true
		}
		if lc := c.LogConfiguration; lc != nil {
			for _, s := range lc.SecretOptions {
				allowed[s.ValueFrom] = true
			}
		}
		if rc := c.RepositoryCredentials; rc != nil {
			allowed[rc.CredentialsParameter] = true
		}
	}
	out := SecretsResponse{Values: map[string]string{}}
	for _, ref := range req.Refs {
		if !allowed[ref] {
			writeErr(w, http.StatusBadRequest, CodeInvalid, "the task definition of %s does not reference %s", req.TaskARN, ref)
			return
		}
		v, err := h.cfg.Secrets.Resolve(r.Context(), task.Account, task.Region, ref)
		if err != nil {
			h.fail(w, err)
			return
		}
		out.Values[ref] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) registryHost() string {
	if h.cfg.Registry == nil {
		return ""
	}
	return h.cfg.Registry.Host()
}

// registryAuth mints a pull token for a task assigned to the calling
// instance, for the task's account: an agent pulls only what its tasks'
// accounts may.
func (h *Handler) registryAuth(w http.ResponseWriter, r *http.Request, inst *state.ContainerInstance) {
	if h.cfg.Registry == nil {
		writeErr(w, http.StatusNotImplemented, CodeInvalid, "this server has no image registry")
		return
	}
	var req RegistryAuthRequest
	if err := decode(r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "registry-auth body is not valid JSON: %v", err)
		return
	}
	var task *state.Task
	for _, t := range h.store.Snapshot().TasksOnInstance(nil, inst.ID) {
		if t.ARN == req.TaskARN {
			task = t
		}
	}
	if task == nil {
		writeErr(w, http.StatusNotFound, CodeNotFound, "task %s is not assigned to this instance", req.TaskARN)
		return
	}
	region := req.Region
	if region == "" {
		region = task.Region
	}
	if !regionRE.MatchString(region) {
		writeErr(w, http.StatusBadRequest, CodeInvalid, "%q is not a region name", region)
		return
	}
	token, exp := h.cfg.Registry.MintToken(task.Account, region, inst.ARN, h.cfg.Now())
	writeJSON(w, http.StatusOK, RegistryAuthResponse{Host: h.cfg.Registry.Host(), Username: "AWS", Password: token, Expires: exp})
}
