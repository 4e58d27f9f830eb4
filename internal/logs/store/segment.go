package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The segment file format.
//
//	header:  "BERTHLG1" | first seq (u64)
//	record:  payload length (u32) | CRC-32C of payload (u32) | payload
//	payload: first seq (u64) | ingestion ms (i64) | count (u32) |
//	         count × (timestamp ms (i64) | message length (u32) | message)
//
// All integers are little-endian.
const (
	segMagic       = "BERTHLG1"
	segHeaderLen   = 16
	frameLen       = 8
	payloadHdrLen  = 20
	eventHdrLen    = 12
	maxPayloadLen  = 8 << 20 // far above any batch the API accepts
	segSuffix      = ".seg"
	idxSuffix      = ".idx"
	idxMagic       = "BERTHIX1"
	idxHeaderLen   = 28
	spanEncodedLen = 52
)

// spanBytes is how much data one span of a segment's index covers at least:
// the granularity at which reads skip data outside their time range.
const spanBytes = 64 << 10

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks data that fails its checks.
var errCorrupt = errors.New("corrupt log data")

// span is a run of whole records in a segment, with what the index knows of
// their events.
type span struct {
	off, end     int64  // byte range [off, end) in the segment file
	firstSeq     uint64 // sequence number of the first event
	count        uint32 // events
	minTS, maxTS int64
	maxIngest    int64
}

// segMeta summarizes one segment.
type segMeta struct {
	path         string
	firstSeq     uint64 // from the file name and header
	count        uint64 // events
	minTS, maxTS int64
	maxIngest    int64
	size         int64 // bytes, header included
}

func (m *segMeta) add(sp span) {
	if m.count == 0 {
		m.minTS, m.maxTS, m.maxIngest = sp.minTS, sp.maxTS, sp.maxIngest
	} else {
		m.minTS, m.maxTS, m.maxIngest = min(m.minTS, sp.minTS), max(m.maxTS, sp.maxTS), max(m.maxIngest, sp.maxIngest)
	}
	m.count += uint64(sp.count)
	m.size = max(m.size, sp.end)
}

// spanBuilder groups records into spans of at least spanBytes.
type spanBuilder struct {
	closed []span
	tail   span // open span; tail.count == 0 means none
}

func (b *spanBuilder) add(r recordInfo) {
	if b.tail.count == 0 {
		b.tail = span{off: r.off, end: r.end, firstSeq: r.firstSeq, count: r.count, minTS: r.minTS, maxTS: r.maxTS, maxIngest: r.ingest}
	} else {
		b.tail.end = r.end
		b.tail.count += r.count
		b.tail.minTS, b.tail.maxTS = min(b.tail.minTS, r.minTS), max(b.tail.maxTS, r.maxTS)
		b.tail.maxIngest = max(b.tail.maxIngest, r.ingest)
	}
	if b.tail.end-b.tail.off >= spanBytes {
		b.closed = append(b.closed, b.tail)
		b.tail = span{}
	}
}

// all returns every span, the open one included.
func (b *spanBuilder) all() []span {
	if b.tail.count == 0 {
		return b.closed
	}
	return append(b.closed[:len(b.closed):len(b.closed)], b.tail)
}

// recordInfo describes one record found in a segment.
type recordInfo struct {
	off, end     int64
	firstSeq     uint64
	count        uint32
	ingest       int64
	minTS, maxTS int64
}

// InputEvent is an event to append.
type InputEvent struct {
	Timestamp int64 // milliseconds since the epoch
	Message   string
}

// encodeRecord appends the record of a batch to dst.
func encodeRecord(dst []byte, firstSeq uint64, ingest int64, events []InputEvent) []byte {
	n := payloadHdrLen
	for _, e := range events {
		n += eventHdrLen + len(e.Message)
	}
	start := len(dst)
	dst = slices.Grow(dst, frameLen+n)[:start+frameLen+n]
	p := dst[start+frameLen:]
	binary.LittleEndian.PutUint64(p[0:], firstSeq)
	binary.LittleEndian.PutUint64(p[8:], uint64(ingest))
	binary.LittleEndian.PutUint32(p[16:], uint32(len(events)))
	i := payloadHdrLen
	for _, e := range events {
		binary.LittleEndian.PutUint64(p[i:], uint64(e.Timestamp))
		binary.LittleEndian.PutUint32(p[i+8:], uint32(len(e.Message)))
		i += eventHdrLen
		i += copy(p[i:], e.Message)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(n))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(p, crcTable))
	return dst
}

// parseFrame reads a record's frame header: the payload length, checked
// against the bytes left in the segment.
func parseFrame(b []byte, off, size int64) (payloadLen int64, crc uint32, err error) {
	n := int64(binary.LittleEndian.Uint32(b))
	if n < payloadHdrLen || n > maxPayloadLen || off+frameLen+n > size {
		return 0, 0, errCorrupt
	}
	return n, binary.LittleEndian.Uint32(b[4:]), nil
}

// checkPayload verifies a payload against its CRC and that its events fill
// it exactly, and returns what the index needs of it.
func checkPayload(p []byte, crc uint32) (recordInfo, error) {
	if crc32.Checksum(p, crcTable) != crc {
		return recordInfo{}, errCorrupt
	}
	r := recordInfo{
		firstSeq: binary.LittleEndian.Uint64(p[0:]),
		ingest:   int64(binary.LittleEndian.Uint64(p[8:])),
		count:    binary.LittleEndian.Uint32(p[16:]),
		minTS:    math.MaxInt64,
		maxTS:    math.MinInt64,
	}
	if r.count == 0 {
		return recordInfo{}, errCorrupt
	}
	i := payloadHdrLen
	for k := uint32(0); k < r.count; k++ {
		if len(p)-i < eventHdrLen {
			return recordInfo{}, errCorrupt
		}
		ts := int64(binary.LittleEndian.Uint64(p[i:]))
		n := int(binary.LittleEndian.Uint32(p[i+8:]))
		i += eventHdrLen
		if n > len(p)-i {
			return recordInfo{}, errCorrupt
		}
		i += n
		r.minTS, r.maxTS = min(r.minTS, ts), max(r.maxTS, ts)
	}
	if i != len(p) {
		return recordInfo{}, errCorrupt
	}
	return r, nil
}

// scanSegment reads the records of f from off to size, calling fn for each
// good one, and returns the end of the last good record: a record that is
// cut short or fails its checks ends the scan. expectSeq, when not zero, is
// the sequence number the first record must start with; each record must
// continue where the previous one ended.
func scanSegment(f *os.File, off, size int64, expectSeq uint64, fn func(recordInfo)) (int64, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 1<<20)
	var hdr [frameLen]byte
	var payload []byte
	for off < size {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return off, readErr(err)
		}
		n, crc, err := parseFrame(hdr[:], off, size)
		if err != nil {
			return off, nil
		}
		if int64(cap(payload)) < n {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			return off, readErr(err)
		}
		info, err := checkPayload(payload, crc)
		if err != nil || (expectSeq != 0 && info.firstSeq != expectSeq) {
			return off, nil
		}
		info.off, info.end = off, off+frameLen+n
		expectSeq = info.firstSeq + uint64(info.count)
		fn(info)
		off = info.end
	}
	return off, nil
}

// readErr turns the end of the data into a clean stop of a scan, and keeps
// real I/O errors.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// decodeEvent reads the event at p[i:] of a checked payload.
func decodeEvent(p []byte, i int) (ts int64, msg []byte, next int) {
	ts = int64(binary.LittleEndian.Uint64(p[i:]))
	n := int(binary.LittleEndian.Uint32(p[i+8:]))
	i += eventHdrLen
	return ts, p[i : i+n], i + n
}

func segName(firstSeq uint64) string { return fmt.Sprintf("%020d", firstSeq) }

// parseSegName returns the first sequence number a segment file's name
// carries.
func parseSegName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(base) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

func segHeader(firstSeq uint64) []byte {
	b := make([]byte, segHeaderLen)
	copy(b, segMagic)
	binary.LittleEndian.PutUint64(b[8:], firstSeq)
	return b
}

func checkSegHeader(f *os.File, firstSeq uint64) error {
	b := make([]byte, segHeaderLen)
	if _, err := f.ReadAt(b, 0); err != nil {
		return errCorrupt
	}
	if string(b[:8]) != segMagic || binary.LittleEndian.Uint64(b[8:]) != firstSeq {
		return errCorrupt
	}
	return nil
}

// The index file format.
//
//	"BERTHIX1" | covered end (i64) | first seq (u64) | span count (u32) |
//	spans × (off, end (i64) | first seq (u64) | count (u32) |
//	         min ts, max ts, max ingestion (i64)) | CRC-32C of all before (u32)
//
// It covers the records in [segHeaderLen, covered end) of its segment.
func encodeIdx(coveredEnd int64, firstSeq uint64, spans []span) []byte {
	b := make([]byte, idxHeaderLen, idxHeaderLen+len(spans)*spanEncodedLen+4)
	copy(b, idxMagic)
	binary.LittleEndian.PutUint64(b[8:], uint64(coveredEnd))
	binary.LittleEndian.PutUint64(b[16:], firstSeq)
	binary.LittleEndian.PutUint32(b[24:], uint32(len(spans)))
	var e [spanEncodedLen]byte
	for _, s := range spans {
		binary.LittleEndian.PutUint64(e[0:], uint64(s.off))
		binary.LittleEndian.PutUint64(e[8:], uint64(s.end))
		binary.LittleEndian.PutUint64(e[16:], s.firstSeq)
		binary.LittleEndian.PutUint32(e[24:], s.count)
		binary.LittleEndian.PutUint64(e[28:], uint64(s.minTS))
		binary.LittleEndian.PutUint64(e[36:], uint64(s.maxTS))
		binary.LittleEndian.PutUint64(e[44:], uint64(s.maxIngest))
		b = append(b, e[:]...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

// decodeIdx parses an index file and checks it is whole and consistent.
func decodeIdx(b []byte, firstSeq uint64) (coveredEnd int64, spans []span, err error) {
	if len(b) < idxHeaderLen+4 || string(b[:8]) != idxMagic {
		return 0, nil, errCorrupt
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return 0, nil, errCorrupt
	}
	coveredEnd = int64(binary.LittleEndian.Uint64(b[8:]))
	n := int(binary.LittleEndian.Uint32(b[24:]))
	if binary.LittleEndian.Uint64(b[16:]) != firstSeq || len(body) != idxHeaderLen+n*spanEncodedLen {
		return 0, nil, errCorrupt
	}
	spans = make([]span, n)
	prevEnd, nextSeq := int64(segHeaderLen), firstSeq
	for k := range spans {
		e := body[idxHeaderLen+k*spanEncodedLen:]
		s := span{
			off:       int64(binary.LittleEndian.Uint64(e[0:])),
			end:       int64(binary.LittleEndian.Uint64(e[8:])),
			firstSeq:  binary.LittleEndian.Uint64(e[16:]),
			count:     binary.LittleEndian.Uint32(e[24:]),
			minTS:     int64(binary.LittleEndian.Uint64(e[28:])),
			maxTS:     int64(binary.LittleEndian.Uint64(e[36:])),
			maxIngest: int64(binary.LittleEndian.Uint64(e[44:])),
		}
		if s.off != prevEnd || s.end <= s.off || s.firstSeq != nextSeq || s.count == 0 {
			return 0, nil, errCorrupt
		}
		prevEnd, nextSeq = s.end, s.firstSeq+uint64(s.count)
		spans[k] = s
	}
	if coveredEnd != prevEnd {
		return 0, nil, errCorrupt
	}
	return coveredEnd, spans, nil
}

func idxPath(segPath string) string {
	return strings.TrimSuffix(segPath, segSuffix) + idxSuffix
}

// readIdx reads a segment's index, if it has a sound one.
func readIdx(segPath string, firstSeq uint64) (int64, []span, error) {
	b, err := os.ReadFile(idxPath(segPath))
	if err != nil {
		return 0, nil, err
	}
	return decodeIdx(b, firstSeq)
}

func writeIdx(segPath string, coveredEnd int64, firstSeq uint64, spans []span) error {
	return writeFileAtomic(filepath.Dir(segPath), filepath.Base(idxPath(segPath)), encodeIdx(coveredEnd, firstSeq, spans))
}
