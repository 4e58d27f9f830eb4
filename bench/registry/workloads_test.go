package registry

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// client is the one client both registries get: go-containerregistry with
// its own transport per registry (keep-alive, up to 64 idle connections),
// no retries (a failure fails the benchmark instead of hiding in a
// back-off), and a Pusher and Puller reused across operations, so that
// each registry is pinged once rather than once per image.
type client struct {
	srv    *server
	pusher *remote.Pusher
	puller *remote.Puller
}

func newClient(ctx context.Context, srv *server) (*client, error) {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(srv.auth),
		remote.WithTransport(tr),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
		remote.WithJobs(pushJobs),
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		return nil, err
	}
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	return &client{srv: srv, pusher: pusher, puller: puller}, nil
}

// pushJobs is how many blobs one push uploads at once (go-containerregistry's
// default); a pull reads an image's layers with as many.
const pushJobs = 4

func (c *client) ref(repo, tag string) (name.Tag, error) {
	return name.NewTag(c.srv.host+"/"+repo+":"+tag, name.Insecure)
}

func (c *client) push(ctx context.Context, repo, tag string, img v1.Image) error {
	ref, err := c.ref(repo, tag)
	if err != nil {
		return err
	}
	return c.pusher.Push(ctx, ref, img)
}

// pull fetches the manifest and the config, then reads every layer to the
// end (the client verifies each against its digest), jobs layers at once.
// It returns the bytes read.
func (c *client) pull(ctx context.Context, repo, tag string, jobs int) (int64, error) {
	ref, err := c.ref(repo, tag)
	if err != nil {
		return 0, err
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.Reuse(c.puller))
	if err != nil {
		return 0, err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return 0, err
	}
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	var (
		mu    sync.Mutex
		total int64
	)
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for _, l := range layers {
		g.Go(func() error {
			rc, err := l.Compressed()
			if err != nil {
				return err
			}
			n, err := io.Copy(io.Discard, rc)
			if cerr := rc.Close(); err == nil {
				err = cerr
			}
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		})
	}
	return total, g.Wait()
}

// Content. Layers are random bytes served as they are ("static" layers, no
// compression), so that the client spends no time gzipping and both
// registries move exactly the same bytes. A round's content is made before
// anything is timed and pushed to both registries; it is new every round.

// randomBytes fills n bytes from a fast seeded generator (ChaCha8).
func randomBytes(r *rand.ChaCha8, n int) []byte {
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// newImage is an OCI image of the given layers, with its digests (and so its
// manifest and config) computed up front.
func newImage(layers [][]byte) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	var ls []v1.Layer
	for _, b := range layers {
		l := static.NewLayer(b, types.OCILayer)
		if _, err := l.Digest(); err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	img, err := mutate.AppendLayers(base, ls...)
	if err != nil {
		return nil, err
	}
	if _, err := img.Digest(); err != nil {
		return nil, err
	}
	return img, nil
}

// content is one round's images.
type content struct {
	large     v1.Image // largeLayers × largeLayerSize
	mid       v1.Image // midLayers × midLayerSize, for the concurrent pulls
	small     []v1.Image
	largeSize int64
	midSize   int64
}

func newContent(seed uint64, cfg config) (*content, error) {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	r := rand.NewChaCha8(s)
	c := &content{largeSize: int64(cfg.largeLayers * cfg.largeLayerSize), midSize: int64(cfg.midLayers * cfg.midLayerSize)}
	var err error
	large := make([][]byte, cfg.largeLayers)
	for i := range large {
		large[i] = randomBytes(r, cfg.largeLayerSize)
	}
	if c.large, err = newImage(large); err != nil {
		return nil, err
	}
	mid := make([][]byte, cfg.midLayers)
	for i := range mid {
		mid[i] = randomBytes(r, cfg.midLayerSize)
	}
	if c.mid, err = newImage(mid); err != nil {
		return nil, err
	}
	c.small = make([]v1.Image, cfg.smallImages)
	for i := range c.small {
		if c.small[i], err = newImage([][]byte{randomBytes(r, smallLayerSize)}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// smallLayerSize is the one layer of each small image.
const smallLayerSize = 1 << 10

// A workload is run once per arm per round. It returns what it measured:
// elapsed time, the payload bytes or operations behind the throughput
// figure, and per-operation latencies where it has many.
type result struct {
	elapsed   time.Duration
	bytes     int64
	ops       int
	latencies []time.Duration
}

type workload struct {
	name string
	// unit is "MB/s" (bytes / elapsed) or "images/s" (ops / elapsed).
	unit string
	// prepare runs unmeasured before run, on a fresh repository.
	prepare func(ctx context.Context, c *client, repo string, in *content) error
	run     func(ctx context.Context, c *client, repo string, in *content) (result, error)
}

func workloads(cfg config) []workload {
	ws := []workload{
		{
			name: fmt.Sprintf("push %d MiB image (%d × %d MiB layers)", cfg.largeLayers*cfg.largeLayerSize>>20, cfg.largeLayers, cfg.largeLayerSize>>20),
			unit: "MB/s",
			run: func(ctx context.Context, c *client, repo string, in *content) (result, error) {
				start := time.Now()
				err := c.push(ctx, repo, "large", in.large)
				return result{elapsed: time.Since(start), bytes: in.largeSize}, err
			},
		},
		{
			name: fmt.Sprintf("pull %d MiB image (%d layers at once)", cfg.largeLayers*cfg.largeLayerSize>>20, pushJobs),
			unit: "MB/s",
			prepare: func(ctx context.Context, c *client, repo string, in *content) error {
				return c.push(ctx, repo, "large", in.large)
			},
			run: func(ctx context.Context, c *client, repo string, in *content) (result, error) {
				start := time.Now()
				n, err := c.pull(ctx, repo, "large", pushJobs)
				if err == nil && n != in.largeSize {
					err = fmt.Errorf("pulled %d bytes; want %d", n, in.largeSize)
				}
				return result{elapsed: time.Since(start), bytes: n}, err
			},
		},
	}
	for _, conc := range cfg.smallConc {
		ws = append(ws, workload{
			name: fmt.Sprintf("push %d tiny images, distinct tags, %d at a time", cfg.smallImages, conc),
			unit: "images/s",
			run: func(ctx context.Context, c *client, repo string, in *content) (result, error) {
				return pushSmall(ctx, c, repo, in.small, conc)
			},
		})
	}
	ws = append(ws, workload{
		name: fmt.Sprintf("%d concurrent pulls of a %d MiB image (%d × %d MiB)", cfg.pullers, cfg.midLayers*cfg.midLayerSize>>20, cfg.midLayers, cfg.midLayerSize>>20),
		unit: "MB/s",
		prepare: func(ctx context.Context, c *client, repo string, in *content) error {
			return c.push(ctx, repo, "mid", in.mid)
		},
		run: func(ctx context.Context, c *client, repo string, in *content) (result, error) {
			return pullConcurrently(ctx, c, repo, "mid", cfg.pullers, in.midSize)
		},
	})
	return ws
}

// pushSmall pushes every image under its own tag, conc pushes at a time.
func pushSmall(ctx context.Context, c *client, repo string, imgs []v1.Image, conc int) (result, error) {
	lat := make([]time.Duration, len(imgs))
	next := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for range conc {
		g.Go(func() error {
			for i := range next {
				t0 := time.Now()
				if err := c.push(gctx, repo, fmt.Sprintf("t%05d", i), imgs[i]); err != nil {
					return fmt.Errorf("image %d: %w", i, err)
				}
				lat[i] = time.Since(t0)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(next)
		for i := range imgs {
			select {
			case next <- i:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	err := g.Wait()
	return result{elapsed: time.Since(start), ops: len(imgs), latencies: lat}, err
}

// pullConcurrently runs n whole pulls of one image at once (each reads its
// layers one after the other) and measures until the last ends.
func pullConcurrently(ctx context.Context, c *client, repo, tag string, n int, size int64) (result, error) {
	lat := make([]time.Duration, n)
	g, gctx := errgroup.WithContext(ctx)
	var total int64
	var mu sync.Mutex
	start := time.Now()
	for i := range n {
		g.Go(func() error {
			t0 := time.Now()
			got, err := c.pull(gctx, repo, tag, 1)
			if err == nil && got != size {
				err = fmt.Errorf("pulled %d bytes; want %d", got, size)
			}
			lat[i] = time.Since(t0)
			mu.Lock()
			total += got
			mu.Unlock()
			return err
		})
	}
	err := g.Wait()
	return result{elapsed: time.Since(start), bytes: total, ops: n, latencies: lat}, err
}
