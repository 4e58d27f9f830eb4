package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

// PullImage pulls ref, draining the progress stream: an error reported in
// the stream fails the pull with the stream's message.
func (d *Docker) PullImage(ctx context.Context, ref string, auth *runtime.RegistryAuth) (runtime.Image, error) {
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return runtime.Image{}, fmt.Errorf("pull %q: %v: %w", ref, err, errdefs.ErrInvalidArgument)
	}
	var opts client.ImagePullOptions
	if auth != nil {
		enc, err := encodeAuth(*auth)
		if err != nil {
			return runtime.Image{}, err
		}
		opts.RegistryAuth = enc
	}
	resp, err := d.cli.ImagePull(ctx, ref, opts)
	if err != nil {
		return runtime.Image{}, classify(err, opOther, "pull %s", ref)
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return runtime.Image{}, classify(err, opOther, "pull %s", ref)
		}
		if e := msg.Error; e != nil {
			return runtime.Image{}, streamError(ref, e.Code, e.Message)
		}
	}
	return d.InspectImage(ctx, ref)
}

// streamError classifies an error reported inside a pull stream by its
// status code, when Docker gives one (20.10 often does not).
func streamError(ref string, code int, message string) error {
	var class error
	switch code {
	case http.StatusNotFound:
		class = errdefs.ErrNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		class = errdefs.ErrAccessDenied
	case http.StatusBadRequest:
		class = errdefs.ErrInvalidArgument
	case http.StatusServiceUnavailable:
		class = errdefs.ErrUnavailable
	}
	if class == nil {
		return fmt.Errorf("pull %s: %w", ref, errors.New(message))
	}
	return fmt.Errorf("pull %s: %s: %w", ref, message, class)
}

// encodeAuth encodes credentials as the X-Registry-Auth header wants them:
// base64url of the JSON AuthConfig.
func encodeAuth(a runtime.RegistryAuth) (string, error) {
	b, err := json.Marshal(registry.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: a.ServerAddress})
	if err != nil {
		return "", fmt.Errorf("encode registry auth: %w", err)
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// InspectImage describes a local image.
func (d *Docker) InspectImage(ctx context.Context, ref string) (runtime.Image, error) {
	res, err := d.cli.ImageInspect(ctx, ref)
	if err != nil {
		return runtime.Image{}, classify(err, opOther, "inspect image %s", ref)
	}
	return runtime.Image{ID: res.ID, Digest: repoDigest(ref, res.RepoDigests)}, nil
}

// repoDigest picks the digest under which ref's repository knows the image.
func repoDigest(ref string, repoDigests []string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	if d, ok := named.(reference.Digested); ok {
		return d.Digest().String()
	}
	for _, rd := range repoDigests {
		n, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			continue
		}
		if d, ok := n.(reference.Digested); ok && n.Name() == named.Name() {
			return d.Digest().String()
		}
	}
	return ""
}
