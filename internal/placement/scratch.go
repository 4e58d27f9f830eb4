package placement

import "sync"

// scratch is the memory of one Place call, kept for the next: calls come
// often, on clusters of the same size, and at thousands of instances
// allocating it anew each time costs more in collection than the work.
type scratch struct {
	slots    []slot
	keys     []uint64 // keyOrder
	order    []int32  // keyOrder's result
	bucket   []int32  // the first strategy's spread buckets
	feasible []int32
	picker   []int32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// put returns sc to the pool, without the candidates and maps its slots
// point to.
func (sc *scratch) put() {
	clear(sc.slots)
	scratchPool.Put(sc)
}

// grow sets *s to n long, reallocating when its capacity is short; what it
// holds is left as it was.
func grow[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	}
	*s = (*s)[:n]
	return *s
}
