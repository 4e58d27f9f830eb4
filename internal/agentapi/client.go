package agentapi

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client is the agent's side of the protocol.
type Client struct {
	base  string
	http  *http.Client
	token string
	// hint explains a TLS failure the configuration makes likely.
	hint string
}

// NewClient returns a client for the server at base (e.g.
// https://10.0.0.5:4566), pinning its CA to caFingerprint when that is not
// empty (see ParseJoinToken).
func NewClient(base, caFingerprint string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("agentapi: server URL: %w", err)
	}
	t, err := transport(u, caFingerprint)
	if err != nil {
		return nil, err
	}
	c := &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: t}}
	if u.Scheme == "https" && caFingerprint == "" {
		c.hint = "the join token carries no CA fingerprint, so the server's certificate was checked against the system's roots: give the agent the server's current <data-dir>/join-token"
	}
	return c, nil
}

// Transport is how the client reaches the server, for other requests to it
// (the agent relays the AWS API calls of tasks).
func (c *Client) Transport() http.RoundTripper { return c.http.Transport }

// SetToken sets the agent token used after registration.
func (c *Client) SetToken(token string) { c.token = token }

// StatusError is a non-2xx answer.
type StatusError struct {
	Status int
	ErrorResponse
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("agent api: %d %s: %s", e.Status, e.Code, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var unknown x509.UnknownAuthorityError
		if c.hint != "" && errors.As(err, &unknown) {
			return fmt.Errorf("%w (%s)", err, c.hint)
		}
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Status: resp.StatusCode}
		if json.Unmarshal(b, &se.ErrorResponse) != nil || se.Code == "" {
			se.Code, se.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(b))
		}
		return se
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Register registers (or re-registers) the instance.
func (c *Client) Register(ctx context.Context, req RegisterRequest) (*RegisterResponse, error) {
	var out RegisterResponse
	if err := c.do(ctx, http.MethodPost, "/agent/v1/register", req, &out, 30*time.Second); err != nil {
		return nil, err
	}
	return &out, nil
}

// Tasks returns the instance's assignments once they change past index, or
// after wait.
func (c *Client) Tasks(ctx context.Context, index uint64, wait time.Duration) (*TasksResponse, error) {
	var out TasksResponse
	q := url.Values{"index": {fmt.Sprint(index)}, "wait": {wait.String()}}
	if err := c.do(ctx, http.MethodGet, "/agent/v1/tasks?"+q.Encode(), nil, &out, wait+30*time.Second); err != nil {
		return nil, err
	}
	return &out, nil
}

// Report sends one sequenced task state.
func (c *Client) Report(ctx context.Context, req ReportRequest) error {
	return c.do(ctx, http.MethodPost, "/agent/v1/report", req, nil, 30*time.Second)
}

// Heartbeat tells the server the agent is alive.
func (c *Client) Heartbeat(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/agent/v1/heartbeat", struct{}{}, nil, 15*time.Second)
}

// Logs ships container output (see LogsRequest).
func (c *Client) Logs(ctx context.Context, req LogsRequest) error {
	return c.do(ctx, http.MethodPost, "/agent/v1/logs", req, nil, 30*time.Second)
}

// Secrets resolves the secrets a task references.
func (c *Client) Secrets(ctx context.Context, req SecretsRequest) (*SecretsResponse, error) {
	var out SecretsResponse
	if err := c.do(ctx, http.MethodPost, "/agent/v1/secrets", req, &out, 30*time.Second); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegistryAuth gets pull credentials for the server's registry.
func (c *Client) RegistryAuth(ctx context.Context, req RegistryAuthRequest) (*RegistryAuthResponse, error) {
	var out RegistryAuthResponse
	if err := c.do(ctx, http.MethodPost, "/agent/v1/registry-auth", req, &out, 30*time.Second); err != nil {
		return nil, err
	}
	return &out, nil
}
