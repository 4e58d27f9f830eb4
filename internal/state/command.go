package state

import (
	"encoding/json"
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
)

// Command is one typed, deterministic change to the tables. Commands are
// encoded into the raft log; apply must depend only on the command and the
// tables, never on the clock, randomness or the environment.
type Command interface {
	// commandName is the name the command is logged under; it never changes
	// once released, or old logs would no longer replay.
	commandName() string
	apply(tx *txn) (any, error)
}

// commands maps logged names to constructors, for decoding the log.
var commands = map[string]func() Command{}

func register(f func() Command) {
	name := f().commandName()
	if _, dup := commands[name]; dup {
		panic("state: command registered twice: " + name)
	}
	commands[name] = f
}

type envelope struct {
	Type string          `json:"t"`
	Cmd  json.RawMessage `json:"c"`
}

func encodeCommand(c Command) ([]byte, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.commandName(), err)
	}
	return json.Marshal(envelope{Type: c.commandName(), Cmd: body})
}

func decodeCommand(b []byte) (Command, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("decode command envelope: %w", err)
	}
	f, ok := commands[env.Type]
	if !ok {
		return nil, fmt.Errorf("unknown command %q", env.Type)
	}
	c := f()
	if err := json.Unmarshal(env.Cmd, c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", env.Type, err)
	}
	return c, nil
}

// txn is a write transaction at one raft index.
type txn struct {
	*memdb.Txn
	index   uint64
	touched map[string]bool
}

// put inserts or replaces obj in table and records the table as changed.
func (tx *txn) put(table string, obj any) error {
	if err := tx.Insert(table, obj); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	tx.touched[table] = true
	return nil
}

// remove deletes obj from table and records the table as changed.
func (tx *txn) remove(table string, obj any) error {
	if err := tx.Delete(table, obj); err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	tx.touched[table] = true
	return nil
}

// bumpIndexes records the transaction's index on every table it changed;
// blocking queries on those tables wake up.
func (tx *txn) bumpIndexes() error {
	for table := range tx.touched {
		if err := tx.Insert(tableIndex, &tableIndexEntry{Table: table, Index: tx.index}); err != nil {
			return fmt.Errorf("update index of %s: %w", table, err)
		}
	}
	return nil
}

// first returns the object with id in table, or nil.
func first[T any](tx *memdb.Txn, table, id string) (*T, error) {
	raw, err := tx.First(table, "id", id)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*T), nil
}
