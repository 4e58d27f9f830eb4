package registry

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// blobStore keeps blob bytes on disk, content addressed:
// blobs/<alg>/<first two hex digits>/<hex>. Every path is derived from a
// validated Digest or a generated upload id, and all I/O goes through an
// os.Root, so nothing can reach outside the data directory.
//
// A blob is written to tmp/ while it is hashed, synced, checked against its
// digest and renamed into place (then its directory is synced): a blob file
// that exists is complete. Bytes that rot afterwards are caught on read:
// see serveVerified.
type blobStore struct {
	root *os.Root
}

var errCorrupt = errors.New("registry: blob content does not match its digest")

func corrupt(err error) bool { return errors.Is(err, errCorrupt) }

func openBlobStore(dir string) (*blobStore, error) {
	for _, sub := range []string{"blobs", "uploads", "tmp", "quarantine"} {
		if err := os.MkdirAll(path.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return &blobStore{root: root}, nil
}

func (b *blobStore) close() error { return b.root.Close() }

func blobDir(d Digest) string  { h := d.Hex(); return "blobs/" + d.Algorithm() + "/" + h[:2] }
func blobPath(d Digest) string { return blobDir(d) + "/" + d.Hex() }

func (b *blobStore) stat(d Digest) (fs.FileInfo, error) { return b.root.Stat(blobPath(d)) }

func (b *blobStore) exists(d Digest) bool {
	fi, err := b.stat(d)
	return err == nil && fi.Mode().IsRegular()
}

func (b *blobStore) open(d Digest) (*os.File, error) { return b.root.Open(blobPath(d)) }

// tempName returns a fresh path under tmp/.
func tempName() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return "tmp/" + hex.EncodeToString(r[:])
}

// writeBytes stores data as the blob d, which must be its digest.
func (b *blobStore) writeBytes(d Digest, data []byte) error {
	if digestOf(d.Algorithm(), data) != d {
		return errCorrupt
	}
	tmp := tempName()
	f, err := b.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = b.root.Remove(tmp)
		return fmt.Errorf("registry: write blob: %w", err)
	}
	return b.commit(tmp, d)
}

// commit renames the complete, synced file src to the blob d, replacing
// any earlier copy (which heals a copy that rotted), and syncs the
// directories so that the rename survives a crash.
func (b *blobStore) commit(src string, d Digest) error {
	dir := blobDir(d)
	if err := b.root.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := b.root.Rename(src, blobPath(d)); err != nil {
		_ = b.root.Remove(src)
		return fmt.Errorf("registry: commit blob: %w", err)
	}
	if err := b.syncDir(dir); err != nil {
		return err
	}
	return b.syncDir(path.Dir(src))
}

func (b *blobStore) syncDir(dir string) error {
	f, err := b.root.Open(dir)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("registry: sync %s: %w", dir, err)
	}
	return nil
}

// quarantine moves a blob whose bytes do not match its digest out of the
// served tree, so that it is neither served nor counted as present (a
// client then pushes it again).
func (b *blobStore) quarantine(d Digest) {
	_ = b.root.Rename(blobPath(d), "quarantine/"+d.Algorithm()+"-"+d.Hex()+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
}

func (b *blobStore) remove(d Digest) error {
	err := b.root.Remove(blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// readVerified reads a whole blob of at most max bytes and checks it
// against its digest; a mismatch quarantines the blob and is errCorrupt.
func (b *blobStore) readVerified(d Digest, max int64) ([]byte, error) {
	f, err := b.open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max || digestOf(d.Algorithm(), data) != d {
		b.quarantine(d)
		return nil, errCorrupt
	}
	return data, nil
}

// verifyFile hashes f from the start and reports whether it matches d,
// leaving f positioned at its start.
func verifyFile(f *os.File, d Digest) (bool, error) {
	h := newHash(d.Algorithm())
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	return digestFromHash(d.Algorithm(), h) == d, nil
}

const chunkSize = 64 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// copyVerified copies r (size bytes) to w while hashing it, but holds the
// last chunk back until the whole content has been hashed: it is written
// only when the digest matches. A mismatch is errCorrupt after all but the
// last chunk went out; with a declared Content-Length the client then sees
// a truncated body, never a complete response with the wrong bytes.
func copyVerified(w io.Writer, r io.Reader, size int64, d Digest) error {
	h := newHash(d.Algorithm())
	p1, p2 := chunkPool.Get().(*[]byte), chunkPool.Get().(*[]byte)
	defer chunkPool.Put(p1)
	defer chunkPool.Put(p2)
	cur, held := *p1, *p2
	var heldN int
	var total int64
	for {
		n, err := io.ReadFull(r, cur)
		if n > 0 {
			h.Write(cur[:n])
			total += int64(n)
			if heldN > 0 {
				if _, werr := w.Write(held[:heldN]); werr != nil {
					return werr
				}
			}
			cur, held, heldN = held, cur, n
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if total != size || digestFromHash(d.Algorithm(), h) != d {
		return errCorrupt
	}
	if heldN > 0 {
		_, err := w.Write(held[:heldN])
		return err
	}
	return nil
}

// walk calls fn for every blob file on disk.
func (b *blobStore) walk(fn func(d Digest, info fs.FileInfo)) error {
	return fs.WalkDir(b.root.FS(), "blobs", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() {
			return nil
		}
		parts := strings.Split(p, "/") // blobs/<alg>/<xx>/<hex>
		if len(parts) != 4 {
			return nil
		}
		d, ok := ParseDigest(parts[1] + ":" + parts[3])
		if !ok {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		fn(d, info)
		return nil
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
