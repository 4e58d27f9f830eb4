package placement

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/place_golden.txt from the current Place")

// TestPlaceGolden places a long random workload (every strategy and
// constraint, static ports, ineligible instances, missing attributes,
// duplicate keys, failures) in chained calls and compares every placement
// and failure with testdata/place_golden.txt, recorded from the
// implementation before it was optimised: speed-ups must not change a
// decision, a random draw or a failure.
func TestPlaceGolden(t *testing.T) {
	var out bytes.Buffer
	for seed := range uint64(18) {
		goldenRun(&out, seed)
	}
	goldenBench(&out, 300, 3000)
	path := filepath.Join("testdata", "place_golden.txt")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(out.String(), "\n")
	wantLines := strings.Split(string(want), "\n")
	for k := range min(len(got), len(wantLines)) {
		if got[k] != wantLines[k] {
			t.Fatalf("line %d:\n got %s\nwant %s", k+1, got[k], wantLines[k])
		}
	}
	if len(got) != len(wantLines) {
		t.Fatalf("%d lines; want %d", len(got), len(wantLines))
	}
}

// goldenBench writes the placements of BenchmarkPlace's workload, with
// the candidates in registration order.
func goldenBench(out *bytes.Buffer, n, m int) {
	bc := newBenchCluster(n, 1)
	rnd := rand.New(rand.NewPCG(1, 3))
	for call, req := range benchWorkload(m, 1) {
		placed, fails := Place(bc.cands, req, rnd)
		fmt.Fprintf(out, "bench/%d:", call)
		for _, p := range placed {
			fmt.Fprintf(out, " %s", p.Key[len(p.Key)-6:])
			bc.record(p.Key, &req)
		}
		for _, f := range fails {
			fmt.Fprintf(out, " !%s:%s", f.ARN[len(f.ARN)-6:], f.Reason)
		}
		out.WriteByte('\n')
	}
}

// goldenRun writes one seed's calls and their outcomes.
func goldenRun(out *bytes.Buffer, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	groups := []string{"service:web", "service:api", "family:batch", "family:db", ""}
	zones := []string{"z1", "z2", "z3", "z4"}
	types := []string{"m5.large", "m5.xlarge", "c5.large", "t3.micro"}
	n := []int{0, 3, 20, 60, 150, 400}[seed%6]

	cands := make([]Candidate, n)
	for k := range cands {
		key := fmt.Sprintf("i%03d", r.IntN(n*3))
		c := Candidate{
			Key: key, ARN: "arn/" + key + fmt.Sprint("/", k), Eligible: r.IntN(12) > 0,
			CPU: int64(512 * (1 + r.IntN(8))), Memory: int64(1024 * (1 + r.IntN(8))),
		}
		if r.IntN(20) > 0 {
			attrs := map[string]string{"ecs.instance-type": types[r.IntN(len(types))], "cap": ""}
			if r.IntN(10) > 0 {
				attrs[azAttr] = zones[r.IntN(len(zones))]
			}
			if r.IntN(2) == 0 {
				attrs["rack"] = fmt.Sprint(r.IntN(5))
			}
			c.Query = &Instance{EC2InstanceID: "i-" + key, AgentConnected: c.Eligible, Attributes: attrs}
		}
		if r.IntN(10) > 0 {
			c.PortsTCP = map[int32]bool{22: true}
			c.PortsUDP = map[int32]bool{}
			c.Groups = map[string]int{}
		}
		c.UsedCPU, c.UsedMemory = r.Int64N(c.CPU/2+1), r.Int64N(c.Memory/2+1)
		cands[k] = c
	}
	if r.IntN(2) == 0 {
		slices.SortStableFunc(cands, func(a, b Candidate) int { return strings.Compare(a.Key, b.Key) })
	}
	index := map[string][]int{}
	for k := range cands {
		index[cands[k].Key] = append(index[cands[k].Key], k)
	}

	strategies := []Strategy{
		{Type: Binpack, Field: "cpu"}, {Type: Binpack, Field: "MEMORY"}, {Type: Random},
		{Type: Spread, Field: "instanceId"}, {Type: Spread, Field: "host"},
		{Type: Spread, Field: "attribute:" + azAttr}, {Type: Spread, Field: "attribute:rack"},
		{Type: Spread, Field: "attribute:ecs.instance-type"}, {Type: Spread, Field: "attribute:none"},
		{Type: "unknown"},
	}
	constraints := []Constraint{
		{Type: DistinctInstance},
		{Type: MemberOf, Expression: "attribute:ecs.instance-type =~ m5.*"},
		{Type: MemberOf, Expression: "attribute:" + azAttr + " in [z1, z2]"},
		{Type: MemberOf, Expression: "not(task:group == service:web)"},
		{Type: MemberOf, Expression: "task:group == service:api or attribute:rack exists"},
		{Type: MemberOf, Expression: "ec2InstanceId != i-i001 and attribute:cap exists"},
		{Type: MemberOf, Expression: "attribute:x =="},
		{Type: "unknown"},
	}
	rnd := rand.New(rand.NewPCG(seed, 7))
	for call := range 150 {
		req := Request{
			CPU: r.Int64N(600), Memory: r.Int64N(1200), Group: groups[r.IntN(len(groups))], Count: r.IntN(16),
		}
		if r.IntN(4) == 0 {
			req.PortsTCP = []int32{0, int32(80 + r.IntN(3))}
		}
		if r.IntN(6) == 0 {
			req.PortsUDP = []int32{int32(53 + r.IntN(2))}
		}
		for range r.IntN(3) {
			if r.IntN(4) == 0 {
				req.Constraints = append(req.Constraints, constraints[0])
			} else {
				req.Constraints = append(req.Constraints, constraints[r.IntN(len(constraints))])
			}
		}
		for range r.IntN(4) {
			req.Strategies = append(req.Strategies, strategies[r.IntN(len(strategies))])
		}
		useRnd := rnd
		if r.IntN(5) == 0 {
			useRnd = nil
		}
		placed, fails := Place(cands, req, useRnd)
		fmt.Fprintf(out, "%d/%d:", seed, call)
		for _, p := range placed {
			fmt.Fprintf(out, " %s", p.Key)
		}
		if len(fails) > 0 {
			fmt.Fprintf(out, " !%s:%s", fails[0].ARN, fails[0].Reason)
			for _, f := range fails[1:] {
				if f != fails[0] {
					fmt.Fprintf(out, " !%s:%s", f.ARN, f.Reason)
				}
			}
			fmt.Fprintf(out, " x%d", len(fails))
		}
		out.WriteByte('\n')

		// The next call sees what this one placed, on the first candidate
		// of each key (whichever Place chose, the test only needs the
		// state to move).
		for _, p := range placed {
			c := &cands[index[p.Key][0]]
			c.UsedCPU += req.CPU
			c.UsedMemory += req.Memory
			if c.Groups == nil {
				c.Groups = map[string]int{}
			}
			if c.Groups[req.Group] == 0 && c.Query != nil && req.Group != "" {
				c.Query.TaskGroups = append(c.Query.TaskGroups, req.Group)
			}
			c.Groups[req.Group]++
			for _, port := range req.PortsTCP {
				if port != 0 && c.PortsTCP != nil {
					c.PortsTCP[port] = true
				}
			}
		}
		// Now and then an instance frees resources or changes state.
		for k := 0; n > 0 && k < 1+n/20; k++ {
			c := &cands[r.IntN(n)]
			c.UsedCPU, c.UsedMemory = 0, 0
			if r.IntN(4) == 0 {
				c.Eligible = !c.Eligible
			}
		}
	}
}
