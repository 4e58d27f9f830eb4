package store

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

// Config configures a Store.
type Config struct {
	// Dir is where the data lives; it is created if missing.
	Dir string
	// Logger receives the store's logs.
	Logger *slog.Logger
	// SegmentBytes is the size at which a stream starts a new segment file.
	// Retention deletes whole segments, so smaller segments free space
	// sooner; larger ones mean fewer files.
	SegmentBytes int64
	// MaxOpenFiles bounds the segment files kept open.
	MaxOpenFiles int
	// IdleFileTimeout is how long an unused open file stays open.
	IdleFileTimeout time.Duration
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("logs store: Dir is required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = 8 << 20
	}
	if c.SegmentBytes < 4<<10 {
		return fmt.Errorf("logs store: SegmentBytes %d is below 4 KiB", c.SegmentBytes)
	}
	if c.MaxOpenFiles == 0 {
		c.MaxOpenFiles = 256
	}
	if c.MaxOpenFiles < 1 {
		return fmt.Errorf("logs store: MaxOpenFiles %d is below 1", c.MaxOpenFiles)
	}
	if c.IdleFileTimeout == 0 {
		c.IdleFileTimeout = 2 * time.Minute
	}
	return nil
}

// The messages AWS reports for missing and duplicate groups and streams.
const (
	msgGroupNotFound  = "The specified log group does not exist."
	msgStreamNotFound = "The specified log stream does not exist."
	msgGroupExists    = "The specified log group already exists."
	msgStreamExists   = "The specified log stream already exists."
)

// Error kinds (errdefs.Error.Kind) of the errors the store returns.
const (
	KindGroup  = "log-group"
	KindStream = "log-stream"
)

func errGroupNotFound() error { return errdefs.New(errdefs.ErrNotFound, KindGroup, msgGroupNotFound) }
func errStreamNotFound() error {
	return errdefs.New(errdefs.ErrNotFound, KindStream, msgStreamNotFound)
}

var errClosed = errdefs.New(errdefs.ErrUnavailable, "", "The log store is closed.")

// GroupKey names a log group: groups are per account and region.
type GroupKey struct {
	Account, Region, Name string
}

// Group is a log group's metadata.
type Group struct {
	Account            string            `json:"account"`
	Region             string            `json:"region"`
	Name               string            `json:"name"`
	Created            int64             `json:"created"` // ms since the epoch
	RetentionDays      int32             `json:"retentionDays,omitempty"`
	KMSKeyID           string            `json:"kmsKeyId,omitempty"`
	Class              string            `json:"class,omitempty"`
	DeletionProtection bool              `json:"deletionProtection,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
}

// Key returns the group's key.
func (g *Group) Key() GroupKey { return GroupKey{g.Account, g.Region, g.Name} }

func (g *Group) clone() *Group {
	c := *g
	c.Tags = maps.Clone(g.Tags)
	return &c
}

// Stream is a log stream's metadata and what its events add up to.
type Stream struct {
	Name    string
	Num     uint64 // unique in the store; part of event ids
	Created int64  // ms since the epoch
	Stats
}

// Stats describe the events of a stream.
type Stats struct {
	HasEvents     bool
	FirstEvent    int64 // oldest event timestamp, ms
	LastEvent     int64 // newest event timestamp, ms
	LastIngestion int64 // ms
	StoredBytes   int64 // bytes of the segments on disk
	NextSeq       uint64
	// Unordered reports that some event is older than one appended before
	// it, so that scans (in sequence order) are not in timestamp order.
	Unordered bool
}

func (s *Stats) merge(minTS, maxTS, ingest int64) {
	if !s.HasEvents {
		s.HasEvents, s.FirstEvent, s.LastEvent, s.LastIngestion = true, minTS, maxTS, ingest
		return
	}
	s.FirstEvent, s.LastEvent, s.LastIngestion = min(s.FirstEvent, minTS), max(s.LastEvent, maxTS), max(s.LastIngestion, ingest)
}

// Store is the log data of every account and region.
type Store struct {
	cfg   Config
	log   *slog.Logger
	files *fileCache

	// metaMu serializes changes of metadata: creations, deletions, group
	// updates. mu guards the maps; it is never held during I/O.
	metaMu sync.Mutex
	mu     sync.RWMutex
	groups map[GroupKey]*group
	closed bool
}

type group struct {
	id      string
	dir     string
	info    atomic.Pointer[Group]
	streams map[string]*stream // guarded by Store.mu
}

// Open opens (or creates) the store in cfg.Dir, recovering what a crash
// left: it cuts torn tails of segments, rebuilds missing indexes and
// finishes deletions in progress.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: cfg.Logger, files: newFileCache(cfg.MaxOpenFiles), groups: map[GroupKey]*group{}}
	for _, d := range []string{cfg.Dir, s.groupsDir(), s.trashDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("logs store: %w", err)
		}
	}
	if err := s.emptyTrash(); err != nil {
		return nil, err
	}
	if err := s.load(); err != nil {
		s.files.closeAll()
		return nil, err
	}
	return s, nil
}

func (s *Store) groupsDir() string { return filepath.Join(s.cfg.Dir, "groups") }
func (s *Store) trashDir() string  { return filepath.Join(s.cfg.Dir, "trash") }

func (s *Store) emptyTrash() error {
	entries, err := os.ReadDir(s.trashDir())
	if err != nil {
		return fmt.Errorf("logs store: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.trashDir(), e.Name())); err != nil {
			return fmt.Errorf("logs store: empty trash: %w", err)
		}
	}
	return nil
}

// load reads every group and stream.
func (s *Store) load() error {
	entries, err := os.ReadDir(s.groupsDir())
	if err != nil {
		return fmt.Errorf("logs store: %w", err)
	}
	for _, e := range entries {
		dir := filepath.Join(s.groupsDir(), e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "group.json"))
		if errors.Is(err, os.ErrNotExist) {
			// Created but never committed: a crash during CreateLogGroup.
			s.log.Warn("removing a log group directory without metadata", "dir", dir)
			if err := os.RemoveAll(dir); err != nil {
				return fmt.Errorf("logs store: %w", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("logs store: %w", err)
		}
		var info Group
		if err := json.Unmarshal(b, &info); err != nil {
			return fmt.Errorf("logs store: %s: %w", filepath.Join(dir, "group.json"), err)
		}
		g := &group{id: e.Name(), dir: dir, streams: map[string]*stream{}}
		g.info.Store(&info)
		if err := s.loadStreams(g); err != nil {
			return err
		}
		s.groups[info.Key()] = g
	}
	return nil
}

func (s *Store) loadStreams(g *group) error {
	entries, err := os.ReadDir(filepath.Join(g.dir, "streams"))
	if err != nil {
		return fmt.Errorf("logs store: %w", err)
	}
	for _, e := range entries {
		dir := filepath.Join(g.dir, "streams", e.Name())
		st, err := s.openStream(g, dir)
		if err != nil {
			return err
		}
		if st == nil {
			continue
		}
		g.streams[st.name] = st
	}
	return nil
}

// Close checkpoints the streams' indexes and closes every file. Calls
// after Close fail.
func (s *Store) Close() error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	streams := s.allStreamsLocked()
	s.mu.Unlock()
	var errs []error
	for _, st := range streams {
		if err := st.checkpoint(); err != nil {
			errs = append(errs, err)
		}
	}
	s.files.closeAll()
	return errors.Join(errs...)
}

func (s *Store) allStreamsLocked() []*stream {
	var out []*stream
	for _, g := range s.groups {
		for _, st := range g.streams {
			out = append(out, st)
		}
	}
	return out
}

// newID returns a random 64-bit id, never 0.
func newID() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if n := binary.LittleEndian.Uint64(b[:]) >> 1; n != 0 {
			return n
		}
	}
}

// CreateGroup creates a log group.
func (s *Store) CreateGroup(info Group) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	s.mu.RLock()
	_, exists := s.groups[info.Key()]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return errClosed
	}
	if exists {
		return errdefs.New(errdefs.ErrAlreadyExists, KindGroup, msgGroupExists)
	}
	g, err := s.createGroupFiles(info.clone())
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.groups[info.Key()] = g
	s.mu.Unlock()
	return nil
}

func (s *Store) createGroupFiles(info *Group) (*group, error) {
	id := strconv.FormatUint(newID(), 16)
	dir := filepath.Join(s.groupsDir(), id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create log group: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "streams"), 0o700); err != nil {
		return nil, fmt.Errorf("create log group: %w", err)
	}
	g := &group{id: id, dir: dir, streams: map[string]*stream{}}
	if err := g.persist(info); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("create log group: %w", err)
	}
	if err := syncDir(s.groupsDir()); err != nil {
		return nil, fmt.Errorf("create log group: %w", err)
	}
	g.info.Store(info)
	return g, nil
}

// persist writes the group's metadata atomically.
func (g *group) persist(info *Group) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return writeFileAtomic(g.dir, "group.json", b)
}

// lookup returns the group with key.
func (s *Store) lookup(key GroupKey) (*group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	g := s.groups[key]
	if g == nil {
		return nil, errGroupNotFound()
	}
	return g, nil
}

// Group returns a group's metadata.
func (s *Store) Group(key GroupKey) (*Group, error) {
	g, err := s.lookup(key)
	if err != nil {
		return nil, err
	}
	return g.info.Load().clone(), nil
}

// GroupStoredBytes returns the bytes the group's streams keep on disk.
func (s *Store) GroupStoredBytes(key GroupKey) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.groups[key]
	if g == nil {
		return 0
	}
	var n int64
	for _, st := range g.streams {
		n += st.view.Load().stats.StoredBytes
	}
	return n
}

// Groups returns the groups of an account and region, ordered by name.
func (s *Store) Groups(account, region string) []*Group {
	s.mu.RLock()
	var out []*Group
	for k, g := range s.groups {
		if k.Account == account && k.Region == region {
			out = append(out, g.info.Load().clone())
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Group) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// UpdateGroup changes a group's metadata with fn and persists it.
func (s *Store) UpdateGroup(key GroupKey, fn func(*Group) error) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	g, err := s.lookup(key)
	if err != nil {
		return err
	}
	info := g.info.Load().clone()
	if err := fn(info); err != nil {
		return err
	}
	if err := g.persist(info); err != nil {
		return fmt.Errorf("update log group: %w", err)
	}
	g.info.Store(info)
	return nil
}

// DeleteGroup deletes a group, its streams and their events. check, when
// not nil, may refuse the deletion after seeing the group.
func (s *Store) DeleteGroup(key GroupKey, check func(*Group) error) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	g, err := s.lookup(key)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(g.info.Load().clone()); err != nil {
			return err
		}
	}
	s.mu.Lock()
	delete(s.groups, key)
	streams := slices.Collect(maps.Values(g.streams))
	s.mu.Unlock()
	for _, st := range streams {
		st.markDeleted()
	}
	return s.trash(g.dir, s.groupsDir())
}

// trash moves dir out of parent into the trash and removes it: the rename
// is the commit point; a crash before the removal ends leaves the rest to
// the next Open.
func (s *Store) trash(dir, parent string) error {
	s.files.forget(dir)
	dst := filepath.Join(s.trashDir(), strconv.FormatUint(newID(), 16))
	if err := os.Rename(dir, dst); err != nil {
		return fmt.Errorf("delete %s: %w", dir, err)
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		s.log.Warn("removing deleted log data", "dir", dst, "err", err)
	}
	return nil
}

// CreateStream creates a stream in a group.
func (s *Store) CreateStream(key GroupKey, name string, created int64) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	g, err := s.lookup(key)
	if err != nil {
		return err
	}
	s.mu.RLock()
	_, exists := g.streams[name]
	s.mu.RUnlock()
	if exists {
		return errdefs.New(errdefs.ErrAlreadyExists, KindStream, msgStreamExists)
	}
	_, err = s.createStreamLocked(g, name, created)
	return err
}

// EnsureStream makes sure a group has the stream name, creating it (and,
// when createGroup, the group from group()) if missing.
func (s *Store) EnsureStream(key GroupKey, name string, createGroup bool, group func() Group, created int64) error {
	if _, err := s.stream(key, name); err == nil || !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	g, err := s.lookup(key)
	if errors.Is(err, errdefs.ErrNotFound) && createGroup {
		info := group()
		if g, err = s.createGroupFiles(&info); err == nil {
			s.mu.Lock()
			s.groups[key] = g
			s.mu.Unlock()
		}
	}
	if err != nil {
		return err
	}
	s.mu.RLock()
	_, exists := g.streams[name]
	s.mu.RUnlock()
	if exists {
		return nil
	}
	_, err = s.createStreamLocked(g, name, created)
	return err
}

// createStreamLocked creates a stream's files; metaMu is held.
func (s *Store) createStreamLocked(g *group, name string, created int64) (*stream, error) {
	num := newID()
	dir := filepath.Join(g.dir, "streams", strconv.FormatUint(num, 16))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create log stream: %w", err)
	}
	st := newStream(s, g, dir, streamMeta{Name: name, Num: num, Created: created})
	if err := st.persistMeta(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("create log stream: %w", err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return nil, fmt.Errorf("create log stream: %w", err)
	}
	s.mu.Lock()
	g.streams[name] = st
	s.mu.Unlock()
	return st, nil
}

// stream returns a group's stream.
func (s *Store) stream(key GroupKey, name string) (*stream, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	g := s.groups[key]
	if g == nil {
		return nil, errGroupNotFound()
	}
	st := g.streams[name]
	if st == nil {
		return nil, errStreamNotFound()
	}
	return st, nil
}

// Stream returns a stream's metadata and stats.
func (s *Store) Stream(key GroupKey, name string) (Stream, error) {
	st, err := s.stream(key, name)
	if err != nil {
		return Stream{}, err
	}
	return st.info(), nil
}

// Streams returns a group's streams ordered by name.
func (s *Store) Streams(key GroupKey) ([]Stream, error) {
	s.mu.RLock()
	g := s.groups[key]
	var sts []*stream
	if g != nil {
		sts = slices.Collect(maps.Values(g.streams))
	}
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, errClosed
	}
	if g == nil {
		return nil, errGroupNotFound()
	}
	out := make([]Stream, len(sts))
	for i, st := range sts {
		out[i] = st.info()
	}
	slices.SortFunc(out, func(a, b Stream) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteStream deletes a stream and its events.
func (s *Store) DeleteStream(key GroupKey, name string) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	st, err := s.stream(key, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(st.g.streams, name)
	s.mu.Unlock()
	st.markDeleted()
	return s.trash(st.dir, filepath.Dir(st.dir))
}

// Append writes a batch of events, in the order given, to a stream and
// returns once they are durable. ingest is the ingestion time (ms) stored
// with them. It returns the sequence number of the first event.
func (s *Store) Append(key GroupKey, name string, ingest int64, events []InputEvent) (uint64, error) {
	if len(events) == 0 {
		return 0, errdefs.New(errdefs.ErrInvalidArgument, KindStream, "no events to append")
	}
	st, err := s.stream(key, name)
	if err != nil {
		return 0, err
	}
	return st.append(ingest, events)
}

// Maintain enforces retention at now: in every group with a retention
// policy it deletes the segments whose newest event is older than the
// policy allows. It also checkpoints the indexes of the segments being
// written and closes files idle for long.
func (s *Store) Maintain(now time.Time) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil
	}
	type work struct {
		st     *stream
		cutoff int64 // 0: no retention
	}
	var todo []work
	for _, g := range s.groups {
		var cutoff int64
		if days := g.info.Load().RetentionDays; days > 0 {
			cutoff = now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
		}
		for _, st := range g.streams {
			todo = append(todo, work{st, cutoff})
		}
	}
	s.mu.RUnlock()
	var errs []error
	for _, w := range todo {
		if w.cutoff != 0 {
			if err := w.st.expire(w.cutoff); err != nil {
				errs = append(errs, err)
			}
		}
		if err := w.st.checkpoint(); err != nil {
			errs = append(errs, err)
		}
	}
	s.files.closeIdle(time.Now(), s.cfg.IdleFileTimeout)
	return errors.Join(errs...)
}

// OpenFiles returns how many segment files are open.
func (s *Store) OpenFiles() int { return s.files.open() }
