package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/runtime"
	"github.com/berthhq/berth/internal/taskdef"
)

// Labels the agent puts on everything it creates.
const (
	LabelManaged       = "berth.managed"
	LabelInstance      = "berth.instance-id"
	LabelTaskARN       = "berth.task-arn"
	LabelContainerName = "berth.container-name"
)

// specError is a task definition the host cannot run as given; the task
// fails to start with this reason.
type specError struct{ reason string }

func (e *specError) Error() string { return e.reason }

// revision is the task definition revision of t, from its ARN (the stored
// definition body carries no identity of its own).
func revision(t *agentapi.Task) string {
	if i := strings.LastIndex(t.TaskDefinitionARN, ":"); i > 0 {
		return t.TaskDefinitionARN[i+1:]
	}
	return "0"
}

// containerName is the engine name of a task's container: deterministic, so
// a container created just before a crash is found again, not duplicated.
func containerName(t *agentapi.Task, c *taskdef.ContainerDefinition) string {
	family := "task"
	if t.TaskDefinition != nil {
		family = t.TaskDefinition.Family
	}
	return fmt.Sprintf("ecs-%s-%s-%s-%s", family, revision(t), c.Name, t.TaskID)
}

// volumeName is the engine name of a task-scoped Docker volume.
func volumeName(t *agentapi.Task, name string) string {
	return fmt.Sprintf("ecs-%s-%s", t.TaskID, name)
}

// buildSpec maps one container definition (with the task's overrides) to a
// runtime spec. hostPorts gives the host port chosen for each dynamic
// mapping, by mapping index.
func (a *Agent) buildSpec(t *agentapi.Task, td *taskdef.TaskDefinition, c *taskdef.ContainerDefinition, ov *taskdef.TaskOverride, hostPorts map[int]int, env []string) (runtime.ContainerSpec, error) {
	spec := runtime.ContainerSpec{
		Name:       containerName(t, c),
		Image:      c.Image,
		Entrypoint: c.EntryPoint,
		Command:    c.Command,
		Labels: map[string]string{
			LabelManaged:                                "true",
			LabelInstance:                               a.id.InstanceID,
			LabelTaskARN:                                t.TaskARN,
			LabelContainerName:                          c.Name,
			"com.amazonaws.ecs.cluster":                 t.Cluster,
			"com.amazonaws.ecs.container-name":          c.Name,
			"com.amazonaws.ecs.task-arn":                t.TaskARN,
			"com.amazonaws.ecs.task-definition-family":  td.Family,
			"com.amazonaws.ecs.task-definition-version": revision(t),
		},
		NetworkMode: td.NetworkMode,
	}
	for k, v := range c.DockerLabels {
		if _, reserved := spec.Labels[k]; !reserved {
			spec.Labels[k] = v
		}
	}
	if spec.NetworkMode == "" {
		spec.NetworkMode = "bridge"
	}
	if c.DisableNetworking != nil && *c.DisableNetworking {
		spec.NetworkMode = "none"
	}

	co := ov.Container(c.Name)
	if co != nil && co.Command != nil {
		spec.Command = co.Command
	}
	spec.Env = append(spec.Env, env...)
	for _, kv := range c.Environment {
		if kv.Name != nil {
			spec.Env = append(spec.Env, *kv.Name+"="+deref(kv.Value))
		}
	}
	if co != nil {
		for _, kv := range co.Environment {
			if kv.Name != nil {
				spec.Env = append(spec.Env, *kv.Name+"="+deref(kv.Value))
			}
		}
	}
	spec.WorkingDir = deref(c.WorkingDirectory)
	spec.User = deref(c.User)
	spec.Hostname = deref(c.Hostname)
	spec.ReadonlyRootfs = c.ReadonlyRootFilesystem != nil && *c.ReadonlyRootFilesystem
	if c.Privileged != nil && *c.Privileged {
		if !a.cfg.AllowPrivileged {
			return spec, &specError{fmt.Sprintf("CannotCreateContainerError: container %s asks for privileged mode, which this instance does not allow (start the agent with --allow-privileged)", c.Name)}
		}
		spec.Privileged = true
	}

	cpu, mem, memRes := c.Resources(ov)
	// ECS passes 0 (or 1) CPU units as 2 shares, Docker's minimum.
	spec.CPUShares = int64(max(cpu, 2))
	if mem != nil {
		spec.MemoryBytes = int64(*mem) << 20
	}
	if memRes != nil {
		spec.MemoryReservation = int64(*memRes) << 20
	}
	if mem == nil && memRes == nil && t.Memory > 0 {
		spec.MemoryBytes = t.Memory << 20
	}
	if t.CPU > 0 && td.CPU != nil {
		// A task-level cpu is a hard limit for the task.
		spec.NanoCPUs = t.CPU * 1e9 / 1024
	}

	for i, pm := range c.PortMappings {
		if pm.ContainerPort == nil {
			if pm.ContainerPortRange != nil {
				return spec, &specError{fmt.Sprintf("CannotCreateContainerError: container %s uses containerPortRange, which Berth does not support yet", c.Name)}
			}
			continue
		}
		proto := pm.Protocol
		if proto == "" {
			proto = "tcp"
		}
		hp := 0
		if pm.HostPort != nil {
			hp = int(*pm.HostPort)
		}
		if spec.NetworkMode == "bridge" && hp == 0 {
			hp = hostPorts[i]
		}
		if spec.NetworkMode == "host" {
			continue // the container binds host ports itself
		}
		spec.Ports = append(spec.Ports, runtime.PortBinding{ContainerPort: int(*pm.ContainerPort), HostPort: hp, Protocol: proto})
	}
	for _, h := range c.ExtraHosts {
		spec.ExtraHosts = append(spec.ExtraHosts, h.Hostname+":"+h.IPAddress)
	}
	spec.DNSServers = c.DNSServers
	spec.DNSSearch = c.DNSSearchDomains
	spec.SecurityOpt = c.DockerSecurityOptions
	for _, u := range c.Ulimits {
		spec.Ulimits = append(spec.Ulimits, runtime.Ulimit{Name: u.Name, Soft: int64(u.SoftLimit), Hard: int64(u.HardLimit)})
	}
	if len(c.SystemControls) > 0 {
		spec.Sysctls = map[string]string{}
		for _, s := range c.SystemControls {
			if s.Namespace != nil {
				spec.Sysctls[*s.Namespace] = deref(s.Value)
			}
		}
	}
	if lp := c.LinuxParameters; lp != nil {
		if lp.Capabilities != nil {
			spec.CapAdd, spec.CapDrop = lp.Capabilities.Add, lp.Capabilities.Drop
		}
		spec.Init = lp.InitProcessEnabled != nil && *lp.InitProcessEnabled
		if lp.SharedMemorySize != nil {
			spec.ShmSizeBytes = int64(*lp.SharedMemorySize) << 20
		}
		for _, tf := range lp.Tmpfs {
			spec.Mounts = append(spec.Mounts, runtime.Mount{Type: runtime.MountTmpfs, Target: tf.ContainerPath,
				TmpfsSizeBytes: int64(tf.Size) << 20, TmpfsOptions: tf.MountOptions})
		}
		if len(lp.Devices) > 0 {
			return spec, &specError{fmt.Sprintf("CannotCreateContainerError: container %s maps host devices, which Berth does not support yet", c.Name)}
		}
	}
	for _, mp := range c.MountPoints {
		name := deref(mp.SourceVolume)
		var vol *taskdef.Volume
		for i := range td.Volumes {
			if deref(td.Volumes[i].Name) == name {
				vol = &td.Volumes[i]
			}
		}
		if vol == nil {
			return spec, &specError{fmt.Sprintf("CannotCreateContainerError: unknown volume '%s'", name)}
		}
		m := runtime.Mount{Target: deref(mp.ContainerPath), ReadOnly: mp.ReadOnly != nil && *mp.ReadOnly}
		switch {
		case vol.Host != nil && vol.Host.SourcePath != nil:
			m.Type, m.Source = runtime.MountBind, *vol.Host.SourcePath
		case vol.EFSVolumeConfiguration != nil || vol.FSxWindowsFileServerVolumeConfiguration != nil || vol.S3FilesVolumeConfiguration != nil:
			return spec, &specError{fmt.Sprintf("CannotCreateContainerError: volume %s uses a storage service Berth does not provide", name)}
		case vol.DockerVolumeConfiguration != nil && vol.DockerVolumeConfiguration.Scope == "shared":
			m.Type, m.Source = runtime.MountVolume, name
		default:
			// No host path: a Docker volume that lives as long as the task.
			m.Type, m.Source = runtime.MountVolume, volumeName(t, name)
		}
		spec.Mounts = append(spec.Mounts, m)
	}
	for _, vf := range c.VolumesFrom {
		src := deref(vf.SourceContainer)
		var srcDef *taskdef.ContainerDefinition
		for i := range td.ContainerDefinitions {
			if td.ContainerDefinitions[i].Name == src {
				srcDef = &td.ContainerDefinitions[i]
			}
		}
		if srcDef == nil {
			return spec, &specError{fmt.Sprintf("CannotCreateContainerError: volumesFrom names unknown container %s", src)}
		}
		ref := containerName(t, srcDef)
		if vf.ReadOnly != nil && *vf.ReadOnly {
			ref += ":ro"
		}
		spec.VolumesFrom = append(spec.VolumesFrom, ref)
	}
	if hc := c.HealthCheck; hc != nil && len(hc.Command) > 0 {
		test := hc.Command
		if test[0] != "CMD" && test[0] != "CMD-SHELL" && test[0] != "NONE" {
			test = append([]string{"CMD"}, test...)
		}
		spec.HealthCheck = &runtime.HealthCheck{
			Test:        test,
			Interval:    seconds(hc.Interval, 30),
			Timeout:     seconds(hc.Timeout, 5),
			StartPeriod: seconds(hc.StartPeriod, 0),
			Retries:     int(valueOr(hc.Retries, 3)),
		}
	}
	if lc := c.LogConfiguration; lc != nil {
		spec.LogDriver, spec.LogOptions = lc.LogDriver, lc.Options
		if lc.LogDriver == "awslogs" {
			// The agent ships the output itself (see logship.go): the engine
			// keeps it in json-file, which its logs API can read back.
			// Room for bursts the shipper has not caught up with yet,
			// whatever the engine's default rotation is.
			spec.LogDriver, spec.LogOptions = "json-file", map[string]string{"max-size": "100m", "max-file": "5"}
		}
	}
	return spec, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func valueOr(v *int32, def int32) int32 {
	if v == nil {
		return def
	}
	return *v
}

func seconds(v *int32, def int32) time.Duration {
	return time.Duration(valueOr(v, def)) * time.Second
}
