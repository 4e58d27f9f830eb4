package fake

import (
	"cmp"
	"encoding/json"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/runtime"
)

// runProcess plays what c's process does as it starts. A testapp process
// follows its flags; any other process runs until signalled.
func (f *Fake) runProcess(c *container) {
	if c.appErr != nil {
		f.exitLocked(c, 2, false) // flag's usage error
		return
	}
	a := c.app
	if a == nil {
		return
	}
	if a.Check != "" {
		f.exitLocked(c, 1, false) // nothing answers inside a container that just started
		return
	}
	for _, w := range a.Writes {
		p, _, _ := strings.Cut(w, "=")
		if !c.writable(p) {
			c.writeLocked("stderr", "testapp: open "+p+": read-only file system")
			f.exitLocked(c, 1, false) // read-only file system
			return
		}
	}
	f.printLocked(c)
	if a.AllocMiB > 0 && c.spec.MemoryBytes > 0 && int64(a.AllocMiB+baselineMiB)<<20 > c.spec.MemoryBytes {
		f.exitLocked(c, 137, true)
		return
	}
	switch {
	case a.Sleep > 0:
		f.afterLocked(c, a.Sleep, func() { f.exitLocked(c, a.Exit, false) })
	case a.ExitSet:
		f.exitLocked(c, a.Exit, false)
	}
}

// writable reports whether the process can write file p: the innermost mount
// holding p decides, else the root filesystem.
func (c *container) writable(p string) bool {
	if !path.IsAbs(p) {
		p = path.Join(cmp.Or(c.spec.WorkingDir, "/"), p)
	}
	best, ro := -1, c.spec.ReadonlyRootfs
	for _, m := range c.spec.Mounts {
		t := path.Clean(m.Target)
		if (p == t || strings.HasPrefix(p, t+"/")) && len(t) > best {
			best, ro = len(t), m.ReadOnly
		}
	}
	return !ro
}

// signalLocked delivers a signal to c's process.
func (f *Fake) signalLocked(c *container, sig string) {
	n, _ := signalNumber(sig)
	a := c.app
	switch {
	case n == 9:
		f.exitLocked(c, 137, false)
	case a == nil:
		// Any other process is taken to end on the signal (128+n); Docker
		// behaves so for a process with a handler or behind --init.
		f.exitLocked(c, 128+n, false)
	case n == 15:
		if a.IgnoreSigterm || c.termSent {
			return
		}
		c.termSent = true
		c.writeLocked("stderr", "testapp: SIGTERM")
		if a.TermDelay > 0 {
			f.afterLocked(c, a.TermDelay, func() { f.exitLocked(c, a.TermExit, false) })
			return
		}
		f.exitLocked(c, a.TermExit, false)
	case n == 2:
		f.exitLocked(c, 130, false)
	default:
		f.exitLocked(c, 128+n, false) // Go's default action: the signal ends the process
	}
}

// exitLocked ends c's current run with code.
func (f *Fake) exitLocked(c *container, code int, oom bool) {
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
	c.state = runtime.StateExited
	c.exitCode = code
	c.oom = oom
	c.finished = now()
	c.ports = nil
	c.ip = ""
	if oom {
		f.emit(c, runtime.Event{Action: runtime.EventOOM})
	}
	f.emit(c, runtime.Event{Action: runtime.EventDie, ExitCode: code})
	close(c.exited)
	c.wakeOutput()
}

// afterLocked runs fn under the lock after d, unless c's current run has
// ended by then.
func (f *Fake) afterLocked(c *container, d time.Duration, fn func()) {
	run := c.run
	t := time.AfterFunc(d, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if c.run != run || !c.running() {
			return
		}
		fn()
	})
	c.timers = append(c.timers, t)
}

// scheduleProbe runs c's health check every interval, as Docker does: the
// first probe one interval after start.
func (f *Fake) scheduleProbe(c *container) {
	interval := cmp.Or(c.spec.HealthCheck.Interval, 30*time.Second)
	f.afterLocked(c, interval, func() {
		f.probeLocked(c)
		f.scheduleProbe(c)
	})
}

// probeLocked applies one probe result with Docker's rules: a success makes
// the container healthy; failures count only after the start period (or once
// it has been healthy); Retries failures in a row make it unhealthy.
func (f *Fake) probeLocked(c *container) {
	hc := c.spec.HealthCheck
	t := now()
	old := c.health
	if c.probe(t) {
		c.streak = 0
		c.health = runtime.HealthHealthy
	} else if c.health != runtime.HealthStarting || t.Sub(c.started) >= hc.StartPeriod {
		c.streak++
		if c.streak >= cmp.Or(hc.Retries, 3) {
			c.health = runtime.HealthUnhealthy
		}
	}
	if c.health != old {
		f.emit(c, runtime.Event{Action: runtime.EventHealth, Health: c.health})
	}
}

// probe runs the health check command in c at t. A testapp "-check URL" is
// answered by c's own testapp server; "-exit N" passes on 0. A CMD-SHELL
// check fails in a testapp image (FROM scratch has no /bin/sh) and in other
// images passes unless it is "exit N" with N != 0 or "false".
func (c *container) probe(t time.Time) bool {
	test := c.spec.HealthCheck.Test
	if len(test) == 0 {
		return true
	}
	switch test[0] {
	case "CMD-SHELL":
		if isTestapp(c.img.cfg.Entrypoint) {
			return false
		}
		sh := strings.TrimSpace(strings.Join(test[1:], " "))
		if code, ok := strings.CutPrefix(sh, "exit "); ok {
			return strings.TrimSpace(code) == "0"
		}
		return sh != "false"
	case "CMD":
		test = test[1:]
	}
	if !isTestapp(test) {
		return !isTestapp(c.img.cfg.Entrypoint) // scratch testapp images have no other binary
	}
	a, err := ParseTestapp(test[1:])
	switch {
	case err != nil:
		return false
	case a.Check != "":
		u, err := url.Parse(a.Check)
		if err != nil || c.app == nil {
			return false
		}
		port, _ := strconv.Atoi(u.Port())
		if port == 0 || port != c.app.ListenPort() {
			return false
		}
		status, _ := c.serve(u.Path, t)
		return status == 200
	case a.ExitSet && a.Sleep == 0:
		return a.Exit == 0
	default:
		return false // it would run past the check's timeout
	}
}

// serve answers a GET of path (without query) as c's testapp server would.
func (c *container) serve(p string, t time.Time) (int, string) {
	a := c.app
	switch p {
	case "/", "":
		return 200, "ok " + c.host + "\n"
	case "/env":
		env := map[string]string{}
		for _, kv := range c.env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		b, _ := json.Marshal(env)
		return 200, string(b) + "\n"
	case "/health":
		if a.UnhealthyAfter > 0 && t.Sub(c.started) >= a.UnhealthyAfter {
			return 500, "unhealthy\n"
		}
		return 200, "healthy\n"
	default:
		return 404, "404 page not found\n"
	}
}

var signals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8,
	"KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
	"STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22,
	"URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
	"PWR": 30, "SYS": 31,
}

// signalNumber parses a signal as Docker does: a number, or a name with or
// without the SIG prefix, in any case.
func signalNumber(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n > 0 && n <= 64
	}
	n, ok := signals[strings.TrimPrefix(strings.ToUpper(s), "SIG")]
	return n, ok
}
