package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/state"
)

// Config configures a Registry.
type Config struct {
	// DataDir holds blobs, upload sessions and temporary files.
	DataDir string
	// Host is the host[:port] clients reach the registry at, e.g.
	// "127.0.0.1:4566"; repository URIs start with it.
	Host string
	// Scheme is how clients reach Host: "http" (the default) or "https".
	Scheme string
	// TokenKey signs registry tokens; at least 32 bytes.
	TokenKey []byte
	// TokenTTL is how long a token is valid; 12 hours as in ECR by default.
	TokenTTL time.Duration
	// DownloadURLTTL is how long a GetDownloadUrlForLayer URL works (1 hour).
	DownloadURLTTL time.Duration
	// MaxManifestBytes caps manifests (4 MiB by default); larger pushes get 413.
	MaxManifestBytes int64
	// MaxBlobBytes caps blobs (50 GiB by default, about ECR's layer limit).
	MaxBlobBytes int64
	// MaxConcurrentUploads bounds blob uploads in flight; beyond it clients
	// get 429 TOOMANYREQUESTS (256 by default).
	MaxConcurrentUploads int
	// GCInterval is how often Run collects unreferenced blobs (1 hour).
	GCInterval time.Duration
	// GCGrace is how old an unreferenced blob must be before it is
	// collected (24 hours), which keeps the layers of a push whose
	// manifest has not arrived yet.
	GCGrace time.Duration
	// UploadTTL is how long an idle upload session is kept (24 hours).
	UploadTTL time.Duration
	Logger    *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("registry: DataDir is required")
	}
	if c.Host == "" {
		return errors.New("registry: Host is required")
	}
	if c.Scheme == "" {
		c.Scheme = "http"
	}
	if c.Scheme != "http" && c.Scheme != "https" {
		return fmt.Errorf("registry: scheme %q is not http or https", c.Scheme)
	}
	if len(c.TokenKey) < 32 {
		return errors.New("registry: TokenKey must have at least 32 bytes")
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 12 * time.Hour
	}
	if c.DownloadURLTTL == 0 {
		c.DownloadURLTTL = time.Hour
	}
	if c.MaxManifestBytes == 0 {
		c.MaxManifestBytes = 4 << 20
	}
	if c.MaxBlobBytes == 0 {
		c.MaxBlobBytes = 50 << 30
	}
	if c.MaxConcurrentUploads == 0 {
		c.MaxConcurrentUploads = 256
	}
	if c.GCInterval == 0 {
		c.GCInterval = time.Hour
	}
	if c.GCGrace == 0 {
		c.GCGrace = 24 * time.Hour
	}
	if c.UploadTTL == 0 {
		c.UploadTTL = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Registry is the OCI distribution data plane: the handler of /v2/, the
// blob store, and the repository metadata the ECR API shares.
type Registry struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	store *state.Store
	blobs *blobStore

	// gcMu orders the GC's sweep against pushes: every commit of a blob or
	// manifest (file in place, then its document written) holds it for
	// reading; the sweep holds it for writing. See gc.go.
	gcMu        sync.RWMutex
	uploadLocks [64]sync.Mutex
	uploads     chan struct{} // a semaphore of MaxConcurrentUploads
}

// New validates cfg and opens the blob store in cfg.DataDir. It starts no
// goroutine; Run collects garbage.
func New(cfg Config, store *state.Store) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("registry: a state store is required")
	}
	bs, err := openBlobStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return &Registry{
		cfg: cfg, log: cfg.Logger.With("component", "registry"), now: cfg.Now,
		store: store, blobs: bs, uploads: make(chan struct{}, cfg.MaxConcurrentUploads),
	}, nil
}

// Close releases the data directory. Call it after Run has returned and
// the HTTP server has stopped.
func (r *Registry) Close() error { return r.blobs.close() }

type routeKind int

const (
	routeNone routeKind = iota
	routeBase
	routeCatalog
	routeTags
	routeManifest
	routeBlob
	routeUploads // POST .../blobs/uploads/
	routeUpload  // .../blobs/uploads/<id>
	routeReferrers
)

type route struct {
	kind routeKind
	name string // repository name, still unvalidated
	ref  string // tag, digest or upload id, unescaped
}

// parseRoute splits the path after /v2/ into a route. The repository name
// is taken from the escaped path, so that an escaped character makes it
// invalid rather than changing its meaning.
func parseRoute(rest string) (route, bool) {
	switch rest {
	case "":
		return route{kind: routeBase}, true
	case "_catalog":
		return route{kind: routeCatalog}, true
	}
	if name, ok := strings.CutSuffix(rest, "/tags/list"); ok && name != "" {
		return route{kind: routeTags, name: name}, true
	}
	if name, ok := strings.CutSuffix(rest, "/blobs/uploads"); ok && name != "" {
		return route{kind: routeUploads, name: name}, true
	}
	for _, p := range []struct {
		sep  string
		kind routeKind
	}{
		{"/blobs/uploads/", routeUpload},
		{"/manifests/", routeManifest},
		{"/referrers/", routeReferrers},
		{"/blobs/", routeBlob},
	} {
		i := strings.LastIndex(rest, p.sep)
		if i <= 0 {
			continue
		}
		tail := rest[i+len(p.sep):]
		if strings.Contains(tail, "/") {
			continue
		}
		ref, err := url.PathUnescape(tail)
		if err != nil || strings.Contains(ref, "/") {
			return route{}, false
		}
		rt := route{kind: p.kind, name: rest[:i], ref: ref}
		if rt.kind == routeUpload && ref == "" {
			rt.kind = routeUploads
		}
		if rt.kind != routeUploads && ref == "" {
			return route{}, false
		}
		return rt, true
	}
	return route{}, false
}

// ServeHTTP serves the OCI distribution API under /v2/.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	p := req.URL.EscapedPath()
	if p == "/v2" {
		p = "/v2/"
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		writeError(w, newError(CodeNameUnknown, nil, "not a registry path"))
		return
	}
	rt, ok := parseRoute(rest)
	claims, aerr := r.authenticate(req, rt)
	if aerr != nil {
		r.challenge(w)
		writeError(w, aerr)
		return
	}
	s := claims.scope()
	if hs, ok := hostScope(req.Host); ok && hs != s {
		writeError(w, newError(CodeDenied, nil, "the credentials are for account %s in %s, not for this registry", s.Account, s.Region))
		return
	}
	if !ok {
		writeError(w, newError(CodeNameInvalid, nil, "the path names no registry resource"))
		return
	}
	if rt.kind != routeBase && rt.kind != routeCatalog && !ValidName(rt.name) {
		writeError(w, newError(CodeNameInvalid, map[string]string{"name": rt.name}, ""))
		return
	}
	c := &call{w: w, req: req, s: s, rt: rt, principal: claims.Principal}
	var err error
	switch rt.kind {
	case routeBase:
		err = r.serveBase(c)
	case routeCatalog:
		err = r.serveCatalog(c)
	case routeTags:
		err = r.serveTags(c)
	case routeManifest:
		err = r.serveManifest(c)
	case routeBlob:
		err = r.serveBlob(c)
	case routeUploads:
		err = r.serveUploads(c)
	case routeUpload:
		err = r.serveUpload(c)
	case routeReferrers:
		err = r.serveReferrers(c)
	}
	if err != nil {
		r.fail(c, err)
	}
}

// call is one request being served.
type call struct {
	w         http.ResponseWriter
	req       *http.Request
	s         Scope
	rt        route
	principal string
}

// fail answers with err: an *Error as it is, anything else as a logged,
// generic 500.
func (r *Registry) fail(c *call, err error) {
	var e *Error
	if errors.As(err, &e) {
		writeError(c.w, e)
		return
	}
	if errors.Is(err, errdefs.ErrUnavailable) || errors.Is(err, errdefs.ErrConflict) {
		writeError(c.w, newError(CodeUnavailable, nil, "the registry is busy; retry the request"))
		return
	}
	r.log.Error("request failed", "method", c.req.Method, "path", c.req.URL.Path, "err", err)
	writeError(c.w, newError(CodeUnknown, nil, ""))
}
