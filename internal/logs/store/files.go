package store

import (
	"container/list"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// fileCache keeps a bounded number of segment files open, so that many
// streams do not exhaust file descriptors: files open on first use, the
// least recently used idle ones close when the cache is full, and Close
// idle closes those unused for a while. A file in use is never closed under
// its user; the cache may go over its bound while every file is in use.
type fileCache struct {
	max int

	mu    sync.Mutex
	files map[string]*handle
	lru   *list.List // of *handle, idle ones only, least recently used at the front
}

type handle struct {
	path     string
	f        *os.File
	refs     int
	lastUse  time.Time
	elem     *list.Element // in lru while refs == 0
	doomed   bool          // close when the last user releases it
	openedRW bool
}

func newFileCache(max int) *fileCache {
	return &fileCache{max: max, files: map[string]*handle{}, lru: list.New()}
}

// acquire returns the open file at path, opening it (read-write when rw)
// if needed. Release it when done.
func (c *fileCache) acquire(path string, rw bool) (*handle, error) {
	c.mu.Lock()
	h := c.files[path]
	if h != nil && (h.openedRW || !rw) {
		if h.elem != nil {
			c.lru.Remove(h.elem)
			h.elem = nil
		}
		h.refs++
		c.mu.Unlock()
		return h, nil
	}
	c.mu.Unlock()

	flag := os.O_RDONLY
	if rw {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.files[path]; old != nil {
		if old.openedRW || !rw {
			// Another goroutine opened it meanwhile; use theirs.
			_ = f.Close()
			if old.elem != nil {
				c.lru.Remove(old.elem)
				old.elem = nil
			}
			old.refs++
			return old, nil
		}
		// A read-only handle is in the way of a writer: retire it.
		c.retireLocked(old)
	}
	h = &handle{path: path, f: f, refs: 1, openedRW: rw}
	c.files[path] = h
	c.evictLocked()
	return h, nil
}

// release returns a handle acquired before.
func (c *fileCache) release(h *handle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h.refs--
	h.lastUse = time.Now()
	if h.refs > 0 {
		return
	}
	if h.doomed {
		_ = h.f.Close()
		return
	}
	h.elem = c.lru.PushBack(h)
	c.evictLocked()
}

// evictLocked closes idle files while the cache is over its bound.
func (c *fileCache) evictLocked() {
	for len(c.files) > c.max {
		e := c.lru.Front()
		if e == nil {
			return
		}
		c.retireLocked(e.Value.(*handle))
	}
}

// retireLocked takes h out of the cache and closes it now, or when its last
// user releases it.
func (c *fileCache) retireLocked(h *handle) {
	if c.files[h.path] == h {
		delete(c.files, h.path)
	}
	if h.elem != nil {
		c.lru.Remove(h.elem)
		h.elem = nil
	}
	if h.refs == 0 {
		_ = h.f.Close()
	} else {
		h.doomed = true
	}
}

// forget closes the files under dir (a path prefix), for deletions.
func (c *fileCache) forget(dir string) {
	prefix := dir + string(filepath.Separator)
	c.mu.Lock()
	defer c.mu.Unlock()
	for path, h := range c.files {
		if path == dir || strings.HasPrefix(path, prefix) {
			c.retireLocked(h)
		}
	}
}

// closeIdle closes the files nobody used for at least idle.
func (c *fileCache) closeIdle(now time.Time, idle time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; {
		next := e.Next()
		if h := e.Value.(*handle); now.Sub(h.lastUse) >= idle {
			c.retireLocked(h)
		}
		e = next
	}
}

// open returns how many files the cache holds open.
func (c *fileCache) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.files)
}

// closeAll closes every file; files in use close on release.
func (c *fileCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.files {
		c.retireLocked(h)
	}
}

// writeFileAtomic replaces dir/name with data so that a crash leaves either
// the old file or the new one: write a temporary file, fsync it, rename it
// over the old one, fsync the directory.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// skipSync turns every fsync into a no-op. Only fuzz tests set it, so that
// they do not wait on the disk for durability they do not test.
var skipSync = false

// fsync flushes f to stable storage.
func fsync(f *os.File) error {
	if skipSync {
		return nil
	}
	return f.Sync()
}

// syncDir makes the entries of dir (creations, renames, removals) durable.
func syncDir(dir string) error {
	if skipSync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
