package agent

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// portAllocator hands out host ports for dynamic port mappings the way the
// ECS agent does: from the ephemeral range, scanning upward from the last port
// handed out (so a port just released, whose load-balancer target may still be
// draining, is not reused at once), test-binding each candidate.
type portAllocator struct {
	mu     sync.Mutex
	lo, hi int
	next   int
	held   map[string]bool // "tcp/1234" held by a live task of this agent
}

// newPortAllocator starts its scan at a random port of the range, so that
// agents sharing a host (or a restarted agent, next to its adopted tasks)
// seldom race each other for the same port between test-bind and bind.
func newPortAllocator(lo, hi int) *portAllocator {
	return &portAllocator{lo: lo, hi: hi, next: lo + rand.IntN(hi-lo+1), held: map[string]bool{}}
}

// ephemeralRange reads the host's ephemeral port range, falling back to the
// ECS default 49153–65535.
func ephemeralRange() (int, int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && lo > 0 && hi > lo {
				return lo, hi
			}
		}
	}
	return 49153, 65535
}

// allocate returns a free host port for proto ("tcp" or "udp").
func (p *portAllocator) allocate(proto string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.hi - p.lo + 1
	for i := 0; i < n; i++ {
		port := p.next
		p.next++
		if p.next > p.hi {
			p.next = p.lo
		}
		key := fmt.Sprintf("%s/%d", proto, port)
		if p.held[key] || !portFree(proto, port) {
			continue
		}
		p.held[key] = true
		return port, nil
	}
	return 0, fmt.Errorf("no free %s port in %d-%d", proto, p.lo, p.hi)
}

// hold marks a port as used (for adopted tasks).
func (p *portAllocator) hold(proto string, port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held[fmt.Sprintf("%s/%d", proto, port)] = true
}

// release returns a port.
func (p *portAllocator) release(proto string, port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, fmt.Sprintf("%s/%d", proto, port))
}

func portFree(proto string, port int) bool {
	addr := net.JoinHostPort("0.0.0.0", strconv.Itoa(port))
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}
