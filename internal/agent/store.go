package agent

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketMeta = []byte("meta")
	keyIdent   = []byte("identity")
	keySeq     = []byte("seq")
	keyMeta    = []byte("metadata-addr")
	keySecret  = []byte("metadata-secret")

	bucketLogCursors = []byte("logcursors")
)

// identity is who the agent registered as.
type identity struct {
	InstanceID  string `json:"instanceId"`
	InstanceARN string `json:"instanceArn"`
	AgentToken  string `json:"agentToken"`
	Account     string `json:"account"`
	Region      string `json:"region"`
	Cluster     string `json:"cluster"`
	ClusterARN  string `json:"clusterArn"`
	Server      string `json:"server"`
}

// localStore is the agent's bbolt file.
type localStore struct{ db *bolt.DB }

func openLocal(dir string) (*localStore, error) {
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("agent: open local state (is another agent using %s?): %w", dir, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketMeta); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketLogCursors)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &localStore{db: db}, nil
}

func (s *localStore) Close() error { return s.db.Close() }

func (s *localStore) identity() (*identity, error) {
	var id *identity
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta).Get(keyIdent)
		if b == nil {
			return nil
		}
		id = new(identity)
		return json.Unmarshal(b, id)
	})
	return id, err
}

func (s *localStore) saveIdentity(id *identity) error {
	b, err := json.Marshal(id)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyIdent, b) })
}

// nextSeq returns a report sequence number greater than every one handed
// out before, across restarts.
func (s *localStore) nextSeq() (uint64, error) {
	var seq uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get(keySeq); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
		seq++
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], seq)
		return b.Put(keySeq, buf[:])
	})
	return seq, err
}

// metadataAddr is the address the metadata endpoint listened on last time.
func (s *localStore) metadataAddr() string {
	var addr string
	_ = s.db.View(func(tx *bolt.Tx) error {
		addr = string(tx.Bucket(bucketMeta).Get(keyMeta))
		return nil
	})
	return addr
}

func (s *localStore) saveMetadataAddr(addr string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyMeta, []byte(addr)) })
}

// metadataSecret is a random secret made once per agent data directory; the
// keys of containers' metadata URIs derive from it, so they survive restarts
// and re-registrations.
func (s *localStore) metadataSecret() ([]byte, error) {
	var secret []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get(keySecret); len(v) == 32 {
			secret = append([]byte(nil), v...)
			return nil
		}
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		return b.Put(keySecret, secret)
	})
	return secret, err
}

// logCursor is how far container id's output has been delivered.
func (s *localStore) logCursor(id string) (logCursor, error) {
	var c logCursor
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogCursors).Get([]byte(id))
		if b == nil {
			return nil
		}
		return json.Unmarshal(b, &c)
	})
	return c, err
}

func (s *localStore) setLogCursor(id string, c logCursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLogCursors).Put([]byte(id), b) })
}

func (s *localStore) deleteLogCursor(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLogCursors).Delete([]byte(id)) })
}
