package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/runtime"
	"github.com/berthhq/berth/internal/taskdef"
)

// Task and container statuses the agent reports.
const (
	statusPending = "PENDING"
	statusRunning = "RUNNING"
	statusStopped = "STOPPED"
)

// ECS stop codes and reasons.
const (
	stopEssentialExited = "EssentialContainerExited"
	stopFailedToStart   = "TaskFailedToStart"
	reasonEssential     = "Essential container in task exited"
	reasonOOM           = "OutOfMemoryError: Container killed due to memory usage"
	reasonMissing       = "container missing: it no longer exists on the host"
)

// ctr is the agent's view of one container of its task.
type ctr struct {
	def      *taskdef.ContainerDefinition
	id       string
	spec     runtime.ContainerSpec
	started  bool
	exited   bool
	exitCode int
	oom      bool
	health   string
	reason   string
	digest   string
	ports    []agentapi.NetworkBinding
	startAt  time.Time       // when it became eligible to start (for startTimeout)
	neverRun bool            // it was never started and never will be
	missing  bool            // it vanished from the engine: exited with no exit code
	pullRef  string          // the reference its image was pulled by
	logOpts  *awslogsOptions // its awslogs configuration, when it has one
	pump     *logPump        // ships its output while it runs
	fresh    bool            // read from the engine in this turn of the lifecycle loop
}

func (c *ctr) essential() bool { return c.def.Essential == nil || *c.def.Essential }

// runner owns one task: its goroutine alone creates, starts and stops the
// task's containers.
type runner struct {
	a     *Agent
	adopt bool // look for containers of a previous run of the agent

	mu   sync.Mutex
	task agentapi.Task   // latest assignment
	pub  metaView        // what the metadata endpoint shows
	ooms map[string]bool // containers the engine reported an oom event for
	wake chan struct{}
	// cancelPrep ends the task's preparation (pulls, creates) once a stop
	// is wanted.
	cancelPrep context.CancelFunc

	// Owned by the run goroutine.
	td         *taskdef.TaskDefinition
	containers []*ctr
	state      agentapi.TaskState
	held       [][2]any // (proto, port) pairs to release
	volumes    []string
	stuck      bool // a container could not be stopped
}

// newRunner returns the runner of task t. With adopt, containers a previous
// run of the agent made for the task are looked for first; a task assigned
// after the agent's first look at its assignments has none.
func newRunner(a *Agent, t agentapi.Task, adopt bool) *runner {
	return &runner{a: a, task: t, adopt: adopt, wake: make(chan struct{}, 1)}
}

func (r *runner) update(t agentapi.Task) {
	r.mu.Lock()
	changed := r.task.DesiredStatus != t.DesiredStatus || r.task.StopCode != t.StopCode
	r.task = t
	cancel := r.cancelPrep
	r.mu.Unlock()
	if !changed {
		return
	}
	if t.DesiredStatus == statusStopped && cancel != nil {
		cancel()
	}
	r.notify()
}

// noteOOM records an engine oom event for a container. Docker sometimes
// sends the event without setting OOMKilled, or after the die event.
func (r *runner) noteOOM(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ooms == nil {
		r.ooms = map[string]bool{}
	}
	r.ooms[id] = true
}

func (r *runner) sawOOM(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ooms[id]
}

func (r *runner) notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *runner) current() agentapi.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.task
}

func (r *runner) stopWanted() bool { return r.current().DesiredStatus == statusStopped }

func (r *runner) report() {
	s := r.state
	s.Containers = nil
	health := "UNKNOWN"
	checked, healthy, unhealthy := 0, 0, 0
	for _, c := range r.containers {
		cs := agentapi.ContainerState{Name: c.def.Name, RuntimeID: c.id, ImageDigest: c.digest, Reason: c.reason}
		switch {
		case c.exited || c.neverRun && s.LastStatus == statusStopped:
			cs.LastStatus = statusStopped
			if c.exited && !c.missing {
				code := int32(c.exitCode)
				cs.ExitCode = &code
			}
		case c.started:
			cs.LastStatus = statusRunning
			cs.NetworkBindings = c.ports
		default:
			cs.LastStatus = statusPending
		}
		if c.spec.HealthCheck != nil {
			switch c.health {
			case runtime.HealthHealthy:
				cs.HealthStatus = "HEALTHY"
			case runtime.HealthUnhealthy:
				cs.HealthStatus = "UNHEALTHY"
			default:
				cs.HealthStatus = "UNKNOWN"
			}
			if c.essential() {
				checked++
				if cs.HealthStatus == "HEALTHY" {
					healthy++
				}
				if cs.HealthStatus == "UNHEALTHY" {
					unhealthy++
				}
			}
		}
		s.Containers = append(s.Containers, cs)
	}
	switch {
	case unhealthy > 0:
		health = "UNHEALTHY"
	case checked > 0 && healthy == checked:
		health = "HEALTHY"
	}
	s.HealthStatus = health
	r.publish(s)
	r.a.reports.send(s)
}

// publish makes the task's current state visible to the metadata endpoint.
func (r *runner) publish(s agentapi.TaskState) {
	t := r.current()
	v := metaView{metaTask{
		Cluster: t.ClusterARN, TaskARN: t.TaskARN, DesiredStatus: t.DesiredStatus, KnownStatus: s.LastStatus,
		PullStartedAt: timeOrNil(s.PullStartedAt), PullStoppedAt: timeOrNil(s.PullStoppedAt),
		ExecutionStoppedAt: timeOrNil(s.ExecutionStoppedAt), AvailabilityZone: r.a.cfg.AvailabilityZone, LaunchType: "EC2",
		Containers: []metaContainer{},
	}}
	if r.td != nil {
		v.Family, v.Revision = r.td.Family, revision(&t)
	}
	if t.CPU > 0 || t.Memory > 0 {
		v.Limits = &metaLimits{CPU: float64(t.CPU) / 1024, Memory: t.Memory}
	}
	refs := map[string]string{}
	for _, ref := range t.Containers {
		refs[ref.Name] = ref.ContainerARN
	}
	for i, c := range r.containers {
		mc := metaContainer{
			DockerID: c.id, Name: c.def.Name, DockerName: c.spec.Name, Image: c.def.Image, ImageID: c.digest,
			Labels: c.spec.Labels, DesiredStatus: t.DesiredStatus, KnownStatus: s.Containers[i].LastStatus,
			Limits: metaLimits{CPU: float64(c.def.CPU), Memory: int64(valueOr(c.def.Memory, 0))},
			Type:   "NORMAL", ContainerARN: refs[c.def.Name], LogDriver: c.spec.LogDriver, LogOptions: c.spec.LogOptions,
			Networks: []metaNetwork{{NetworkMode: c.spec.NetworkMode}},
		}
		if c.exited && !c.missing {
			code := c.exitCode
			mc.ExitCode = &code
		}
		for _, p := range c.ports {
			mc.Ports = append(mc.Ports, metaPort{ContainerPort: p.ContainerPort, Protocol: p.Protocol, HostPort: p.HostPort, HostIP: p.BindIP})
		}
		v.Containers = append(v.Containers, mc)
	}
	r.mu.Lock()
	r.pub = v
	r.mu.Unlock()
}

// metadata returns what the metadata endpoint shows of the task.
func (r *runner) metadata() metaView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pub
}

func (r *runner) run(ctx context.Context) {
	t := r.current()
	log := r.a.log.With("task_arn", t.TaskARN)
	r.state = agentapi.TaskState{TaskARN: t.TaskARN, LastStatus: statusPending}
	r.td = t.TaskDefinition
	if r.td == nil {
		r.fail(ctx, "ResourceInitializationError: the task definition could not be read")
		r.finish(ctx)
		return
	}
	var ov *taskdef.TaskOverride
	if len(t.Overrides) > 0 {
		ov = new(taskdef.TaskOverride)
		if err := json.Unmarshal(t.Overrides, ov); err != nil {
			r.fail(ctx, "ResourceInitializationError: the task overrides could not be read")
			r.finish(ctx)
			return
		}
	}
	for i := range r.td.ContainerDefinitions {
		r.containers = append(r.containers, &ctr{def: &r.td.ContainerDefinitions[i]})
	}
	// Preparation (pulls above all) is cut short when the task is stopped.
	prepCtx, cancelPrep := context.WithCancel(ctx)
	defer cancelPrep()
	r.mu.Lock()
	r.cancelPrep = cancelPrep
	r.mu.Unlock()

	var found []runtime.Container
	if r.adopt {
		var ok bool
		if found, ok = r.existing(ctx); !ok {
			return // the agent is shutting down
		}
	}
	started := false
	for _, c := range found {
		started = started || !c.StartedAt.IsZero()
	}
	if !started && r.stopWanted() {
		// Stopped before any container ran: nothing to undo but leftovers.
		r.removeAll(ctx, found)
		r.state.LastStatus = statusStopped
		r.state.StopCode, r.state.StoppedReason = t.StopCode, t.StoppedReason
		r.state.StoppedAt = time.Now().UTC()
		for _, c := range r.containers {
			c.neverRun = true
		}
		r.report()
		r.finish(ctx)
		return
	}
	if !started && t.LastStatus != statusRunning {
		// A fresh start, or one a previous run of the agent did not finish:
		// containers it created but never started are made again.
		r.removeAll(ctx, found)
		found = nil
		r.report()
	}
	reason := r.prepare(prepCtx, ov, found, t.LastStatus == statusRunning || started)
	switch {
	case ctx.Err() != nil:
		return // the agent is shutting down: a restarted agent resumes
	case reason != "" && r.stopWanted():
		t := r.current()
		r.state.StopCode, r.state.StoppedReason = t.StopCode, t.StoppedReason
		r.stop(ctx)
		r.finish(ctx)
		return
	case reason != "":
		log.Info("task failed to start", "reason", reason)
		r.fail(ctx, reason)
		r.finish(ctx)
		return
	}
	r.lifecycle(ctx)
	r.finish(ctx)
}

// existing lists the containers a previous run of the agent created for this
// task, retrying while the engine does not answer. ok is false when ctx ended.
func (r *runner) existing(ctx context.Context) ([]runtime.Container, bool) {
	backoff := 200 * time.Millisecond
	for {
		list, err := r.a.rt.ListContainers(ctx, map[string]string{LabelTaskARN: r.current().TaskARN, LabelInstance: r.a.id.InstanceID})
		if err == nil {
			return list, true
		}
		r.a.log.Warn("list task containers; retrying", "task_arn", r.current().TaskARN, "err", err)
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// removeAll removes containers that never ran.
func (r *runner) removeAll(ctx context.Context, list []runtime.Container) {
	for _, c := range list {
		if err := r.a.rt.RemoveContainer(ctx, c.ID); err != nil && !isNotFound(err) {
			r.a.log.Warn("remove unstarted container", "task_arn", r.current().TaskARN, "err", err)
		}
	}
}

func nonZero(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// prepare pulls images, picks ports, and creates the task's volumes and the
// containers that do not exist yet. found are containers of the task that a
// previous run of the agent created: started ones are adopted as they are
// (keeping their host ports), never-started ones are made again. With
// wasRunning, a container that is not found was removed behind the agent's
// back and counts as exited. It returns the failure reason, or "".
func (r *runner) prepare(ctx context.Context, ov *taskdef.TaskOverride, found []runtime.Container, wasRunning bool) string {
	t := r.current()
	byName := map[string]runtime.Container{}
	for _, c := range found {
		byName[c.Labels[LabelContainerName]] = c
	}
	var stale []runtime.Container
	toCreate := 0
	for _, c := range r.containers {
		f, ok := byName[c.def.Name]
		switch {
		case ok && !f.StartedAt.IsZero():
			c.id = f.ID
			r.a.trackContainer(f.ID, r)
		case ok:
			stale = append(stale, f)
			toCreate++
		case wasRunning:
			c.started, c.exited, c.missing = true, true, true
			c.reason = reasonMissing
		default:
			toCreate++
		}
	}
	r.removeAll(ctx, stale)

	var secrets map[string]string
	if toCreate > 0 {
		var reason string
		if secrets, reason = r.resolveSecrets(ctx); reason != "" {
			return reason
		}
		r.state.PullStartedAt = nonZero(r.state.PullStartedAt, time.Now().UTC())
		digests := map[string]string{}
		refs := map[string]string{}
		for _, c := range r.containers {
			if _, done := digests[c.def.Image]; done || c.id != "" || c.missing {
				continue
			}
			auth, reason := registryAuth(c.def, secrets)
			if reason != "" {
				return reason
			}
			ref, berthAuth, reason := r.imageSource(ctx, c.def.Image)
			if reason != "" {
				return reason
			}
			if berthAuth != nil {
				auth = berthAuth
			}
			img, err := r.pull(ctx, ref, auth)
			if err != nil {
				return fmt.Sprintf("CannotPullContainerError: pull image %s: %v", c.def.Image, err)
			}
			digests[c.def.Image], refs[c.def.Image] = img.Digest, ref
		}
		r.state.PullStoppedAt = time.Now().UTC()
		for _, c := range r.containers {
			if d, ok := digests[c.def.Image]; ok {
				c.digest, c.pullRef = d, refs[c.def.Image]
			}
		}
	}

	for _, c := range r.containers {
		metaURI := r.a.meta.register(r, c.def.Name)
		env := []string{
			"AWS_EXECUTION_ENV=AWS_ECS_EC2",
			"AWS_REGION=" + t.Region,
			"AWS_DEFAULT_REGION=" + t.Region,
			"AWS_ENDPOINT_URL=" + r.a.meta.base,
			"ECS_CONTAINER_METADATA_URI_V4=" + metaURI,
		}
		hostPorts := map[int]int{}
		mode := r.td.NetworkMode
		if mode == "" || mode == "bridge" {
			for i, pm := range c.def.PortMappings {
				if pm.ContainerPort == nil || (pm.HostPort != nil && *pm.HostPort != 0) {
					continue
				}
				proto := pm.Protocol
				if proto == "" {
					proto = "tcp"
				}
				port := 0
				if f, ok := byName[c.def.Name]; ok && c.id == f.ID {
					// Adopted: keep the host port it runs with.
					for _, b := range f.Ports {
						if b.ContainerPort == int(*pm.ContainerPort) && b.Protocol == proto {
							port = b.HostPort
						}
					}
					if port != 0 {
						r.a.ports.hold(proto, port)
					}
				}
				if port == 0 {
					var err error
					if port, err = r.a.ports.allocate(proto); err != nil {
						return "ResourceInitializationError: " + err.Error()
					}
				}
				r.held = append(r.held, [2]any{proto, port})
				hostPorts[i] = port
			}
		}
		spec, err := r.a.buildSpec(&t, r.td, c.def, ov, hostPorts, env)
		if err != nil {
			return err.Error()
		}
		if c.pullRef != "" {
			spec.Image = c.pullRef // where the image was pulled from
		}
		c.spec = spec
		if c.id == "" && !c.missing {
			if reason := r.applySecrets(c, secrets); reason != "" {
				return reason
			}
		}
		if lc := c.def.LogConfiguration; lc != nil && lc.LogDriver == "awslogs" {
			o, err := parseAwslogs(lc, t.TaskARN, c.def.Name, t.Region)
			if err != nil {
				return "CannotStartContainerError: failed to initialize logging driver: " + err.Error()
			}
			c.logOpts = &o
		}
	}
	for _, v := range r.td.Volumes {
		if v.Host != nil || (v.DockerVolumeConfiguration != nil && v.DockerVolumeConfiguration.Scope == "shared") {
			continue
		}
		name := volumeName(&t, deref(v.Name))
		if err := r.a.rt.CreateVolume(ctx, name, map[string]string{LabelManaged: "true", LabelInstance: r.a.id.InstanceID, LabelTaskARN: t.TaskARN}); err != nil {
			return fmt.Sprintf("ResourceInitializationError: create volume %s: %v", deref(v.Name), err)
		}
		r.volumes = append(r.volumes, name)
	}
	for _, c := range r.orderedContainers() {
		if c.id != "" || c.missing {
			continue
		}
		if r.stopWanted() {
			return "stopped before it started"
		}
		id, err := r.a.rt.CreateContainer(ctx, c.spec)
		if err != nil {
			return fmt.Sprintf("CannotCreateContainerError: %v", err)
		}
		c.id = id
		r.a.trackContainer(id, r)
	}
	if len(found) > 0 {
		r.refresh(ctx) // what the adopted containers are doing; new ones are only created
	}
	for _, c := range r.containers {
		if c.started && !c.exited {
			r.state.StartedAt = nonZero(r.state.StartedAt, time.Now().UTC())
		}
		if c.started && !c.missing {
			// Adopted: deliver what it wrote while the agent was away.
			r.startPump(ctx, c)
		}
	}
	if r.stopWanted() {
		return "stopped before it started"
	}
	return ""
}

// pull gets an image as the configured pull behaviour says. Tasks starting
// together share one pull of an image.
func (r *runner) pull(ctx context.Context, ref string, auth *runtime.RegistryAuth) (runtime.Image, error) {
	behavior := r.a.cfg.ImagePullBehavior
	if behavior == "prefer-cached" || behavior == "once" {
		if _, done := r.a.pulled.Load(ref); done || behavior == "prefer-cached" {
			if local, err := r.a.rt.InspectImage(ctx, ref); err == nil {
				return local, nil
			}
		}
	}
	// The shared pull outlives one task's stop; that task stops waiting.
	key := ref
	if auth != nil {
		// Pulls with different credentials are not shared.
		sum := sha256.Sum256([]byte(auth.Username + "\x00" + auth.Password))
		key += "\x00" + hex.EncodeToString(sum[:])
	}
	ch := r.a.pulls.DoChan(key, func() (any, error) {
		return r.a.rt.PullImage(context.WithoutCancel(ctx), ref, auth)
	})
	var (
		v   any
		err error
	)
	select {
	case <-ctx.Done():
		return runtime.Image{}, ctx.Err()
	case res := <-ch:
		v, err = res.Val, res.Err
	}
	if err == nil {
		r.a.pulled.Store(ref, true)
		return v.(runtime.Image), nil
	}
	if behavior == "default" {
		if local, lerr := r.a.rt.InspectImage(ctx, ref); lerr == nil {
			return local, nil
		}
	}
	return runtime.Image{}, err
}

// orderedContainers returns containers so that each comes after those it
// depends on (dependsOn and volumesFrom); the definition was checked for
// cycles at registration.
func (r *runner) orderedContainers() []*ctr {
	byName := map[string]*ctr{}
	for _, c := range r.containers {
		byName[c.def.Name] = c
	}
	var out []*ctr
	seen := map[string]bool{}
	var visit func(c *ctr)
	visit = func(c *ctr) {
		if seen[c.def.Name] {
			return
		}
		seen[c.def.Name] = true
		for _, d := range c.def.DependsOn {
			if dep := byName[d.ContainerName]; dep != nil {
				visit(dep)
			}
		}
		for _, vf := range c.def.VolumesFrom {
			if dep := byName[deref(vf.SourceContainer)]; dep != nil {
				visit(dep)
			}
		}
		out = append(out, c)
	}
	for _, c := range r.containers {
		visit(c)
	}
	return out
}

// depState says whether a dependency condition holds, can never hold, or
// may hold later.
func (r *runner) depState(d taskdef.ContainerDependency) (ok, never bool) {
	var dep *ctr
	for _, c := range r.containers {
		if c.def.Name == d.ContainerName {
			dep = c
		}
	}
	if dep == nil {
		return false, true
	}
	switch d.Condition {
	case "START":
		return dep.started, dep.neverRun
	case "COMPLETE":
		return dep.exited, dep.neverRun
	case "SUCCESS":
		return dep.exited && dep.exitCode == 0, dep.neverRun || (dep.exited && dep.exitCode != 0)
	case "HEALTHY":
		return dep.health == runtime.HealthHealthy, dep.neverRun || dep.exited || dep.health == runtime.HealthUnhealthy
	}
	return false, true
}

// lifecycle starts containers as their dependencies allow, watches them, and
// stops the task when it must stop.
func (r *runner) lifecycle(ctx context.Context) {
	tick := time.NewTicker(r.a.cfg.Resync)
	defer tick.Stop()
	reportedRunning := r.state.LastStatus == statusRunning
	for {
		if ctx.Err() != nil {
			return // the agent is shutting down; containers keep running
		}
		if r.stopWanted() {
			t := r.current()
			r.state.StopCode, r.state.StoppedReason = t.StopCode, t.StoppedReason
			r.state.ExecutionStoppedAt = time.Now().UTC()
			r.stop(ctx)
			return
		}
		reason := r.startReady(ctx)
		if ctx.Err() != nil {
			return
		}
		if reason != "" {
			r.state.StopCode, r.state.StoppedReason = stopFailedToStart, reason
			r.stop(ctx)
			return
		}
		before := r.fingerprint()
		r.refresh(ctx)
		for _, c := range r.containers {
			c.fresh = false
		}
		allUp := true
		for _, c := range r.containers {
			if !c.started && !c.neverRun {
				allUp = false
			}
		}
		if allUp && !reportedRunning {
			reportedRunning = true
			r.state.LastStatus = statusRunning
			r.state.StartedAt = nonZero(r.state.StartedAt, time.Now().UTC())
			r.state.ConnectivityAt = r.state.StartedAt
			r.report()
		} else if r.fingerprint() != before {
			r.report()
		}
		for _, c := range r.containers {
			if c.exited && c.essential() {
				r.state.StopCode, r.state.StoppedReason = stopEssentialExited, reasonEssential
				r.state.ExecutionStoppedAt = time.Now().UTC()
				r.stop(ctx)
				return
			}
		}
		if r.stopWanted() {
			t := r.current()
			r.state.StopCode, r.state.StoppedReason = t.StopCode, t.StoppedReason
			r.state.ExecutionStoppedAt = time.Now().UTC()
			r.stop(ctx)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// startReady starts every container whose dependencies hold; it returns the
// failure reason when the task can no longer start.
func (r *runner) startReady(ctx context.Context) string {
	for _, c := range r.orderedContainers() {
		if c.started || c.neverRun || c.id == "" {
			continue
		}
		ready := true
		for _, d := range c.def.DependsOn {
			ok, never := r.depState(d)
			if never {
				c.neverRun = true
				return fmt.Sprintf("CannotStartContainerError: dependency %s of container %s can never reach %s", d.ContainerName, c.def.Name, d.Condition)
			}
			if !ok {
				ready = false
			}
		}
		if !ready {
			if c.startAt.IsZero() {
				c.startAt = time.Now()
			}
			if c.def.StartTimeout != nil && time.Since(c.startAt) > time.Duration(*c.def.StartTimeout)*time.Second {
				c.neverRun = true
				return fmt.Sprintf("CannotStartContainerError: dependencies of container %s were not met within its startTimeout of %ds", c.def.Name, *c.def.StartTimeout)
			}
			continue
		}
		if o := c.logOpts; o != nil {
			if o.stream == "" {
				o.stream = c.id
			}
			if err := r.a.ensureStream(ctx, r.state.TaskARN, *o); err != nil {
				c.neverRun = true
				return "CannotStartContainerError: failed to initialize logging driver: failed to create CloudWatch log stream: " + logsReason(err)
			}
		}
		if err := r.a.rt.StartContainer(ctx, c.id); err != nil {
			c.neverRun = true
			return fmt.Sprintf("CannotStartContainerError: %v", err)
		}
		c.started = true
		r.startPump(ctx, c)
		r.refreshOne(ctx, c)
	}
	return ""
}

func (r *runner) fingerprint() string {
	var b strings.Builder
	for _, c := range r.containers {
		fmt.Fprintf(&b, "%s:%v:%v:%d:%s;", c.def.Name, c.started, c.exited, c.exitCode, c.health)
	}
	return b.String()
}

// refresh re-reads the state of every container not read yet in this turn
// of the lifecycle loop (startReady reads those it starts).
func (r *runner) refresh(ctx context.Context) {
	for _, c := range r.containers {
		if !c.fresh {
			r.refreshOne(ctx, c)
		}
	}
}

func (r *runner) refreshOne(ctx context.Context, c *ctr) {
	if c.id == "" || c.exited {
		return
	}
	st, err := r.a.rt.InspectContainer(ctx, c.id)
	c.fresh = err == nil
	if err != nil {
		if isNotFound(err) {
			if !c.started {
				c.neverRun = true
			}
			c.exited, c.missing = c.started, c.started
			c.reason = reasonMissing
		}
		return
	}
	if !st.StartedAt.IsZero() {
		c.started = true
	}
	c.health = st.Health
	if st.ImageID != "" && c.digest == "" {
		c.digest = st.ImageID
	}
	if st.Running() {
		c.ports = nil
		for _, p := range st.Ports {
			c.ports = append(c.ports, agentapi.NetworkBinding{BindIP: "0.0.0.0", ContainerPort: int32(p.ContainerPort), HostPort: int32(p.HostPort), Protocol: p.Protocol})
		}
		return
	}
	if c.started && (st.State == runtime.StateExited || st.State == runtime.StateDead) {
		c.exited = true
		c.exitCode = st.ExitCode
		c.oom = st.OOMKilled || r.sawOOM(c.id)
		if !c.oom && st.ExitCode == 137 {
			// A kill: the OOM killer's, or SIGKILL after the stop timeout.
			// The engine's oom signal can trail the exit by a moment.
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
			if again, err := r.a.rt.InspectContainer(ctx, c.id); err == nil && again.OOMKilled {
				c.oom = true
			}
			c.oom = c.oom || r.sawOOM(c.id)
		}
		if c.oom {
			c.reason = reasonOOM
		}
	}
}

// stop stops the task's containers in reverse dependency order, each with
// its stopTimeout, and reports the task STOPPED.
func (r *runner) stop(ctx context.Context) {
	r.state.StoppingAt = nonZero(r.state.StoppingAt, time.Now().UTC())
	ordered := r.orderedContainers()
	for i := len(ordered) - 1; i >= 0; i-- {
		c := ordered[i]
		if c.id == "" || c.exited || !c.started {
			if !c.started {
				c.neverRun = true
			}
			continue
		}
		timeout := r.a.cfg.StopTimeout
		if c.def.StopTimeout != nil {
			timeout = time.Duration(*c.def.StopTimeout) * time.Second
		}
		// A stop that began finishes even while the agent shuts down.
		bg := context.WithoutCancel(ctx)
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			stopCtx, cancel := context.WithTimeout(bg, timeout+30*time.Second)
			err = r.a.rt.StopContainer(stopCtx, c.id, timeout)
			cancel()
			r.refreshOne(bg, c)
			if c.exited {
				break
			}
			if err == nil {
				err = errors.New("the container is still running")
			}
			r.a.log.Warn("stop container; retrying", "task_arn", r.state.TaskARN, "container", c.def.Name, "err", err)
			time.Sleep(time.Duration(attempt+1) * time.Second)
		}
		if !c.exited {
			// Its resources stay held: the container may still use them.
			r.stuck = true
			c.reason = fmt.Sprintf("CannotStopContainerError: %v", err)
		}
	}
	r.waitPumps(ctx)
	r.state.LastStatus = statusStopped
	r.state.StoppedAt = time.Now().UTC()
	r.report()
}

// startPump starts shipping c's output when it has awslogs and no pump yet.
func (r *runner) startPump(ctx context.Context, c *ctr) {
	if c.logOpts == nil || c.pump != nil || c.id == "" {
		return
	}
	if c.logOpts.stream == "" {
		c.logOpts.stream = c.id
	}
	c.pump = r.a.startPump(ctx, r.state.TaskARN, c.def.Name, c.id, *c.logOpts)
}

// waitPumps waits until the output of every exited container has been
// delivered, so that a task's logs are complete once it reports STOPPED.
func (r *runner) waitPumps(ctx context.Context) {
	for _, c := range r.containers {
		if c.pump == nil || !c.exited {
			continue
		}
		select {
		case <-c.pump.done:
		case <-ctx.Done():
			return
		}
	}
}

// fail reports a task that could not start.
func (r *runner) fail(ctx context.Context, reason string) {
	r.state.StopCode, r.state.StoppedReason = stopFailedToStart, reason
	for _, c := range r.containers {
		if !c.started {
			c.neverRun = true
		}
	}
	if strings.HasPrefix(reason, "CannotPullContainerError") || strings.HasPrefix(reason, "CannotCreateContainerError") {
		for _, c := range r.containers {
			if c.reason == "" {
				c.reason = reason
			}
		}
	}
	r.stop(ctx)
}

// finish waits until the server has acknowledged the task STOPPED, releases
// its ports and, after the cleanup wait, removes its containers and volumes.
func (r *runner) finish(ctx context.Context) {
	arn := r.current().TaskARN
	select {
	case <-ctx.Done():
		return // shutting down: a restarted agent adopts the task
	case <-r.a.reports.stoppedAcked(arn):
	}
	// From now on the task is never run again, whatever the server says.
	r.a.markFinished(arn)
	r.a.removeSecretFiles(arn)
	if !r.stuck {
		for _, h := range r.held {
			r.a.ports.release(h[0].(string), h[1].(int))
		}
		r.held = nil
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(r.a.cfg.TaskCleanupWait):
	}
	bg := context.WithoutCancel(ctx)
	for _, c := range r.containers {
		if c.id != "" {
			if err := r.a.rt.RemoveContainer(bg, c.id); err != nil && !errors.Is(err, context.Canceled) && !isNotFound(err) {
				r.a.log.Warn("remove container", "task_arn", arn, "err", err)
			}
			if err := r.a.local.deleteLogCursor(c.id); err != nil {
				r.a.log.Warn("forget log cursor", "task_arn", arn, "err", err)
			}
		}
	}
	for _, v := range r.volumes {
		if err := r.a.rt.RemoveVolume(bg, v); err != nil && !isNotFound(err) {
			r.a.log.Warn("remove volume", "task_arn", arn, "err", err)
		}
	}
	r.a.forget(r)
}
