package main

import (
	"strings"
	"testing"
)

func TestAgentWithoutDocker(t *testing.T) {
	bin := berthBinary(t)
	_, stderr, code := runBerth(t, bin, "agent", "--docker-host", "tcp://127.0.0.1:1", "--data-dir", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "cannot reach the Docker engine") || !strings.Contains(stderr, "--docker-host") || !strings.Contains(stderr, "DOCKER_HOST") {
		t.Errorf("berth agent without an engine = exit %d, stderr %q; want a failure saying so and how to point it at one", code, stderr)
	}
	_, stderr, code = runBerth(t, bin, "agent")
	if code == 0 || !strings.Contains(stderr, "--data-dir") {
		t.Errorf("berth agent without --data-dir = exit %d, stderr %q; want a failure naming the flag", code, stderr)
	}
}
