package taskdef

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fullDefinition uses every member of every shape of the model.
const fullDefinition = `{
	"family": "shop-web",
	"taskRoleArn": "arn:aws:iam::123456789012:role/shop-web",
	"executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
	"networkMode": "bridge",
	"containerDefinitions": [
		{
			"name": "web",
			"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web@sha256:6b1f4c3a0d5e2f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a",
			"repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-AbCdEf"},
			"cpu": 512,
			"memory": 1024,
			"memoryReservation": 512,
			"links": ["log_router:logs"],
			"portMappings": [
				{"containerPort": 8080, "hostPort": 0, "protocol": "tcp", "name": "web-8080", "appProtocol": "http2"},
				{"containerPortRange": "9000-9010", "protocol": "udp"}
			],
			"essential": true,
			"restartPolicy": {"enabled": true, "ignoredExitCodes": [0, 143], "restartAttemptPeriod": 300},
			"entryPoint": ["/docker-entrypoint.sh"],
			"command": ["serve", "--port", "8080"],
			"environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "EMPTY", "value": ""}],
			"environmentFiles": [{"value": "arn:aws:s3:::shop-config/web.env", "type": "s3"}],
			"mountPoints": [
				{"sourceVolume": "assets", "containerPath": "/srv/assets", "readOnly": true},
				{"sourceVolume": "cache", "containerPath": "/var/cache/web", "readOnly": false}
			],
			"volumesFrom": [{"sourceContainer": "log_router", "readOnly": true}],
			"linuxParameters": {
				"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["NET_RAW", "MKNOD"]},
				"devices": [{"hostPath": "/dev/fuse", "containerPath": "/dev/fuse", "permissions": ["read", "write"]}],
				"initProcessEnabled": true,
				"sharedMemorySize": 64,
				"tmpfs": [{"containerPath": "/run", "size": 32, "mountOptions": ["rw", "noexec"]}],
				"maxSwap": 512,
				"swappiness": 10
			},
			"secrets": [
				{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf:password::"},
				{"name": "API_KEY", "valueFrom": "/shop/api-key"}
			],
			"dependsOn": [{"containerName": "log_router", "condition": "START"}],
			"startTimeout": 120,
			"stopTimeout": 60,
			"versionConsistency": "enabled",
			"hostname": "web",
			"user": "1000:1000",
			"workingDirectory": "/srv",
			"disableNetworking": false,
			"privileged": false,
			"readonlyRootFilesystem": true,
			"dnsServers": ["10.0.0.2"],
			"dnsSearchDomains": ["shop.internal"],
			"extraHosts": [{"hostname": "db", "ipAddress": "10.0.1.5"}],
			"dockerSecurityOptions": ["no-new-privileges", "label:type:container_t"],
			"interactive": false,
			"pseudoTerminal": false,
			"dockerLabels": {"com.example.team": "shop", "empty": ""},
			"ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
			"logConfiguration": {
				"logDriver": "awsfirelens",
				"options": {"Name": "cloudwatch", "region": "eu-west-1"},
				"secretOptions": [{"name": "apikey", "valueFrom": "/shop/log-key"}]
			},
			"healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"], "interval": 15, "timeout": 3, "retries": 4, "startPeriod": 30},
			"systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
			"resourceRequirements": [
				{"type": "GPU", "sharingStrategy": {"nvidiaMps": {"memory": 4096, "maxComputePercent": 50}}},
				{"type": "InferenceAccelerator", "value": "device_1"}
			],
			"credentialSpecs": ["credentialspecdomainless:arn:aws:s3:::shop-config/gmsa.json"]
		},
		{
			"name": "log_router",
			"image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
			"cpu": 128,
			"memoryReservation": 128,
			"essential": false,
			"firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}},
			"user": "0"
		}
	],
	"volumes": [
		{"name": "assets", "host": {"sourcePath": "/srv/shop/assets"}},
		{"name": "cache", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local", "driverOpts": {"type": "tmpfs", "device": "tmpfs"}, "labels": {"team": "shop"}}},
		{"name": "media", "efsVolumeConfiguration": {"fileSystemId": "fs-0123456789abcdef0", "rootDirectory": "/", "transitEncryption": "ENABLED", "transitEncryptionPort": 2049, "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"}}},
		{"name": "lake", "s3filesVolumeConfiguration": {"fileSystemArn": "arn:aws:s3files:eu-west-1:123456789012:file-system/fs-0123", "accessPointArn": "arn:aws:s3files:eu-west-1:123456789012:access-point/ap-0123", "rootDirectory": "/", "transitEncryptionPort": 2999}},
		{"name": "share", "fsxWindowsFileServerVolumeConfiguration": {"fileSystemId": "fs-0abc", "rootDirectory": "share", "authorizationConfig": {"credentialsParameter": "arn:aws:ssm:eu-west-1:123456789012:parameter/fsx", "domain": "shop.example.com"}}},
		{"name": "scratch", "configuredAtLaunch": true}
	],
	"placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m7g.*"}],
	"requiresCompatibilities": ["EC2"],
	"cpu": "1 vCPU",
	"memory": "2 GB",
	"tags": [{"key": "team", "value": "shop"}, {"key": "cost-center", "value": ""}],
	"pidMode": "task",
	"ipcMode": "task",
	"proxyConfiguration": {"type": "APPMESH", "containerName": "log_router", "properties": [{"name": "IgnoredUID", "value": "1337"}, {"name": "AppPorts", "value": "8080"}]},
	"inferenceAccelerators": [{"deviceName": "device_1", "deviceType": "eia2.medium"}],
	"ephemeralStorage": {"sizeInGiB": 30},
	"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
	"enableFaultInjection": false,
	"trustedExecutionConfiguration": {"isolationMode": "SHARED"}
}`

func TestRegisterInputRoundTrip(t *testing.T) {
	in := decode(t, fullDefinition)
	if err := Validate(in); err != nil {
		t.Fatalf("Validate(fullDefinition) = %v; want nil", err)
	}
	out, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, out, []byte(fullDefinition)) {
		t.Errorf("json.Marshal(decode(fullDefinition)) =\n%s\nwant the request back", out)
	}
}

func TestTaskDefinitionRoundTrip(t *testing.T) {
	td := Build(decode(t, fullDefinition), "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-web:7", 7, registeredAt, registeredBy)
	first, err := json.Marshal(td)
	if err != nil {
		t.Fatal(err)
	}
	var back TaskDefinition
	dec := json.NewDecoder(strings.NewReader(string(first)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatalf("decode(Build(fullDefinition)): %v", err)
	}
	second, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Errorf("TaskDefinition JSON round trip changed it:\nfirst  %s\nsecond %s", first, second)
	}
	if strings.Contains(string(first), `"tags"`) {
		t.Errorf("Build(fullDefinition) JSON has tags; want them kept apart")
	}
	for _, member := range []string{`"cpu":"1024"`, `"memory":"2048"`, `"status":"ACTIVE"`, `"revision":7`} {
		if !strings.Contains(string(first), member) {
			t.Errorf("Build(fullDefinition) JSON lacks %s", member)
		}
	}
}

// TestOmittedMembersStayOmitted checks that absent members are not invented
// and empty lists the caller sent are kept.
func TestOmittedMembersStayOmitted(t *testing.T) {
	body := `{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":64,"links":[],"dockerLabels":{}}]}`
	out, err := json.Marshal(decode(t, body))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"family":"f","containerDefinitions":[{"name":"a","image":"b","cpu":0,"memory":64,"links":[],"dockerLabels":{}}]}`
	if string(out) != want {
		t.Errorf("json.Marshal(decode(%s)) = %s; want %s", body, out, want)
	}
}

func TestNumbersMustBeNumbers(t *testing.T) {
	cases := []string{
		`{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":"256"}]}`,
		`{"family":"f","containerDefinitions":[{"name":"a","image":"b","portMappings":[{"containerPort":"80"}]}]}`,
		`{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":2147483648}]}`,
		`{"family":"f","containerDefinitions":[{"name":"a","image":"b","memory":256.5}]}`,
		`{"family":"f","containerDefinitions":[{"name":"a","image":"b","essential":"true"}]}`,
		`{"family":"f","cpu":1024,"containerDefinitions":[]}`,
		`{"family":"f","ephemeralStorage":{"sizeInGiB":"30"},"containerDefinitions":[]}`,
	}
	for _, body := range cases {
		var in RegisterInput
		err := json.Unmarshal([]byte(body), &in)
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			t.Errorf("json.Unmarshal(%s) = %v; want *json.UnmarshalTypeError", body, err)
		}
	}
}
