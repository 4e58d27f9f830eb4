package ecs_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/testcluster"
)

// placementCluster starts three fake agents, in us-east-1a, b and c, each
// with 2048 CPU units and 8192 MiB, and registers "web" (64 MiB, a dynamic
// port). It returns the client and the instance ARNs in agent order.
func placementCluster(t *testing.T) (*ecs.Client, []string) {
	t.Helper()
	tc := testcluster.Start(t, testcluster.WithFakeAgents(3, nil))
	c := tc.ECS()
	register(t, c, appDef("web", 64, "-listen", ":8080"))
	var arns []string
	for _, a := range tc.Agents {
		arns = append(arns, a.Agent.InstanceARN())
	}
	return c, arns
}

// runTask runs tasks and fails the test on error.
func runTask(t *testing.T, c *ecs.Client, in *ecs.RunTaskInput) *ecs.RunTaskOutput {
	t.Helper()
	out, err := c.RunTask(ctx, in)
	if err != nil {
		t.Fatalf("RunTask = %v", err)
	}
	return out
}

// instancesOf lists the instance of each task.
func instancesOf(tasks []types.Task) []string {
	var out []string
	for _, tk := range tasks {
		out = append(out, aws.ToString(tk.ContainerInstanceArn))
	}
	return out
}

func distinct(s []string) int {
	s = slices.Clone(s)
	slices.Sort(s)
	return len(slices.Compact(s))
}

func TestRunTaskPlacementStrategies(t *testing.T) {
	t.Parallel()
	c, arns := placementCluster(t)

	// binpack on memory fills one instance first.
	out := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(3), Group: aws.String("packed"),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
	if got := instancesOf(out.Tasks); len(got) != 3 || distinct(got) != 1 || len(out.Failures) != 0 {
		t.Errorf("RunTask(binpack memory, 3) on %v, failures %v; want 3 tasks on one instance", got, failures(out.Failures))
	}
	packed := aws.ToString(out.Tasks[0].ContainerInstanceArn)

	// binpack again picks the instance with the least memory left.
	out = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(2),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("MEMORY")}}})
	if got := instancesOf(out.Tasks); len(got) != 2 || got[0] != packed || got[1] != packed {
		t.Errorf("second RunTask(binpack memory) on %v; want both on %s", got, packed)
	}

	// spread across instances puts one task of the group on each.
	out = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(3), Group: aws.String("spread"),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}})
	if got := instancesOf(out.Tasks); len(got) != 3 || distinct(got) != 3 {
		t.Errorf("RunTask(spread instanceId, 3) on %v; want one task on each instance", got)
	}

	// The default strategy spreads across availability zones, one
	// instance in each here.
	out = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(6), Group: aws.String("default")})
	counts := map[string]int{}
	for _, a := range instancesOf(out.Tasks) {
		counts[a]++
	}
	for _, a := range arns {
		if counts[a] != 2 {
			t.Errorf("RunTask(default strategy, 6) placed %v; want 2 on each instance", counts)
			break
		}
	}
}

func TestRunTaskPlacementConstraints(t *testing.T) {
	t.Parallel()
	c, arns := placementCluster(t)
	if _, err := c.PutAttributes(ctx, &ecs.PutAttributesInput{Attributes: []types.Attribute{
		{Name: aws.String("stack"), Value: aws.String("prod"), TargetId: aws.String(arns[1])},
	}}); err != nil {
		t.Fatal(err)
	}

	// distinctInstance: one task of the group per instance, the fourth fails.
	out := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(4), Group: aws.String("one-each"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}})
	if got := instancesOf(out.Tasks); len(got) != 3 || distinct(got) != 3 || len(out.Failures) != 1 ||
		aws.ToString(out.Failures[0].Reason) != "ATTRIBUTE" || !slices.Contains(arns, aws.ToString(out.Failures[0].Arn)) {
		t.Errorf("RunTask(distinctInstance, 4) on %v, failures %v; want 3 distinct instances and one ATTRIBUTE failure naming an instance", got, failures(out.Failures))
	}
	// A second call sees the group's tasks already placed.
	out = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Group: aws.String("one-each"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}})
	if len(out.Tasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "ATTRIBUTE" {
		t.Errorf("RunTask(distinctInstance) with the group everywhere = %d tasks, failures %v; want one ATTRIBUTE failure", len(out.Tasks), failures(out.Failures))
	}

	for _, tc := range []struct {
		name, expr string
		want       string // the instance every task must land on
	}{
		{"custom attribute", "attribute:stack == prod", arns[1]},
		{"availability zone", "attribute:ecs.availability-zone == us-east-1c", arns[2]},
		{"not in zones", "attribute:ecs.availability-zone not_in [us-east-1b, us-east-1c]", arns[0]},
		{"task group", "task:group == one-each and attribute:stack exists", arns[1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(3),
				PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String(tc.expr)}}})
			got := instancesOf(out.Tasks)
			if len(got) != 3 || distinct(got) != 1 || got[0] != tc.want || len(out.Failures) != 0 {
				t.Errorf("RunTask(memberOf %q, 3) on %v, failures %v; want all on %s", tc.expr, got, failures(out.Failures), tc.want)
			}
		})
	}

	// No instance is a member: every task fails with ATTRIBUTE.
	out = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(2),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:stack == test")}}})
	if len(out.Tasks) != 0 || len(out.Failures) != 2 || aws.ToString(out.Failures[0].Reason) != "ATTRIBUTE" {
		t.Errorf("RunTask(memberOf nothing, 2) = %d tasks, failures %v; want 2 ATTRIBUTE failures", len(out.Tasks), failures(out.Failures))
	}

	// Requests the placement checks refuse.
	for _, tc := range []struct {
		name string
		in   *ecs.RunTaskInput
	}{
		{"bad expression", &ecs.RunTaskInput{PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:stack ==")}}}},
		{"memberOf without expression", &ecs.RunTaskInput{PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf}}}},
		{"unknown constraint", &ecs.RunTaskInput{PlacementConstraints: []types.PlacementConstraint{{Type: "sameInstance"}}}},
		{"bad binpack field", &ecs.RunTaskInput{PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("disk")}}}},
		{"random with a field", &ecs.RunTaskInput{PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom, Field: aws.String("cpu")}}}},
		{"six strategies", &ecs.RunTaskInput{PlacementStrategy: slices.Repeat([]types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}, 6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.TaskDefinition = aws.String("web")
			_, err := c.RunTask(ctx, tc.in)
			wantError(t, "RunTask("+tc.name+")", err, "InvalidParameterException", "")
		})
	}
}

func TestRunTaskPlacementResources(t *testing.T) {
	t.Parallel()
	c, arns := placementCluster(t)

	// 5000 MiB each: one per instance, then RESOURCE:MEMORY, whatever the
	// strategy asks.
	register(t, c, appDef("big", 5000, "-listen", ":8080"))
	out := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("big"), Count: aws.Int32(4),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
	if got := instancesOf(out.Tasks); len(got) != 3 || distinct(got) != 3 || len(out.Failures) != 1 ||
		aws.ToString(out.Failures[0].Reason) != "RESOURCE:MEMORY" || !slices.Contains(arns, aws.ToString(out.Failures[0].Arn)) {
		t.Errorf("RunTask(5000 MiB, 4) on %v, failures %v; want one per instance and a RESOURCE:MEMORY failure", got, failures(out.Failures))
	}

	// CPU: 1500 units fit once per instance (2048 each).
	cpu := appDef("cpu", 16, "-listen", ":8080")
	cpu.ContainerDefinitions[0].Cpu = 1500
	register(t, c, cpu)
	out = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("cpu"), Count: aws.Int32(4)})
	if len(out.Tasks) != 3 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:CPU" {
		t.Errorf("RunTask(1500 CPU, 4) = %d tasks, failures %v; want 3 and a RESOURCE:CPU failure", len(out.Tasks), failures(out.Failures))
	}

	// A static host port: one per instance, then RESOURCE:PORTS.
	static := appDef("static", 16, "-listen", ":8080")
	static.ContainerDefinitions[0].PortMappings[0].HostPort = aws.Int32(38080)
	register(t, c, static)
	out = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("static"), Count: aws.Int32(4)})
	if got := instancesOf(out.Tasks); len(got) != 3 || distinct(got) != 3 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Errorf("RunTask(static port, 4) on %v, failures %v; want one per instance and a RESOURCE:PORTS failure", got, failures(out.Failures))
	}
}

func TestTaskDefinitionPlacementConstraints(t *testing.T) {
	t.Parallel()
	c, arns := placementCluster(t)
	in := appDef("zoned", 64, "-listen", ":8080")
	in.PlacementConstraints = []types.TaskDefinitionPlacementConstraint{{
		Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.availability-zone == us-east-1b"),
	}}
	register(t, c, in)

	out := runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("zoned"), Count: aws.Int32(2)})
	if got := instancesOf(out.Tasks); len(got) != 2 || got[0] != arns[1] || got[1] != arns[1] {
		t.Errorf("RunTask(zoned, 2) on %v; want both on %s (us-east-1b)", got, arns[1])
	}
	// The request's constraints add to the task definition's.
	out = runTask(t, c, &ecs.RunTaskInput{TaskDefinition: aws.String("zoned"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.availability-zone == us-east-1a")}}})
	if len(out.Tasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "ATTRIBUTE" {
		t.Errorf("RunTask(zoned, memberOf us-east-1a) = %d tasks, failures %v; want an ATTRIBUTE failure", len(out.Tasks), failures(out.Failures))
	}

	// StartTask honours them too, instance by instance.
	st, err := c.StartTask(ctx, &ecs.StartTaskInput{TaskDefinition: aws.String("zoned"), ContainerInstances: []string{arns[0], arns[1], arns[1]}})
	if err != nil {
		t.Fatalf("StartTask = %v", err)
	}
	if got := instancesOf(st.Tasks); len(got) != 2 || got[0] != arns[1] || got[1] != arns[1] || len(st.Failures) != 1 ||
		aws.ToString(st.Failures[0].Arn) != arns[0] || aws.ToString(st.Failures[0].Reason) != "ATTRIBUTE" {
		t.Errorf("StartTask(zoned on a, b, b) = %v, failures %v; want 2 tasks on %s and ATTRIBUTE for %s", got, failures(st.Failures), arns[1], arns[0])
	}

	// StartTask counts the tasks it places in the same call.
	static := appDef("static", 16, "-listen", ":8080")
	static.ContainerDefinitions[0].PortMappings[0].HostPort = aws.Int32(38081)
	register(t, c, static)
	st, err = c.StartTask(ctx, &ecs.StartTaskInput{TaskDefinition: aws.String("static"), ContainerInstances: []string{arns[2], arns[2]}})
	if err != nil || len(st.Tasks) != 1 || len(st.Failures) != 1 || aws.ToString(st.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Errorf("StartTask(static port twice on one instance) = %+v, %v; want 1 task and a RESOURCE:PORTS failure", st, err)
	}
}
