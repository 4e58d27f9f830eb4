package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/berthhq/berth/internal/errdefs"
)

// Config configures a Store.
type Config struct {
	// DataDir holds the raft log, stable state and snapshots. Empty keeps
	// everything in memory (tests only: nothing survives Close).
	DataDir string
	// NodeID names this server in the raft configuration.
	NodeID string
	// ApplyTimeout bounds how long Apply waits to enqueue a command.
	ApplyTimeout time.Duration
	// SnapshotThreshold is how many log entries trigger a snapshot.
	SnapshotThreshold uint64
	// SnapshotInterval is how often raft checks whether to snapshot.
	SnapshotInterval time.Duration
	// Logger receives the store's and raft's logs.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.NodeID == "" {
		c.NodeID = "berth-0"
	}
	if c.ApplyTimeout == 0 {
		c.ApplyTimeout = 10 * time.Second
	}
	// Frequent small snapshots bound what a restart replays from the log,
	// and so the time to serve again.
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 1024
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Store is the replicated state. Writes go through Apply; reads through
// Snapshot, which never blocks on writers.
type Store struct {
	cfg     Config
	log     *slog.Logger
	fsm     *fsm
	raft    *raft.Raft
	closers []io.Closer
	heard   heartbeats
}

// Open opens (or creates) the store in cfg.DataDir and starts raft. On first
// start it bootstraps a single-voter cluster. Use WaitLeader before Apply.
func Open(cfg Config) (*Store, error) {
	cfg.setDefaults()
	s := &Store{cfg: cfg, log: cfg.Logger.With("component", "state"), heard: heartbeats{start: time.Now(), last: map[string]time.Time{}}}
	f, err := newFSM(s.log)
	if err != nil {
		return nil, err
	}
	s.fsm = f

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	// A single voter's routine election on start is logged at warn level by
	// raft; only errors are worth the operator's attention.
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Error, Output: slogWriter{s.log}})
	// A single voter elects itself; short timeouts make a restart serve fast.
	rc.HeartbeatTimeout = 200 * time.Millisecond
	rc.ElectionTimeout = 200 * time.Millisecond
	rc.LeaderLeaseTimeout = 100 * time.Millisecond
	rc.CommitTimeout = 5 * time.Millisecond
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = 1024
	rc.NoSnapshotRestoreOnStart = false

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if cfg.DataDir == "" {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		dir := filepath.Join(cfg.DataDir, "raft")
		if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o700); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		// raft-wal's Close leaves its meta database open (and locked), so the
		// store owns it and closes it after the log.
		meta := &metadb.BoltMetaDB{}
		s.closers = append(s.closers, meta)
		wal, err := raftwal.Open(filepath.Join(dir, "wal"), raftwal.WithSegmentSize(16<<20), raftwal.WithMetaStore(meta))
		if err != nil {
			s.closeStores()
			return nil, fmt.Errorf("state: open raft log: %w", err)
		}
		s.closers = append(s.closers, wal)
		fss, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, rc.Logger)
		if err != nil {
			s.closeStores()
			return nil, fmt.Errorf("state: open snapshots: %w", err)
		}
		logs, stable, snaps = wal, wal, fss
	}

	addr, transport := raft.NewInmemTransport(raft.ServerAddress(cfg.NodeID))
	existing, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		s.closeStores()
		return nil, fmt.Errorf("state: %w", err)
	}
	if !existing {
		boot := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: rc.LocalID, Address: addr}}}
		if err := raft.BootstrapCluster(rc, logs, stable, snaps, transport, boot); err != nil {
			s.closeStores()
			return nil, fmt.Errorf("state: bootstrap: %w", err)
		}
	}
	r, err := raft.NewRaft(rc, f, logs, stable, snaps, transport)
	if err != nil {
		s.closeStores()
		return nil, fmt.Errorf("state: start raft: %w", err)
	}
	s.raft = r
	s.electAlone(rc)
	return s, nil
}

// electAlone starts the election at once when this server is the cluster's
// only voter, instead of after a heartbeat timeout that no leader can end: a
// restart then serves about 300 ms sooner. Lowering the heartbeat timeout is
// raft's one way to wake a follower's timer; there is no contact to wait for,
// so the follower stands for election and wins its own vote.
func (s *Store) electAlone(rc *raft.Config) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return // raft elects itself after the timeout
	}
	servers := f.Configuration().Servers
	if len(servers) != 1 || servers[0].ID != rc.LocalID || servers[0].Suffrage != raft.Voter {
		return
	}
	rl := s.raft.ReloadableConfig()
	rl.HeartbeatTimeout -= time.Millisecond
	if err := s.raft.ReloadConfig(rl); err != nil {
		s.log.Debug("start the election early", "err", err)
	}
}

func (s *Store) closeStores() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		_ = s.closers[i].Close()
	}
	s.closers = nil
}

// WaitLeader blocks until this server leads the raft cluster and has applied
// every entry of its log, so that reads see all acknowledged writes.
func (s *Store) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.raft.State() != raft.Leader {
		select {
		case <-ctx.Done():
			return fmt.Errorf("state: waiting for leadership: %w", ctx.Err())
		case <-t.C:
		}
	}
	// A barrier is applied after everything before it.
	return s.raft.Barrier(s.cfg.ApplyTimeout).Error()
}

// IsLeader reports whether this server currently leads.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// Close snapshots the state (so the next start replays little), stops raft
// and closes the log. Applied state is durable in the log either way.
func (s *Store) Close() error {
	if err := s.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		s.log.Warn("snapshot on close", "err", err)
	}
	err := s.raft.Shutdown().Error()
	s.closeStores()
	return err
}

// Apply commits cmd through raft and applies it. It returns once the command
// is durable in the log and applied, with the command's result or its domain
// error.
func (s *Store) Apply(ctx context.Context, cmd Command) (any, error) {
	b, err := encodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	timeout := s.cfg.ApplyTimeout
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < timeout {
			timeout = left
		}
	}
	f := s.raft.Apply(b, timeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrRaftShutdown) || errors.Is(err, raft.ErrEnqueueTimeout) {
			return nil, fmt.Errorf("state: %v: %w", err, errdefs.ErrUnavailable)
		}
		return nil, fmt.Errorf("state: apply %s: %w", cmd.commandName(), err)
	}
	res, _ := f.Response().(applyResult)
	return res.value, res.err
}

// Do is Apply with the command's result asserted to T.
func Do[T any](ctx context.Context, s *Store, cmd Command) (T, error) {
	v, err := s.Apply(ctx, cmd)
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// Snapshot returns a consistent, read-only view of the tables at this moment.
func (s *Store) Snapshot() *Snapshot {
	db, abandon := s.fsm.state()
	return &Snapshot{tx: db.Txn(false), abandon: abandon}
}

// BlockingQuery runs fn on fresh snapshots until fn reports an index greater
// than minIndex, ctx ends, or wait passes; it returns the last index fn gave.
// fn adds what it reads to ws so that a change to it wakes the query.
func (s *Store) BlockingQuery(ctx context.Context, minIndex uint64, wait time.Duration, fn func(ws memdb.WatchSet, snap *Snapshot) (uint64, error)) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		snap := s.Snapshot()
		ws := memdb.NewWatchSet()
		ws.Add(snap.abandon)
		idx, err := fn(ws, snap)
		if err != nil || idx > minIndex {
			return idx, err
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return idx, nil
		}
	}
}

// slogWriter adapts raft's hclog output to slog.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(string(trimNewline(p)), "component", "raft")
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
