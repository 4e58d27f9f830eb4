package state

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/errdefs"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(Config{DataDir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatalf("WaitLeader: %v", err)
	}
	return s
}

func newCluster(name string) *Cluster {
	return &Cluster{Account: "000000000000", Region: "us-east-1", Name: name, ARN: "arn:aws:ecs:us-east-1:000000000000:cluster/" + name}
}

func TestApplySurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, dir)
	for _, name := range []string{"a", "b", "c"} {
		if _, err := Do[*Cluster](ctx, s, &CreateCluster{Cluster: newCluster(name)}); err != nil {
			t.Fatalf("CreateCluster(%s): %v", name, err)
		}
	}
	if _, err := Do[*Cluster](ctx, s, &DeleteCluster{Account: "000000000000", Region: "us-east-1", Name: "b"}); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openTest(t, dir)
	defer s.Close()
	snap := s.Snapshot()
	for name, want := range map[string]string{"a": ClusterActive, "b": ClusterInactive, "c": ClusterActive} {
		c := snap.Cluster("000000000000", "us-east-1", name)
		if c == nil || c.Status != want {
			t.Errorf("after reopen, cluster %s = %+v; want status %s", name, c, want)
		}
	}
}

func TestSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(Config{DataDir: dir, SnapshotThreshold: 5, SnapshotInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := Do[*Cluster](ctx, s, &CreateCluster{Cluster: newCluster(string(rune('a' + i)))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	for i := range 3 {
		if _, err := Do[*Cluster](ctx, s, &CreateCluster{Cluster: newCluster("late" + string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s = openTest(t, dir)
	defer s.Close()
	n := 0
	for range s.Snapshot().Clusters("000000000000", "us-east-1", "") {
		n++
	}
	if n != 23 {
		t.Errorf("clusters after snapshot+log restore = %d; want 23", n)
	}
}

func TestPutClusterOptimisticConflict(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	c, err := Do[*Cluster](ctx, s, &CreateCluster{Cluster: newCluster("x")})
	if err != nil {
		t.Fatal(err)
	}
	n := c.Copy()
	n.Tags = []Tag{{Key: "k", Value: "v"}}
	if _, err := Do[*Cluster](ctx, s, &PutCluster{Cluster: n, ModifyIndex: c.ModifyIndex}); err != nil {
		t.Fatalf("first PutCluster: %v", err)
	}
	_, err = Do[*Cluster](ctx, s, &PutCluster{Cluster: n, ModifyIndex: c.ModifyIndex})
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("stale PutCluster = %v; want ErrConflict", err)
	}
}

func TestRevisionsNeverReused(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	reg := func() int32 {
		d, err := Do[*TaskDefinition](ctx, s, &RegisterTaskDefinition{Def: &TaskDefinition{Account: "1", Region: "r", Family: "web"}})
		if err != nil {
			t.Fatal(err)
		}
		return d.Revision
	}
	reg()
	r2 := reg()
	d := s.Snapshot().TaskDefinition("1", "r", "web", r2).Copy()
	d.Status = TaskDefInactive
	if _, err := s.Apply(ctx, &PutTaskDefinition{Def: d, ModifyIndex: d.ModifyIndex}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, &DeleteTaskDefinition{Account: "1", Region: "r", Family: "web", Revision: r2}); err != nil {
		t.Fatal(err)
	}
	if r3 := reg(); r3 != 3 {
		t.Errorf("revision after deleting 2 = %d; want 3", r3)
	}
}

func TestBlockingQueryWakesOnWrite(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	start := s.Snapshot().Index(nil, tableClusters)
	got := make(chan uint64, 1)
	go func() {
		idx, _ := s.BlockingQuery(ctx, start, 10*time.Second, func(ws memdb.WatchSet, snap *Snapshot) (uint64, error) {
			return snap.Index(ws, tableClusters), nil
		})
		got <- idx
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := s.Apply(ctx, &CreateCluster{Cluster: newCluster("wake")}); err != nil {
		t.Fatal(err)
	}
	select {
	case idx := <-got:
		if idx <= start {
			t.Errorf("BlockingQuery returned index %d; want > %d", idx, start)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BlockingQuery did not wake on a write")
	}
}

func TestWriteDocs(t *testing.T) {
	ctx := context.Background()
	s, err := Open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := Key("ns", "acct", "a"), Key("ns", "acct", "b")
	put := func(ops ...DocOp) ([]*Doc, error) { return Do[[]*Doc](ctx, s, &WriteDocs{Ops: ops}) }
	docs, err := put(DocOp{Key: a, Value: json.RawMessage(`1`), IfAbsent: true}, DocOp{Key: b, Value: json.RawMessage(`2`)})
	if err != nil || len(docs) != 2 {
		t.Fatalf("WriteDocs = %v, %v", docs, err)
	}
	// A failed precondition changes nothing, even the ops before it.
	_, err = put(DocOp{Key: b, Value: json.RawMessage(`3`)}, DocOp{Key: a, Value: json.RawMessage(`4`), IfAbsent: true})
	if e, ok := errdefs.As(err); !ok || e.Reason != ReasonPrecondition {
		t.Fatalf("WriteDocs with a failing IfAbsent = %v; want a precondition conflict", err)
	}
	if got := string(s.Snapshot().Doc(b).Value); got != "2" {
		t.Errorf("b = %s after a failed write; want 2", got)
	}
	idx := s.Snapshot().Doc(a).ModifyIndex
	if _, err := put(DocOp{Key: a, Value: json.RawMessage(`5`), IfIndex: idx + 100}); err == nil {
		t.Errorf("WriteDocs with a stale IfIndex succeeded")
	}
	if _, err := put(DocOp{Key: a, Value: json.RawMessage(`5`), IfIndex: idx}, DocOp{Key: b, Delete: true}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for d := range s.Snapshot().Docs(nil, KeyPrefix("ns", "acct"), "") {
		keys = append(keys, string(d.Value))
	}
	if len(keys) != 1 || keys[0] != "5" {
		t.Errorf("docs under ns/acct = %v; want [5]", keys)
	}
}
