package registry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/state"
)

// maxPage caps n of tag and catalog listings (CVE-2023-2253: never size
// anything by the client's n).
const maxPage = 1000

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func methodNotAllowed(allowed ...string) *Error {
	return &Error{Code: CodeUnsupported, Status: http.StatusMethodNotAllowed,
		Message: "the method is not allowed here; allowed: " + strings.Join(allowed, ", ")}
}

func (r *Registry) serveBase(c *call) error {
	if c.req.Method != http.MethodGet && c.req.Method != http.MethodHead {
		return methodNotAllowed("GET", "HEAD")
	}
	writeJSON(c.w, http.StatusOK, "application/json", struct{}{})
	return nil
}

// pageParams reads the n and last of a listing; n < 0 means no limit.
func pageParams(q url.Values) (n int, last string, err error) {
	n = -1
	if q.Has("n") {
		v, perr := strconv.Atoi(q.Get("n"))
		if perr != nil || v < 0 {
			return 0, "", &Error{Code: CodeUnsupported, Status: http.StatusBadRequest, Message: "n must be a non-negative integer"}
		}
		n = min(v, maxPage)
	}
	return n, q.Get("last"), nil
}

func linkNext(w http.ResponseWriter, base string, n int, last string) {
	w.Header().Set("Link", "<"+base+"?n="+strconv.Itoa(n)+"&last="+url.QueryEscape(last)+`>; rel="next"`)
}

func (r *Registry) serveCatalog(c *call) error {
	if c.req.Method != http.MethodGet {
		return methodNotAllowed("GET")
	}
	n, last, err := pageParams(c.req.URL.Query())
	if err != nil {
		return err
	}
	names := []string{}
	more := false
	if n != 0 {
		for repo := range r.Repositories(c.s, last) {
			if n > 0 && len(names) == n {
				more = true
				break
			}
			names = append(names, repo.Name)
		}
	}
	if more {
		linkNext(c.w, "/v2/_catalog", n, names[len(names)-1])
	}
	writeJSON(c.w, http.StatusOK, "application/json", map[string][]string{"repositories": names})
	return nil
}

func (r *Registry) serveTags(c *call) error {
	if c.req.Method != http.MethodGet {
		return methodNotAllowed("GET")
	}
	n, last, err := pageParams(c.req.URL.Query())
	if err != nil {
		return err
	}
	snap := r.store.Snapshot()
	if snap.Doc(repoKey(c.s, c.rt.name)) == nil {
		return nameUnknown(c.s, c.rt.name)
	}
	tags := []string{}
	more := false
	if n != 0 {
		start := ""
		if last != "" {
			start = tagKey(c.s, c.rt.name, last)
		}
		for d := range snap.Docs(nil, tagsPrefix(c.s, c.rt.name), start) {
			if n > 0 && len(tags) == n {
				more = true
				break
			}
			tags = append(tags, lastPart(d.ID))
		}
	}
	if more {
		linkNext(c.w, "/v2/"+c.rt.name+"/tags/list", n, tags[len(tags)-1])
	}
	writeJSON(c.w, http.StatusOK, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{c.rt.name, tags})
	return nil
}

// resolve turns a manifest reference into a digest: a digest as is, a tag
// through the tag's document.
func (r *Registry) resolve(s Scope, repo, ref string) (Digest, error) {
	if d, ok := ParseDigest(ref); ok {
		return d, nil
	}
	if strings.Contains(ref, ":") {
		return "", newError(CodeDigestInvalid, map[string]string{"digest": ref}, "invalid digest %q", ref)
	}
	if ValidTag(ref) {
		if d, ok := r.ResolveTag(s, repo, ref); ok {
			return d, nil
		}
	}
	return "", newError(CodeManifestUnknown, map[string]string{"tag": ref}, "")
}

func (r *Registry) serveManifest(c *call) error {
	name, ref := c.rt.name, c.rt.ref
	switch c.req.Method {
	case http.MethodGet, http.MethodHead:
		if r.Repository(c.s, name) == nil {
			return nameUnknown(c.s, name)
		}
		d, err := r.resolve(c.s, name, ref)
		if err != nil {
			return err
		}
		b, img, err := r.ManifestContent(c.s, name, d)
		if err != nil {
			return err
		}
		h := c.w.Header()
		h.Set("Content-Type", img.MediaType)
		h.Set("Content-Length", strconv.Itoa(len(b)))
		h.Set("Docker-Content-Digest", string(d))
		h.Set("ETag", `"`+string(d)+`"`)
		c.w.WriteHeader(http.StatusOK)
		if c.req.Method == http.MethodGet {
			_, _ = c.w.Write(b)
		}
		return nil
	case http.MethodPut:
		return r.putManifestHTTP(c)
	case http.MethodDelete:
		if r.Repository(c.s, name) == nil {
			return nameUnknown(c.s, name)
		}
		if d, ok := ParseDigest(ref); ok {
			if _, err := r.DeleteManifest(c.req.Context(), c.s, name, d, false); err != nil {
				return err
			}
		} else if strings.Contains(ref, ":") {
			return newError(CodeDigestInvalid, map[string]string{"digest": ref}, "invalid digest %q", ref)
		} else {
			if !ValidTag(ref) {
				return newError(CodeManifestUnknown, map[string]string{"tag": ref}, "")
			}
			if _, err := r.DeleteTag(c.req.Context(), c.s, name, ref, false); err != nil {
				return err
			}
		}
		c.w.Header().Set("Content-Length", "0")
		c.w.WriteHeader(http.StatusAccepted)
		return nil
	}
	return methodNotAllowed("GET", "HEAD", "PUT", "DELETE")
}

func (r *Registry) putManifestHTTP(c *call) error {
	max := r.cfg.MaxManifestBytes
	if c.req.ContentLength > max {
		return manifestTooLarge(max)
	}
	body, err := io.ReadAll(io.LimitReader(c.req.Body, max+1))
	if err != nil {
		return newError(CodeManifestInvalid, nil, "the manifest could not be read")
	}
	if int64(len(body)) > max {
		return manifestTooLarge(max)
	}
	in := ManifestPut{Body: body, MediaType: declaredMediaType(c.req.Header.Get("Content-Type"))}
	ref := c.rt.ref
	switch d, ok := ParseDigest(ref); {
	case ok:
		in.Digest = d
	case strings.Contains(ref, ":"):
		return newError(CodeDigestInvalid, map[string]string{"digest": ref}, "invalid digest %q", ref)
	default:
		in.Tags = []string{ref}
	}
	in.Tags = append(in.Tags, c.req.URL.Query()["tag"]...)
	res, err := r.PutManifest(c.req.Context(), c.s, c.rt.name, in)
	if err != nil {
		return err
	}
	img := res.Image
	h := c.w.Header()
	h.Set("Location", "/v2/"+c.rt.name+"/manifests/"+string(img.Digest))
	h.Set("Docker-Content-Digest", string(img.Digest))
	if img.Subject != "" {
		h.Set("OCI-Subject", string(img.Subject))
	}
	for _, t := range c.req.URL.Query()["tag"] {
		h.Add("OCI-Tag", t)
	}
	h.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusCreated)
	return nil
}

// declaredMediaType is the media type of a Content-Type header, or "" for
// none or a generic JSON type (the manifest's own mediaType decides then).
func declaredMediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt == "application/json" || mt == "application/octet-stream" {
		return ""
	}
	return mt
}

// repoBlobSize returns the size of a blob the repository holds: a pushed or
// mounted blob, or one of its manifests.
func (r *Registry) repoBlobSize(s Scope, repo string, d Digest) (int64, bool) {
	if size, ok := r.BlobSize(s, repo, d); ok {
		return size, true
	}
	if img := r.image(r.store.Snapshot(), s, repo, d); img != nil {
		return img.Size, true
	}
	return 0, false
}

func (r *Registry) serveBlob(c *call) error {
	name := c.rt.name
	d, ok := ParseDigest(c.rt.ref)
	if !ok {
		return newError(CodeDigestInvalid, map[string]string{"digest": c.rt.ref}, "invalid digest %q", c.rt.ref)
	}
	if r.Repository(c.s, name) == nil {
		return nameUnknown(c.s, name)
	}
	unknown := newError(CodeBlobUnknown, map[string]string{"digest": string(d)}, "")
	switch c.req.Method {
	case http.MethodGet, http.MethodHead:
		if _, ok := r.repoBlobSize(c.s, name, d); !ok {
			return unknown
		}
		f, err := r.blobs.open(d)
		if errors.Is(err, fs.ErrNotExist) {
			return unknown
		}
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		h := c.w.Header()
		h.Set("Docker-Content-Digest", string(d))
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Accept-Ranges", "bytes")
		h.Set("ETag", `"`+string(d)+`"`)
		h.Set("Cache-Control", "max-age=31536000")
		if c.req.Method == http.MethodHead {
			h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
			c.w.WriteHeader(http.StatusOK)
			return nil
		}
		if c.req.Header.Get("Range") != "" {
			// A part cannot be checked on its own: check the whole blob first.
			ok, err := verifyFile(f, d)
			if err != nil {
				return err
			}
			if !ok {
				r.corruptBlob(d, name)
				return unknown
			}
			http.ServeContent(c.w, c.req, "", time.Time{}, f)
			return nil
		}
		h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		c.w.WriteHeader(http.StatusOK)
		if err := copyVerified(c.w, f, fi.Size(), d); corrupt(err) {
			r.corruptBlob(d, name)
			// Abort the response: the client sees a truncated body.
			panic(http.ErrAbortHandler)
		}
		return nil
	case http.MethodDelete:
		if err := r.unlink(c.req.Context(), c.s, name, d); err != nil {
			return err
		}
		c.w.Header().Set("Content-Length", "0")
		c.w.WriteHeader(http.StatusAccepted)
		return nil
	}
	return methodNotAllowed("GET", "HEAD", "DELETE")
}

func (r *Registry) corruptBlob(d Digest, repo string) {
	r.log.Error("blob content does not match its digest; quarantined, clients must push it again", "digest", d, "repository", repo)
	r.blobs.quarantine(d)
}

// acquireUpload takes one of the slots of blob transfers in flight.
func (r *Registry) acquireUpload() (func(), error) {
	select {
	case r.uploads <- struct{}{}:
		return func() { <-r.uploads }, nil
	default:
		return nil, newError(CodeTooManyRequests, nil, "too many uploads in flight; retry later")
	}
}

func (r *Registry) serveUploads(c *call) error {
	if c.req.Method != http.MethodPost {
		return methodNotAllowed("POST")
	}
	name := c.rt.name
	if r.Repository(c.s, name) == nil {
		return nameUnknown(c.s, name)
	}
	q := c.req.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		if d, ok := ParseDigest(mount); ok {
			mounted, err := r.mount(c, d, q.Get("from"))
			if err != nil {
				return err
			}
			if mounted {
				blobCreated(c, d)
				return nil
			}
		}
		// Not mountable: the spec falls back to a new upload session.
	}
	if q.Has("digest") {
		d, ok := ParseDigest(q.Get("digest"))
		if !ok {
			return newError(CodeDigestInvalid, map[string]string{"digest": q.Get("digest")}, "invalid or unsupported digest %q", q.Get("digest"))
		}
		release, err := r.acquireUpload()
		if err != nil {
			return err
		}
		defer release()
		if err := r.PutBlob(c.req.Context(), c.s, name, d, c.req.Body); err != nil {
			return err
		}
		blobCreated(c, d)
		return nil
	}
	alg := "sha256"
	if q.Has("digest-algorithm") {
		alg = q.Get("digest-algorithm")
	}
	id, err := r.StartUpload(c.s, name, alg)
	if err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
	h.Set("Docker-Upload-UUID", id)
	h.Set("Range", "0-0")
	h.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

func blobCreated(c *call, d Digest) {
	h := c.w.Header()
	h.Set("Location", "/v2/"+c.rt.name+"/blobs/"+string(d))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusCreated)
}

// mount links blob d into the request's repository when repository from
// (or, with from empty, any repository of the tenancy) holds it.
func (r *Registry) mount(c *call, d Digest, from string) (bool, error) {
	r.gcMu.RLock()
	defer r.gcMu.RUnlock()
	var sources []string
	if from != "" {
		if !ValidName(from) {
			return false, nil
		}
		sources = []string{from}
	} else {
		for repo := range r.Repositories(c.s, "") {
			sources = append(sources, repo.Name)
		}
	}
	for _, src := range sources {
		size, ok := r.BlobSize(c.s, src, d)
		if !ok || !r.blobs.exists(d) {
			continue
		}
		if err := r.link(c.req.Context(), c.s, c.rt.name, d, size); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// unlink removes a blob from a repository (its bytes stay until the GC
// finds no repository and no manifest using them).
func (r *Registry) unlink(ctx context.Context, s Scope, repo string, d Digest) error {
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		ld := r.store.Snapshot().Doc(linkKey(s, repo, d))
		if ld == nil {
			return struct{}{}, newError(CodeBlobUnknown, map[string]string{"digest": string(d)}, "")
		}
		_, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: []state.DocOp{
			{Key: ld.ID, Delete: true, IfIndex: ld.ModifyIndex},
		}})
		return struct{}{}, err
	})
	return err
}

func rangeHeader(offset int64) string {
	end := offset
	if end > 0 {
		end--
	}
	return "0-" + strconv.FormatInt(end, 10)
}

func (r *Registry) serveUpload(c *call) error {
	name, id := c.rt.name, c.rt.ref
	h := c.w.Header()
	location := "/v2/" + name + "/blobs/uploads/" + id
	switch c.req.Method {
	case http.MethodGet:
		unlock := r.lockUpload(id)
		defer unlock()
		u, err := r.loadUpload(c.s, name, id)
		if err != nil {
			return err
		}
		h.Set("Location", location)
		h.Set("Range", rangeHeader(u.Offset))
		h.Set("Docker-Upload-UUID", id)
		h.Set("Content-Length", "0")
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPatch, http.MethodPut:
		var d Digest
		if c.req.Method == http.MethodPut {
			var ok bool
			if d, ok = ParseDigest(c.req.URL.Query().Get("digest")); !ok {
				return newError(CodeDigestInvalid, map[string]string{"digest": c.req.URL.Query().Get("digest")}, "the closing PUT needs a valid digest parameter")
			}
		}
		release, err := r.acquireUpload()
		if err != nil {
			return err
		}
		defer release()
		unlock := r.lockUpload(id)
		defer unlock()
		u, err := r.loadUpload(c.s, name, id)
		if err != nil {
			return err
		}
		ch := chunk{Body: c.req.Body, Start: -1, Length: c.req.ContentLength}
		if cr := c.req.Header.Get("Content-Range"); cr != "" {
			start, end, ok := parseContentRange(cr)
			if !ok {
				h.Set("Location", location)
				h.Set("Range", rangeHeader(u.Offset))
				return &Error{Code: CodeBlobUploadInvalid, Status: http.StatusRequestedRangeNotSatisfiable, Message: "invalid Content-Range " + strconv.Quote(cr)}
			}
			if c.req.ContentLength >= 0 && c.req.ContentLength != end-start+1 {
				return newError(CodeSizeInvalid, nil, "Content-Length %d does not match Content-Range %s", c.req.ContentLength, cr)
			}
			ch.Start, ch.Length = start, end-start+1
		}
		if err := r.appendChunk(u, ch); err != nil {
			var e *Error
			if errors.As(err, &e) && e.HTTPStatus() == http.StatusRequestedRangeNotSatisfiable {
				h.Set("Location", location)
				h.Set("Range", rangeHeader(u.Offset))
				h.Set("Docker-Upload-UUID", id)
			}
			return err
		}
		if c.req.Method == http.MethodPatch {
			h.Set("Location", location)
			h.Set("Range", rangeHeader(u.Offset))
			h.Set("Docker-Upload-UUID", id)
			h.Set("Content-Length", "0")
			c.w.WriteHeader(http.StatusAccepted)
			return nil
		}
		if _, err := r.finishUpload(c.req.Context(), u, d); err != nil {
			return err
		}
		blobCreated(c, d)
		return nil
	case http.MethodDelete:
		unlock := r.lockUpload(id)
		defer unlock()
		if _, err := r.loadUpload(c.s, name, id); err != nil {
			return err
		}
		r.cancelUpload(id)
		h.Set("Content-Length", "0")
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return methodNotAllowed("GET", "PATCH", "PUT", "DELETE")
}

func (r *Registry) serveReferrers(c *call) error {
	if c.req.Method != http.MethodGet {
		return methodNotAllowed("GET")
	}
	d, ok := ParseDigest(c.rt.ref)
	if !ok {
		return newError(CodeDigestInvalid, map[string]string{"digest": c.rt.ref}, "invalid digest %q", c.rt.ref)
	}
	snap := r.store.Snapshot()
	if snap.Doc(repoKey(c.s, c.rt.name)) == nil {
		return nameUnknown(c.s, c.rt.name)
	}
	q := c.req.URL.Query()
	filter, filtered := q.Get("artifactType"), q.Has("artifactType")
	out := []Descriptor{}
	for doc := range snap.Docs(nil, referrersPrefix(c.s, c.rt.name, d), "") {
		img := r.image(snap, c.s, c.rt.name, Digest(lastPart(doc.ID)))
		if img == nil || (filtered && img.ArtifactType != filter) {
			continue
		}
		out = append(out, Descriptor{MediaType: img.MediaType, Digest: string(img.Digest), Size: img.Size,
			ArtifactType: img.ArtifactType, Annotations: img.Annotations})
	}
	if filtered {
		c.w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	writeJSON(c.w, http.StatusOK, MediaTypeOCIIndex, struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []Descriptor `json:"manifests"`
	}{2, MediaTypeOCIIndex, out})
	return nil
}
