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
