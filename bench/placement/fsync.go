package main

import (
	"os"
	"slices"
	"time"
)

// fsyncFigures is the disk's write+fsync latency.
type fsyncFigures struct {
	Iterations int     `json:"iterations"`
	Bytes      int     `json:"bytes_per_write"`
	P50us      float64 `json:"p50_us"`
	P90us      float64 `json:"p90_us"`
	P99us      float64 `json:"p99_us"`
	Maxus      float64 `json:"max_us"`
	Meanus     float64 `json:"mean_us"`
}

// measureFsync appends size bytes to a new file in dir and fsyncs it (as
// os.File.Sync does, and raft-wal after each append), n times.
func measureFsync(dir string, n, size int) (fsyncFigures, error) {
	f, err := os.CreateTemp(dir, "fsync-*")
	if err != nil {
		return fsyncFigures{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, size)
	for k := range buf {
		buf[k] = byte(k)
	}
	times := make([]time.Duration, 0, n)
	var sum time.Duration
	for range n {
		t := time.Now()
		if _, err := f.Write(buf); err != nil {
			return fsyncFigures{}, err
		}
		if err := f.Sync(); err != nil {
			return fsyncFigures{}, err
		}
		d := time.Since(t)
		times = append(times, d)
		sum += d
	}
	slices.Sort(times)
	return fsyncFigures{
		Iterations: n, Bytes: size,
		P50us: us(pct(times, 50)), P90us: us(pct(times, 90)), P99us: us(pct(times, 99)),
		Maxus: us(times[len(times)-1]), Meanus: us(sum / time.Duration(n)),
	}, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(min(i, len(sorted))-1, 0)]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
