package ecs_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/server"
	"github.com/berthhq/berth/internal/testcluster"
)

// TestHeartbeatsAreNotWrites: an agent's heartbeats keep its instance
// connected without rewriting the instance (its version stays); a silent
// agent turns disconnected after the grace, and connected again when it is
// back.
func TestHeartbeatsAreNotWrites(t *testing.T) {
	t.Parallel()
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil), testcluster.WithServer(func(c *server.Config) {
		c.AgentGrace = 500 * time.Millisecond
		c.AgentHeartbeat = 50 * time.Millisecond
		c.InstanceLostAfter = time.Minute
	}))
	c := tc.ECS()
	arn := tc.Agents[0].Agent.InstanceARN()
	describe := func() types.ContainerInstance {
		t.Helper()
		out, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{arn}})
		if err != nil || len(out.ContainerInstances) != 1 {
			t.Fatalf("DescribeContainerInstances = %+v, %v", out, err)
		}
		return out.ContainerInstances[0]
	}
	waitFor := func(what string, cond func(types.ContainerInstance) bool) types.ContainerInstance {
		t.Helper()
		var ci types.ContainerInstance
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if ci = describe(); cond(ci) {
				return ci
			}
		}
		t.Fatalf("%s: not within 10s; instance %+v", what, ci)
		return ci
	}
	before := describe()
	time.Sleep(time.Second) // some 20 heartbeats
	after := describe()
	if !after.AgentConnected || after.Version != before.Version {
		t.Errorf("after a second of heartbeats: connected %v, version %d -> %d; want connected, the same version", after.AgentConnected, before.Version, after.Version)
	}

	tc.Agents[0].Stop(t)
	waitFor("agentConnected false after the grace", func(ci types.ContainerInstance) bool { return !ci.AgentConnected })
	tc.Agents[0].Start(t)
	waitFor("agentConnected again", func(ci types.ContainerInstance) bool { return ci.AgentConnected })
}
