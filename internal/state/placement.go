package state

import (
	"maps"
	"slices"
	"strconv"

	"github.com/berthhq/berth/internal/placement"
)

// PlacementCandidate is what package placement sees of container instance
// i, given the tasks placed on it (in any status) and whether its agent is
// connected: its free resources and ports, its task groups and what the
// cluster query language sees of it. It depends on its arguments only.
func PlacementCandidate(i *ContainerInstance, tasks []*Task, connected bool) placement.Candidate {
	return withTasks(instanceCandidate(i, connected), tasks)
}

// instanceCandidate is the part of i's candidate that does not depend on its
// tasks.
func instanceCandidate(i *ContainerInstance, connected bool) placement.Candidate {
	c := placement.Candidate{
		Key: i.ID, ARN: i.ARN, Eligible: i.Status == InstanceActive && connected,
		CPU: i.Integer("CPU"), Memory: i.Integer("MEMORY"),
		PortsTCP: map[int32]bool{}, PortsUDP: map[int32]bool{}, Groups: map[string]int{},
		Query: &placement.Instance{
			EC2InstanceID: i.EC2InstanceID, AgentConnected: connected, AgentVersion: i.VersionInfo.AgentVersion,
			RegisteredAt: i.RegisteredAt, Attributes: make(map[string]string, len(i.Attributes)),
		},
	}
	for _, at := range i.Attributes {
		c.Query.Attributes[at.Name] = at.Value
	}
	// Ports the instance reserved for itself when it registered.
	for _, r := range i.RegisteredResources {
		var dst map[int32]bool
		switch r.Name {
		case "PORTS":
			dst = c.PortsTCP
		case "PORTS_UDP":
			dst = c.PortsUDP
		default:
			continue
		}
		for _, v := range r.StringSetValue {
			if p, err := strconv.ParseInt(v, 10, 32); err == nil {
				dst[int32(p)] = true
			}
		}
	}
	return c
}

// withTasks is base with the active tasks among tasks added. Without any,
// it is base itself, maps and all; otherwise base is left unchanged.
func withTasks(base placement.Candidate, tasks []*Task) placement.Candidate {
	if !slices.ContainsFunc(tasks, (*Task).Active) {
		return base
	}
	c := base
	c.PortsTCP, c.PortsUDP = maps.Clone(base.PortsTCP), maps.Clone(base.PortsUDP)
	c.Groups = map[string]int{}
	q := *base.Query
	c.Query = &q
	for _, t := range tasks {
		if !t.Active() {
			continue
		}
		c.UsedCPU += t.CPU
		c.UsedMemory += t.Memory
		for _, p := range t.PortsTCP {
			c.PortsTCP[p] = true
		}
		for _, p := range t.PortsUDP {
			c.PortsUDP[p] = true
		}
		if c.Groups[t.Group] == 0 {
			c.Query.TaskGroups = append(c.Query.TaskGroups, t.Group)
		}
		c.Groups[t.Group]++
		if t.LastStatus == TaskRunning {
			c.Query.RunningTasksCount++
		}
	}
	// Candidates are shared (see Candidates): an append must not write
	// into this slice's array.
	c.Query.TaskGroups = slices.Clip(c.Query.TaskGroups)
	return c
}
