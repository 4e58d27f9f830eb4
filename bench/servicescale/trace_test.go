package servicescale

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/bench/internal/benchkit"
)

var (
	versionPrefix = regexp.MustCompile(`^/v[0-9.]+`)
	hexID         = regexp.MustCompile(`/[0-9a-f]{64}`)
)

// normalizeOp turns "POST /v1.41/containers/<id>/start" into
// "POST /containers/{id}/start" and image references into {ref}.
func normalizeOp(method, path string) string {
	path = versionPrefix.ReplaceAllString(path, "")
	path = hexID.ReplaceAllString(path, "/{id}")
	if rest, ok := strings.CutPrefix(path, "/images/"); ok && rest != "create" && rest != "json" {
		if i := strings.LastIndex(rest, "/"); i >= 0 {
			path = "/images/{ref}" + rest[i:]
		}
	}
	return method + " " + path
}

// traceSummary counts the calls that started within [from, to] by
// operation, with their median and maximum duration.
func traceSummary(p *benchkit.TraceProxy, from, to time.Time) string {
	byOp := map[string][]float64{}
	for _, c := range p.Between(from, to) {
		op := normalizeOp(c.Method, c.Path)
		byOp[op] = append(byOp[op], ms(c.Start, c.End))
	}
	var parts []string
	for _, op := range slices.Sorted(func(yield func(string) bool) {
		for k := range byOp {
			if !yield(k) {
				return
			}
		}
	}) {
		d := byOp[op]
		parts = append(parts, fmt.Sprintf("%s ×%d (median %.0f ms, max %.0f ms)", op, len(d), benchkit.Median(d), slices.Max(d)))
	}
	return strings.Join(parts, "; ")
}
