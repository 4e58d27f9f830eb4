package store

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRecover writes arbitrary bytes after a segment header, as a crash or
// a bad disk might leave them, and checks that Open recovers (keeping the
// records that check out) and that every event then reads back.
func FuzzRecover(f *testing.F) {
	good := encodeRecord(nil, 1, t0, batch("seed", t0, 3))
	good = encodeRecord(good, 4, t0, []InputEvent{{Timestamp: t0, Message: ""}})
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte{})
	f.Add(append(good, 0xff, 0xff, 0xff, 0xff))
	f.Add(encodeRecord(nil, 2, t0, batch("wrong first seq", t0, 1)))
	skipSync = true
	f.Cleanup(func() { skipSync = false })
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		s, err := Open(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		createStream(t, s, key, "web")
		st, _ := s.stream(key, "web")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		seg := filepath.Join(st.dir, segName(1)+segSuffix)
		if err := os.WriteFile(seg, append(segHeader(1), data...), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err = Open(Config{Dir: dir})
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		defer s.Close()
		info, err := s.Stream(key, "web")
		if err != nil {
			t.Fatal(err)
		}
		n := uint64(len(scan(t, s, "web", ScanOptions{})))
		if n != info.NextSeq-1 {
			t.Fatalf("recovered %d events; the stream says its next sequence number is %d", n, info.NextSeq)
		}
		if got := uint64(len(scan(t, s, "web", ScanOptions{Reverse: true}))); got != n {
			t.Fatalf("a reverse scan read %d events; forward %d", got, n)
		}
	})
}

// FuzzDecodeIdx checks that no index file, however damaged, makes the
// decoder panic or accept spans that do not chain.
func FuzzDecodeIdx(f *testing.F) {
	f.Add(encodeIdx(segHeaderLen+100, 1, []span{{off: segHeaderLen, end: segHeaderLen + 100, firstSeq: 1, count: 3}}))
	f.Add(encodeIdx(segHeaderLen, 1, nil))
	f.Add([]byte(idxMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		covered, spans, err := decodeIdx(b, 1)
		if err != nil {
			return
		}
		prev, seq := int64(segHeaderLen), uint64(1)
		for _, sp := range spans {
			if sp.off != prev || sp.end <= sp.off || sp.firstSeq != seq {
				t.Fatalf("decodeIdx accepted spans that do not chain: %+v", spans)
			}
			prev, seq = sp.end, sp.firstSeq+uint64(sp.count)
		}
		if covered != prev {
			t.Fatalf("decodeIdx covered %d; spans end at %d", covered, prev)
		}
	})
}
