package taskdef

import "github.com/berthhq/berth/internal/awsjson"

// The shapes below follow the ECS model (aws-sdk-go-v2 service/ecs v1.105.1,
// botocore ecs 2014-11-13) member for member, in the model's order, with the
// model's camelCase names.
//
// Encoding rules, so a stored definition describes back with the members the
// caller gave plus the ones AWS fills in:
//   - optional scalars are pointers with omitempty: absent stays absent;
//   - lists and maps use omitzero: absent (nil) is omitted, an empty list the
//     caller sent (or Build filled in) is kept as [];
//   - enum members are plain strings with omitempty ("" means not given);
//   - members the model marks required (or that AWS always returns, such as a
//     container's cpu) have no omit option.
//
// Numbers are Go integers, so a JSON string where the model has a number is a
// decode error for the caller to report.

// Enum values of the ECS model.
const (
	NetworkModeBridge = "bridge"
	NetworkModeHost   = "host"
	NetworkModeAWSVPC = "awsvpc"
	NetworkModeNone   = "none"

	CompatibilityEC2              = "EC2"
	CompatibilityFargate          = "FARGATE"
	CompatibilityExternal         = "EXTERNAL"
	CompatibilityManagedInstances = "MANAGED_INSTANCES"

	StatusActive           = "ACTIVE"
	StatusInactive         = "INACTIVE"
	StatusDeleteInProgress = "DELETE_IN_PROGRESS"

	ConditionStart    = "START"
	ConditionComplete = "COMPLETE"
	ConditionSuccess  = "SUCCESS"
	ConditionHealthy  = "HEALTHY"

	ProtocolTCP = "tcp"
	ProtocolUDP = "udp"
)

// RegisterInput is the RegisterTaskDefinition request body.
type RegisterInput struct {
	Family                        string                              `json:"family"`
	TaskRoleARN                   *string                             `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN              *string                             `json:"executionRoleArn,omitempty"`
	NetworkMode                   string                              `json:"networkMode,omitempty"`
	ContainerDefinitions          []ContainerDefinition               `json:"containerDefinitions,omitzero"`
	Volumes                       []Volume                            `json:"volumes,omitzero"`
	PlacementConstraints          []TaskDefinitionPlacementConstraint `json:"placementConstraints,omitzero"`
	RequiresCompatibilities       []string                            `json:"requiresCompatibilities,omitzero"`
	CPU                           *string                             `json:"cpu,omitempty"`
	Memory                        *string                             `json:"memory,omitempty"`
	Tags                          []Tag                               `json:"tags,omitzero"`
	PIDMode                       string                              `json:"pidMode,omitempty"`
	IPCMode                       string                              `json:"ipcMode,omitempty"`
	ProxyConfiguration            *ProxyConfiguration                 `json:"proxyConfiguration,omitempty"`
	InferenceAccelerators         []InferenceAccelerator              `json:"inferenceAccelerators,omitzero"`
	EphemeralStorage              *EphemeralStorage                   `json:"ephemeralStorage,omitempty"`
	RuntimePlatform               *RuntimePlatform                    `json:"runtimePlatform,omitempty"`
	EnableFaultInjection          *bool                               `json:"enableFaultInjection,omitempty"`
	TrustedExecutionConfiguration *TrustedExecutionConfiguration      `json:"trustedExecutionConfiguration,omitempty"`
}

// TaskDefinition is a registered revision as stored and as DescribeTaskDefinition
// returns it. Tags are kept apart, as AWS keeps them.
type TaskDefinition struct {
	TaskDefinitionARN             string                              `json:"taskDefinitionArn"`
	ContainerDefinitions          []ContainerDefinition               `json:"containerDefinitions,omitzero"`
	Family                        string                              `json:"family"`
	TaskRoleARN                   *string                             `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN              *string                             `json:"executionRoleArn,omitempty"`
	NetworkMode                   string                              `json:"networkMode,omitempty"`
	Revision                      int32                               `json:"revision"`
	Volumes                       []Volume                            `json:"volumes,omitzero"`
	Status                        string                              `json:"status,omitempty"`
	RequiresAttributes            []Attribute                         `json:"requiresAttributes,omitzero"`
	PlacementConstraints          []TaskDefinitionPlacementConstraint `json:"placementConstraints,omitzero"`
	Compatibilities               []string                            `json:"compatibilities,omitzero"`
	RuntimePlatform               *RuntimePlatform                    `json:"runtimePlatform,omitempty"`
	RequiresCompatibilities       []string                            `json:"requiresCompatibilities,omitzero"`
	CPU                           *string                             `json:"cpu,omitempty"`
	Memory                        *string                             `json:"memory,omitempty"`
	InferenceAccelerators         []InferenceAccelerator              `json:"inferenceAccelerators,omitzero"`
	PIDMode                       string                              `json:"pidMode,omitempty"`
	IPCMode                       string                              `json:"ipcMode,omitempty"`
	ProxyConfiguration            *ProxyConfiguration                 `json:"proxyConfiguration,omitempty"`
	RegisteredAt                  *awsjson.Time                       `json:"registeredAt,omitempty"`
	DeregisteredAt                *awsjson.Time                       `json:"deregisteredAt,omitempty"`
	DeleteRequestedAt             *awsjson.Time                       `json:"deleteRequestedAt,omitempty"`
	RegisteredBy                  *string                             `json:"registeredBy,omitempty"`
	EphemeralStorage              *EphemeralStorage                   `json:"ephemeralStorage,omitempty"`
	EnableFaultInjection          *bool                               `json:"enableFaultInjection,omitempty"`
	TrustedExecutionConfiguration *TrustedExecutionConfiguration      `json:"trustedExecutionConfiguration,omitempty"`
}

// ContainerDefinition describes one container of a task definition.
type ContainerDefinition struct {
	Name                  string                 `json:"name"`
	Image                 string                 `json:"image"`
	RepositoryCredentials *RepositoryCredentials `json:"repositoryCredentials,omitempty"`
	// CPU is a non-boxed integer in the model: AWS always returns it, 0 when not given.
	CPU                    int32                   `json:"cpu"`
	Memory                 *int32                  `json:"memory,omitempty"`
	MemoryReservation      *int32                  `json:"memoryReservation,omitempty"`
	Links                  []string                `json:"links,omitzero"`
	PortMappings           []PortMapping           `json:"portMappings,omitzero"`
	Essential              *bool                   `json:"essential,omitempty"`
	RestartPolicy          *ContainerRestartPolicy `json:"restartPolicy,omitempty"`
	EntryPoint             []string                `json:"entryPoint,omitzero"`
	Command                []string                `json:"command,omitzero"`
	Environment            []KeyValuePair          `json:"environment,omitzero"`
	EnvironmentFiles       []EnvironmentFile       `json:"environmentFiles,omitzero"`
	MountPoints            []MountPoint            `json:"mountPoints,omitzero"`
	VolumesFrom            []VolumeFrom            `json:"volumesFrom,omitzero"`
	LinuxParameters        *LinuxParameters        `json:"linuxParameters,omitempty"`
	Secrets                []Secret                `json:"secrets,omitzero"`
	DependsOn              []ContainerDependency   `json:"dependsOn,omitzero"`
	StartTimeout           *int32                  `json:"startTimeout,omitempty"`
	StopTimeout            *int32                  `json:"stopTimeout,omitempty"`
	VersionConsistency     string                  `json:"versionConsistency,omitempty"`
	Hostname               *string                 `json:"hostname,omitempty"`
	User                   *string                 `json:"user,omitempty"`
	WorkingDirectory       *string                 `json:"workingDirectory,omitempty"`
	DisableNetworking      *bool                   `json:"disableNetworking,omitempty"`
	Privileged             *bool                   `json:"privileged,omitempty"`
	ReadonlyRootFilesystem *bool                   `json:"readonlyRootFilesystem,omitempty"`
	DNSServers             []string                `json:"dnsServers,omitzero"`
	DNSSearchDomains       []string                `json:"dnsSearchDomains,omitzero"`
	ExtraHosts             []HostEntry             `json:"extraHosts,omitzero"`
	DockerSecurityOptions  []string                `json:"dockerSecurityOptions,omitzero"`
	Interactive            *bool                   `json:"interactive,omitempty"`
	PseudoTerminal         *bool                   `json:"pseudoTerminal,omitempty"`
	DockerLabels           map[string]string       `json:"dockerLabels,omitzero"`
	Ulimits                []Ulimit                `json:"ulimits,omitzero"`
	LogConfiguration       *LogConfiguration       `json:"logConfiguration,omitempty"`
	HealthCheck            *HealthCheck            `json:"healthCheck,omitempty"`
	SystemControls         []SystemControl         `json:"systemControls,omitzero"`
	ResourceRequirements   []ResourceRequirement   `json:"resourceRequirements,omitzero"`
	FirelensConfiguration  *FirelensConfiguration  `json:"firelensConfiguration,omitempty"`
	CredentialSpecs        []string                `json:"credentialSpecs,omitzero"`
}

// RepositoryCredentials names the Secrets Manager secret holding private
// registry credentials.
type RepositoryCredentials struct {
	CredentialsParameter string `json:"credentialsParameter"`
}

// PortMapping maps a container port (or port range) to the host.
type PortMapping struct {
	ContainerPort      *int32  `json:"containerPort,omitempty"`
	HostPort           *int32  `json:"hostPort,omitempty"`
	Protocol           string  `json:"protocol,omitempty"`
	Name               *string `json:"name,omitempty"`
	AppProtocol        string  `json:"appProtocol,omitempty"`
	ContainerPortRange *string `json:"containerPortRange,omitempty"`
}

// ContainerRestartPolicy restarts a container in place when it exits.
type ContainerRestartPolicy struct {
	Enabled              *bool   `json:"enabled,omitempty"`
	IgnoredExitCodes     []int32 `json:"ignoredExitCodes,omitzero"`
	RestartAttemptPeriod *int32  `json:"restartAttemptPeriod,omitempty"`
}

// KeyValuePair is an environment variable or a proxy configuration property.
type KeyValuePair struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// EnvironmentFile is an S3 object of VARIABLE=VALUE lines.
type EnvironmentFile struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

// MountPoint mounts a task volume into a container.
type MountPoint struct {
	SourceVolume  *string `json:"sourceVolume,omitempty"`
	ContainerPath *string `json:"containerPath,omitempty"`
	ReadOnly      *bool   `json:"readOnly,omitempty"`
}

// VolumeFrom mounts all volumes of another container of the task.
type VolumeFrom struct {
	SourceContainer *string `json:"sourceContainer,omitempty"`
	ReadOnly        *bool   `json:"readOnly,omitempty"`
}

// LinuxParameters are Linux-specific container options.
type LinuxParameters struct {
	Capabilities       *KernelCapabilities `json:"capabilities,omitempty"`
	Devices            []Device            `json:"devices,omitzero"`
	InitProcessEnabled *bool               `json:"initProcessEnabled,omitempty"`
	SharedMemorySize   *int32              `json:"sharedMemorySize,omitempty"`
	Tmpfs              []Tmpfs             `json:"tmpfs,omitzero"`
	MaxSwap            *int32              `json:"maxSwap,omitempty"`
	Swappiness         *int32              `json:"swappiness,omitempty"`
}

// KernelCapabilities are the Linux capabilities added to or dropped from
// Docker's default set.
type KernelCapabilities struct {
	Add  []string `json:"add,omitzero"`
	Drop []string `json:"drop,omitzero"`
}

// Device exposes a host device to the container.
type Device struct {
	HostPath      string   `json:"hostPath"`
	ContainerPath *string  `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitzero"`
}

// Tmpfs is a tmpfs mount; Size is in MiB.
type Tmpfs struct {
	ContainerPath string   `json:"containerPath"`
	Size          int32    `json:"size"`
	MountOptions  []string `json:"mountOptions,omitzero"`
}

// Secret is injected as an environment variable (or a log driver option) from
// SSM Parameter Store or Secrets Manager.
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// ContainerDependency orders container startup and shutdown.
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// HostEntry is a line appended to the container's /etc/hosts.
type HostEntry struct {
	Hostname  string `json:"hostname"`
	IPAddress string `json:"ipAddress"`
}

// Ulimit is a resource limit for the container.
type Ulimit struct {
	Name      string `json:"name"`
	SoftLimit int32  `json:"softLimit"`
	HardLimit int32  `json:"hardLimit"`
}

// LogConfiguration selects the container's log driver.
type LogConfiguration struct {
	LogDriver     string            `json:"logDriver"`
	Options       map[string]string `json:"options,omitzero"`
	SecretOptions []Secret          `json:"secretOptions,omitzero"`
}

// HealthCheck is the container health check; durations are in seconds.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    *int32   `json:"interval,omitempty"`
	Timeout     *int32   `json:"timeout,omitempty"`
	Retries     *int32   `json:"retries,omitempty"`
	StartPeriod *int32   `json:"startPeriod,omitempty"`
}

// SystemControl is a namespaced kernel parameter (sysctl).
type SystemControl struct {
	Namespace *string `json:"namespace,omitempty"`
	Value     *string `json:"value,omitempty"`
}

// ResourceRequirement reserves GPUs, inference accelerators or Neuron devices.
type ResourceRequirement struct {
	Value           *string          `json:"value,omitempty"`
	Type            string           `json:"type"`
	SharingStrategy *SharingStrategy `json:"sharingStrategy,omitempty"`
}

// SharingStrategy is the model's union for GPU sharing; exactly one member is set.
type SharingStrategy struct {
	NvidiaMps *NvidiaMpsAllocation `json:"nvidiaMps,omitempty"`
}

// NvidiaMpsAllocation shares a GPU through NVIDIA Multi-Process Service.
type NvidiaMpsAllocation struct {
	Memory            *int32 `json:"memory,omitempty"`
	MaxComputePercent *int32 `json:"maxComputePercent,omitempty"`
}

// FirelensConfiguration makes the container a FireLens log router.
type FirelensConfiguration struct {
	Type    string            `json:"type"`
	Options map[string]string `json:"options,omitzero"`
}

// Volume is a data volume of the task.
type Volume struct {
	Name                                    *string                                  `json:"name,omitempty"`
	Host                                    *HostVolumeProperties                    `json:"host,omitempty"`
	DockerVolumeConfiguration               *DockerVolumeConfiguration               `json:"dockerVolumeConfiguration,omitempty"`
	EFSVolumeConfiguration                  *EFSVolumeConfiguration                  `json:"efsVolumeConfiguration,omitempty"`
	S3FilesVolumeConfiguration              *S3FilesVolumeConfiguration              `json:"s3filesVolumeConfiguration,omitempty"`
	FSxWindowsFileServerVolumeConfiguration *FSxWindowsFileServerVolumeConfiguration `json:"fsxWindowsFileServerVolumeConfiguration,omitempty"`
	ConfiguredAtLaunch                      *bool                                    `json:"configuredAtLaunch,omitempty"`
}

// HostVolumeProperties is a bind mount; without SourcePath Docker picks the path.
type HostVolumeProperties struct {
	SourcePath *string `json:"sourcePath,omitempty"`
}

// DockerVolumeConfiguration is a Docker-managed volume.
type DockerVolumeConfiguration struct {
	Scope         string            `json:"scope,omitempty"`
	Autoprovision *bool             `json:"autoprovision,omitempty"`
	Driver        *string           `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitzero"`
	Labels        map[string]string `json:"labels,omitzero"`
}

// EFSVolumeConfiguration mounts an Amazon EFS file system.
type EFSVolumeConfiguration struct {
	FileSystemID          string                  `json:"fileSystemId"`
	RootDirectory         *string                 `json:"rootDirectory,omitempty"`
	TransitEncryption     string                  `json:"transitEncryption,omitempty"`
	TransitEncryptionPort *int32                  `json:"transitEncryptionPort,omitempty"`
	AuthorizationConfig   *EFSAuthorizationConfig `json:"authorizationConfig,omitempty"`
}

// EFSAuthorizationConfig selects an EFS access point and IAM authorization.
type EFSAuthorizationConfig struct {
	AccessPointID *string `json:"accessPointId,omitempty"`
	IAM           string  `json:"iam,omitempty"`
}

// S3FilesVolumeConfiguration mounts an Amazon S3 Files file system.
type S3FilesVolumeConfiguration struct {
	FileSystemARN         string  `json:"fileSystemArn"`
	AccessPointARN        *string `json:"accessPointArn,omitempty"`
	RootDirectory         *string `json:"rootDirectory,omitempty"`
	TransitEncryptionPort *int32  `json:"transitEncryptionPort,omitempty"`
}

// FSxWindowsFileServerVolumeConfiguration mounts an FSx for Windows File Server share.
type FSxWindowsFileServerVolumeConfiguration struct {
	FileSystemID        string                                   `json:"fileSystemId"`
	RootDirectory       string                                   `json:"rootDirectory"`
	AuthorizationConfig *FSxWindowsFileServerAuthorizationConfig `json:"authorizationConfig,omitempty"`
}

// FSxWindowsFileServerAuthorizationConfig holds the share's credentials.
type FSxWindowsFileServerAuthorizationConfig struct {
	CredentialsParameter string `json:"credentialsParameter"`
	Domain               string `json:"domain"`
}

// TaskDefinitionPlacementConstraint is a memberOf constraint on placement.
type TaskDefinitionPlacementConstraint struct {
	Type       string  `json:"type,omitempty"`
	Expression *string `json:"expression,omitempty"`
}

// ProxyConfiguration is the App Mesh proxy configuration.
type ProxyConfiguration struct {
	Type          string         `json:"type,omitempty"`
	ContainerName string         `json:"containerName"`
	Properties    []KeyValuePair `json:"properties,omitzero"`
}

// InferenceAccelerator is an Elastic Inference accelerator (deprecated by AWS).
type InferenceAccelerator struct {
	DeviceName string `json:"deviceName"`
	DeviceType string `json:"deviceType"`
}

// EphemeralStorage is the task's ephemeral storage in GiB.
type EphemeralStorage struct {
	SizeInGiB int32 `json:"sizeInGiB"`
}

// RuntimePlatform is the operating system and CPU architecture of the task.
type RuntimePlatform struct {
	CPUArchitecture       string `json:"cpuArchitecture,omitempty"`
	OperatingSystemFamily string `json:"operatingSystemFamily,omitempty"`
}

// TrustedExecutionConfiguration is the isolation mode for Managed Instances tasks.
type TrustedExecutionConfiguration struct {
	IsolationMode     string  `json:"isolationMode"`
	AttestationPolicy *string `json:"attestationPolicy,omitempty"`
}

// Attribute is a container instance attribute; a task definition lists the
// ones its tasks need in requiresAttributes.
type Attribute struct {
	Name       string  `json:"name"`
	Value      *string `json:"value,omitempty"`
	TargetType string  `json:"targetType,omitempty"`
	TargetID   *string `json:"targetId,omitempty"`
}

// Tag is an ECS resource tag (lowercase members, unlike most AWS services).
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
