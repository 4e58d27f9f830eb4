package agentapi

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// JoinToken is the token agents are given: the cluster's join secret and
// the SHA-256 fingerprint of the cluster CA, which the agent pins when it
// reaches the server over TLS (as a Docker Swarm join token does).
func JoinToken(secret, caFingerprint string) string {
	if caFingerprint == "" {
		return secret
	}
	return secret + "." + caFingerprint
}

// ParseJoinToken splits a join token into its secret and CA fingerprint; a
// token without a fingerprint (of an older server) is all secret.
func ParseJoinToken(token string) (secret, caFingerprint string) {
	if i := strings.LastIndexByte(token, '.'); i >= 0 && isFingerprint(token[i+1:]) {
		return token[:i], strings.ToLower(token[i+1:])
	}
	return token, ""
}

func isFingerprint(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// transport returns the HTTP transport to the server at base. Over https,
// a CA fingerprint pins the server to that CA (the certificate's names are
// not checked: the pin is what identifies the cluster); without one, the
// system's roots verify it as any TLS client would. Plain http is refused
// for anything but loopback: the agent API carries secrets and registry
// tokens.
func transport(base *url.URL, caFingerprint string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	switch base.Scheme {
	case "http":
		if !isLoopback(base.Hostname()) {
			return nil, fmt.Errorf("agentapi: %s is plain HTTP to another host; the agent API carries secrets and registry tokens, so reach the server over https:// (the join token pins its CA)", base.Redacted())
		}
		return t, nil
	case "https":
	default:
		return nil, fmt.Errorf("agentapi: server URL %q: want http:// or https://", base.Redacted())
	}
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFingerprint != "" {
		t.TLSClientConfig.InsecureSkipVerify = true // verified against the pin below
		t.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyPinned(cs.PeerCertificates, caFingerprint)
		}
	}
	return t, nil
}

// verifyPinned checks that chain's leaf is a server certificate issued by
// the CA whose fingerprint is pin, and that the CA is in the chain.
func verifyPinned(chain []*x509.Certificate, pin string) error {
	if len(chain) == 0 {
		return errors.New("agentapi: the server presented no certificate")
	}
	roots := x509.NewCertPool()
	found := false
	for _, c := range chain[1:] {
		sum := sha256.Sum256(c.Raw)
		if hex.EncodeToString(sum[:]) == pin && c.IsCA {
			roots.AddCert(c)
			found = true
		}
	}
	if !found {
		return fmt.Errorf("agentapi: the server's certificate is not issued by the CA the join token names (sha256 %s…); is this the cluster's server, and its current join token?", pin[:12])
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("agentapi: the server's certificate: %w", err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
