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
// A restarted server counts agents silent from its start at the earliest
// (SilentSince), so none is told lost for a silence the restart caused.
type heartbeats struct {
	start time.Time
	mu    sync.RWMutex
	last  map[string]time.Time
}

// Beat records that instance i's agent was heard from at at.
func (s *Store) Beat(i *ContainerInstance, at time.Time) {
	s.heard.mu.Lock()
	if at.After(s.heard.last[i.ID]) {
		s.heard.last[i.ID] = at
	}
	s.heard.mu.Unlock()
}

// Heard is when instance i's agent was last heard from: the later of its
// last heartbeat to this server and its record's LastHeartbeat. It is what
// makes an agent connected.
func (s *Store) Heard(i *ContainerInstance) time.Time {
	s.heard.mu.RLock()
	t := s.heard.last[i.ID]
	s.heard.mu.RUnlock()
	return latest(t, i.LastHeartbeat)
}

// SilentSince is when instance i's agent counts as silent from, for telling
// it lost: Heard, but no earlier than the server's start, so that a restart
// (which forgets the heartbeats kept in memory) gives every agent the full
// lost-after time to be heard again, without calling a dead one connected.
func (s *Store) SilentSince(i *ContainerInstance) time.Time {
	return latest(s.Heard(i), s.heard.start)
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
