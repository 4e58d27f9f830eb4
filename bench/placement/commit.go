package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
)

// commitRun is the workload placed and committed through the real store.
type commitRun struct {
	calls, placed, failed, conflicts int
	wall                             time.Duration
	candTime, placeTime, applyTime   time.Duration // summed over calls (and clients)
	applies                          []time.Duration
}

// openStore opens the state store on a fresh directory under dir as the
// server does (raft with the raft-wal log, fsync on every append), with a
// cluster and the instances registered.
func openStore(dir string, insts []*state.ContainerInstance) (*state.Store, func(), error) {
	d, err := os.MkdirTemp(dir, "store-*")
	if err != nil {
		return nil, nil, err
	}
	store, err := state.Open(state.Config{DataDir: filepath.Join(d, "state")})
	if err != nil {
		os.RemoveAll(d)
		return nil, nil, err
	}
	cleanup := func() {
		_ = store.Close()
		_ = os.RemoveAll(d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.WaitLeader(ctx); err != nil {
		cleanup()
		return nil, nil, err
	}
	if _, err := state.Do[*state.Cluster](ctx, store, &state.CreateCluster{Cluster: newCluster()}); err != nil {
		cleanup()
		return nil, nil, err
	}
	// Register the instances from 32 goroutines so that raft batches them.
	work := make(chan *state.ContainerInstance)
	errs := make(chan error, 32)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for inst := range work {
				if _, err := state.Do[*state.ContainerInstance](context.Background(), store, &state.RegisterContainerInstance{Instance: inst}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for _, inst := range insts {
		work <- inst
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("register instances: %w", err)
	}
	return store, cleanup, nil
}

// commit runs the requests as RunTask does, from clients goroutines: take
// a snapshot, build the candidates from it (through a state.Candidates,
// which rebuilds those of the instances whose tasks changed), placement.Place, state.NewTask for
// each placement, and apply one state.RunTasks command, which checks each
// task against its instance's usage (the store's own accounting) and is
// durable (fsync'd) when Apply returns. A conflict (an instance filled up
// by a concurrent call) places the request again on a fresh snapshot.
func commit(store *state.Store, reqs []request, clients int, seed uint64) (commitRun, error) {
	var (
		mu    sync.Mutex
		run   commitRun
		first error
	)
	work := make(chan request)
	var cache state.Candidates // shared by the clients, as RunTask calls share the API's
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(seed, uint64(100+c)))
			var local commitRun
			for r := range work {
				if err := runTask(store, &cache, r, rnd, &local); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
			mu.Lock()
			run.calls += local.calls
			run.placed += local.placed
			run.failed += local.failed
			run.conflicts += local.conflicts
			run.candTime += local.candTime
			run.placeTime += local.placeTime
			run.applyTime += local.applyTime
			run.applies = append(run.applies, local.applies...)
			mu.Unlock()
		})
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
	run.wall = time.Since(start)
	slices.Sort(run.applies)
	return run, first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// runTask is RunTask's placement and commit (internal/ecs/tasks.go) without
// the API around it.
func runTask(store *state.Store, cache *state.Candidates, r request, rnd *rand.Rand, run *commitRun) error {
	for attempt := 0; ; attempt++ {
		t0 := time.Now()
		snap := store.Snapshot()
		insts := cache.Instances(snap, account, region, clusterName)
		cands := make([]placement.Candidate, 0, len(insts))
		for _, i := range insts {
			cands = append(cands, cache.Candidate(snap, i, true))
		}
		t1 := time.Now()
		placed, failed := placement.Place(cands, r.req, rnd)
		t2 := time.Now()
		var tasks []*state.Task
		for _, p := range placed {
			tasks = append(tasks, state.NewTask(r.spec, snap.ContainerInstance(p.Key)))
		}
		var err error
		var t3 time.Time
		if len(tasks) > 0 {
			t3 = time.Now()
			_, err = state.Do[[]*state.Task](context.Background(), store, &state.RunTasks{Tasks: tasks})
			d := time.Since(t3)
			run.applyTime += d
			run.applies = append(run.applies, d)
		}
		run.candTime += t1.Sub(t0)
		run.placeTime += t2.Sub(t1)
		run.calls++
		if errors.Is(err, errdefs.ErrConflict) && attempt < 50 {
			run.conflicts++
			continue
		}
		if err != nil {
			return err
		}
		run.placed += len(tasks)
		run.failed += len(failed)
		return nil
	}
}
