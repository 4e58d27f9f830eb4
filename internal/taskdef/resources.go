package taskdef

import (
	"strconv"
	"strings"
)

// Task-level CPU limits in CPU units for EC2-compatible task definitions
// (0.125 to 192 vCPUs, per the current RegisterTaskDefinition reference).
const (
	MinTaskCPU = 128
	MaxTaskCPU = 196608
)

// MinContainerMemoryMiB is the smallest memory (or memoryReservation) Docker
// 20.10+ accepts for a container. ECS does not check it at registration; the
// container fails at create time (CannotCreateContainerError), so the runtime
// is the place to enforce it.
const MinContainerMemoryMiB = 6

// ParseCPU normalises a task-level cpu string to CPU units: "1024" -> 1024,
// "1 vCPU" / "1vcpu" -> 1024, "0.25 vCPU" -> 256. ok is false when s is not a
// positive whole number of units.
func ParseCPU(s string) (units int, ok bool) {
	return parseAmount(s, "vcpu")
}

// ParseMemory normalises a task-level memory string to MiB: "512" -> 512,
// "2 GB" / "2GB" / "2gb" -> 2048, "0.5 GB" -> 512. ok is false when s is not a
// positive whole number of MiB.
func ParseMemory(s string) (mib int, ok bool) {
	return parseAmount(s, "gb")
}

// parseAmount reads either a bare integer or a decimal number followed by
// unit (case-insensitive, optional space), where one unit is 1024 of the base.
func parseAmount(s, unit string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return 0, false
	}
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return 0, false
		}
		return n, true
	}
	lower := strings.ToLower(s)
	num, found := strings.CutSuffix(lower, unit)
	if !found {
		return 0, false
	}
	num = strings.TrimSpace(num)
	n, ok := scaleDecimal(num, 1024)
	if !ok || n <= 0 {
		return 0, false
	}
	return n, true
}

// scaleDecimal returns num*scale for a plain decimal ("2", "0.25", ".5") when
// the product is a whole number, without going through floating point.
func scaleDecimal(num string, scale int) (int, bool) {
	whole, frac, _ := strings.Cut(num, ".")
	if (whole == "" && frac == "") || !isDigitsOrEmpty(whole) || !isDigitsOrEmpty(frac) {
		return 0, false
	}
	frac = strings.TrimRight(frac, "0")
	if len(whole) > 9 || len(frac) > 9 {
		return 0, false
	}
	w := 0
	if whole != "" {
		w, _ = strconv.Atoi(whole)
	}
	result := w * scale
	if frac != "" {
		f, _ := strconv.Atoi(frac)
		den := 1
		for range len(frac) {
			den *= 10
		}
		if f*scale%den != 0 {
			return 0, false
		}
		result += f * scale / den
	}
	return result, true
}

func isDigits(s string) bool {
	return s != "" && isDigitsOrEmpty(s)
}

func isDigitsOrEmpty(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fargateSizes lists the valid task memory sizes (MiB) for each Fargate task
// cpu value (units): ecs.md §10 and the RegisterTaskDefinition reference.
var fargateSizes = map[int]struct{ min, max, step int }{
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// FargatePairValid reports whether (cpu units, memory MiB) is a task size
// Fargate offers.
func FargatePairValid(cpu, memory int) bool {
	if cpu == 256 {
		return memory == 512 || memory == 1024 || memory == 2048
	}
	r, ok := fargateSizes[cpu]
	return ok && memory >= r.min && memory <= r.max && (memory-r.min)%r.step == 0
}
