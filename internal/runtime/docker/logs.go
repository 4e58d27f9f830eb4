package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/runtime"
)

// maxFrame bounds one frame of the multiplexed log stream; the daemon
// writes one log message per frame, at most 16 KiB from json-file and
// local, so anything far larger is a broken stream.
const maxFrame = 4 << 20

// Logs reads a container's output through the logs API with timestamps:
// frames of the multiplexed stream (8-byte header: stream, size), each one
// message "<RFC3339Nano> <text>", newline-terminated unless the driver
// split a long line (then the next frame continues it).
func (d *Docker) Logs(ctx context.Context, id string, since time.Time, follow bool, fn func(runtime.LogLine) error) error {
	// An engine on this host keeps json-file logs in a file the agent can
	// read directly, several times faster than the logs API, which also
	// ends a follow as soon as the container stops, possibly before the
	// last lines.
	if !d.logsAPI && strings.HasPrefix(d.cli.DaemonHost(), "unix://") {
		insp, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			return classify(err, opOther, "logs of container %s", id)
		}
		c := insp.Container
		if c.HostConfig != nil && c.HostConfig.LogConfig.Type == "json-file" && c.LogPath != "" {
			if f, err := os.Open(c.LogPath); err == nil {
				defer func() { f.Close() }()
				// A container that has just stopped may still have output on
				// its way into the file: read it as a follow would, to the end.
				if c.State != nil && !c.State.Running {
					if fin, err := time.Parse(time.RFC3339Nano, c.State.FinishedAt); err == nil && time.Since(fin) < drainQuiet {
						follow = true
					}
				}
				return d.tailJSONFile(ctx, id, c.LogPath, &f, since, follow, fn)
			}
		}
	}
	// The logs API ends a follow when the container stops, which can be
	// before it has sent every line: a second, plain read from the last
	// line taken delivers the rest.
	last, atLast := since, 0
	track := func(l runtime.LogLine) error {
		if l.Time.Equal(last) {
			atLast++
		} else {
			last, atLast = l.Time, 1
		}
		return fn(l)
	}
	err := d.readAPI(ctx, id, since, 0, follow, track)
	if err == nil && follow {
		err = d.readAPI(ctx, id, last, atLast, false, fn)
	}
	return err
}

// readAPI reads a container's output through the logs API from since,
// skipping the first skip lines stamped exactly since.
func (d *Docker) readAPI(ctx context.Context, id string, since time.Time, skip int, follow bool, fn func(runtime.LogLine) error) error {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Follow: follow}
	if !since.IsZero() {
		opts.Since = strconv.FormatInt(since.Unix(), 10) + "." + fmt.Sprintf("%09d", since.Nanosecond())
	}
	rc, err := d.cli.ContainerLogs(ctx, id, opts)
	if err != nil {
		return classify(err, opOther, "logs of container %s", id)
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	err = readFrames(bufio.NewReaderSize(rc, 64<<10), since, func(l runtime.LogLine) error {
		if skip > 0 && l.Time.Equal(since) {
			skip--
			return nil
		}
		return fn(l)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// readFrames demultiplexes the log stream and calls fn per message.
func readFrames(r io.Reader, since time.Time, fn func(runtime.LogLine) error) error {
	var hdr [8]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read log stream: %w", err)
		}
		stream := "stdout"
		switch hdr[0] {
		case 1:
		case 2:
			stream = "stderr"
		default:
			continue // stdin or the system stream carry no output
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		if n > maxFrame {
			return fmt.Errorf("read log stream: frame of %d bytes", n)
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("read log stream: %w", err)
		}
		line, ok := parseMessage(stream, buf)
		if !ok || (!since.IsZero() && line.Time.Before(since)) {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

// parseMessage splits "<timestamp> <text>[\n]" into a line.
func parseMessage(stream string, msg []byte) (runtime.LogLine, bool) {
	sp := bytes.IndexByte(msg, ' ')
	if sp < 0 {
		return runtime.LogLine{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(msg[:sp]))
	if err != nil {
		return runtime.LogLine{}, false
	}
	text := msg[sp+1:]
	partial := true
	if len(text) > 0 && text[len(text)-1] == '\n' {
		text, partial = text[:len(text)-1], false
	}
	return runtime.LogLine{Time: t.UTC(), Stream: stream, Text: bytes.Clone(text), Partial: partial}, true
}

// drainQuiet is how long a stopped container's log file must stay the same
// size before its output is taken as complete.
const drainQuiet = 300 * time.Millisecond

// jsonFileEntry is one line of a json-file log.
type jsonFileEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// tailJSONFile reads a json-file log from its start, and with follow keeps
// reading as it grows until the container has stopped and the file is
// drained. It follows the engine's rotations of the file; what the engine
// rotated away before it was read (more than max-file files behind) is
// lost, as it is for docker logs.
func (d *Docker) tailJSONFile(ctx context.Context, id, path string, fp **os.File, since time.Time, follow bool, fn func(runtime.LogLine) error) error {
	f := *fp
	r := bufio.NewReaderSize(f, 256<<10)
	var pending []byte // a line the engine has not finished writing
	// The engine goes on copying a stopped container's output from its
	// pipe into the file for a moment after the container is reported
	// stopped: the read ends once the file has been quiet for drainQuiet.
	var stoppedAt time.Time
	grew := false
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			grew = true
		}
		switch {
		case err == nil:
			line := chunk
			if len(pending) > 0 {
				line = append(pending, chunk...)
				pending = pending[:0]
			}
			var e jsonFileEntry
			if json.Unmarshal(line, &e) != nil {
				continue
			}
			if !since.IsZero() && e.Time.Before(since) {
				continue
			}
			text, partial := e.Log, true
			if strings.HasSuffix(text, "\n") {
				text, partial = text[:len(text)-1], false
			}
			if err := fn(runtime.LogLine{Time: e.Time.UTC(), Stream: e.Stream, Text: []byte(text), Partial: partial}); err != nil {
				return err
			}
			continue
		case errors.Is(err, bufio.ErrBufferFull):
			pending = append(pending, chunk...)
			continue
		case errors.Is(err, io.EOF):
			pending = append(pending, chunk...)
		default:
			return fmt.Errorf("read the log of container %s: %w", id, err)
		}
		// At the end of what is written so far. When the engine has rotated
		// the file (max-size), this one is complete: go on in the new one.
		if cur, err := os.Stat(path); err == nil {
			if mine, err := f.Stat(); err == nil && !os.SameFile(cur, mine) {
				if nf, err := os.Open(path); err == nil {
					f.Close()
					f, *fp = nf, nf
					r.Reset(f)
					grew = true
					continue
				}
			}
		}
		if !follow {
			return nil
		}
		if grew {
			stoppedAt, grew = time.Time{}, false // still being written
		}
		if stoppedAt.IsZero() {
			insp, ierr := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case ierr != nil:
				return classify(ierr, opOther, "logs of container %s", id)
			case insp.Container.State == nil || !insp.Container.State.Running:
				stoppedAt = time.Now()
			}
		} else if time.Since(stoppedAt) >= drainQuiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}
