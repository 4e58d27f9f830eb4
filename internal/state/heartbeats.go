package state

import (
	"sync"
	"time"
)

// heartbeats remembers, in memory, when each container instance's agent
// was last heard from. Agents heartbeat every few seconds: writing each one
// through raft would rewrite the instance records (and wake every watcher
// of the instances table) thousands of times a minute in a large cluster.
// The record's LastHeartbeat is written at registration and when an agent
// comes back after a silence (see Beat's caller), so watchers see that.
// A restarted server has heard from every agent when it started: agents get
// a fresh grace period then, as Nomad's servers give them on election.
type heartbeats struct {
	start time.Time
	mu    sync.RWMutex
	last  map[string]time.Time
}

// Beat records that instance key's agent was heard from at at, and returns
// when it was heard from before (by Heard's rule).
func (s *Store) Beat(i *ContainerInstance, at time.Time) (previous time.Time) {
	previous = s.Heard(i)
	s.heard.mu.Lock()
	if at.After(s.heard.last[i.ID]) {
		s.heard.last[i.ID] = at
	}
	s.heard.mu.Unlock()
	return previous
}

// Heard is when instance i's agent was last heard from: the latest of its
// last heartbeat to this server, its record's LastHeartbeat, and the
// server's start.
func (s *Store) Heard(i *ContainerInstance) time.Time {
	s.heard.mu.RLock()
	t := s.heard.last[i.ID]
	s.heard.mu.RUnlock()
	return latest(t, i.LastHeartbeat, s.heard.start)
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
