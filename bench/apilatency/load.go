package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	region       = "us-east-1"
	signingName  = "ecs"
	targetHeader = "AmazonEC2ContainerServiceV20141113.DescribeClusters"
)

// endpoint is one system under test.
type endpoint struct {
	name string // "berth" or "baseline"
	url  string // http://127.0.0.1:port/
	pid  string // for CPU accounting
}

// loadConfig is what every step of the generator shares.
type loadConfig struct {
	creds       aws.Credentials
	bodies      [][]byte // request bodies, used round robin
	conns       int      // keep-alive connections per endpoint
	timeout     time.Duration
	maxInFlight int64
}

// stepResult is one measured step against one endpoint.
type stepResult struct {
	System      string         `json:"system"`
	Rep         int            `json:"rep"`
	Order       int            `json:"order"` // 0 = ran first in its pair
	TargetRPS   float64        `json:"target_rps"`
	DurationS   float64        `json:"duration_s"`
	Scheduled   int            `json:"scheduled"`
	OK          int            `json:"ok"`
	Errors      int            `json:"errors"`
	ErrorKinds  map[string]int `json:"error_kinds,omitempty"`
	ErrorSample string         `json:"error_sample,omitempty"`
	AchievedRPS float64        `json:"achieved_rps"`
	Latency     percentiles    `json:"latency_ms"`
	// PacerLag is how late the generator queued requests: high means the
	// generator itself could not keep the schedule.
	PacerLag percentiles `json:"pacer_lag_ms"`
	// SendLag is scheduled time -> signed and handed to the transport; above
	// PacerLag it is time waiting for a free connection, i.e. for the server.
	SendLag    percentiles     `json:"send_lag_ms"`
	RespBytes  int64           `json:"response_bytes"`
	ServerCPU  float64         `json:"server_cpu_cores"`
	GenCPU     float64         `json:"generator_cpu_cores"`
	MachineCPU float64         `json:"machine_cpu_cores"`  // every process and the kernel
	CPUBusy    map[int]float64 `json:"cpu_busy,omitempty"` // per CPU, 1 = fully busy
	// Disturbed: other load above -max-other-load during the step.
	// Discarded: the pair was run again; summaries skip this result.
	Disturbed bool `json:"disturbed,omitempty"`
	Discarded bool `json:"discarded,omitempty"`
}

// runStep sends signed DescribeClusters to ep at a constant rate: warmup
// unrecorded, then dur measured. Send times are fixed in advance (open
// loop) and latency runs from the scheduled time, so time a request spends
// waiting because the generator or a connection is busy counts against the
// server rather than disappearing (coordinated omission).
func runStep(ctx context.Context, lc loadConfig, ep endpoint, rate float64, warmup, dur time.Duration) (stepResult, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        lc.conns,
		MaxIdleConnsPerHost: lc.conns,
		MaxConnsPerHost:     lc.conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: lc.timeout}
	signer := v4.NewSigner()

	interval := float64(time.Second) / rate
	nWarm := int(rate * warmup.Seconds())
	nMeas := int(rate * dur.Seconds())
	lat := make([]time.Duration, nMeas)   // -1: failed
	lag := make([]time.Duration, nMeas)   // scheduled -> handed to the transport
	pacer := make([]time.Duration, nMeas) // scheduled -> queued
	done := make([]int64, nMeas)          // completion, ns after start
	var (
		respBytes atomic.Int64
		errMu     sync.Mutex
		errKinds  = map[string]int{}
		errSample string
	)
	fail := func(j int, kind, detail string) {
		if j < 0 {
			return // warm-up
		}
		lat[j] = -1
		errMu.Lock()
		errKinds[kind]++
		if errSample == "" {
			errSample = detail
		}
		errMu.Unlock()
	}

	// A fixed pool of workers, one per connection, takes requests off a
	// queue in schedule order. The pool bounds the generator's own cost (a
	// goroutine per request piles up and feeds the garbage collector exactly
	// when the server falls behind); time spent waiting in the queue still
	// counts, as latency runs from the scheduled time.
	type job struct {
		i   int
		due time.Time
	}
	queue := make(chan job, lc.maxInFlight)
	start := time.Now().Add(5 * time.Millisecond)
	do := func(jb job) {
		i, due := jb.i, jb.due
		j := i - nWarm // < 0 during warm-up
		if time.Since(due) > lc.timeout {
			// Queued past the timeout: a client would have given up.
			fail(j, "timeout", "queued longer than the request timeout")
			return
		}
		body := lc.bodies[i%len(lc.bodies)]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
		if err != nil {
			fail(j, "request", err.Error())
			return
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", targetHeader)
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(ctx, lc.creds, req, hex.EncodeToString(sum[:]), signingName, region, time.Now()); err != nil {
			fail(j, "sign", err.Error())
			return
		}
		sent := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			fail(j, transportKind(err), err.Error())
			return
		}
		n, rerr := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		end := time.Now()
		if j < 0 {
			return
		}
		lag[j] = sent.Sub(due)
		done[j] = int64(end.Sub(start))
		switch {
		case rerr != nil:
			fail(j, transportKind(rerr), rerr.Error())
		case resp.StatusCode != http.StatusOK:
			fail(j, "HTTP "+strconv.Itoa(resp.StatusCode), resp.Status+" "+resp.Header.Get("X-Amzn-Errortype"))
		default:
			lat[j] = end.Sub(due)
			respBytes.Store(n)
		}
	}
	var wg sync.WaitGroup
	for range lc.conns {
		wg.Go(func() {
			for jb := range queue {
				do(jb)
			}
		})
	}

	var c0, c1 cpuSample
	self := strconv.Itoa(os.Getpid())
	for i := range nWarm + nMeas {
		if i == nWarm {
			c0 = sampleCPU(ep.pid, self)
		}
		due := start.Add(time.Duration(float64(i) * interval))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			break
		}
		if j := i - nWarm; j >= 0 {
			pacer[j] = time.Since(due)
		}
		select {
		case queue <- job{i, due}:
		default:
			fail(i-nWarm, "dropped: queue full", fmt.Sprintf("more than %d requests waiting or in flight", lc.maxInFlight))
		}
	}
	c1 = sampleCPU(ep.pid, self)
	close(queue)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return stepResult{}, err
	}

	r := stepResult{
		System: ep.name, TargetRPS: rate, DurationS: dur.Seconds(), Scheduled: nMeas,
		ErrorKinds: errKinds, ErrorSample: errSample, RespBytes: respBytes.Load(),
	}
	r.ServerCPU, r.GenCPU, r.MachineCPU, r.CPUBusy = c1.since(c0)
	ok := make([]time.Duration, 0, nMeas)
	okLag := make([]time.Duration, 0, nMeas)
	var last int64
	for j, l := range lat {
		if l < 0 {
			continue
		}
		ok = append(ok, l)
		okLag = append(okLag, lag[j])
		last = max(last, done[j])
	}
	r.OK = len(ok)
	r.Errors = nMeas - r.OK
	// Achieved rate: answers that came back OK over the time from the first
	// measured send to the last measured answer. A server that falls behind
	// stretches that time, so it cannot score its target by queueing.
	measStart := time.Duration(float64(nWarm) * interval)
	if span := time.Duration(last) - measStart; span > 0 && r.OK > 0 {
		r.AchievedRPS = float64(r.OK) / span.Seconds()
	}
	r.Latency = percentilesOf(ok)
	r.SendLag = percentilesOf(okLag)
	r.PacerLag = percentilesOf(pacer)
	return r, nil
}

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport"
}

// percentiles of one step, in milliseconds.
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
		// Nearest rank: the smallest value with at least p of the samples at
		// or below it.
		i := int(math.Ceil(p*float64(len(d)))) - 1
		i = min(max(i, 0), len(d)-1)
		return ms(d[i])
	}
	return percentiles{P50: q(0.50), P90: q(0.90), P99: q(0.99), P999: q(0.999), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
