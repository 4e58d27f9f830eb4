package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/runtime"
)

// Stats takes one sample of a container's resource usage (stream=false,
// one-shot, so no second sample is awaited).
func (d *Docker) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	res, err := d.cli.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return runtime.Stats{}, classify(err, opOther, "stats of container %s", id)
	}
	defer res.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return runtime.Stats{}, fmt.Errorf("stats of container %s: decode: %w", id, err)
	}
	return toStats(s), nil
}

// toStats maps Docker's sample. Memory usage leaves out the inactive page
// cache, as docker stats does (total_inactive_file on cgroup v1,
// inactive_file on v2).
func toStats(s container.StatsResponse) runtime.Stats {
	out := runtime.Stats{
		Time:             s.Read,
		CPUTotalNanos:    s.CPUStats.CPUUsage.TotalUsage,
		SystemCPUNanos:   s.CPUStats.SystemUsage,
		OnlineCPUs:       int(s.CPUStats.OnlineCPUs),
		MemoryUsageBytes: s.MemoryStats.Usage,
		MemoryLimitBytes: s.MemoryStats.Limit,
		PIDs:             s.PidsStats.Current,
	}
	if out.OnlineCPUs == 0 {
		out.OnlineCPUs = len(s.CPUStats.CPUUsage.PercpuUsage)
	}
	cache, ok := s.MemoryStats.Stats["total_inactive_file"]
	if !ok {
		cache = s.MemoryStats.Stats["inactive_file"]
	}
	if cache < out.MemoryUsageBytes {
		out.MemoryUsageBytes -= cache
	}
	for _, n := range s.Networks {
		out.NetworkRxBytes += n.RxBytes
		out.NetworkTxBytes += n.TxBytes
	}
	for _, e := range s.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			out.BlockReadBytes += e.Value
		case "write":
			out.BlockWriteBytes += e.Value
		}
	}
	return out
}
