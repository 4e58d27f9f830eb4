package runtask

import (
	"math"
	"slices"
	"testing"

	"github.com/berthhq/berth/bench/internal/benchkit"
)

// summary is the distribution of one measure of one arm, in ms.
type summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Min    float64 `json:"min_ms"`
	Max    float64 `json:"max_ms"`
}

func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{Median: math.NaN(), P90: math.NaN(), P99: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	return summary{N: len(xs), Median: benchkit.Median(xs), P90: benchkit.Quantile(xs, 0.9), P99: benchkit.Quantile(xs, 0.99),
		Min: slices.Min(xs), Max: slices.Max(xs)}
}

func TestDiffFields(t *testing.T) {
	berth := map[string]string{"Memory": "67108864", "PortBindings.8080/tcp[0].HostPort": `"32768"`, "Init": "null"}
	direct := map[string]string{"Memory": "67108864", "PortBindings.8080/tcp[0].HostPort": `"40000"`, "CpuShares": "256"}
	got := diffFields(berth, direct, explainHostConfig)
	want := []fieldDiff{
		{Path: "CpuShares", Berth: "(absent)", Direct: "256"},
		{Path: "Init", Berth: "null", Direct: "(absent)"},
		{Path: "PortBindings.8080/tcp[0].HostPort", Berth: `"32768"`, Direct: `"40000"`, Explanation: explainHostConfig("PortBindings.8080/tcp[0].HostPort")},
	}
	if !slices.Equal(got, want) {
		t.Errorf("diffFields = %+v; want %+v", got, want)
	}
}

func TestNormalizeOp(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"POST", "/v1.41/containers/create", "POST /containers/create"},
		{"POST", "/v1.41/containers/0123abcd/start", "POST /containers/{id}/start"},
		{"GET", "/v1.41/containers/json", "GET /containers/json"},
		{"GET", "/v1.41/images/berth-testapp:20c3/json", "GET /images/{ref}/json"},
		{"GET", "/v1.41/images/registry.example/team/app:1/json", "GET /images/{ref}/json"},
		{"POST", "/v1.41/images/create", "POST /images/create"},
		{"HEAD", "/_ping", "HEAD /_ping"},
	}
	for _, tt := range tests {
		if got := normalizeOp(tt.method, tt.path); got != tt.want {
			t.Errorf("normalizeOp(%s, %s) = %q; want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
