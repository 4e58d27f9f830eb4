package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// The API port speaks TLS and plain HTTP alike: agents reach it over TLS,
// pinning the cluster's own CA through the join token (the agent API carries
// secrets and registry tokens), while the AWS CLI and a local Docker engine
// may keep plain HTTP on loopback. The CA and the server certificate live
// in <data-dir>/tls; the CA's key never leaves it.
const (
	tlsDir       = "tls"
	caCertFile   = "ca.crt"
	caKeyFile    = "ca.key"
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// A leaf closer than this to its end is replaced, at start or by the
	// handshake that notices.
	leafRenewBefore = 30 * 24 * time.Hour
	// sniffTimeout bounds how long a new connection may keep silent
	// before its first byte says whether it speaks TLS.
	sniffTimeout = 10 * time.Second
)

// serverTLS holds the cluster CA and issues the API port's certificate.
type serverTLS struct {
	ca     *x509.Certificate
	caDER  []byte
	caPEM  []byte
	caKey  *ecdsa.PrivateKey
	names  []string // DNS names of the leaf
	ips    []net.IP // IP addresses of the leaf
	now    func() time.Time
	mu     sync.Mutex
	leaf   *tls.Certificate
	expiry time.Time
}

// loadTLS opens the CA of dataDir, creating it on first start, and issues a
// server certificate for the listen address, the machine's names and sans.
func loadTLS(dataDir, listen string, sans []string) (*serverTLS, error) {
	dir := filepath.Join(dataDir, tlsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: tls: %w", err)
	}
	s := &serverTLS{now: time.Now}
	if err := s.loadCA(dir); err != nil {
		return nil, fmt.Errorf("server: tls: %w", err)
	}
	s.names, s.ips = leafNames(listen, sans)
	if _, err := s.certificate(); err != nil {
		return nil, fmt.Errorf("server: tls: %w", err)
	}
	return s, nil
}

// Fingerprint is the SHA-256 of the CA certificate, as join tokens carry it.
func (s *serverTLS) Fingerprint() string {
	sum := sha256.Sum256(s.caDER)
	return hex.EncodeToString(sum[:])
}

// Config is the TLS configuration of the API port.
func (s *serverTLS) Config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.certificate() },
	}
}

func (s *serverTLS) loadCA(dir string) error {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		return s.parseCA(certPEM, keyPEM)
	case !errors.Is(certErr, os.ErrNotExist) && certErr != nil:
		return certErr
	case !errors.Is(keyErr, os.ErrNotExist) && keyErr != nil:
		return keyErr
	case certErr == nil:
		// A certificate without its key: agents may pin it, so it is not
		// replaced silently.
		return fmt.Errorf("%s has no key %s: restore it, or remove both to create a new CA (agents then need the new join token)", certPath, keyPath)
	}
	// No certificate (a key alone is what a crash between the two writes
	// leaves; no agent can have pinned a certificate never written): a new CA.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := s.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Berth cluster CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	// The key first: a crash between the two leaves no certificate whose
	// key is missing, and the next start creates both again.
	if err := writeFileAtomic(keyPath, keyPEM); err != nil {
		return err
	}
	if err := writeFileAtomic(certPath, certPEM); err != nil {
		return err
	}
	return s.parseCA(certPEM, keyPEM)
}

func (s *serverTLS) parseCA(certPEM, keyPEM []byte) error {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return errors.New("the CA certificate or key is not PEM")
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return fmt.Errorf("CA key: %w", err)
	}
	if !key.PublicKey.Equal(ca.PublicKey) {
		return errors.New("the CA key does not belong to the CA certificate")
	}
	s.ca, s.caDER, s.caPEM, s.caKey = ca, cb.Bytes, certPEM, key
	return nil
}

// certificate returns the leaf, issuing a new one when it is near its end.
func (s *serverTLS) certificate() (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.leaf != nil && now.Add(leafRenewBefore).Before(s.expiry) {
		return s.leaf, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "Berth API"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     s.names,
		IPAddresses:  s.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca, &key.PublicKey, s.caKey)
	if err != nil {
		return nil, err
	}
	// The chain carries the CA, so that a client holding only its
	// fingerprint can verify the leaf against it.
	s.leaf = &tls.Certificate{Certificate: [][]byte{der, s.caDER}, PrivateKey: key}
	s.expiry = tmpl.NotAfter
	return s.leaf, nil
}

// leafNames are the names a client may dial the API port by: loopback, this
// machine's host name, the listen address when it is a specific one, and
// the operator's extra names and addresses.
func leafNames(listen string, sans []string) ([]string, []net.IP) {
	names := []string{"localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	add := func(h string) {
		if h == "" {
			return
		}
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() && !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			return
		}
		if !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	if host, _, err := net.SplitHostPort(listen); err == nil {
		add(host)
	}
	if h, err := os.Hostname(); err == nil {
		add(h)
	}
	for _, s := range sans {
		add(s)
	}
	return names, ips
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

// muxListener hands out each connection it accepts as TLS or as plain TCP,
// by its first byte (a TLS handshake starts with 0x16, which no HTTP method
// does). Each new connection is sniffed in its own goroutine, so that a
// silent one holds up no other.
type muxListener struct {
	net.Listener
	tls   *tls.Config
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	err   error // the underlying Accept's error, once conns is closed

	mu       sync.Mutex
	sniffing map[net.Conn]struct{} // closed by Close, so no sniff holds it up
	closed   bool
}

func newMuxListener(ln net.Listener, cfg *tls.Config) *muxListener {
	m := &muxListener{Listener: ln, tls: cfg, conns: make(chan net.Conn), done: make(chan struct{}), sniffing: map[net.Conn]struct{}{}}
	m.wg.Go(m.acceptLoop)
	return m
}

func (m *muxListener) acceptLoop() {
	defer close(m.conns)
	var sniffers sync.WaitGroup
	defer sniffers.Wait()
	var backoff time.Duration
	for {
		c, err := m.Listener.Accept()
		if err != nil {
			select {
			case <-m.done:
				m.err = net.ErrClosed
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				m.err = err
				return
			}
			// Out of file descriptors, say: back off as net/http does and
			// try again; the port must not die of a passing shortage.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-m.done:
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			c.Close()
			continue
		}
		m.sniffing[c] = struct{}{}
		m.mu.Unlock()
		sniffers.Go(func() { m.sniff(c) })
	}
}

func (m *muxListener) sniff(c net.Conn) {
	var first [1]byte
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	_, err := io.ReadFull(c, first[:])
	m.mu.Lock()
	delete(m.sniffing, c)
	m.mu.Unlock()
	if err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var out net.Conn = &peekedConn{Conn: c, r: io.MultiReader(bytes.NewReader(first[:]), c)}
	if first[0] == 0x16 {
		out = tls.Server(out, m.tls)
	}
	select {
	case m.conns <- out:
	case <-m.done:
		c.Close()
	}
}

// Accept returns the next sniffed connection.
func (m *muxListener) Accept() (net.Conn, error) {
	c, ok := <-m.conns
	if !ok {
		if m.err != nil {
			return nil, m.err
		}
		return nil, net.ErrClosed
	}
	return c, nil
}

// Close stops accepting, closes connections not yet handed out, and waits
// for the accept loop.
func (m *muxListener) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		err = m.Listener.Close()
		m.mu.Lock()
		m.closed = true
		for c := range m.sniffing {
			c.Close()
		}
		m.mu.Unlock()
		go func() { // drain what sniffers hand over while they finish
			for c := range m.conns {
				c.Close()
			}
		}()
		m.wg.Wait()
	})
	return err
}

// peekedConn is a connection whose first bytes were read to sniff it.
type peekedConn struct {
	net.Conn
	r io.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// ReadFrom keeps the TCP connection's sendfile/splice for plain HTTP.
func (p *peekedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := p.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{p.Conn}, r)
}

// CloseWrite half-closes, as net/http does before closing a connection
// whose request it did not read to the end.
func (p *peekedConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
