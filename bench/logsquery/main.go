// Command logsquery measures Berth's CloudWatch Logs storage: it ingests
// events into streams through logs.API.Ingest (the agent's path, durable
// on return) and reports events/s, then times FilterLogEvents over all of
// them through the aws-sdk-go-v2 client on loopback — a term that matches
// 0.1 % of the events, a JSON pattern, a time-range slice — each query
// paged to the end, and prints p50/p99 latency. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/logs"
)

const (
	account = "000000000000"
	region  = "us-east-1"
	group   = "/bench/logsquery"
	needle  = "needle_7f3a"
)

type config struct {
	events, streams, batch, reps int
	dir, out, cpuProfile         string
}

func main() {
	var c config
	flag.IntVar(&c.events, "events", 1_000_000, "events to ingest")
	flag.IntVar(&c.streams, "streams", 10, "streams to spread them over (one writer each)")
	flag.IntVar(&c.batch, "batch", 1000, "events per Ingest call")
	flag.IntVar(&c.reps, "reps", 20, "timed repetitions of each query (after one warm-up)")
	flag.StringVar(&c.dir, "dir", "", "data directory (default: a new temporary directory, removed at the end)")
	flag.StringVar(&c.out, "json", "", "write the figures to this JSON file")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the queries to this file")
	flag.Parse()
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

type result struct {
	Machine         string         `json:"machine"`
	Events          int            `json:"events"`
	Streams         int            `json:"streams"`
	Batch           int            `json:"batch"`
	IngestSeconds   float64        `json:"ingest_seconds"`
	EventsPerSecond float64        `json:"events_per_second"`
	DataBytes       int64          `json:"data_bytes"`
	Queries         []queryFigures `json:"queries"`
	PeakRSSMiB      float64        `json:"peak_rss_mib"`
	LoadBefore      string         `json:"loadavg_before"`
	LoadAfter       string         `json:"loadavg_after"`
}

type queryFigures struct {
	Name    string  `json:"name"`
	Pattern string  `json:"pattern,omitempty"`
	Matches int     `json:"matches"`
	Pages   int     `json:"pages"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
	Maxms   float64 `json:"max_ms"`
}

func run(c config) error {
	dir := c.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "logsquery-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	api, err := logs.New(logs.Config{DataDir: dir})
	if err != nil {
		return err
	}
	defer api.Close()

	res := result{Machine: machine(), Events: c.events, Streams: c.streams, Batch: c.batch, LoadBefore: loadavg()}
	fmt.Printf("%s; load average %s\n", res.Machine, res.LoadBefore)
	now := time.Now()
	first := now.Add(-time.Hour).UnixMilli() // the events span the last hour
	span := now.UnixMilli() - first

	fmt.Printf("ingesting %d events into %d streams, %d per Ingest call ...\n", c.events, c.streams, c.batch)
	t0 := time.Now()
	if err := ingest(api, c, first, span); err != nil {
		return err
	}
	res.IngestSeconds = time.Since(t0).Seconds()
	res.EventsPerSecond = float64(c.events) / res.IngestSeconds
	res.DataBytes = dirSize(dir)
	fmt.Printf("ingest: %.2f s, %.0f events/s, %.1f MiB on disk (target 50,000 events/s: %s)\n",
		res.IngestSeconds, res.EventsPerSecond, float64(res.DataBytes)/(1<<20), yesNo(res.EventsPerSecond >= 50_000))

	client, stop, err := serve(api)
	if err != nil {
		return err
	}
	defer stop()
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sliceStart := first + span/2
	for _, q := range []struct {
		name, pattern string
		start, end    *int64
		wantMatches   int
	}{
		{name: "term matching 0.1 %", pattern: needle, wantMatches: c.events / 1000},
		{name: "JSON pattern", pattern: `{ $.status >= 400 && $.latency_ms > 900 }`},
		{name: "time-range slice (1 % of the hour)", start: aws.Int64(sliceStart), end: aws.Int64(sliceStart + span/100)},
	} {
		in := cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: q.start, EndTime: q.end}
		if q.pattern != "" {
			in.FilterPattern = aws.String(q.pattern)
		}
		f := queryFigures{Name: q.name, Pattern: q.pattern}
		var times []time.Duration
		for rep := range c.reps + 1 {
			t := time.Now()
			matches, pages, err := filterAll(client, in)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			if rep == 0 {
				f.Matches, f.Pages = matches, pages
				if q.wantMatches > 0 && matches != q.wantMatches {
					return fmt.Errorf("%s: %d matches; want %d", q.name, matches, q.wantMatches)
				}
				continue // warm-up
			}
			times = append(times, time.Since(t))
		}
		slices.Sort(times)
		f.P50ms, f.P99ms, f.Maxms = ms(pct(times, 50)), ms(pct(times, 99)), ms(times[len(times)-1])
		fmt.Printf("%-36s %6d matches %3d pages  p50 %8.1f ms  p99 %8.1f ms  max %8.1f ms\n", q.name, f.Matches, f.Pages, f.P50ms, f.P99ms, f.Maxms)
		res.Queries = append(res.Queries, f)
	}
	res.PeakRSSMiB, res.LoadAfter = peakRSS(), loadavg()
	fmt.Printf("peak RSS %.0f MiB; load average %s (other work on the machine skews the figures)\n", res.PeakRSSMiB, res.LoadAfter)
	if c.out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(c.out, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ingest writes the events, one goroutine per stream. One event in 1,000
// carries the needle; a third are JSON.
func ingest(api *logs.API, c config, first, span int64) error {
	per := c.events / c.streams
	var wg sync.WaitGroup
	errs := make(chan error, c.streams)
	for s := range c.streams {
		wg.Go(func() {
			stream := fmt.Sprintf("task/%02d", s)
			batch := make([]logs.InputEvent, 0, c.batch)
			for i := range per {
				n := s*per + i // global event number
				ts := first + int64(i)*span/int64(per)
				batch = append(batch, logs.InputEvent{Timestamp: ts, Message: message(n)})
				if len(batch) == c.batch || i == per-1 {
					if err := api.Ingest(context.Background(), account, region, group, stream, batch, true); err != nil {
						errs <- err
						return
					}
					batch = batch[:0]
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return errors.Join(slices.Collect(func(yield func(error) bool) {
		for err := range errs {
			if !yield(err) {
				return
			}
		}
	})...)
}

// message is event n: a plain access-log line, or a JSON one; every
// 1,000th mentions the needle.
func message(n int) string {
	status := []int{200, 200, 200, 201, 204, 301, 404, 500, 503}[n%9]
	latency := (n * 7919) % 1000
	if n%1000 == 500 {
		return fmt.Sprintf("2026-03-01T12:00:00Z WARN request %d hit %s path=/api/v1/items/%d status=%d latency_ms=%d", n, needle, n%977, status, latency)
	}
	if n%3 == 0 {
		return fmt.Sprintf(`{"level":"info","request":%d,"path":"/api/v1/items/%d","status":%d,"latency_ms":%d,"user":{"id":%d}}`, n, n%977, status, latency, n%313)
	}
	return fmt.Sprintf("2026-03-01T12:00:00Z INFO request %d path=/api/v1/items/%d status=%d latency_ms=%d", n, n%977, status, latency)
}

// serve puts the API behind a gateway on loopback and returns an SDK
// client for it.
func serve(api *logs.API) (*cloudwatchlogs.Client, func(), error) {
	gw, err := awsapi.New(awsapi.Config{Auth: awsapi.AuthPermissive, DefaultAccount: account, DefaultRegion: region}, awsapi.Deps{})
	if err != nil {
		return nil, nil, err
	}
	gw.RegisterJSON(api.Service())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	client := cloudwatchlogs.NewFromConfig(aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIABENCHLOGSQUERY01", "bench-secret", ""),
		BaseEndpoint:     aws.String("http://" + ln.Addr().String()),
		HTTPClient:       &http.Client{Transport: hideWriteTo{http.DefaultTransport}},
		RetryMaxAttempts: 1,
	})
	return client, func() { _ = srv.Close() }, nil
}

// hideWriteTo sends request bodies without their WriteTo method, which
// avoids an SDK race that closes a connection under a response being read
// (aws/aws-sdk-go-v2#2737; see internal/testcluster). Retries are off here,
// so it would fail a query rather than hide in a retry.
type hideWriteTo struct{ base http.RoundTripper }

func (h hideWriteTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.base.RoundTrip(r)
}

// filterAll runs a FilterLogEvents query to its last page.
func filterAll(c *cloudwatchlogs.Client, in cloudwatchlogs.FilterLogEventsInput) (matches, pages int, err error) {
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return 0, 0, err
		}
		matches += len(page.Events)
		pages++
	}
	return matches, pages, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(min(i, len(sorted))-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dirSize(dir string) int64 {
	var n int64
	_ = walk(dir, func(size int64) { n += size })
	return n
}

func walk(dir string, fn func(int64)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := dir + string(os.PathSeparator) + e.Name()
		if e.IsDir() {
			if err := walk(path, fn); err != nil {
				return err
			}
			continue
		}
		if fi, err := e.Info(); err == nil {
			fn(fi.Size())
		}
	}
	return nil
}

// peakRSS reads the process's peak resident set size (Linux), in MiB.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// loadavg is the 1, 5 and 15 minute load averages (Linux).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs (GOMAXPROCS %d), %s %s/%s", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
