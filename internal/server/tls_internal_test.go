package server

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails its first Accept the way a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	failed atomic.Bool
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if f.failed.CompareAndSwap(false, true) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return f.Listener.Accept()
}

// TestMuxListenerOutlivesAcceptErrors: a failed accept (out of file
// descriptors) is retried; the port keeps serving.
func TestMuxListenerOutlivesAcceptErrors(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newMuxListener(&flakyListener{Listener: tcp}, nil)
	defer m.Close()
	got := make(chan error, 1)
	go func() {
		c, err := m.Accept()
		if err == nil {
			c.Close()
		}
		got <- err
	}()
	c, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("Accept after a failed accept = %v; want the connection", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept after a failed accept: nothing within 5s")
	}
	m.Close()
	if _, err := m.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v; want net.ErrClosed", err)
	}
}

// TestLoadCAHalfWritten: a key without its certificate (a crash between the
// two writes) gives a new CA; a certificate without its key is refused.
func TestLoadCAHalfWritten(t *testing.T) {
	dir := t.TempDir()
	first, err := loadTLS(dir, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, tlsDir, caCertFile)); err != nil {
		t.Fatal(err)
	}
	again, err := loadTLS(dir, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatalf("loadTLS with the key alone = %v; want a new CA", err)
	}
	if again.Fingerprint() == first.Fingerprint() {
		t.Error("loadTLS with the key alone kept the old fingerprint; want a new CA")
	}
	if err := os.Remove(filepath.Join(dir, tlsDir, caKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := loadTLS(dir, "127.0.0.1:0", nil); err == nil || !strings.Contains(err.Error(), "has no key") {
		t.Errorf("loadTLS with the certificate alone = %v; want it refused", err)
	}
}
