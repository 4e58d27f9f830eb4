package runtask

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// quantile is the q-quantile of xs by linear interpolation between order
// statistics (Hyndman & Fan type 7, as R and NumPy default). xs need not be
// sorted; NaN for none.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

func median(xs []float64) float64 { return quantile(xs, 0.5) }

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
	return summary{N: len(xs), Median: median(xs), P90: quantile(xs, 0.9), P99: quantile(xs, 0.99),
		Min: slices.Min(xs), Max: slices.Max(xs)}
}

// ratioCI is a percentile-bootstrap 95 % interval of median(a)/median(b),
// resampling each arm independently; fixed seed, so reruns on the same
// numbers agree.
func ratioCI(a, b []float64) (lo, hi float64) {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN(), math.NaN()
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	ratios := make([]float64, n)
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	for i := range ratios {
		for j := range ra {
			ra[j] = a[r.IntN(len(a))]
		}
		for j := range rb {
			rb[j] = b[r.IntN(len(b))]
		}
		ratios[i] = median(ra) / median(rb)
	}
	return quantile(ratios, 0.025), quantile(ratios, 0.975)
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9.1},
		{[]float64{5}, 0.9, 5},
		{[]float64{1, 2}, 1, 2},
		{[]float64{1, 2}, 0, 1},
	}
	for _, tt := range tests {
		if got := quantile(tt.xs, tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v, %v) = %v; want %v", tt.xs, tt.q, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("quantile(nil, 0.5) = %v; want NaN", got)
	}
}

func TestRatioCI(t *testing.T) {
	a := []float64{110, 120, 115, 118, 112, 121, 119, 117, 116, 114}
	b := []float64{100, 101, 99, 102, 98, 100, 103, 97, 100, 101}
	lo, hi := ratioCI(a, b)
	point := median(a) / median(b)
	if !(lo <= point && point <= hi) || lo < 1 || hi > 1.3 {
		t.Errorf("ratioCI = [%v, %v]; want an interval around %v within [1, 1.3]", lo, hi, point)
	}
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
