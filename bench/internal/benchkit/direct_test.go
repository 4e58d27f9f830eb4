package benchkit

import (
	"slices"
	"testing"
)

func TestDiff(t *testing.T) {
	a := map[string]string{"Memory": "67108864", "PortBindings.8080/tcp[0].HostPort": `"32768"`, "Init": "null"}
	b := map[string]string{"Memory": "67108864", "PortBindings.8080/tcp[0].HostPort": `"40000"`, "CpuShares": "256"}
	got := Diff(a, b)
	want := []Difference{
		{Path: "CpuShares", A: "(absent)", B: "256"},
		{Path: "Init", A: "null", B: "(absent)"},
		{Path: "PortBindings.8080/tcp[0].HostPort", A: `"32768"`, B: `"40000"`},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Diff = %+v; want %+v", got, want)
	}
}

func TestFlatten(t *testing.T) {
	doc := map[string]any{"A": map[string]any{"B": []any{1.0, "x"}}, "E": map[string]any{}, "L": []any{}, "N": nil}
	got := map[string]string{}
	flatten("", doc, got)
	want := map[string]string{"A.B[0]": "1", "A.B[1]": `"x"`, "E": "{}", "L": "[]", "N": "null"}
	if len(got) != len(want) {
		t.Errorf("flatten = %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("flatten(...)[%q] = %q; want %q", k, got[k], v)
		}
	}
}
