package ecs_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestRegisterTaskDefinition(t *testing.T) {
	t.Parallel()
	_, c := start(t)

	before := time.Now().Add(-time.Second)
	for rev := 1; rev <= 3; rev++ {
		td := register(t, c, taskDef("web"))
		if int(td.Revision) != rev || aws.ToString(td.TaskDefinitionArn) != taskDefARN("web", rev) {
			t.Errorf("RegisterTaskDefinition(web) #%d = revision %d, arn %s; want %d, %s", rev, td.Revision, aws.ToString(td.TaskDefinitionArn), rev, taskDefARN("web", rev))
		}
	}

	out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("api"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("1 vCPU"),
		Memory:                  aws.String("2GB"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::" + account + ":role/exec"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:         aws.String("api"),
			Image:        aws.String("public.ecr.aws/nginx/nginx:1.27"),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
			Environment:  []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}},
			Command:      []string{"serve", "--port", "8080"},
			HealthCheck:  &types.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost:8080"}},
		}},
		Tags: tags("team", "api"),
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(api) = %v", err)
	}
	td := out.TaskDefinition
	if got, want := tagMap(out.Tags), map[string]string{"team": "api"}; !reflect.DeepEqual(got, want) {
		t.Errorf("RegisterTaskDefinition(api).tags = %v; want %v", got, want)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"taskDefinitionArn", aws.ToString(td.TaskDefinitionArn), taskDefARN("api", 1)},
		{"family", aws.ToString(td.Family), "api"},
		{"revision", td.Revision, int32(1)},
		{"status", td.Status, types.TaskDefinitionStatusActive},
		{"networkMode", td.NetworkMode, types.NetworkModeAwsvpc},
		{"cpu", aws.ToString(td.Cpu), "1024"},
		{"memory", aws.ToString(td.Memory), "2048"},
		{"executionRoleArn", aws.ToString(td.ExecutionRoleArn), "arn:aws:iam::" + account + ":role/exec"},
		{"requiresCompatibilities", td.RequiresCompatibilities, []types.Compatibility{types.CompatibilityFargate}},
		{"compatibilities has FARGATE", slices.Contains(td.Compatibilities, types.CompatibilityFargate), true},
		{"compatibilities has EC2", slices.Contains(td.Compatibilities, types.CompatibilityEc2), true},
		{"registeredBy", aws.ToString(td.RegisteredBy), "arn:aws:iam::" + account + ":root"},
		{"deregisteredAt", td.DeregisteredAt, (*time.Time)(nil)},
		{"volumes", td.Volumes, []types.Volume{}},
		{"placementConstraints", td.PlacementConstraints, []types.TaskDefinitionPlacementConstraint{}},
		{"containers", len(td.ContainerDefinitions), 1},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("RegisterTaskDefinition(api).%s = %#v; want %#v", ch.what, ch.got, ch.want)
		}
	}
	if td.RegisteredAt == nil || td.RegisteredAt.Before(before) || td.RegisteredAt.After(time.Now().Add(time.Second)) {
		t.Errorf("RegisterTaskDefinition(api).registeredAt = %v; want about now", td.RegisteredAt)
	}
	if len(td.ContainerDefinitions) == 1 {
		cd := td.ContainerDefinitions[0]
		cchecks := []struct {
			what      string
			got, want any
		}{
			{"name", aws.ToString(cd.Name), "api"},
			{"image", aws.ToString(cd.Image), "public.ecr.aws/nginx/nginx:1.27"},
			{"essential (default)", aws.ToBool(cd.Essential), true},
			{"cpu (default)", cd.Cpu, int32(0)},
			{"command", cd.Command, []string{"serve", "--port", "8080"}},
			{"environment", len(cd.Environment), 1},
			{"portMappings", len(cd.PortMappings), 1},
			{"mountPoints", cd.MountPoints, []types.MountPoint{}},
			{"volumesFrom", cd.VolumesFrom, []types.VolumeFrom{}},
		}
		if len(cd.PortMappings) == 1 {
			pm := cd.PortMappings[0]
			cchecks = append(cchecks,
				struct {
					what      string
					got, want any
				}{"portMappings[0].hostPort (awsvpc default)", aws.ToInt32(pm.HostPort), int32(8080)},
				struct {
					what      string
					got, want any
				}{"portMappings[0].protocol (default)", pm.Protocol, types.TransportProtocolTcp})
		}
		if hc := cd.HealthCheck; hc != nil {
			cchecks = append(cchecks, struct {
				what      string
				got, want any
			}{"healthCheck interval/timeout/retries", [3]int32{aws.ToInt32(hc.Interval), aws.ToInt32(hc.Timeout), aws.ToInt32(hc.Retries)}, [3]int32{30, 5, 3}})
		} else {
			t.Errorf("RegisterTaskDefinition(api) lost the health check")
		}
		for _, ch := range cchecks {
			if !reflect.DeepEqual(ch.got, ch.want) {
				t.Errorf("RegisterTaskDefinition(api).containerDefinitions[0].%s = %#v; want %#v", ch.what, ch.got, ch.want)
			}
		}
	}

	// What RegisterTaskDefinition returned, DescribeTaskDefinition returns.
	desc, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("api:1")})
	if err != nil {
		t.Fatalf("DescribeTaskDefinition(api:1) = %v", err)
	}
	if !reflect.DeepEqual(desc.TaskDefinition, td) {
		t.Errorf("DescribeTaskDefinition(api:1) = %+v; want what RegisterTaskDefinition returned %+v", desc.TaskDefinition, td)
	}
}

func TestRegisterTaskDefinitionConcurrent(t *testing.T) {
	t.Parallel()
	tc, _ := start(t)
	c := ownClient(t, tc)

	const n = 20
	revs := make(chan int32, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			out, err := c.RegisterTaskDefinition(ctx, taskDef("busy"))
			if err != nil {
				t.Errorf("RegisterTaskDefinition(busy) = %v", err)
				return
			}
			revs <- out.TaskDefinition.Revision
		})
	}
	wg.Wait()
	close(revs)
	var got []int
	for r := range revs {
		got = append(got, int(r))
	}
	slices.Sort(got)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(got, want) {
		t.Errorf("%d concurrent RegisterTaskDefinition(busy) got revisions %v; want %v", n, got, want)
	}
}

func TestRegisterTaskDefinitionRejected(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	register(t, c, taskDef("web"))

	fargate := func(mode types.NetworkMode) *ecs.RegisterTaskDefinitionInput {
		in := taskDef("web")
		in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
		in.NetworkMode = mode
		in.Cpu, in.Memory = aws.String("256"), aws.String("512")
		return in
	}
	cases := []struct {
		name      string
		in        *ecs.RegisterTaskDefinitionInput
		code, msg string
	}{
		{"no containers", &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: []types.ContainerDefinition{}},
			"ClientException", "Container list cannot be empty."},
		{"bad family", func() *ecs.RegisterTaskDefinitionInput {
			in := taskDef("web")
			in.Family = aws.String("web/1")
			return in
		}(),
			"ClientException", "Family contains invalid characters."},
		{"fargate on bridge", fargate(types.NetworkModeBridge),
			"ClientException", "Fargate only supports network mode ‘awsvpc’."},
		{"fargate bad size", func() *ecs.RegisterTaskDefinitionInput {
			in := fargate(types.NetworkModeAwsvpc)
			in.Memory = aws.String("16384")
			return in
		}(), "ClientException", "No Fargate configuration exists for given values: 256 CPU, 16384 memory. See the Amazon ECS documentation for the valid values."},
		{"duplicate container names", func() *ecs.RegisterTaskDefinitionInput {
			in := taskDef("web")
			in.ContainerDefinitions = append(in.ContainerDefinitions, in.ContainerDefinitions[0])
			return in
		}(), "ClientException", "Container names must be unique within a Task Definition."},
		{"aws: tag", func() *ecs.RegisterTaskDefinitionInput { in := taskDef("web"); in.Tags = tags("aws:x", "y"); return in }(),
			"InvalidParameterException", "Tag keys cannot start with the reserved prefix 'aws:'."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.RegisterTaskDefinition(ctx, tc.in)
			wantError(t, "RegisterTaskDefinition("+tc.name+")", err, tc.code, tc.msg)
		})
	}

	// Nothing was registered: the next revision is 2.
	list, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{taskDefARN("web", 1)}; !slices.Equal(list.TaskDefinitionArns, want) {
		t.Errorf("ListTaskDefinitions() after rejected registrations = %v; want %v", list.TaskDefinitionArns, want)
	}
	if td := register(t, c, taskDef("web")); td.Revision != 2 {
		t.Errorf("RegisterTaskDefinition(web) after rejected registrations = revision %d; want 2", td.Revision)
	}
}

func TestDescribeTaskDefinition(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	in := taskDef("web")
	in.Tags = tags("team", "web")
	register(t, c, in)
	register(t, c, taskDef("web"))
	register(t, c, taskDef("web"))
	register(t, c, taskDef("old"))
	for _, ref := range []string{"web:3", "old:1"} {
		if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)}); err != nil {
			t.Fatal(err)
		}
	}

	found := []struct {
		ref    string
		arn    string
		status types.TaskDefinitionStatus
	}{
		{"web", taskDefARN("web", 2), types.TaskDefinitionStatusActive}, // latest ACTIVE, not the INACTIVE 3
		{"web:1", taskDefARN("web", 1), types.TaskDefinitionStatusActive},
		{"web:3", taskDefARN("web", 3), types.TaskDefinitionStatusInactive},
		{taskDefARN("web", 2), taskDefARN("web", 2), types.TaskDefinitionStatusActive},
		{"old:1", taskDefARN("old", 1), types.TaskDefinitionStatusInactive},
	}
	for _, tc := range found {
		t.Run(tc.ref, func(t *testing.T) {
			out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tc.ref)})
			if err != nil {
				t.Fatalf("DescribeTaskDefinition(%s) = %v", tc.ref, err)
			}
			td := out.TaskDefinition
			if aws.ToString(td.TaskDefinitionArn) != tc.arn || td.Status != tc.status {
				t.Errorf("DescribeTaskDefinition(%s) = %s %s; want %s %s", tc.ref, aws.ToString(td.TaskDefinitionArn), td.Status, tc.arn, tc.status)
			}
			if (tc.status == types.TaskDefinitionStatusInactive) != (td.DeregisteredAt != nil) {
				t.Errorf("DescribeTaskDefinition(%s).deregisteredAt = %v with status %s", tc.ref, td.DeregisteredAt, td.Status)
			}
			if out.Tags != nil {
				t.Errorf("DescribeTaskDefinition(%s) without include: tags = %v; want none", tc.ref, out.Tags)
			}
		})
	}

	t.Run("include TAGS", func(t *testing.T) {
		for ref, want := range map[string]map[string]string{"web:1": {"team": "web"}, "web:2": {}} {
			out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: aws.String(ref), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			})
			if err != nil {
				t.Fatalf("DescribeTaskDefinition(%s, TAGS) = %v", ref, err)
			}
			if got := tagMap(out.Tags); out.Tags == nil || !reflect.DeepEqual(got, want) {
				t.Errorf("DescribeTaskDefinition(%s, TAGS).tags = %#v; want %v", ref, out.Tags, want)
			}
		}
	})

	for _, ref := range []string{"nope", "web:9", "old", "web:0", "web:x", "arn:aws:ecs:us-east-1:111111111111:task-definition/web:1", "arn:aws:ecs:us-east-1:" + account + ":cluster/web"} {
		t.Run("missing "+ref, func(t *testing.T) {
			_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
			wantError(t, "DescribeTaskDefinition("+ref+")", err, "ClientException", "Unable to describe task definition.")
		})
	}
	t.Run("bad include", func(t *testing.T) {
		_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web"), Include: []types.TaskDefinitionField{"ALL"}})
		wantError(t, "DescribeTaskDefinition(web, include ALL)", err, "InvalidParameterException", "")
	})
}

// registerFamilies registers web:1..3, web-api:1..2 and worker:1, then
// deregisters web:2 and worker:1.
func registerFamilies(t *testing.T, c *ecs.Client) {
	t.Helper()
	for _, f := range []string{"worker", "web", "web-api", "web", "web-api", "web"} {
		register(t, c, taskDef(f))
	}
	for _, ref := range []string{"web:2", "worker:1"} {
		if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListTaskDefinitions(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	registerFamilies(t, c)
	arns := func(refs ...string) []string {
		var out []string
		for _, r := range refs {
			i := strings.LastIndex(r, ":")
			rev, _ := strconv.Atoi(r[i+1:])
			out = append(out, taskDefARN(r[:i], rev))
		}
		return out
	}

	cases := []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
		want []string
	}{
		{"default", ecs.ListTaskDefinitionsInput{}, arns("web:1", "web:3", "web-api:1", "web-api:2")},
		{"family web", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")}, arns("web:1", "web:3")},
		{"family we (not a family)", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("we")}, nil},
		{"INACTIVE", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, arns("web:2", "worker:1")},
		{"DESC", ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc}, arns("web-api:2", "web-api:1", "web:3", "web:1")},
		{"family web DESC", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc}, arns("web:3", "web:1")},
		{"DELETE_IN_PROGRESS", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress}, nil},
	}
	for _, tc := range cases {
		for _, size := range []int32{1, 3, 100} {
			t.Run(fmt.Sprintf("%s maxResults %d", tc.name, size), func(t *testing.T) {
				in := tc.in
				in.MaxResults = aws.Int32(size)
				var got []string
				p := ecs.NewListTaskDefinitionsPaginator(c, &in)
				for p.HasMorePages() {
					out, err := p.NextPage(ctx)
					if err != nil {
						t.Fatalf("ListTaskDefinitions(%s) = %v", tc.name, err)
					}
					if len(out.TaskDefinitionArns) > int(size) {
						t.Fatalf("ListTaskDefinitions(%s, maxResults %d) page has %d", tc.name, size, len(out.TaskDefinitionArns))
					}
					got = append(got, out.TaskDefinitionArns...)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("ListTaskDefinitions(%s, maxResults %d) = %v; want %v", tc.name, size, got, tc.want)
				}
			})
		}
	}

	for _, tc := range []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
	}{
		{"bad status", ecs.ListTaskDefinitionsInput{Status: "GONE"}},
		{"bad sort", ecs.ListTaskDefinitionsInput{Sort: "UP"}},
		{"bad token", ecs.ListTaskDefinitionsInput{NextToken: aws.String("!!")}},
		{"maxResults 101", ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(101)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListTaskDefinitions(ctx, &tc.in)
			wantError(t, "ListTaskDefinitions("+tc.name+")", err, "InvalidParameterException", "")
		})
	}
}

func TestListTaskDefinitionFamilies(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	registerFamilies(t, c)
	// A family whose revisions are all deleted is listed no more.
	register(t, c, taskDef("temp"))
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("temp:1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"temp:1"}}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		in   ecs.ListTaskDefinitionFamiliesInput
		want []string
	}{
		// By default both ACTIVE and INACTIVE families are listed.
		{"default", ecs.ListTaskDefinitionFamiliesInput{}, []string{"web", "web-api", "worker"}},
		{"ALL", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll}, []string{"web", "web-api", "worker"}},
		{"ACTIVE", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusActive}, []string{"web", "web-api"}},
		{"INACTIVE", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive}, []string{"worker"}},
		{"prefix web", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web")}, []string{"web", "web-api"}},
		{"prefix web-", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web-")}, []string{"web-api"}},
		{"prefix w INACTIVE", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("w"), Status: types.TaskDefinitionFamilyStatusInactive}, []string{"worker"}},
		{"prefix x", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("x")}, nil},
	}
	for _, tc := range cases {
		for _, size := range []int32{1, 2, 100} {
			t.Run(fmt.Sprintf("%s maxResults %d", tc.name, size), func(t *testing.T) {
				in := tc.in
				in.MaxResults = aws.Int32(size)
				var got []string
				p := ecs.NewListTaskDefinitionFamiliesPaginator(c, &in)
				for p.HasMorePages() {
					out, err := p.NextPage(ctx)
					if err != nil {
						t.Fatalf("ListTaskDefinitionFamilies(%s) = %v", tc.name, err)
					}
					if len(out.Families) > int(size) {
						t.Fatalf("ListTaskDefinitionFamilies(%s, maxResults %d) page has %d", tc.name, size, len(out.Families))
					}
					got = append(got, out.Families...)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("ListTaskDefinitionFamilies(%s, maxResults %d) = %v; want %v", tc.name, size, got, tc.want)
				}
			})
		}
	}

	for _, tc := range []struct {
		name string
		in   ecs.ListTaskDefinitionFamiliesInput
	}{
		{"bad status", ecs.ListTaskDefinitionFamiliesInput{Status: "DELETED"}},
		{"bad token", ecs.ListTaskDefinitionFamiliesInput{NextToken: aws.String("zzz")}},
		{"maxResults 0", ecs.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListTaskDefinitionFamilies(ctx, &tc.in)
			wantError(t, "ListTaskDefinitionFamilies("+tc.name+")", err, "InvalidParameterException", "")
		})
	}
}

func TestDeregisterTaskDefinition(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	register(t, c, taskDef("web"))
	register(t, c, taskDef("web"))

	before := time.Now().Add(-time.Second)
	out, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(taskDefARN("web", 1))})
	if err != nil {
		t.Fatalf("DeregisterTaskDefinition(web:1 ARN) = %v", err)
	}
	td := out.TaskDefinition
	if td.Status != types.TaskDefinitionStatusInactive || td.Revision != 1 || aws.ToString(td.Family) != "web" {
		t.Errorf("DeregisterTaskDefinition(web:1) = %s:%d %s; want web:1 INACTIVE", aws.ToString(td.Family), td.Revision, td.Status)
	}
	if td.DeregisteredAt == nil || td.DeregisteredAt.Before(before) {
		t.Fatalf("DeregisterTaskDefinition(web:1).deregisteredAt = %v; want about now", td.DeregisteredAt)
	}
	if len(td.ContainerDefinitions) != 1 || aws.ToString(td.ContainerDefinitions[0].Image) != "nginx:1.27" {
		t.Errorf("DeregisterTaskDefinition(web:1) containers = %+v; want the registered definition", td.ContainerDefinitions)
	}

	// Deregistering an INACTIVE revision again succeeds and changes nothing.
	again, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	if err != nil {
		t.Fatalf("DeregisterTaskDefinition(web:1) again = %v", err)
	}
	if again.TaskDefinition.Status != types.TaskDefinitionStatusInactive || !again.TaskDefinition.DeregisteredAt.Equal(*td.DeregisteredAt) {
		t.Errorf("DeregisterTaskDefinition(web:1) again = %s at %v; want INACTIVE at %v", again.TaskDefinition.Status, again.TaskDefinition.DeregisteredAt, td.DeregisteredAt)
	}

	for _, tc := range []struct{ ref, msg string }{
		{"web", ""}, // a revision is required
		{"web:7", ""},
		{"nope:1", ""},
		{"web:abc", ""},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(tc.ref)})
			wantError(t, "DeregisterTaskDefinition("+tc.ref+")", err, "ClientException", tc.msg)
		})
	}
	// The rejected calls left web:2 ACTIVE.
	desc, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if desc.TaskDefinition.Revision != 2 || desc.TaskDefinition.Status != types.TaskDefinitionStatusActive {
		t.Errorf("DescribeTaskDefinition(web) = revision %d %s; want 2 ACTIVE", desc.TaskDefinition.Revision, desc.TaskDefinition.Status)
	}
}

func TestDeleteTaskDefinitions(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	for range 3 {
		register(t, c, taskDef("web"))
	}
	for _, ref := range []string{"web:1", "web:3"} {
		if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)}); err != nil {
			t.Fatal(err)
		}
	}

	before := time.Now().Add(-time.Second)
	out, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"web:1", "web:2", taskDefARN("web", 3), "web:9", "web"}})
	if err != nil {
		t.Fatalf("DeleteTaskDefinitions(...) = %v", err)
	}
	var deleted []string
	for _, td := range out.TaskDefinitions {
		deleted = append(deleted, fmt.Sprintf("%s %s", aws.ToString(td.TaskDefinitionArn), td.Status))
		if td.DeleteRequestedAt == nil || td.DeleteRequestedAt.Before(before) {
			t.Errorf("DeleteTaskDefinitions: %s deleteRequestedAt = %v; want about now", aws.ToString(td.TaskDefinitionArn), td.DeleteRequestedAt)
		}
		if len(td.ContainerDefinitions) != 1 {
			t.Errorf("DeleteTaskDefinitions: %s has %d containers; want the definition", aws.ToString(td.TaskDefinitionArn), len(td.ContainerDefinitions))
		}
	}
	if want := []string{taskDefARN("web", 1) + " DELETE_IN_PROGRESS", taskDefARN("web", 3) + " DELETE_IN_PROGRESS"}; !slices.Equal(deleted, want) {
		t.Errorf("DeleteTaskDefinitions(...).taskDefinitions = %v; want %v", deleted, want)
	}
	reasons := map[string]string{}
	for _, f := range out.Failures {
		reasons[aws.ToString(f.Arn)] = aws.ToString(f.Reason)
	}
	if len(out.Failures) != 3 {
		t.Errorf("DeleteTaskDefinitions(...).failures = %v; want 3 (web:2 ACTIVE, web:9 missing, web without revision)", failures(out.Failures))
	}
	if got := reasons[taskDefARN("web", 2)]; got != "The specified task definition is still in ACTIVE status. Please deregister the target and try again." {
		t.Errorf("DeleteTaskDefinitions: web:2 failure reason = %q; want the ACTIVE status reason (failures %v)", got, failures(out.Failures))
	}

	// Deleted revisions are gone; the ACTIVE one stays.
	for _, ref := range []string{"web:1", "web:3"} {
		_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		wantError(t, "DescribeTaskDefinition("+ref+") after delete", err, "ClientException", "")
	}
	for _, status := range []types.TaskDefinitionStatus{types.TaskDefinitionStatusInactive, types.TaskDefinitionStatusDeleteInProgress} {
		list, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{Status: status})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.TaskDefinitionArns) != 0 {
			t.Errorf("ListTaskDefinitions(%s) after delete = %v; want none", status, list.TaskDefinitionArns)
		}
	}
	if desc, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:2")}); err != nil || desc.TaskDefinition.Status != types.TaskDefinitionStatusActive {
		t.Errorf("DescribeTaskDefinition(web:2) after a failed delete = %v; want it ACTIVE", err)
	}

	// Revision numbers are never handed out again.
	if td := register(t, c, taskDef("web")); td.Revision != 4 {
		t.Errorf("RegisterTaskDefinition(web) after deleting web:3 = revision %d; want 4", td.Revision)
	}
	// Deleting a deleted revision is a failure, not an error.
	out, err = c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"web:1"}})
	if err != nil || len(out.Failures) != 1 || len(out.TaskDefinitions) != 0 {
		t.Errorf("DeleteTaskDefinitions(web:1) again = %v, failures %v; want one failure", err, failures(out.Failures))
	}

	for _, tc := range []struct {
		name string
		refs []string
	}{
		{"none", []string{}},
		{"eleven", []string{"a:1", "a:2", "a:3", "a:4", "a:5", "a:6", "a:7", "a:8", "a:9", "a:10", "a:11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: tc.refs})
			wantError(t, "DeleteTaskDefinitions("+tc.name+")", err, "InvalidParameterException", "")
		})
	}
}

// TestRegisterTaskDefinitionEcho registers a definition that uses many
// members and checks that the containers come back exactly as sent, plus
// the defaults AWS fills in.
func TestRegisterTaskDefinitionEcho(t *testing.T) {
	t.Parallel()
	_, c := start(t)

	app := types.ContainerDefinition{
		Name:              aws.String("app"),
		Image:             aws.String("registry.example.com/app@sha256:" + strings.Repeat("ab", 32)),
		Cpu:               256,
		Memory:            aws.Int32(512),
		MemoryReservation: aws.Int32(256),
		EntryPoint:        []string{"/bin/app"},
		Command:           []string{"--listen", ":8080"},
		WorkingDirectory:  aws.String("/srv"),
		User:              aws.String("1000:1000"),
		Environment:       []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}, {Name: aws.String("B"), Value: aws.String("")}},
		Secrets:           []types.Secret{{Name: aws.String("DB"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:" + account + ":parameter/db")}},
		PortMappings: []types.PortMapping{
			{ContainerPort: aws.Int32(8080)},
			{ContainerPort: aws.Int32(53), HostPort: aws.Int32(5353), Protocol: types.TransportProtocolUdp},
		},
		MountPoints:            []types.MountPoint{{SourceVolume: aws.String("data"), ContainerPath: aws.String("/data"), ReadOnly: aws.Bool(true)}},
		DependsOn:              []types.ContainerDependency{{ContainerName: aws.String("init"), Condition: types.ContainerConditionSuccess}},
		StopTimeout:            aws.Int32(20),
		DockerLabels:           map[string]string{"com.example.team": "web"},
		Ulimits:                []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 1024, HardLimit: 4096}},
		LogConfiguration:       &types.LogConfiguration{LogDriver: types.LogDriverJsonFile, Options: map[string]string{"max-size": "10m"}},
		HealthCheck:            &types.HealthCheck{Command: []string{"CMD", "/bin/app", "health"}, Retries: aws.Int32(5)},
		ReadonlyRootFilesystem: aws.Bool(true),
	}
	initC := types.ContainerDefinition{
		Name:      aws.String("init"),
		Image:     aws.String("busybox"),
		Memory:    aws.Int32(32),
		Essential: aws.Bool(false),
		Command:   []string{"true"},
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("rich"),
		NetworkMode:          types.NetworkModeBridge,
		TaskRoleArn:          aws.String("arn:aws:iam::" + account + ":role/task"),
		ContainerDefinitions: []types.ContainerDefinition{app, initC},
		Volumes:              []types.Volume{{Name: aws.String("data"), Host: &types.HostVolumeProperties{SourcePath: aws.String("/var/data")}}},
		PlacementConstraints: []types.TaskDefinitionPlacementConstraint{{Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.os-type == linux")}},
		Tags:                 tags("team", "web"),
	}
	td := register(t, c, in)

	wantApp := app
	wantApp.Essential = aws.Bool(true)
	wantApp.PortMappings = []types.PortMapping{
		{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0), Protocol: types.TransportProtocolTcp},
		{ContainerPort: aws.Int32(53), HostPort: aws.Int32(5353), Protocol: types.TransportProtocolUdp},
	}
	wantApp.VolumesFrom = []types.VolumeFrom{}
	wantApp.SystemControls = []types.SystemControl{}
	wantApp.HealthCheck = &types.HealthCheck{Command: app.HealthCheck.Command, Retries: aws.Int32(5), Interval: aws.Int32(30), Timeout: aws.Int32(5)}
	wantInit := initC
	wantInit.PortMappings = []types.PortMapping{}
	wantInit.Environment = []types.KeyValuePair{}
	wantInit.MountPoints = []types.MountPoint{}
	wantInit.VolumesFrom = []types.VolumeFrom{}
	wantInit.SystemControls = []types.SystemControl{}

	if len(td.ContainerDefinitions) != 2 {
		t.Fatalf("RegisterTaskDefinition(rich) = %d containers; want 2", len(td.ContainerDefinitions))
	}
	for i, want := range []types.ContainerDefinition{wantApp, wantInit} {
		if got := td.ContainerDefinitions[i]; !reflect.DeepEqual(got, want) {
			t.Errorf("RegisterTaskDefinition(rich).containerDefinitions[%d] =\n%+v\nwant\n%+v", i, got, want)
		}
	}
	if !reflect.DeepEqual(td.Volumes, in.Volumes) || !reflect.DeepEqual(td.PlacementConstraints, in.PlacementConstraints) {
		t.Errorf("RegisterTaskDefinition(rich) volumes %+v, placementConstraints %+v; want %+v, %+v", td.Volumes, td.PlacementConstraints, in.Volumes, in.PlacementConstraints)
	}
	if td.NetworkMode != types.NetworkModeBridge || aws.ToString(td.TaskRoleArn) != aws.ToString(in.TaskRoleArn) || td.Cpu != nil || td.Memory != nil {
		t.Errorf("RegisterTaskDefinition(rich) networkMode %s taskRoleArn %s cpu %v memory %v; want bridge, the role, no task size",
			td.NetworkMode, aws.ToString(td.TaskRoleArn), td.Cpu, td.Memory)
	}
	if slices.Contains(td.Compatibilities, types.CompatibilityFargate) || !slices.Contains(td.Compatibilities, types.CompatibilityEc2) {
		t.Errorf("RegisterTaskDefinition(rich).compatibilities = %v; want EC2 and not FARGATE", td.Compatibilities)
	}
	if td.EnableFaultInjection == nil || *td.EnableFaultInjection {
		t.Errorf("RegisterTaskDefinition(rich).enableFaultInjection = %v; want false", td.EnableFaultInjection)
	}
}
