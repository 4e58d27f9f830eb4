package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/runtime/fake"
)

func TestParse(t *testing.T) {
	tests := []struct {
		args    []string
		want    options
		wantErr bool
	}{
		{args: nil, want: options{termExit: 143}},
		{args: []string{"-exit", "0"}, want: options{termExit: 143, exitSet: true}},
		{args: []string{"-sleep", "2s", "-exit", "3"}, want: options{termExit: 143, sleep: 2 * time.Second, exit: 3, exitSet: true}},
		{args: []string{"-write", "/a=1", "-write", "/b=x=y"}, want: options{termExit: 143, writes: writeList{"/a=1", "/b=x=y"}}},
		{args: []string{"-write", "=x"}, wantErr: true},
		{args: []string{"-sleep", "soon"}, wantErr: true},
		{args: []string{"positional"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parse(tt.args, io.Discard)
		if (err != nil) != tt.wantErr {
			t.Errorf("parse(%q) error = %v; want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parse(%q) = %+v; want %+v", tt.args, got, tt.want)
		}
	}
}

// TestFakeAgrees checks that runtime/fake reads every testapp flag as
// testapp does, so fake and Docker run the same specs alike.
func TestFakeAgrees(t *testing.T) {
	samples := map[string]string{
		"listen": ":8080", "print-env": "true", "print": "3", "sleep": "2s", "exit": "4",
		"ignore-sigterm": "true", "term-exit": "7", "term-delay": "1s", "alloc-mib": "64",
		"unhealthy-after": "3s", "check": "http://127.0.0.1:8080/health", "write": "/p=c",
		"print-every": "100ms", "print-bytes": "300000", "print-file": "/run/secrets/a",
	}
	var o options
	newFlagSet(&o, io.Discard).VisitAll(func(f *flag.Flag) {
		v, ok := samples[f.Name]
		if !ok {
			t.Errorf("flag -%s has no sample here; add one", f.Name)
			return
		}
		args := []string{"-" + f.Name + "=" + v}
		mine, err := parse(args, io.Discard)
		if err != nil {
			t.Fatalf("parse(%q) = %v", args, err)
		}
		theirs, err := fake.ParseTestapp(args)
		if err != nil {
			t.Errorf("fake.ParseTestapp(%q) = %v; want the flag known", args, err)
			return
		}
		want := fake.Testapp{
			Listen: mine.listen, PrintEnv: mine.printEnv, Print: mine.print, Sleep: mine.sleep,
			Exit: mine.exit, ExitSet: mine.exitSet, IgnoreSigterm: mine.ignoreSigterm, TermExit: mine.termExit,
			TermDelay: mine.termDelay, AllocMiB: mine.allocMiB, UnhealthyAfter: mine.unhealthyAfter,
			Check: mine.check, Writes: mine.writes, PrintEvery: mine.printEvery, PrintBytes: mine.printBytes, PrintFiles: mine.printFiles,
		}
		if !reflect.DeepEqual(theirs, want) {
			t.Errorf("fake.ParseTestapp(%q) = %+v; want %+v", args, theirs, want)
		}
	})
}

// TestRun runs the program in-process for behaviours that need no signal.
func TestRun(t *testing.T) {
	t.Setenv("BERTH_TESTAPP_MARK", "here")
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		want     int
		wantOut  string
		contains string
		minTime  time.Duration
	}{
		{name: "Exit", args: []string{"-exit", "3"}, want: 3},
		{name: "SleepThenExit", args: []string{"-sleep", "50ms", "-exit", "4"}, want: 4, minTime: 50 * time.Millisecond},
		{name: "Sleep", args: []string{"-sleep", "10ms"}, want: 0},
		{name: "Print", args: []string{"-print", "3", "-exit", "0"}, wantOut: "line 1\nline 2\nline 3\n"},
		{name: "PrintEnv", args: []string{"-print-env", "-exit", "0"}, contains: "BERTH_TESTAPP_MARK=here\n"},
		{name: "Alloc", args: []string{"-alloc-mib", "8", "-exit", "0"}},
		{name: "BadFlag", args: []string{"-nope"}, want: 2},
		{name: "WriteFails", args: []string{"-write", "/proc/berth-no/x=1", "-exit", "0"}, want: 1},
		{name: "ListenFails", args: []string{"-listen", "bad:address:x", "-exit", "0"}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			begin := time.Now()
			if got := run(tt.args, &out, io.Discard); got != tt.want {
				t.Errorf("run(%q) = %d; want %d", tt.args, got, tt.want)
			}
			if tt.wantOut != "" && out.String() != tt.wantOut {
				t.Errorf("run(%q) printed %q; want %q", tt.args, out.String(), tt.wantOut)
			}
			if !strings.Contains(out.String(), tt.contains) {
				t.Errorf("run(%q) printed %q; want it to contain %q", tt.args, out.String(), tt.contains)
			}
			if took := time.Since(begin); took < tt.minTime {
				t.Errorf("run(%q) took %v; want at least %v", tt.args, took, tt.minTime)
			}
		})
	}

	t.Run("Write", func(t *testing.T) {
		p := filepath.Join(dir, "sub", "f.txt")
		if got := run([]string{"-write", p + "=a=b", "-exit", "0"}, io.Discard, io.Discard); got != 0 {
			t.Fatalf("run(-write) = %d; want 0", got)
		}
		if b, err := os.ReadFile(p); err != nil || string(b) != "a=b" {
			t.Errorf("file written = %q, %v; want %q", b, err, "a=b")
		}
	})
}

// TestSignals runs the compiled program and signals it, as a container
// engine would.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "testapp")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		name    string
		args    []string
		signal  syscall.Signal
		want    int
		minTime time.Duration
	}{
		{name: "SIGTERM", signal: syscall.SIGTERM, want: 143},
		{name: "TermExit", args: []string{"-term-exit", "7"}, signal: syscall.SIGTERM, want: 7},
		{name: "TermDelay", args: []string{"-term-delay", "300ms"}, signal: syscall.SIGTERM, want: 143, minTime: 300 * time.Millisecond},
		{name: "SIGINT", signal: syscall.SIGINT, want: 130},
		// Ignored: the process outlives SIGTERM and exits 0 when its sleep ends.
		{name: "IgnoreSigterm", args: []string{"-ignore-sigterm", "-sleep", "500ms"}, signal: syscall.SIGTERM, want: 0, minTime: 500 * time.Millisecond},
		{name: "IgnoreSigtermNotSigint", args: []string{"-ignore-sigterm"}, signal: syscall.SIGINT, want: 130},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(bin, tt.args...)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			begin := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if err := waitReady(stderr); err != nil {
				cmd.Process.Kill()
				t.Fatal(err)
			}
			go io.Copy(io.Discard, stderr)
			if err := cmd.Process.Signal(tt.signal); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			if got := cmd.ProcessState.ExitCode(); got != tt.want {
				t.Errorf("testapp %q after %v exited %d; want %d", tt.args, tt.signal, got, tt.want)
			}
			if took := time.Since(begin); took < tt.minTime {
				t.Errorf("testapp %q after %v ran %v; want at least %v", tt.args, tt.signal, took, tt.minTime)
			}
		})
	}
}

func waitReady(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() == "testapp: ready" {
			return nil
		}
	}
	return fmt.Errorf("testapp ended before it was ready: %v", sc.Err())
}
