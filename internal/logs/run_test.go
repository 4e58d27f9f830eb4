package logs

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
)

// segmentFiles counts the segment files under dir.
func segmentFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if filepath.Ext(path) == ".seg" {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRunEnforcesRetention: Run deletes the segments a retention policy
// expires, on its own schedule, and returns nil when cancelled.
func TestRunEnforcesRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		api, err := New(Config{DataDir: dir, RetentionInterval: time.Hour, SegmentBytes: 4 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer api.Close()
		caller := awsapi.WithCaller(context.Background(), &awsapi.Caller{Account: account, Region: region})
		now := time.Now().UnixMilli()
		for b := range 20 {
			evs := make([]InputEvent, 20)
			for i := range evs {
				evs[i] = InputEvent{Timestamp: now + int64(b), Message: "a message long enough to fill segments quickly"}
			}
			if err := api.Ingest(caller, account, region, "g", "s", evs, true); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := api.PutRetentionPolicy(caller, &PutRetentionPolicyInput{LogGroupName: ptr("g"), RetentionInDays: ptr(int32(1))}); err != nil {
			t.Fatal(err)
		}
		before := segmentFiles(t, dir)
		if before < 3 {
			t.Fatalf("the test data made %d segments; want several", before)
		}

		runCtx, cancel := context.WithCancel(context.Background())
		var runErr error
		var wg sync.WaitGroup
		wg.Go(func() { runErr = api.Run(runCtx) })

		// Within the retention, passes delete nothing.
		time.Sleep(12 * time.Hour)
		synctest.Wait()
		if n := segmentFiles(t, dir); n != before {
			t.Errorf("after 12 h of a 1-day retention %d of %d segments are left; want all", n, before)
		}
		// A day later, the next pass deletes them all.
		time.Sleep(13 * time.Hour)
		synctest.Wait()
		if n := segmentFiles(t, dir); n != 0 {
			t.Errorf("25 h into a 1-day retention %d segments are left; want none", n)
		}
		out, err := api.GetLogEvents(caller, &GetLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("s")})
		if err != nil || len(out.Events) != 0 {
			t.Errorf("GetLogEvents after retention = %d events, %v; want none", len(out.Events), err)
		}
		cancel()
		wg.Wait()
		if runErr != nil {
			t.Errorf("Run after cancel = %v; want nil", runErr)
		}
	})
}

func ptr[T any](v T) *T { return &v }
