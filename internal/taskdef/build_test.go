package taskdef

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var registeredAt = time.Date(2026, 6, 11, 4, 19, 35, 522_000_000, time.UTC)

const (
	registeredBy = "arn:aws:iam::123456789012:root"
	execRole     = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
	taskRole     = "arn:aws:iam::123456789012:role/web-task"
	ecrImage     = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:9b60953"
)

// build validates body and builds revision 1 of it.
func build(t *testing.T, body string) *TaskDefinition {
	t.Helper()
	in := decode(t, body)
	if err := Validate(in); err != nil {
		t.Fatalf("Validate(%s) = %v; want nil", body, err)
	}
	return Build(in, "arn:aws:ecs:us-east-1:123456789012:task-definition/"+in.Family+":1", 1, registeredAt, registeredBy)
}

// sameJSON reports whether a and b encode the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestBuildNormalisesTaskSize(t *testing.T) {
	cases := []struct {
		cpu, memory         string
		wantCPU, wantMemory string
	}{
		{"1 vCPU", "2 GB", "1024", "2048"},
		{"0.25 vcpu", "2GB", "256", "2048"},
		{"512", "512", "512", "512"},
		{"2 vCPU", "0.5 GB", "2048", "512"},
		{"0.125 vCPU", "1536", "128", "1536"},
	}
	for _, tc := range cases {
		body := doc(fmt.Sprintf(`"cpu":%q,"memory":%q`, tc.cpu, tc.memory), `{"name":"app","image":"nginx"}`)
		td := build(t, body)
		if deref(td.CPU) != tc.wantCPU || deref(td.Memory) != tc.wantMemory {
			t.Errorf("Build(cpu %q, memory %q) = cpu %q, memory %q; want %q, %q", tc.cpu, tc.memory, deref(td.CPU), deref(td.Memory), tc.wantCPU, tc.wantMemory)
		}
	}
}

// TestBuildDescribesLikeAWS compares a whole built definition with the
// DescribeTaskDefinition output AWS gives for the same registration.
func TestBuildDescribesLikeAWS(t *testing.T) {
	body := `{
		"family": "blog-backend",
		"executionRoleArn": "` + execRole + `",
		"networkMode": "awsvpc",
		"requiresCompatibilities": ["FARGATE"],
		"cpu": "0.5 vCPU",
		"memory": "1 GB",
		"runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
		"containerDefinitions": [{
			"name": "backend",
			"image": "` + ecrImage + `",
			"cpu": 512,
			"memory": 1024,
			"portMappings": [{"containerPort": 3000, "name": "backend-http", "appProtocol": "http"}],
			"secrets": [{"name": "DB_URL", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:backend/DB_URL-13LPux"}],
			"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/blog-backend", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}},
			"healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:3000/health || exit 1"]}
		}],
		"tags": [{"key": "team", "value": "blog"}]
	}`
	want := `{
		"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/blog-backend:1",
		"containerDefinitions": [{
			"name": "backend",
			"image": "` + ecrImage + `",
			"cpu": 512,
			"memory": 1024,
			"portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp", "name": "backend-http", "appProtocol": "http"}],
			"essential": true,
			"environment": [],
			"mountPoints": [],
			"volumesFrom": [],
			"secrets": [{"name": "DB_URL", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:backend/DB_URL-13LPux"}],
			"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/blog-backend", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}},
			"healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:3000/health || exit 1"], "interval": 30, "timeout": 5, "retries": 3},
			"systemControls": []
		}],
		"family": "blog-backend",
		"executionRoleArn": "` + execRole + `",
		"networkMode": "awsvpc",
		"revision": 1,
		"volumes": [],
		"status": "ACTIVE",
		"requiresAttributes": [
			{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"},
			{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.19"},
			{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.24"},
			{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.29"},
			{"name": "com.amazonaws.ecs.capability.ecr-auth"},
			{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
			{"name": "ecs.capability.container-health-check"},
			{"name": "ecs.capability.execution-role-awslogs"},
			{"name": "ecs.capability.execution-role-ecr-pull"},
			{"name": "ecs.capability.secrets.asm.environment-variables"},
			{"name": "ecs.capability.task-eni"}
		],
		"placementConstraints": [],
		"compatibilities": ["EC2", "FARGATE", "MANAGED_INSTANCES"],
		"runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
		"requiresCompatibilities": ["FARGATE"],
		"cpu": "512",
		"memory": "1024",
		"registeredAt": ` + fmt.Sprintf("%d.522", registeredAt.Unix()) + `,
		"registeredBy": "` + registeredBy + `",
		"enableFaultInjection": false
	}`
	got, err := json.Marshal(build(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, got, []byte(want)) {
		t.Errorf("Build(blog-backend) =\n%s\nwant\n%s", got, want)
	}
}

func TestBuildDefaults(t *testing.T) {
	t.Run("bridge", func(t *testing.T) {
		td := build(t, doc("", withApp(`"portMappings":[{"containerPort":80},{"containerPort":53,"hostPort":5353,"protocol":"udp"},{"containerPortRange":"8000-8010"}]`)))
		c := td.ContainerDefinitions[0]
		want := []PortMapping{
			{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(0)), Protocol: "tcp"},
			{ContainerPort: ptr(int32(53)), HostPort: ptr(int32(5353)), Protocol: "udp"},
			{Protocol: "tcp", ContainerPortRange: ptr("8000-8010")},
		}
		if !reflect.DeepEqual(c.PortMappings, want) {
			t.Errorf("Build(bridge ports).portMappings = %s; want %s", mustJSON(c.PortMappings), mustJSON(want))
		}
		if td.NetworkMode != "" {
			t.Errorf("Build(no networkMode).networkMode = %q; want it left out", td.NetworkMode)
		}
	})
	t.Run("awsvpc and host", func(t *testing.T) {
		for _, mode := range []string{NetworkModeAWSVPC, NetworkModeHost} {
			td := build(t, doc(`"networkMode":"`+mode+`"`, withApp(`"portMappings":[{"containerPort":80,"protocol":"sctp"},{"containerPort":443,"hostPort":0}]`)))
			want := []PortMapping{
				{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(80)), Protocol: "tcp"},
				{ContainerPort: ptr(int32(443)), HostPort: ptr(int32(443)), Protocol: "tcp"},
			}
			if got := td.ContainerDefinitions[0].PortMappings; !reflect.DeepEqual(got, want) {
				t.Errorf("Build(%s ports).portMappings = %s; want %s", mode, mustJSON(got), mustJSON(want))
			}
		}
	})
	t.Run("containers", func(t *testing.T) {
		td := build(t, doc("", `{"name":"a","image":"nginx","memory":64,"essential":false,"healthCheck":{"command":["CMD","true"],"interval":10,"startPeriod":0}}`,
			`{"name":"b","image":"nginx","memory":64,"environment":[{"name":"K","value":"V"}]}`))
		got, _ := json.Marshal(td.ContainerDefinitions)
		want := `[
			{"name":"a","image":"nginx","cpu":0,"memory":64,"portMappings":[],"essential":false,"environment":[],"mountPoints":[],"volumesFrom":[],
			 "healthCheck":{"command":["CMD","true"],"interval":10,"timeout":5,"retries":3,"startPeriod":0},"systemControls":[]},
			{"name":"b","image":"nginx","cpu":0,"memory":64,"portMappings":[],"essential":true,"environment":[{"name":"K","value":"V"}],"mountPoints":[],"volumesFrom":[],"systemControls":[]}
		]`
		if !sameJSON(t, got, []byte(want)) {
			t.Errorf("Build(two containers).containerDefinitions =\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("task", func(t *testing.T) {
		td := build(t, doc(`"enableFaultInjection":true,"pidMode":"task"`, app))
		if td.Status != StatusActive || td.Revision != 1 || deref(td.RegisteredBy) != registeredBy ||
			td.RegisteredAt == nil || !td.RegisteredAt.Equal(registeredAt) {
			t.Errorf("Build(task) = status %q revision %d registeredBy %q registeredAt %v; want ACTIVE 1 %q %v",
				td.Status, td.Revision, deref(td.RegisteredBy), td.RegisteredAt, registeredBy, registeredAt)
		}
		if !isTrue(td.EnableFaultInjection) || td.Volumes == nil || td.PlacementConstraints == nil || td.RequiresCompatibilities != nil {
			t.Errorf("Build(task) = enableFaultInjection %v volumes %v placementConstraints %v requiresCompatibilities %v; want true [] [] absent",
				td.EnableFaultInjection, td.Volumes, td.PlacementConstraints, td.RequiresCompatibilities)
		}
		if td.DeregisteredAt != nil || td.DeleteRequestedAt != nil {
			t.Errorf("Build(task) set deregistration times")
		}
	})
}

func TestBuildCompatibilities(t *testing.T) {
	fg := `{"name":"app","image":"nginx"}`
	cases := []struct {
		name string
		body string
		want []string
	}{
		{"bridge", doc("", app), []string{"EXTERNAL", "EC2"}},
		{"host", doc(`"networkMode":"host"`, app), []string{"EXTERNAL", "EC2"}},
		{"bridge requiring EC2", doc(`"requiresCompatibilities":["EC2"]`, app), []string{"EXTERNAL", "EC2"}},
		{"bridge with Service Connect port", doc("", withApp(`"portMappings":[{"containerPort":80,"name":"web","appProtocol":"http"}]`)), []string{"EC2"}},
		{"bridge with EFS", doc(`"volumes":[{"name":"data","efsVolumeConfiguration":{"fileSystemId":"fs-1234"}}]`, app), []string{"EC2"}},
		{"Fargate", doc(fargate, fg), []string{"EC2", "FARGATE", "MANAGED_INSTANCES"}},
		{"awsvpc fitting Fargate without asking", doc(`"networkMode":"awsvpc","cpu":"1 vCPU","memory":"2 GB"`, fg), []string{"EC2", "FARGATE", "MANAGED_INSTANCES"}},
		{"awsvpc without task size", doc(awsvpc, app), []string{"EC2", "MANAGED_INSTANCES"}},
		{"awsvpc with size Fargate lacks", doc(`"networkMode":"awsvpc","cpu":"1024","memory":"1024"`, fg), []string{"EC2", "MANAGED_INSTANCES"}},
		{"awsvpc privileged", doc(`"networkMode":"awsvpc","cpu":"256","memory":"512"`, `{"name":"app","image":"nginx","privileged":true}`), []string{"EC2", "MANAGED_INSTANCES"}},
		{"managed instances host", doc(`"networkMode":"host","requiresCompatibilities":["MANAGED_INSTANCES"]`, app), []string{"EXTERNAL", "EC2", "MANAGED_INSTANCES"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := build(t, tc.body).Compatibilities; !slices.Equal(got, tc.want) {
				t.Errorf("Build(%s).compatibilities = %v; want %v", tc.name, got, tc.want)
			}
		})
	}
}

// TestBuildRequiresAttributes reproduces the requiresAttributes AWS returned
// for registrations shaped like these.
func TestBuildRequiresAttributes(t *testing.T) {
	roles := `"executionRoleArn":"` + execRole + `","taskRoleArn":"` + taskRole + `"`
	awslogs := `"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/web","awslogs-region":"us-east-1","awslogs-stream-prefix":"ecs"}}`
	cases := []struct {
		name string
		body string
		want []string
	}{
		{"plain", doc("", `{"name":"sleep","image":"busybox","cpu":10,"memory":10,"command":["sleep","360"]}`), nil},
		{"links only", doc("", withApp(`"links":["db"]`), `{"name":"db","image":"mysql","memory":500}`), nil},
		{"ECR image without execution role", doc("", `{"name":"app","image":"`+ecrImage+`","memory":300,"portMappings":[{"containerPort":80,"hostPort":8000}]}`),
			[]string{"com.amazonaws.ecs.capability.ecr-auth"}},
		{"bridge app behind nginx", doc(roles+`,"networkMode":"bridge","requiresCompatibilities":["EC2"],"cpu":"1024","memory":"512","volumes":[{"name":"certs","host":{"sourcePath":"/etc/ssl/certs"}}]`,
			`{"name":"app","image":"`+ecrImage+`","portMappings":[{"name":"app-3000","containerPort":3000,"hostPort":3000,"appProtocol":"http"}],
			  "logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/web","mode":"non-blocking","max-buffer-size":"25m"}},
			  "healthCheck":{"command":["CMD-SHELL","wget -q --spider http://localhost:3000/ || exit 1"],"interval":30,"timeout":5,"retries":3}}`,
			`{"name":"nginx","image":"`+ecrImage+`","links":["app:upstream"],"essential":false,"portMappings":[{"name":"http","containerPort":80,"hostPort":80}],
			  "mountPoints":[{"sourceVolume":"certs","containerPath":"/etc/ssl/certs"}],"dependsOn":[{"containerName":"app","condition":"HEALTHY"}]}`),
			[]string{
				"com.amazonaws.ecs.capability.docker-remote-api.1.17",
				"com.amazonaws.ecs.capability.docker-remote-api.1.19",
				"com.amazonaws.ecs.capability.docker-remote-api.1.24",
				"com.amazonaws.ecs.capability.docker-remote-api.1.28",
				"com.amazonaws.ecs.capability.docker-remote-api.1.29",
				"com.amazonaws.ecs.capability.ecr-auth",
				"com.amazonaws.ecs.capability.logging-driver.awslogs",
				"com.amazonaws.ecs.capability.task-iam-role",
				"ecs.capability.container-health-check",
				"ecs.capability.container-ordering",
				"ecs.capability.execution-role-awslogs",
				"ecs.capability.execution-role-ecr-pull",
			}},
		{"Fargate with reservation, SSM secrets and timeouts", doc(roles+`,"networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512"`,
			`{"name":"app","image":"example/app:latest","cpu":256,"memory":512,"memoryReservation":128,"portMappings":[{"containerPort":4141}],
			  "secrets":[{"name":"SECRET","valueFrom":"/app/secret"}],"startTimeout":30,"stopTimeout":30,"readonlyRootFilesystem":false,`+awslogs+`}`),
			[]string{
				"com.amazonaws.ecs.capability.docker-remote-api.1.18",
				"com.amazonaws.ecs.capability.docker-remote-api.1.19",
				"com.amazonaws.ecs.capability.docker-remote-api.1.21",
				"com.amazonaws.ecs.capability.logging-driver.awslogs",
				"com.amazonaws.ecs.capability.task-iam-role",
				"ecs.capability.container-ordering",
				"ecs.capability.execution-role-awslogs",
				"ecs.capability.secrets.ssm.environment-variables",
				"ecs.capability.task-eni",
			}},
		{"daemon with host namespaces", doc(`"pidMode":"host","ipcMode":"host","networkMode":"host","taskRoleArn":"`+taskRole+`","volumes":[{"name":"proc","host":{"sourcePath":"/proc"}}]`,
			`{"name":"agent","image":"example/agent","memory":256,"privileged":true,"mountPoints":[{"sourceVolume":"proc","containerPath":"/host/proc","readOnly":true}],
			  "ulimits":[{"name":"nofile","softLimit":65536,"hardLimit":65536}],"dockerSecurityOptions":["label:type:spc_t","apparmor:unconfined"],
			  "linuxParameters":{"initProcessEnabled":true},"restartPolicy":{"enabled":true},"environmentFiles":[{"type":"s3","value":"arn:aws:s3:::bucket/agent.env"}],
			  "repositoryCredentials":{"credentialsParameter":"arn:aws:secretsmanager:us-east-1:123456789012:secret:registry"},
			  "logConfiguration":{"logDriver":"splunk","secretOptions":[{"name":"splunk-token","valueFrom":"arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk"}]}}`),
			[]string{
				"com.amazonaws.ecs.capability.apparmor",
				"com.amazonaws.ecs.capability.docker-remote-api.1.17",
				"com.amazonaws.ecs.capability.docker-remote-api.1.18",
				"com.amazonaws.ecs.capability.docker-remote-api.1.19",
				"com.amazonaws.ecs.capability.docker-remote-api.1.25",
				"com.amazonaws.ecs.capability.logging-driver.splunk",
				"com.amazonaws.ecs.capability.private-registry-authentication.secretsmanager",
				"com.amazonaws.ecs.capability.privileged-container",
				"com.amazonaws.ecs.capability.selinux",
				"com.amazonaws.ecs.capability.task-iam-role",
				"com.amazonaws.ecs.capability.task-iam-role-network-host",
				"ecs.capability.container-restart-policy",
				"ecs.capability.env-files.s3",
				"ecs.capability.pid-ipc-namespace-sharing",
				"ecs.capability.secrets.asm.bootstrap.log-driver",
			}},
		{"volumes, firelens and App Mesh", doc(`"networkMode":"awsvpc","enableFaultInjection":true,"proxyConfiguration":{"type":"APPMESH","containerName":"envoy","properties":[{"name":"AppPorts","value":"80"}]},
			"volumes":[{"name":"efs","efsVolumeConfiguration":{"fileSystemId":"fs-1234","transitEncryption":"ENABLED"}},{"name":"plugin","dockerVolumeConfiguration":{"scope":"shared","driver":"rexray/ebs"}},
			{"name":"fsx","fsxWindowsFileServerVolumeConfiguration":{"fileSystemId":"fs-5678","rootDirectory":"share","authorizationConfig":{"credentialsParameter":"arn:aws:ssm:us-east-1:123456789012:parameter/fsx","domain":"example.com"}}}]`,
			`{"name":"envoy","image":"envoyproxy/envoy","memory":128,"dockerLabels":{"team":"mesh"}}`,
			`{"name":"log_router","image":"fluent/fluent-bit","memory":64,"essential":false,"firelensConfiguration":{"type":"fluentbit","options":{"config-file-type":"file","config-file-value":"/extra.conf"}}}`),
			[]string{
				"com.amazonaws.ecs.capability.docker-remote-api.1.18",
				"ecs.capability.aws-appmesh",
				"ecs.capability.docker-plugin.rexray/ebs",
				"ecs.capability.efs",
				"ecs.capability.efsAuth",
				"ecs.capability.fault-injection",
				"ecs.capability.firelens.fluentbit",
				"ecs.capability.firelens.options.config.file",
				"ecs.capability.fsxWindowsFileServer",
				"ecs.capability.task-eni",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range build(t, tc.body).RequiresAttributes {
				got = append(got, a.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Build(%s).requiresAttributes =\n  %s\nwant\n  %s", tc.name, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestBuildDoesNotModifyInput(t *testing.T) {
	in := decode(t, fullDefinition)
	before := mustJSON(in)
	td := Build(in, "arn", 3, registeredAt, registeredBy)
	if after := mustJSON(in); after != before {
		t.Errorf("Build modified its input:\nbefore %s\nafter  %s", before, after)
	}
	// The stored definition must not share memory with the input either.
	td.ContainerDefinitions[0].Environment[0].Name = ptr("CHANGED")
	td.ContainerDefinitions[0].DockerLabels["changed"] = "yes"
	if after := mustJSON(in); after != before {
		t.Errorf("Build's result aliases its input")
	}
}

func TestBuildNil(t *testing.T) {
	if td := Build(nil, "arn", 1, registeredAt, registeredBy); td != nil {
		t.Errorf("Build(nil) = %v; want nil", td)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
