package store

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"sync"
)

// Event is a stored log event.
type Event struct {
	Seq       uint64 // the event's sequence number in its stream, from 1
	Timestamp int64  // ms since the epoch
	Ingestion int64  // ms since the epoch
	// Message is valid until the next call of the iterator's Next.
	Message []byte
}

// ScanOptions select the events of a stream a scan returns.
type ScanOptions struct {
	From   uint64 // the first sequence number returned
	Before uint64 // sequence numbers from here on are left out; 0: none
	MinTS  int64  // events older are left out
	MaxTS  int64  // events newer are left out; 0: none
	// Reverse returns the events from the last to the first.
	Reverse bool
	// ReadAhead is the most a forward scan reads at once (default 1 MiB).
	// It starts small, so that a scan that stops early reads little.
	ReadAhead int
}

// Iter iterates over a stream's events, reading them from disk as it goes.
// Close it when done.
type Iter struct {
	files *fileCache
	opt   ScanOptions

	segs []segRef // in the order of the scan
	si   int      // next segment in segs
	seg  *segRef  // current segment
	h    *handle
	sp   []span // the current segment's spans left, in the order of the scan

	// Forward: a window of the file over the records being read.
	buf       []byte
	bufOff    int64 // file offset of buf[0]
	pos       int64 // file offset of the next record
	runEnd    int64 // end of the run of spans being read
	readAhead int

	// The record being read, forward.
	rec      []byte
	recSeq   uint64
	recIng   int64
	recCount uint32
	recIdx   uint32
	recPos   int

	// Reverse: the events of the span being read, returned from the end.
	rev []Event

	ev   Event
	err  error
	done bool
}

type segRef struct {
	meta  segMeta
	spans []span // nil: read the index when the scan gets there
}

// Scan returns an iterator over a stream's events in sequence order (the
// order they were appended in).
func (s *Store) Scan(key GroupKey, name string, opt ScanOptions) (*Iter, error) {
	st, err := s.stream(key, name)
	if err != nil {
		return nil, err
	}
	if opt.MaxTS == 0 {
		opt.MaxTS = math.MaxInt64
	}
	if opt.ReadAhead <= 0 {
		opt.ReadAhead = 1 << 20
	}
	v := st.view.Load()
	it := &Iter{files: s.files, opt: opt, readAhead: min(16<<10, opt.ReadAhead)}
	for _, m := range v.sealed {
		it.segs = append(it.segs, segRef{meta: m})
	}
	if a := v.active; a != nil && a.meta.count > 0 {
		it.segs = append(it.segs, segRef{meta: a.meta, spans: a.spans})
	}
	// Leave out whole segments outside the range.
	it.segs = slices.DeleteFunc(it.segs, func(r segRef) bool {
		m := r.meta
		return m.count == 0 || m.firstSeq+m.count <= opt.From || (opt.Before != 0 && m.firstSeq >= opt.Before) ||
			m.maxTS < opt.MinTS || m.minTS > opt.MaxTS
	})
	if opt.Reverse {
		slices.Reverse(it.segs)
	}
	return it, nil
}

// Event returns the event Next moved to.
func (it *Iter) Event() Event { return it.ev }

// Err returns the error that ended the scan, if any.
func (it *Iter) Err() error { return it.err }

// Close releases the iterator's file and buffer.
func (it *Iter) Close() {
	if it.h != nil {
		it.files.release(it.h)
		it.h = nil
	}
	putBuf(it.buf)
	it.buf, it.rev, it.rec, it.ev = nil, nil, nil, Event{}
	it.done = true
}

// bufPool recycles the read buffers of scans: queries start many.
var bufPool sync.Pool

// getBuf returns a buffer of at least n bytes, its capacity a power of two.
func getBuf(n int) []byte {
	if p, ok := bufPool.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:0]
	} else if ok {
		bufPool.Put(p)
	}
	return make([]byte, 0, 1<<bits.Len(uint(n-1)))
}

func putBuf(b []byte) {
	if cap(b) > 0 {
		bufPool.Put(&b)
	}
}

// Next moves to the next event and reports whether there is one.
func (it *Iter) Next() bool {
	if it.done {
		return false
	}
	var ok bool
	if it.opt.Reverse {
		ok = it.nextReverse()
	} else {
		ok = it.nextForward()
	}
	if !ok {
		it.Close()
	}
	return ok
}

func (it *Iter) fail(err error) bool {
	it.err = err
	return false
}

// want reports whether an event passes the options; stop reports that no
// later one (in scan order) can.
func (it *Iter) want(seq uint64, ts int64) (want, stop bool) {
	o := &it.opt
	if it.opt.Reverse {
		if seq < o.From {
			return false, true
		}
		if o.Before != 0 && seq >= o.Before {
			return false, false
		}
	} else {
		if o.Before != 0 && seq >= o.Before {
			return false, true
		}
		if seq < o.From {
			return false, false
		}
	}
	return ts >= o.MinTS && ts <= o.MaxTS, false
}

// spanWanted reports whether a span may hold wanted events, and whether no
// later span (in scan order) can.
func (it *Iter) spanWanted(sp span) (want, stop bool) {
	o := &it.opt
	last := sp.firstSeq + uint64(sp.count)
	if o.Reverse {
		if last <= o.From {
			return false, true
		}
		if o.Before != 0 && sp.firstSeq >= o.Before {
			return false, false
		}
	} else {
		if o.Before != 0 && sp.firstSeq >= o.Before {
			return false, true
		}
		if last <= o.From {
			return false, false
		}
	}
	return sp.maxTS >= o.MinTS && sp.minTS <= o.MaxTS, false
}

// nextSegment opens the next segment of the scan.
func (it *Iter) nextSegment() bool {
	if it.h != nil {
		it.files.release(it.h)
		it.h = nil
	}
	for it.si < len(it.segs) {
		r := &it.segs[it.si]
		it.si++
		h, err := it.files.acquire(r.meta.path, false)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted since the scan began: retention or a deletion
		}
		if err != nil {
			return it.fail(err)
		}
		spans := r.spans
		if spans == nil {
			if _, spans, err = readIdx(r.meta.path, r.meta.firstSeq); err != nil {
				// Without its index, read the segment as one span.
				spans = []span{{off: segHeaderLen, end: r.meta.size, firstSeq: r.meta.firstSeq, count: uint32(r.meta.count),
					minTS: r.meta.minTS, maxTS: r.meta.maxTS, maxIngest: r.meta.maxIngest}}
			}
		}
		it.h, it.seg = h, r
		it.sp = slices.Clone(spans)
		if it.opt.Reverse {
			slices.Reverse(it.sp)
		}
		return true
	}
	return false
}

// nextRun finds the next run of adjacent wanted spans, going forward.
func (it *Iter) nextRun() bool {
	for {
		for len(it.sp) > 0 {
			sp := it.sp[0]
			it.sp = it.sp[1:]
			want, stop := it.spanWanted(sp)
			if stop {
				it.sp = nil
				it.si = len(it.segs)
				return false
			}
			if !want {
				continue
			}
			it.pos, it.runEnd = sp.off, sp.end
			for len(it.sp) > 0 && it.sp[0].off == it.runEnd {
				if w, _ := it.spanWanted(it.sp[0]); !w {
					break
				}
				it.runEnd = it.sp[0].end
				it.sp = it.sp[1:]
			}
			it.buf, it.bufOff = it.buf[:0], it.pos
			return true
		}
		if !it.nextSegment() {
			return false
		}
	}
}

// fill makes the window hold [it.pos, it.pos+n).
func (it *Iter) fill(n int64) error {
	if it.pos >= it.bufOff && it.pos+n <= it.bufOff+int64(len(it.buf)) {
		return nil
	}
	want := min(max(n, int64(it.readAhead)), it.runEnd-it.pos)
	if want < n {
		return fmt.Errorf("%w: record past the end of its span in %s", errCorrupt, it.seg.meta.path)
	}
	if it.readAhead < it.opt.ReadAhead {
		it.readAhead = min(it.readAhead*2, it.opt.ReadAhead)
	}
	if int64(cap(it.buf)) < want {
		putBuf(it.buf)
		it.buf = getBuf(int(want))
	}
	it.buf = it.buf[:want]
	if _, err := it.h.f.ReadAt(it.buf, it.pos); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %s is shorter than its index", errCorrupt, it.seg.meta.path)
		}
		return err
	}
	it.bufOff = it.pos
	return nil
}

// loadRecord reads the record at it.pos.
func (it *Iter) loadRecord() error {
	if err := it.fill(frameLen); err != nil {
		return err
	}
	i := it.pos - it.bufOff
	n, crc, err := parseFrame(it.buf[i:], it.pos, it.runEnd)
	if err != nil {
		return fmt.Errorf("%w: bad record at %d in %s", err, it.pos, it.seg.meta.path)
	}
	if err := it.fill(frameLen + n); err != nil {
		return err
	}
	i = it.pos - it.bufOff
	p := it.buf[i+frameLen : i+frameLen+n]
	info, err := checkPayload(p, crc)
	if err != nil {
		return fmt.Errorf("%w: bad record at %d in %s", err, it.pos, it.seg.meta.path)
	}
	it.rec, it.recSeq, it.recIng, it.recCount = p, info.firstSeq, info.ingest, info.count
	it.recIdx, it.recPos = 0, payloadHdrLen
	it.pos += frameLen + n
	return nil
}

func (it *Iter) nextForward() bool {
	for {
		for it.recIdx < it.recCount {
			seq := it.recSeq + uint64(it.recIdx)
			ts, msg, next := decodeEvent(it.rec, it.recPos)
			it.recIdx++
			it.recPos = next
			want, stop := it.want(seq, ts)
			if stop {
				return false
			}
			if want {
				it.ev = Event{Seq: seq, Timestamp: ts, Ingestion: it.recIng, Message: msg}
				return true
			}
		}
		if it.pos < it.runEnd && it.h != nil {
			if err := it.loadRecord(); err != nil {
				return it.fail(err)
			}
			continue
		}
		if !it.nextRun() {
			return false
		}
	}
}

func (it *Iter) nextReverse() bool {
	for {
		if n := len(it.rev); n > 0 {
			it.ev = it.rev[n-1]
			it.rev = it.rev[:n-1]
			return true
		}
		sp, ok := it.nextSpanReverse()
		if !ok {
			return false
		}
		if err := it.readSpan(sp); err != nil {
			return it.fail(err)
		}
	}
}

func (it *Iter) nextSpanReverse() (span, bool) {
	for {
		for len(it.sp) > 0 {
			sp := it.sp[0]
			it.sp = it.sp[1:]
			want, stop := it.spanWanted(sp)
			if stop {
				it.sp = nil
				it.si = len(it.segs)
				return span{}, false
			}
			if want {
				return sp, true
			}
		}
		if !it.nextSegment() {
			return span{}, false
		}
	}
}

// readSpan reads a whole span and keeps its wanted events in it.rev.
func (it *Iter) readSpan(sp span) error {
	it.pos, it.runEnd = sp.off, sp.end
	it.bufOff, it.buf = sp.off, it.buf[:0]
	it.readAhead = int(sp.end - sp.off)
	it.rev = it.rev[:0]
	for it.pos < it.runEnd {
		if err := it.loadRecord(); err != nil {
			return err
		}
		for ; it.recIdx < it.recCount; it.recIdx++ {
			seq := it.recSeq + uint64(it.recIdx)
			ts, msg, next := decodeEvent(it.rec, it.recPos)
			it.recPos = next
			if want, _ := it.want(seq, ts); want {
				it.rev = append(it.rev, Event{Seq: seq, Timestamp: ts, Ingestion: it.recIng, Message: msg})
			}
		}
	}
	return nil
}
