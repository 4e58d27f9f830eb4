package placement

import (
	"math/rand/v2"
	"slices"
)

// maxPickerBuckets bounds the values of a spread attribute the picker
// takes: it looks at every bucket on each placement.
const maxPickerBuckets = 64

// picker chooses as choose does, without a pass over the feasible slots on
// each placement. It takes the strategy chains most requests use: at most
// one spread on an attribute, first, then spread(instanceId) and binpack in
// any order, up to a random or the end.
//
// The spread buckets partition the feasible slots, and a placement changes
// only the slot that took the task and its bucket's count. So each bucket
// keeps its slots in Key order and, apart, those of lowest instance scores
// (the best); a placement looks at each bucket's best, and afterwards
// fixes up the taken slot's bucket alone, scanning the bucket again only
// when its best empties.
type picker struct {
	slots   []slot
	kinds   []strategyKind // the instance-level strategies, in order
	spread  *spreadCounts  // nil: one bucket
	members [][]int32      // per bucket: its feasible slots in Key order
	best    [][]int32      // per bucket: the members of lowest scores, in Key order; cap is the member count
	tied    [][]int32      // scratch: the best of the buckets tied on every strategy
	scores  [MaxStrategies]int64
}

// newPicker returns a picker for strats over the feasible slots, or nil
// when the chain is not one it takes. It keeps its slot lists in buf,
// 2*len(feasible) long.
func newPicker(slots []slot, strats []strategy, spreads []spreadCounts, feasible, buf []int32) *picker {
	p := &picker{slots: slots}
	for k, st := range strats {
		switch st.kind {
		case none:
			continue
		case random:
		case spreadAttribute:
			if p.spread != nil || len(p.kinds) > 0 || len(spreads[k].counts) > maxPickerBuckets {
				return nil
			}
			p.spread = &spreads[k]
			continue
		default:
			if len(p.kinds) == MaxStrategies {
				return nil
			}
			p.kinds = append(p.kinds, st.kind)
			continue
		}
		break // random: the strategies after it are never reached
	}
	nb := 1
	if p.spread != nil {
		nb = len(p.spread.counts)
	}
	start := make([]int, nb+1)
	for _, i := range feasible {
		start[p.bucket(i)+1]++
	}
	for b := range nb {
		start[b+1] += start[b]
	}
	p.members, p.best = make([][]int32, nb), make([][]int32, nb)
	for b := range nb {
		p.members[b] = buf[start[b]:start[b]:start[b+1]]
		p.best[b] = buf[len(feasible)+start[b] : len(feasible)+start[b] : len(feasible)+start[b+1]]
	}
	for _, i := range feasible {
		b := p.bucket(i)
		p.members[b] = append(p.members[b], i)
	}
	for b := range int32(nb) {
		p.rescan(b)
	}
	p.tied = make([][]int32, 0, nb)
	return p
}

func (p *picker) bucket(i int32) int32 {
	if p.spread == nil {
		return 0
	}
	return p.spread.bucket[i]
}

func (p *picker) score(i int32, kind strategyKind) int64 {
	s := &p.slots[i]
	switch kind {
	case binpackCPU:
		return s.c.CPU - s.usedCPU
	case binpackMemory:
		return s.c.Memory - s.usedMemory
	}
	return int64(s.n) // spreadInstance
}

// compare orders slots i and j by the instance-level strategies.
func (p *picker) compare(i, j int32) int {
	for _, kind := range p.kinds {
		a, b := p.score(i, kind), p.score(j, kind)
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

// rescan finds bucket b's best among its members.
func (p *picker) rescan(b int32) {
	best := p.best[b][:0]
	for _, i := range p.members[b] {
		if len(best) > 0 {
			c := p.compare(i, best[0])
			if c > 0 {
				continue
			}
			if c < 0 {
				best = best[:0]
			}
		}
		best = append(best, i)
	}
	p.best[b] = best
}

// choose returns the slot choose would: the ties it leaves are the best of
// the buckets of lowest count whose best score lowest, and rnd draws among
// them in Key order. It remembers the chosen slot's scores for taken.
func (p *picker) choose(rnd *rand.Rand) int32 {
	tied := p.tied[:0]
	if p.spread == nil {
		tied = append(tied, p.best[0])
	} else {
		low := -1
		for b, best := range p.best {
			if len(best) == 0 {
				continue
			}
			switch n := p.spread.counts[b]; {
			case low < 0 || n < low:
				low = n
				tied = append(tied[:0], best)
			case n == low:
				tied = append(tied, best)
			}
		}
	}
	if len(tied) > 1 && len(p.kinds) > 0 {
		keep := tied[:1]
		for _, best := range tied[1:] {
			switch c := p.compare(best[0], keep[0][0]); {
			case c < 0:
				keep = append(keep[:0], best)
			case c == 0:
				keep = append(keep, best)
			}
		}
		tied = keep
	}
	p.tied = tied
	n := 0
	for _, best := range tied {
		n += len(best)
	}
	i := nth(tied, pick(n, rnd))
	for k, kind := range p.kinds {
		p.scores[k] = p.score(i, kind)
	}
	return i
}

// nth returns the r-th smallest slot of lists, sorted and disjoint.
func nth(lists [][]int32, r int) int32 {
	if len(lists) == 1 {
		return lists[0][r]
	}
	// The least i with more than r slots up to it.
	lo, hi := int32(0), int32(0)
	for _, l := range lists {
		hi = max(hi, l[len(l)-1])
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		n := 0
		for _, l := range lists {
			at, _ := slices.BinarySearch(l, mid+1)
			n += at
		}
		if n > r {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// taken fixes up the picker after slot i, the one choose returned, took a
// task; feasible is whether it can take another.
func (p *picker) taken(i int32, feasible bool) {
	b := p.bucket(i)
	if !feasible {
		at, _ := slices.BinarySearch(p.members[b], i)
		p.members[b] = slices.Delete(p.members[b], at, at+1)
	}
	c := 0
	for k, kind := range p.kinds {
		if s := p.score(i, kind); s != p.scores[k] {
			c = -1
			if s > p.scores[k] {
				c = 1
			}
			break
		}
	}
	switch {
	case feasible && c < 0:
		// Better than all the others: i was among the best.
		p.best[b] = append(p.best[b][:0], i)
		return
	case feasible && c == 0:
		return
	}
	best := p.best[b]
	at, _ := slices.BinarySearch(best, i)
	p.best[b] = slices.Delete(best, at, at+1)
	if len(p.best[b]) == 0 {
		p.rescan(b)
	}
}
