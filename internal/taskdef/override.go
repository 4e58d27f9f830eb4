package taskdef

// TaskOverride is RunTask's and StartTask's overrides member: per-container
// changes and task-level cpu, memory and roles.
type TaskOverride struct {
	ContainerOverrides []ContainerOverride `json:"containerOverrides,omitzero"`
	CPU                *string             `json:"cpu,omitempty"`
	Memory             *string             `json:"memory,omitempty"`
	TaskRoleARN        *string             `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN   *string             `json:"executionRoleArn,omitempty"`
	EphemeralStorage   *EphemeralStorage   `json:"ephemeralStorage,omitempty"`
}

// ContainerOverride changes one container of a task at run time.
type ContainerOverride struct {
	Name                 *string               `json:"name,omitempty"`
	Command              []string              `json:"command,omitzero"`
	Environment          []KeyValuePair        `json:"environment,omitzero"`
	EnvironmentFiles     []EnvironmentFile     `json:"environmentFiles,omitzero"`
	CPU                  *int32                `json:"cpu,omitempty"`
	Memory               *int32                `json:"memory,omitempty"`
	MemoryReservation    *int32                `json:"memoryReservation,omitempty"`
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitzero"`
}

// Container returns the override for the named container, or nil.
func (o *TaskOverride) Container(name string) *ContainerOverride {
	if o == nil {
		return nil
	}
	for i := range o.ContainerOverrides {
		if c := &o.ContainerOverrides[i]; c.Name != nil && *c.Name == name {
			return c
		}
	}
	return nil
}

// Resources returns a container's cpu units, memory and memoryReservation
// (MiB; nil when unset) with the override for it, if any, applied.
func (c *ContainerDefinition) Resources(o *TaskOverride) (cpu int32, memory, reservation *int32) {
	cpu, memory, reservation = c.CPU, c.Memory, c.MemoryReservation
	if co := o.Container(c.Name); co != nil {
		if co.CPU != nil {
			cpu = *co.CPU
		}
		if co.Memory != nil {
			memory = co.Memory
		}
		if co.MemoryReservation != nil {
			reservation = co.MemoryReservation
		}
	}
	return cpu, memory, reservation
}

// Requirements is what one task of a definition reserves on its instance.
type Requirements struct {
	CPU, Memory        int64   // CPU units, MiB
	PortsTCP, PortsUDP []int32 // static host ports
}

// Requirements returns what a task of d started with overrides o reserves:
// the task-level amounts when given, else the sum of its containers' (a
// container's memoryReservation counting over its memory), and the static
// host ports of its port mappings. ok is false when an override amount does
// not parse.
func (d *TaskDefinition) Requirements(o *TaskOverride) (r Requirements, ok bool) {
	if d.CPU != nil {
		v, _ := ParseCPU(*d.CPU)
		r.CPU = int64(v)
	}
	if o != nil && o.CPU != nil {
		v, good := ParseCPU(*o.CPU)
		if !good {
			return r, false
		}
		r.CPU = int64(v)
	}
	if d.Memory != nil {
		v, _ := ParseMemory(*d.Memory)
		r.Memory = int64(v)
	}
	if o != nil && o.Memory != nil {
		v, good := ParseMemory(*o.Memory)
		if !good {
			return r, false
		}
		r.Memory = int64(v)
	}
	sumCPU, sumMem := int64(0), int64(0)
	for i := range d.ContainerDefinitions {
		cd := &d.ContainerDefinitions[i]
		cpu, mem, res := cd.Resources(o)
		sumCPU += int64(cpu)
		switch {
		case res != nil:
			sumMem += int64(*res)
		case mem != nil:
			sumMem += int64(*mem)
		}
		for _, pm := range cd.PortMappings {
			if pm.ContainerPort == nil {
				continue
			}
			hp := int32(0)
			if pm.HostPort != nil {
				hp = *pm.HostPort
			}
			if d.NetworkMode == "host" {
				hp = *pm.ContainerPort
			}
			if hp == 0 || d.NetworkMode == "none" {
				continue
			}
			if pm.Protocol == "udp" {
				r.PortsUDP = append(r.PortsUDP, hp)
			} else {
				r.PortsTCP = append(r.PortsTCP, hp)
			}
		}
	}
	if r.CPU == 0 {
		r.CPU = sumCPU
	}
	if r.Memory == 0 {
		r.Memory = sumMem
	}
	return r, true
}
