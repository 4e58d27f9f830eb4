package fake

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Testapp is what a process of internal/testapp does, as read from its
// arguments. The fake runs containers whose command starts with /testapp
// according to it.
type Testapp struct {
	Listen         string        // -listen ADDR
	PrintEnv       bool          // -print-env
	Print          int           // -print N
	Sleep          time.Duration // -sleep D
	Exit           int           // -exit N
	ExitSet        bool          // whether -exit was given
	IgnoreSigterm  bool          // -ignore-sigterm
	TermExit       int           // -term-exit N (default 143)
	TermDelay      time.Duration // -term-delay D
	AllocMiB       int           // -alloc-mib N
	UnhealthyAfter time.Duration // -unhealthy-after D
	Check          string        // -check URL
	Writes         []string      // -write PATH=CONTENT, repeatable
	PrintEvery     time.Duration // -print-every D
	PrintBytes     int           // -print-bytes N
	PrintFiles     []string      // -print-file PATH, repeatable
}

// ParseTestapp reads testapp's flags (the arguments after the program name).
// It accepts exactly the flags internal/testapp defines.
func ParseTestapp(args []string) (Testapp, error) {
	a := Testapp{TermExit: 143}
	fs := flag.NewFlagSet("testapp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.Listen, "listen", "", "")
	fs.BoolVar(&a.PrintEnv, "print-env", false, "")
	fs.IntVar(&a.Print, "print", 0, "")
	fs.DurationVar(&a.Sleep, "sleep", 0, "")
	fs.IntVar(&a.Exit, "exit", 0, "")
	fs.BoolVar(&a.IgnoreSigterm, "ignore-sigterm", false, "")
	fs.IntVar(&a.TermExit, "term-exit", 143, "")
	fs.DurationVar(&a.TermDelay, "term-delay", 0, "")
	fs.IntVar(&a.AllocMiB, "alloc-mib", 0, "")
	fs.DurationVar(&a.UnhealthyAfter, "unhealthy-after", 0, "")
	fs.StringVar(&a.Check, "check", "", "")
	fs.DurationVar(&a.PrintEvery, "print-every", 0, "")
	fs.IntVar(&a.PrintBytes, "print-bytes", 0, "")
	fs.Func("print-file", "", func(v string) error {
		a.PrintFiles = append(a.PrintFiles, v)
		return nil
	})
	fs.Func("write", "", func(v string) error {
		if path, _, ok := strings.Cut(v, "="); !ok || path == "" {
			return fmt.Errorf("want PATH=CONTENT, got %q", v)
		}
		a.Writes = append(a.Writes, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return Testapp{}, err
	}
	if fs.NArg() > 0 {
		return Testapp{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "exit" {
			a.ExitSet = true
		}
	})
	return a, nil
}

// ListenPort is the TCP port of -listen, or 0.
func (a Testapp) ListenPort() int {
	if a.Listen == "" {
		return 0
	}
	_, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(port)
	return p
}

// isTestapp reports whether argv runs the testapp binary.
func isTestapp(argv []string) bool {
	return len(argv) > 0 && (argv[0] == "/testapp" || argv[0] == "testapp")
}
