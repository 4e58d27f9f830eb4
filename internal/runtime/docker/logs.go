package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
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
	err = readFrames(bufio.NewReaderSize(rc, 64<<10), since, fn)
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
