package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
	"github.com/berthhq/berth/internal/taskdef"
)

const (
	account     = "000000000000"
	region      = "us-east-1"
	clusterName = "bench"

	nodeCPU    = 4096 // CPU units
	nodeMemory = 8192 // MiB
)

var (
	zones         = []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	instanceTypes = []string{"m5.large", "m5.xlarge", "c5.xlarge", "r5.large", "t3.xlarge"} // m5.* is 2 of 5
	racks         = []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"}

	// What the agent registers besides the zone and the instance type
	// (internal/agent's attribute list, abridged).
	agentCapabilities = []string{
		"com.amazonaws.ecs.capability.docker-remote-api.1.17",
		"com.amazonaws.ecs.capability.docker-remote-api.1.18",
		"com.amazonaws.ecs.capability.docker-remote-api.1.19",
		"com.amazonaws.ecs.capability.docker-remote-api.1.21",
		"com.amazonaws.ecs.capability.docker-remote-api.1.24",
		"com.amazonaws.ecs.capability.docker-remote-api.1.25",
		"com.amazonaws.ecs.capability.docker-remote-api.1.28",
		"com.amazonaws.ecs.capability.docker-remote-api.1.29",
		"com.amazonaws.ecs.capability.logging-driver.json-file",
		"com.amazonaws.ecs.capability.logging-driver.none",
		"ecs.capability.container-health-check",
		"ecs.capability.container-ordering",
	}
)

// Task classes of the mix (performance.md §3 (a)).
const (
	classSpread  = iota // 50 %: spread(attribute:ecs.availability-zone), then spread(instanceId)
	classBinpack        // 30 %: binpack(memory)
	classRandom         // 10 %: random
	classMember         // 10 %: memberOf(attribute:ecs.instance-type =~ m5.*) + distinctInstance (default strategies)
	nClasses
)

var classNames = [nClasses]string{"spread(az),spread(instanceId)", "binpack(memory)", "random", "memberOf(m5.*)+distinctInstance"}

// classOf gives groups their class in the mix's proportions: of every 10
// groups, 5 spread, 3 binpack, 1 random, 1 memberOf.
func classOf(group int) int {
	switch g := group % 10; {
	case g < 5:
		return classSpread
	case g < 8:
		return classBinpack
	case g < 9:
		return classRandom
	}
	return classMember
}

// instances makes n container instances as the agent API registers them:
// 4,096 CPU units, 8 GiB, the default reserved ports, the agent's
// attributes with a zone from 3 and an instance type from 5, and a custom
// "rack" attribute.
func instances(n int, seed uint64) []*state.ContainerInstance {
	rnd := rand.New(rand.NewPCG(seed, 1))
	var ports []string
	for _, p := range agentapi.DefaultReservedPorts {
		ports = append(ports, fmt.Sprint(p))
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	out := make([]*state.ContainerInstance, n)
	for k := range out {
		id := fmt.Sprintf("%032x", rnd.Uint64()) // random like the real ids, so Key order is not registration order
		inst := &state.ContainerInstance{
			Account: account, Region: region, Cluster: clusterName, InstanceID: id,
			ARN:           fmt.Sprintf("arn:aws:ecs:%s:%s:container-instance/%s/%s", region, account, clusterName, id),
			EC2InstanceID: fmt.Sprintf("i-%017x", rnd.Uint64()>>4),
			Status:        state.InstanceActive,
			RegisteredResources: []state.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: nodeCPU},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: nodeMemory},
				{Name: "PORTS", Type: "STRINGSET", StringSetValue: ports},
				{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
			},
			Attributes: []state.Attribute{
				{Name: "ecs.os-type", Value: "linux"},
				{Name: "ecs.os-family", Value: "LINUX"},
				{Name: "ecs.cpu-architecture", Value: "x86_64"},
				{Name: "ecs.availability-zone", Value: zones[rnd.IntN(len(zones))]},
				{Name: "ecs.instance-type", Value: instanceTypes[rnd.IntN(len(instanceTypes))]},
				{Name: "rack", Value: racks[rnd.IntN(len(racks))]},
			},
			VersionInfo:  state.VersionInfo{AgentVersion: "0.1.0", AgentHash: "berth", DockerVersion: "DockerVersion: 28.2.2"},
			RegisteredAt: now, LastHeartbeat: now,
		}
		for _, c := range agentCapabilities {
			inst.Attributes = append(inst.Attributes, state.Attribute{Name: c})
		}
		inst.ID = state.Key(account, region, clusterName, id)
		out[k] = inst
	}
	return out
}

// request is one RunTask-like call: count tasks of one group.
type request struct {
	class int
	spec  *state.TaskSpec
	req   placement.Request
}

// workload makes the m tasks as calls of batch tasks each: groups of
// groupSize tasks (family:app-NNN), each group of one class, sizes
// 128–384 CPU units and 256–768 MiB; the calls of all groups are shuffled,
// so groups interleave as independent clients' calls would.
func workload(cluster *state.Cluster, m, batch, groupSize int, seed uint64) []request {
	rnd := rand.New(rand.NewPCG(seed, 2))
	var out []request
	for g := 0; g*groupSize < m; g++ {
		class := classOf(g)
		size := min(groupSize, m-g*groupSize)
		cpu := int64(128 * (1 + g%3))
		mem := int64(256 * (1 + (g/3)%3))
		family := fmt.Sprintf("app-%04d", g)
		def := &state.TaskDefinition{
			Account: account, Region: region, Family: family, Revision: 1, Status: state.TaskDefActive,
			ARN: fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:1", region, account, family),
			Body: &taskdef.TaskDefinition{Family: family, ContainerDefinitions: []taskdef.ContainerDefinition{{
				Name: "app", Image: "bench/app:1", CPU: int32(cpu), MemoryReservation: ptr(int32(mem)),
				PortMappings: []taskdef.PortMapping{{ContainerPort: ptr(int32(8080))}}, // dynamic host port: reserves none
			}}},
		}
		req, _ := def.Body.Requirements(nil)
		spec := &state.TaskSpec{Cluster: cluster, Def: def, Req: req, Group: "family:" + family, StartedBy: "bench", CreatedAt: time.Now().UTC()}
		base := placement.Request{CPU: req.CPU, Memory: req.Memory, PortsTCP: req.PortsTCP, PortsUDP: req.PortsUDP, Group: spec.Group}
		switch class {
		case classSpread:
			base.Strategies = placement.DefaultStrategies
		case classBinpack:
			base.Strategies = []placement.Strategy{{Type: placement.Binpack, Field: "memory"}}
		case classRandom:
			base.Strategies = []placement.Strategy{{Type: placement.Random}}
		case classMember:
			base.Constraints = []placement.Constraint{
				{Type: placement.MemberOf, Expression: "attribute:ecs.instance-type =~ m5.*"},
				{Type: placement.DistinctInstance},
			}
			base.Strategies = placement.DefaultStrategies // RunTask's default when none is given
		}
		for left := size; left > 0; left -= batch {
			r := base
			r.Count = min(batch, left)
			out = append(out, request{class: class, spec: spec, req: r})
		}
	}
	rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func newCluster() *state.Cluster {
	return &state.Cluster{
		Account: account, Region: region, Name: clusterName, Status: "ACTIVE",
		ARN:      fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", region, account, clusterName),
		Settings: []state.Setting{{Name: "containerInsights", Value: "disabled"}},
	}
}

func ptr[T any](v T) *T { return &v }
