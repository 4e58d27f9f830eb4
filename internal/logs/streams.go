package logs

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/logs/store"
)

type CreateLogStreamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

type CreateLogStreamOutput struct{}

// CreateLogStream creates a log stream in a group.
func (a *API) CreateLogStream(ctx context.Context, in *CreateLogStreamInput) (*CreateLogStreamOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	v.streamName("logStreamName", in.LogStreamName, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := a.store.CreateStream(groupKey(ctx, *in.LogGroupName), *in.LogStreamName, ms(a.now())); err != nil {
		return nil, err
	}
	return &CreateLogStreamOutput{}, nil
}

type DeleteLogStreamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

type DeleteLogStreamOutput struct{}

// DeleteLogStream deletes a log stream and its events.
func (a *API) DeleteLogStream(ctx context.Context, in *DeleteLogStreamInput) (*DeleteLogStreamOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	v.streamName("logStreamName", in.LogStreamName, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := a.store.DeleteStream(groupKey(ctx, *in.LogGroupName), *in.LogStreamName); err != nil {
		return nil, err
	}
	return &DeleteLogStreamOutput{}, nil
}

type DescribeLogStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int32  `json:"limit"`
}

type DescribeLogStreamsOutput struct {
	LogStreams []LogStream `json:"logStreams"`
	NextToken  *string     `json:"nextToken,omitempty"`
}

// LogStream is the LogStream shape.
type LogStream struct {
	LogStreamName       string  `json:"logStreamName"`
	CreationTime        int64   `json:"creationTime"`
	FirstEventTimestamp *int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64  `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken *string `json:"uploadSequenceToken,omitempty"`
	Arn                 string  `json:"arn"`
	// StoredBytes is always 0 for streams, as AWS reports it since 2019.
	StoredBytes int64 `json:"storedBytes"`
}

// DescribeLogStreams lists a group's streams by name or by last event time.
func (a *API) DescribeLogStreams(ctx context.Context, in *DescribeLogStreamsInput) (*DescribeLogStreamsOutput, error) {
	var v validator
	k, err := resolveGroup(ctx, in.LogGroupName, in.LogGroupIdentifier, &v)
	if err != nil {
		return nil, err
	}
	if in.LogStreamNamePrefix != nil {
		v.streamName("logStreamNamePrefix", in.LogStreamNamePrefix, false)
	}
	if in.OrderBy != nil {
		v.enum("orderBy", *in.OrderBy, orderByValues)
	}
	v.limit("limit", in.Limit, maxDescribeLimit)
	if err := v.err(); err != nil {
		return nil, err
	}
	byTime := in.OrderBy != nil && *in.OrderBy == "LastEventTime"
	if byTime && in.LogStreamNamePrefix != nil {
		return nil, invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	after, err := decodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	desc := in.Descending != nil && *in.Descending
	limit := int(maxDescribeLimit)
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	streams, err := a.store.Streams(k)
	if err != nil {
		return nil, err
	}
	if in.LogStreamNamePrefix != nil {
		streams = slices.DeleteFunc(streams, func(s store.Stream) bool { return !strings.HasPrefix(s.Name, *in.LogStreamNamePrefix) })
	}
	// Streams without events sort as if their last event were at 0.
	lastEvent := func(s store.Stream) int64 {
		if s.HasEvents {
			return s.LastEvent
		}
		return 0
	}
	order := func(t int64, name string, s store.Stream) int {
		c := strings.Compare(s.Name, name)
		if byTime {
			c = cmp.Or(cmp.Compare(lastEvent(s), t), c)
		}
		if desc {
			c = -c
		}
		return c
	}
	slices.SortFunc(streams, func(x, y store.Stream) int { return order(lastEvent(y), y.Name, x) })
	if after.Name != "" {
		streams = slices.DeleteFunc(streams, func(s store.Stream) bool { return order(after.Time, after.Name, s) <= 0 })
	}
	out := &DescribeLogStreamsOutput{LogStreams: []LogStream{}}
	for i, s := range streams {
		if i == limit {
			last := streams[i-1]
			out.NextToken = encodePageToken(pageToken{Name: last.Name, Time: lastEvent(last)})
			break
		}
		out.LogStreams = append(out.LogStreams, logStream(k, s))
	}
	return out, nil
}

func logStream(k store.GroupKey, s store.Stream) LogStream {
	ls := LogStream{LogStreamName: s.Name, CreationTime: s.Created, Arn: streamARN(k, s.Name)}
	if s.HasEvents {
		first, last, ingest := s.FirstEvent, s.LastEvent, s.LastIngestion
		ls.FirstEventTimestamp, ls.LastEventTimestamp, ls.LastIngestionTime = &first, &last, &ingest
		ls.UploadSequenceToken = sequenceToken(s.NextSeq)
	}
	return ls
}
