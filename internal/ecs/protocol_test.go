package ecs_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TestWrongJSONTypes sends members of the wrong JSON type, which the SDKs
// never do but hand-written clients can: each is a SerializationException
// and changes nothing.
func TestWrongJSONTypes(t *testing.T) {
	t.Parallel()
	tc, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	register(t, c, taskDef("web"))

	cases := []struct{ op, body string }{
		{"CreateCluster", `{"clusterName": 5}`},
		{"CreateCluster", `{"clusterName": "x1", "tags": {"k": "v"}}`},
		{"CreateCluster", `{"clusterName": "x2", "settings": "containerInsights"}`},
		{"CreateCluster", `{"clusterName": "x3", "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": "1"}], "capacityProviders": ["FARGATE"]}`},
		{"CreateCluster", `{"clusterName": "x4", "configuration": {"executeCommandConfiguration": {"logConfiguration": {"s3EncryptionEnabled": "yes"}}}}`},
		{"CreateCluster", `{"clusterName": "x5"`},
		{"CreateCluster", `["x6"]`},
		{"DescribeClusters", `{"clusters": "web"}`},
		{"DescribeClusters", `{"clusters": ["web"], "include": "TAGS"}`},
		{"ListClusters", `{"maxResults": "10"}`},
		{"ListClusters", `{"maxResults": 1.5}`},
		{"ListClusters", `{"maxResults": 99999999999}`},
		{"UpdateCluster", `{"cluster": ["web"]}`},
		{"UpdateClusterSettings", `{"cluster": "web", "settings": [{"name": "containerInsights", "value": true}]}`},
		{"DeleteCluster", `{"cluster": {"name": "web"}}`},
		{"PutClusterCapacityProviders", `{"cluster": "web", "capacityProviders": "FARGATE", "defaultCapacityProviderStrategy": []}`},
		{"DescribeCapacityProviders", `{"maxResults": "1"}`},
		{"RegisterTaskDefinition", `{"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": "128"}]}`},
		{"RegisterTaskDefinition", `{"family": "web", "cpu": 256, "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}`},
		{"RegisterTaskDefinition", `{"family": "web", "containerDefinitions": {"name": "app"}}`},
		{"RegisterTaskDefinition", `{"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128, "essential": "true"}]}`},
		{"DescribeTaskDefinition", `{"taskDefinition": "web:1", "include": "TAGS"}`},
		{"ListTaskDefinitions", `{"familyPrefix": 1}`},
		{"ListTaskDefinitionFamilies", `{"maxResults": true}`},
		{"DeregisterTaskDefinition", `{"taskDefinition": 1}`},
		{"DeleteTaskDefinitions", `{"taskDefinitions": "web:1"}`},
		{"TagResource", `{"resourceArn": "` + clusterARN("web") + `", "tags": {"k": "v"}}`},
		{"TagResource", `{"resourceArn": "` + clusterARN("web") + `", "tags": [{"key": "k", "value": 1}]}`},
		{"UntagResource", `{"resourceArn": "` + clusterARN("web") + `", "tagKeys": "k"}`},
		{"ListTagsForResource", `{"resourceArn": ["` + clusterARN("web") + `"]}`},
	}
	for _, tt := range cases {
		t.Run(tt.op+" "+tt.body, func(t *testing.T) {
			resp := rawCall(t, tc, tt.op, tt.body)
			if resp.Status != http.StatusBadRequest || resp.Type != "SerializationException" || resp.Message == "" {
				t.Errorf("%s(%s) = %d %s %q; want 400 SerializationException with a message", tt.op, tt.body, resp.Status, resp.Type, resp.Message)
			}
		})
	}

	// Nothing of the above took effect.
	list, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{clusterARN("web")}; !slices.Equal(list.ClusterArns, want) {
		t.Errorf("ListClusters() after rejected requests = %v; want %v", list.ClusterArns, want)
	}
	if got := listTags(t, c, clusterARN("web")); len(got) != 0 {
		t.Errorf("ListTagsForResource(web) after rejected requests = %v; want none", got)
	}
	tds, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{taskDefARN("web", 1)}; !slices.Equal(tds.TaskDefinitionArns, want) {
		t.Errorf("ListTaskDefinitions() after rejected requests = %v; want %v", tds.TaskDefinitionArns, want)
	}
}

// TestMissingRequiredMembers leaves out members the model marks required
// (the SDKs refuse to send such requests; other clients may): each is an
// InvalidParameterException and changes nothing.
func TestMissingRequiredMembers(t *testing.T) {
	t.Parallel()
	tc, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	register(t, c, taskDef("web"))
	arn := clusterARN("web")

	cases := []struct{ op, body string }{
		{"UpdateCluster", `{}`},
		{"UpdateCluster", `{"settings": [{"name": "containerInsights", "value": "enabled"}]}`},
		{"UpdateClusterSettings", `{"settings": [{"name": "containerInsights", "value": "enabled"}]}`},
		{"UpdateClusterSettings", `{"cluster": "web"}`},
		{"DeleteCluster", `{}`},
		{"DeleteCluster", ``},
		{"PutClusterCapacityProviders", `{"capacityProviders": [], "defaultCapacityProviderStrategy": []}`},
		{"PutClusterCapacityProviders", `{"cluster": "web", "defaultCapacityProviderStrategy": []}`},
		{"PutClusterCapacityProviders", `{"cluster": "web", "capacityProviders": []}`},
		{"PutClusterCapacityProviders", `{"cluster": "web", "capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{"weight": 1}]}`},
		{"DescribeTaskDefinition", `{}`},
		{"DeregisterTaskDefinition", `{}`},
		{"DeleteTaskDefinitions", `{}`},
		{"TagResource", `{"tags": [{"key": "k", "value": "v"}]}`},
		{"TagResource", `{"resourceArn": "` + arn + `"}`},
		{"TagResource", `{"resourceArn": "arn:aws:ecs:us-east-1:` + account + `:cluster/nope"}`},
		{"UntagResource", `{"tagKeys": ["k"]}`},
		{"UntagResource", `{"resourceArn": "` + arn + `"}`},
		{"ListTagsForResource", `{}`},
	}
	for _, tt := range cases {
		t.Run(tt.op+" "+tt.body, func(t *testing.T) {
			resp := rawCall(t, tc, tt.op, tt.body)
			if resp.Status != http.StatusBadRequest || resp.Type != "InvalidParameterException" || resp.Message == "" {
				t.Errorf("%s(%s) = %d %s %q; want 400 InvalidParameterException with a message", tt.op, tt.body, resp.Status, resp.Type, resp.Message)
			}
		})
	}

	cl := describeCluster(t, c, "web")
	if aws.ToString(cl.Status) != "ACTIVE" || settingsMap(cl.Settings)["containerInsights"] != "disabled" || len(cl.CapacityProviders) != 0 {
		t.Errorf("after rejected requests, cluster web = %s settings %v providers %v; want it unchanged", aws.ToString(cl.Status), settingsMap(cl.Settings), cl.CapacityProviders)
	}
}

// TestRawSuccess checks what a plain awsJson client sees on success: an
// empty body is an empty request, and lists come back as lists, never null.
func TestRawSuccess(t *testing.T) {
	t.Parallel()
	tc, _ := start(t)

	for _, body := range []string{``, `{}`, ` {} `} {
		resp := rawCall(t, tc, "ListClusters", body)
		var out map[string]json.RawMessage
		if err := json.Unmarshal(resp.Body, &out); resp.Status != http.StatusOK || err != nil {
			t.Fatalf("ListClusters(%q) = %d %s; want 200 with a JSON object", body, resp.Status, resp.Body)
		}
		if got := string(out["clusterArns"]); got != "[]" {
			t.Errorf("ListClusters(%q).clusterArns = %s; want []", body, got)
		}
		if _, ok := out["nextToken"]; ok {
			t.Errorf("ListClusters(%q) has a nextToken: %s", body, resp.Body)
		}
	}

	resp := rawCall(t, tc, "DescribeClusters", `{"clusters": ["a"]}`)
	var out map[string]json.RawMessage
	if err := json.Unmarshal(resp.Body, &out); resp.Status != http.StatusOK || err != nil {
		t.Fatalf("DescribeClusters(a) = %d %s", resp.Status, resp.Body)
	}
	if string(out["clusters"]) != "[]" || len(out["failures"]) < 3 {
		t.Errorf("DescribeClusters(a) = %s; want clusters [] and one failure", resp.Body)
	}
}
