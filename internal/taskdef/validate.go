package taskdef

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Limits of RegisterTaskDefinition.
const (
	MaxContainers           = 10
	MaxTags                 = 50
	MaxPlacementConstraints = 10
	MaxEnvironmentFiles     = 10
	MaxPortRanges           = 100
	MaxIgnoredExitCodes     = 50
	FargateMaxStopTimeout   = 120
	MinEphemeralStorageGiB  = 21
	MaxEphemeralStorageGiB  = 200
)

var (
	// Family, container and volume names: up to 255 letters, numbers, hyphens
	// and underscores.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// Port mapping names: up to 64 lowercase letters, numbers, underscores and
	// hyphens, not starting with a hyphen.
	portNamePattern = regexp.MustCompile(`^[a-z0-9_][a-z0-9_-]{0,63}$`)
	// Private Amazon ECR registries; pulling from them needs ECR credentials.
	ecrImagePattern = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/`)
)

// Message texts AWS returns; the ones shared between call sites live here.
const (
	msgCPUTroubleshooting    = "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	msgMemoryTroubleshooting = "Invalid 'memory' setting for task. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
)

// Validate checks in as RegisterTaskDefinition does and returns the first
// problem as *Error. It does not modify in.
func Validate(in *RegisterInput) error {
	if in == nil {
		return clientErr("Family can not be blank.")
	}
	v := newValidator(in)
	if err := v.run(); err != nil {
		return err
	}
	return nil
}

// validator carries what the checks learn about the input as they go.
type validator struct {
	in *RegisterInput

	mode      string // effective network mode; "" is bridge
	fargate   bool   // FARGATE in requiresCompatibilities
	external  bool   // EXTERNAL in requiresCompatibilities
	cpu       int    // task cpu units, when hasCPU
	memory    int    // task memory MiB, when hasMemory
	hasCPU    bool
	hasMemory bool

	containers map[string]*ContainerDefinition
	volumes    map[string]bool
}

func newValidator(in *RegisterInput) *validator {
	mode := in.NetworkMode
	if mode == "" {
		mode = NetworkModeBridge
	}
	return &validator{
		in:         in,
		mode:       mode,
		fargate:    slices.Contains(in.RequiresCompatibilities, CompatibilityFargate),
		external:   slices.Contains(in.RequiresCompatibilities, CompatibilityExternal),
		containers: map[string]*ContainerDefinition{},
		volumes:    map[string]bool{},
	}
}

func (v *validator) run() *Error {
	checks := []func() *Error{
		v.family,
		v.containerList,
		v.taskEnums,
		v.taskSize,
		v.launchTypes,
		v.volumeList,
		v.containerNames,
		v.containerDetails,
		v.taskTotals,
		v.essentials,
		v.dependencies,
		v.taskOptions,
		v.tags,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) family() *Error {
	f := v.in.Family
	switch {
	case f == "":
		return clientErr("Family can not be blank.")
	case len(f) > 255:
		return clientErr("Family can not be longer than 255 characters.")
	case !namePattern.MatchString(f):
		return clientErr("Family contains invalid characters.")
	}
	return nil
}

func (v *validator) containerList() *Error {
	switch n := len(v.in.ContainerDefinitions); {
	case n == 0:
		return clientErr("Container list cannot be empty.")
	case n > MaxContainers:
		return clientErr("Too many containers.")
	}
	return nil
}

func (v *validator) taskEnums() *Error {
	in := v.in
	if in.NetworkMode != "" && !slices.Contains([]string{NetworkModeBridge, NetworkModeHost, NetworkModeAWSVPC, NetworkModeNone}, in.NetworkMode) {
		return clientErr("Invalid 'networkMode' setting for task.")
	}
	for _, c := range in.RequiresCompatibilities {
		if !slices.Contains([]string{CompatibilityEC2, CompatibilityFargate, CompatibilityExternal, CompatibilityManagedInstances}, c) {
			return clientErr("Invalid 'requiresCompatibilities' setting for task.")
		}
	}
	if in.PIDMode != "" && in.PIDMode != "host" && in.PIDMode != "task" {
		return clientErr("Invalid 'pidMode' setting for task.")
	}
	if in.IPCMode != "" && in.IPCMode != "host" && in.IPCMode != "task" && in.IPCMode != "none" {
		return clientErr("Invalid 'ipcMode' setting for task.")
	}
	return nil
}

// taskSize parses the task-level cpu and memory strings.
func (v *validator) taskSize() *Error {
	if s := v.in.CPU; s != nil {
		if strings.TrimSpace(*s) == "" {
			return paramErr("Invalid 'cpu' setting for task.")
		}
		n, ok := ParseCPU(*s)
		if !ok {
			return clientErr(msgCPUTroubleshooting)
		}
		v.cpu, v.hasCPU = n, true
	}
	if s := v.in.Memory; s != nil {
		if strings.TrimSpace(*s) == "" {
			return paramErr("Invalid 'memory' setting for task.")
		}
		n, ok := ParseMemory(*s)
		if !ok {
			return clientErr(msgMemoryTroubleshooting)
		}
		v.memory, v.hasMemory = n, true
	}
	return nil
}

// launchTypes applies the rules of each launch type in requiresCompatibilities.
func (v *validator) launchTypes() *Error {
	if v.fargate {
		if err := fargateProblem(v.in); err != nil {
			return err
		}
	} else if v.hasCPU && (v.cpu < MinTaskCPU || v.cpu > MaxTaskCPU) {
		return clientErr(msgCPUTroubleshooting)
	}
	if v.external {
		if err := externalProblem(v.in); err != nil {
			return err
		}
	}
	return nil
}

// fargateProblem returns the first reason in cannot run on Fargate, or nil.
// Build uses it to decide whether to list FARGATE in compatibilities.
func fargateProblem(in *RegisterInput) *Error {
	if in.NetworkMode != NetworkModeAWSVPC {
		return clientErr("Fargate only supports network mode ‘awsvpc’.")
	}
	if in.CPU == nil {
		return clientErr("Fargate requires that 'cpu' be defined at the task level.")
	}
	if in.Memory == nil {
		return clientErr("Fargate requires that 'memory' be defined at the task level.")
	}
	cpu, ok := ParseCPU(*in.CPU)
	if !ok {
		return clientErr(msgCPUTroubleshooting)
	}
	mem, ok := ParseMemory(*in.Memory)
	if !ok {
		return clientErr(msgMemoryTroubleshooting)
	}
	if !FargatePairValid(cpu, mem) {
		return clientErr("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", cpu, mem)
	}
	if rp := in.RuntimePlatform; rp != nil && strings.HasPrefix(rp.OperatingSystemFamily, "WINDOWS_") && cpu < 1024 {
		return clientErr("Fargate requires at least 1 vCPU for Windows containers.")
	}
	if in.IPCMode != "" {
		return clientErr("Tasks using the Fargate launch type do not support ipcMode.")
	}
	if in.PIDMode == "host" {
		return clientErr("Tasks using the Fargate launch type do not support pidMode 'host'.")
	}
	if len(in.PlacementConstraints) > 0 {
		return clientErr("Fargate compatible task definitions do not support placementConstraints")
	}
	if len(in.InferenceAccelerators) > 0 {
		return clientErr("Fargate compatible task definitions do not support inferenceAccelerators")
	}
	for _, vol := range in.Volumes {
		if vol.Host != nil && vol.Host.SourcePath != nil {
			return clientErr("Fargate compatible task definitions do not support sourcePath")
		}
		if vol.DockerVolumeConfiguration != nil {
			return clientErr("Fargate compatible task definitions do not support dockerVolumeConfiguration")
		}
	}
	hasExecRole := in.ExecutionRoleARN != nil && *in.ExecutionRoleARN != ""
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		if lc := c.LogConfiguration; lc != nil {
			if lc.LogDriver == "awslogs" && !hasExecRole {
				return clientErr("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
			}
			if lc.LogDriver != "awslogs" && lc.LogDriver != "splunk" && lc.LogDriver != "awsfirelens" {
				return clientErr("Fargate compatible task definitions do not support log driver %s", lc.LogDriver)
			}
		}
		if ecrImagePattern.MatchString(c.Image) && !hasExecRole {
			return clientErr("Fargate requires task definition to have execution role ARN to support ECR images.")
		}
		if isTrue(c.Privileged) {
			return clientErr("Fargate compatible task definitions do not support privileged")
		}
		if len(c.DockerSecurityOptions) > 0 {
			return clientErr("Fargate compatible task definitions do not support dockerSecurityOptions")
		}
		if c.StopTimeout != nil && *c.StopTimeout > FargateMaxStopTimeout {
			return clientErr("Fargate compatible task definitions do not support a stopTimeout greater than %d seconds", FargateMaxStopTimeout)
		}
		for _, rr := range c.ResourceRequirements {
			if rr.Type == "GPU" {
				return clientErr("Fargate compatible task definitions do not support GPU resource requirements")
			}
		}
		if lp := c.LinuxParameters; lp != nil {
			switch {
			case len(lp.Devices) > 0:
				return clientErr("Fargate compatible task definitions do not support devices")
			case lp.SharedMemorySize != nil:
				return clientErr("Fargate compatible task definitions do not support sharedMemorySize")
			case len(lp.Tmpfs) > 0:
				return clientErr("Fargate compatible task definitions do not support tmpfs")
			case lp.MaxSwap != nil || lp.Swappiness != nil:
				return clientErr("Fargate compatible task definitions do not support maxSwap or swappiness")
			}
			if lp.Capabilities != nil {
				for _, capability := range lp.Capabilities.Add {
					if capability != "SYS_PTRACE" {
						return clientErr("Fargate compatible task definitions only support adding the SYS_PTRACE kernel capability")
					}
				}
			}
		}
	}
	return nil
}

// externalProblem returns the first reason in cannot run on external
// (ECS Anywhere) instances, or nil.
func externalProblem(in *RegisterInput) *Error {
	if in.NetworkMode == NetworkModeAWSVPC {
		return clientErr("Tasks using the External launch type do not support network mode 'awsvpc'.")
	}
	if in.ProxyConfiguration != nil {
		return clientErr("Tasks using the External launch type do not support proxyConfiguration.")
	}
	if len(in.InferenceAccelerators) > 0 {
		return clientErr("Tasks using the External launch type do not support inferenceAccelerators.")
	}
	for _, vol := range in.Volumes {
		if vol.EFSVolumeConfiguration != nil || vol.FSxWindowsFileServerVolumeConfiguration != nil || vol.S3FilesVolumeConfiguration != nil {
			return clientErr("Tasks using the External launch type do not support volume '%s'.", deref(vol.Name))
		}
	}
	for _, c := range in.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			if pm.AppProtocol != "" {
				return clientErr("Tasks using the External launch type do not support appProtocol.")
			}
		}
	}
	return nil
}

func (v *validator) volumeList() *Error {
	for _, vol := range v.in.Volumes {
		name := deref(vol.Name)
		switch {
		case name == "":
			return clientErr("Volume.name should not be null or empty.")
		case len(name) > 255:
			return clientErr("Volume.name can not be longer than 255 characters.")
		case !namePattern.MatchString(name):
			return clientErr("Volume.name contains invalid characters.")
		case v.volumes[name]:
			return clientErr("Volume names must be unique within a Task Definition.")
		}
		v.volumes[name] = true

		kinds := 0
		for _, set := range []bool{vol.Host != nil, vol.DockerVolumeConfiguration != nil, vol.EFSVolumeConfiguration != nil, vol.S3FilesVolumeConfiguration != nil, vol.FSxWindowsFileServerVolumeConfiguration != nil} {
			if set {
				kinds++
			}
		}
		if kinds > 1 {
			return clientErr("Invalid setting for volume '%s'. Only one of 'host', 'dockerVolumeConfiguration', 'efsVolumeConfiguration', 's3filesVolumeConfiguration' or 'fsxWindowsFileServerVolumeConfiguration' can be specified.", name)
		}
		if err := volumeConfig(name, &vol); err != nil {
			return err
		}
	}
	return nil
}

func volumeConfig(name string, vol *Volume) *Error {
	if d := vol.DockerVolumeConfiguration; d != nil {
		if d.Scope != "" && d.Scope != "task" && d.Scope != "shared" {
			return clientErr("Invalid 'scope' setting for volume '%s'.", name)
		}
		if isTrue(d.Autoprovision) && d.Scope != "shared" {
			return clientErr("Invalid setting for volume '%s'. 'autoprovision' can only be true when 'scope' is 'shared'.", name)
		}
	}
	if e := vol.EFSVolumeConfiguration; e != nil {
		if e.FileSystemID == "" {
			return clientErr("Invalid setting for volume '%s'. 'fileSystemId' should not be null or empty.", name)
		}
		if e.TransitEncryption != "" && e.TransitEncryption != "ENABLED" && e.TransitEncryption != "DISABLED" {
			return clientErr("Invalid 'transitEncryption' setting for volume '%s'.", name)
		}
		if p := e.TransitEncryptionPort; p != nil && (*p < 1 || *p > 65535) {
			return clientErr("Invalid 'transitEncryptionPort' setting for volume '%s'.", name)
		}
		if a := e.AuthorizationConfig; a != nil {
			if a.IAM != "" && a.IAM != "ENABLED" && a.IAM != "DISABLED" {
				return clientErr("Invalid 'iam' setting for volume '%s'.", name)
			}
			if (a.IAM == "ENABLED" || deref(a.AccessPointID) != "") && e.TransitEncryption != "ENABLED" {
				return clientErr("Invalid setting for volume '%s'. Transit encryption must be enabled when using an access point or IAM authorization.", name)
			}
			if deref(a.AccessPointID) != "" && e.RootDirectory != nil && *e.RootDirectory != "" && *e.RootDirectory != "/" {
				return clientErr("Invalid setting for volume '%s'. The root directory must be omitted or set to '/' when an access point is used.", name)
			}
		}
	}
	if s := vol.S3FilesVolumeConfiguration; s != nil && s.FileSystemARN == "" {
		return clientErr("Invalid setting for volume '%s'. 'fileSystemArn' should not be null or empty.", name)
	}
	if f := vol.FSxWindowsFileServerVolumeConfiguration; f != nil {
		if f.FileSystemID == "" || f.RootDirectory == "" || f.AuthorizationConfig == nil ||
			f.AuthorizationConfig.CredentialsParameter == "" || f.AuthorizationConfig.Domain == "" {
			return clientErr("Invalid setting for volume '%s'. 'fileSystemId', 'rootDirectory' and 'authorizationConfig' must be specified.", name)
		}
	}
	return nil
}

// containerNames checks names and images, and indexes containers by name.
func (v *validator) containerNames() *Error {
	for i := range v.in.ContainerDefinitions {
		c := &v.in.ContainerDefinitions[i]
		switch {
		case c.Name == "":
			return clientErr("Container.name should not be null or empty.")
		case len(c.Name) > 255:
			return clientErr("Container.name can not be longer than 255 characters.")
		case !namePattern.MatchString(c.Name):
			return clientErr("Container.name contains invalid characters.")
		case v.containers[c.Name] != nil:
			return clientErr("Container names must be unique within a Task Definition.")
		}
		v.containers[c.Name] = c
		switch {
		case strings.TrimSpace(c.Image) == "":
			return clientErr("Container.image should not be null or empty.")
		case imageRepository(c.Image) == "":
			return clientErr("Container.image repository should not be null or empty.")
		case len(c.Image) > 255:
			return clientErr("Container.image can not be longer than 255 characters.")
		}
	}
	return nil
}

// imageRepository strips the tag and digest from an image reference.
func imageRepository(image string) string {
	ref, _, _ := strings.Cut(image, "@")
	if colon := strings.LastIndexByte(ref, ':'); colon > strings.LastIndexByte(ref, '/') {
		ref = ref[:colon]
	}
	if strings.HasSuffix(ref, "/") {
		return ""
	}
	return ref
}

func (v *validator) containerDetails() *Error {
	portNames := map[string]bool{}
	for i := range v.in.ContainerDefinitions {
		c := &v.in.ContainerDefinitions[i]
		checks := []func(*ContainerDefinition) *Error{
			v.containerResources,
			v.containerNetwork,
			func(c *ContainerDefinition) *Error { return v.portMappings(c, portNames) },
			v.containerStorage,
			v.containerEnvironment,
			v.containerLogging,
			v.containerHealth,
			v.containerLinux,
			v.containerMisc,
		}
		for _, check := range checks {
			if err := check(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (v *validator) containerResources(c *ContainerDefinition) *Error {
	if c.CPU < 0 {
		return clientErr("Invalid 'cpu' setting for container '%s'.", c.Name)
	}
	if c.Memory != nil && *c.Memory <= 0 {
		return clientErr("Invalid 'memory' setting for container '%s'.", c.Name)
	}
	if c.MemoryReservation != nil && *c.MemoryReservation <= 0 {
		return clientErr("Invalid 'memoryReservation' setting for container '%s'.", c.Name)
	}
	if c.Memory == nil && c.MemoryReservation == nil && !v.hasMemory {
		return clientErr("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", c.Name)
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.Memory < *c.MemoryReservation {
		return clientErr("Invalid setting for container '%s'. 'memory' must be greater than or equal to 'memoryReservation'.", c.Name)
	}
	if c.Memory != nil && v.hasMemory && int(*c.Memory) > v.memory {
		return clientErr("The 'memory' setting for container '%s' is greater than for the task.", c.Name)
	}
	for _, rr := range c.ResourceRequirements {
		if err := v.resourceRequirement(c.Name, &rr); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) resourceRequirement(name string, rr *ResourceRequirement) *Error {
	bad := clientErr("Invalid 'resourceRequirements' setting for container '%s'.", name)
	value := deref(rr.Value)
	switch rr.Type {
	case "GPU":
		if rr.SharingStrategy != nil {
			if rr.Value != nil || rr.SharingStrategy.NvidiaMps == nil {
				return bad
			}
			return nil
		}
		if value == "ALL" {
			return nil
		}
		if n, err := strconv.Atoi(value); err != nil || n < 1 {
			return bad
		}
	case "InferenceAccelerator":
		if rr.SharingStrategy != nil || !slices.ContainsFunc(v.in.InferenceAccelerators, func(a InferenceAccelerator) bool { return a.DeviceName == value }) {
			return bad
		}
	case "NeuronDevice":
		if rr.SharingStrategy != nil || value != "ALL" {
			return bad
		}
	default:
		return bad
	}
	return nil
}

func (v *validator) containerNetwork(c *ContainerDefinition) *Error {
	if len(c.Links) > 0 && v.mode != NetworkModeBridge {
		return clientErr("Links are not supported when networkMode=%s.", v.mode)
	}
	for _, link := range c.Links {
		target, _, _ := strings.Cut(link, ":")
		if target == c.Name || v.containers[target] == nil {
			return clientErr("Invalid 'links' setting for container '%s'. Unknown container '%s'.", c.Name, target)
		}
	}
	if c.Hostname != nil && v.mode == NetworkModeAWSVPC {
		return clientErr("hostname is not supported on container when networkMode=awsvpc.")
	}
	for _, h := range c.ExtraHosts {
		if h.Hostname == "" || h.IPAddress == "" {
			return clientErr("Invalid 'extraHosts' setting for container '%s'. Both 'hostname' and 'ipAddress' must be specified.", c.Name)
		}
	}
	return nil
}

// portRange is an inclusive range of container ports of one protocol.
type portRange struct {
	protocol string
	lo, hi   int
}

func (v *validator) portMappings(c *ContainerDefinition, names map[string]bool) *Error {
	if len(c.PortMappings) > 0 && v.mode == NetworkModeNone {
		return clientErr("Port mappings are not supported when networkMode=none.")
	}
	var used []portRange
	ranges := 0
	for _, pm := range c.PortMappings {
		protocol := ProtocolTCP
		if pm.Protocol == ProtocolUDP {
			protocol = ProtocolUDP
		}
		var r portRange
		if pm.ContainerPortRange != nil {
			bad := clientErr("Invalid 'containerPortRange' setting for container '%s'.", c.Name)
			if pm.ContainerPort != nil || (v.mode != NetworkModeBridge && v.mode != NetworkModeAWSVPC) {
				return bad
			}
			lo, hi, ok := parsePortRange(*pm.ContainerPortRange)
			if !ok {
				return bad
			}
			if pm.HostPort != nil {
				return clientErr("Invalid 'hostPort' setting for container '%s'.", c.Name)
			}
			if ranges++; ranges > MaxPortRanges {
				return bad
			}
			r = portRange{protocol, lo, hi}
		} else {
			if pm.ContainerPort == nil || *pm.ContainerPort < 1 || *pm.ContainerPort > 65535 {
				return clientErr("Invalid 'containerPort' setting for container '%s'.", c.Name)
			}
			if hp := pm.HostPort; hp != nil {
				if *hp < 0 || *hp > 65535 {
					return clientErr("Invalid 'hostPort' setting for container '%s'.", c.Name)
				}
				if *hp != 0 && *hp != *pm.ContainerPort && (v.mode == NetworkModeAWSVPC || v.mode == NetworkModeHost) {
					return clientErr("When networkMode=%s, the host ports and container ports in port mappings must match.", v.mode)
				}
			}
			r = portRange{protocol, int(*pm.ContainerPort), int(*pm.ContainerPort)}
		}
		for _, u := range used {
			if u.protocol == r.protocol && r.lo <= u.hi && u.lo <= r.hi {
				return clientErr("Invalid 'portMappings' setting for container '%s'. A port can only be included in one port mapping per container.", c.Name)
			}
		}
		used = append(used, r)
		if pm.Name != nil {
			if !portNamePattern.MatchString(*pm.Name) {
				return clientErr("Invalid 'name' setting for a port mapping of container '%s'.", c.Name)
			}
			if names[*pm.Name] {
				return clientErr("Port mapping names must be unique within a Task Definition.")
			}
			names[*pm.Name] = true
		}
		if pm.AppProtocol != "" && pm.AppProtocol != "http" && pm.AppProtocol != "http2" && pm.AppProtocol != "grpc" {
			return clientErr("Invalid 'appProtocol' setting for container '%s'.", c.Name)
		}
	}
	return nil
}

// parsePortRange reads "first-last" with 1 <= first < last <= 65535.
func parsePortRange(s string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found || !isDigits(a) || !isDigits(b) || len(a) > 5 || len(b) > 5 {
		return 0, 0, false
	}
	lo, _ = strconv.Atoi(a)
	hi, _ = strconv.Atoi(b)
	return lo, hi, lo >= 1 && lo < hi && hi <= 65535
}

func (v *validator) containerStorage(c *ContainerDefinition) *Error {
	for _, mp := range c.MountPoints {
		if mp.SourceVolume == nil {
			return clientErr("Unknown volume 'null'.")
		}
		if !v.volumes[*mp.SourceVolume] {
			return clientErr("Unknown volume '%s'.", *mp.SourceVolume)
		}
		if deref(mp.ContainerPath) == "" {
			return clientErr("Invalid 'mountPoints' setting for container '%s'. 'containerPath' must be specified.", c.Name)
		}
	}
	for _, vf := range c.VolumesFrom {
		src := deref(vf.SourceContainer)
		if src == c.Name || v.containers[src] == nil {
			return clientErr("Invalid 'volumesFrom' setting for container '%s'. Unknown container '%s'.", c.Name, src)
		}
	}
	return nil
}

func (v *validator) containerEnvironment(c *ContainerDefinition) *Error {
	for _, kv := range c.Environment {
		if deref(kv.Name) == "" {
			return clientErr("Invalid 'environment' setting for container '%s'. Environment variable names must not be empty.", c.Name)
		}
	}
	if len(c.EnvironmentFiles) > MaxEnvironmentFiles {
		return clientErr("Invalid 'environmentFiles' setting for container '%s'. A container can have at most %d environment files.", c.Name, MaxEnvironmentFiles)
	}
	for _, ef := range c.EnvironmentFiles {
		if ef.Type != "s3" || ef.Value == "" {
			return clientErr("Invalid 'environmentFiles' setting for container '%s'.", c.Name)
		}
	}
	for _, s := range c.Secrets {
		if s.Name == "" || s.ValueFrom == "" {
			return clientErr("Invalid 'secrets' setting for container '%s'. Both 'name' and 'valueFrom' must be specified.", c.Name)
		}
	}
	if rc := c.RepositoryCredentials; rc != nil && rc.CredentialsParameter == "" {
		return clientErr("Invalid 'repositoryCredentials' setting for container '%s'. 'credentialsParameter' must be specified.", c.Name)
	}
	return nil
}

var logDrivers = []string{"json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens"}

func (v *validator) containerLogging(c *ContainerDefinition) *Error {
	if lc := c.LogConfiguration; lc != nil {
		if !slices.Contains(logDrivers, lc.LogDriver) {
			return clientErr("Invalid 'logDriver' setting for container '%s'.", c.Name)
		}
		for _, s := range lc.SecretOptions {
			if s.Name == "" || s.ValueFrom == "" {
				return clientErr("Invalid 'secretOptions' setting for container '%s'. Both 'name' and 'valueFrom' must be specified.", c.Name)
			}
		}
	}
	if fc := c.FirelensConfiguration; fc != nil && fc.Type != "fluentd" && fc.Type != "fluentbit" {
		return clientErr("Invalid 'firelensConfiguration' setting for container '%s'.", c.Name)
	}
	return nil
}

func (v *validator) containerHealth(c *ContainerDefinition) *Error {
	hc := c.HealthCheck
	if hc == nil {
		return nil
	}
	if len(hc.Command) == 0 {
		return clientErr("Invalid 'healthCheck' setting for container '%s'. 'command' must not be empty.", c.Name)
	}
	for _, r := range []struct {
		name    string
		val     *int32
		min, hi int32
	}{
		{"interval", hc.Interval, 5, 300},
		{"timeout", hc.Timeout, 2, 60},
		{"retries", hc.Retries, 1, 10},
		{"startPeriod", hc.StartPeriod, 0, 300},
	} {
		if r.val != nil && (*r.val < r.min || *r.val > r.hi) {
			return clientErr("Invalid 'healthCheck' setting for container '%s'. '%s' must be between %d and %d.", c.Name, r.name, r.min, r.hi)
		}
	}
	return nil
}

var (
	ulimitNames       = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
	devicePermissions = []string{"read", "write", "mknod"}
)

func (v *validator) containerLinux(c *ContainerDefinition) *Error {
	for _, u := range c.Ulimits {
		if !slices.Contains(ulimitNames, u.Name) {
			return clientErr("Invalid 'ulimits' setting for container '%s'. Unknown ulimit '%s'.", c.Name, u.Name)
		}
		if u.SoftLimit > u.HardLimit {
			return clientErr("Invalid 'ulimits' setting for container '%s'. The soft limit of '%s' cannot be greater than its hard limit.", c.Name, u.Name)
		}
	}
	lp := c.LinuxParameters
	if lp == nil {
		return nil
	}
	if lp.Swappiness != nil && (*lp.Swappiness < 0 || *lp.Swappiness > 100) {
		return clientErr("Invalid 'swappiness' setting for container '%s'.", c.Name)
	}
	if lp.MaxSwap != nil && *lp.MaxSwap < 0 {
		return clientErr("Invalid 'maxSwap' setting for container '%s'.", c.Name)
	}
	if lp.SharedMemorySize != nil && *lp.SharedMemorySize < 0 {
		return clientErr("Invalid 'sharedMemorySize' setting for container '%s'.", c.Name)
	}
	for _, t := range lp.Tmpfs {
		if t.ContainerPath == "" || t.Size <= 0 {
			return clientErr("Invalid 'tmpfs' setting for container '%s'.", c.Name)
		}
	}
	for _, d := range lp.Devices {
		if d.HostPath == "" {
			return clientErr("Invalid 'devices' setting for container '%s'. 'hostPath' must be specified.", c.Name)
		}
		for _, p := range d.Permissions {
			if !slices.Contains(devicePermissions, p) {
				return clientErr("Invalid 'devices' setting for container '%s'.", c.Name)
			}
		}
	}
	return nil
}

func (v *validator) containerMisc(c *ContainerDefinition) *Error {
	if c.StartTimeout != nil && *c.StartTimeout < 0 {
		return clientErr("Invalid 'startTimeout' setting for container '%s'.", c.Name)
	}
	if c.StopTimeout != nil && *c.StopTimeout < 0 {
		return clientErr("Invalid 'stopTimeout' setting for container '%s'.", c.Name)
	}
	if c.VersionConsistency != "" && c.VersionConsistency != "enabled" && c.VersionConsistency != "disabled" {
		return clientErr("Invalid 'versionConsistency' setting for container '%s'.", c.Name)
	}
	if rp := c.RestartPolicy; rp != nil {
		switch {
		case rp.Enabled == nil:
			return clientErr("Invalid 'restartPolicy' setting for container '%s'. 'enabled' must be specified.", c.Name)
		case len(rp.IgnoredExitCodes) > MaxIgnoredExitCodes:
			return clientErr("Invalid 'restartPolicy' setting for container '%s'. At most %d exit codes can be ignored.", c.Name, MaxIgnoredExitCodes)
		case rp.RestartAttemptPeriod != nil && (*rp.RestartAttemptPeriod < 60 || *rp.RestartAttemptPeriod > 1800):
			return clientErr("Invalid 'restartPolicy' setting for container '%s'. 'restartAttemptPeriod' must be between 60 and 1800.", c.Name)
		}
	}
	return nil
}

// taskTotals compares the containers' reservations with the task size.
func (v *validator) taskTotals() *Error {
	var cpu, reserved int64
	for _, c := range v.in.ContainerDefinitions {
		cpu += int64(c.CPU)
		if c.MemoryReservation != nil {
			reserved += int64(*c.MemoryReservation)
		}
	}
	if v.hasCPU && cpu > int64(v.cpu) {
		return clientErr("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")
	}
	if v.hasMemory && reserved > int64(v.memory) {
		return clientErr("The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.")
	}
	return nil
}

func (v *validator) essentials() *Error {
	for _, c := range v.in.ContainerDefinitions {
		if isEssential(&c) {
			return nil
		}
	}
	return clientErr("Task definition doesn't have any essential container.")
}

var conditions = []string{ConditionStart, ConditionComplete, ConditionSuccess, ConditionHealthy}

func (v *validator) dependencies() *Error {
	for _, c := range v.in.ContainerDefinitions {
		for _, d := range c.DependsOn {
			dep := v.containers[d.ContainerName]
			if dep == nil {
				// The stray "+" is in AWS's message.
				return clientErr("Cannot depend on container + '%s' because it does not exist", d.ContainerName)
			}
			if !slices.Contains(conditions, d.Condition) {
				return clientErr("Invalid 'dependsOn' setting for container '%s'. Unknown condition '%s'.", c.Name, d.Condition)
			}
			if (d.Condition == ConditionComplete || d.Condition == ConditionSuccess) && isEssential(dep) {
				return clientErr("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")
			}
			if d.Condition == ConditionHealthy && dep.HealthCheck == nil {
				return clientErr("Invalid 'dependsOn' setting for container '%s'. Container '%s' must have a health check to use the HEALTHY condition.", c.Name, d.ContainerName)
			}
		}
	}
	if cycle := dependencyCycle(v.in.ContainerDefinitions); cycle != "" {
		return clientErr("Invalid 'dependsOn' setting for container '%s'. Container dependencies cannot be circular.", cycle)
	}
	return nil
}

// dependencyCycle returns the name of a container on a dependsOn cycle, or "".
func dependencyCycle(cs []ContainerDefinition) string {
	edges := map[string][]string{}
	for _, c := range cs {
		for _, d := range c.DependsOn {
			edges[c.Name] = append(edges[c.Name], d.ContainerName)
		}
	}
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var visit func(string) bool
	visit = func(n string) bool {
		switch state[n] {
		case active:
			return true
		case done:
			return false
		}
		state[n] = active
		for _, m := range edges[n] {
			if visit(m) {
				return true
			}
		}
		state[n] = done
		return false
	}
	for _, c := range cs {
		if visit(c.Name) {
			return c.Name
		}
	}
	return ""
}

var (
	cpuArchitectures = []string{"X86_64", "ARM64"}
	osFamilies       = []string{"WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_2016_FULL", "WINDOWS_SERVER_2004_CORE", "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL", "WINDOWS_SERVER_2025_CORE", "WINDOWS_SERVER_2025_FULL", "WINDOWS_SERVER_20H2_CORE", "LINUX"}
	isolationModes   = []string{"SHARED", "ISOLATED_SANDBOX", "CONFIDENTIAL_SANDBOX"}
)

// taskOptions checks the remaining task-level members.
func (v *validator) taskOptions() *Error {
	in := v.in
	if len(in.PlacementConstraints) > MaxPlacementConstraints {
		return clientErr("Too many placement constraints.")
	}
	for _, pc := range in.PlacementConstraints {
		if pc.Type != "memberOf" {
			return clientErr("Invalid 'placementConstraints' setting for task.")
		}
	}
	if pc := in.ProxyConfiguration; pc != nil {
		if pc.Type != "" && pc.Type != "APPMESH" {
			return clientErr("Invalid 'proxyConfiguration' setting for task.")
		}
		if v.containers[pc.ContainerName] == nil {
			return clientErr("Invalid 'proxyConfiguration' setting for task. Unknown container '%s'.", pc.ContainerName)
		}
	}
	seen := map[string]bool{}
	for _, a := range in.InferenceAccelerators {
		if a.DeviceName == "" || a.DeviceType == "" || seen[a.DeviceName] {
			return clientErr("Invalid 'inferenceAccelerators' setting for task.")
		}
		seen[a.DeviceName] = true
	}
	if es := in.EphemeralStorage; es != nil {
		if es.SizeInGiB < MinEphemeralStorageGiB {
			return clientErr("EphemeralStorage size should be at least %d", MinEphemeralStorageGiB)
		}
		if es.SizeInGiB > MaxEphemeralStorageGiB {
			return clientErr("EphemeralStorage size should be at most %d", MaxEphemeralStorageGiB)
		}
	}
	if rp := in.RuntimePlatform; rp != nil {
		if rp.CPUArchitecture != "" && !slices.Contains(cpuArchitectures, rp.CPUArchitecture) {
			return clientErr("Invalid 'cpuArchitecture' setting for task.")
		}
		if rp.OperatingSystemFamily != "" && !slices.Contains(osFamilies, rp.OperatingSystemFamily) {
			return clientErr("Invalid 'operatingSystemFamily' setting for task.")
		}
	}
	if te := in.TrustedExecutionConfiguration; te != nil {
		if !slices.Contains(isolationModes, te.IsolationMode) {
			return clientErr("Invalid 'isolationMode' setting for task.")
		}
		if te.IsolationMode == "CONFIDENTIAL_SANDBOX" && deref(te.AttestationPolicy) == "" {
			return clientErr("Invalid 'trustedExecutionConfiguration' setting for task. 'attestationPolicy' is required when 'isolationMode' is CONFIDENTIAL_SANDBOX.")
		}
	}
	return nil
}

// tags applies the ECS tagging rules. Tag problems are
// InvalidParameterExceptions across the ECS API.
func (v *validator) tags() *Error {
	tags := v.in.Tags
	if len(tags) > MaxTags {
		return paramErr("Too many tags. A resource can have at most %d tags.", MaxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "" || len([]rune(t.Key)) > 128:
			return paramErr("Tag keys must be between 1 and 128 characters.")
		case len([]rune(t.Value)) > 256:
			return paramErr("Tag values must be at most 256 characters.")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return paramErr("Tag keys cannot start with the reserved prefix 'aws:'.")
		case seen[t.Key]:
			return paramErr("Tag keys must be unique.")
		}
		seen[t.Key] = true
	}
	return nil
}

func isEssential(c *ContainerDefinition) bool { return c.Essential == nil || *c.Essential }

func isTrue(b *bool) bool { return b != nil && *b }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
