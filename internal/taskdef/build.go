package taskdef

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/awsjson"
)

// Health check defaults AWS writes into a registered definition.
const (
	DefaultHealthCheckInterval = 30
	DefaultHealthCheckTimeout  = 5
	DefaultHealthCheckRetries  = 3
)

// Build returns the TaskDefinition to store for a validated input: task cpu and
// memory normalised to units and MiB, the defaults AWS fills in, and the
// computed compatibilities and requiresAttributes. It does not modify in and
// does not panic on input that failed Validate.
func Build(in *RegisterInput, arn string, revision int32, registeredAt time.Time, registeredBy string) *TaskDefinition {
	if in == nil {
		return nil
	}
	c := cloneInput(in)
	td := &TaskDefinition{
		TaskDefinitionARN:             arn,
		ContainerDefinitions:          c.ContainerDefinitions,
		Family:                        c.Family,
		TaskRoleARN:                   c.TaskRoleARN,
		ExecutionRoleARN:              c.ExecutionRoleARN,
		NetworkMode:                   c.NetworkMode,
		Revision:                      revision,
		Volumes:                       c.Volumes,
		Status:                        StatusActive,
		RequiresAttributes:            requiresAttributes(c),
		PlacementConstraints:          c.PlacementConstraints,
		Compatibilities:               compatibilities(c),
		RuntimePlatform:               c.RuntimePlatform,
		RequiresCompatibilities:       c.RequiresCompatibilities,
		CPU:                           c.CPU,
		Memory:                        c.Memory,
		InferenceAccelerators:         c.InferenceAccelerators,
		PIDMode:                       c.PIDMode,
		IPCMode:                       c.IPCMode,
		ProxyConfiguration:            c.ProxyConfiguration,
		RegisteredAt:                  awsjson.Ptr(registeredAt),
		EphemeralStorage:              c.EphemeralStorage,
		EnableFaultInjection:          c.EnableFaultInjection,
		TrustedExecutionConfiguration: c.TrustedExecutionConfiguration,
	}
	if registeredBy != "" {
		td.RegisteredBy = &registeredBy
	}
	if td.CPU != nil {
		if n, ok := ParseCPU(*td.CPU); ok {
			td.CPU = ptr(strconv.Itoa(n))
		}
	}
	if td.Memory != nil {
		if n, ok := ParseMemory(*td.Memory); ok {
			td.Memory = ptr(strconv.Itoa(n))
		}
	}
	if td.Volumes == nil {
		td.Volumes = []Volume{}
	}
	if td.PlacementConstraints == nil {
		td.PlacementConstraints = []TaskDefinitionPlacementConstraint{}
	}
	if td.EnableFaultInjection == nil {
		td.EnableFaultInjection = ptr(false)
	}
	for i := range td.ContainerDefinitions {
		fillContainerDefaults(&td.ContainerDefinitions[i], c.NetworkMode)
	}
	return td
}

// fillContainerDefaults writes what DescribeTaskDefinition returns for members
// the caller left out.
func fillContainerDefaults(c *ContainerDefinition, networkMode string) {
	if c.Essential == nil {
		c.Essential = ptr(true)
	}
	if c.PortMappings == nil {
		c.PortMappings = []PortMapping{}
	}
	if c.Environment == nil {
		c.Environment = []KeyValuePair{}
	}
	if c.MountPoints == nil {
		c.MountPoints = []MountPoint{}
	}
	if c.VolumesFrom == nil {
		c.VolumesFrom = []VolumeFrom{}
	}
	if c.SystemControls == nil {
		c.SystemControls = []SystemControl{}
	}
	for i := range c.PortMappings {
		pm := &c.PortMappings[i]
		// ECS treats any protocol other than udp as tcp.
		if pm.Protocol != ProtocolUDP {
			pm.Protocol = ProtocolTCP
		}
		if pm.ContainerPortRange != nil || pm.ContainerPort == nil {
			continue
		}
		switch networkMode {
		case NetworkModeAWSVPC, NetworkModeHost:
			if pm.HostPort == nil || *pm.HostPort == 0 {
				pm.HostPort = ptr(*pm.ContainerPort)
			}
		case "", NetworkModeBridge:
			if pm.HostPort == nil {
				pm.HostPort = ptr(int32(0))
			}
		}
	}
	if hc := c.HealthCheck; hc != nil {
		if hc.Interval == nil {
			hc.Interval = ptr(int32(DefaultHealthCheckInterval))
		}
		if hc.Timeout == nil {
			hc.Timeout = ptr(int32(DefaultHealthCheckTimeout))
		}
		if hc.Retries == nil {
			hc.Retries = ptr(int32(DefaultHealthCheckRetries))
		}
	}
}

// compatibilities lists the launch types the definition is valid for, in the
// order AWS returns them. EC2 is always there; FARGATE when the Fargate rules
// hold; EXTERNAL (ECS Anywhere) unless the definition uses awsvpc or a feature
// external instances lack; MANAGED_INSTANCES for awsvpc definitions or when
// asked for.
func compatibilities(in *RegisterInput) []string {
	var out []string
	if externalProblem(in) == nil {
		out = append(out, CompatibilityExternal)
	}
	out = append(out, CompatibilityEC2)
	if fargateProblem(in) == nil {
		out = append(out, CompatibilityFargate)
	}
	if in.NetworkMode == NetworkModeAWSVPC || slices.Contains(in.RequiresCompatibilities, CompatibilityManagedInstances) {
		out = append(out, CompatibilityManagedInstances)
	}
	return out
}

const (
	capLegacy = "com.amazonaws.ecs.capability."
	capECS    = "ecs.capability."
)

// requiresAttributes lists the container instance attributes the definition's
// tasks need, sorted by name. AWS derives them server-side without a published
// rule; this follows the attribute names of the ECS agent and the mapping seen
// in real DescribeTaskDefinition output (docker-remote-api versions per
// feature: 1.17 host bind mounts, 1.18 awsvpc/labels/ulimits, 1.19 log
// configuration, 1.21 memoryReservation, 1.24 health checks, 1.25 init
// process, 1.28 log mode, 1.29 health check start period and named ports).
func requiresAttributes(in *RegisterInput) []Attribute {
	set := map[string]bool{}
	add := func(name string) { set[name] = true }
	docker := func(version string) { add(capLegacy + "docker-remote-api." + version) }

	hasExecRole := deref(in.ExecutionRoleARN) != ""
	if deref(in.TaskRoleARN) != "" {
		add(capLegacy + "task-iam-role")
		if in.NetworkMode == NetworkModeHost {
			add(capLegacy + "task-iam-role-network-host")
		}
	}
	if in.NetworkMode == NetworkModeAWSVPC {
		add(capECS + "task-eni")
		docker("1.18")
	}
	if in.PIDMode != "" || in.IPCMode != "" {
		add(capECS + "pid-ipc-namespace-sharing")
	}
	if in.ProxyConfiguration != nil {
		add(capECS + "aws-appmesh")
	}
	if isTrue(in.EnableFaultInjection) {
		add(capECS + "fault-injection")
	}
	for _, vol := range in.Volumes {
		if vol.Host != nil && deref(vol.Host.SourcePath) != "" {
			docker("1.17")
		}
		if d := vol.DockerVolumeConfiguration; d != nil && deref(d.Driver) != "" {
			add(capECS + "docker-plugin." + *d.Driver)
		}
		if e := vol.EFSVolumeConfiguration; e != nil {
			add(capECS + "efs")
			if e.TransitEncryption == "ENABLED" || e.AuthorizationConfig != nil {
				add(capECS + "efsAuth")
			}
		}
		if vol.FSxWindowsFileServerVolumeConfiguration != nil {
			add(capECS + "fsxWindowsFileServer")
		}
	}
	for _, c := range in.ContainerDefinitions {
		if ecrImagePattern.MatchString(c.Image) {
			add(capLegacy + "ecr-auth")
			if hasExecRole {
				add(capECS + "execution-role-ecr-pull")
			}
		}
		if c.RepositoryCredentials != nil {
			add(capLegacy + "private-registry-authentication.secretsmanager")
		}
		if isTrue(c.Privileged) {
			add(capLegacy + "privileged-container")
		}
		if c.MemoryReservation != nil {
			docker("1.21")
		}
		if len(c.DockerLabels) > 0 || len(c.Ulimits) > 0 {
			docker("1.18")
		}
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver != "" {
			add(capLegacy + "logging-driver." + lc.LogDriver)
			docker("1.19")
			if lc.LogDriver == "awslogs" && hasExecRole {
				add(capECS + "execution-role-awslogs")
			}
			if _, ok := lc.Options["mode"]; ok {
				docker("1.28")
			}
			for _, s := range lc.SecretOptions {
				add(capECS + "secrets." + secretStore(s.ValueFrom) + ".bootstrap.log-driver")
			}
		}
		if fc := c.FirelensConfiguration; fc != nil && fc.Type != "" {
			add(capECS + "firelens." + fc.Type)
			switch fc.Options["config-file-type"] {
			case "s3":
				add(capECS + "firelens.options.config.s3")
			case "file":
				add(capECS + "firelens.options.config.file")
			}
		}
		if hc := c.HealthCheck; hc != nil {
			add(capECS + "container-health-check")
			if hc.StartPeriod != nil {
				docker("1.29")
			} else {
				docker("1.24")
			}
		}
		if len(c.DependsOn) > 0 || c.StartTimeout != nil || c.StopTimeout != nil {
			add(capECS + "container-ordering")
		}
		for _, s := range c.Secrets {
			add(capECS + "secrets." + secretStore(s.ValueFrom) + ".environment-variables")
		}
		if len(c.EnvironmentFiles) > 0 {
			add(capECS + "env-files.s3")
		}
		for _, opt := range c.DockerSecurityOptions {
			switch {
			case strings.HasPrefix(opt, "label:"):
				add(capLegacy + "selinux")
			case strings.HasPrefix(opt, "apparmor:"):
				add(capLegacy + "apparmor")
			}
		}
		if lp := c.LinuxParameters; lp != nil && isTrue(lp.InitProcessEnabled) {
			docker("1.25")
		}
		for _, pm := range c.PortMappings {
			if pm.Name != nil {
				docker("1.29")
			}
		}
		if rp := c.RestartPolicy; rp != nil && isTrue(rp.Enabled) {
			add(capECS + "container-restart-policy")
		}
	}
	if len(set) == 0 {
		// AWS leaves the member out rather than returning an empty list.
		return nil
	}
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]Attribute, len(names))
	for i, name := range names {
		out[i] = Attribute{Name: name}
	}
	return out
}

// secretStore names the store a valueFrom points at: "asm" for Secrets
// Manager ARNs, "ssm" for Parameter Store names and ARNs.
func secretStore(valueFrom string) string {
	if strings.HasPrefix(valueFrom, "arn:") && strings.Contains(valueFrom, ":secretsmanager:") {
		return "asm"
	}
	return "ssm"
}

// cloneInput deep-copies in through its own JSON encoding, which keeps nil and
// empty lists apart (omitzero) and so loses nothing the wire could carry
// (strings that are not valid UTF-8, which no JSON request can hold, come back
// with U+FFFD in place of the bad bytes).
func cloneInput(in *RegisterInput) *RegisterInput {
	var c RegisterInput
	b, err := json.Marshal(in)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		// The shapes hold only strings, numbers, bools, lists and maps, so
		// this does not happen; a shallow copy is the safe answer if it does.
		c = *in
	}
	return &c
}

func ptr[T any](v T) *T { return &v }
