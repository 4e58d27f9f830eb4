package logs

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/logs/pattern"
	"github.com/berthhq/berth/internal/logs/store"
)

// The batch rules of PutLogEvents, which Ingest applies too.
const (
	// MaxBatchEvents is the most events a batch may hold.
	MaxBatchEvents = 10000
	// MaxBatchBytes bounds a batch: the UTF-8 bytes of its messages plus
	// EventOverhead per event.
	MaxBatchBytes = 1048576
	// EventOverhead is what each event counts for in MaxBatchBytes besides
	// its message.
	EventOverhead = 26
	// MaxFuture is how far ahead of the server's clock an event may be.
	MaxFuture = 2 * time.Hour
	// MaxAge is how far behind the server's clock an event may be.
	MaxAge = 14 * 24 * time.Hour
	// MaxBatchSpan is the most time the accepted events of a batch may span.
	MaxBatchSpan = 24 * time.Hour
)

// responseBudget bounds the events of one GetLogEvents or FilterLogEvents
// response, as AWS bounds them to 1 MB.
const responseBudget = 1 << 20

// defaultScanBudget bounds the bytes one FilterLogEvents call reads; when
// it runs out the call returns what it found with a nextToken.
const defaultScanBudget = 256 << 20

// InputEvent is an event to ingest: a timestamp in milliseconds since the
// epoch and a message.
type InputEvent = store.InputEvent

// RejectedLogEventsInfo is the RejectedLogEventsInfo shape.
type RejectedLogEventsInfo struct {
	TooNewLogEventStartIndex *int32 `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int32 `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int32 `json:"expiredLogEventEndIndex,omitempty"`
}

// RejectedError is Ingest's report of events outside the accepted time
// window; Ingest then writes none of the batch. Each index is -1 when no
// event is in that case.
type RejectedError struct {
	TooNewStart int // the first event more than MaxFuture ahead
	TooOldEnd   int // events before it are older than MaxAge
	ExpiredEnd  int // events before it are older than the group's retention
}

func (e *RejectedError) Error() string {
	var parts []string
	if e.TooNewStart >= 0 {
		parts = append(parts, fmt.Sprintf("events from index %d are more than %s in the future", e.TooNewStart, MaxFuture))
	}
	if e.TooOldEnd >= 0 {
		parts = append(parts, fmt.Sprintf("events before index %d are older than 14 days", e.TooOldEnd))
	}
	if e.ExpiredEnd >= 0 {
		parts = append(parts, fmt.Sprintf("events before index %d are older than the log group's retention", e.ExpiredEnd))
	}
	return "log events rejected: " + strings.Join(parts, "; ")
}

// Is makes a RejectedError an errdefs.ErrInvalidArgument.
func (e *RejectedError) Is(target error) bool { return target == errdefs.ErrInvalidArgument }

// checkBatch applies the batch rules to events at now for a group with the
// given retention. The accepted events are events[lo:hi] (the rejected are
// a prefix of too old or expired ones and a suffix of too new ones, since
// the events are in order); rej is nil when all are accepted.
func checkBatch(events []InputEvent, now time.Time, retentionDays int32) (lo, hi int, rej *RejectedError, err error) {
	size := 0
	for _, e := range events {
		size += len(e.Message) + EventOverhead
	}
	if size > MaxBatchBytes {
		return 0, 0, nil, invalidParam("Upload too large: %d bytes exceeds limit of %d", size, MaxBatchBytes)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Timestamp < events[i-1].Timestamp {
			return 0, 0, nil, invalidParam("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	newest, oldest := ms(now.Add(MaxFuture)), ms(now.Add(-MaxAge))
	cutoff := retentionCutoff(retentionDays, now)
	tooOld, expired, hi := 0, 0, len(events)
	for i, e := range events {
		if e.Timestamp < oldest {
			tooOld = i + 1
		}
		if e.Timestamp < cutoff {
			expired = i + 1
		}
		if e.Timestamp > newest && hi == len(events) {
			hi = i
		}
	}
	lo = min(max(tooOld, expired), hi)
	if lo > 0 || hi < len(events) {
		rej = &RejectedError{TooNewStart: -1, TooOldEnd: -1, ExpiredEnd: -1}
		if hi < len(events) {
			rej.TooNewStart = hi
		}
		if tooOld > 0 {
			rej.TooOldEnd = tooOld
		}
		if expired > 0 {
			rej.ExpiredEnd = expired
		}
	}
	if lo < hi && time.Duration(events[hi-1].Timestamp-events[lo].Timestamp)*time.Millisecond > MaxBatchSpan {
		return 0, 0, nil, invalidParam("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	return lo, hi, rej, nil
}

func (e *RejectedError) info() *RejectedLogEventsInfo {
	idx := func(i int) *int32 {
		if i < 0 {
			return nil
		}
		n := int32(i)
		return &n
	}
	return &RejectedLogEventsInfo{TooNewLogEventStartIndex: idx(e.TooNewStart), TooOldLogEventEndIndex: idx(e.TooOldEnd), ExpiredLogEventEndIndex: idx(e.ExpiredEnd)}
}

// Ingest stores a batch of container output in a stream, for the agent,
// which ships logs through its own authenticated channel. It creates the
// stream if missing, and the group too when createGroup (else the group
// must exist). It applies PutLogEvents' batch rules, but rejects the whole
// batch (with a *RejectedError) rather than dropping events outside the
// time window. It returns once the events are durable.
func (a *API) Ingest(ctx context.Context, account, region, group, stream string, events []InputEvent, createGroup bool) error {
	var v validator
	v.groupName("logGroupName", &group, true)
	v.streamName("logStreamName", &stream, true)
	v.count("logEvents", len(events), 1, MaxBatchEvents)
	for i, e := range events {
		v.atLeast(fmt.Sprintf("logEvents.%d.member.timestamp", i+1), e.Timestamp, 0)
		if e.Message == "" {
			v.length(fmt.Sprintf("logEvents.%d.member.message", i+1), e.Message, 1, 0)
		}
	}
	if err := v.err(); err != nil {
		return invalidArgument(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := a.now()
	k := store.GroupKey{Account: account, Region: region, Name: group}
	// Judge the batch before creating anything for it. A group made here
	// has no retention policy yet.
	var retention int32
	g, err := a.store.Group(k)
	switch {
	case err == nil:
		retention = g.RetentionDays
	case !errors.Is(err, errdefs.ErrNotFound) || !createGroup:
		return err
	}
	_, _, rej, err := checkBatch(events, now, retention)
	if err != nil {
		return invalidArgument(err)
	}
	if rej != nil {
		return rej
	}
	mk := func() store.Group {
		return store.Group{Account: account, Region: region, Name: group, Created: ms(now), Class: "STANDARD"}
	}
	if err := a.store.EnsureStream(k, stream, createGroup, mk, ms(now)); err != nil {
		return err
	}
	_, err = a.store.Append(k, stream, ms(now), events)
	return err
}

// invalidArgument turns a validation failure, which the API reports as an
// InvalidParameterException, into the domain error Ingest returns.
func invalidArgument(err error) error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return errdefs.New(errdefs.ErrInvalidArgument, store.KindStream, "%s", ae.Message)
	}
	return err
}

type InputLogEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type PutLogEventsInput struct {
	LogGroupName  *string         `json:"logGroupName"`
	LogStreamName *string         `json:"logStreamName"`
	LogEvents     []InputLogEvent `json:"logEvents"`
	SequenceToken *string         `json:"sequenceToken"`
	Entity        any             `json:"entity"`
}

type PutLogEventsOutput struct {
	NextSequenceToken     *string                `json:"nextSequenceToken,omitempty"`
	RejectedLogEventsInfo *RejectedLogEventsInfo `json:"rejectedLogEventsInfo,omitempty"`
}

// PutLogEvents stores a batch of events in a stream. Events outside the
// accepted time window are left out and reported; the sequence token is
// accepted and ignored, as AWS now does.
func (a *API) PutLogEvents(ctx context.Context, in *PutLogEventsInput) (*PutLogEventsOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	v.streamName("logStreamName", in.LogStreamName, true)
	if v.required("logEvents", in.LogEvents != nil) {
		v.count("logEvents", len(in.LogEvents), 1, MaxBatchEvents)
	}
	events := make([]InputEvent, len(in.LogEvents))
	for i, e := range in.LogEvents {
		member := fmt.Sprintf("logEvents.%d.member.", i+1)
		if v.required(member+"timestamp", e.Timestamp != nil) {
			v.atLeast(member+"timestamp", *e.Timestamp, 0)
			events[i].Timestamp = *e.Timestamp
		}
		if v.required(member+"message", e.Message != nil) {
			v.length(member+"message", *e.Message, 1, 0)
			events[i].Message = *e.Message
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	k := groupKey(ctx, *in.LogGroupName)
	g, err := a.store.Group(k)
	if err != nil {
		return nil, err
	}
	if _, err := a.store.Stream(k, *in.LogStreamName); err != nil {
		return nil, err
	}
	now := a.now()
	lo, hi, rej, err := checkBatch(events, now, g.RetentionDays)
	if err != nil {
		return nil, err
	}
	out := &PutLogEventsOutput{}
	if rej != nil {
		out.RejectedLogEventsInfo = rej.info()
	}
	if lo < hi {
		if _, err := a.store.Append(k, *in.LogStreamName, ms(now), events[lo:hi]); err != nil {
			return nil, err
		}
	}
	s, err := a.store.Stream(k, *in.LogStreamName)
	if err != nil {
		return nil, err
	}
	out.NextSequenceToken = sequenceToken(s.NextSeq)
	return out, nil
}

type GetLogEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int32  `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
	Unmask             *bool   `json:"unmask"`
}

type OutputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type GetLogEventsOutput struct {
	Events            []OutputLogEvent `json:"events"`
	NextForwardToken  *string          `json:"nextForwardToken"`
	NextBackwardToken *string          `json:"nextBackwardToken"`
}

// GetLogEvents reads a stream's events in the order they were ingested,
// from its head, from its tail (the default), or from a token: f/ tokens
// go forward, b/ tokens backward. When nothing is left in that direction it
// returns the token it was given, which is how clients know they are done.
func (a *API) GetLogEvents(ctx context.Context, in *GetLogEventsInput) (*GetLogEventsOutput, error) {
	var v validator
	k, err := resolveGroup(ctx, in.LogGroupName, in.LogGroupIdentifier, &v)
	if err != nil {
		return nil, err
	}
	v.streamName("logStreamName", in.LogStreamName, true)
	v.timestamp("startTime", in.StartTime)
	v.timestamp("endTime", in.EndTime)
	v.limit("limit", in.Limit, maxEventsLimit)
	if in.NextToken != nil {
		v.length("nextToken", *in.NextToken, 1, 0)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var (
		dir   byte = 'b'
		pos   uint64
		token bool
	)
	if in.NextToken != nil {
		if dir, pos, err = parseEventToken(*in.NextToken); err != nil {
			return nil, err
		}
		token = true
	} else if in.StartFromHead != nil && *in.StartFromHead {
		dir, pos, token = 'f', 1, false
	}
	g, err := a.store.Group(k)
	if err != nil {
		return nil, err
	}
	s, err := a.store.Stream(k, *in.LogStreamName)
	if err != nil {
		return nil, err
	}
	if !token && dir == 'b' {
		pos = s.NextSeq
	}
	limit := int(maxEventsLimit)
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	opt := store.ScanOptions{MinTS: retentionCutoff(g.RetentionDays, a.now())}
	if in.StartTime != nil {
		opt.MinTS = max(opt.MinTS, *in.StartTime)
	}
	empty := false
	if in.EndTime != nil {
		// endTime is exclusive here.
		opt.MaxTS = *in.EndTime - 1
		empty = *in.EndTime <= 1 || opt.MaxTS < opt.MinTS
	}
	var events []store.Event
	if !empty {
		if dir == 'f' {
			opt.From = pos
		} else {
			opt.Before, opt.Reverse = pos, true
		}
		it, err := a.store.Scan(k, *in.LogStreamName, opt)
		if err != nil {
			return nil, err
		}
		budget := responseBudget
		for len(events) < limit && it.Next() {
			e := it.Event()
			budget -= len(e.Message) + 64
			if budget < 0 && len(events) > 0 {
				break
			}
			e.Message = []byte(string(e.Message))
			events = append(events, e)
		}
		it.Close()
		if err := it.Err(); err != nil {
			return nil, err
		}
	}
	if dir == 'b' {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	out := &GetLogEventsOutput{Events: make([]OutputLogEvent, len(events))}
	for i, e := range events {
		out.Events[i] = OutputLogEvent{Timestamp: e.Timestamp, Message: string(e.Message), IngestionTime: e.Ingestion}
	}
	switch {
	case len(events) > 0:
		out.NextForwardToken = eventToken('f', events[len(events)-1].Seq+1)
		out.NextBackwardToken = eventToken('b', events[0].Seq)
	case token:
		// Nothing new: the same token back, and its twin.
		out.NextForwardToken, out.NextBackwardToken = eventToken('f', pos), eventToken('b', pos)
		if dir == 'f' {
			out.NextForwardToken = in.NextToken
		} else {
			out.NextBackwardToken = in.NextToken
		}
	default:
		out.NextForwardToken, out.NextBackwardToken = eventToken('f', pos), eventToken('b', pos)
	}
	return out, nil
}

type FilterLogEventsInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
	Interleaved         *bool    `json:"interleaved"`
	StartFromHead       *bool    `json:"startFromHead"`
	Unmask              *bool    `json:"unmask"`
}

type FilteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type SearchedLogStream struct {
	LogStreamName      string `json:"logStreamName"`
	SearchedCompletely bool   `json:"searchedCompletely"`
}

type FilterLogEventsOutput struct {
	Events             []FilteredLogEvent  `json:"events"`
	SearchedLogStreams []SearchedLogStream `json:"searchedLogStreams"`
	NextToken          *string             `json:"nextToken,omitempty"`
}

// FilterLogEvents searches a group's streams for events matching a filter
// pattern, interleaving the streams in timestamp order. A nextToken marks
// where the search stopped (at the response limit, or after reading its
// budget of data) and resumes it.
func (a *API) FilterLogEvents(ctx context.Context, in *FilterLogEventsInput) (*FilterLogEventsOutput, error) {
	var v validator
	k, err := resolveGroup(ctx, in.LogGroupName, in.LogGroupIdentifier, &v)
	if err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil {
		v.count("logStreamNames", len(in.LogStreamNames), 1, maxFilterStreams)
		for i, n := range in.LogStreamNames {
			v.streamName(fmt.Sprintf("logStreamNames.%d.member", i+1), &n, true)
		}
	}
	if in.LogStreamNamePrefix != nil {
		v.streamName("logStreamNamePrefix", in.LogStreamNamePrefix, false)
	}
	v.timestamp("startTime", in.StartTime)
	v.timestamp("endTime", in.EndTime)
	v.limit("limit", in.Limit, maxEventsLimit)
	if in.FilterPattern != nil {
		v.length("filterPattern", *in.FilterPattern, 0, pattern.MaxLength)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, invalidParam("You cannot specify both LogStreamNames and LogStreamNamePrefix.")
	}
	desc := in.StartFromHead != nil && !*in.StartFromHead
	if desc && in.StartTime != nil && *in.StartTime < descendingSince {
		return nil, invalidParam("startFromHead can be false only with a startTime on or after Jan 1, 2024 00:00:00 UTC.")
	}
	filter := &pattern.Pattern{}
	if in.FilterPattern != nil {
		if filter, err = pattern.Parse(*in.FilterPattern); err != nil {
			return nil, invalidParam("Invalid filter pattern")
		}
	}
	var resume *eventKey
	if in.NextToken != nil {
		key, tokDesc, err := decodeFilterToken(*in.NextToken, k.Name)
		if err != nil {
			return nil, err
		}
		// The token's direction wins over startFromHead.
		resume, desc = &key, tokDesc
	}
	g, err := a.store.Group(k)
	if err != nil {
		return nil, err
	}
	streams, err := a.store.Streams(k)
	if err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil {
		byName := map[string]store.Stream{}
		for _, s := range streams {
			byName[s.Name] = s
		}
		streams = streams[:0]
		for _, n := range in.LogStreamNames {
			s, ok := byName[n]
			if !ok {
				return nil, errdefs.New(errdefs.ErrNotFound, store.KindStream, "The specified log stream does not exist.")
			}
			streams = append(streams, s)
			delete(byName, n)
		}
	} else if in.LogStreamNamePrefix != nil {
		kept := streams[:0]
		for _, s := range streams {
			if strings.HasPrefix(s.Name, *in.LogStreamNamePrefix) {
				kept = append(kept, s)
			}
		}
		streams = kept
	}

	minTS, maxTS := retentionCutoff(g.RetentionDays, a.now()), int64(math.MaxInt64)
	if in.StartTime != nil {
		minTS = max(minTS, *in.StartTime)
	}
	if in.EndTime != nil {
		maxTS = *in.EndTime
	}
	limit := int(maxEventsLimit)
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	q := filterQuery{
		key: k, streams: streams, minTS: minTS, maxTS: maxTS, resume: resume, desc: desc,
		match: filter, limit: limit, scanBudget: a.scanBudget(),
	}
	res, err := a.filter(q)
	if err != nil {
		return nil, err
	}
	out := &FilterLogEventsOutput{Events: res.events, SearchedLogStreams: res.searched}
	if res.stoppedAt != nil {
		out.NextToken = encodeFilterToken(*res.stoppedAt, k.Name, desc)
	}
	return out, nil
}

// scanBudget is what one FilterLogEvents call may read.
func (a *API) scanBudget() int64 {
	if a.testScanBudget > 0 {
		return a.testScanBudget
	}
	return defaultScanBudget
}

// eventKey orders events across the streams of a group: by timestamp, then
// stream name, then sequence number.
type eventKey struct {
	ts     int64
	stream string
	seq    uint64
}

func (k eventKey) less(o eventKey) bool {
	if k.ts != o.ts {
		return k.ts < o.ts
	}
	if k.stream != o.stream {
		return k.stream < o.stream
	}
	return k.seq < o.seq
}

// descendingSince is the earliest startTime FilterLogEvents takes with
// startFromHead false (Jan 1, 2024 00:00:00 UTC), as AWS documents.
const descendingSince = 1704067200000

// A FilterLogEvents token: the key of the last event examined, the
// direction, and a checksum of the group name, so that a token is not taken
// for another group's.
func encodeFilterToken(k eventKey, group string, desc bool) *string {
	b := make([]byte, 21, 21+len(k.stream))
	binary.BigEndian.PutUint64(b[0:], uint64(k.ts))
	binary.BigEndian.PutUint64(b[8:], k.seq)
	binary.BigEndian.PutUint32(b[16:], crc32.ChecksumIEEE([]byte(group)))
	if desc {
		b[20] = 1
	}
	s := base64.RawURLEncoding.EncodeToString(append(b, k.stream...))
	return &s
}

func decodeFilterToken(tok, group string) (k eventKey, desc bool, err error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 22 || binary.BigEndian.Uint32(b[16:]) != crc32.ChecksumIEEE([]byte(group)) || b[20] > 1 {
		return eventKey{}, false, errBadToken()
	}
	return eventKey{ts: int64(binary.BigEndian.Uint64(b[0:])), seq: binary.BigEndian.Uint64(b[8:]), stream: string(b[21:])}, b[20] == 1, nil
}

// cursorHeap merges the streams' scans in eventKey order (or its reverse).
// Streams are ranked by name (the query sorts them), so that ties on the
// timestamp compare integers rather than names.
type cursorHeap struct {
	cs   []*cursor
	desc bool
}

type cursor struct {
	it     *store.Iter // nil when sorted reads the stream
	sorted *sortedScan // for a stream whose events are not in timestamp order
	s      store.Stream
	rank   int
	ev     store.Event
}

func (h *cursorHeap) Len() int { return len(h.cs) }
func (h *cursorHeap) Less(i, j int) bool {
	a, b := h.cs[i], h.cs[j]
	if a.ev.Timestamp != b.ev.Timestamp {
		return (a.ev.Timestamp < b.ev.Timestamp) != h.desc
	}
	return (a.rank < b.rank) != h.desc
}
func (h *cursorHeap) Swap(i, j int) { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *cursorHeap) Push(x any)    { h.cs = append(h.cs, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	c := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return c
}

// EnsureStream creates a log stream if it is missing (and its group too
// when createGroup, else the group must exist), as the awslogs driver does
// when a container starts.
func (a *API) EnsureStream(ctx context.Context, account, region, group, stream string, createGroup bool) error {
	var v validator
	v.groupName("logGroupName", &group, true)
	v.streamName("logStreamName", &stream, true)
	if err := v.err(); err != nil {
		return invalidArgument(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := a.now()
	k := store.GroupKey{Account: account, Region: region, Name: group}
	mk := func() store.Group {
		return store.Group{Account: account, Region: region, Name: group, Created: ms(now), Class: "STANDARD"}
	}
	return a.store.EnsureStream(k, stream, createGroup, mk, ms(now))
}
