package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/distribution/reference"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

// ImageConfig describes an image added to the fake.
type ImageConfig struct {
	// Entrypoint and Cmd are the image's defaults. A nil Entrypoint means
	// ["/testapp"]: the image runs internal/testapp, whose flags the fake
	// interprets.
	Entrypoint []string
	Cmd        []string
	Env        []string
	// Labels are inherited by containers, as Docker's image labels are.
	Labels map[string]string
	// Remote puts the image only in the fake registry: it is not local
	// until PullImage fetches it.
	Remote bool
	// Auth, when set, are the credentials PullImage needs; other
	// credentials fail with ErrAccessDenied.
	Auth *runtime.RegistryAuth
}

type image struct {
	ref    string
	id     string
	digest string
	cfg    ImageConfig
}

// AddImage adds a local testapp image (ENTRYPOINT ["/testapp"]) that PullImage
// can also fetch, and returns it.
func (f *Fake) AddImage(ref string) runtime.Image {
	return f.AddImageConfig(ref, ImageConfig{})
}

// AddImageConfig adds an image described by cfg and returns it.
func (f *Fake) AddImageConfig(ref string, cfg ImageConfig) runtime.Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cfg.Entrypoint == nil {
		cfg.Entrypoint = []string{"/testapp"}
	}
	ref = normalizeRef(ref)
	sum := sha256.Sum256(fmt.Appendf(nil, "image %s %q %q %q", ref, cfg.Entrypoint, cfg.Cmd, cfg.Env))
	dsum := sha256.Sum256(fmt.Appendf(nil, "manifest %s", sum))
	img := &image{
		ref:    ref,
		id:     "sha256:" + hex.EncodeToString(sum[:]),
		digest: "sha256:" + hex.EncodeToString(dsum[:]),
		cfg:    cfg,
	}
	f.registry[ref] = img
	if !cfg.Remote {
		f.local[ref] = img
	}
	return runtime.Image{ID: img.id, Digest: img.digest}
}

// PullImage fetches an image added with AddImage or AddImageConfig; any other
// reference is ErrNotFound, as a registry without that repository or tag.
func (f *Fake) PullImage(ctx context.Context, ref string, auth *runtime.RegistryAuth) (runtime.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return runtime.Image{}, err
	}
	if err := f.failPull; err != nil {
		f.failPull = nil
		return runtime.Image{}, err
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return runtime.Image{}, fmt.Errorf("pull %q: %v: %w", ref, err, errdefs.ErrInvalidArgument)
	}
	img := f.findImage(f.registry, ref)
	if img == nil {
		return runtime.Image{}, fmt.Errorf("pull %s: manifest unknown: %w", ref, errdefs.ErrNotFound)
	}
	if want := img.cfg.Auth; want != nil {
		if auth == nil || auth.Username != want.Username || auth.Password != want.Password {
			return runtime.Image{}, fmt.Errorf("pull %s: unauthorized: incorrect username or password: %w", ref, errdefs.ErrAccessDenied)
		}
	}
	f.local[img.ref] = img
	return runtime.Image{ID: img.id, Digest: img.digest}, nil
}

// InspectImage describes a local image.
func (f *Fake) InspectImage(ctx context.Context, ref string) (runtime.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return runtime.Image{}, err
	}
	img := f.findImage(f.local, ref)
	if img == nil {
		return runtime.Image{}, fmt.Errorf("no such image: %s: %w", ref, errdefs.ErrNotFound)
	}
	return runtime.Image{ID: img.id, Digest: img.digest}, nil
}

// findImage looks ref up by name and tag, by name and digest, or by image id.
func (f *Fake) findImage(in map[string]*image, ref string) *image {
	if img, ok := in[normalizeRef(ref)]; ok {
		return img
	}
	name, digest, ok := strings.Cut(ref, "@")
	for _, k := range slices.Sorted(maps.Keys(in)) {
		img := in[k]
		if ok && repoOf(img.ref) == repoOf(normalizeRef(name)) && img.digest == digest {
			return img
		}
		if ref == img.id || (len(ref) >= 12 && strings.HasPrefix(strings.TrimPrefix(img.id, "sha256:"), ref)) {
			return img
		}
	}
	return nil
}

// normalizeRef adds the implicit ":latest" tag; references with a digest
// are kept as given.
func normalizeRef(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	if !strings.Contains(last, ":") {
		return ref + ":latest"
	}
	return ref
}

// repoOf strips the tag from a normalized reference.
func repoOf(ref string) string {
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i]
	}
	return ref
}
