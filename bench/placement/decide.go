package main

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
)

// decisionRun is one pass of the workload through placement.Place.
type decisionRun struct {
	placed, failed int
	calls          int
	placeTime      time.Duration // inside Place only
	perClass       [nClasses]time.Duration
	perClassTasks  [nClasses]int
	mallocs, bytes uint64 // during Place (counted passes only)
}

// decide places the workload on the instances, one placement.Place call
// per request, as RunTask does: the candidates are state.PlacementCandidate
// views of the instances, and after each call the instances it placed
// tasks on get a fresh view with the new tasks (state.NewTask records), as
// the next call's snapshot would show them. Only the time inside Place is
// counted. With countAllocs, runtime.ReadMemStats brackets every call (it
// stops the world, so such a pass is not timed).
func decide(insts []*state.ContainerInstance, reqs []request, seed uint64, countAllocs bool) decisionRun {
	var run decisionRun
	cands := make([]placement.Candidate, len(insts))
	byKey := make(map[string]int, len(insts))
	tasks := make([][]*state.Task, len(insts))
	for k, inst := range insts {
		cands[k] = state.PlacementCandidate(inst, nil, true)
		byKey[inst.ID] = k
	}
	rnd := rand.New(rand.NewPCG(seed, 3))
	var before, after runtime.MemStats
	touched := make([]int, 0, 16)
	for _, r := range reqs {
		if countAllocs {
			runtime.ReadMemStats(&before)
		}
		t0 := time.Now()
		placed, failed := placement.Place(cands, r.req, rnd)
		d := time.Since(t0)
		if countAllocs {
			runtime.ReadMemStats(&after)
			run.mallocs += after.Mallocs - before.Mallocs
			run.bytes += after.TotalAlloc - before.TotalAlloc
		}
		run.placeTime += d
		run.perClass[r.class] += d
		run.perClassTasks[r.class] += r.req.Count
		run.calls++
		run.placed += len(placed)
		run.failed += len(failed)
		touched = touched[:0]
		for _, p := range placed {
			k := byKey[p.Key]
			tasks[k] = append(tasks[k], state.NewTask(r.spec, insts[k]))
			if !slices.Contains(touched, k) {
				touched = append(touched, k)
			}
		}
		for _, k := range touched {
			cands[k] = state.PlacementCandidate(insts[k], tasks[k], true)
		}
	}
	return run
}
