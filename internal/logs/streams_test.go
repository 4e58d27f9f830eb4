package logs

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func streamNames(ss []types.LogStream) []string {
	var out []string
	for _, s := range ss {
		out = append(out, aws.ToString(s.LogStreamName))
	}
	return out
}

func (e *env) describeStreams(t *testing.T, in *cloudwatchlogs.DescribeLogStreamsInput) []types.LogStream {
	t.Helper()
	var out []types.LogStream
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(e.c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeLogStreams(%+v) = %v", in, err)
		}
		out = append(out, page.LogStreams...)
	}
	return out
}

func TestLogStreams(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	created := e.clock.Now().UnixMilli()
	// Streams named in one order, with last events in another.
	for i, name := range []string{"c", "a", "e/1", "b", "d"} {
		e.createStream(t, "g", name)
		if name != "d" {
			e.put(t, "g", name, events(name, created-int64(10-i)*1000, 2, 100))
		}
	}
	_, err := e.c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a")})
	wantError(t, "CreateLogStream(existing)", err, "ResourceAlreadyExistsException", "The specified log stream already exists.")
	_, err = e.c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("missing"), LogStreamName: aws.String("a")})
	wantError(t, "CreateLogStream(missing group)", err, "ResourceNotFoundException", "The specified log group does not exist.")
	for _, bad := range []string{"a:b", "a*", strings.Repeat("s", 513)} {
		_, err := e.c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String(bad)})
		wantError(t, fmt.Sprintf("CreateLogStream(%.20s)", bad), err, "InvalidParameterException", "")
	}
	_, err = e.c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("x:y")})
	wantError(t, "CreateLogStream(colon)", err, "InvalidParameterException",
		"1 validation error detected: Value 'x:y' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*")

	g := aws.String("g")
	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.DescribeLogStreamsInput
		want []string
	}{
		{"by name", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g}, []string{"a", "b", "c", "d", "e/1"}},
		{"by name, pages of 2", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, Limit: aws.Int32(2)}, []string{"a", "b", "c", "d", "e/1"}},
		{"by name, descending", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, Descending: aws.Bool(true), Limit: aws.Int32(2)}, []string{"e/1", "d", "c", "b", "a"}},
		{"prefix", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, LogStreamNamePrefix: aws.String("e/")}, []string{"e/1"}},
		// d has no events: it sorts first.
		{"by last event", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, OrderBy: types.OrderByLastEventTime}, []string{"d", "c", "a", "e/1", "b"}},
		{"by last event, pages of 1", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, OrderBy: types.OrderByLastEventTime, Limit: aws.Int32(1)}, []string{"d", "c", "a", "e/1", "b"}},
		{"by last event, descending", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true), Limit: aws.Int32(2)}, []string{"b", "e/1", "a", "c", "d"}},
		{"by identifier", cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:g")}, []string{"a", "b", "c", "d", "e/1"}},
		{"by identifier name", cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: g, LogStreamNamePrefix: aws.String("b")}, []string{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := streamNames(e.describeStreams(t, &tc.in)); !slices.Equal(got, tc.want) {
				t.Errorf("DescribeLogStreams(%s) = %q; want %q", tc.name, got, tc.want)
			}
		})
	}

	ss := e.describeStreams(t, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, LogStreamNamePrefix: aws.String("b")})
	b := ss[0]
	first := created - 7*1000
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"arn", aws.ToString(b.Arn), "arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:b"},
		{"creationTime", aws.ToInt64(b.CreationTime), created},
		{"firstEventTimestamp", aws.ToInt64(b.FirstEventTimestamp), first},
		{"lastEventTimestamp", aws.ToInt64(b.LastEventTimestamp), first + 100},
		{"lastIngestionTime", aws.ToInt64(b.LastIngestionTime), created},
		//lint:ignore SA1019 AWS reports 0 here; so must we
		{"storedBytes", aws.ToInt64(b.StoredBytes), int64(0)},
		{"uploadSequenceToken set", b.UploadSequenceToken != nil, true},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("DescribeLogStreams stream b %s = %v; want %v", c.field, c.got, c.want)
		}
	}
	d := e.describeStreams(t, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, LogStreamNamePrefix: aws.String("d")})[0]
	if d.FirstEventTimestamp != nil || d.LastEventTimestamp != nil || d.LastIngestionTime != nil {
		t.Errorf("a stream without events reports event times: %+v", d)
	}

	for _, tc := range []struct {
		name, code, msg string
		in              cloudwatchlogs.DescribeLogStreamsInput
	}{
		{"prefix with LastEventTime", "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.",
			cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("a")}},
		{"bad order", "InvalidParameterException", "1 validation error detected: Value 'Size' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]",
			cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, OrderBy: "Size"}},
		{"limit", "InvalidParameterException", "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50",
			cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, Limit: aws.Int32(51)}},
		{"missing group", "ResourceNotFoundException", "The specified log group does not exist.",
			cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("nope")}},
		{"name and identifier", "InvalidParameterException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
			cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, LogGroupIdentifier: g}},
		{"neither", "InvalidParameterException", "",
			cloudwatchlogs.DescribeLogStreamsInput{}},
		{"bad token", "InvalidParameterException", "The specified nextToken is invalid.",
			cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g, NextToken: aws.String("!!")}},
	} {
		_, err := e.c.DescribeLogStreams(ctx, &tc.in)
		wantError(t, "DescribeLogStreams("+tc.name+")", err, tc.code, tc.msg)
	}

	if _, err := e.c.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: g, LogStreamName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: g, LogStreamName: aws.String("a")})
	wantError(t, "DeleteLogStream(deleted)", err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = e.c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: g, LogStreamName: aws.String("a")})
	wantError(t, "GetLogEvents(deleted stream)", err, "ResourceNotFoundException", "The specified log stream does not exist.")
	if got := streamNames(e.describeStreams(t, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g})); !slices.Equal(got, []string{"b", "c", "d", "e/1"}) {
		t.Errorf("DescribeLogStreams after delete = %q", got)
	}
	// Deleting the group takes its streams.
	if _, err := e.c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: g}); err != nil {
		t.Fatal(err)
	}
	e.createGroup(t, "g")
	if got := e.describeStreams(t, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: g}); len(got) != 0 {
		t.Errorf("a recreated group has streams %q", streamNames(got))
	}
}
