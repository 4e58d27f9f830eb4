package logs

import (
	"container/heap"
	"errors"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/logs/pattern"
	"github.com/berthhq/berth/internal/logs/store"
)

// filterQuery is one FilterLogEvents call, checked.
type filterQuery struct {
	key          store.GroupKey
	streams      []store.Stream
	minTS, maxTS int64 // inclusive
	resume       *eventKey
	match        *pattern.Pattern
	desc         bool // newest first
	limit        int
	scanBudget   int64
}

type filterResult struct {
	events   []FilteredLogEvent
	searched []SearchedLogStream
	// stoppedAt is the last event examined when the search stopped before
	// the end; nil when it got there.
	stoppedAt *eventKey
}

// filter merges the scans of the query's streams in eventKey order and
// keeps the events that match. Each scan holds at most its read-ahead of
// data, so memory grows with the streams that have events in the range,
// not with their size.
func (a *API) filter(q filterQuery) (filterResult, error) {
	res := filterResult{events: []FilteredLogEvent{}, searched: make([]SearchedLogStream, 0, len(q.streams))}
	minTS, maxTS := q.minTS, q.maxTS
	if r := q.resume; r != nil && q.desc {
		maxTS = min(maxTS, r.ts)
	} else if r != nil {
		minTS = max(minTS, r.ts)
	}
	// Ranks follow names: the merge breaks ties on the timestamp by name.
	slices.SortFunc(q.streams, func(a, b store.Stream) int { return strings.Compare(a.Name, b.Name) })
	readAhead := min(max((8<<20)/max(len(q.streams), 1), 64<<10), 1<<20)
	h := &cursorHeap{desc: q.desc}
	defer func() {
		for _, c := range h.cs {
			c.close()
		}
	}()
	var scanned int64
	for _, s := range q.streams {
		if !s.HasEvents || s.LastEvent < minTS || s.FirstEvent > maxTS || minTS > maxTS {
			continue
		}
		it, err := a.store.Scan(q.key, s.Name, store.ScanOptions{MinTS: minTS, MaxTS: maxTS, Reverse: q.desc, ReadAhead: readAhead})
		if errors.Is(err, errdefs.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return res, err
		}
		c := &cursor{it: it, s: s, rank: len(h.cs)}
		// Asked after the scan took its view of the stream: a batch that
		// broke timestamp order is flagged before it can be seen.
		if now, err := a.store.Stream(q.key, s.Name); err == nil && now.Unordered {
			it.Close()
			c.it = nil
			c.sorted = &sortedScan{
				st: a.store, key: q.key, stream: s.Name, minTS: minTS, maxTS: maxTS, desc: q.desc,
				readAhead: readAhead, maxBytes: 4 * readAhead, batch: sortedBatchMin, scanned: &scanned,
			}
		}
		ok, err := c.advance(q.resume, q.desc)
		if err != nil {
			c.close()
			return res, err
		}
		if ok {
			h.cs = append(h.cs, c)
		} else {
			c.close()
		}
	}
	heap.Init(h)
	var (
		budget   = responseBudget
		last     eventKey
		examined bool // last is set
		all      = q.match.MatchesAll()
	)
	for h.Len() > 0 {
		c := h.cs[0]
		// Stop only after examining an event, so that each call moves the
		// token on however much reading its streams took.
		if len(res.events) == q.limit || (examined && scanned >= q.scanBudget) {
			break
		}
		if all || q.match.Match(c.ev.Message) {
			cost := len(c.ev.Message) + len(c.s.Name) + 128
			if budget-cost < 0 && len(res.events) > 0 {
				break
			}
			budget -= cost
			res.events = append(res.events, FilteredLogEvent{
				LogStreamName: c.s.Name, Timestamp: c.ev.Timestamp, Message: string(c.ev.Message),
				IngestionTime: c.ev.Ingestion, EventID: eventID(c.s.Num, c.ev.Seq),
			})
		}
		scanned += int64(len(c.ev.Message)) + 12
		last, examined = eventKey{ts: c.ev.Timestamp, stream: c.s.Name, seq: c.ev.Seq}, true
		ok, err := c.advance(nil, q.desc)
		if err != nil {
			return res, err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h).(*cursor).close()
		}
	}
	pending := map[string]bool{}
	for _, c := range h.cs {
		pending[c.s.Name] = true
	}
	for _, s := range q.streams {
		res.searched = append(res.searched, SearchedLogStream{LogStreamName: s.Name, SearchedCompletely: !pending[s.Name]})
	}
	if h.Len() > 0 && examined {
		res.stoppedAt = &last
	}
	return res, nil
}

// advance moves the cursor to its stream's next event past resume (when
// not nil: after it, or before it when desc), and reports whether there is
// one.
func (c *cursor) advance(resume *eventKey, desc bool) (bool, error) {
	if ss := c.sorted; ss != nil {
		if resume != nil {
			ss.after = resume
		}
		ev, ok, err := ss.next()
		c.ev = ev
		return ok, err
	}
	for c.it.Next() {
		c.ev = c.it.Event()
		if resume != nil {
			k := eventKey{ts: c.ev.Timestamp, stream: c.s.Name, seq: c.ev.Seq}
			if past := resume.less(k); (!desc && !past) || (desc && !k.less(*resume)) {
				continue
			}
		}
		return true, nil
	}
	return false, c.it.Err()
}

func (c *cursor) close() {
	if c.it != nil {
		c.it.Close()
	}
}

// The batches of a sortedScan: the first is small, so that a query that
// stops early reads little; each next one doubles, up to a bound in events
// (and the scan's bound in bytes of messages).
const (
	sortedBatchMin = 256
	sortedBatchMax = 16384
)

// sortedScan reads a stream whose events are not in timestamp order (its
// batches were not) in the order of the query, by (timestamp, sequence
// number). Each fill scans what is left of the time range and keeps the
// next batch of events, so memory stays bounded whatever the stream holds;
// the price is a scan per batch, paid only by such streams.
type sortedScan struct {
	st           *store.Store
	key          store.GroupKey
	stream       string
	minTS, maxTS int64
	desc         bool
	readAhead    int
	maxBytes     int    // what a batch's messages may hold (one at least)
	scanned      *int64 // the query's bytes read, which fills add to

	after *eventKey     // the last key returned, or where the query resumes
	buf   []store.Event // the current batch, in the query's order
	done  bool          // nothing is left past buf
	batch int
}

// first reports whether a comes before b in the query's order.
func (ss *sortedScan) first(a, b eventKey) bool {
	if ss.desc {
		return b.less(a)
	}
	return a.less(b)
}

func (ss *sortedScan) keyOf(e store.Event) eventKey {
	return eventKey{ts: e.Timestamp, stream: ss.stream, seq: e.Seq}
}

func (ss *sortedScan) next() (store.Event, bool, error) {
	for len(ss.buf) == 0 {
		if ss.done {
			return store.Event{}, false, nil
		}
		if err := ss.fill(); err != nil {
			return store.Event{}, false, err
		}
	}
	ev := ss.buf[0]
	ss.buf = ss.buf[1:]
	k := ss.keyOf(ev)
	ss.after = &k
	return ev, true, nil
}

// fill reads the next batch: the events past after in the query's order,
// as many as the batch holds.
func (ss *sortedScan) fill() error {
	lo, hi := ss.minTS, ss.maxTS
	if a := ss.after; a != nil && ss.desc {
		hi = min(hi, a.ts)
	} else if a != nil {
		lo = max(lo, a.ts)
	}
	if lo > hi {
		ss.done = true
		return nil
	}
	it, err := ss.st.Scan(ss.key, ss.stream, store.ScanOptions{MinTS: lo, MaxTS: hi, Reverse: ss.desc, ReadAhead: ss.readAhead})
	if errors.Is(err, errdefs.ErrNotFound) {
		ss.done = true // deleted meanwhile
		return nil
	}
	if err != nil {
		return err
	}
	defer it.Close()
	// A heap of the batch with its farthest event on top; bound is the
	// nearest event left out, from which on the next fill starts.
	h := &farthestFirst{ss: ss}
	var (
		size  int
		bound *eventKey
	)
	for it.Next() {
		ev := it.Event()
		*ss.scanned += int64(len(ev.Message)) + 12
		k := ss.keyOf(ev)
		if (ss.after != nil && !ss.first(*ss.after, k)) || (bound != nil && !ss.first(k, *bound)) {
			continue
		}
		if len(h.evs) >= ss.batch && !ss.first(k, ss.keyOf(h.evs[0])) {
			bound = &k
			continue
		}
		ev.Message = slices.Clone(ev.Message)
		heap.Push(h, ev)
		size += len(ev.Message)
		for len(h.evs) > ss.batch || (size > ss.maxBytes && len(h.evs) > 1) {
			far := heap.Pop(h).(store.Event)
			size -= len(far.Message)
			k := ss.keyOf(far)
			bound = &k
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	ss.buf = h.evs
	slices.SortFunc(ss.buf, func(a, b store.Event) int {
		if ss.first(ss.keyOf(a), ss.keyOf(b)) {
			return -1
		}
		return 1
	})
	ss.done = bound == nil
	ss.batch = min(ss.batch*2, sortedBatchMax)
	return nil
}

// farthestFirst is a heap of events with the last in the query's order on
// top.
type farthestFirst struct {
	ss  *sortedScan
	evs []store.Event
}

func (h *farthestFirst) Len() int { return len(h.evs) }
func (h *farthestFirst) Less(i, j int) bool {
	return h.ss.first(h.ss.keyOf(h.evs[j]), h.ss.keyOf(h.evs[i]))
}
func (h *farthestFirst) Swap(i, j int) { h.evs[i], h.evs[j] = h.evs[j], h.evs[i] }
func (h *farthestFirst) Push(x any)    { h.evs = append(h.evs, x.(store.Event)) }
func (h *farthestFirst) Pop() any {
	e := h.evs[len(h.evs)-1]
	h.evs = h.evs[:len(h.evs)-1]
	return e
}
