package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/runtime"
	"github.com/berthhq/berth/internal/taskdef"
)

// CloudWatch Logs limits the awslogs driver keeps to.
const (
	maxEventBytes = 256<<10 - eventOverhead // a message, so that message + overhead fits 256 KiB
	eventOverhead = 26                      // bytes PutLogEvents counts per event
	maxBatchBytes = 1 << 20                 // PutLogEvents: messages + overhead
	maxBatchCount = 10000
	// blockingQueueBytes bounds what a blocking-mode pump holds before it
	// stops reading the container's output (which the engine keeps on disk
	// meanwhile, so nothing is lost).
	blockingQueueBytes = 4 << 20
	defaultMaxBuffer   = 1 << 20 // non-blocking mode's max-buffer-size default (Docker's)
)

// awslogsOptions is a container's awslogs configuration.
type awslogsOptions struct {
	group, region, stream string
	createGroup           bool
	blocking              bool
	maxBuffer             int
}

// parseAwslogs reads the awslogs options of a container as the ECS agent
// does: the stream is prefix/container-name/task-id with a prefix, else
// the container's runtime id.
func parseAwslogs(lc *taskdef.LogConfiguration, taskARN, container, defaultRegion string) (awslogsOptions, error) {
	o := lc.Options
	opts := awslogsOptions{group: o["awslogs-group"], region: o["awslogs-region"], blocking: true, maxBuffer: defaultMaxBuffer}
	if opts.group == "" {
		return opts, errors.New("awslogs: the awslogs-group option is required")
	}
	if opts.region == "" {
		opts.region = defaultRegion
	}
	if p := o["awslogs-stream-prefix"]; p != "" {
		opts.stream = p + "/" + container + "/" + taskARN[strings.LastIndexByte(taskARN, '/')+1:]
	}
	switch v := o["awslogs-create-group"]; v {
	case "", "false":
	case "true":
		opts.createGroup = true
	default:
		return opts, fmt.Errorf("awslogs: awslogs-create-group must be true or false, not %q", v)
	}
	switch v := o["mode"]; v {
	case "", "blocking":
	case "non-blocking":
		opts.blocking = false
	default:
		return opts, fmt.Errorf("awslogs: mode must be blocking or non-blocking, not %q", v)
	}
	if v := o["max-buffer-size"]; v != "" {
		n, err := parseSize(v)
		if err != nil || n <= 0 {
			return opts, fmt.Errorf("awslogs: max-buffer-size %q is not a size such as 4m", v)
		}
		opts.maxBuffer = n
	}
	for k := range o {
		switch k {
		case "awslogs-group", "awslogs-region", "awslogs-stream-prefix", "awslogs-create-group", "mode", "max-buffer-size",
			"awslogs-datetime-format", "awslogs-multiline-pattern", "awslogs-endpoint", "awslogs-credentials-endpoint", "awslogs-format", "tag":
		default:
			return opts, fmt.Errorf("awslogs: unknown log option %q", k)
		}
	}
	return opts, nil
}

// parseSize reads a Docker size: 1024, 512k, 4m, 1g (binary units).
func parseSize(s string) (int, error) {
	mult := 1
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult != 1 || strings.ToLower(s[len(s)-1:]) == "b" {
		s = s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	return n * mult, err
}

// logCursor is how far a container's output has been delivered: every line
// up to Time, and N lines stamped exactly Time.
type logCursor struct {
	Time time.Time `json:"t"`
	N    int       `json:"n"`
}

// pending is one event waiting to be shipped, with the cursor it moves to.
type pending struct {
	ev     agentapi.LogEvent
	cursor logCursor
}

// logPump delivers one container's output to its log stream, at least
// once: the engine keeps the output, the pump follows it from the last
// delivered position, and that position moves only when the server has
// acknowledged a batch.
type logPump struct {
	a       *Agent
	taskARN string
	id      string // container runtime id
	name    string
	opts    awslogsOptions
	done    chan struct{}

	mu       sync.Mutex
	wake     chan struct{} // closed when the queue changes
	queue    []pending
	bytes    int
	readDone bool
	dropped  int
}

// ensureStream creates the log stream (and the group when asked), as the
// awslogs driver does when a container starts.
func (a *Agent) ensureStream(ctx context.Context, taskARN string, o awslogsOptions) error {
	return a.client.Logs(ctx, agentapi.LogsRequest{TaskARN: taskARN, Region: o.region, Group: o.group, Stream: o.stream, CreateGroup: o.createGroup})
}

// startPump follows container id's output from its saved cursor.
func (a *Agent) startPump(ctx context.Context, taskARN, name, id string, o awslogsOptions) *logPump {
	p := &logPump{a: a, taskARN: taskARN, id: id, name: name, opts: o, done: make(chan struct{}), wake: make(chan struct{})}
	cur, _ := a.local.logCursor(id)
	a.pumps.Add(2)
	go func() { defer a.pumps.Done(); p.read(ctx, cur) }()
	go func() { defer a.pumps.Done(); p.send(ctx) }()
	return p
}

func (p *logPump) signal() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// read follows the output and queues it as events.
func (p *logPump) read(ctx context.Context, cur logCursor) {
	defer func() {
		p.mu.Lock()
		p.readDone = true
		p.signal()
		p.mu.Unlock()
	}()
	pos := cur
	skip := cur.N
	var part []byte
	backoff := 100 * time.Millisecond
	for {
		err := p.a.rt.Logs(ctx, p.id, cur.Time, true, func(l runtime.LogLine) error {
			if !cur.Time.IsZero() && l.Time.Equal(cur.Time) && skip > 0 {
				skip--
				return nil
			}
			if l.Time.Equal(pos.Time) {
				pos.N++
			} else {
				pos = logCursor{Time: l.Time, N: 1}
			}
			part = append(part, l.Text...)
			for len(part) > maxEventBytes {
				if err := p.enqueue(ctx, part[:maxEventBytes], l.Time, pos); err != nil {
					return err
				}
				part = part[maxEventBytes:]
			}
			if l.Partial {
				return nil
			}
			err := p.enqueue(ctx, part, l.Time, pos)
			part = nil
			return err
		})
		switch {
		case err == nil, ctx.Err() != nil:
			return
		case isNotFound(err):
			return // the container is gone: nothing more to read
		}
		// The engine hiccupped: read again from what was queued last.
		p.a.log.Warn("read container output; retrying", "task_arn", p.taskARN, "container", p.name, "err", err)
		cur, skip, part = pos, pos.N, nil
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// enqueue adds an event, waiting for room in blocking mode and dropping it
// when the buffer is full in non-blocking mode.
func (p *logPump) enqueue(ctx context.Context, text []byte, t time.Time, pos logCursor) error {
	size := len(text) + eventOverhead
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.opts.blocking && p.bytes > 0 && p.bytes+size > blockingQueueBytes {
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			p.mu.Lock()
			return ctx.Err()
		case <-wake:
		}
		p.mu.Lock()
	}
	if !p.opts.blocking && p.bytes > 0 && p.bytes+size > p.opts.maxBuffer {
		p.dropped++
		if p.dropped == 1 || p.dropped%1000 == 0 {
			p.a.log.Warn("awslogs buffer full in non-blocking mode; dropping output", "task_arn", p.taskARN, "container", p.name, "dropped", p.dropped)
		}
		return nil
	}
	p.queue = append(p.queue, pending{ev: agentapi.LogEvent{Timestamp: t.UnixMilli(), Message: string(text)}, cursor: pos})
	p.bytes += size
	p.signal()
	return nil
}

// send ships the queue in batches as large as PutLogEvents takes, retrying
// until the server acknowledges each.
func (p *logPump) send(ctx context.Context) {
	defer close(p.done)
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.readDone {
			wake := p.wake
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			p.mu.Lock()
		}
		if len(p.queue) == 0 && p.readDone {
			p.mu.Unlock()
			return
		}
		n, size := 0, 0
		for n < len(p.queue) && n < maxBatchCount && size+len(p.queue[n].ev.Message)+eventOverhead <= maxBatchBytes {
			size += len(p.queue[n].ev.Message) + eventOverhead
			n++
		}
		batch := make([]agentapi.LogEvent, n)
		last := int64(0)
		for i := range n {
			batch[i] = p.queue[i].ev
			// PutLogEvents wants chronological order; interleaved streams
			// can be out by a hair.
			batch[i].Timestamp = max(batch[i].Timestamp, last)
			last = batch[i].Timestamp
		}
		cur := p.queue[n-1].cursor
		p.mu.Unlock()

		if !p.ship(ctx, batch) {
			return
		}
		if err := p.a.local.setLogCursor(p.id, cur); err != nil {
			p.a.log.Warn("save log cursor", "task_arn", p.taskARN, "err", err)
		}
		p.mu.Lock()
		p.queue = p.queue[n:]
		p.bytes -= size
		p.signal()
		p.mu.Unlock()
	}
}

// ship delivers one batch, retrying what may succeed later. It returns
// false only when ctx ended.
func (p *logPump) ship(ctx context.Context, batch []agentapi.LogEvent) bool {
	req := agentapi.LogsRequest{TaskARN: p.taskARN, Region: p.opts.region, Group: p.opts.group, Stream: p.opts.stream,
		CreateGroup: p.opts.createGroup, Events: batch}
	backoff := 100 * time.Millisecond
	for {
		err := p.a.client.Logs(ctx, req)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		var se *agentapi.StatusError
		if errors.As(err, &se) && (se.Status == http.StatusBadRequest || se.Status == http.StatusNotFound) {
			// The batch breaks a rule the server will never accept, or its
			// group is gone: retrying cannot help, so it is dropped and said
			// so, as the awslogs driver does.
			p.a.log.Error("awslogs batch refused; dropped", "task_arn", p.taskARN, "container", p.name, "events", len(batch), "err", err)
			return true
		}
		p.a.log.Warn("ship container output; retrying", "task_arn", p.taskARN, "container", p.name, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// logsReason is the server's message for a failed logs call.
func logsReason(err error) string {
	var se *agentapi.StatusError
	if errors.As(err, &se) {
		if se.Status == http.StatusNotFound {
			return "ResourceNotFoundException: " + se.Message
		}
		return se.Message
	}
	return err.Error()
}
