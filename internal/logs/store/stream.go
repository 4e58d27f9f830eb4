package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/berthhq/berth/internal/errdefs"
)

// streamMeta is what stream.json holds.
type streamMeta struct {
	Name    string `json:"name"`
	Num     uint64 `json:"num"`
	Created int64  `json:"created"`
	// SeqFloor is where sequence numbers continue when no segment is left.
	SeqFloor uint64 `json:"seqFloor,omitempty"`
	// Retired keeps the stats of segments retention deleted.
	Retired *retired `json:"retired,omitempty"`
	// Unordered is set, before the batch is written, once a batch holds
	// an event older than an event before it: sequence order is then not
	// timestamp order.
	Unordered bool `json:"unordered,omitempty"`
}

type retired struct {
	FirstEvent    int64 `json:"firstEvent"`
	LastEvent     int64 `json:"lastEvent"`
	LastIngestion int64 `json:"lastIngestion"`
}

type stream struct {
	st      *Store
	g       *group
	dir     string
	name    string
	num     uint64
	created int64

	// mu serializes appends and changes of the segment list.
	mu      sync.Mutex
	meta    streamMeta
	deleted bool
	broken  error // a failed fsync: the file's state is unknown until reopened
	sealed  []segMeta
	active  *activeSeg
	nextSeq uint64

	// view is what readers see: published after every change, immutable.
	view atomic.Pointer[view]
}

// activeSeg is the segment being appended to.
type activeSeg struct {
	meta    segMeta
	spans   spanBuilder
	ckptEnd int64 // the end the index on disk covers
}

// view is a consistent picture of a stream for readers.
type view struct {
	sealed []segMeta
	active *activeView
	stats  Stats
}

type activeView struct {
	meta  segMeta
	spans []span // closed spans then the open one; never modified
}

func newStream(s *Store, g *group, dir string, m streamMeta) *stream {
	st := &stream{st: s, g: g, dir: dir, name: m.Name, num: m.Num, created: m.Created, meta: m, nextSeq: max(m.SeqFloor, 1)}
	st.publish()
	return st
}

func (st *stream) persistMeta() error {
	b, err := json.Marshal(st.meta)
	if err != nil {
		return err
	}
	return writeFileAtomic(st.dir, "stream.json", b)
}

// publish makes the current state visible to readers; mu is held (or the
// stream is not shared yet).
func (st *stream) publish() {
	v := &view{sealed: st.sealed}
	stats := Stats{NextSeq: st.nextSeq, Unordered: st.meta.Unordered}
	if r := st.meta.Retired; r != nil {
		stats.merge(r.FirstEvent, r.LastEvent, r.LastIngestion)
	}
	for _, m := range st.sealed {
		stats.StoredBytes += m.size
		if m.count > 0 {
			stats.merge(m.minTS, m.maxTS, m.maxIngest)
		}
	}
	if a := st.active; a != nil {
		v.active = &activeView{meta: a.meta, spans: a.spans.all()}
		stats.StoredBytes += a.meta.size
		if a.meta.count > 0 {
			stats.merge(a.meta.minTS, a.meta.maxTS, a.meta.maxIngest)
		}
	}
	v.stats = stats
	st.view.Store(v)
}

func (st *stream) info() Stream {
	return Stream{Name: st.name, Num: st.num, Created: st.created, Stats: st.view.Load().stats}
}

func (st *stream) markDeleted() {
	st.mu.Lock()
	st.deleted = true
	st.mu.Unlock()
}

// openStream loads a stream directory at startup, recovering its segments.
// It returns nil for a directory a crash left without metadata.
func (s *Store) openStream(g *group, dir string) (*stream, error) {
	b, err := os.ReadFile(filepath.Join(dir, "stream.json"))
	if errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing a log stream directory without metadata", "dir", dir)
		return nil, os.RemoveAll(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("logs store: %w", err)
	}
	var m streamMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("logs store: %s: %w", filepath.Join(dir, "stream.json"), err)
	}
	st := &stream{st: s, g: g, dir: dir, name: m.Name, num: m.Num, created: m.Created, meta: m, nextSeq: max(m.SeqFloor, 1)}
	if err := st.recover(); err != nil {
		return nil, fmt.Errorf("logs store: stream %q of group %q: %w", m.Name, g.info.Load().Name, err)
	}
	st.publish()
	return st, nil
}

// recover reads the stream's segments: sealed ones from their indexes
// (rebuilt when missing or unsound), the last one by checking its records
// after what its index covers and cutting any torn or corrupt tail.
func (st *stream) recover() error {
	entries, err := os.ReadDir(st.dir)
	if err != nil {
		return err
	}
	var firsts []uint64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(st.dir, name))
			continue
		}
		if n, ok := parseSegName(name); ok {
			firsts = append(firsts, n)
		}
	}
	slices.Sort(firsts)
	for i, first := range firsts {
		path := filepath.Join(st.dir, segName(first)+segSuffix)
		last := i == len(firsts)-1
		a, err := st.loadSegment(path, first, last)
		if err != nil {
			return err
		}
		if a == nil {
			continue
		}
		if first < st.nextSeq && i > 0 {
			st.st.log.Warn("log segment overlaps the one before it", "path", path)
		}
		st.nextSeq = max(st.nextSeq, first+a.meta.count)
		if last {
			st.active = a
		} else {
			st.sealed = append(st.sealed, a.meta)
		}
	}
	return nil
}

// loadSegment reads one segment's index and, for the last segment or when
// the index is unsound, its records. It returns nil for a last segment
// whose header never made it to disk.
func (st *stream) loadSegment(path string, first uint64, last bool) (*activeSeg, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if err := checkSegHeader(f, first); err != nil {
		if !last {
			return nil, fmt.Errorf("segment %s: bad header", path)
		}
		// Created, but the crash came before its header was durable.
		st.st.log.Warn("removing a log segment without a header", "path", path)
		_ = os.Remove(idxPath(path))
		return nil, os.Remove(path)
	}
	a := &activeSeg{meta: segMeta{path: path, firstSeq: first, size: segHeaderLen}}
	from, idxEnd := int64(segHeaderLen), int64(-1)
	if covered, spans, err := readIdx(path, first); err == nil && covered <= size {
		idxEnd = covered
		if last && len(spans) > 0 {
			// Check the tail again even where the index covers it: it is
			// where damage is likely, and it is small.
			covered = spans[len(spans)-1].off
			spans = spans[:len(spans)-1]
		}
		for _, sp := range spans {
			a.spans.closed = append(a.spans.closed, sp)
			a.meta.add(sp)
		}
		a.meta.size, from = covered, covered
		if covered == size {
			a.ckptEnd = covered
			return a, nil
		}
	}
	expect := first + a.meta.count
	good, err := scanSegment(f, from, size, expect, func(r recordInfo) {
		a.spans.add(r)
		a.meta.add(span{end: r.end, count: r.count, minTS: r.minTS, maxTS: r.maxTS, maxIngest: r.ingest})
	})
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", path, err)
	}
	a.meta.size = good
	if good < size {
		st.st.log.Warn("cutting a torn or corrupt log segment tail", "path", path, "offset", good, "size", size)
		if err := f.Truncate(good); err != nil {
			return nil, err
		}
		if err := fsync(f); err != nil {
			return nil, err
		}
	}
	if good == idxEnd {
		a.ckptEnd = good
	} else {
		// Rebuild (or extend) the index on disk so that the next open
		// need not scan this again.
		if err := writeIdx(path, good, first, a.spans.all()); err != nil {
			return nil, err
		}
		a.ckptEnd = good
	}
	return a, nil
}

// append writes one batch record and waits for it to be durable.
func (st *stream) append(ingest int64, events []InputEvent) (uint64, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.deleted {
		return 0, errStreamNotFound()
	}
	if st.broken != nil {
		return 0, st.broken
	}
	if st.active == nil {
		if err := st.newSegment(); err != nil {
			return 0, err
		}
	}
	if !st.meta.Unordered && !inOrder(st.view.Load().stats, events) {
		// Readers that need timestamp order must know before they can
		// see the batch; a crash after this leaves the flag set, which
		// costs only speed.
		m := st.meta
		m.Unordered = true
		st.meta = m
		if err := st.persistMeta(); err != nil {
			st.meta.Unordered = false
			return 0, fmt.Errorf("append: %w", err)
		}
	}
	a := st.active
	first := st.nextSeq
	buf := encodeRecord(nil, first, ingest, events)
	h, err := st.st.files.acquire(a.meta.path, true)
	if err != nil {
		return 0, err
	}
	defer st.st.files.release(h)
	off := a.meta.size
	if _, err := h.f.WriteAt(buf, off); err != nil {
		// Leave the file as it was, so that the next append follows the
		// last good record.
		_ = h.f.Truncate(off)
		return 0, fmt.Errorf("append to %s: %w", a.meta.path, err)
	}
	if err := datasync(h.f); err != nil {
		st.broken = errdefs.New(errdefs.ErrUnavailable, KindStream, "The log stream is unavailable after a storage failure.")
		st.st.log.Error("fsync of a log segment failed; the stream refuses writes until the store is reopened", "path", a.meta.path, "err", err)
		return 0, st.broken
	}
	r := recordInfo{off: off, end: off + int64(len(buf)), firstSeq: first, count: uint32(len(events)), ingest: ingest}
	r.minTS, r.maxTS = events[0].Timestamp, events[0].Timestamp
	for _, e := range events[1:] {
		r.minTS, r.maxTS = min(r.minTS, e.Timestamp), max(r.maxTS, e.Timestamp)
	}
	a.spans.add(r)
	a.meta.add(span{end: r.end, count: r.count, minTS: r.minTS, maxTS: r.maxTS, maxIngest: ingest})
	st.nextSeq += uint64(len(events))
	if a.meta.size >= st.st.cfg.SegmentBytes {
		if err := st.seal(); err != nil {
			// The data is durable; only the index is not. Keep writing to
			// this segment and try again on the next append.
			st.st.log.Warn("sealing a log segment failed", "path", a.meta.path, "err", err)
		}
	}
	st.publish()
	return first, nil
}

// newSegment starts a segment at nextSeq; mu is held.
func (st *stream) newSegment() error {
	path := filepath.Join(st.dir, segName(st.nextSeq)+segSuffix)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create log segment: %w", err)
	}
	_, err = f.Write(segHeader(st.nextSeq))
	if err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(st.dir)
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("create log segment: %w", err)
	}
	st.active = &activeSeg{meta: segMeta{path: path, firstSeq: st.nextSeq, size: segHeaderLen}, ckptEnd: segHeaderLen}
	return nil
}

// seal writes the active segment's full index and retires it from writing;
// the next append starts a new segment. mu is held.
func (st *stream) seal() error {
	a := st.active
	if err := writeIdx(a.meta.path, a.meta.size, a.meta.firstSeq, a.spans.all()); err != nil {
		return err
	}
	st.sealed = append(slices.Clip(st.sealed), a.meta)
	st.active = nil
	return nil
}

// checkpoint writes the index of the active segment when it covers less
// than the segment holds.
func (st *stream) checkpoint() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	a := st.active
	if st.deleted || a == nil || a.ckptEnd == a.meta.size {
		return nil
	}
	if err := writeIdx(a.meta.path, a.meta.size, a.meta.firstSeq, a.spans.all()); err != nil {
		return fmt.Errorf("checkpoint log segment index: %w", err)
	}
	a.ckptEnd = a.meta.size
	return nil
}

// expire deletes the segments whose newest event is older than cutoff. The
// active segment goes too when all of it is expired; when only its oldest
// events are, it is sealed so that it can go once the rest expire.
func (st *stream) expire(cutoff int64) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.deleted {
		return nil
	}
	var doomed []segMeta
	keep := st.sealed[:0:0]
	for _, m := range st.sealed {
		if m.count > 0 && m.maxTS < cutoff {
			doomed = append(doomed, m)
		} else {
			keep = append(keep, m)
		}
	}
	if a := st.active; a != nil && a.meta.count > 0 {
		switch {
		case a.meta.maxTS < cutoff:
			doomed = append(doomed, a.meta)
			st.active = nil
		case a.meta.minTS < cutoff:
			if err := st.seal(); err != nil {
				return err
			}
			keep = append(keep, st.sealed[len(st.sealed)-1])
		}
	}
	if len(doomed) == 0 {
		st.sealed = keep
		st.publish()
		return nil
	}
	// Keep the stats of what goes, and where sequence numbers continue,
	// before the files go.
	m := st.meta
	r := retired{}
	if m.Retired != nil {
		r = *m.Retired
	}
	for i, d := range doomed {
		if i == 0 && m.Retired == nil {
			r = retired{d.minTS, d.maxTS, d.maxIngest}
			continue
		}
		r.FirstEvent, r.LastEvent, r.LastIngestion = min(r.FirstEvent, d.minTS), max(r.LastEvent, d.maxTS), max(r.LastIngestion, d.maxIngest)
	}
	m.Retired, m.SeqFloor = &r, st.nextSeq
	st.meta = m
	if err := st.persistMeta(); err != nil {
		return fmt.Errorf("expire log events: %w", err)
	}
	st.sealed = keep
	st.publish()
	for _, d := range doomed {
		st.st.files.forget(d.path)
		_ = os.Remove(idxPath(d.path))
		if err := os.Remove(d.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("expire log events: %w", err)
		}
	}
	return syncDir(st.dir)
}

// inOrder reports whether events, appended after what stats describe, keep
// the stream in timestamp order.
func inOrder(stats Stats, events []InputEvent) bool {
	newest, seen := stats.LastEvent, stats.HasEvents
	for _, e := range events {
		if seen && e.Timestamp < newest {
			return false
		}
		newest, seen = e.Timestamp, true
	}
	return true
}
