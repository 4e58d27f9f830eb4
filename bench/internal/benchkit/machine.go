package benchkit

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/berthproc"
)

// Machine describes the machine and versions of a run, as performance.md §1
// asks. A benchmark that names the fields differently in its JSON converts
// it to a struct of its own with the same fields.
type Machine struct {
	Date          string `json:"date"`
	NumCPU        int    `json:"nproc"`
	GOMAXPROCS    int    `json:"gomaxprocs"`
	GoVersion     string `json:"go_version"`
	Kernel        string `json:"kernel"`
	OS            string `json:"os"`
	MemTotalMiB   int64  `json:"mem_total_mib"`
	Docker        string `json:"docker_version"`
	DockerAPI     string `json:"docker_api_version"`
	StorageDriver string `json:"storage_driver"`
	CgroupDriver  string `json:"cgroup_driver"`
	CgroupVersion string `json:"cgroup_version"`
	LogDriver     string `json:"log_driver"`
	BerthSource   string `json:"berth_source"`
}

// DescribeMachine asks the engine and the Go runtime; root is the module's
// directory, for the source version. What the engine does not answer stays
// empty.
func DescribeMachine(ctx context.Context, cli *client.Client, root string) Machine {
	m := Machine{Date: time.Now().UTC().Format(time.RFC3339), NumCPU: goruntime.NumCPU(), GOMAXPROCS: goruntime.GOMAXPROCS(0),
		GoVersion: goruntime.Version(), BerthSource: berthproc.SourceVersion(ctx, root)}
	if v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{}); err == nil {
		m.Docker, m.DockerAPI = v.Version, v.APIVersion
	}
	if res, err := cli.Info(ctx, client.InfoOptions{}); err == nil {
		i := res.Info
		m.Kernel, m.OS, m.MemTotalMiB = i.KernelVersion, i.OperatingSystem, i.MemTotal>>20
		m.StorageDriver, m.CgroupDriver, m.CgroupVersion, m.LogDriver = i.Driver, i.CgroupDriver, i.CgroupVersion, i.LoggingDriver
	}
	return m
}

// Settle sleeps for d, so the engine can finish tearing down what the last
// arm made, and returns how busy the machine's CPUs were meanwhile, in
// percent: the benchmark does nothing then, so this is mostly other work on
// the box. -1 when not measured (d ≤ 0, or no /proc/stat).
func Settle(d time.Duration) float64 {
	if d <= 0 {
		return -1
	}
	before, err1 := cpuTimes()
	time.Sleep(d)
	after, err2 := cpuTimes()
	if err1 != nil || err2 != nil || after.total <= before.total {
		return -1
	}
	return 100 * float64(after.busy-before.busy) / float64(after.total-before.total)
}

type jiffies struct{ busy, total uint64 }

// cpuTimes reads the machine-wide CPU counters of /proc/stat.
func cpuTimes() (jiffies, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return jiffies{}, err
	}
	return parseCPULine(string(b))
}

// parseCPULine sums the first ("cpu") line of /proc/stat.
func parseCPULine(stat string) (jiffies, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return jiffies{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var j jiffies
	for i, v := range f[1:] {
		if i >= 8 {
			break // guest time is already counted in user
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return jiffies{}, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		j.total += n
		if i != 3 && i != 4 { // idle, iowait
			j.busy += n
		}
	}
	return j, nil
}
