package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The generator speaks HTTP/1.1 itself over keep-alive connections: a
// fixed request, responses parsed just enough to find their end. It costs a
// few microseconds per request, a fraction of net/http's client, so on a
// small machine the generator takes as little CPU as possible from the
// systems under test (as wrk does). Every arm gets the same generator.

// conn is one keep-alive connection of the generator.
type conn struct {
	addr string
	req  []byte
	c    net.Conn
	r    *bufio.Reader
}

func newConn(addr, host string) *conn {
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: berth-lb-bench\r\nAccept: */*\r\n\r\n"
	return &conn{addr: addr, req: []byte(req)}
}

func (c *conn) close() {
	if c.c != nil {
		_ = c.c.Close()
		c.c = nil
	}
}

// do sends the request and reads the whole response; it returns the status.
func (c *conn) do(timeout time.Duration) (int, error) {
	if c.c == nil {
		nc, err := net.DialTimeout("tcp", c.addr, timeout)
		if err != nil {
			return 0, err
		}
		c.c = nc
		c.r = bufio.NewReaderSize(nc, 16<<10)
	}
	_ = c.c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.c.Write(c.req); err != nil {
		c.close()
		return 0, err
	}
	code, keep, err := readResponse(c.r)
	if err != nil || !keep {
		c.close()
	}
	return code, err
}

// readResponse reads one response: status line, headers, then a body by
// Content-Length or chunked encoding. keep is false when the server will
// close the connection.
func readResponse(r *bufio.Reader) (code int, keep bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	keep = true
	length, chunked := -1, false
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEqualFold(k, "content-length"):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, false, fmt.Errorf("malformed content-length %q", v)
			}
		case asciiEqualFold(k, "transfer-encoding"):
			chunked = asciiEqualFold(v, "chunked")
		case asciiEqualFold(k, "connection"):
			keep = !asciiEqualFold(v, "close")
		}
	}
	switch {
	case chunked:
		for {
			line, err = r.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
			if err != nil {
				return 0, false, fmt.Errorf("malformed chunk size %q", line)
			}
			if _, err := r.Discard(int(n) + 2); err != nil {
				return 0, false, err
			}
			if n == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := r.Discard(length); err != nil {
			return 0, false, err
		}
	default:
		// Body until close.
		_, _ = io.Copy(io.Discard, r)
		keep = false
	}
	return code, keep, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x := b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != s[i] {
			return false
		}
	}
	return true
}

// stepResult is one measured step against one arm.
type stepResult struct {
	Arm         string         `json:"arm"`
	Rep         int            `json:"rep"`
	Mode        string         `json:"mode"` // "rate" (open loop) or "peak" (closed loop)
	TargetRPS   float64        `json:"target_rps,omitempty"`
	Conns       int            `json:"conns"`
	DurationS   float64        `json:"duration_s"`
	Sent        int            `json:"sent"`
	OK          int            `json:"ok"`
	Errors      int            `json:"errors"`
	ErrorKinds  map[string]int `json:"error_kinds,omitempty"`
	AchievedRPS float64        `json:"achieved_rps"`
	Latency     percentiles    `json:"latency_ms"`
	ServerCPU   float64        `json:"server_cpu_cores"` // the system under test, excluding backends
	ServerCPUus float64        `json:"server_cpu_us_per_request"`
	BackendCPU  float64        `json:"backend_cpu_cores"`
	MachineCPU  float64        `json:"machine_cpu_cores"` // every process and the kernel, generator included
	GenCPU      float64        `json:"generator_cpu_cores"`
	// OtherCPU is what the machine did beside the proxy, the backends and
	// the generator: other tenants' load.
	OtherCPU  float64 `json:"other_cpu_cores"`
	Disturbed bool    `json:"disturbed,omitempty"` // other load above -max-other-load
	Discarded bool    `json:"discarded,omitempty"` // rerun; summaries skip it
}

type percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

func percentilesOf(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(d)))) - 1
		i = min(max(i, 0), len(d)-1)
		return ms(d[i])
	}
	return percentiles{P50: q(0.50), P90: q(0.90), P99: q(0.99), P999: q(0.999), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// errKinds collects error counts by kind.
type errKinds struct {
	mu sync.Mutex
	m  map[string]int
}

func (e *errKinds) add(err error, code int) {
	kind := "HTTP " + strconv.Itoa(code)
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			kind = "timeout"
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			kind = "closed"
		default:
			kind = "transport"
		}
	}
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int{}
	}
	e.m[kind]++
	e.mu.Unlock()
}

// openLoop sends requests to addr at a constant rate: warmup unrecorded,
// then dur measured. Send times are fixed in advance and latency runs from
// each scheduled time, so a system that falls behind is charged for the
// queueing (no coordinated omission). conns workers each own one
// keep-alive connection and take requests in schedule order.
func openLoop(ctx context.Context, addr string, rate float64, warmup, dur time.Duration, conns int, timeout time.Duration) stepResult {
	interval := float64(time.Second) / rate
	nWarm := int(rate * warmup.Seconds())
	nMeas := int(rate * dur.Seconds())
	lat := make([]time.Duration, nMeas) // -1: failed
	done := make([]int64, nMeas)
	var ek errKinds
	queue := make(chan int, 1<<16)
	start := time.Now().Add(10 * time.Millisecond)
	due := func(i int) time.Time { return start.Add(time.Duration(float64(i) * interval)) }

	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			c := newConn(addr, "bench.local")
			defer c.close()
			for i := range queue {
				j := i - nWarm
				d := due(i)
				if time.Since(d) > timeout {
					if j >= 0 {
						lat[j] = -1
						ek.add(context.DeadlineExceeded, 0)
					}
					continue
				}
				code, err := c.do(timeout)
				end := time.Now()
				if j < 0 {
					continue
				}
				done[j] = int64(end.Sub(start))
				if err != nil || code != 200 {
					lat[j] = -1
					ek.add(err, code)
					continue
				}
				lat[j] = end.Sub(d)
			}
		})
	}
	// The pacer wakes about every 200 µs and queues whatever is due.
	total := nWarm + nMeas
	dropped := 0
	for i := 0; i < total && ctx.Err() == nil; {
		now := time.Now()
		for ; i < total && !due(i).After(now); i++ {
			select {
			case queue <- i:
			default:
				if j := i - nWarm; j >= 0 {
					lat[j] = -1
					dropped++
				}
			}
		}
		if i < total {
			time.Sleep(min(time.Until(due(i)), 200*time.Microsecond))
		}
	}
	close(queue)
	wg.Wait()

	r := stepResult{Mode: "rate", TargetRPS: rate, Conns: conns, DurationS: dur.Seconds(), Sent: nMeas}
	if dropped > 0 {
		ek.mu.Lock()
		if ek.m == nil {
			ek.m = map[string]int{}
		}
		ek.m["dropped: generator queue full"] += dropped
		ek.mu.Unlock()
	}
	ok := make([]time.Duration, 0, nMeas)
	var last int64
	for j, l := range lat {
		if l < 0 {
			continue
		}
		ok = append(ok, l)
		last = max(last, done[j])
	}
	r.OK = len(ok)
	r.Errors = nMeas - r.OK
	r.ErrorKinds = ek.m
	measStart := time.Duration(float64(nWarm) * interval)
	if span := time.Duration(last) - measStart; span > 0 && r.OK > 0 {
		r.AchievedRPS = float64(r.OK) / span.Seconds()
	}
	r.Latency = percentilesOf(ok)
	return r
}

// peak drives addr as hard as conns back-to-back connections can (closed
// loop, like wrk): the system's peak throughput. Its latencies are not
// comparable across systems at different throughput.
func peak(ctx context.Context, addr string, warmup, dur time.Duration, conns int, timeout time.Duration) stepResult {
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		mu        sync.Mutex
		all       []time.Duration
		errs      atomic.Int64
		ek        errKinds
	)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			c := newConn(addr, "bench.local")
			defer c.close()
			local := make([]time.Duration, 0, 1<<14)
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				code, err := c.do(timeout)
				if !measuring.Load() {
					continue
				}
				if err != nil || code != 200 {
					errs.Add(1)
					ek.add(err, code)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		})
	}
	sleepCtx(ctx, warmup)
	measuring.Store(true)
	t0 := time.Now()
	sleepCtx(ctx, dur)
	measuring.Store(false)
	elapsed := time.Since(t0)
	stop.Store(true)
	wg.Wait()
	r := stepResult{Mode: "peak", Conns: conns, DurationS: dur.Seconds(), OK: len(all), Errors: int(errs.Load()), ErrorKinds: ek.m}
	r.Sent = r.OK + r.Errors
	r.AchievedRPS = float64(r.OK) / elapsed.Seconds()
	r.Latency = percentilesOf(all)
	return r
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
