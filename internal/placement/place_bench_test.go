package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchCluster is a cluster as bench/placement builds it (performance.md
// §3 a): n instances of 4,096 CPU units and 8 GiB as the agent registers
// them (reserved ports, 18 attributes, one of 3 zones, one of 5 instance
// types, a rack), listed in registration order, which is not Key order.
type benchCluster struct {
	cands []Candidate
	byKey map[string]int
}

var (
	benchZones    = []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	benchTypes    = []string{"m5.large", "m5.xlarge", "c5.xlarge", "r5.large", "t3.xlarge"}
	benchRacks    = []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"}
	benchCapables = []string{
		"com.amazonaws.ecs.capability.docker-remote-api.1.17",
		"com.amazonaws.ecs.capability.docker-remote-api.1.18",
		"com.amazonaws.ecs.capability.docker-remote-api.1.19",
		"com.amazonaws.ecs.capability.docker-remote-api.1.21",
		"com.amazonaws.ecs.capability.docker-remote-api.1.24",
		"com.amazonaws.ecs.capability.docker-remote-api.1.25",
		"com.amazonaws.ecs.capability.docker-remote-api.1.28",
		"com.amazonaws.ecs.capability.docker-remote-api.1.29",
		"com.amazonaws.ecs.capability.logging-driver.json-file",
		"com.amazonaws.ecs.capability.logging-driver.none",
		"ecs.capability.container-health-check",
		"ecs.capability.container-ordering",
	}
)

func newBenchCluster(n int, seed uint64) *benchCluster {
	rnd := rand.New(rand.NewPCG(seed, 1))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	bc := &benchCluster{cands: make([]Candidate, n), byKey: make(map[string]int, n)}
	for k := range bc.cands {
		id := fmt.Sprintf("%032x", rnd.Uint64())
		attrs := map[string]string{
			"ecs.os-type":           "linux",
			"ecs.os-family":         "LINUX",
			"ecs.cpu-architecture":  "x86_64",
			"ecs.availability-zone": benchZones[rnd.IntN(len(benchZones))],
			"ecs.instance-type":     benchTypes[rnd.IntN(len(benchTypes))],
			"rack":                  benchRacks[rnd.IntN(len(benchRacks))],
		}
		for _, c := range benchCapables {
			attrs[c] = ""
		}
		c := Candidate{
			Key:      "000000000000\x00us-east-1\x00bench\x00" + id, // as state.Key builds it
			ARN:      "arn:aws:ecs:us-east-1:000000000000:container-instance/bench/" + id,
			Eligible: true,
			Query: &Instance{
				EC2InstanceID: fmt.Sprintf("i-%017x", rnd.Uint64()>>4), AgentConnected: true, AgentVersion: "0.1.0",
				RegisteredAt: now, Attributes: attrs,
			},
			CPU: 4096, Memory: 8192,
			PortsTCP: map[int32]bool{22: true, 2375: true, 2376: true, 51678: true, 51679: true},
			PortsUDP: map[int32]bool{},
			Groups:   map[string]int{},
		}
		bc.cands[k] = c
		bc.byKey[c.Key] = k
	}
	return bc
}

// record puts one task of req on the instance with key, as the next
// snapshot would show it. Place keeps no reference to the candidates'
// maps, so they are updated in place.
func (bc *benchCluster) record(key string, req *Request) {
	c := &bc.cands[bc.byKey[key]]
	c.UsedCPU += req.CPU
	c.UsedMemory += req.Memory
	if c.Groups[req.Group] == 0 {
		c.Query.TaskGroups = append(c.Query.TaskGroups, req.Group)
	}
	c.Groups[req.Group]++
}

// benchWorkload is bench/placement's mix: m tasks in groups of 100 (128–384
// CPU units, 256–768 MiB, a dynamic port), each group of one class (5 in 10
// spread(zone)+spread(instanceId), 3 binpack(memory), 1 random, 1
// memberOf(m5.*)+distinctInstance), cut into calls of 10, shuffled.
func benchWorkload(m int, seed uint64) []Request {
	const groupSize, batch = 100, 10
	rnd := rand.New(rand.NewPCG(seed, 2))
	var out []Request
	for g := 0; g*groupSize < m; g++ {
		base := Request{CPU: int64(128 * (1 + g%3)), Memory: int64(256 * (1 + (g/3)%3)), Group: fmt.Sprintf("family:app-%04d", g)}
		switch c := g % 10; {
		case c < 5:
			base.Strategies = DefaultStrategies
		case c < 8:
			base.Strategies = []Strategy{{Type: Binpack, Field: "memory"}}
		case c < 9:
			base.Strategies = []Strategy{{Type: Random}}
		default:
			base.Constraints = []Constraint{
				{Type: MemberOf, Expression: "attribute:ecs.instance-type =~ m5.*"},
				{Type: DistinctInstance},
			}
			base.Strategies = DefaultStrategies
		}
		for left := min(groupSize, m-g*groupSize); left > 0; left -= batch {
			r := base
			r.Count = min(batch, left)
			out = append(out, r)
		}
	}
	rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// BenchmarkPlace is bench/placement's decision run: one op is one Place
// call of the workload (10 tasks), the candidates updated with what it
// placed; the cluster starts afresh (untimed) once the 10,000 tasks are
// placed. Candidates come in registration order, as bench/placement lists
// them, or in Key order, as a snapshot lists them.
func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		for _, sorted := range []bool{false, true} {
			order := "registration"
			if sorted {
				order = "key"
			}
			b.Run(fmt.Sprintf("instances=%d/order=%s", n, order), func(b *testing.B) {
				reqs := benchWorkload(10000, 1)
				var (
					bc    *benchCluster
					rnd   *rand.Rand
					next  = len(reqs)
					tasks int
				)
				b.ReportAllocs()
				for b.Loop() {
					if next == len(reqs) {
						b.StopTimer()
						bc, rnd, next = newBenchCluster(n, 1), rand.New(rand.NewPCG(1, 3)), 0
						if sorted {
							bc.sortByKey()
						}
						b.StartTimer()
					}
					req := &reqs[next]
					next++
					placed, _ := Place(bc.cands, *req, rnd)
					for _, p := range placed {
						bc.record(p.Key, req)
					}
					tasks += req.Count
				}
				b.ReportMetric(float64(tasks)/b.Elapsed().Seconds(), "decisions/s")
			})
		}
	}
}

func (bc *benchCluster) sortByKey() {
	slices.SortFunc(bc.cands, func(a, b Candidate) int { return strings.Compare(a.Key, b.Key) })
	for k := range bc.cands {
		bc.byKey[bc.cands[k].Key] = k
	}
}
