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
			c.it.Close()
		}
	}()
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
		ok, err := c.advance(q.resume, q.desc)
		if err != nil {
			it.Close()
			return res, err
		}
		if ok {
			h.cs = append(h.cs, c)
		}
	}
	heap.Init(h)
	var (
		scanned  int64
		budget   = responseBudget
		last     eventKey
		examined bool // last is set
		all      = q.match.MatchesAll()
	)
	for h.Len() > 0 {
		c := h.cs[0]
		if len(res.events) == q.limit || scanned >= q.scanBudget {
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
			heap.Pop(h)
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
