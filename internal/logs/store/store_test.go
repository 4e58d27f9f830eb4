package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

var key = GroupKey{Account: "000000000000", Region: "us-east-1", Name: "/ecs/app"}

// t0 is the timestamp the tests' events start at.
const t0 = int64(1_700_000_000_000)

func open(t *testing.T, dir string, mod ...func(*Config)) *Store {
	t.Helper()
	cfg := Config{Dir: dir}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func smallSegments(c *Config) { c.SegmentBytes = 4 << 10 }

func createStream(t *testing.T, s *Store, k GroupKey, name string) {
	t.Helper()
	if _, err := s.Group(k); errors.Is(err, errdefs.ErrNotFound) {
		if err := s.CreateGroup(Group{Account: k.Account, Region: k.Region, Name: k.Name, Created: t0}); err != nil {
			t.Fatalf("CreateGroup(%v) = %v", k, err)
		}
	}
	if err := s.CreateStream(k, name, t0); err != nil {
		t.Fatalf("CreateStream(%s) = %v", name, err)
	}
}

// batch returns n events starting at timestamp ts, one ms apart, with
// messages "<prefix> <i>".
func batch(prefix string, ts int64, n int) []InputEvent {
	out := make([]InputEvent, n)
	for i := range out {
		out[i] = InputEvent{Timestamp: ts + int64(i), Message: fmt.Sprintf("%s %d", prefix, i)}
	}
	return out
}

func appendBatch(t *testing.T, s *Store, name string, events []InputEvent) uint64 {
	t.Helper()
	seq, err := s.Append(key, name, t0, events)
	if err != nil {
		t.Fatalf("Append(%s, %d events) = %v", name, len(events), err)
	}
	return seq
}

// scan returns the messages a scan yields.
func scan(t *testing.T, s *Store, name string, opt ScanOptions) []string {
	t.Helper()
	it, err := s.Scan(key, name, opt)
	if err != nil {
		t.Fatalf("Scan(%s, %+v) = %v", name, opt, err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, string(it.Event().Message))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("Scan(%s, %+v): %v", name, opt, err)
	}
	return out
}

func messages(events ...[]InputEvent) []string {
	var out []string
	for _, b := range events {
		for _, e := range b {
			out = append(out, e.Message)
		}
	}
	return out
}

func equal(t *testing.T, call string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %d events %s; want %d events %s", call, len(got), short(got), len(want), short(want))
	}
}

func short(s []string) string {
	if len(s) > 6 {
		return fmt.Sprintf("[%s ... %s]", strings.Join(s[:3], ", "), strings.Join(s[len(s)-3:], ", "))
	}
	return fmt.Sprintf("%q", s)
}

func TestAppendScan(t *testing.T) {
	s := open(t, t.TempDir(), smallSegments)
	createStream(t, s, key, "web")
	var all []InputEvent
	for b := range 40 {
		events := batch(fmt.Sprintf("b%02d %s", b, strings.Repeat("x", 60)), t0+int64(b)*100, 10)
		if seq := appendBatch(t, s, "web", events); seq != uint64(b*10+1) {
			t.Fatalf("Append batch %d = seq %d; want %d", b, seq, b*10+1)
		}
		all = append(all, events...)
	}
	if n := len(s.view(t, "web").sealed); n < 3 {
		t.Fatalf("40 batches in 4 KiB segments made %d sealed segments; want several", n)
	}
	// sel returns the messages of events from..before (1-based sequence
	// numbers, 0: open) with timestamps in [lo, hi] (hi 0: open).
	sel := func(from, before int, lo, hi int64) []string {
		var out []string
		for i, e := range all {
			seq := i + 1
			if seq >= from && (before == 0 || seq < before) && e.Timestamp >= lo && (hi == 0 || e.Timestamp <= hi) {
				out = append(out, e.Message)
			}
		}
		return out
	}
	rev := func(s []string) []string { s = slices.Clone(s); slices.Reverse(s); return s }
	for _, tc := range []struct {
		name string
		opt  ScanOptions
		want []string
	}{
		{"all", ScanOptions{}, messages(all)},
		{"from", ScanOptions{From: 101}, sel(101, 0, 0, 0)},
		{"before", ScanOptions{Before: 51}, sel(0, 51, 0, 0)},
		{"from-before", ScanOptions{From: 33, Before: 38}, sel(33, 38, 0, 0)},
		{"time", ScanOptions{MinTS: t0 + 1005, MaxTS: t0 + 2003}, sel(0, 0, t0+1005, t0+2003)},
		{"time-open", ScanOptions{MinTS: t0 + 3905}, sel(0, 0, t0+3905, 0)},
		{"none", ScanOptions{MinTS: t0 + 5000}, nil},
		{"tiny-readahead", ScanOptions{ReadAhead: 1}, messages(all)},
		{"reverse", ScanOptions{Reverse: true}, rev(messages(all))},
		{"reverse-before", ScanOptions{Reverse: true, Before: 251}, rev(sel(0, 251, 0, 0))},
		{"reverse-from-time", ScanOptions{Reverse: true, From: 11, MaxTS: t0 + 1500}, rev(sel(11, 0, 0, t0+1500))},
		{"reverse-time", ScanOptions{Reverse: true, MinTS: t0 + 2000, MaxTS: t0 + 2009}, rev(sel(0, 0, t0+2000, t0+2009))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			equal(t, fmt.Sprintf("Scan(%+v)", tc.opt), scan(t, s, "web", tc.opt), tc.want)
		})
	}
	info, err := s.Stream(key, "web")
	if err != nil {
		t.Fatal(err)
	}
	if !info.HasEvents || info.FirstEvent != t0 || info.LastEvent != t0+3909 || info.LastIngestion != t0 || info.NextSeq != 401 || info.StoredBytes == 0 {
		t.Errorf("Stream(web) = %+v; want events %d..%d, next seq 401, stored bytes", info.Stats, t0, t0+3909)
	}
}

// view returns a stream's current view.
func (s *Store) view(t *testing.T, name string) *view {
	t.Helper()
	st, err := s.stream(key, name)
	if err != nil {
		t.Fatal(err)
	}
	return st.view.Load()
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, smallSegments)
	createStream(t, s, key, "a")
	createStream(t, s, key, "b/with:odd*chars and spaces")
	other := GroupKey{Account: "111111111111", Region: "eu-west-1", Name: "other"}
	createStream(t, s, other, "x")
	if err := s.UpdateGroup(key, func(g *Group) error {
		g.RetentionDays, g.Tags, g.KMSKeyID = 7, map[string]string{"team": "core"}, "key-1"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var a, b []InputEvent
	for i := range 30 {
		ea, eb := batch(fmt.Sprintf("a%d", i), t0+int64(i)*10, 7), batch(fmt.Sprintf("b%d", i), t0, 1)
		appendBatch(t, s, "a", ea)
		appendBatch(t, s, "b/with:odd*chars and spaces", eb)
		a, b = append(a, ea...), append(b, eb...)
	}
	before, _ := s.Streams(key)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if _, err := s.Streams(key); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("Streams after Close = %v; want ErrUnavailable", err)
	}

	s = open(t, dir, smallSegments)
	g, err := s.Group(key)
	if err != nil {
		t.Fatal(err)
	}
	if g.RetentionDays != 7 || g.Tags["team"] != "core" || g.KMSKeyID != "key-1" || g.Created != t0 {
		t.Errorf("Group after restart = %+v; want retention 7, tags, kms key", g)
	}
	after, err := s.Streams(key)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("Streams after restart = %+v; want %+v", after, before)
	}
	equal(t, "Scan(a)", scan(t, s, "a", ScanOptions{}), messages(a))
	equal(t, "Scan(b)", scan(t, s, "b/with:odd*chars and spaces", ScanOptions{}), messages(b))
	if gs := s.Groups(other.Account, other.Region); len(gs) != 1 || gs[0].Name != "other" {
		t.Errorf("Groups(other) after restart = %v; want [other]", gs)
	}
	// Appends continue the sequence.
	if seq := appendBatch(t, s, "a", batch("more", t0, 2)); seq != 211 {
		t.Errorf("Append after restart = seq %d; want 211", seq)
	}
}

// segments returns the segment files of a stream, oldest first.
func segments(t *testing.T, s *Store, name string) []string {
	t.Helper()
	st, err := s.stream(key, name)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(st.dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

func TestTornTailIsCut(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string, lastRecord int64)
	}{
		{"truncated mid-record", func(t *testing.T, path string, last int64) { truncate(t, path, last+11) }},
		{"truncated in the frame", func(t *testing.T, path string, last int64) { truncate(t, path, last+3) }},
		{"flipped byte", func(t *testing.T, path string, last int64) { flip(t, path, last+frameLen+payloadHdrLen+eventHdrLen+2) }},
		{"garbage appended", func(t *testing.T, path string, last int64) { appendBytes(t, path, []byte("\x10\x00\x00\x00garbage!")) }},
		{"zeros appended", func(t *testing.T, path string, last int64) { appendBytes(t, path, make([]byte, 4096)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			createStream(t, s, key, "web")
			first, second := batch("first", t0, 5), batch("second", t0+10, 5)
			appendBatch(t, s, "web", first)
			appendBatch(t, s, "web", second)
			path := segments(t, s, "web")[0]
			lastRecord := s.view(t, "web").active.spans[0].end - recordLen(second)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, path, lastRecord)

			s = open(t, dir)
			want := messages(first, second)
			if tc.name != "garbage appended" && tc.name != "zeros appended" {
				want = messages(first)
			}
			equal(t, "Scan after damage", scan(t, s, "web", ScanOptions{}), want)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if wantSize := int64(segHeaderLen) + recordLen(first) + int64(len(want)-5)/5*recordLen(second); fi.Size() != wantSize {
				t.Errorf("segment size after reopen = %d; want %d (cut at the last good record)", fi.Size(), wantSize)
			}
			// The stream takes appends after the cut, and they read back.
			third := batch("third", t0+20, 3)
			appendBatch(t, s, "web", third)
			equal(t, "Scan after append", scan(t, s, "web", ScanOptions{}), append(want, messages(third)...))
		})
	}
}

func recordLen(events []InputEvent) int64 { return int64(len(encodeRecord(nil, 1, 0, events))) }

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestCrashAtEveryOffset simulates a crash during the last append: the
// segment ends at every byte offset of the last record. The index on disk is
// the checkpoint taken before that append (a crash), the full one Close
// writes, or none. Reopening must keep every earlier batch, drop the torn
// one (or keep it whole when the cut is at its end), and take appends.
func TestCrashAtEveryOffset(t *testing.T) {
	live := t.TempDir()
	s := open(t, live)
	createStream(t, s, key, "web")
	var earlier []InputEvent
	// Big enough for several spans, so that the checkpoint covers some
	// and the tail check reads only the last.
	for i := range 6 {
		b := batch(fmt.Sprintf("early%d %s", i, strings.Repeat("x", 10_000)), t0+int64(i)*10, 4)
		appendBatch(t, s, "web", b)
		earlier = append(earlier, b...)
	}
	if n := len(s.view(t, "web").active.spans); n < 2 {
		t.Fatalf("the test data makes %d spans; want several", n)
	}
	// The index checkpoint Maintain takes now and then.
	if err := s.Maintain(time.Now()); err != nil {
		t.Fatal(err)
	}
	last := []InputEvent{{Timestamp: t0 + 100, Message: "torn-1"}, {Timestamp: t0 + 101, Message: "torn-2 ✓"}}
	appendBatch(t, s, "web", last)
	seg := segments(t, s, "web")[0]
	rel, err := filepath.Rel(live, seg)
	if err != nil {
		t.Fatal(err)
	}
	crashed := t.TempDir()
	copyDir(t, live, crashed) // the disk as a crash now would leave it
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	end := fi.Size()
	start := end - recordLen(last)
	for _, tc := range []struct {
		name  string
		src   string
		noIdx bool
	}{{"checkpoint", crashed, false}, {"closed", live, false}, {"no index", live, true}} {
		t.Run(tc.name, func(t *testing.T) {
			for cut := start; cut <= end; cut++ {
				dir := t.TempDir()
				copyDir(t, tc.src, dir)
				truncate(t, filepath.Join(dir, rel), cut)
				if tc.noIdx {
					_ = os.Remove(idxPath(filepath.Join(dir, rel)))
				}
				s, err := Open(Config{Dir: dir})
				if err != nil {
					t.Fatalf("Open after a cut at %d = %v", cut, err)
				}
				want := messages(earlier)
				if cut == end {
					want = messages(earlier, last)
				}
				if got := scan(t, s, "web", ScanOptions{}); !slices.Equal(got, want) {
					t.Fatalf("cut at %d of [%d, %d]: Scan = %s; want %s", cut, start, end, short(got), short(want))
				}
				if _, err := s.Append(key, "web", t0, batch("after", t0+200, 1)); err != nil {
					t.Fatalf("cut at %d: Append after reopen = %v", cut, err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				// And once more: what the first reopen wrote reads back.
				s, err = Open(Config{Dir: dir})
				if err != nil {
					t.Fatalf("cut at %d: second Open = %v", cut, err)
				}
				if got := scan(t, s, "web", ScanOptions{}); len(got) != len(want)+1 || got[len(got)-1] != "after 0" {
					t.Fatalf("cut at %d: after an append and a reopen Scan = %s; want %d events ending in \"after 0\"", cut, short(got), len(want)+1)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIndexRebuilt(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, smallSegments)
	createStream(t, s, key, "web")
	var all []InputEvent
	for i := range 30 {
		b := batch(fmt.Sprintf("b%d", i), t0+int64(i)*10, 8)
		appendBatch(t, s, "web", b)
		all = append(all, b...)
	}
	segs := segments(t, s, "web")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Lose one index and corrupt another.
	if err := os.Remove(idxPath(segs[0])); err != nil {
		t.Fatal(err)
	}
	flip(t, idxPath(segs[1]), idxHeaderLen+3)

	s = open(t, dir, smallSegments)
	equal(t, "Scan", scan(t, s, "web", ScanOptions{}), messages(all))
	equal(t, "Scan(time)", scan(t, s, "web", ScanOptions{MinTS: t0 + 100, MaxTS: t0 + 102}), messages(all[80:83]))
	for _, seg := range segs[:2] {
		if _, _, err := readIdx(seg, firstSeqOf(t, seg)); err != nil {
			t.Errorf("index of %s after reopen: %v; want it rebuilt", filepath.Base(seg), err)
		}
	}
}

func firstSeqOf(t *testing.T, path string) uint64 {
	n, ok := parseSegName(filepath.Base(path))
	if !ok {
		t.Fatalf("bad segment name %s", path)
	}
	return n
}

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, smallSegments)
	createStream(t, s, key, "web")
	day := int64(24 * time.Hour / time.Millisecond)
	// Ten days of events, a batch every 6 hours.
	var all []InputEvent
	for i := range 40 {
		b := batch(fmt.Sprintf("b%02d", i), t0+int64(i)*day/4, 20)
		appendBatch(t, s, "web", b)
		all = append(all, b...)
	}
	before := len(segments(t, s, "web"))
	if err := s.UpdateGroup(key, func(g *Group) error { g.RetentionDays = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(t0 + 10*day)
	if err := s.Maintain(now); err != nil {
		t.Fatalf("Maintain = %v", err)
	}
	cutoff := t0 + 7*day
	segs := segments(t, s, "web")
	if len(segs) >= before {
		t.Fatalf("Maintain left %d of %d segments; want old ones deleted", len(segs), before)
	}
	for _, m := range s.view(t, "web").sealed {
		if m.maxTS < cutoff {
			t.Errorf("segment %s (newest event %d) survived retention cutoff %d", m.path, m.maxTS, cutoff)
		}
	}
	// Everything at or after the cutoff is still there.
	var want []string
	for _, e := range all {
		if e.Timestamp >= cutoff {
			want = append(want, e.Message)
		}
	}
	got := scan(t, s, "web", ScanOptions{MinTS: cutoff})
	equal(t, "Scan(MinTS: cutoff)", got, want)
	info, _ := s.Stream(key, "web")
	if info.FirstEvent != t0 || info.NextSeq != 801 {
		t.Errorf("Stream after retention = %+v; want first event %d kept, next seq 801", info.Stats, t0)
	}
	// A reopen sees the same, and sequence numbers continue.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, smallSegments)
	equal(t, "Scan after reopen", scan(t, s, "web", ScanOptions{MinTS: cutoff}), want)

	// When every event is expired the stream keeps its stats and numbering.
	if err := s.Maintain(time.UnixMilli(t0 + 30*day)); err != nil {
		t.Fatal(err)
	}
	if segs := segments(t, s, "web"); len(segs) != 0 {
		t.Errorf("segments after everything expired = %v; want none", segs)
	}
	if seq := appendBatch(t, s, "web", batch("new", t0+30*day, 1)); seq != 801 {
		t.Errorf("Append after everything expired = seq %d; want 801", seq)
	}
	info, _ = s.Stream(key, "web")
	if info.FirstEvent != t0 || info.LastEvent != t0+30*day {
		t.Errorf("Stream after full expiry = %+v; want first %d, last %d", info.Stats, t0, t0+30*day)
	}
}

func TestFileDescriptorsBounded(t *testing.T) {
	s := open(t, t.TempDir(), func(c *Config) { c.MaxOpenFiles = 4 })
	for i := range 20 {
		name := fmt.Sprintf("s%02d", i)
		createStream(t, s, key, name)
		appendBatch(t, s, name, batch(name, t0, 3))
		if n := s.OpenFiles(); n > 4 {
			t.Fatalf("after writing %d streams %d files are open; want at most 4", i+1, n)
		}
	}
	for i := range 20 {
		name := fmt.Sprintf("s%02d", i)
		equal(t, "Scan("+name+")", scan(t, s, name, ScanOptions{}), messages(batch(name, t0, 3)))
	}
	if n := s.OpenFiles(); n > 4 {
		t.Errorf("after reading 20 streams %d files are open; want at most 4", n)
	}
	s.files.closeIdle(time.Now().Add(time.Hour), time.Minute)
	if n := s.OpenFiles(); n != 0 {
		t.Errorf("after closing idle files %d are open; want 0", n)
	}
}

func TestGroupsAndStreams(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	createStream(t, s, key, "web")
	appendBatch(t, s, "web", batch("x", t0, 2))
	if err := s.CreateGroup(Group{Account: key.Account, Region: key.Region, Name: key.Name}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("CreateGroup(existing) = %v; want ErrAlreadyExists", err)
	}
	if err := s.CreateStream(key, "web", t0); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("CreateStream(existing) = %v; want ErrAlreadyExists", err)
	}
	missing := GroupKey{key.Account, key.Region, "missing"}
	if err := s.CreateStream(missing, "web", t0); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("CreateStream(missing group) = %v; want ErrNotFound", err)
	}
	if _, err := s.Append(key, "nope", t0, batch("x", t0, 1)); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Append(missing stream) = %v; want ErrNotFound", err)
	}
	// EnsureStream creates the group only when told to.
	if err := s.EnsureStream(missing, "w", false, nil, t0); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("EnsureStream(missing group, no create) = %v; want ErrNotFound", err)
	}
	mk := func() Group {
		return Group{Account: missing.Account, Region: missing.Region, Name: missing.Name, Created: t0}
	}
	if err := s.EnsureStream(missing, "w", true, mk, t0); err != nil {
		t.Errorf("EnsureStream(create) = %v", err)
	}
	if err := s.EnsureStream(missing, "w", true, mk, t0); err != nil {
		t.Errorf("EnsureStream(existing) = %v", err)
	}

	if err := s.DeleteStream(key, "web"); err != nil {
		t.Fatalf("DeleteStream = %v", err)
	}
	if _, err := s.Scan(key, "web", ScanOptions{}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Scan(deleted stream) = %v; want ErrNotFound", err)
	}
	createStream(t, s, key, "web")
	if got := scan(t, s, "web", ScanOptions{}); len(got) != 0 {
		t.Errorf("a recreated stream has events %q; want none", got)
	}
	if err := s.DeleteGroup(key, nil); err != nil {
		t.Fatalf("DeleteGroup = %v", err)
	}
	if err := s.DeleteGroup(key, nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("DeleteGroup(again) = %v; want ErrNotFound", err)
	}
	refuse := errors.New("protected")
	if err := s.DeleteGroup(missing, func(*Group) error { return refuse }); !errors.Is(err, refuse) {
		t.Errorf("DeleteGroup(refused) = %v; want the check's error", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if _, err := s.Group(key); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("a deleted group after reopen: %v; want ErrNotFound", err)
	}
	if _, err := s.Stream(missing, "w"); err != nil {
		t.Errorf("Stream(created by EnsureStream) after reopen = %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "trash")); len(entries) != 0 {
		t.Errorf("trash holds %d entries after reopen; want none", len(entries))
	}
}

// TestRecoverLeftovers: directories a crash left half made are cleaned up.
func TestRecoverLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	createStream(t, s, key, "web")
	appendBatch(t, s, "web", batch("x", t0, 2))
	st, _ := s.stream(key, "web")
	groupDir := st.g.dir
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{
		filepath.Join(dir, "groups", "halfgroup"),
		filepath.Join(groupDir, "streams", "halfstream"),
		filepath.Join(dir, "trash", "deleting", "streams"),
	} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A segment created but whose header never reached the disk.
	if err := os.WriteFile(filepath.Join(st.dir, segName(3)+segSuffix), []byte("BERT"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	equal(t, "Scan", scan(t, s, "web", ScanOptions{}), messages(batch("x", t0, 2)))
	for _, d := range []string{"groups/halfgroup", "trash/deleting"} {
		if _, err := os.Stat(filepath.Join(dir, d)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after reopen: %v; want it removed", d, err)
		}
	}
	if seq := appendBatch(t, s, "web", batch("y", t0, 1)); seq != 3 {
		t.Errorf("Append = seq %d; want 3", seq)
	}
}

func TestConcurrentAppendsAndScans(t *testing.T) {
	s := open(t, t.TempDir(), smallSegments)
	const writers, batches = 4, 50
	for w := range writers {
		createStream(t, s, key, fmt.Sprintf("w%d", w))
	}
	var wg sync.WaitGroup
	for w := range writers {
		name := fmt.Sprintf("w%d", w)
		wg.Go(func() {
			for b := range batches {
				if _, err := s.Append(key, name, t0, batch(fmt.Sprintf("%s-%d", name, b), t0+int64(b), 5)); err != nil {
					t.Errorf("Append = %v", err)
					return
				}
			}
		})
		wg.Go(func() {
			for range batches {
				it, err := s.Scan(key, name, ScanOptions{})
				if err != nil {
					t.Errorf("Scan = %v", err)
					return
				}
				prev := uint64(0)
				for it.Next() {
					if ev := it.Event(); ev.Seq != prev+1 {
						t.Errorf("Scan saw seq %d after %d", ev.Seq, prev)
					}
					prev = it.Event().Seq
				}
				if err := it.Err(); err != nil {
					t.Errorf("Scan: %v", err)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := s.Maintain(time.Now()); err != nil {
				t.Errorf("Maintain = %v", err)
			}
		}
	})
	wg.Wait()
	for w := range writers {
		if got := scan(t, s, fmt.Sprintf("w%d", w), ScanOptions{}); len(got) != batches*5 {
			t.Errorf("stream w%d has %d events; want %d", w, len(got), batches*5)
		}
	}
}

// TestUnorderedFlag: a stream reports Unordered from the first batch with
// an event older than one before it, and keeps reporting it after a
// restart.
func TestUnorderedFlag(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	createStream(t, s, key, "s")
	unordered := func(s *Store) bool {
		t.Helper()
		st, err := s.Stream(key, "s")
		if err != nil {
			t.Fatal(err)
		}
		return st.Unordered
	}
	for i, b := range [][]InputEvent{batch("a", t0, 3), batch("b", t0+2, 2), batch("c", t0+3, 1)} {
		if _, err := s.Append(key, "s", t0, b); err != nil {
			t.Fatal(err)
		}
		if unordered(s) {
			t.Fatalf("after in-order batch %d Unordered = true; want false", i)
		}
	}
	if _, err := s.Append(key, "s", t0, batch("d", t0+2, 1)); err != nil {
		t.Fatal(err)
	}
	if !unordered(s) {
		t.Errorf("after a batch older than the newest event Unordered = false; want true")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !unordered(open(t, dir)) {
		t.Errorf("after a restart Unordered = false; want true")
	}
}
