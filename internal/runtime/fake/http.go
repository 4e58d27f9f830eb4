package fake

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// HTTPGet answers a GET of target (path and query) sent to 127.0.0.1:hostPort
// on the host, as a real client would see it: the request goes to the running
// container that binds hostPort/tcp (or runs in host network mode), and is
// answered by its testapp -listen server. Without such a listener the error
// wraps syscall.ECONNREFUSED.
//
// /sleep waits for its duration on the fake's clock; /metadata really GETs
// the container's ECS_CONTAINER_METADATA_URI_V4, so tests can point it at an
// in-process endpoint.
func (f *Fake) HTTPGet(ctx context.Context, hostPort int, target string) (status int, body []byte, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return 0, nil, err
	}
	f.mu.Lock()
	if err := f.up(); err != nil {
		f.mu.Unlock()
		return 0, nil, err
	}
	c := f.listener(hostPort)
	if c == nil {
		f.mu.Unlock()
		return 0, nil, fmt.Errorf("dial tcp 127.0.0.1:%d: %w", hostPort, syscall.ECONNREFUSED)
	}
	metadata := lookupEnv(c.env, "ECS_CONTAINER_METADATA_URI_V4")
	status, text := c.serve(u.Path, now())
	f.mu.Unlock()

	switch u.Path {
	case "/sleep":
		d, err := time.ParseDuration(u.Query().Get("d"))
		if err != nil {
			return http.StatusBadRequest, []byte(err.Error() + "\n"), nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return http.StatusOK, fmt.Appendf(nil, "slept %s\n", d), nil
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	case "/metadata":
		if metadata == "" {
			return http.StatusServiceUnavailable, []byte("ECS_CONTAINER_METADATA_URI_V4 is not set\n"), nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, metadata+u.Query().Get("path"), nil)
		if err != nil {
			return http.StatusBadRequest, []byte(err.Error() + "\n"), nil
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return http.StatusBadGateway, []byte(err.Error() + "\n"), nil
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	return status, []byte(text), nil
}

// listener is the running testapp container that a connection to hostPort
// reaches, or nil.
func (f *Fake) listener(hostPort int) *container {
	for _, c := range f.sortedContainers() {
		if !c.running() || c.app == nil {
			continue
		}
		if c.spec.NetworkMode == "host" && c.app.ListenPort() == hostPort {
			return c
		}
		for _, b := range c.ports {
			if b.Protocol == "tcp" && b.HostPort == hostPort && b.ContainerPort == c.app.ListenPort() {
				return c
			}
		}
	}
	return nil
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
