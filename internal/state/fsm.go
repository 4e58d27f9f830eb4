package state

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
)

// applyResult is what fsm.Apply hands back to the Apply caller through raft.
type applyResult struct {
	value any
	err   error
}

// fsm applies committed commands to the memdb tables.
type fsm struct {
	log *slog.Logger

	mu      sync.Mutex // serialises db swaps on restore against readers of abandon
	db      *memdb.MemDB
	abandon chan struct{} // closed when db is replaced by a restore
}

func newFSM(log *slog.Logger) (*fsm, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, err
	}
	return &fsm{log: log, db: db, abandon: make(chan struct{})}, nil
}

func (f *fsm) state() (*memdb.MemDB, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.db, f.abandon
}

var _ raft.FSM = (*fsm)(nil)

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	cmd, err := decodeCommand(l.Data)
	if err != nil {
		// A log entry this binary cannot read: refuse to go on rather than
		// silently diverge from what was committed.
		panic(fmt.Sprintf("state: raft index %d: %v", l.Index, err))
	}
	db, _ := f.state()
	return applyOne(db, l.Index, cmd)
}

func applyOne(db *memdb.MemDB, index uint64, cmd Command) applyResult {
	tx := &txn{Txn: db.Txn(true), index: index, touched: map[string]bool{}}
	v, err := cmd.apply(tx)
	if err == nil {
		err = tx.bumpIndexes()
	}
	if err != nil {
		tx.Abort()
		return applyResult{err: err}
	}
	tx.Commit()
	return applyResult{value: v}
}

// Snapshot implements raft.FSM: it captures a memdb snapshot, written out
// later by Persist without holding up Apply.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	db, _ := f.state()
	return &fsmSnapshot{tx: db.Snapshot().Txn(false)}, nil
}

// Restore implements raft.FSM: it rebuilds every table from a snapshot and
// swaps it in, waking every blocking query on the old tables.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return err
	}
	tx := db.Txn(true)
	dec := json.NewDecoder(bufio.NewReaderSize(rc, 1<<16))
	for {
		var rec snapshotRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			tx.Abort()
			return fmt.Errorf("restore: %w", err)
		}
		var obj any
		if rec.Table == tableIndex {
			obj = new(tableIndexEntry)
		} else if mk, ok := tableTypes[rec.Table]; ok {
			obj = mk()
		} else {
			tx.Abort()
			return fmt.Errorf("restore: unknown table %q", rec.Table)
		}
		if err := json.Unmarshal(rec.Object, obj); err != nil {
			tx.Abort()
			return fmt.Errorf("restore %s: %w", rec.Table, err)
		}
		if err := tx.Insert(rec.Table, obj); err != nil {
			tx.Abort()
			return fmt.Errorf("restore %s: %w", rec.Table, err)
		}
	}
	tx.Commit()

	f.mu.Lock()
	f.db = db
	old := f.abandon
	f.abandon = make(chan struct{})
	f.mu.Unlock()
	close(old)
	return nil
}

type snapshotRecord struct {
	Table  string          `json:"t"`
	Object json.RawMessage `json:"o"`
}

type fsmSnapshot struct{ tx *memdb.Txn }

// Persist writes every table as JSON lines, one object a line.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriterSize(sink, 1<<16)
	enc := json.NewEncoder(w)
	tables := []string{tableIndex}
	for name := range tableTypes {
		tables = append(tables, name)
	}
	sort.Strings(tables)
	for _, table := range tables {
		it, err := s.tx.Get(table, "id")
		if err != nil {
			sink.Cancel()
			return err
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			b, err := json.Marshal(raw)
			if err != nil {
				sink.Cancel()
				return fmt.Errorf("snapshot %s: %w", table, err)
			}
			if err := enc.Encode(snapshotRecord{Table: table, Object: b}); err != nil {
				sink.Cancel()
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
