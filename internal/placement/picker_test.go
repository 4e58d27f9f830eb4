package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestPickerMatchesChoose places random requests, with chains the picker
// takes and chains it does not, on random clusters both ways: with the
// picker and with a pass over the feasible instances per placement. The
// placements, failures and draws must be the same.
func TestPickerMatchesChoose(t *testing.T) {
	strategies := []Strategy{
		{Type: Binpack, Field: "cpu"}, {Type: Binpack, Field: "memory"}, {Type: Random},
		{Type: Spread, Field: "instanceId"}, {Type: Spread, Field: "attribute:zone"},
		{Type: Spread, Field: "attribute:id"}, {Type: Spread, Field: "attribute:none"}, {Type: "unknown"},
	}
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 11))
		n := []int{1, 2, 5, 30, 200}[seed%5]
		cands := make([]Candidate, n)
		for k := range cands {
			key := fmt.Sprintf("i%04d", r.IntN(3*n))
			cands[k] = Candidate{
				Key: key, ARN: key, Eligible: r.IntN(10) > 0,
				CPU: int64(256 * (1 + r.IntN(4))), Memory: int64(512 * (1 + r.IntN(4))),
				Groups: map[string]int{"g": r.IntN(3)},
				Query:  &Instance{Attributes: map[string]string{"id": fmt.Sprint(r.IntN(2 * n))}},
			}
			if r.IntN(8) > 0 {
				cands[k].Query.Attributes["zone"] = fmt.Sprint(r.IntN(4))
			}
			cands[k].UsedCPU = r.Int64N(cands[k].CPU/2 + 1)
			cands[k].UsedMemory = r.Int64N(cands[k].Memory/2 + 1)
		}
		for call := range 60 {
			req := Request{CPU: r.Int64N(300), Memory: r.Int64N(600), Group: "g", Count: 1 + r.IntN(40)}
			if r.IntN(5) == 0 {
				req.Constraints = []Constraint{{Type: DistinctInstance}}
			}
			for range r.IntN(5) {
				req.Strategies = append(req.Strategies, strategies[r.IntN(len(strategies))])
			}
			var rnd1, rnd2 *rand.Rand
			if r.IntN(4) > 0 {
				rnd1, rnd2 = rand.New(rand.NewPCG(seed, uint64(call))), rand.New(rand.NewPCG(seed, uint64(call)))
			}
			gotP, gotF := place(cands, req, rnd1, true)
			wantP, wantF := place(cands, req, rnd2, false)
			if !slices.Equal(gotP, wantP) || !slices.Equal(gotF, wantF) {
				t.Fatalf("seed %d call %d: Place(%+v) = %v, %v; want %v, %v", seed, call, req, gotP, gotF, wantP, wantF)
			}
			if rnd1 != nil && rnd1.Uint64() != rnd2.Uint64() {
				t.Fatalf("seed %d call %d: Place(%+v) drew differently from rnd", seed, call, req)
			}
			for _, p := range gotP {
				c := &cands[slices.IndexFunc(cands, func(c Candidate) bool { return c.Key == p.Key })]
				c.UsedCPU += req.CPU
				c.UsedMemory += req.Memory
				c.Groups["g"]++
			}
			if c := &cands[r.IntN(n)]; r.IntN(3) == 0 {
				c.UsedCPU, c.UsedMemory = 0, 0
			}
		}
	}
}

// TestKeyOrder compares keyOrder with a stable sort on keys that share
// prefixes of every length, repeat, and differ past the sorted head.
func TestKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{2, 3, 10, 255, 256, 257, 1000, 70000} {
		cands := make([]Candidate, n)
		for k := range cands {
			key := "acct\x00region\x00"
			for range r.IntN(4) {
				key += string(rune('a' + r.IntN(3)))
			}
			if r.IntN(2) == 0 {
				key += "same-long-part-of-the-key"
			}
			cands[k].Key = key + fmt.Sprint(r.IntN(n))
		}
		want := make([]int32, n)
		for k := range want {
			want[k] = int32(k)
		}
		slices.SortStableFunc(want, func(a, b int32) int { return strings.Compare(cands[a].Key, cands[b].Key) })
		got := keyOrder(cands, new(scratch))
		if got == nil { // in Key order already
			got = make([]int32, n)
			for k := range got {
				got[k] = int32(k)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("keyOrder(%d keys) differs from a stable sort", n)
		}
	}
}
