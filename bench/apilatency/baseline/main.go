// Command baseline is the floor that bench/apilatency measures Berth
// against: the least a Go awsJson endpoint must do per request. It reads the
// whole body and answers with a fixed small JSON document over net/http, with
// the same http.Server limits Berth sets. It checks no signature, decodes
// nothing and touches no state.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// maxBody matches Berth's default request body cap.
const maxBody = 16 << 20

var (
	reply       = []byte(`{"clusters":[],"failures":[]}`)
	replyLength = strconv.Itoa(len(reply))
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %s: only loopback addresses are allowed", *listen)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("POST /", serveJSON)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintln(os.Stderr, "baseline: serving on", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// serveJSON does what every awsJson operation must: read the request body,
// then write an application/x-amz-json-1.1 reply with a request id.
func serveJSON(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(io.LimitReader(r.Body, maxBody)); err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("Content-Length", replyLength)
	h.Set("X-Amzn-Requestid", "00000000-0000-0000-0000-000000000000")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(reply)
}
