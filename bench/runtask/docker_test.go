package runtask

import (
	"net"
	"strings"

	"github.com/berthhq/berth/bench/internal/benchkit"
)

// freePorts returns n distinct TCP ports that are free on all addresses now.
// All n are held open together, so they differ.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// fieldDiff is one path whose value differs between two containers.
type fieldDiff struct {
	Path        string `json:"path"`
	Berth       string `json:"berth"`
	Direct      string `json:"direct"`
	Explanation string `json:"explanation"` // "" when nothing explains it
}

// diffFields compares two flattened documents; explain names why a path may
// differ, or "".
func diffFields(berth, direct map[string]string, explain func(path string) string) []fieldDiff {
	var out []fieldDiff
	for _, d := range benchkit.Diff(berth, direct) {
		out = append(out, fieldDiff{Path: d.Path, Berth: d.A, Direct: d.B, Explanation: explain(d.Path)})
	}
	return out
}

// explainHostConfig says why a HostConfig path may differ between the agent's
// container and the direct one.
func explainHostConfig(path string) string {
	if strings.HasPrefix(path, "PortBindings.") && strings.HasSuffix(path, ".HostPort") {
		return "the host port: the agent's dynamic pick from the ephemeral range vs the free port the benchmark picked (same container port, protocol and host IP)"
	}
	return ""
}

// explainConfig says why a Config path may differ.
func explainConfig(path string) string {
	switch {
	case strings.HasPrefix(path, "Labels.berth.") || strings.HasPrefix(path, "Labels.com.amazonaws.ecs."):
		return "the agent's own labels (berth.* and com.amazonaws.ecs.*), expected"
	case strings.HasPrefix(path, "Env"):
		return "the agent's task environment (AWS_*, ECS_CONTAINER_METADATA_URI_V4) and Docker's PATH default; no effect on create/start cost"
	case path == "Hostname":
		return "Docker's default hostname is the container's short ID"
	}
	return ""
}

// normalizeOp turns "POST /v1.41/containers/abc/start" into
// "POST /containers/{id}/start".
func normalizeOp(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "v1.") {
		parts = parts[1:]
	}
	if len(parts) >= 2 {
		switch parts[0] {
		case "containers":
			if parts[1] != "json" && parts[1] != "create" && parts[1] != "prune" {
				parts[1] = "{id}"
			}
		case "images":
			if parts[1] != "json" && parts[1] != "create" && parts[1] != "prune" {
				// A reference may contain slashes: keep only the last part.
				parts = []string{"images", "{ref}", parts[len(parts)-1]}
			}
		}
	}
	return method + " /" + strings.Join(parts, "/")
}
