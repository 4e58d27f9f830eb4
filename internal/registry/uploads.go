package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/berthhq/berth/internal/state"
)

// An upload session lives in uploads/<id>/: "data" holds the bytes received
// so far and "state" (JSON) the offset and the serialised hash state, so
// that each chunk is hashed once, as it arrives, and a session survives a
// restart of the server.
type uploadState struct {
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	Region    string    `json:"region"`
	Repo      string    `json:"repo"`
	Algorithm string    `json:"algorithm"`
	Offset    int64     `json:"offset"`
	Hash      []byte    `json:"hash"`
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func (u *uploadState) scope() Scope { return Scope{u.Account, u.Region} }

func uploadDir(id string) string { return "uploads/" + id }

// validUploadID accepts the ids newUploadID makes: 36 characters of hex
// and dashes. It guards every path built from a client's id.
func validUploadID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case (c < '0' || c > '9') && (c < 'a' || c > 'f'):
			return false
		}
	}
	return true
}

func newUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// lockUpload serialises the requests of one session.
func (r *Registry) lockUpload(id string) func() {
	h := fnv.New32a()
	h.Write([]byte(id))
	mu := &r.uploadLocks[h.Sum32()%uint32(len(r.uploadLocks))]
	mu.Lock()
	return mu.Unlock
}

// StartUpload opens an upload session for a blob of a repository, hashed
// with alg ("sha256" or "sha512").
func (r *Registry) StartUpload(s Scope, repo, alg string) (string, error) {
	if r.Repository(s, repo) == nil {
		return "", nameUnknown(s, repo)
	}
	h := newHash(alg)
	if h == nil {
		return "", newError(CodeDigestInvalid, map[string]string{"algorithm": alg}, "unsupported digest algorithm %q", alg)
	}
	hs, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", err
	}
	now := r.now().UTC()
	u := &uploadState{ID: newUploadID(), Account: s.Account, Region: s.Region, Repo: repo, Algorithm: alg, Hash: hs, StartedAt: now, UpdatedAt: now}
	if err := r.blobs.root.MkdirAll(uploadDir(u.ID), 0o700); err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	f, err := r.blobs.root.OpenFile(uploadDir(u.ID)+"/data", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	_ = f.Close()
	if err := r.saveUpload(u); err != nil {
		return "", err
	}
	return u.ID, nil
}

// loadUpload reads a session of s's repo; an unknown id, or one of another
// repository or tenancy, is BLOB_UPLOAD_UNKNOWN.
func (r *Registry) loadUpload(s Scope, repo, id string) (*uploadState, error) {
	unknown := newError(CodeBlobUploadUnknown, map[string]string{"uuid": id}, "")
	if !validUploadID(id) {
		return nil, unknown
	}
	b, err := r.blobs.root.ReadFile(uploadDir(id) + "/state")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, unknown
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	var u uploadState
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("registry: upload %s: %w", id, err)
	}
	if u.ID != id || u.scope() != s || u.Repo != repo {
		return nil, unknown
	}
	return &u, nil
}

func (r *Registry) saveUpload(u *uploadState) error {
	b, _ := json.Marshal(u)
	dir := uploadDir(u.ID)
	tmp := dir + "/state.tmp"
	f, err := r.blobs.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.blobs.root.Rename(tmp, dir+"/state")
	}
	if err == nil {
		err = r.blobs.syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("registry: save upload: %w", err)
	}
	return nil
}

func (u *uploadState) hasher() (hash.Hash, error) {
	h := newHash(u.Algorithm)
	if h == nil {
		return nil, fmt.Errorf("registry: upload %s: unknown algorithm %q", u.ID, u.Algorithm)
	}
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.Hash); err != nil {
		return nil, fmt.Errorf("registry: upload %s: %w", u.ID, err)
	}
	return h, nil
}

// chunk is one piece of an upload: its bytes and, when the client said,
// where they go.
type chunk struct {
	Body io.Reader
	// Start is the offset the client says the chunk starts at; -1 to append.
	Start int64
	// Length is the declared length; -1 when unknown.
	Length int64
}

// appendChunk adds c to the session. A chunk that does not start where the
// session ends is BLOB_UPLOAD_INVALID with status 416 and the session's
// Offset. On a failed or short read the session is left as it was.
func (r *Registry) appendChunk(u *uploadState, c chunk) error {
	if c.Start >= 0 && c.Start != u.Offset {
		return &Error{Code: CodeBlobUploadInvalid, Status: 416, Offset: u.Offset,
			Message: fmt.Sprintf("chunk starts at byte %d but the upload holds %d bytes; chunks must be sent in order", c.Start, u.Offset)}
	}
	h, err := u.hasher()
	if err != nil {
		return err
	}
	f, err := r.blobs.root.OpenFile(uploadDir(u.ID)+"/data", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	// Drop whatever an interrupted earlier chunk left past the offset.
	if err := f.Truncate(u.Offset); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if _, err := f.Seek(u.Offset, io.SeekStart); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	limit := r.cfg.MaxBlobBytes - u.Offset
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(c.Body, limit+1))
	rollback := func() { _ = f.Truncate(u.Offset) }
	if err != nil {
		rollback()
		return newError(CodeBlobUploadInvalid, nil, "the chunk could not be read completely")
	}
	if n > limit {
		rollback()
		return &Error{Code: CodeSizeInvalid, Status: 413, Message: "blob is larger than the registry's limit of " + itoa(r.cfg.MaxBlobBytes) + " bytes"}
	}
	if c.Length >= 0 && n != c.Length {
		rollback()
		return newError(CodeSizeInvalid, nil, "received %d bytes but the chunk was declared as %d", n, c.Length)
	}
	if n == 0 {
		return nil
	}
	if err := f.Sync(); err != nil {
		rollback()
		return fmt.Errorf("registry: %w", err)
	}
	hs, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	next := *u
	next.Offset, next.Hash, next.UpdatedAt = u.Offset+n, hs, r.now().UTC()
	if err := r.saveUpload(&next); err != nil {
		rollback()
		return err
	}
	*u = next
	return nil
}

// finishUpload checks the session's content against d, moves it into the
// blob store and links it to the session's repository. A mismatch is
// DIGEST_INVALID and ends the session.
func (r *Registry) finishUpload(ctx context.Context, u *uploadState, d Digest) (int64, error) {
	h, err := u.hasher()
	if err != nil {
		return 0, err
	}
	ok := d.Algorithm() == u.Algorithm && digestFromHash(u.Algorithm, h) == d
	if d.Algorithm() != u.Algorithm {
		// The session was started without the client's algorithm (the
		// spec lets the closing PUT name any supported one): hash what was
		// uploaded again with it.
		ok, err = r.uploadMatches(u, d)
		if err != nil {
			return 0, err
		}
	}
	if !ok {
		r.cancelUpload(u.ID)
		return 0, newError(CodeDigestInvalid, map[string]string{"digest": string(d)}, "")
	}
	r.gcMu.RLock()
	defer r.gcMu.RUnlock()
	if err := r.blobs.commit(uploadDir(u.ID)+"/data", d); err != nil {
		return 0, err
	}
	r.cancelUpload(u.ID)
	if err := r.link(ctx, u.scope(), u.Repo, d, u.Offset); err != nil {
		return 0, err
	}
	return u.Offset, nil
}

func (r *Registry) cancelUpload(id string) {
	if validUploadID(id) {
		_ = r.blobs.root.RemoveAll(uploadDir(id))
	}
}

// link records that a repository holds blob d. Callers hold gcMu.RLock and
// have the blob's file in place.
func (r *Registry) link(ctx context.Context, s Scope, repo string, d Digest, size int64) error {
	now := r.now().UTC()
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		snap := r.store.Snapshot()
		rd := snap.Doc(repoKey(s, repo))
		if rd == nil {
			return struct{}{}, nameUnknown(s, repo)
		}
		_, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: []state.DocOp{
			{Key: rd.ID, Value: rd.Value, IfIndex: rd.ModifyIndex},
			{Key: linkKey(s, repo, d), Value: encode(linkDoc{Size: size, LinkedAt: now})},
		}})
		return struct{}{}, err
	})
	return err
}

// PutBlob stores a whole blob that must have digest d in a repository.
func (r *Registry) PutBlob(ctx context.Context, s Scope, repo string, d Digest, body io.Reader) error {
	id, err := r.StartUpload(s, repo, d.Algorithm())
	if err != nil {
		return err
	}
	unlock := r.lockUpload(id)
	defer unlock()
	u, err := r.loadUpload(s, repo, id)
	if err != nil {
		return err
	}
	if err := r.appendChunk(u, chunk{Body: body, Start: -1, Length: -1}); err != nil {
		r.cancelUpload(id)
		return err
	}
	_, err = r.finishUpload(ctx, u, d)
	return err
}

// WriteUploadPart adds bytes [first, last] to an upload session (ECR's
// UploadLayerPart); it returns the offset of the last byte received.
func (r *Registry) WriteUploadPart(s Scope, repo, id string, first, last int64, data []byte) (int64, error) {
	unlock := r.lockUpload(id)
	defer unlock()
	u, err := r.loadUpload(s, repo, id)
	if err != nil {
		return 0, err
	}
	if last < first || last-first+1 != int64(len(data)) {
		return u.Offset - 1, &Error{Code: CodeBlobUploadInvalid, Status: 416, Offset: u.Offset,
			Message: fmt.Sprintf("the part's byte range %d-%d does not match its %d bytes", first, last, len(data))}
	}
	if err := r.appendChunk(u, chunk{Body: bytes.NewReader(data), Start: first, Length: int64(len(data))}); err != nil {
		return u.Offset - 1, err
	}
	return u.Offset - 1, nil
}

// CompleteUpload ends an upload session whose content must have digest d
// (ECR's CompleteLayerUpload) and returns the blob's size. An empty upload
// is BLOB_UPLOAD_INVALID.
func (r *Registry) CompleteUpload(ctx context.Context, s Scope, repo, id string, d Digest) (int64, error) {
	unlock := r.lockUpload(id)
	defer unlock()
	u, err := r.loadUpload(s, repo, id)
	if err != nil {
		return 0, err
	}
	if u.Offset == 0 {
		return 0, newError(CodeBlobUploadInvalid, map[string]string{"uuid": id}, "the upload is empty")
	}
	return r.finishUpload(ctx, u, d)
}

// uploadMatches hashes an upload's data with d's algorithm and compares.
func (r *Registry) uploadMatches(u *uploadState, d Digest) (bool, error) {
	h := newHash(d.Algorithm())
	if h == nil {
		return false, nil
	}
	f, err := r.blobs.root.Open(uploadDir(u.ID) + "/data")
	if err != nil {
		return false, fmt.Errorf("registry: upload %s: %w", u.ID, err)
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("registry: upload %s: %w", u.ID, err)
	}
	return digestFromHash(d.Algorithm(), h) == d, nil
}
