package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/berthproc"
)

// The kill -9 test (CP-KILL9-DURABILITY): writers hammer a real server, the
// server is SIGKILLed at a random moment, restarted on the same data dir, and
// everything the server acknowledged must be there; everything it did not
// acknowledge must be all there or not there at all.

const (
	killRounds      = 20
	killWriters     = 8
	killMinDelay    = 200 * time.Millisecond
	killMaxDelay    = 2 * time.Second
	maxRestart      = 5 * time.Second
	writeTimeout    = 5 * time.Second  // per mutation
	readTimeout     = 10 * time.Second // per verification call
	killTestTimeout = 90 * time.Second
	// ECS allows 50 tags a resource. Tag writes go to one shared cluster
	// until it has taken tagsPerCluster of them (acknowledged or not), then
	// to the next, so that the limit never turns a write into an error.
	tagsPerCluster = 40
	// writeRate caps the writes a second over all writers. A restart
	// replays the raft log since the last snapshot, and a server that lives
	// for two seconds never takes one, so the restart time grows with every
	// write of the test: unbounded, it would measure the machine's speed
	// rather than the server's.
	writeRate = 1000
	// taskImage is the image of every registered task definition.
	taskImage = "public.ecr.aws/docker/library/busybox:latest"
)

type opKind int

const (
	opCreateCluster opKind = iota
	opTagResource
	opRegisterTaskDef
)

func (k opKind) String() string {
	return [...]string{"CreateCluster", "TagResource", "RegisterTaskDefinition"}[k]
}

// outcome is what the client learnt of a write.
type outcome int

const (
	outOK      outcome = iota // acknowledged: must survive
	outFailed                 // a definite API error: must not have happened
	outUnsent                 // the connection was refused: never reached a server
	outUnknown                // sent, no answer (the kill): all or nothing
)

func (o outcome) String() string {
	return [...]string{"ok", "failed", "unsent", "unknown"}[o]
}

// op is one recorded write: invoke, then ok or error.
type op struct {
	id     int
	round  int
	worker int
	kind   opKind

	cluster string // CreateCluster: the name; TagResource: the tagged cluster
	key     string // TagResource
	value   string // TagResource
	family  string // RegisterTaskDefinition

	invoke, end time.Time
	outcome     outcome
	err         error

	arn      string // CreateCluster, TagResource: the cluster ARN; RegisterTaskDefinition: the revision's ARN
	revision int32  // RegisterTaskDefinition
}

func (o *op) String() string {
	s := fmt.Sprintf("op %d (round %d, writer %d, %s", o.id, o.round, o.worker, o.kind)
	switch o.kind {
	case opCreateCluster:
		s += " " + o.cluster
	case opTagResource:
		s += fmt.Sprintf(" %s=%s on %s", o.key, o.value, o.cluster)
	case opRegisterTaskDef:
		s += " " + o.family
		if o.outcome == outOK {
			s += fmt.Sprintf(" -> revision %d", o.revision)
		}
	}
	s += ", " + o.outcome.String()
	if o.err != nil {
		s += ": " + o.err.Error()
	}
	return s + ")"
}

func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the kill -9 durability test in -short mode: it runs the real server for about a minute")
	}
	bin := berthBinary(t)

	timeout := killTestTimeout
	if d, ok := t.Deadline(); ok && time.Until(d)-5*time.Second < timeout {
		timeout = time.Until(d) - 5*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	dataDir := t.TempDir()
	addr := berthproc.FreeAddr(t)
	args := []string{"server", "--listen", addr, "--data-dir", dataDir}
	p := startBerth(t, bin, "", nil, args...)
	if _, err := p.waitReady(ctx, addr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	credsPath := filepath.Join(dataDir, "credentials")
	key, err := readCredentials(credsPath)
	if err != nil {
		t.Fatal(err)
	}

	seed1, seed2 := uint64(time.Now().UnixNano()), uint64(os.Getpid())
	t.Logf("random seed: %d,%d", seed1, seed2)
	rng := rand.New(rand.NewPCG(seed1, seed2))

	h := newKillHarness(t, addr, key)
	var restarts []time.Duration
	// The figures are worth having when a round fails too.
	defer func() {
		h.summarizeProblems()
		h.report(restarts)
	}()
	for round := 1; round <= killRounds; round++ {
		if ctx.Err() != nil {
			t.Fatalf("out of time after %d of %d rounds", round-1, killRounds)
		}
		delay := killMinDelay + time.Duration(rng.Int64N(int64(killMaxDelay-killMinDelay)))
		ops, killedAt := h.runRound(ctx, round, p, delay)
		if err := p.waitErr; err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("round %d: berth exit = %v; want killed by SIGKILL", round, err)
		}
		if out := p.stderr.String(); strings.Contains(out, "level=ERROR") || strings.Contains(out, "panic:") {
			t.Errorf("round %d: the server logged errors before the kill:\n%s", round, out)
		}

		p = startBerth(t, bin, "", nil, args...)
		d, err := p.waitReady(ctx, addr, 3*maxRestart)
		if err != nil {
			t.Fatalf("round %d: restart: %v", round, err)
		}
		restarts = append(restarts, d)
		if d > maxRestart {
			t.Errorf("round %d: restart to ready took %v; want < %v", round, d, maxRestart)
		}
		if k, err := readCredentials(credsPath); err != nil || k != key {
			t.Fatalf("round %d: credentials after restart = %v, %v; want the first ones", round, k.ID, err)
		}

		h.add(ops)
		h.checkTimes(ops, killedAt)
		vstart := time.Now()
		h.verify(ctx, ops, false)
		h.logRound(round, delay, ops, d, time.Since(vstart))
	}
	// Everything acknowledged in any round, after the last crash.
	vstart := time.Now()
	h.verify(ctx, h.all, true)
	t.Logf("verified all %d writes again in %v", len(h.all), time.Since(vstart).Round(time.Millisecond))
	h.checkRevisionOrder()
	if err := p.stop(10 * time.Second); err != nil {
		t.Errorf("berth did not shut down cleanly after the test: %v", err)
	}
}

// killHarness records the history of every round and checks it.
type killHarness struct {
	t    *testing.T
	addr string
	key  rootKey
	next atomic.Int64 // op ids, unique over the whole test

	all  []*op
	byID map[int]*op
	// revisionOf maps a register op to the revision its definition was found
	// under; a second revision carrying the same op is a duplicate apply.
	revisionOf map[int]int32
	// checkedRev is, per family, the highest revision described so far.
	checkedRev map[string]int32
	problems   map[string]int
	lost       map[int]bool // ids of acknowledged writes found missing
}

func newKillHarness(t *testing.T, addr string, key rootKey) *killHarness {
	return &killHarness{
		t: t, addr: addr, key: key,
		byID:       map[int]*op{},
		revisionOf: map[int]int32{},
		checkedRev: map[string]int32{},
		problems:   map[string]int{},
		lost:       map[int]bool{},
	}
}

// problem reports a failed check. Problems are counted by kind (their
// format) and only the first few of a kind are printed, so that one bug does
// not drown the others; summarizeProblems prints the counts.
func (h *killHarness) problem(format string, args ...any) {
	h.t.Helper()
	h.problems[format]++
	if h.problems[format] <= problemsShown {
		h.t.Errorf(format, args...)
	}
}

const problemsShown = 3

// lostWrite reports an acknowledged write that is not there.
func (h *killHarness) lostWrite(o *op, format string, args ...any) {
	h.t.Helper()
	h.lost[o.id] = true
	h.problem("LOST WRITE: %v: "+format, append([]any{o}, args...)...)
}

func (h *killHarness) summarizeProblems() {
	h.t.Helper()
	for _, format := range slices.Sorted(maps.Keys(h.problems)) {
		if n := h.problems[format]; n > problemsShown {
			h.t.Errorf("%d problems in all (%d shown) of the kind %q", n, problemsShown, format)
		}
	}
}

func (h *killHarness) add(ops []*op) {
	for _, o := range ops {
		h.all = append(h.all, o)
		h.byID[o.id] = o
	}
}

// tagTargets hands out the cluster each tag write goes to.
type tagTargets struct {
	round  int
	mu     sync.Mutex
	n      int
	blocks []*tagBlock
}

type tagBlock struct {
	name string
	once sync.Once
	ok   bool   // the cluster was created (acknowledged)
	arn  string // its ARN
}

func (tt *tagTargets) next() *tagBlock {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	i := tt.n / tagsPerCluster
	tt.n++
	for len(tt.blocks) <= i {
		tt.blocks = append(tt.blocks, &tagBlock{name: fmt.Sprintf("tags-r%d-%d", tt.round, len(tt.blocks))})
	}
	return tt.blocks[i]
}

// pacer caps the write rate without spreading writes out: each window of
// pacePeriod admits writeRate*pacePeriod writes, which the writers issue as
// fast as they can, all at once, and then they wait for the next window. So
// writes still overlap as much as the machine allows (on the shared tag
// cluster too) while the total stays bounded.
type pacer struct {
	mu        sync.Mutex
	period    time.Duration
	perPeriod int
	start     time.Time // of the current window
	used      int       // writes admitted in it
}

const pacePeriod = 50 * time.Millisecond

func newPacer() *pacer {
	return &pacer{period: pacePeriod, perPeriod: int(writeRate * pacePeriod / time.Second)}
}

// wait blocks until the caller may write. It returns false if stop is closed
// or ctx is done first.
func (p *pacer) wait(ctx context.Context, stop <-chan struct{}) bool {
	for {
		p.mu.Lock()
		now := time.Now()
		if now.Sub(p.start) >= p.period {
			p.start, p.used = now, 0
		}
		if p.used < p.perPeriod {
			p.used++
			p.mu.Unlock()
			return true
		}
		next := p.start.Add(p.period)
		p.mu.Unlock()

		timer := time.NewTimer(time.Until(next))
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			return false
		case <-ctx.Done():
			timer.Stop()
			return false
		}
	}
}

// runRound runs the writers against p, kills p after delay, and returns every
// recorded write once all writers have stopped.
func (h *killHarness) runRound(ctx context.Context, round int, p *proc, delay time.Duration) ([]*op, time.Time) {
	// A fresh transport a round: no connection to a dead server is reused.
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * killWriters, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	client := ecsClient(h.addr, h.key, &http.Client{Transport: tr})

	stop := make(chan struct{})
	pace := newPacer()
	tags := &tagTargets{round: round}
	results := make([][]*op, killWriters)
	var wg sync.WaitGroup
	for w := range killWriters {
		wg.Go(func() {
			results[w] = h.writer(ctx, client, round, w, tags, pace, stop)
		})
	}

	timer := time.NewTimer(delay)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
	}
	killedAt := time.Now()
	p.kill()
	close(stop)
	wg.Wait()

	var ops []*op
	for _, r := range results {
		ops = append(ops, r...)
	}
	return ops, killedAt
}

// writer issues writes one after another until stop is closed. After a
// refused connection it waits for stop: the server is gone.
func (h *killHarness) writer(ctx context.Context, c *ecs.Client, round, w int, tags *tagTargets, pace *pacer, stop <-chan struct{}) []*op {
	var ops []*op
	for i := 0; ; i++ {
		if !pace.wait(ctx, stop) {
			return ops
		}
		var last *op
		switch opKind((w + i) % 3) {
		case opCreateCluster:
			last = h.newOp(round, w, opCreateCluster)
			last.cluster = fmt.Sprintf("c%d", last.id)
			h.createCluster(ctx, c, last)
			ops = append(ops, last)
		case opTagResource:
			b := tags.next()
			b.once.Do(func() {
				cr := h.newOp(round, w, opCreateCluster)
				cr.cluster = b.name
				h.createCluster(ctx, c, cr)
				ops = append(ops, cr)
				b.ok, b.arn = cr.outcome == outOK, cr.arn
			})
			if !b.ok {
				last = &op{outcome: outUnsent} // nothing to tag: wait for the round to end
				break
			}
			last = h.newOp(round, w, opTagResource)
			last.cluster, last.arn = b.name, b.arn
			last.key, last.value = fmt.Sprintf("k%d", last.id), fmt.Sprintf("v%d-%x", last.id, rand.Uint32())
			h.call(ctx, last, func(ctx context.Context) error {
				_, err := c.TagResource(ctx, &ecs.TagResourceInput{
					ResourceArn: aws.String(last.arn),
					Tags:        []types.Tag{{Key: aws.String(last.key), Value: aws.String(last.value)}},
				})
				return err
			})
			ops = append(ops, last)
		case opRegisterTaskDef:
			last = h.newOp(round, w, opRegisterTaskDef)
			last.family = fmt.Sprintf("f%d", w)
			h.call(ctx, last, func(ctx context.Context) error {
				out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
					Family: aws.String(last.family),
					ContainerDefinitions: []types.ContainerDefinition{{
						Name:        aws.String("app"),
						Image:       aws.String(taskImage),
						Memory:      aws.Int32(64),
						Essential:   aws.Bool(true),
						Environment: []types.KeyValuePair{{Name: aws.String("OP"), Value: aws.String(strconv.Itoa(last.id))}},
					}},
				})
				if err == nil {
					if out.TaskDefinition == nil {
						return errors.New("RegisterTaskDefinition returned no task definition")
					}
					last.revision = out.TaskDefinition.Revision
					last.arn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
				}
				return err
			})
			ops = append(ops, last)
		}
		if last.outcome == outUnsent {
			select {
			case <-stop:
			case <-ctx.Done():
			}
			return ops
		}
	}
}

func (h *killHarness) newOp(round, w int, kind opKind) *op {
	return &op{id: int(h.next.Add(1)), round: round, worker: w, kind: kind}
}

func (h *killHarness) createCluster(ctx context.Context, c *ecs.Client, o *op) {
	h.call(ctx, o, func(ctx context.Context) error {
		out, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{
			ClusterName: aws.String(o.cluster),
			Tags:        []types.Tag{{Key: aws.String("op"), Value: aws.String(strconv.Itoa(o.id))}},
		})
		if err == nil {
			if out.Cluster == nil {
				return errors.New("CreateCluster returned no cluster")
			}
			o.arn = aws.ToString(out.Cluster.ClusterArn)
		}
		return err
	})
}

// call runs one write under its own timeout and records its outcome.
func (h *killHarness) call(ctx context.Context, o *op, fn func(context.Context) error) {
	cctx, cancel := context.WithTimeout(ctx, writeTimeout)
	o.invoke = time.Now()
	err := fn(cctx)
	o.end = time.Now()
	cancel()
	o.err = err
	o.outcome = classify(err)
}

// classify turns a write's error into what it tells about the write.
func classify(err error) outcome {
	if err == nil {
		return outOK
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return outUnsent
	}
	if errorCode(err) != "" && httpStatus(err) < 500 {
		// A whole error answer from the server: it did not write.
		return outFailed
	}
	return outUnknown
}

// checkTimes checks that every write that did not succeed failed because of
// the kill, never before it.
func (h *killHarness) checkTimes(ops []*op, killedAt time.Time) {
	h.t.Helper()
	for _, o := range ops {
		switch {
		case o.outcome == outFailed && errorCode(o.err) == "UpdateInProgressException":
			// Optimistic concurrency between the tag writers: allowed, and
			// verify checks that the tag is absent.
		case o.outcome == outFailed:
			h.problem("%v: unexpected API error %s", o, errorCode(o.err))
		case o.outcome != outOK && o.end.Before(killedAt):
			h.problem("%v: failed %v before the kill", o, killedAt.Sub(o.end))
		case o.outcome == outUnknown && errorCode(o.err) != "":
			h.problem("%v: the server answered an error %s", o, errorCode(o.err))
		}
	}
}

// verify reads back the writes in ops from the restarted server. full
// describes every task definition revision, not only those new since the last
// call.
func (h *killHarness) verify(ctx context.Context, ops []*op, full bool) {
	h.t.Helper()
	c := ecsClient(h.addr, h.key, nil)
	h.verifyClusters(ctx, c, ops)
	h.verifyTags(ctx, c, ops)
	h.verifyTaskDefs(ctx, c, ops, full)
}

func (h *killHarness) read(ctx context.Context, what string, fn func(context.Context) error) bool {
	h.t.Helper()
	cctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	if err := fn(cctx); err != nil {
		h.t.Fatalf("%s: %v", what, err)
		return false
	}
	return true
}

// verifyClusters: an acknowledged cluster exists with its ARN and its tag; an
// unknown one exists whole or not at all; one that failed does not exist.
func (h *killHarness) verifyClusters(ctx context.Context, c *ecs.Client, ops []*op) {
	h.t.Helper()
	var creates []*op
	for _, o := range ops {
		if o.kind == opCreateCluster {
			creates = append(creates, o)
		}
	}
	found := map[string]types.Cluster{}
	for chunk := range slices.Chunk(creates, 100) {
		names := make([]string, len(chunk))
		for i, o := range chunk {
			names[i] = o.cluster
		}
		var out *ecs.DescribeClustersOutput
		h.read(ctx, "DescribeClusters", func(ctx context.Context) (err error) {
			out, err = c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: names, Include: []types.ClusterField{types.ClusterFieldTags}})
			return err
		})
		for _, cl := range out.Clusters {
			found[aws.ToString(cl.ClusterName)] = cl
		}
		for _, f := range out.Failures {
			if aws.ToString(f.Reason) != "MISSING" {
				h.problem("DescribeClusters failure %s for %s; want MISSING or a cluster", aws.ToString(f.Reason), aws.ToString(f.Arn))
			}
		}
	}
	for _, o := range creates {
		cl, ok := found[o.cluster]
		switch {
		case !ok && o.outcome == outOK:
			h.lostWrite(o, "DescribeClusters says MISSING")
		case !ok:
			// Not acknowledged, not there: fine.
		case o.outcome == outFailed || o.outcome == outUnsent:
			h.problem("%v: the cluster exists though the write never succeeded", o)
		default:
			if got := aws.ToString(cl.Status); got != "ACTIVE" {
				h.problem("%v: status = %s; want ACTIVE", o, got)
			}
			if o.outcome == outOK && aws.ToString(cl.ClusterArn) != o.arn {
				h.problem("%v: ARN = %s; want %s as acknowledged", o, aws.ToString(cl.ClusterArn), o.arn)
			}
			tags := tagMap(cl.Tags)
			if tags["op"] != strconv.Itoa(o.id) {
				h.problem("%v: tag op = %q; want %q (tags %v)", o, tags["op"], strconv.Itoa(o.id), tags)
			}
			// Clusters created for tag writes carry those too; verifyTags
			// checks them. Others carry their creation tag only.
			if !strings.HasPrefix(o.cluster, "tags-") && len(tags) != 1 {
				h.problem("%v: tags = %v; want only op=%d", o, tags, o.id)
			}
		}
	}
}

// verifyTags: an acknowledged tag is present with its value; an unknown one
// is present with its value or absent; a failed one is absent; no tag is
// there that nobody wrote.
func (h *killHarness) verifyTags(ctx context.Context, c *ecs.Client, ops []*op) {
	h.t.Helper()
	byCluster := map[string][]*op{}
	arns := map[string]string{}
	for _, o := range ops {
		if o.kind == opTagResource {
			byCluster[o.cluster] = append(byCluster[o.cluster], o)
			arns[o.cluster] = o.arn
		}
	}
	for name, tagOps := range byCluster {
		var out *ecs.ListTagsForResourceOutput
		h.read(ctx, "ListTagsForResource "+name, func(ctx context.Context) (err error) {
			out, err = c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arns[name])})
			return err
		})
		got := tagMap(out.Tags)
		written := map[string]*op{}
		for _, o := range tagOps {
			written[o.key] = o
			v, present := got[o.key]
			switch {
			case present && v != o.value:
				h.problem("%v: tag value = %q; want %q", o, v, o.value)
			case !present && o.outcome == outOK:
				h.lostWrite(o, "tag absent from %s", name)
			case present && (o.outcome == outFailed || o.outcome == outUnsent):
				h.problem("%v: tag present though the write never succeeded", o)
			}
		}
		for k, v := range got {
			if k != "op" && written[k] == nil {
				h.problem("cluster %s has tag %s=%s that no write made", name, k, v)
			}
		}
	}
}

// verifyTaskDefs: per family the revisions are 1..N with no gap; each carries
// the op that registered it, once; an acknowledged op is found under the
// revision and ARN it was given; a failed op under none.
func (h *killHarness) verifyTaskDefs(ctx context.Context, c *ecs.Client, ops []*op, full bool) {
	h.t.Helper()
	// from is, per family, the revision after which to describe: the last
	// one described before, or less if an acknowledged write of ops got a
	// number at or below it (which verification then flags).
	from := map[string]int32{}
	for _, o := range ops {
		if o.kind != opRegisterTaskDef {
			continue
		}
		f, seen := from[o.family]
		if !seen {
			f = h.checkedRev[o.family]
		}
		if o.outcome == outOK && o.revision <= f {
			f = o.revision - 1
		}
		if full {
			f = 0
		}
		from[o.family] = f
	}
	if full {
		clear(h.revisionOf)
	}
	for fam, after := range from {
		revs := h.listRevisions(ctx, c, fam)
		for i, r := range revs {
			if r != int32(i+1) {
				h.problem("family %s: revisions %v...; want 1..%d without gaps", fam, revs[:i+1], len(revs))
				break
			}
		}
		if n := int32(len(revs)); n < h.checkedRev[fam] {
			h.problem("LOST WRITE: family %s has %d revisions; it had %d before this crash", fam, n, h.checkedRev[fam])
		}
		var todo []int32
		for _, r := range revs {
			if r > after {
				todo = append(todo, r)
			}
		}
		h.describeRevisions(ctx, c, fam, todo)
		if len(revs) > 0 {
			h.checkedRev[fam] = revs[len(revs)-1]
		}
	}
	for _, o := range ops {
		if o.kind != opRegisterTaskDef || o.outcome != outOK {
			continue
		}
		if r, ok := h.revisionOf[o.id]; !ok {
			h.lostWrite(o, "no revision of %s carries it", o.family)
		} else if r != o.revision {
			h.problem("%v: found under revision %d; want %d as acknowledged", o, r, o.revision)
		}
	}
}

func (h *killHarness) listRevisions(ctx context.Context, c *ecs.Client, fam string) []int32 {
	h.t.Helper()
	var revs []int32
	var next *string
	for {
		var out *ecs.ListTaskDefinitionsOutput
		h.read(ctx, "ListTaskDefinitions "+fam, func(ctx context.Context) (err error) {
			out, err = c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
				FamilyPrefix: aws.String(fam), Sort: types.SortOrderAsc, NextToken: next, MaxResults: aws.Int32(100),
			})
			return err
		})
		for _, arn := range out.TaskDefinitionArns {
			i := strings.LastIndexByte(arn, ':')
			n, err := strconv.ParseInt(arn[i+1:], 10, 32)
			if i < 0 || err != nil || !strings.HasSuffix(arn[:i], "task-definition/"+fam) {
				h.problem("ListTaskDefinitions(%s) returned ARN %q", fam, arn)
				continue
			}
			revs = append(revs, int32(n))
		}
		if out.NextToken == nil {
			return revs
		}
		next = out.NextToken
	}
}

// describeRevisions describes revisions of fam, a few at a time, and checks
// each against the op that wrote it.
func (h *killHarness) describeRevisions(ctx context.Context, c *ecs.Client, fam string, revs []int32) {
	h.t.Helper()
	type result struct {
		rev int32
		td  *types.TaskDefinition
		err error
	}
	results := make([]result, len(revs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, r := range revs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, readTimeout)
			defer cancel()
			out, err := c.DescribeTaskDefinition(cctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(fmt.Sprintf("%s:%d", fam, r))})
			results[i] = result{rev: r, err: err}
			if err == nil {
				results[i].td = out.TaskDefinition
			}
		})
	}
	wg.Wait()
	for _, res := range results {
		if res.err != nil {
			h.problem("DescribeTaskDefinition(%s:%d) = %v; want the revision ListTaskDefinitions listed", fam, res.rev, res.err)
			continue
		}
		h.checkRevision(fam, res.rev, res.td)
	}
}

func (h *killHarness) checkRevision(fam string, rev int32, td *types.TaskDefinition) {
	h.t.Helper()
	where := fmt.Sprintf("%s:%d", fam, rev)
	if td == nil {
		h.problem("DescribeTaskDefinition(%s) returned no task definition", where)
		return
	}
	wantARN := fmt.Sprintf("arn:aws:ecs:us-east-1:000000000000:task-definition/%s:%d", fam, rev)
	if got := aws.ToString(td.TaskDefinitionArn); got != wantARN || td.Revision != rev || aws.ToString(td.Family) != fam {
		h.problem("DescribeTaskDefinition(%s) = %s (family %s revision %d); want %s", where, got, aws.ToString(td.Family), td.Revision, wantARN)
	}
	if td.Status != types.TaskDefinitionStatusActive {
		h.problem("DescribeTaskDefinition(%s).status = %s; want ACTIVE", where, td.Status)
	}
	if len(td.ContainerDefinitions) != 1 {
		h.problem("DescribeTaskDefinition(%s) has %d containers; want 1 (garbage?)", where, len(td.ContainerDefinitions))
		return
	}
	cd := td.ContainerDefinitions[0]
	if aws.ToString(cd.Name) != "app" || aws.ToString(cd.Image) != taskImage || aws.ToInt32(cd.Memory) != 64 || len(cd.Environment) != 1 || aws.ToString(cd.Environment[0].Name) != "OP" {
		h.problem("DescribeTaskDefinition(%s) container = %+v; want the one registered (garbage?)", where, cd)
		return
	}
	id, err := strconv.Atoi(aws.ToString(cd.Environment[0].Value))
	o := h.byID[id]
	if err != nil || o == nil || o.kind != opRegisterTaskDef || o.family != fam {
		h.problem("%s carries OP=%s, which no RegisterTaskDefinition of %s sent", where, aws.ToString(cd.Environment[0].Value), fam)
		return
	}
	if prev, dup := h.revisionOf[id]; dup && prev != rev {
		h.problem("%v: applied twice, as revisions %d and %d", o, prev, rev)
	}
	h.revisionOf[id] = rev
	switch {
	case o.outcome == outFailed || o.outcome == outUnsent:
		h.problem("%v: registered as %s though the write never succeeded", o, where)
	case o.outcome == outOK && (o.revision != rev || o.arn != wantARN):
		h.problem("%v: acknowledged as %s but stored as %s", o, o.arn, wantARN)
	}
}

// checkRevisionOrder: per family, the acknowledged revisions strictly
// increase in the order they were acknowledged, over all rounds, so none was
// handed out twice.
func (h *killHarness) checkRevisionOrder() {
	h.t.Helper()
	last := map[string]*op{}
	for _, o := range h.all { // per writer in order; rounds in order
		if o.kind != opRegisterTaskDef || o.outcome != outOK {
			continue
		}
		if p := last[o.family]; p != nil && o.revision <= p.revision {
			h.problem("family %s: revision %d acknowledged after %d: %v after %v", o.family, o.revision, p.revision, o, p)
		}
		last[o.family] = o
	}
}

func (h *killHarness) logRound(round int, delay time.Duration, ops []*op, restart, verify time.Duration) {
	var n [4]int
	for _, o := range ops {
		n[o.outcome]++
	}
	h.t.Logf("round %2d: kill after %4dms: %4d writes: %4d ok, %d failed, %d unsent, %d unknown; ready %4dms after restart; verified in %dms",
		round, delay.Milliseconds(), len(ops), n[outOK], n[outFailed], n[outUnsent], n[outUnknown], restart.Milliseconds(), verify.Milliseconds())
}

func (h *killHarness) report(restarts []time.Duration) {
	var (
		perKind [3][4]int
		lost    [3]int
	)
	for _, o := range h.all {
		perKind[o.kind][o.outcome]++
		if h.lost[o.id] {
			lost[o.kind]++
		}
	}
	total := 0
	for k := range perKind {
		total += perKind[k][outOK]
		h.t.Logf("%-22s ok %5d (%d of them lost), failed %3d, unsent %3d, unknown %3d",
			opKind(k), perKind[k][outOK], lost[k], perKind[k][outFailed], perKind[k][outUnsent], perKind[k][outUnknown])
	}
	h.t.Logf("%d writes acknowledged over %d rounds, %d recorded", total, len(restarts), len(h.all))
	if len(restarts) > 0 {
		s := slices.Clone(restarts)
		slices.Sort(s)
		h.t.Logf("restart to ready: median %v, max %v, over %d restarts", s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), len(s))
	}
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
