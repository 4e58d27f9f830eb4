package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/logs/store"
)

// TargetPrefix is the X-Amz-Target prefix of the CloudWatch Logs API.
const TargetPrefix = "Logs_20140328"

// Config configures the CloudWatch Logs API.
type Config struct {
	// DataDir is where log data is kept.
	DataDir string
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RetentionInterval is how often Run enforces retention policies (and
	// checkpoints indexes, and closes idle files).
	RetentionInterval time.Duration
	// SegmentBytes is the size of a stream's segment files; 0 means 8 MiB.
	SegmentBytes int64
	// MaxOpenFiles bounds the segment files kept open; 0 means 256.
	MaxOpenFiles int
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("logs: DataDir is required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = time.Minute
	}
	if c.RetentionInterval < 0 {
		return fmt.Errorf("logs: RetentionInterval %s is negative", c.RetentionInterval)
	}
	return nil
}

// API serves the CloudWatch Logs operations and takes container output
// from agents through Ingest.
type API struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	store *store.Store

	// testScanBudget, when set, replaces what one FilterLogEvents call may
	// read, so that tests can page through small data.
	testScanBudget int64
}

// New opens the log store in cfg.DataDir (recovering what a crash left) and
// returns the API over it. It starts no goroutine; Run enforces retention.
func New(cfg Config) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "logs")
	st, err := store.Open(store.Config{Dir: cfg.DataDir, Logger: log, SegmentBytes: cfg.SegmentBytes, MaxOpenFiles: cfg.MaxOpenFiles})
	if err != nil {
		return nil, err
	}
	return &API{cfg: cfg, log: log, now: cfg.Now, store: st}, nil
}

// Run enforces retention policies every RetentionInterval until ctx is
// done, then returns nil.
func (a *API) Run(ctx context.Context) error {
	t := time.NewTicker(a.cfg.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := a.store.Maintain(a.now()); err != nil {
				a.log.Error("log retention and index maintenance", "err", err)
			}
		}
	}
}

// Close checkpoints and closes the log store. Call it after Run returned.
func (a *API) Close() error { return a.store.Close() }

// Service returns the CloudWatch Logs API's registration with the gateway.
func (a *API) Service() *awsapi.JSONService {
	return &awsapi.JSONService{
		SigningName:     "logs",
		TargetPrefix:    TargetPrefix,
		JSONVersion:     "1.1",
		ServerErrorCode: "ServiceUnavailableException",
		MapError:        mapError,
		Ops: map[string]awsapi.JSONHandler{
			"CreateLogGroup":        awsapi.JSON(a.CreateLogGroup),
			"DeleteLogGroup":        awsapi.JSON(a.DeleteLogGroup),
			"DescribeLogGroups":     awsapi.JSON(a.DescribeLogGroups),
			"CreateLogStream":       awsapi.JSON(a.CreateLogStream),
			"DeleteLogStream":       awsapi.JSON(a.DeleteLogStream),
			"DescribeLogStreams":    awsapi.JSON(a.DescribeLogStreams),
			"PutLogEvents":          awsapi.JSON(a.PutLogEvents),
			"GetLogEvents":          awsapi.JSON(a.GetLogEvents),
			"FilterLogEvents":       awsapi.JSON(a.FilterLogEvents),
			"PutRetentionPolicy":    awsapi.JSON(a.PutRetentionPolicy),
			"DeleteRetentionPolicy": awsapi.JSON(a.DeleteRetentionPolicy),
			"TagResource":           awsapi.JSON(a.TagResource),
			"UntagResource":         awsapi.JSON(a.UntagResource),
			"ListTagsForResource":   awsapi.JSON(a.ListTagsForResource),
			"TagLogGroup":           awsapi.JSON(a.TagLogGroup),
			"UntagLogGroup":         awsapi.JSON(a.UntagLogGroup),
			"ListTagsLogGroup":      awsapi.JSON(a.ListTagsLogGroup),
		},
	}
}

// mapError names the store's domain errors as CloudWatch Logs does.
func mapError(err error) *awsapi.Error {
	e, ok := errdefs.As(err)
	if !ok {
		return nil
	}
	switch {
	case errors.Is(e, errdefs.ErrNotFound):
		return &awsapi.Error{Code: "ResourceNotFoundException", Message: e.Message}
	case errors.Is(e, errdefs.ErrAlreadyExists):
		return &awsapi.Error{Code: "ResourceAlreadyExistsException", Message: e.Message}
	case errors.Is(e, errdefs.ErrInvalidArgument):
		return &awsapi.Error{Code: "InvalidParameterException", Message: e.Message}
	case errors.Is(e, errdefs.ErrLimitExceeded):
		return &awsapi.Error{Code: "LimitExceededException", Message: e.Message}
	case errors.Is(e, errdefs.ErrConflict):
		return &awsapi.Error{Code: "OperationAbortedException", Message: e.Message}
	case errors.Is(e, errdefs.ErrUnavailable):
		return &awsapi.Error{Code: "ServiceUnavailableException", Message: e.Message, Status: 503, Server: true}
	}
	return nil
}

// groupKey is the group name in the caller's account and region.
func groupKey(ctx context.Context, name string) store.GroupKey {
	c := awsapi.CallerFrom(ctx)
	return store.GroupKey{Account: c.Account, Region: c.Region, Name: name}
}

// groupARN is the log group ARN without the trailing :* (what tagging APIs
// and logGroupArn use).
func groupARN(k store.GroupKey) string {
	return "arn:aws:logs:" + k.Region + ":" + k.Account + ":log-group:" + k.Name
}

func streamARN(k store.GroupKey, stream string) string {
	return groupARN(k) + ":log-stream:" + stream
}

// parseGroupARN reads arn:<partition>:logs:<region>:<account>:log-group:<name>
// (a trailing :* allowed when star).
func parseGroupARN(arn string, star bool) (store.GroupKey, bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[1] == "" || parts[2] != "logs" || parts[3] == "" || parts[4] == "" || parts[5] != "log-group" {
		return store.GroupKey{}, false
	}
	name := parts[6]
	if star {
		name = strings.TrimSuffix(name, ":*")
	}
	if name == "" || !groupNamePattern.re.MatchString(name) {
		return store.GroupKey{}, false
	}
	return store.GroupKey{Account: parts[4], Region: parts[3], Name: name}, true
}

// resolveGroup finds the group a request names by logGroupName or by
// logGroupIdentifier (a name or an ARN), exactly one of them.
func resolveGroup(ctx context.Context, name, identifier *string, v *validator) (store.GroupKey, error) {
	switch {
	case name != nil && identifier != nil:
		return store.GroupKey{}, invalidParam("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name == nil && identifier == nil:
		return store.GroupKey{}, invalidParam("Either logGroupName or logGroupIdentifier must be specified.")
	case name != nil:
		v.groupName("logGroupName", name, true)
		return groupKey(ctx, *name), nil
	}
	v.length("logGroupIdentifier", *identifier, 1, 2048)
	v.pattern("logGroupIdentifier", *identifier, groupIdentifierPattern)
	if !strings.HasPrefix(*identifier, "arn:") {
		v.pattern("logGroupIdentifier", *identifier, groupNamePattern)
		return groupKey(ctx, *identifier), nil
	}
	k, ok := parseGroupARN(*identifier, false)
	if !ok {
		return store.GroupKey{}, invalidParam("The specified log group identifier %q is not a log group name or ARN.", *identifier)
	}
	c := awsapi.CallerFrom(ctx)
	if k.Account != c.Account || k.Region != c.Region {
		return store.GroupKey{}, errdefs.New(errdefs.ErrNotFound, store.KindGroup, "The specified log group does not exist.")
	}
	return k, nil
}

// ms is t in milliseconds since the epoch.
func ms(t time.Time) int64 { return t.UnixMilli() }

// retentionCutoff is the oldest timestamp a group's retention keeps at now
// (0 when it keeps everything).
func retentionCutoff(days int32, now time.Time) int64 {
	if days <= 0 {
		return 0
	}
	return ms(now.Add(-time.Duration(days) * 24 * time.Hour))
}
