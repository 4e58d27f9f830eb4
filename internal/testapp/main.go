package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the parsed flags. runtime/fake interprets the same flags
// (fake.ParseTestapp); main_test.go checks the two agree.
type options struct {
	listen         string
	printEnv       bool
	print          int
	sleep          time.Duration
	exit           int
	exitSet        bool
	ignoreSigterm  bool
	termExit       int
	termDelay      time.Duration
	allocMiB       int
	unhealthyAfter time.Duration
	check          string
	writes         writeList
	printEvery     time.Duration
	printBytes     int
	printFiles     writeList // paths, reusing the repeatable flag type
}

// writeList collects repeated -write PATH=CONTENT flags.
type writeList []string

func (w *writeList) String() string { return strings.Join(*w, ",") }

func (w *writeList) Set(v string) error {
	if path, _, ok := strings.Cut(v, "="); !ok || path == "" {
		return fmt.Errorf("want PATH=CONTENT, got %q", v)
	}
	*w = append(*w, v)
	return nil
}

// newFlagSet defines the flags into o.
func newFlagSet(o *options, output io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("testapp", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&o.listen, "listen", "", "serve HTTP on `ADDR` (e.g. :8080)")
	fs.BoolVar(&o.printEnv, "print-env", false, "print KEY=value lines of the environment at start")
	fs.IntVar(&o.print, "print", 0, "print `N` lines \"line 1\" ... \"line N\" at start")
	fs.DurationVar(&o.sleep, "sleep", 0, "exit after `D` (with -exit's code, else 0); default: run until signalled")
	fs.IntVar(&o.exit, "exit", 0, "exit with code `N` (after -sleep if given, else at once)")
	fs.BoolVar(&o.ignoreSigterm, "ignore-sigterm", false, "ignore SIGTERM, so only SIGKILL ends the process")
	fs.IntVar(&o.termExit, "term-exit", 143, "exit code on SIGTERM")
	fs.DurationVar(&o.termDelay, "term-delay", 0, "wait `D` after SIGTERM before exiting")
	fs.IntVar(&o.allocMiB, "alloc-mib", 0, "allocate and touch `N` MiB at start, then keep running")
	fs.DurationVar(&o.unhealthyAfter, "unhealthy-after", 0, "make /health return 500 after `D`")
	fs.StringVar(&o.check, "check", "", "health-check client: GET `URL`, exit 0 on 200 else 1")
	fs.Var(&o.writes, "write", "write a file at start, `PATH=CONTENT` (repeatable)")
	fs.DurationVar(&o.printEvery, "print-every", 0, "print \"tick N\" every `D` until the process ends")
	fs.IntVar(&o.printBytes, "print-bytes", 0, "print one line of `N` bytes (x...x) at start")
	fs.Func("print-file", "print `PATH=` followed by the file's content at start (repeatable)", func(v string) error {
		o.printFiles = append(o.printFiles, v)
		return nil
	})
	return fs
}

func parse(args []string, output io.Writer) (options, error) {
	var o options
	fs := newFlagSet(&o, output)
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "exit" {
			o.exitSet = true
		}
	})
	return o, nil
}

// ballast keeps -alloc-mib memory reachable for the life of the process.
var ballast []byte

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		return 2
	}
	if o.check != "" {
		return check(o.check, 2*time.Second, stderr)
	}

	// As PID 1 in a container the kernel drops signals that have no handler,
	// so SIGTERM needs an explicit one (or an explicit ignore).
	sigs := make(chan os.Signal, 1)
	if o.ignoreSigterm {
		signal.Ignore(syscall.SIGTERM)
		signal.Notify(sigs, syscall.SIGINT)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}
	defer signal.Stop(sigs)

	for _, w := range o.writes {
		path, content, _ := strings.Cut(w, "=")
		if err := writeFile(path, content); err != nil {
			fmt.Fprintf(stderr, "testapp: %v\n", err)
			return 1
		}
	}
	if o.printEnv {
		for _, kv := range os.Environ() {
			fmt.Fprintln(stdout, kv)
		}
	}
	for i := 1; i <= o.print; i++ {
		fmt.Fprintf(stdout, "line %d\n", i)
	}
	for _, p := range o.printFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stdout, "%s=<%v>\n", p, err)
			continue
		}
		fmt.Fprintf(stdout, "%s=%s\n", p, b)
	}
	if o.printBytes > 0 {
		fmt.Fprintln(stdout, strings.Repeat("x", o.printBytes))
	}
	if o.printEvery > 0 {
		go func() { // lives as long as the process
			for i := 1; ; i++ {
				time.Sleep(o.printEvery)
				fmt.Fprintf(stdout, "tick %d\n", i)
			}
		}()
	}
	if o.allocMiB > 0 {
		// Touch every page so it is really resident, one MiB every 5 ms: an
		// OOM kill within a few ms of start can go unreported by Docker
		// 20.10 (its OOM watch is not yet armed); a leak-like ramp is not.
		ballast = make([]byte, o.allocMiB<<20)
		for i := 0; i < len(ballast); i += 4096 {
			if i > 0 && i%(1<<20) == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			ballast[i] = 1
		}
	}
	if o.listen != "" {
		ln, err := net.Listen("tcp", o.listen)
		if err != nil {
			fmt.Fprintf(stderr, "testapp: %v\n", err)
			return 1
		}
		hostname, _ := os.Hostname()
		srv := &http.Server{
			Handler:           newHandler(hostname, time.Now(), o.unhealthyAfter, os.Environ, http.DefaultClient),
			ReadHeaderTimeout: 5 * time.Second,
		}
		go func() { _ = srv.Serve(ln) }() // lives as long as the process
	}
	fmt.Fprintln(stderr, "testapp: ready")

	var done <-chan time.Time
	switch {
	case o.sleep > 0:
		done = time.After(o.sleep)
	case o.exitSet:
		return o.exit
	}
	select {
	case <-done:
		return o.exit // 0 unless -exit was given
	case sig := <-sigs:
		if sig == syscall.SIGINT {
			return 130
		}
		fmt.Fprintln(stderr, "testapp: SIGTERM")
		time.Sleep(o.termDelay) // keeps serving meanwhile, like a draining server
		return o.termExit
	}
}

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// check is the health-check client: 0 when url answers 200 within timeout.
func check(url string, timeout time.Duration, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "testapp: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "testapp: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "testapp: %s: %s\n", url, resp.Status)
		return 1
	}
	return 0
}
