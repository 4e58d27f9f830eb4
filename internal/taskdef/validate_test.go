package taskdef

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// decode reads a RegisterTaskDefinition body strictly, as the gateway does.
func decode(t testing.TB, body string) *RegisterInput {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var in RegisterInput
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return &in
}

// doc builds a request body for family "web" from task-level members and
// container definitions.
func doc(task string, containers ...string) string {
	s := `{"family":"web"`
	if task != "" {
		s += "," + task
	}
	return s + `,"containerDefinitions":[` + strings.Join(containers, ",") + `]}`
}

const (
	app = `{"name":"app","image":"nginx:1.27","memory":256}`
	// fargate holds the task-level members a Fargate definition needs.
	fargate = `"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256","memory":"512","executionRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole"`
	awsvpc  = `"networkMode":"awsvpc"`
)

// withApp returns a container named app with extra members.
func withApp(extra string) string {
	return `{"name":"app","image":"nginx:1.27","memory":256,` + extra + `}`
}

func clientException(msg string) *Error { return &Error{Code: CodeClientException, Message: msg} }

func invalidParameter(msg string) *Error {
	return &Error{Code: CodeInvalidParameterException, Message: msg}
}

type validateCase struct {
	name string
	body string
	want *Error // nil: valid
}

func runValidateCases(t *testing.T, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := decode(t, tc.body)
			err := Validate(in)
			var got *Error
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Validate(%s) = %v (%T); want *Error", tc.name, err, err)
			}
			if tc.want == nil {
				if err != nil {
					t.Errorf("Validate(%s) = %v; want nil", tc.name, err)
				}
				return
			}
			if got == nil || *got != *tc.want {
				t.Errorf("Validate(%s) = %v; want %v", tc.name, err, tc.want)
			}
		})
	}
}

func TestValidateTask(t *testing.T) {
	long := strings.Repeat("a", 256)
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf(`{"name":"c%d","image":"nginx","memory":64}`, i)
	}
	runValidateCases(t, []validateCase{
		{"minimal EC2", doc("", app), nil},
		{"minimal Fargate", doc(fargate, `{"name":"app","image":"nginx"}`), nil},
		{"task memory instead of container memory", doc(`"memory":"1 GB"`, `{"name":"app","image":"nginx"}`), nil},
		{"vCPU string", doc(`"cpu":"1 vCPU"`, app), nil},
		{"family 255 characters", strings.Replace(doc("", app), `"web"`, `"`+long[:255]+`"`, 1), nil},

		{"family missing", `{"containerDefinitions":[` + app + `]}`, clientException("Family can not be blank.")},
		{"family invalid characters", strings.Replace(doc("", app), `"web"`, `"web app"`, 1), clientException("Family contains invalid characters.")},
		{"family too long", strings.Replace(doc("", app), `"web"`, `"`+long+`"`, 1), clientException("Family can not be longer than 255 characters.")},
		{"no containers", doc(""), clientException("Container list cannot be empty.")},
		{"eleven containers", doc("", eleven...), clientException("Too many containers.")},

		{"networkMode unknown", doc(`"networkMode":"nat"`, app), clientException("Invalid 'networkMode' setting for task.")},
		{"requiresCompatibilities unknown", doc(`"requiresCompatibilities":["LAMBDA"]`, app), clientException("Invalid 'requiresCompatibilities' setting for task.")},
		{"pidMode unknown", doc(`"pidMode":"container"`, app), clientException("Invalid 'pidMode' setting for task.")},
		{"ipcMode unknown", doc(`"ipcMode":"shareable"`, app), clientException("Invalid 'ipcMode' setting for task.")},
		{"ipcMode none on EC2", doc(`"ipcMode":"none","pidMode":"task"`, app), nil},

		{"cpu empty", doc(`"cpu":""`, app), invalidParameter("Invalid 'cpu' setting for task.")},
		{"cpu not a number", doc(`"cpu":"lots"`, app), clientException(msgCPUTroubleshooting)},
		{"cpu below EC2 minimum", doc(`"cpu":"64"`, app), clientException(msgCPUTroubleshooting)},
		{"cpu at EC2 maximum", doc(`"cpu":"196608"`, app), nil},
		{"cpu above EC2 maximum", doc(`"cpu":"196609"`, app), clientException(msgCPUTroubleshooting)},
		{"memory empty", doc(`"memory":""`, app), invalidParameter("Invalid 'memory' setting for task.")},
		{"memory in TB", doc(`"memory":"2 TB"`, app), clientException(msgMemoryTroubleshooting)},

		{"ephemeral storage 21 GiB", doc(fargate+`,"ephemeralStorage":{"sizeInGiB":21}`, `{"name":"app","image":"nginx"}`), nil},
		{"ephemeral storage 20 GiB", doc(fargate+`,"ephemeralStorage":{"sizeInGiB":20}`, `{"name":"app","image":"nginx"}`), clientException("EphemeralStorage size should be at least 21")},
		{"ephemeral storage 201 GiB", doc(fargate+`,"ephemeralStorage":{"sizeInGiB":201}`, `{"name":"app","image":"nginx"}`), clientException("EphemeralStorage size should be at most 200")},

		{"placement constraint type", doc(`"placementConstraints":[{"type":"distinctInstance"}]`, app), clientException("Invalid 'placementConstraints' setting for task.")},
		{"placement constraint memberOf", doc(`"placementConstraints":[{"type":"memberOf","expression":"attribute:ecs.os-type == linux"}]`, app), nil},
		{"proxy container unknown", doc(`"networkMode":"awsvpc","proxyConfiguration":{"type":"APPMESH","containerName":"envoy"}`, app), clientException("Invalid 'proxyConfiguration' setting for task. Unknown container 'envoy'.")},
		{"runtime platform architecture", doc(`"runtimePlatform":{"cpuArchitecture":"RISCV","operatingSystemFamily":"LINUX"}`, app), clientException("Invalid 'cpuArchitecture' setting for task.")},
		{"trusted execution without policy", doc(`"trustedExecutionConfiguration":{"isolationMode":"CONFIDENTIAL_SANDBOX"}`, app), clientException("Invalid 'trustedExecutionConfiguration' setting for task. 'attestationPolicy' is required when 'isolationMode' is CONFIDENTIAL_SANDBOX.")},
		{"external awsvpc", doc(`"requiresCompatibilities":["EXTERNAL"],"networkMode":"awsvpc"`, app), clientException("Tasks using the External launch type do not support network mode 'awsvpc'.")},
		{"external bridge", doc(`"requiresCompatibilities":["EXTERNAL","EC2"]`, app), nil},
		{"managed instances", doc(`"requiresCompatibilities":["MANAGED_INSTANCES"],"networkMode":"awsvpc","cpu":"1024","memory":"3072"`, `{"name":"app","image":"nginx"}`), nil},
	})
}

func TestValidateFargate(t *testing.T) {
	fg := func(task string, containers ...string) string {
		if task != "" {
			task = "," + task
		}
		return doc(fargate+task, containers...)
	}
	noRole := strings.Replace(fargate, `,"executionRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole"`, "", 1)
	bare := `{"name":"app","image":"nginx"}`
	cases := []validateCase{
		{"bridge", doc(`"requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512"`, bare), clientException("Fargate only supports network mode ‘awsvpc’.")},
		{"no cpu", doc(`"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","memory":"512"`, bare), clientException("Fargate requires that 'cpu' be defined at the task level.")},
		{"no memory", doc(`"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256"`, bare), clientException("Fargate requires that 'memory' be defined at the task level.")},
		{"invalid pair", doc(`"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256","memory":"4096"`, bare),
			clientException("No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the valid values.")},
		{"invalid pair in vCPU and GB", doc(`"requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"1 vCPU","memory":"1 GB"`, bare),
			clientException("No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values.")},
		{"valid pair in vCPU and GB", doc(`"requiresCompatibilities":["FARGATE","EC2"],"networkMode":"awsvpc","cpu":"1 vCPU","memory":"2GB"`, bare), nil},
		{"awslogs without execution role", doc(noRole, withApp(`"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/web"}}`)),
			clientException("Fargate requires task definition to have execution role ARN to support log driver awslogs.")},
		{"ECR image without execution role", doc(noRole, `{"name":"app","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1"}`),
			clientException("Fargate requires task definition to have execution role ARN to support ECR images.")},
		{"public ECR image without execution role", doc(noRole, `{"name":"app","image":"public.ecr.aws/nginx/nginx:1.27"}`), nil},
		{"ipcMode", fg(`"ipcMode":"task"`, bare), clientException("Tasks using the Fargate launch type do not support ipcMode.")},
		{"pidMode host", fg(`"pidMode":"host"`, bare), clientException("Tasks using the Fargate launch type do not support pidMode 'host'.")},
		{"pidMode task", fg(`"pidMode":"task"`, bare), nil},
		{"host volume with sourcePath", fg(`"volumes":[{"name":"data","host":{"sourcePath":"/srv"}}]`, bare), clientException("Fargate compatible task definitions do not support sourcePath")},
		{"host volume without sourcePath", fg(`"volumes":[{"name":"data","host":{}}]`, `{"name":"app","image":"nginx","mountPoints":[{"sourceVolume":"data","containerPath":"/data"}]}`), nil},
		{"docker volume", fg(`"volumes":[{"name":"data","dockerVolumeConfiguration":{"scope":"task"}}]`, bare), clientException("Fargate compatible task definitions do not support dockerVolumeConfiguration")},
		{"placement constraints", fg(`"placementConstraints":[{"type":"memberOf","expression":"attribute:x == y"}]`, bare), clientException("Fargate compatible task definitions do not support placementConstraints")},
		{"privileged", fg("", `{"name":"app","image":"nginx","privileged":true}`), clientException("Fargate compatible task definitions do not support privileged")},
		{"stopTimeout 120", fg("", `{"name":"app","image":"nginx","stopTimeout":120}`), nil},
		{"stopTimeout 121", fg("", `{"name":"app","image":"nginx","stopTimeout":121}`), clientException("Fargate compatible task definitions do not support a stopTimeout greater than 120 seconds")},
		{"json-file log driver", fg("", `{"name":"app","image":"nginx","logConfiguration":{"logDriver":"json-file"}}`), clientException("Fargate compatible task definitions do not support log driver json-file")},
		{"devices", fg("", `{"name":"app","image":"nginx","linuxParameters":{"devices":[{"hostPath":"/dev/fuse"}]}}`), clientException("Fargate compatible task definitions do not support devices")},
		{"add NET_ADMIN", fg("", `{"name":"app","image":"nginx","linuxParameters":{"capabilities":{"add":["NET_ADMIN"]}}}`), clientException("Fargate compatible task definitions only support adding the SYS_PTRACE kernel capability")},
		{"add SYS_PTRACE", fg("", `{"name":"app","image":"nginx","linuxParameters":{"capabilities":{"add":["SYS_PTRACE"]},"initProcessEnabled":true}}`), nil},
		{"dockerSecurityOptions", fg("", `{"name":"app","image":"nginx","dockerSecurityOptions":["no-new-privileges"]}`), clientException("Fargate compatible task definitions do not support dockerSecurityOptions")},
		{"Windows with quarter vCPU", fg(`"runtimePlatform":{"cpuArchitecture":"X86_64","operatingSystemFamily":"WINDOWS_SERVER_2022_CORE"}`, bare), clientException("Fargate requires at least 1 vCPU for Windows containers.")},
		{"GPU", fg("", `{"name":"app","image":"nginx","resourceRequirements":[{"type":"GPU","value":"1"}]}`), clientException("Fargate compatible task definitions do not support GPU resource requirements")},
	}
	runValidateCases(t, cases)
}

func TestValidateContainer(t *testing.T) {
	runValidateCases(t, []validateCase{
		{"name missing", doc("", `{"image":"nginx","memory":64}`), clientException("Container.name should not be null or empty.")},
		{"name invalid", doc("", `{"name":"my app","image":"nginx","memory":64}`), clientException("Container.name contains invalid characters.")},
		{"name too long", doc("", `{"name":"`+strings.Repeat("n", 256)+`","image":"nginx","memory":64}`), clientException("Container.name can not be longer than 255 characters.")},
		{"names duplicated", doc("", app, app), clientException("Container names must be unique within a Task Definition.")},
		{"image missing", doc("", `{"name":"app","memory":64}`), clientException("Container.image should not be null or empty.")},
		{"image without repository", doc("", `{"name":"app","image":":latest","memory":64}`), clientException("Container.image repository should not be null or empty.")},
		{"image by digest", doc("", `{"name":"app","image":"registry.example.com:5000/team/web@sha256:0123456789abcdef","memory":64}`), nil},
		{"image too long", doc("", `{"name":"app","image":"`+strings.Repeat("i", 256)+`","memory":64}`), clientException("Container.image can not be longer than 255 characters.")},

		{"no memory anywhere", doc("", `{"name":"app","image":"nginx"}`), clientException("Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified.")},
		{"memoryReservation only", doc("", `{"name":"app","image":"nginx","memoryReservation":128}`), nil},
		{"memory equal to reservation", doc("", `{"name":"app","image":"nginx","memory":128,"memoryReservation":128}`), nil},
		{"memory below reservation", doc("", `{"name":"app","image":"nginx","memory":128,"memoryReservation":256}`), clientException("Invalid setting for container 'app'. 'memory' must be greater than or equal to 'memoryReservation'.")},
		{"memory zero", doc("", `{"name":"app","image":"nginx","memory":0}`), clientException("Invalid 'memory' setting for container 'app'.")},
		{"memory below Docker minimum registers", doc("", `{"name":"app","image":"nginx","memory":4}`), nil},
		{"memory above task", doc(`"memory":"512"`, `{"name":"app","image":"nginx","memory":1024}`), clientException("The 'memory' setting for container 'app' is greater than for the task.")},
		{"cpu negative", doc("", `{"name":"app","image":"nginx","memory":64,"cpu":-1}`), clientException("Invalid 'cpu' setting for container 'app'.")},
		{"cpu sum above task", doc(`"cpu":"256"`, `{"name":"a","image":"nginx","memory":64,"cpu":200}`, `{"name":"b","image":"nginx","memory":64,"cpu":100}`),
			clientException("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")},
		{"memoryReservation sum above task", doc(`"memory":"512"`, `{"name":"a","image":"nginx","memoryReservation":300}`, `{"name":"b","image":"nginx","memoryReservation":300}`),
			clientException("The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.")},
		{"no essential container", doc("", `{"name":"a","image":"nginx","memory":64,"essential":false}`, `{"name":"b","image":"nginx","memory":64,"essential":false}`),
			clientException("Task definition doesn't have any essential container.")},
		{"essential by default", doc("", `{"name":"a","image":"nginx","memory":64,"essential":false}`, `{"name":"b","image":"nginx","memory":64}`), nil},

		{"startTimeout negative", doc("", withApp(`"startTimeout":-1`)), clientException("Invalid 'startTimeout' setting for container 'app'.")},
		{"stopTimeout negative", doc("", withApp(`"stopTimeout":-1`)), clientException("Invalid 'stopTimeout' setting for container 'app'.")},
		{"stopTimeout long on EC2", doc("", withApp(`"stopTimeout":600`)), nil},
		{"environment name empty", doc("", withApp(`"environment":[{"name":"","value":"x"}]`)), clientException("Invalid 'environment' setting for container 'app'. Environment variable names must not be empty.")},
		{"environment value empty", doc("", withApp(`"environment":[{"name":"EMPTY","value":""}]`)), nil},
		{"secret without valueFrom", doc("", withApp(`"secrets":[{"name":"DB_PASSWORD"}]`)), clientException("Invalid 'secrets' setting for container 'app'. Both 'name' and 'valueFrom' must be specified.")},
		{"environment file type", doc("", withApp(`"environmentFiles":[{"type":"http","value":"arn:aws:s3:::bucket/app.env"}]`)), clientException("Invalid 'environmentFiles' setting for container 'app'.")},
		{"log driver unknown", doc("", withApp(`"logConfiguration":{"logDriver":"loki"}`)), clientException("Invalid 'logDriver' setting for container 'app'.")},
		{"log secret without name", doc("", withApp(`"logConfiguration":{"logDriver":"splunk","secretOptions":[{"valueFrom":"/splunk/token"}]}`)), clientException("Invalid 'secretOptions' setting for container 'app'. Both 'name' and 'valueFrom' must be specified.")},
		{"firelens type", doc("", withApp(`"firelensConfiguration":{"type":"vector"}`)), clientException("Invalid 'firelensConfiguration' setting for container 'app'.")},
		{"ulimit unknown", doc("", withApp(`"ulimits":[{"name":"files","softLimit":1,"hardLimit":2}]`)), clientException("Invalid 'ulimits' setting for container 'app'. Unknown ulimit 'files'.")},
		{"ulimit soft above hard", doc("", withApp(`"ulimits":[{"name":"nofile","softLimit":4096,"hardLimit":1024}]`)), clientException("Invalid 'ulimits' setting for container 'app'. The soft limit of 'nofile' cannot be greater than its hard limit.")},
		{"swappiness", doc("", withApp(`"linuxParameters":{"maxSwap":512,"swappiness":101}`)), clientException("Invalid 'swappiness' setting for container 'app'.")},
		{"tmpfs without size", doc("", withApp(`"linuxParameters":{"tmpfs":[{"containerPath":"/run","size":0}]}`)), clientException("Invalid 'tmpfs' setting for container 'app'.")},
		{"device permission", doc("", withApp(`"linuxParameters":{"devices":[{"hostPath":"/dev/fuse","permissions":["all"]}]}`)), clientException("Invalid 'devices' setting for container 'app'.")},
		{"resource type", doc("", withApp(`"resourceRequirements":[{"type":"TPU","value":"1"}]`)), clientException("Invalid 'resourceRequirements' setting for container 'app'.")},
		{"GPU count zero", doc("", withApp(`"resourceRequirements":[{"type":"GPU","value":"0"}]`)), clientException("Invalid 'resourceRequirements' setting for container 'app'.")},
		{"GPU count", doc("", withApp(`"resourceRequirements":[{"type":"GPU","value":"2"}]`)), nil},
		{"GPU shared", doc("", withApp(`"resourceRequirements":[{"type":"GPU","sharingStrategy":{"nvidiaMps":{"memory":4096}}}]`)), nil},
		{"accelerator unknown", doc("", withApp(`"resourceRequirements":[{"type":"InferenceAccelerator","value":"device_1"}]`)), clientException("Invalid 'resourceRequirements' setting for container 'app'.")},
		{"accelerator known", doc(`"inferenceAccelerators":[{"deviceName":"device_1","deviceType":"eia2.medium"}]`, withApp(`"resourceRequirements":[{"type":"InferenceAccelerator","value":"device_1"}]`)), nil},
		{"restart policy without enabled", doc("", withApp(`"restartPolicy":{"restartAttemptPeriod":300}`)), clientException("Invalid 'restartPolicy' setting for container 'app'. 'enabled' must be specified.")},
		{"restart period too short", doc("", withApp(`"restartPolicy":{"enabled":true,"restartAttemptPeriod":30}`)), clientException("Invalid 'restartPolicy' setting for container 'app'. 'restartAttemptPeriod' must be between 60 and 1800.")},
		{"version consistency", doc("", withApp(`"versionConsistency":"pinned"`)), clientException("Invalid 'versionConsistency' setting for container 'app'.")},
		{"repository credentials empty", doc("", withApp(`"repositoryCredentials":{"credentialsParameter":""}`)), clientException("Invalid 'repositoryCredentials' setting for container 'app'. 'credentialsParameter' must be specified.")},
		{"extra host without address", doc("", withApp(`"extraHosts":[{"hostname":"db"}]`)), clientException("Invalid 'extraHosts' setting for container 'app'. Both 'hostname' and 'ipAddress' must be specified.")},
	})
}

func TestValidateHealthCheck(t *testing.T) {
	hc := func(members string) string { return doc("", withApp(`"healthCheck":{`+members+`}`)) }
	cmd := `"command":["CMD-SHELL","curl -f http://localhost/ || exit 1"]`
	runValidateCases(t, []validateCase{
		{"defaults", hc(cmd), nil},
		{"limits", hc(cmd + `,"interval":5,"timeout":60,"retries":10,"startPeriod":300`), nil},
		{"no command", hc(`"command":[]`), clientException("Invalid 'healthCheck' setting for container 'app'. 'command' must not be empty.")},
		{"interval 4", hc(cmd + `,"interval":4`), clientException("Invalid 'healthCheck' setting for container 'app'. 'interval' must be between 5 and 300.")},
		{"interval 301", hc(cmd + `,"interval":301`), clientException("Invalid 'healthCheck' setting for container 'app'. 'interval' must be between 5 and 300.")},
		{"timeout 1", hc(cmd + `,"timeout":1`), clientException("Invalid 'healthCheck' setting for container 'app'. 'timeout' must be between 2 and 60.")},
		{"timeout 61", hc(cmd + `,"timeout":61`), clientException("Invalid 'healthCheck' setting for container 'app'. 'timeout' must be between 2 and 60.")},
		{"retries 0", hc(cmd + `,"retries":0`), clientException("Invalid 'healthCheck' setting for container 'app'. 'retries' must be between 1 and 10.")},
		{"retries 11", hc(cmd + `,"retries":11`), clientException("Invalid 'healthCheck' setting for container 'app'. 'retries' must be between 1 and 10.")},
		{"startPeriod 301", hc(cmd + `,"startPeriod":301`), clientException("Invalid 'healthCheck' setting for container 'app'. 'startPeriod' must be between 0 and 300.")},
	})
}

func TestValidatePorts(t *testing.T) {
	pm := func(task, mappings string) string { return doc(task, withApp(`"portMappings":[`+mappings+`]`)) }
	runValidateCases(t, []validateCase{
		{"bridge dynamic", pm("", `{"containerPort":80}`), nil},
		{"bridge static", pm("", `{"containerPort":80,"hostPort":8080,"protocol":"tcp"}`), nil},
		{"bridge same port two protocols", pm("", `{"containerPort":53,"protocol":"tcp"},{"containerPort":53,"protocol":"udp"}`), nil},
		{"unknown protocol is tcp", pm("", `{"containerPort":80,"protocol":"sctp"}`), nil},
		{"awsvpc without host port", pm(awsvpc, `{"containerPort":80}`), nil},
		{"awsvpc host port zero", pm(awsvpc, `{"containerPort":80,"hostPort":0}`), nil},
		{"awsvpc matching host port", pm(awsvpc, `{"containerPort":80,"hostPort":80}`), nil},
		{"awsvpc different host port", pm(awsvpc, `{"containerPort":80,"hostPort":8080}`), clientException("When networkMode=awsvpc, the host ports and container ports in port mappings must match.")},
		{"host different host port", pm(`"networkMode":"host"`, `{"containerPort":80,"hostPort":8080}`), clientException("When networkMode=host, the host ports and container ports in port mappings must match.")},
		{"none with ports", pm(`"networkMode":"none"`, `{"containerPort":80}`), clientException("Port mappings are not supported when networkMode=none.")},
		{"container port missing", pm("", `{"hostPort":80}`), clientException("Invalid 'containerPort' setting for container 'app'.")},
		{"container port zero", pm("", `{"containerPort":0}`), clientException("Invalid 'containerPort' setting for container 'app'.")},
		{"container port 65536", pm("", `{"containerPort":65536}`), clientException("Invalid 'containerPort' setting for container 'app'.")},
		{"host port negative", pm("", `{"containerPort":80,"hostPort":-1}`), clientException("Invalid 'hostPort' setting for container 'app'.")},
		{"duplicate mapping", pm("", `{"containerPort":80},{"containerPort":80,"hostPort":8080}`), clientException("Invalid 'portMappings' setting for container 'app'. A port can only be included in one port mapping per container.")},
		{"port range", pm("", `{"containerPortRange":"8000-8010"}`), nil},
		{"port range awsvpc", pm(awsvpc, `{"containerPortRange":"8000-8010","protocol":"udp"}`), nil},
		{"port range reversed", pm("", `{"containerPortRange":"8010-8000"}`), clientException("Invalid 'containerPortRange' setting for container 'app'.")},
		{"port range single", pm("", `{"containerPortRange":"8000"}`), clientException("Invalid 'containerPortRange' setting for container 'app'.")},
		{"port range with container port", pm("", `{"containerPort":8000,"containerPortRange":"8000-8010"}`), clientException("Invalid 'containerPortRange' setting for container 'app'.")},
		{"port range in host mode", pm(`"networkMode":"host"`, `{"containerPortRange":"8000-8010"}`), clientException("Invalid 'containerPortRange' setting for container 'app'.")},
		{"port range with host port", pm("", `{"containerPortRange":"8000-8010","hostPort":9000}`), clientException("Invalid 'hostPort' setting for container 'app'.")},
		{"port range overlaps port", pm("", `{"containerPortRange":"8000-8010"},{"containerPort":8005}`), clientException("Invalid 'portMappings' setting for container 'app'. A port can only be included in one port mapping per container.")},
		{"named ports", pm(awsvpc, `{"containerPort":80,"name":"web-80-tcp","appProtocol":"http"},{"containerPort":9090,"name":"grpc","appProtocol":"grpc"}`), nil},
		{"port name uppercase", pm("", `{"containerPort":80,"name":"Web"}`), clientException("Invalid 'name' setting for a port mapping of container 'app'.")},
		{"port name leading hyphen", pm("", `{"containerPort":80,"name":"-web"}`), clientException("Invalid 'name' setting for a port mapping of container 'app'.")},
		{"port names duplicated across containers", doc("", withApp(`"portMappings":[{"containerPort":80,"name":"web"}]`), `{"name":"side","image":"envoy","memory":64,"portMappings":[{"containerPort":81,"name":"web"}]}`),
			clientException("Port mapping names must be unique within a Task Definition.")},
		{"app protocol unknown", pm("", `{"containerPort":80,"name":"web","appProtocol":"http3"}`), clientException("Invalid 'appProtocol' setting for container 'app'.")},
	})
}

func TestValidateLinksAndDependencies(t *testing.T) {
	db := `{"name":"db","image":"postgres:16","memory":256}`
	dbNonEssential := `{"name":"db","image":"postgres:16","memory":256,"essential":false}`
	dbHealthy := `{"name":"db","image":"postgres:16","memory":256,"healthCheck":{"command":["CMD","pg_isready"]}}`
	runValidateCases(t, []validateCase{
		{"links in bridge", doc("", withApp(`"links":["db:database"]`), db), nil},
		{"links in awsvpc", doc(awsvpc, withApp(`"links":["db"]`), db), clientException("Links are not supported when networkMode=awsvpc.")},
		{"links in host", doc(`"networkMode":"host"`, withApp(`"links":["db"]`), db), clientException("Links are not supported when networkMode=host.")},
		{"link to unknown container", doc("", withApp(`"links":["cache"]`), db), clientException("Invalid 'links' setting for container 'app'. Unknown container 'cache'.")},
		{"hostname in awsvpc", doc(awsvpc, withApp(`"hostname":"web"`)), clientException("hostname is not supported on container when networkMode=awsvpc.")},
		{"hostname in bridge", doc("", withApp(`"hostname":"web"`)), nil},

		{"depends on START", doc("", withApp(`"dependsOn":[{"containerName":"db","condition":"START"}]`), db), nil},
		{"depends on unknown container", doc("", withApp(`"dependsOn":[{"containerName":"cache","condition":"START"}]`), db), clientException("Cannot depend on container + 'cache' because it does not exist")},
		{"unknown condition", doc("", withApp(`"dependsOn":[{"containerName":"db","condition":"READY"}]`), db), clientException("Invalid 'dependsOn' setting for container 'app'. Unknown condition 'READY'.")},
		{"SUCCESS on essential dependency", doc("", withApp(`"dependsOn":[{"containerName":"db","condition":"SUCCESS"}]`), db), clientException("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")},
		{"COMPLETE on essential dependency", doc("", withApp(`"dependsOn":[{"containerName":"db","condition":"COMPLETE"}]`), db), clientException("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")},
		{"SUCCESS on non-essential dependency", doc("", withApp(`"dependsOn":[{"containerName":"db","condition":"SUCCESS"}]`), dbNonEssential), nil},
		{"HEALTHY without health check", doc("", withApp(`"dependsOn":[{"containerName":"db","condition":"HEALTHY"}]`), db), clientException("Invalid 'dependsOn' setting for container 'app'. Container 'db' must have a health check to use the HEALTHY condition.")},
		{"HEALTHY with health check", doc("", withApp(`"dependsOn":[{"containerName":"db","condition":"HEALTHY"}]`), dbHealthy), nil},
		{"dependency cycle", doc("", withApp(`"dependsOn":[{"containerName":"db","condition":"START"}]`), `{"name":"db","image":"postgres:16","memory":256,"dependsOn":[{"containerName":"app","condition":"START"}]}`),
			clientException("Invalid 'dependsOn' setting for container 'app'. Container dependencies cannot be circular.")},
		{"self dependency", doc("", withApp(`"dependsOn":[{"containerName":"app","condition":"START"}]`)), clientException("Invalid 'dependsOn' setting for container 'app'. Container dependencies cannot be circular.")},
	})
}

func TestValidateVolumes(t *testing.T) {
	mount := withApp(`"mountPoints":[{"sourceVolume":"data","containerPath":"/data","readOnly":true}]`)
	runValidateCases(t, []validateCase{
		{"bind mount", doc(`"volumes":[{"name":"data","host":{"sourcePath":"/srv/data"}}]`, mount), nil},
		{"unknown volume", doc("", mount), clientException("Unknown volume 'data'.")},
		{"mount point without volume", doc("", withApp(`"mountPoints":[{"containerPath":"/data"}]`)), clientException("Unknown volume 'null'.")},
		{"mount point without path", doc(`"volumes":[{"name":"data"}]`, withApp(`"mountPoints":[{"sourceVolume":"data"}]`)), clientException("Invalid 'mountPoints' setting for container 'app'. 'containerPath' must be specified.")},
		{"volume without name", doc(`"volumes":[{"host":{}}]`, app), clientException("Volume.name should not be null or empty.")},
		{"volume name invalid", doc(`"volumes":[{"name":"my data"}]`, app), clientException("Volume.name contains invalid characters.")},
		{"volume names duplicated", doc(`"volumes":[{"name":"data"},{"name":"data"}]`, app), clientException("Volume names must be unique within a Task Definition.")},
		{"two volume types", doc(`"volumes":[{"name":"data","host":{},"efsVolumeConfiguration":{"fileSystemId":"fs-1234"}}]`, app),
			clientException("Invalid setting for volume 'data'. Only one of 'host', 'dockerVolumeConfiguration', 'efsVolumeConfiguration', 's3filesVolumeConfiguration' or 'fsxWindowsFileServerVolumeConfiguration' can be specified.")},
		{"docker volume scope", doc(`"volumes":[{"name":"data","dockerVolumeConfiguration":{"scope":"global"}}]`, app), clientException("Invalid 'scope' setting for volume 'data'.")},
		{"docker volume autoprovision task scope", doc(`"volumes":[{"name":"data","dockerVolumeConfiguration":{"scope":"task","autoprovision":true}}]`, app),
			clientException("Invalid setting for volume 'data'. 'autoprovision' can only be true when 'scope' is 'shared'.")},
		{"docker volume shared", doc(`"volumes":[{"name":"data","dockerVolumeConfiguration":{"scope":"shared","autoprovision":true,"driver":"local","driverOpts":{"type":"tmpfs"},"labels":{"team":"web"}}}]`, mount), nil},
		{"EFS without file system", doc(`"volumes":[{"name":"data","efsVolumeConfiguration":{"fileSystemId":""}}]`, app), clientException("Invalid setting for volume 'data'. 'fileSystemId' should not be null or empty.")},
		{"EFS IAM without encryption", doc(`"volumes":[{"name":"data","efsVolumeConfiguration":{"fileSystemId":"fs-1234","authorizationConfig":{"iam":"ENABLED"}}}]`, app),
			clientException("Invalid setting for volume 'data'. Transit encryption must be enabled when using an access point or IAM authorization.")},
		{"EFS access point with root directory", doc(`"volumes":[{"name":"data","efsVolumeConfiguration":{"fileSystemId":"fs-1234","rootDirectory":"/app","transitEncryption":"ENABLED","authorizationConfig":{"accessPointId":"fsap-1234"}}}]`, app),
			clientException("Invalid setting for volume 'data'. The root directory must be omitted or set to '/' when an access point is used.")},
		{"EFS access point", doc(`"volumes":[{"name":"data","efsVolumeConfiguration":{"fileSystemId":"fs-1234","transitEncryption":"ENABLED","transitEncryptionPort":2049,"authorizationConfig":{"accessPointId":"fsap-1234","iam":"ENABLED"}}}]`, mount), nil},
		{"FSx without credentials", doc(`"volumes":[{"name":"data","fsxWindowsFileServerVolumeConfiguration":{"fileSystemId":"fs-1234","rootDirectory":"share"}}]`, app),
			clientException("Invalid setting for volume 'data'. 'fileSystemId', 'rootDirectory' and 'authorizationConfig' must be specified.")},
		{"volumesFrom", doc("", withApp(`"volumesFrom":[{"sourceContainer":"data","readOnly":true}]`), `{"name":"data","image":"busybox","memory":16,"essential":false}`), nil},
		{"volumesFrom unknown container", doc("", withApp(`"volumesFrom":[{"sourceContainer":"data"}]`)), clientException("Invalid 'volumesFrom' setting for container 'app'. Unknown container 'data'.")},
	})
}

func TestValidateTags(t *testing.T) {
	tags := func(list string) string { return doc(`"tags":[`+list+`]`, app) }
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf(`{"key":"k%d","value":"v"}`, i)
	}
	runValidateCases(t, []validateCase{
		{"fifty tags", tags(strings.Join(many[:50], ",")), nil},
		{"fifty-one tags", tags(strings.Join(many, ",")), invalidParameter("Too many tags. A resource can have at most 50 tags.")},
		{"empty key", tags(`{"key":"","value":"v"}`), invalidParameter("Tag keys must be between 1 and 128 characters.")},
		{"long key", tags(`{"key":"` + strings.Repeat("k", 129) + `","value":"v"}`), invalidParameter("Tag keys must be between 1 and 128 characters.")},
		{"long value", tags(`{"key":"k","value":"` + strings.Repeat("v", 257) + `"}`), invalidParameter("Tag values must be at most 256 characters.")},
		{"empty value", tags(`{"key":"k","value":""}`), nil},
		{"reserved prefix", tags(`{"key":"AWS:cloudformation:stack-name","value":"v"}`), invalidParameter("Tag keys cannot start with the reserved prefix 'aws:'.")},
		{"duplicate keys", tags(`{"key":"team","value":"a"},{"key":"team","value":"b"}`), invalidParameter("Tag keys must be unique.")},
	})
}

func TestValidateNil(t *testing.T) {
	err := Validate(nil)
	want := clientException("Family can not be blank.")
	var got *Error
	if !errors.As(err, &got) || *got != *want {
		t.Errorf("Validate(nil) = %v; want %v", err, want)
	}
}

func TestValidateDoesNotModify(t *testing.T) {
	task := strings.NewReplacer(`"cpu":"256"`, `"cpu":"0.25 vCPU"`, `"memory":"512"`, `"memory":"1 GB"`).Replace(fargate)
	body := doc(task, `{"name":"app","image":"nginx","portMappings":[{"containerPort":80}],"healthCheck":{"command":["CMD","true"]}}`)
	in := decode(t, body)
	before, _ := json.Marshal(in)
	if err := Validate(in); err != nil {
		t.Fatalf("Validate(fargate in vCPU) = %v; want nil", err)
	}
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Errorf("Validate modified its input:\nbefore %s\nafter  %s", before, after)
	}
}

func TestErrorString(t *testing.T) {
	err := clientException("Too many containers.")
	if got, want := err.Error(), "ClientException: Too many containers."; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}
