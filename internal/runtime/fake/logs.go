package fake

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/runtime"
)

// partialSize is where Docker's json-file driver splits a long line.
const partialSize = 16 << 10

// writeLocked records a line c's process wrote, split as Docker splits
// long lines, and wakes followers.
func (c *container) writeLocked(stream, text string) {
	t := now()
	for {
		part := text
		partial := false
		if len(part) > partialSize {
			part, partial = text[:partialSize], true
		}
		c.output = append(c.output, runtime.LogLine{Time: t, Stream: stream, Text: []byte(part), Partial: partial})
		text = text[len(part):]
		if !partial {
			break
		}
	}
	c.wakeOutput()
}

func (c *container) wakeOutput() {
	if c.outWake != nil {
		close(c.outWake)
	}
	c.outWake = make(chan struct{})
}

// printLocked plays what a testapp process prints as it starts.
func (f *Fake) printLocked(c *container) {
	a := c.app
	if a.PrintEnv {
		for _, kv := range c.env {
			c.writeLocked("stdout", kv)
		}
	}
	for i := 1; i <= a.Print; i++ {
		c.writeLocked("stdout", fmt.Sprintf("line %d", i))
	}
	for _, p := range a.PrintFiles {
		c.writeLocked("stdout", p+"="+c.readFile(p))
	}
	if a.PrintBytes > 0 {
		c.writeLocked("stdout", strings.Repeat("x", a.PrintBytes))
	}
	c.writeLocked("stderr", "testapp: ready")
	if a.PrintEvery > 0 {
		f.tickLocked(c, 1)
	}
}

func (f *Fake) tickLocked(c *container, n int) {
	f.afterLocked(c, c.app.PrintEvery, func() {
		c.writeLocked("stdout", fmt.Sprintf("tick %d", n))
		f.tickLocked(c, n+1)
	})
}

// Logs reads what the container wrote, as Docker's logs API with
// timestamps does.
func (f *Fake) Logs(ctx context.Context, id string, since time.Time, follow bool, fn func(runtime.LogLine) error) error {
	next := 0
	for {
		f.mu.Lock()
		if err := f.up(); err != nil {
			f.mu.Unlock()
			return err
		}
		c, err := f.lookup(id)
		if err != nil {
			f.mu.Unlock()
			return err
		}
		lines := append([]runtime.LogLine(nil), c.output[next:]...)
		next = len(c.output)
		done := !c.running()
		if c.outWake == nil {
			c.outWake = make(chan struct{})
		}
		wake, exited := c.outWake, c.exited
		f.mu.Unlock()
		for _, l := range lines {
			if !since.IsZero() && l.Time.Before(since) {
				continue
			}
			if err := fn(l); err != nil {
				return err
			}
		}
		if !follow || done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-exited:
		}
	}
}

// readFile reads what the process would see at p: a bind-mounted host file,
// or an error as testapp prints it.
func (c *container) readFile(p string) string {
	for _, m := range c.spec.Mounts {
		t := path.Clean(m.Target)
		if m.Type == runtime.MountBind && strings.HasPrefix(p, t+"/") {
			b, err := os.ReadFile(filepath.Join(m.Source, strings.TrimPrefix(p, t+"/")))
			if err != nil {
				break
			}
			return string(b)
		}
	}
	return "<open " + p + ": no such file or directory>"
}
