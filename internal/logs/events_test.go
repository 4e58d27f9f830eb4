package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/logs/store"
)

const (
	hour = int64(time.Hour / time.Millisecond)
	day  = 24 * hour
)

// getAll reads a whole stream from its head through the SDK's paginator,
// which stops when the forward token comes back unchanged.
func (e *env) getAll(t *testing.T, group, stream string) []string {
	t.Helper()
	p := cloudwatchlogs.NewGetLogEventsPaginator(e.c, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true),
	}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	var out []string
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 1000 {
			t.Fatal("GetLogEvents pagination does not end")
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetLogEvents(%s, %s) = %v", group, stream, err)
		}
		out = append(out, outMsgs(page.Events)...)
	}
	return out
}

func TestPutLogEventsRules(t *testing.T) {
	now := int64(0) // set below from the env's clock
	big := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name       string
		events     func() []types.InputLogEvent
		retention  int32
		code, msg  string
		wantStored func(evs []types.InputLogEvent) []string
		wantRej    string
	}{
		{name: "ok", events: func() []types.InputLogEvent { return events("m", now-5, 5, 1) },
			wantStored: msgs},
		{name: "equal timestamps", events: func() []types.InputLogEvent { return events("m", now, 3, 0) },
			wantStored: msgs},
		{name: "10,000 events", events: func() []types.InputLogEvent { return events("m", now, 10000, 0) },
			wantStored: msgs},
		{name: "10,001 events", events: func() []types.InputLogEvent { return events("m", now, 10001, 0) },
			code: "InvalidParameterException", msg: "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to 10000"},
		{name: "1,048,576 bytes", events: func() []types.InputLogEvent {
			return []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String(big(1<<20 - 2*26 - 10))}, {Timestamp: aws.Int64(now), Message: aws.String(big(10))}}
		}, wantStored: msgs},
		{name: "1,048,577 bytes", events: func() []types.InputLogEvent {
			return []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String(big(1<<20 - 2*26 - 9))}, {Timestamp: aws.Int64(now), Message: aws.String(big(10))}}
		}, code: "InvalidParameterException", msg: "Upload too large: 1048577 bytes exceeds limit of 1048576"},
		{name: "multi-byte characters count as bytes", events: func() []types.InputLogEvent {
			return []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String(strings.Repeat("é", 524276))}}
		}, code: "InvalidParameterException", msg: "Upload too large: 1048578 bytes exceeds limit of 1048576"},
		{name: "out of order", events: func() []types.InputLogEvent {
			return []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("b")}, {Timestamp: aws.Int64(now - 1), Message: aws.String("a")}}
		}, code: "InvalidParameterException", msg: "Log events in a single PutLogEvents request must be in chronological order."},
		{name: "spans 24 h", events: func() []types.InputLogEvent { return events("m", now-day, 2, day) },
			wantStored: msgs},
		{name: "spans more than 24 h", events: func() []types.InputLogEvent { return events("m", now-day-1, 2, day+1) },
			code: "InvalidParameterException", msg: "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."},
		{name: "too old and too new", events: func() []types.InputLogEvent {
			return []types.InputLogEvent{
				{Timestamp: aws.Int64(now - 15*day), Message: aws.String("old 0")},
				{Timestamp: aws.Int64(now - 14*day - 1), Message: aws.String("old 1")},
				{Timestamp: aws.Int64(now - hour), Message: aws.String("kept")},
				{Timestamp: aws.Int64(now + 2*hour), Message: aws.String("newest kept")},
				{Timestamp: aws.Int64(now + 2*hour + 1), Message: aws.String("new 0")},
				{Timestamp: aws.Int64(now + 5*hour), Message: aws.String("new 1")},
			}
		}, wantStored: func([]types.InputLogEvent) []string { return []string{"kept", "newest kept"} },
			wantRej: "new 4, old 2, expired -"},
		{name: "14 days old", events: func() []types.InputLogEvent { return events("m", now-14*day, 2, 1) },
			wantStored: msgs},
		// The span rule counts only the accepted events.
		{name: "rejected events do not count for the span", events: func() []types.InputLogEvent {
			return []types.InputLogEvent{{Timestamp: aws.Int64(now - 20*day), Message: aws.String("old")}, {Timestamp: aws.Int64(now), Message: aws.String("now")}}
		}, wantStored: func([]types.InputLogEvent) []string { return []string{"now"} }, wantRej: "new -, old 1, expired -"},
		{name: "all too new", events: func() []types.InputLogEvent { return events("m", now+3*hour, 2, 1) },
			wantStored: func([]types.InputLogEvent) []string { return nil }, wantRej: "new 0, old -, expired -"},
		{name: "expired", retention: 1, events: func() []types.InputLogEvent { return events("m", now-2*day, 3, day) },
			wantStored: func(evs []types.InputLogEvent) []string { return msgs(evs)[1:] }, wantRej: "new -, old -, expired 1"},
		{name: "empty message", events: func() []types.InputLogEvent {
			return []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("")}}
		},
			code: "InvalidParameterException", msg: "1 validation error detected: Value '' at 'logEvents.1.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "negative timestamp", events: func() []types.InputLogEvent {
			return []types.InputLogEvent{{Timestamp: aws.Int64(-1), Message: aws.String("x")}}
		},
			code: "InvalidParameterException", msg: "1 validation error detected: Value '-1' at 'logEvents.1.member.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			now = e.clock.Now().UnixMilli()
			e.createGroup(t, "g")
			e.createStream(t, "g", "s")
			if tc.retention > 0 {
				if _, err := e.c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(tc.retention)}); err != nil {
					t.Fatal(err)
				}
			}
			evs := tc.events()
			out, err := e.c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs,
				SequenceToken: aws.String("ignored")})
			if tc.code != "" {
				wantError(t, "PutLogEvents("+tc.name+")", err, tc.code, tc.msg)
				if got := e.getAll(t, "g", "s"); len(got) != 0 {
					t.Errorf("a refused batch stored %d events", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("PutLogEvents(%s) = %v", tc.name, err)
			}
			if out.NextSequenceToken == nil {
				t.Errorf("PutLogEvents(%s) returned no nextSequenceToken", tc.name)
			}
			gotRej := ""
			if r := out.RejectedLogEventsInfo; r != nil {
				idx := func(p *int32) string {
					if p == nil {
						return "-"
					}
					return fmt.Sprint(*p)
				}
				gotRej = fmt.Sprintf("new %s, old %s, expired %s", idx(r.TooNewLogEventStartIndex), idx(r.TooOldLogEventEndIndex), idx(r.ExpiredLogEventEndIndex))
			}
			if gotRej != tc.wantRej {
				t.Errorf("rejectedLogEventsInfo = %q; want %q", gotRej, tc.wantRej)
			}
			want := tc.wantStored(evs)
			if got := e.getAll(t, "g", "s"); !slices.Equal(got, want) {
				t.Errorf("stored events = %s; want %s", join(got), join(want))
			}
		})
	}
}

func TestPutLogEventsMissing(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	evs := events("m", e.clock.Now().UnixMilli(), 1, 0)
	_, err := e.c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs})
	wantError(t, "PutLogEvents(missing stream)", err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = e.c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s"), LogEvents: evs})
	wantError(t, "PutLogEvents(missing group)", err, "ResourceNotFoundException", "The specified log group does not exist.")
	e.createStream(t, "g", "s")
	// Successive batches get successive tokens; any token (or none) is fine.
	first := e.put(t, "g", "s", evs)
	second, err := e.c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs, SequenceToken: first.NextSequenceToken})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(first.NextSequenceToken) == aws.ToString(second.NextSequenceToken) {
		t.Errorf("two batches returned the same nextSequenceToken %s", aws.ToString(first.NextSequenceToken))
	}
}

func TestGetLogEvents(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	e.createStream(t, "g", "s")
	base := e.clock.Now().UnixMilli() - hour
	var all []string
	for b := range 5 {
		evs := events(fmt.Sprintf("b%d", b), base+int64(b)*100, 10, 10)
		e.put(t, "g", "s", evs)
		all = append(all, msgs(evs)...)
	}
	get := func(in cloudwatchlogs.GetLogEventsInput) *cloudwatchlogs.GetLogEventsOutput {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String("g"), aws.String("s")
		out, err := e.c.GetLogEvents(ctx, &in)
		if err != nil {
			t.Fatalf("GetLogEvents(%+v) = %v", in, err)
		}
		if out.NextForwardToken == nil || out.NextBackwardToken == nil {
			t.Fatalf("GetLogEvents(%+v) tokens = %v, %v; want both", in, out.NextForwardToken, out.NextBackwardToken)
		}
		return out
	}
	check := func(call string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s = %s; want %s", call, join(got), join(want))
		}
	}

	// Without a token: the newest events, oldest first.
	tail := get(cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(7)})
	check("GetLogEvents(limit 7)", outMsgs(tail.Events), all[43:])
	check("GetLogEvents()", outMsgs(get(cloudwatchlogs.GetLogEventsInput{}).Events), all)
	// Backward from there.
	back := get(cloudwatchlogs.GetLogEventsInput{NextToken: tail.NextBackwardToken, Limit: aws.Int32(20)})
	check("GetLogEvents(backward)", outMsgs(back.Events), all[23:43])
	back = get(cloudwatchlogs.GetLogEventsInput{NextToken: back.NextBackwardToken, Limit: aws.Int32(30)})
	check("GetLogEvents(backward 2)", outMsgs(back.Events), all[:23])
	end := get(cloudwatchlogs.GetLogEventsInput{NextToken: back.NextBackwardToken})
	check("GetLogEvents(backward at the head)", outMsgs(end.Events), nil)
	if aws.ToString(end.NextBackwardToken) != aws.ToString(back.NextBackwardToken) {
		t.Errorf("at the head nextBackwardToken = %s; want the token given, %s", aws.ToString(end.NextBackwardToken), aws.ToString(back.NextBackwardToken))
	}
	// Forward from the tail: nothing new, the same token back.
	fwd := get(cloudwatchlogs.GetLogEventsInput{NextToken: tail.NextForwardToken, StartFromHead: aws.Bool(true)})
	check("GetLogEvents(forward at the tail)", outMsgs(fwd.Events), nil)
	if aws.ToString(fwd.NextForwardToken) != aws.ToString(tail.NextForwardToken) {
		t.Errorf("nothing new: nextForwardToken = %s; want the token given, %s", aws.ToString(fwd.NextForwardToken), aws.ToString(tail.NextForwardToken))
	}
	// New events appear after that token.
	more := events("more", base+1000, 3, 1)
	e.put(t, "g", "s", more)
	fwd = get(cloudwatchlogs.GetLogEventsInput{NextToken: tail.NextForwardToken})
	check("GetLogEvents(forward after new events)", outMsgs(fwd.Events), msgs(more))
	all = append(all, msgs(more)...)

	// From the head, in pages, through the SDK paginator.
	head := get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), Limit: aws.Int32(4)})
	check("GetLogEvents(head, 4)", outMsgs(head.Events), all[:4])
	check("GetLogEvents pages", e.getAll(t, "g", "s"), all)

	// Time range: start inclusive, end exclusive.
	check("GetLogEvents(time)", outMsgs(get(cloudwatchlogs.GetLogEventsInput{StartTime: aws.Int64(base + 105), EndTime: aws.Int64(base + 200), StartFromHead: aws.Bool(true)}).Events),
		all[10+1:20])
	check("GetLogEvents(end 1)", outMsgs(get(cloudwatchlogs.GetLogEventsInput{EndTime: aws.Int64(1)}).Events), nil)
	check("GetLogEvents(empty range)", outMsgs(get(cloudwatchlogs.GetLogEventsInput{StartTime: aws.Int64(base + 500), EndTime: aws.Int64(base + 500)}).Events), nil)

	ev := get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true), Limit: aws.Int32(1)}).Events[0]
	if aws.ToInt64(ev.Timestamp) != base || aws.ToInt64(ev.IngestionTime) != e.clock.Now().UnixMilli() {
		t.Errorf("first event = timestamp %d, ingestion %d; want %d, %d", aws.ToInt64(ev.Timestamp), aws.ToInt64(ev.IngestionTime), base, e.clock.Now().UnixMilli())
	}

	for _, tc := range []struct {
		name, code, msg string
		in              cloudwatchlogs.GetLogEventsInput
	}{
		{"bad token", "InvalidParameterException", "The specified nextToken is invalid.",
			cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String("x/123")}},
		{"limit", "InvalidParameterException", "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000",
			cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(10001)}},
		{"negative start", "InvalidParameterException", "1 validation error detected: Value '-5' at 'startTime' failed to satisfy constraint: Member must have value greater than or equal to 0",
			cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartTime: aws.Int64(-5)}},
		{"missing stream", "ResourceNotFoundException", "The specified log stream does not exist.",
			cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope")}},
	} {
		_, err := e.c.GetLogEvents(ctx, &tc.in)
		wantError(t, "GetLogEvents("+tc.name+")", err, tc.code, tc.msg)
	}
}

// TestGetLogEventsResponseLimit: without a limit a response holds at most
// about 1 MB of events, and the pages still add up to the stream.
func TestGetLogEventsResponseLimit(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	e.createStream(t, "g", "s")
	var all []string
	for b := range 3 {
		evs := make([]types.InputLogEvent, 10)
		for i := range evs {
			evs[i] = types.InputLogEvent{Timestamp: aws.Int64(e.clock.Now().UnixMilli()), Message: aws.String(fmt.Sprintf("%d-%d %s", b, i, strings.Repeat("x", 100_000)))}
		}
		e.put(t, "g", "s", evs)
		all = append(all, msgs(evs)...)
	}
	out, err := e.c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Events); n == 0 || n > 10 {
		t.Errorf("GetLogEvents of 3 MB = %d events in one response; want about 1 MB of them", n)
	}
	if got := e.getAll(t, "g", "s"); !slices.Equal(got, all) {
		t.Errorf("all pages = %d events; want %d", len(got), len(all))
	}
}

// filterAll pages through FilterLogEvents.
func (e *env) filterAll(t *testing.T, in cloudwatchlogs.FilterLogEventsInput) ([]types.FilteredLogEvent, int) {
	t.Helper()
	var out []types.FilteredLogEvent
	pages := 0
	p := cloudwatchlogs.NewFilterLogEventsPaginator(e.c, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("FilterLogEvents(%+v) = %v", in, err)
		}
		out = append(out, page.Events...)
		pages++
	}
	return out, pages
}

func TestFilterLogEvents(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	base := e.clock.Now().UnixMilli() - hour
	// Three streams whose events interleave in time.
	put := func(stream string, ts int64, msg string) {
		e.put(t, "g", stream, []types.InputLogEvent{{Timestamp: aws.Int64(ts), Message: aws.String(msg)}})
	}
	for _, s := range []string{"app/1", "app/2", "db"} {
		e.createStream(t, "g", s)
	}
	e.createStream(t, "g", "empty")
	lines := []struct {
		stream string
		dt     int64
		msg    string
	}{
		{"app/1", 0, "INFO start"},
		{"db", 1, `{"level": "error", "latency": 900, "user": {"id": 7}}`},
		{"app/2", 2, "ERROR timeout talking to db"},
		{"app/1", 3, `{"level": "info", "latency": 12, "user": {"id": 8}}`},
		{"app/2", 4, "WARN slow"},
		{"db", 5, "ERROR deadlock"},
		{"app/1", 5, "INFO same millisecond"},
		{"app/2", 6, `[ERROR] 127.0.0.1 GET /index.html 404`},
		{"app/1", 7, "INFO done"},
	}
	for _, l := range lines {
		put(l.stream, base+l.dt, l.msg)
	}
	all := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, lines[i].msg)
		}
		return out
	}
	g := aws.String("g")
	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.FilterLogEventsInput
		want []string
	}{
		{"everything, interleaved by time", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g}, all(0, 1, 2, 3, 4, 6, 5, 7, 8)},
		{"pages of 2", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, Limit: aws.Int32(2)}, all(0, 1, 2, 3, 4, 6, 5, 7, 8)},
		{"pages of 1", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, Limit: aws.Int32(1)}, all(0, 1, 2, 3, 4, 6, 5, 7, 8)},
		{"term", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String("ERROR")}, all(2, 5, 7)},
		{"terms", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String("ERROR db")}, all(2)},
		{"any of", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String("?WARN ?deadlock")}, all(4, 5)},
		{"exclude", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`INFO -"same millisecond"`)}, all(0, 8)},
		{"phrase", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`"timeout talking"`)}, all(2)},
		{"json", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`{ $.level = "error" }`)}, all(1)},
		{"json numeric", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`{ $.latency > 10 && $.user.id != 7 }`)}, all(3)},
		{"json or", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`{ ($.latency >= 900) || ($.level = inf*) }`)}, all(1, 3)},
		{"json not exists", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`{ $.user.name NOT EXISTS }`)}, all(1, 3)},
		{"delimited", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`[level, ip, method, path, status = 4*]`)}, all(7)},
		{"regex", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`%dead(lock)?|slow%`)}, nil}, // no parentheses: see invalid
		{"regex ok", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`%deadlock|slow%`)}, all(4, 5)},
		{"stream names", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, LogStreamNames: []string{"db", "app/2"}}, all(1, 2, 4, 5, 7)},
		{"stream prefix", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, LogStreamNamePrefix: aws.String("app/")}, all(0, 2, 3, 4, 6, 7, 8)},
		{"time range, both inclusive", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartTime: aws.Int64(base + 3), EndTime: aws.Int64(base + 5)}, all(3, 4, 6, 5)},
		{"time range, paged", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartTime: aws.Int64(base + 3), EndTime: aws.Int64(base + 5), Limit: aws.Int32(1)}, all(3, 4, 6, 5)},
		{"by identifier", cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:g"), FilterPattern: aws.String("INFO")}, all(0, 6, 8)},
		{"newest first", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartFromHead: aws.Bool(false)}, all(8, 7, 5, 6, 4, 3, 2, 1, 0)},
		{"newest first, pages of 2", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartFromHead: aws.Bool(false), Limit: aws.Int32(2)}, all(8, 7, 5, 6, 4, 3, 2, 1, 0)},
		{"newest first, time range, pages of 1", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartFromHead: aws.Bool(false), StartTime: aws.Int64(base + 3), EndTime: aws.Int64(base + 5), Limit: aws.Int32(1)}, all(5, 6, 4, 3)},
		{"newest first, term", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartFromHead: aws.Bool(false), FilterPattern: aws.String("ERROR"), Limit: aws.Int32(1)}, all(7, 5, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "regex" {
				_, err := e.c.FilterLogEvents(ctx, &tc.in)
				wantError(t, "FilterLogEvents(regex with parentheses)", err, "InvalidParameterException", "Invalid filter pattern")
				return
			}
			got, _ := e.filterAll(t, tc.in)
			if !slices.Equal(filteredMsgs(got), tc.want) {
				t.Errorf("FilterLogEvents(%s) = %s; want %s", tc.name, join(filteredMsgs(got)), join(tc.want))
			}
		})
	}

	// Event fields.
	out, err := e.c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: g})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, ev := range out.Events {
		id := aws.ToString(ev.EventId)
		if len(id) != 56 || ids[id] {
			t.Errorf("event %d id %q: want 56 digits, unique", i, id)
		}
		ids[id] = true
	}
	if ev := out.Events[2]; aws.ToString(ev.LogStreamName) != "app/2" || aws.ToInt64(ev.Timestamp) != base+2 || aws.ToInt64(ev.IngestionTime) != e.clock.Now().UnixMilli() {
		t.Errorf("event 2 = %s %d %d; want app/2, %d, %d", aws.ToString(ev.LogStreamName), aws.ToInt64(ev.Timestamp), aws.ToInt64(ev.IngestionTime), base+2, e.clock.Now().UnixMilli())
	}
	searched := map[string]bool{}
	for _, s := range out.SearchedLogStreams {
		searched[aws.ToString(s.LogStreamName)] = aws.ToBool(s.SearchedCompletely)
	}
	if fmt.Sprint(searched) != "map[app/1:true app/2:true db:true empty:true]" {
		t.Errorf("searchedLogStreams = %v; want every stream, completely", searched)
	}
	// Ids are stable across calls.
	again, err := e.c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartTime: aws.Int64(base + 2)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.Events[0].EventId) != aws.ToString(out.Events[2].EventId) {
		t.Errorf("the same event has ids %s and %s", aws.ToString(out.Events[2].EventId), aws.ToString(again.Events[0].EventId))
	}

	for _, tc := range []struct {
		name, code, msg string
		in              cloudwatchlogs.FilterLogEventsInput
	}{
		{"bad pattern", "InvalidParameterException", "Invalid filter pattern", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(`{ $.a = `)}},
		{"both stream filters", "InvalidParameterException", "You cannot specify both LogStreamNames and LogStreamNamePrefix.",
			cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, LogStreamNames: []string{"db"}, LogStreamNamePrefix: aws.String("a")}},
		{"missing stream", "ResourceNotFoundException", "The specified log stream does not exist.", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, LogStreamNames: []string{"db", "nope"}}},
		{"missing group", "ResourceNotFoundException", "The specified log group does not exist.", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("nope")}},
		{"bad token", "InvalidParameterException", "The specified nextToken is invalid.", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, NextToken: aws.String("abc")}},
		{"too many streams", "InvalidParameterException", "1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to 100",
			cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, LogStreamNames: strings.Fields(strings.Repeat("s ", 101))}},
		{"long pattern", "InvalidParameterException", "", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, FilterPattern: aws.String(strings.Repeat("a", 1025))}},
		{"newest first before 2024", "InvalidParameterException", "", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartFromHead: aws.Bool(false), StartTime: aws.Int64(1704067199999)}},
	} {
		_, err := e.c.FilterLogEvents(ctx, &tc.in)
		wantError(t, "FilterLogEvents("+tc.name+")", err, tc.code, tc.msg)
	}
	// A token of one group does not work for another.
	first, err := e.c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, Limit: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("FilterLogEvents(limit 1) = %v, token %v", err, first.NextToken)
	}
	e.createGroup(t, "h")
	_, err = e.c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("h"), NextToken: first.NextToken})
	wantError(t, "FilterLogEvents(another group's token)", err, "InvalidParameterException", "The specified nextToken is invalid.")
}

// TestFilterLogEventsScanBudget: a search that runs out of its read budget
// returns what it found with a token, and the pages add up.
func TestFilterLogEventsScanBudget(t *testing.T) {
	e := start(t)
	e.api.testScanBudget = 500
	e.createGroup(t, "g")
	var want []string
	for s := range 3 {
		name := fmt.Sprintf("s%d", s)
		e.createStream(t, "g", name)
		for b := range 4 {
			evs := events(fmt.Sprintf("%s-%d", name, b), e.clock.Now().UnixMilli()-hour+int64(b*100+s), 25, 3)
			e.put(t, "g", name, evs)
		}
	}
	all, _ := e.filterAll(t, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(10000)})
	for _, ev := range all {
		if strings.Contains(aws.ToString(ev.Message), "7") {
			want = append(want, aws.ToString(ev.Message))
		}
	}
	got, pages := e.filterAll(t, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`"7"`)})
	if len(all) != 300 || !slices.Equal(filteredMsgs(got), want) || len(want) != 24 {
		t.Errorf("paged search = %s in %d pages; want %s (of %d events)", join(filteredMsgs(got)), pages, join(want), len(all))
	}
	if pages < 5 {
		t.Errorf("a search of 300 events with a 500-byte budget took %d pages; want it cut into several", pages)
	}
}

// TestTailFollow drives FilterLogEvents as `aws logs tail --follow` does:
// page with nextToken; at the end, poll again from the newest timestamp
// seen, dropping the event ids already printed for that timestamp. Events
// written between polls, in several streams, must all appear, once.
func TestTailFollow(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	e.createStream(t, "g", "a")
	e.createStream(t, "g", "b")
	start := e.clock.Now().UnixMilli() - 10*60*1000
	//lint:ignore SA1019 the CLI still sends interleaved
	kwargs := cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), StartTime: aws.Int64(start), Interleaved: aws.Bool(true), Limit: aws.Int32(3)}
	seenIDs := map[int64]map[string]bool{}
	var printed []string
	poll := func() {
		t.Helper()
		for range 100 {
			out, err := e.c.FilterLogEvents(ctx, &kwargs)
			if err != nil {
				t.Fatalf("FilterLogEvents = %v", err)
			}
			for _, ev := range out.Events {
				ts, id := aws.ToInt64(ev.Timestamp), aws.ToString(ev.EventId)
				if seenIDs[ts] == nil {
					seenIDs[ts] = map[string]bool{}
				}
				if !seenIDs[ts][id] {
					seenIDs[ts][id] = true
					printed = append(printed, aws.ToString(ev.Message))
				}
			}
			// Keep only the ids of the newest timestamp.
			var newest int64 = -1
			for ts := range seenIDs {
				newest = max(newest, ts)
			}
			for ts := range seenIDs {
				if ts != newest {
					delete(seenIDs, ts)
				}
			}
			if out.NextToken != nil {
				kwargs.NextToken = out.NextToken
				continue
			}
			if newest >= 0 {
				kwargs.StartTime = aws.Int64(newest)
			}
			kwargs.NextToken = nil
			return // the CLI sleeps 5 s here
		}
		t.Fatal("FilterLogEvents pagination does not end")
	}
	var want []string
	now := e.clock.Now().UnixMilli()
	for round := range 6 {
		// Events in both streams, some sharing the newest millisecond.
		ts := now + int64(round)*10
		for i, s := range []string{"a", "b", "a", "b", "a"} {
			msg := fmt.Sprintf("r%d-%s-%d", round, s, i)
			e.put(t, "g", s, []types.InputLogEvent{{Timestamp: aws.Int64(ts + int64(i/2)), Message: aws.String(msg)}})
			want = append(want, msg)
		}
		poll()
		if round%2 == 1 {
			poll() // a poll that finds nothing new prints nothing
		}
	}
	if !slices.Equal(printed, want) {
		t.Errorf("tail --follow printed %s; want %s", join(printed), join(want))
	}
}

func TestIngest(t *testing.T) {
	e := start(t)
	now := e.clock.Now().UnixMilli()
	err := e.api.Ingest(ctx, account, region, "/ecs/app", "task/1", []InputEvent{{Timestamp: now, Message: "hi"}}, false)
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Ingest(missing group, no create) = %v; want ErrNotFound", err)
	}
	if err := e.api.Ingest(ctx, account, region, "/ecs/app", "task/1", []InputEvent{{Timestamp: now, Message: "hi"}, {Timestamp: now, Message: "there"}}, true); err != nil {
		t.Fatalf("Ingest(create group) = %v", err)
	}
	// The group exists now: no createGroup needed; a new stream is made.
	if err := e.api.Ingest(ctx, account, region, "/ecs/app", "task/2", []InputEvent{{Timestamp: now + 1, Message: "two"}}, false); err != nil {
		t.Fatalf("Ingest(new stream) = %v", err)
	}
	if got := e.getAll(t, "/ecs/app", "task/1"); !slices.Equal(got, []string{"hi", "there"}) {
		t.Errorf("task/1 = %q", got)
	}
	got, _ := e.filterAll(t, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/app")})
	if !slices.Equal(filteredMsgs(got), []string{"hi", "there", "two"}) {
		t.Errorf("group /ecs/app = %q", filteredMsgs(got))
	}
	// Another account's Ingest is its own.
	if err := e.api.Ingest(ctx, "111111111111", region, "/ecs/app", "task/1", []InputEvent{{Timestamp: now, Message: "other"}}, true); err != nil {
		t.Fatal(err)
	}
	if got := e.getAll(t, "/ecs/app", "task/1"); len(got) != 2 {
		t.Errorf("our task/1 after another account's Ingest = %q", got)
	}

	for _, tc := range []struct {
		name   string
		events []InputEvent
		check  func(error) bool
	}{
		{"too new", []InputEvent{{Timestamp: now, Message: "ok"}, {Timestamp: now + 3*hour, Message: "future"}}, func(err error) bool {
			var r *RejectedError
			return errors.As(err, &r) && r.TooNewStart == 1 && r.TooOldEnd == -1 && r.ExpiredEnd == -1
		}},
		{"too old", []InputEvent{{Timestamp: now - 15*day, Message: "past"}, {Timestamp: now, Message: "ok"}}, func(err error) bool {
			var r *RejectedError
			return errors.As(err, &r) && r.TooOldEnd == 1 && r.TooNewStart == -1
		}},
		{"out of order", []InputEvent{{Timestamp: now, Message: "b"}, {Timestamp: now - 1, Message: "a"}}, nil},
		{"too large", []InputEvent{{Timestamp: now, Message: strings.Repeat("x", MaxBatchBytes)}}, nil},
		{"empty message", []InputEvent{{Timestamp: now, Message: ""}}, nil},
		{"no events", nil, nil},
		{"bad stream name", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := "task/1"
			evs := tc.events
			if tc.name == "bad stream name" {
				stream, evs = "a:b", []InputEvent{{Timestamp: now, Message: "x"}}
			}
			err := e.api.Ingest(ctx, account, region, "/ecs/app", stream, evs, true)
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Ingest(%s) = %v; want ErrInvalidArgument", tc.name, err)
			}
			if tc.check != nil && !tc.check(err) {
				t.Errorf("Ingest(%s) = %#v", tc.name, err)
			}
			if got := e.getAll(t, "/ecs/app", "task/1"); len(got) != 2 {
				t.Errorf("after a refused Ingest task/1 has %q; want the 2 events from before", got)
			}
			// A refused batch creates nothing either.
			if err := e.api.Ingest(ctx, account, region, "/ecs/refused", stream, evs, true); !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Ingest(%s, new group) = %v; want ErrInvalidArgument", tc.name, err)
			}
			if _, err := e.c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/ecs/refused")}); code(err) != "ResourceNotFoundException" {
				t.Errorf("a refused Ingest created its group: DescribeLogStreams = %v", err)
			}
		})
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	e := start(t, func(c *Config) { c.SegmentBytes = 8 << 10 })
	if _, err := e.c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	e.createStream(t, "g", "s")
	var want []string
	for b := range 20 {
		evs := events(fmt.Sprintf("b%d %s", b, strings.Repeat("y", 50)), e.clock.Now().UnixMilli()-hour+int64(b)*10, 20, 1)
		e.put(t, "g", "s", evs)
		want = append(want, msgs(evs)...)
	}
	beforeGroups := e.describeGroups(t, nil)
	beforeStreams := e.describeStreams(t, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})
	e.restart(t, func(c *Config) { c.SegmentBytes = 8 << 10 })
	if got, want := jsonOf(t, e.describeGroups(t, nil)), jsonOf(t, beforeGroups); got != want {
		t.Errorf("groups after restart = %s; want %s", got, want)
	}
	if got, want := jsonOf(t, e.describeStreams(t, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})), jsonOf(t, beforeStreams); got != want {
		t.Errorf("streams after restart = %s; want %s", got, want)
	}
	if got := e.getAll(t, "g", "s"); !slices.Equal(got, want) {
		t.Errorf("events after restart = %s; want %s", join(got), join(want))
	}
	//lint:ignore SA1019 the deprecated legacy API is part of what this serves
	tags, err := e.c.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("g")})
	if err != nil || tags.Tags["k"] != "v" {
		t.Errorf("tags after restart = %v, %v", tags, err)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRetentionHidesExpired: once events are older than the group's
// retention no read returns them, whether or not Run deleted them yet.
func TestRetentionHidesExpired(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	e.createStream(t, "g", "s")
	now := e.clock.Now().UnixMilli()
	e.put(t, "g", "s", events("old", now-3*day, 2, 1))
	e.put(t, "g", "s", events("new", now, 2, 1))
	if _, err := e.c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if got := e.getAll(t, "g", "s"); !slices.Equal(got, []string{"new 0", "new 1"}) {
		t.Errorf("GetLogEvents with 1-day retention = %q; want the new events", got)
	}
	got, _ := e.filterAll(t, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")})
	if !slices.Equal(filteredMsgs(got), []string{"new 0", "new 1"}) {
		t.Errorf("FilterLogEvents with 1-day retention = %q; want the new events", filteredMsgs(got))
	}
	e.clock.Advance(2 * 24 * time.Hour)
	if got := e.getAll(t, "g", "s"); len(got) != 0 {
		t.Errorf("GetLogEvents two days later = %q; want nothing", got)
	}
}

// TestConcurrentWritersAndReaders: parallel PutLogEvents on one stream
// (AWS allows them now) and reads at the same time lose nothing.
func TestConcurrentWritersAndReaders(t *testing.T) {
	e := start(t, func(c *Config) { c.SegmentBytes = 8 << 10 })
	e.createGroup(t, "g")
	e.createStream(t, "g", "s")
	const writers, batches = 4, 15
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				evs := events(fmt.Sprintf("w%d-b%d", w, b), e.clock.Now().UnixMilli()-hour+int64(b), 10, 0)
				if _, err := e.c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
					t.Errorf("PutLogEvents = %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := e.c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String("w1")}); err != nil {
				t.Errorf("FilterLogEvents = %v", err)
			}
			if _, err := e.c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}); err != nil {
				t.Errorf("GetLogEvents = %v", err)
			}
		}
	})
	wg.Wait()
	got := e.getAll(t, "g", "s")
	if len(got) != writers*batches*10 {
		t.Fatalf("after concurrent writes the stream has %d events; want %d", len(got), writers*batches*10)
	}
	seen := map[string]bool{}
	for _, m := range got {
		if seen[m] {
			t.Fatalf("event %q stored twice", m)
		}
		seen[m] = true
	}
}

// TestFilterLogEventsUnorderedBatches: PutLogEvents needs order only
// within a batch, so a stream's later batches may hold older events.
// FilterLogEvents still returns the group's events by timestamp, and its
// pages add up to them, each event once.
func TestFilterLogEventsUnorderedBatches(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	e.createStream(t, "g", "s")
	e.createStream(t, "g", "t")
	base := e.clock.Now().UnixMilli() - hour
	put := func(stream string, dt int64, msg string) {
		e.put(t, "g", stream, []types.InputLogEvent{{Timestamp: aws.Int64(base + dt), Message: aws.String(msg)}})
	}
	put("s", 30, "s 30")
	put("s", 10, "s 10")
	put("t", 20, "t 20")
	put("s", 20, "s 20")
	put("s", 40, "s 40")
	put("s", 0, "s 0")
	asc := []string{"s 0", "s 10", "s 20", "t 20", "s 30", "s 40"}
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	g := aws.String("g")
	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.FilterLogEventsInput
		want []string
	}{
		{"one page", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g}, asc},
		{"pages of 1", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, Limit: aws.Int32(1)}, asc},
		{"pages of 2", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, Limit: aws.Int32(2)}, asc},
		{"time range, pages of 1", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartTime: aws.Int64(base + 10), EndTime: aws.Int64(base + 30), Limit: aws.Int32(1)}, asc[1:5]},
		{"newest first", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartFromHead: aws.Bool(false)}, desc},
		{"newest first, pages of 1", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, StartFromHead: aws.Bool(false), Limit: aws.Int32(1)}, desc},
		{"one stream, pages of 1", cloudwatchlogs.FilterLogEventsInput{LogGroupName: g, LogStreamNames: []string{"s"}, Limit: aws.Int32(1)}, []string{"s 0", "s 10", "s 20", "s 30", "s 40"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := e.filterAll(t, tc.in)
			if !slices.Equal(filteredMsgs(got), tc.want) {
				t.Errorf("FilterLogEvents(%s) = %s; want %s", tc.name, join(filteredMsgs(got)), join(tc.want))
			}
		})
	}
	// Still so after a restart, and with a read budget that cuts the
	// search into many calls.
	e.restart(t)
	e.api.testScanBudget = 1
	if got, _ := e.filterAll(t, cloudwatchlogs.FilterLogEventsInput{LogGroupName: g}); !slices.Equal(filteredMsgs(got), asc) {
		t.Errorf("FilterLogEvents after a restart, budget 1 = %s; want %s", join(filteredMsgs(got)), join(asc))
	}
}

// TestFilterLogEventsUnorderedLarge: an unordered stream larger than what
// one sorted read keeps (in events, and in bytes) still comes out whole,
// by timestamp, in both directions.
func TestFilterLogEventsUnorderedLarge(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	e.createStream(t, "g", "s")
	base := e.clock.Now().UnixMilli() - hour
	var want []string
	// Batch b holds timestamps b, b+10, b+20, ...: each batch reaches back
	// before the one written before it. 1,000 events: more than a first
	// sorted read keeps.
	for _, b := range []int64{9, 3, 7, 0, 5, 1, 8, 2, 6, 4} {
		evs := make([]types.InputLogEvent, 100)
		for i := range evs {
			evs[i] = types.InputLogEvent{Timestamp: aws.Int64(base + b + int64(i)*10), Message: aws.String(fmt.Sprintf("%04d", b+int64(i)*10))}
		}
		e.put(t, "g", "s", evs)
	}
	for i := range 1000 {
		want = append(want, fmt.Sprintf("%04d", i))
	}
	desc := slices.Clone(want)
	slices.Reverse(desc)
	for _, tc := range []struct {
		name  string
		in    cloudwatchlogs.FilterLogEventsInput
		want  []string
		pages int
	}{
		{"oldest first", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}, want, 1},
		{"newest first", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), StartFromHead: aws.Bool(false)}, desc, 1},
		{"oldest first, pages of 300", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(300)}, want, 4},
	} {
		got, pages := e.filterAll(t, tc.in)
		if g := filteredMsgs(got); !slices.Equal(g, tc.want) || pages != tc.pages {
			t.Errorf("FilterLogEvents(%s) = %s in %d pages; want %s in %d", tc.name, join(g), pages, join(tc.want), tc.pages)
		}
	}

	// A sorted read that keeps one message at a time (its bound in bytes)
	// still reads them all, in order.
	for _, desc := range []bool{false, true} {
		var scanned int64
		ss := &sortedScan{st: e.api.store, key: store.GroupKey{Account: account, Region: region, Name: "g"}, stream: "s", maxTS: 1<<63 - 1, desc: desc,
			readAhead: 64 << 10, maxBytes: 1, batch: sortedBatchMin, scanned: &scanned}
		var got []string
		for {
			ev, ok, err := ss.next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, string(ev.Message))
		}
		w := want
		if desc {
			w = slices.Clone(want)
			slices.Reverse(w)
		}
		if !slices.Equal(got, w) {
			t.Errorf("sortedScan(desc %v, 1 byte) = %s; want %s", desc, join(got), join(w))
		}
	}
}
