package ecs_test

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/testcluster"
)

func listTags(t *testing.T, c *ecs.Client, arn string) map[string]string {
	t.Helper()
	out, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource(%s) = %v", arn, err)
	}
	if out.Tags == nil {
		t.Errorf("ListTagsForResource(%s).tags = nil; want a list", arn)
	}
	return tagMap(out.Tags)
}

func TestTagging(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: tags("team", "web")})
	register(t, c, taskDef("web"))
	register(t, c, taskDef("web"))
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}

	resources := []struct {
		name    string
		arn     string
		initial map[string]string
		// describe returns the tags the resource's own describe call shows.
		describe func(t *testing.T) map[string]string
	}{
		{"cluster", clusterARN("web"), map[string]string{"team": "web"}, func(t *testing.T) map[string]string {
			return tagMap(describeCluster(t, c, "web").Tags)
		}},
		{"task definition", taskDefARN("web", 1), map[string]string{}, func(t *testing.T) map[string]string {
			return describeTaskDefTags(t, c, "web:1")
		}},
		{"inactive task definition", taskDefARN("web", 2), map[string]string{}, func(t *testing.T) map[string]string {
			return describeTaskDefTags(t, c, "web:2")
		}},
	}
	for _, r := range resources {
		t.Run(r.name, func(t *testing.T) {
			if got := listTags(t, c, r.arn); !reflect.DeepEqual(got, r.initial) {
				t.Fatalf("ListTagsForResource(%s) = %v; want %v", r.arn, got, r.initial)
			}
			if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(r.arn), Tags: tags("env", "prod", "team", "platform", "empty", "")}); err != nil {
				t.Fatalf("TagResource(%s) = %v", r.arn, err)
			}
			want := map[string]string{"env": "prod", "team": "platform", "empty": ""}
			if got := listTags(t, c, r.arn); !reflect.DeepEqual(got, want) {
				t.Errorf("ListTagsForResource(%s) after TagResource = %v; want %v", r.arn, got, want)
			}
			if got := r.describe(t); !reflect.DeepEqual(got, want) {
				t.Errorf("describe(%s) tags after TagResource = %v; want %v", r.arn, got, want)
			}

			if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(r.arn), TagKeys: []string{"team", "never-there"}}); err != nil {
				t.Fatalf("UntagResource(%s) = %v", r.arn, err)
			}
			want = map[string]string{"env": "prod", "empty": ""}
			if got := listTags(t, c, r.arn); !reflect.DeepEqual(got, want) {
				t.Errorf("ListTagsForResource(%s) after UntagResource = %v; want %v", r.arn, got, want)
			}

			tooMany := make([]types.Tag, 49)
			for i := range tooMany {
				tooMany[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")}
			}
			// The messages are those RegisterTaskDefinition gives.
			rejected := []struct {
				name string
				tags []types.Tag
				msg  string
			}{
				{"51 tags in all", tooMany, "Too many tags. A resource can have at most 50 tags."},
				{"aws: prefix", tags("aws:cloudformation:stack-name", "x"), "Tag keys cannot start with the reserved prefix 'aws:'."},
				{"Aws: prefix", tags("Aws:thing", "x"), "Tag keys cannot start with the reserved prefix 'aws:'."},
				{"empty key", tags("", "x"), "Tag keys must be between 1 and 128 characters."},
				{"long key", tags(strings.Repeat("k", 129), "x"), "Tag keys must be between 1 and 128 characters."},
				{"long value", tags("k", strings.Repeat("v", 257)), "Tag values must be at most 256 characters."},
				{"duplicate key", tags("dup", "1", "dup", "2"), "Tag keys must be unique."},
			}
			for _, tc := range rejected {
				_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(r.arn), Tags: tc.tags})
				wantError(t, "TagResource("+r.name+", "+tc.name+")", err, "InvalidParameterException", tc.msg)
				if got := listTags(t, c, r.arn); !reflect.DeepEqual(got, want) {
					t.Errorf("after a rejected TagResource(%s), tags = %v; want %v", tc.name, got, want)
				}
			}

			// Exactly 50 is fine.
			if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(r.arn), Tags: tooMany[:48]}); err != nil {
				t.Errorf("TagResource(%s) up to 50 tags = %v; want success", r.arn, err)
			}
			if got := listTags(t, c, r.arn); len(got) != 50 {
				t.Errorf("ListTagsForResource(%s) = %d tags; want 50", r.arn, len(got))
			}
		})
	}
}

func describeTaskDefTags(t *testing.T, c *ecs.Client, ref string) map[string]string {
	t.Helper()
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(ref), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatalf("DescribeTaskDefinition(%s, TAGS) = %v", ref, err)
	}
	return tagMap(out.Tags)
}

func TestTaggingUnknownResources(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("gone"), Tags: tags("a", "b")})
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	register(t, c, taskDef("web"))

	cases := []struct {
		name, arn, code, msg string
	}{
		{"not an ARN", "web", "InvalidParameterException", ""},
		{"another service", "arn:aws:s3:::bucket", "InvalidParameterException", ""},
		{"unknown cluster", clusterARN("nope"), "ClusterNotFoundException", ""},
		{"inactive cluster", clusterARN("gone"), "InvalidParameterException", "The specified cluster is inactive. Specify an active cluster and try again."},
		{"unknown task definition", taskDefARN("web", 5), "ClientException", ""},
		{"task definition without revision", "arn:aws:ecs:us-east-1:" + account + ":task-definition/web", "ClientException", ""},
		{"another account", "arn:aws:ecs:us-east-1:111122223333:cluster/web", "ResourceNotFoundException", ""},
		{"unknown resource type", "arn:aws:ecs:us-east-1:" + account + ":widget/web", "ResourceNotFoundException", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tc.arn)})
			wantError(t, "ListTagsForResource("+tc.arn+")", err, tc.code, tc.msg)
			_, err = c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(tc.arn), Tags: tags("k", "v")})
			wantError(t, "TagResource("+tc.arn+")", err, tc.code, tc.msg)
			_, err = c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(tc.arn), TagKeys: []string{"k"}})
			wantError(t, "UntagResource("+tc.arn+")", err, tc.code, tc.msg)
		})
	}

	t.Run("reserved capacity providers", func(t *testing.T) {
		arn := "arn:aws:ecs:us-east-1:" + account + ":capacity-provider/FARGATE"
		if got := listTags(t, c, arn); len(got) != 0 {
			t.Errorf("ListTagsForResource(FARGATE) = %v; want none", got)
		}
		_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("k", "v")})
		wantError(t, "TagResource(FARGATE)", err, "InvalidParameterException", "")
	})
}

// TestTaggingConcurrent tags one resource from many clients at once: no
// update may be lost.
func TestTaggingConcurrent(t *testing.T) {
	t.Parallel()
	tc, _ := start(t)
	c := ownClient(t, tc)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	register(t, c, taskDef("web"))

	for _, arn := range []string{clusterARN("web"), taskDefARN("web", 1)} {
		const n = 16
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags(fmt.Sprintf("k%02d", i), "v")})
				if err != nil {
					t.Errorf("TagResource(%s, k%02d) = %v", arn, i, err)
				}
			})
		}
		wg.Wait()
		if got := listTags(t, c, arn); len(got) != n {
			t.Errorf("after %d concurrent TagResource(%s) calls, %d tags: %v; want %d", n, arn, len(got), got, n)
		}
	}
}

// TestTaskAndInstanceTags reads the tags of tasks and container instances by
// their ARNs, and changes those of instances, as ECS does.
func TestTaskAndInstanceTags(t *testing.T) {
	t.Parallel()
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil))
	c := tc.ECS()
	register(t, c, appDef("web", 16))
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Tags: tags("team", "a")})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask = %+v, %v; want a task", out, err)
	}
	task := aws.ToString(out.Tasks[0].TaskArn)
	if got := listTags(t, c, task); !reflect.DeepEqual(got, map[string]string{"team": "a"}) {
		t.Errorf("ListTagsForResource(task) = %v; want team=a", got)
	}
	// Once RUNNING, the task changes no more by itself.
	w := ecs.NewTasksRunningWaiter(c, func(o *ecs.TasksRunningWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := w.Wait(ctx, &ecs.DescribeTasksInput{Tasks: []string{task}}, 30*time.Second); err != nil {
		t.Fatalf("tasks-running waiter: %v", err)
	}
	before, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{task}})
	if err != nil || len(before.Tasks) != 1 {
		t.Fatalf("DescribeTasks = %+v, %v", before, err)
	}
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(task), Tags: tags("k", "v", "team", "b")}); err != nil {
		t.Fatalf("TagResource(task) = %v", err)
	}
	if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(task), TagKeys: []string{"k"}}); err != nil {
		t.Fatalf("UntagResource(task) = %v", err)
	}
	if got := listTags(t, c, task); !reflect.DeepEqual(got, map[string]string{"team": "b"}) {
		t.Errorf("task tags after TagResource and UntagResource = %v; want team=b", got)
	}
	after, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{task}, Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil || len(after.Tasks) != 1 {
		t.Fatalf("DescribeTasks(include TAGS) = %+v, %v", after, err)
	}
	if got := after.Tasks[0].Tags; len(got) != 1 || aws.ToString(got[0].Key) != "team" || aws.ToString(got[0].Value) != "b" {
		t.Errorf("DescribeTasks(include TAGS) tags = %+v; want team=b", got)
	}
	// A tag change is no change of the task's state.
	if b, a := before.Tasks[0].Version, after.Tasks[0].Version; a != b {
		t.Errorf("task version after tagging = %d; want %d, unchanged", a, b)
	}

	inst := tc.Agents[0].Agent.InstanceARN()
	if got := listTags(t, c, inst); len(got) != 0 {
		t.Errorf("ListTagsForResource(instance) = %v; want none", got)
	}
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(inst), Tags: tags("rack", "1", "zone", "x")}); err != nil {
		t.Fatalf("TagResource(instance) = %v", err)
	}
	if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(inst), TagKeys: []string{"zone"}}); err != nil {
		t.Fatalf("UntagResource(instance) = %v", err)
	}
	if got := listTags(t, c, inst); !reflect.DeepEqual(got, map[string]string{"rack": "1"}) {
		t.Errorf("instance tags = %v; want rack=1", got)
	}

	for _, tcase := range []struct{ name, arn, code string }{
		{"unknown task", "arn:aws:ecs:us-east-1:" + account + ":task/default/0123456789abcdef0123456789abcdef", "ResourceNotFoundException"},
		{"task of an unknown cluster", "arn:aws:ecs:us-east-1:" + account + ":task/nope/0123456789abcdef0123456789abcdef", "ClusterNotFoundException"},
		{"short task ARN", strings.Replace(task, ":task/default/", ":task/", 1), "InvalidParameterException"},
		{"unknown instance", "arn:aws:ecs:us-east-1:" + account + ":container-instance/default/0123456789abcdef0123456789abcdef", "ResourceNotFoundException"},
	} {
		_, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tcase.arn)})
		wantError(t, "ListTagsForResource("+tcase.name+")", err, tcase.code, "")
	}
}
