package placement

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const azAttr = "ecs.availability-zone"

// cand returns an eligible, empty instance with 1024 CPU units and 2048 MiB
// in us-east-1a, as changed by mods.
func cand(key string, mods ...func(*Candidate)) Candidate {
	c := Candidate{
		Key:      key,
		ARN:      "arn:aws:ecs:us-east-1:000000000000:container-instance/test/" + key,
		Eligible: true,
		Query: &Instance{
			EC2InstanceID:  "i-" + key,
			AgentConnected: true,
			Attributes:     map[string]string{azAttr: "us-east-1a", "ecs.instance-type": "t2.small"},
		},
		CPU:    1024,
		Memory: 2048,
	}
	for _, m := range mods {
		m(&c)
	}
	return c
}

func az(z string) func(*Candidate) {
	return func(c *Candidate) { c.Query.Attributes[azAttr] = "us-east-1" + z }
}

func withAttr(k, v string) func(*Candidate) {
	return func(c *Candidate) { c.Query.Attributes[k] = v }
}

func noAttr(k string) func(*Candidate) {
	return func(c *Candidate) { delete(c.Query.Attributes, k) }
}

func used(cpu, mem int64) func(*Candidate) {
	return func(c *Candidate) { c.UsedCPU, c.UsedMemory = cpu, mem }
}

func size(cpu, mem int64) func(*Candidate) {
	return func(c *Candidate) { c.CPU, c.Memory = cpu, mem }
}

func ineligible(c *Candidate) { c.Eligible = false; c.Query.AgentConnected = false }

func tcp(ports ...int32) func(*Candidate) {
	return func(c *Candidate) {
		if c.PortsTCP == nil {
			c.PortsTCP = map[int32]bool{}
		}
		for _, p := range ports {
			c.PortsTCP[p] = true
		}
	}
}

func udp(ports ...int32) func(*Candidate) {
	return func(c *Candidate) {
		if c.PortsUDP == nil {
			c.PortsUDP = map[int32]bool{}
		}
		for _, p := range ports {
			c.PortsUDP[p] = true
		}
	}
}

// running records n active tasks of group g on the instance.
func running(g string, n int) func(*Candidate) {
	return func(c *Candidate) {
		if c.Groups == nil {
			c.Groups = map[string]int{}
		}
		c.Groups[g] += n
		c.Query.RunningTasksCount += n
		if !slices.Contains(c.Query.TaskGroups, g) {
			c.Query.TaskGroups = append(c.Query.TaskGroups, g)
		}
	}
}

func arn(key string) string { return cand(key).ARN }

func keys(ps []Placement) []string {
	out := make([]string, len(ps))
	for k, p := range ps {
		out[k] = p.Key
	}
	return out
}

// countKeys counts how many times each key occurs.
func countKeys(ks []string) map[string]int {
	m := map[string]int{}
	for _, k := range ks {
		m[k]++
	}
	return m
}

// cloneCands deep-copies candidates, to check that Place leaves them alone.
func cloneCands(cs []Candidate) []Candidate {
	if cs == nil {
		return nil
	}
	out := make([]Candidate, len(cs))
	for k, c := range cs {
		c.PortsTCP = maps.Clone(c.PortsTCP)
		c.PortsUDP = maps.Clone(c.PortsUDP)
		c.Groups = maps.Clone(c.Groups)
		if c.Query != nil {
			q := *c.Query
			q.Attributes = maps.Clone(q.Attributes)
			q.TaskGroups = slices.Clone(q.TaskGroups)
			c.Query = &q
		}
		out[k] = c
	}
	return out
}

func describeReq(r Request) string {
	return fmt.Sprintf("{cpu=%d mem=%d tcp=%v udp=%v group=%q count=%d constraints=%v strategies=%v}",
		r.CPU, r.Memory, r.PortsTCP, r.PortsUDP, r.Group, r.Count, r.Constraints, r.Strategies)
}

type placeCase struct {
	name  string
	cands []Candidate
	req   Request
	want  []string  // placement keys, in order
	fails []Failure // nil: none
}

func runPlaceCases(t *testing.T, cases []placeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := cloneCands(tc.cands)
			got, fails := Place(tc.cands, tc.req, nil)
			if !slices.Equal(keys(got), tc.want) {
				t.Errorf("Place(%s) = %q; want %q", describeReq(tc.req), keys(got), tc.want)
			}
			if !slices.Equal(fails, tc.fails) {
				t.Errorf("Place(%s) failures = %v; want %v", describeReq(tc.req), fails, tc.fails)
			}
			if !reflect.DeepEqual(tc.cands, before) {
				t.Errorf("Place(%s) modified its candidates", describeReq(tc.req))
			}
		})
	}
}

func TestPlaceBinpack(t *testing.T) {
	cpu := []Strategy{{Type: "binpack", Field: "cpu"}}
	mem := []Strategy{{Type: "binpack", Field: "MEMORY"}}
	runPlaceCases(t, []placeCase{
		{
			name:  "cpu picks the fullest",
			cands: []Candidate{cand("a", used(512, 0)), cand("b"), cand("c", used(768, 0))},
			req:   Request{CPU: 128, Memory: 64, Group: "family:app", Count: 1, Strategies: cpu},
			want:  []string{"c"},
		},
		{
			name:  "cpu fills one instance, then the next fullest",
			cands: []Candidate{cand("a", used(512, 0)), cand("b"), cand("c", used(768, 0))},
			req:   Request{CPU: 128, Memory: 64, Group: "family:app", Count: 4, Strategies: cpu},
			want:  []string{"c", "c", "a", "a"},
		},
		{
			name:  "cpu ignores memory",
			cands: []Candidate{cand("a", used(0, 2000)), cand("b", used(100, 0))},
			req:   Request{CPU: 10, Memory: 10, Count: 1, Strategies: cpu},
			want:  []string{"b"},
		},
		{
			name:  "memory picks the fullest, field in any case",
			cands: []Candidate{cand("a", used(1000, 0)), cand("b", used(0, 1024)), cand("c", used(0, 512))},
			req:   Request{CPU: 10, Memory: 512, Count: 2, Strategies: mem},
			want:  []string{"b", "b"},
		},
		{
			name:  "memory compares what remains, not what is used",
			cands: []Candidate{cand("a", size(1024, 8192), used(0, 4096)), cand("b", size(1024, 2048), used(0, 1024))},
			req:   Request{Memory: 256, Count: 1, Strategies: mem},
			want:  []string{"b"},
		},
		{
			name:  "an instance without room is not the fullest",
			cands: []Candidate{cand("a", used(1000, 0)), cand("b", used(500, 0))},
			req:   Request{CPU: 100, Count: 1, Strategies: cpu},
			want:  []string{"b"},
		},
	})
}

func TestPlaceSpread(t *testing.T) {
	byInstance := []Strategy{{Type: "spread", Field: "instanceId"}}
	byHost := []Strategy{{Type: "spread", Field: "host"}}
	byAZ := []Strategy{{Type: "spread", Field: "attribute:" + azAttr}}
	web := "service:web"
	runPlaceCases(t, []placeCase{
		{
			name: "default: AZs, then instances, with uneven instance counts",
			cands: []Candidate{
				cand("a1", az("a")),
				cand("b1", az("b")), cand("b2", az("b")),
				cand("c1", az("c")), cand("c2", az("c")), cand("c3", az("c")),
			},
			req:  Request{CPU: 10, Memory: 10, Group: web, Count: 6},
			want: []string{"a1", "b1", "c1", "b2", "c2", "a1"},
		},
		{
			name: "default: tasks already running count",
			cands: []Candidate{
				cand("a1", az("a"), running(web, 2)),
				cand("b1", az("b"), running(web, 1)), cand("b2", az("b")),
				cand("c1", az("c")),
			},
			req:  Request{CPU: 10, Memory: 10, Group: web, Count: 3},
			want: []string{"c1", "b2", "c1"},
		},
		{
			name: "AZ: an AZ counts the tasks of instances that cannot take this one",
			cands: []Candidate{
				cand("a1", az("a"), running(web, 3), used(1024, 0)), // full
				cand("a2", az("a")),
				cand("b1", az("b"), running(web, 1)),
			},
			req:  Request{CPU: 10, Memory: 10, Group: web, Count: 2, Strategies: byAZ},
			want: []string{"b1", "b1"},
		},
		{
			name: "AZ: ineligible instances do not count",
			cands: []Candidate{
				cand("a1", az("a"), running(web, 3), ineligible),
				cand("a2", az("a")),
				cand("b1", az("b"), running(web, 1)),
			},
			req:  Request{Group: web, Count: 1, Strategies: byAZ},
			want: []string{"a2"},
		},
		{
			name: "AZ: instances without the attribute are a value of their own",
			cands: []Candidate{
				cand("a1", az("a"), running(web, 1)),
				cand("x1", noAttr(azAttr)),
				cand("x2", noAttr(azAttr)),
			},
			req:  Request{Group: web, Count: 3, Strategies: byAZ},
			want: []string{"x1", "a1", "x1"},
		},
		{
			name:  "AZ: only the request's group counts",
			cands: []Candidate{cand("a1", az("a"), running("service:other", 5)), cand("b1", az("b"), running(web, 1))},
			req:   Request{Group: web, Count: 1, Strategies: byAZ},
			want:  []string{"a1"},
		},
		{
			name: "instanceId: fewest tasks of the group",
			cands: []Candidate{
				cand("a", running(web, 2)), cand("b", running("service:other", 4)), cand("c", running(web, 1)),
			},
			req:  Request{Group: web, Count: 3, Strategies: byInstance},
			want: []string{"b", "b", "c"},
		},
		{
			name:  "host is instanceId",
			cands: []Candidate{cand("a", running(web, 2)), cand("b", running(web, 1))},
			req:   Request{Group: web, Count: 2, Strategies: byHost},
			want:  []string{"b", "a"},
		},
	})
}

func TestPlaceSpreadBalances(t *testing.T) {
	cands := []Candidate{
		cand("a1", az("a")),
		cand("b1", az("b")), cand("b2", az("b")),
		cand("c1", az("c")), cand("c2", az("c")), cand("c3", az("c")),
	}
	perAZ := func(ks []string) map[string]int {
		m := map[string]int{}
		for _, k := range ks {
			m[k[:1]]++
		}
		return m
	}
	for seed := range uint64(20) {
		req := Request{CPU: 10, Memory: 10, Group: "service:web", Count: 6}
		got, fails := Place(cands, req, rand.New(rand.NewPCG(seed, 2)))
		ks := keys(got)
		if want := map[string]int{"a": 2, "b": 2, "c": 2}; len(fails) > 0 || !maps.Equal(perAZ(ks), want) {
			t.Errorf("seed %d: Place(6 tasks) = %q, %v; want 2 tasks per AZ", seed, ks, fails)
		}
		n := countKeys(ks)
		if n["a1"] != 2 || n["b1"] != 1 || n["b2"] != 1 || n["c1"] > 1 || n["c2"] > 1 || n["c3"] > 1 {
			t.Errorf("seed %d: Place(6 tasks) = %q; want 2 on a1, 1 on each b, at most 1 on each c", seed, ks)
		}
	}
}

func TestPlaceRandom(t *testing.T) {
	var cands []Candidate
	for _, k := range []string{"d", "b", "a", "c"} {
		cands = append(cands, cand(k, size(100_000, 100_000)))
	}
	req := Request{CPU: 1, Memory: 1, Group: "family:app", Count: 20, Strategies: []Strategy{{Type: "random"}}}

	got, _ := Place(cands, req, rand.New(rand.NewPCG(1, 2)))
	if n := len(countKeys(keys(got))); len(got) != 20 || n < 2 {
		t.Errorf("Place(random, 20 tasks, seeded) = %q; want 20 tasks over more than one instance", keys(got))
	}
	again, _ := Place(cands, req, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(keys(again), keys(got)) {
		t.Errorf("Place(random, seeded) = %q, then %q; want the same with the same seed", keys(got), keys(again))
	}
	// The candidates' order does not change the outcome, only the seed does.
	reversed := slices.Clone(cands)
	slices.Reverse(reversed)
	if rev, _ := Place(reversed, req, rand.New(rand.NewPCG(1, 2))); !slices.Equal(keys(rev), keys(got)) {
		t.Errorf("Place(random, candidates reversed) = %q; want %q", keys(rev), keys(got))
	}

	det, _ := Place(cands, req, nil)
	if n := countKeys(keys(det)); n["a"] != 20 {
		t.Errorf("Place(random, nil rnd) = %q; want all on a, the first by Key", keys(det))
	}
}

func TestPlaceChained(t *testing.T) {
	azMem := []Strategy{{Type: "spread", Field: "attribute:" + azAttr}, {Type: "binpack", Field: "memory"}}
	instCPU := []Strategy{{Type: "spread", Field: "instanceId"}, {Type: "binpack", Field: "cpu"}}
	randomFirst := []Strategy{{Type: "random"}, {Type: "binpack", Field: "cpu"}}
	web := "service:web"
	runPlaceCases(t, []placeCase{
		{
			name: "AZ then binpack memory",
			cands: []Candidate{
				cand("a1", az("a"), used(0, 1048)), // 1000 left
				cand("a2", az("a"), used(0, 1548)), // 500 left
				cand("b1", az("b")),
				cand("b2", az("b"), used(0, 1748)), // 300 left
			},
			req:  Request{Memory: 100, Group: web, Count: 4, Strategies: azMem},
			want: []string{"b2", "a2", "b2", "a2"},
		},
		{
			name: "instanceId then binpack cpu",
			cands: []Candidate{
				cand("a", used(100, 0)),
				cand("b", used(900, 0)),
				cand("c", used(500, 0), running(web, 1)),
			},
			req:  Request{CPU: 50, Group: web, Count: 3, Strategies: instCPU},
			want: []string{"b", "a", "b"},
		},
		{
			name:  "random first leaves nothing to break",
			cands: []Candidate{cand("a"), cand("b", used(1000, 0))},
			req:   Request{CPU: 1, Count: 1, Strategies: randomFirst},
			want:  []string{"a"}, // nil rnd: first by Key, though binpack would say b
		},
		{
			name:  "unknown strategies order nothing",
			cands: []Candidate{cand("b", used(1000, 0)), cand("a")},
			req:   Request{CPU: 1, Count: 1, Strategies: []Strategy{{Type: "best"}, {Type: "binpack", Field: "disk"}}},
			want:  []string{"a"},
		},
	})
}

func TestPlaceConstraints(t *testing.T) {
	web := "service:web"
	distinct := []Constraint{{Type: "distinctInstance"}}
	memberOf := func(e string) []Constraint { return []Constraint{{Type: "memberOf", Expression: e}} }
	binpack := []Strategy{{Type: "binpack", Field: "cpu"}}
	runPlaceCases(t, []placeCase{
		{
			name:  "distinctInstance: one per instance, then ATTRIBUTE",
			cands: []Candidate{cand("a"), cand("b"), cand("c", running(web, 1))},
			req:   Request{CPU: 1, Group: web, Count: 3, Constraints: distinct, Strategies: binpack},
			want:  []string{"a", "b"},
			fails: []Failure{{ARN: arn("a"), Reason: "ATTRIBUTE"}},
		},
		{
			name:  "distinctInstance: other groups do not count",
			cands: []Candidate{cand("a", running("service:other", 1))},
			req:   Request{Group: web, Count: 1, Constraints: distinct},
			want:  []string{"a"},
		},
		{
			name:  "memberOf an attribute",
			cands: []Candidate{cand("a"), cand("b", withAttr("ecs.instance-type", "g2.2xlarge")), cand("c")},
			req:   Request{Count: 2, Constraints: memberOf("attribute:ecs.instance-type =~ g2.*")},
			want:  []string{"b", "b"},
		},
		{
			name:  "memberOf ec2InstanceId in a list",
			cands: []Candidate{cand("a"), cand("b"), cand("c")},
			req:   Request{Group: web, Count: 4, Constraints: memberOf("ec2InstanceId in ['i-c', 'i-a']")},
			want:  []string{"a", "c", "a", "c"},
		},
		{
			name:  "memberOf task:group",
			cands: []Candidate{cand("a"), cand("b", running("database", 1)), cand("c")},
			req:   Request{Group: web, Count: 2, Constraints: memberOf("task:group == database")},
			want:  []string{"b", "b"},
		},
		{
			name:  "memberOf not(task:group) sees tasks placed earlier in the call",
			cands: []Candidate{cand("a"), cand("b"), cand("c", running(web, 1))},
			req:   Request{CPU: 1, Group: web, Count: 3, Constraints: memberOf("not(task:group == service:web)"), Strategies: binpack},
			want:  []string{"a", "b"},
			fails: []Failure{{ARN: arn("a"), Reason: "ATTRIBUTE"}},
		},
		{
			name: "memberOf and distinctInstance together",
			cands: []Candidate{
				cand("a", az("a")), cand("b", az("b")), cand("c", az("a")), cand("d", az("c")),
			},
			req: Request{
				Group: web, Count: 3, Strategies: binpack,
				Constraints: []Constraint{{Type: "distinctInstance"}, {Type: "memberOf", Expression: "attribute:ecs.availability-zone in [us-east-1a, us-east-1c]"}},
			},
			want:  []string{"a", "c", "d"},
			fails: nil,
		},
		{
			name:  "memberOf that does not parse admits nothing",
			cands: []Candidate{cand("a")},
			req:   Request{Count: 1, Constraints: memberOf("attribute:x ==")},
			fails: []Failure{{ARN: arn("a"), Reason: "ATTRIBUTE"}},
		},
		{
			name:  "unknown constraint admits nothing",
			cands: []Candidate{cand("a")},
			req:   Request{Count: 1, Constraints: []Constraint{{Type: "sameInstance"}}},
			fails: []Failure{{ARN: arn("a"), Reason: "ATTRIBUTE"}},
		},
		{
			name:  "memberOf on an instance with no Query",
			cands: []Candidate{{Key: "q", ARN: "q-arn", Eligible: true, CPU: 10, Memory: 10}},
			req:   Request{Group: web, Count: 3, Constraints: memberOf("not(task:group exists)")},
			want:  []string{"q"},
			fails: []Failure{{ARN: "q-arn", Reason: "ATTRIBUTE"}, {ARN: "q-arn", Reason: "ATTRIBUTE"}},
		},
	})
}

func TestPlaceFailures(t *testing.T) {
	noGPU := []Constraint{{Type: "memberOf", Expression: "attribute:gpu exists"}}
	req := Request{CPU: 256, Memory: 512, PortsTCP: []int32{80}, PortsUDP: []int32{53}, Group: "family:app", Count: 1}
	withCons := req
	withCons.Constraints = noGPU
	var (
		agent  = cand("e-agent", ineligible)
		cpu    = cand("d-cpu", used(900, 0))
		mem    = cand("c-mem", used(0, 1600))
		ports  = cand("b-ports", tcp(80))
		portsU = cand("b-udp", udp(53))
		attr   = cand("a-attr")
	)
	cases := []struct {
		name  string
		cands []Candidate
		req   Request
		want  Failure
	}{
		{"no instance", nil, req, Failure{Reason: "AGENT"}},
		{"agent", []Candidate{agent}, req, Failure{agent.ARN, "AGENT"}},
		{"cpu", []Candidate{cpu}, req, Failure{cpu.ARN, "RESOURCE:CPU"}},
		{"memory", []Candidate{mem}, req, Failure{mem.ARN, "RESOURCE:MEMORY"}},
		{"tcp port", []Candidate{ports}, req, Failure{ports.ARN, "RESOURCE:PORTS"}},
		{"udp port", []Candidate{portsU}, req, Failure{portsU.ARN, "RESOURCE:PORTS"}},
		{"attribute", []Candidate{attr}, withCons, Failure{attr.ARN, "ATTRIBUTE"}},
		{"closest is attribute", []Candidate{agent, cpu, mem, ports, attr}, withCons, Failure{attr.ARN, "ATTRIBUTE"}},
		{"closest is ports", []Candidate{agent, cpu, mem, ports}, withCons, Failure{ports.ARN, "RESOURCE:PORTS"}},
		{"closest is memory", []Candidate{cpu, agent, mem}, withCons, Failure{mem.ARN, "RESOURCE:MEMORY"}},
		{"closest is cpu", []Candidate{agent, cpu}, withCons, Failure{cpu.ARN, "RESOURCE:CPU"}},
		{"closest among equals is first by Key", []Candidate{portsU, ports}, req, Failure{ports.ARN, "RESOURCE:PORTS"}},
		{"agent before cpu", []Candidate{cand("x", ineligible, used(1024, 2048))}, req, Failure{arn("x"), "AGENT"}},
		{"cpu before memory", []Candidate{cand("x", used(1024, 2048))}, req, Failure{arn("x"), "RESOURCE:CPU"}},
		{"memory before ports", []Candidate{cand("x", used(0, 2048), tcp(80))}, req, Failure{arn("x"), "RESOURCE:MEMORY"}},
		{"ports before attribute", []Candidate{cand("x", tcp(80))}, withCons, Failure{arn("x"), "RESOURCE:PORTS"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			r.Count = 3
			got, fails := Place(tc.cands, r, nil)
			want := []Failure{tc.want, tc.want, tc.want}
			if len(got) != 0 || !slices.Equal(fails, want) {
				t.Errorf("Place(%s) = %q, %v; want no placement, %v", describeReq(r), keys(got), fails, want)
			}
		})
	}
}

func TestPlacePartial(t *testing.T) {
	cands := []Candidate{cand("a", used(512, 0)), cand("b", ineligible)}
	req := Request{CPU: 200, Memory: 10, Group: "family:app", Count: 4}
	got, fails := Place(cands, req, nil)
	want := []Failure{{arn("a"), "RESOURCE:CPU"}, {arn("a"), "RESOURCE:CPU"}}
	if !slices.Equal(keys(got), []string{"a", "a"}) || !slices.Equal(fails, want) {
		t.Errorf("Place(%s) = %q, %v; want [a a], %v", describeReq(req), keys(got), fails, want)
	}
	if got, fails := Place(cands, Request{Count: 0}, nil); got != nil || fails != nil {
		t.Errorf("Place(count 0) = %v, %v; want nothing", got, fails)
	}
}

func TestPlacePorts(t *testing.T) {
	binpack := []Strategy{{Type: "binpack", Field: "cpu"}}
	runPlaceCases(t, []placeCase{
		{
			name:  "second task needing port 80 goes elsewhere",
			cands: []Candidate{cand("a", used(500, 0)), cand("b")},
			req:   Request{CPU: 10, PortsTCP: []int32{80}, Count: 2, Strategies: binpack},
			want:  []string{"a", "b"},
		},
		{
			name:  "second task needing port 80 fails on one instance",
			cands: []Candidate{cand("a")},
			req:   Request{CPU: 10, PortsTCP: []int32{8080, 80}, Count: 2},
			want:  []string{"a"},
			fails: []Failure{{arn("a"), "RESOURCE:PORTS"}},
		},
		{
			name:  "udp ports are apart from tcp ports",
			cands: []Candidate{cand("a", tcp(53))},
			req:   Request{PortsUDP: []int32{53}, Count: 2},
			want:  []string{"a"},
			fails: []Failure{{arn("a"), "RESOURCE:PORTS"}},
		},
		{
			name:  "reserved port",
			cands: []Candidate{cand("a", tcp(22, 2375, 2376, 51678, 51679, 51680)), cand("b")},
			req:   Request{PortsTCP: []int32{22}, Count: 1, Strategies: binpack},
			want:  []string{"b"},
		},
		{
			name:  "dynamic port 0 is no port",
			cands: []Candidate{cand("a", tcp(0))},
			req:   Request{PortsTCP: []int32{0}, Count: 2},
			want:  []string{"a", "a"},
		},
	})
}

func TestPlaceLeavesCandidatesAlone(t *testing.T) {
	// TaskGroups has room to grow: an append in place would be seen here.
	tg := make([]string, 1, 8)
	tg[0] = "database"
	c := cand("a", tcp(22), udp(53))
	c.Query.TaskGroups = tg
	c.Groups = map[string]int{"database": 1}
	cands := []Candidate{c, cand("b"), {Key: "n", Eligible: true, CPU: 1024, Memory: 1024}}
	before := cloneCands(cands)
	req := Request{CPU: 10, Memory: 10, PortsTCP: []int32{80}, PortsUDP: []int32{80}, Group: "service:web", Count: 3,
		Constraints: []Constraint{{Type: "distinctInstance"}}}
	if got, fails := Place(cands, req, nil); len(got) != 3 || len(fails) != 0 {
		t.Fatalf("Place(%s) = %q, %v; want 3 placements", describeReq(req), keys(got), fails)
	}
	if !reflect.DeepEqual(cands, before) {
		t.Errorf("Place modified its candidates: %+v; want %+v", cands, before)
	}
	if tg[:2][1] != "" {
		t.Errorf("Place wrote %q past the end of the caller's TaskGroups", tg[:2][1])
	}
}

func TestFit(t *testing.T) {
	req := Request{CPU: 256, Memory: 512, PortsTCP: []int32{80}, Group: "service:web",
		Constraints: []Constraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type == t2.small"}}}
	distinct := req
	distinct.Constraints = []Constraint{{Type: "distinctInstance"}}
	cases := []struct {
		name string
		c    Candidate
		req  Request
		want string
	}{
		{"fits", cand("a"), req, ""},
		{"fits exactly", cand("a", used(768, 1536)), req, ""},
		{"agent", cand("a", ineligible), req, "AGENT"},
		{"cpu", cand("a", used(769, 0)), req, "RESOURCE:CPU"},
		{"memory", cand("a", used(0, 1537)), req, "RESOURCE:MEMORY"},
		{"ports", cand("a", tcp(80)), req, "RESOURCE:PORTS"},
		{"attribute", cand("a", withAttr("ecs.instance-type", "m5.large")), req, "ATTRIBUTE"},
		{"distinct", cand("a", running("service:web", 1)), distinct, "ATTRIBUTE"},
		{"distinct, other group", cand("a", running("service:api", 1)), distinct, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Fit(&tc.c, &tc.req); got != tc.want {
				t.Errorf("Fit(%+v, %s) = %q; want %q", tc.c, describeReq(tc.req), got, tc.want)
			}
		})
	}
}

func TestSelectStop(t *testing.T) {
	cands := []Candidate{
		cand("a1", az("a")), cand("a2", az("a")),
		cand("b1", az("b")),
		cand("c1", az("c"), used(900, 0)), cand("c2", az("c"), used(100, 0)), cand("c3", az("c"), used(500, 0)),
	}
	tasks := func(spec ...string) []TaskRef { // "key@instance"
		var ts []TaskRef
		for _, s := range spec {
			k, i, _ := strings.Cut(s, "@")
			ts = append(ts, TaskRef{Key: k, Instance: i})
		}
		return ts
	}
	byInstance := []Strategy{{Type: "spread", Field: "instanceId"}}
	binpackCPU := []Strategy{{Type: "binpack", Field: "cpu"}}
	cases := []struct {
		name       string
		tasks      []TaskRef
		n          int
		strategies []Strategy
		want       []string
	}{
		{"keeps AZ balance", tasks("t1@a1", "t2@b1", "t3@a2"), 1, nil, []string{"t1"}},
		{"keeps AZ balance with one instance per AZ", tasks("t1@b1", "t2@a1", "t3@a1"), 1, nil, []string{"t2"}},
		{"AZ, then the instance with the most", tasks("t1@a1", "t2@a2", "t3@a2", "t4@b1"), 2, nil, []string{"t2", "t1"}},
		{"balance over several stops", tasks("t1@a1", "t2@a1", "t3@a1", "t4@b1", "t5@c1"), 3, nil, []string{"t1", "t2", "t3"}},
		{"unknown instances first", tasks("t1@a1", "t2@gone", "t3@a1", "t4@b1", "t5@gone2"), 3, nil, []string{"t2", "t5", "t1"}},
		{"only unknown instances when n is small", tasks("t1@a1", "t2@gone", "t3@gone"), 1, nil, []string{"t2"}},
		{"instanceId", tasks("t1@a1", "t2@b1", "t3@b1", "t4@b1", "t5@a2"), 2, byInstance, []string{"t2", "t3"}},
		{"binpack stops from the emptiest", tasks("t1@c1", "t2@c2", "t3@c3", "t4@c2"), 3, binpackCPU, []string{"t2", "t4", "t3"}},
		{"n above the tasks", tasks("t1@a1", "t2@b1"), 5, nil, []string{"t1", "t2"}},
		{"duplicates", tasks("t1@a1", "t1@a1", "t2@gone", "t2@gone"), 5, nil, []string{"t2", "t1"}},
		{"n 0", tasks("t1@a1"), 0, nil, nil},
		{"no task", nil, 2, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := SelectStop(cands, tc.tasks, tc.n, tc.strategies, nil)
			if !slices.Equal(got, tc.want) {
				t.Errorf("SelectStop(%v, %d, %v) = %q; want %q", tc.tasks, tc.n, tc.strategies, got, tc.want)
			}
		})
	}
}

func TestSelectStopRandom(t *testing.T) {
	cands := []Candidate{cand("a"), cand("b"), cand("c")}
	var ts []TaskRef
	for k := range 30 {
		ts = append(ts, TaskRef{Key: fmt.Sprintf("t%02d", k), Instance: string(rune('a' + k%3))})
	}
	random := []Strategy{{Type: "random"}}
	rnd := rand.New(rand.NewPCG(1, 2))
	seenFirst := map[string]bool{}
	for range 10 {
		got := SelectStop(cands, ts, 10, random, rnd)
		if len(got) != 10 || len(countKeys(got)) != 10 {
			t.Fatalf("SelectStop(random, 10 of 30) = %q; want 10 distinct tasks", got)
		}
		seenFirst[got[0]] = true
	}
	if len(seenFirst) < 2 {
		t.Errorf("SelectStop(random) chose %v first every time; want it to vary", seenFirst)
	}

	// Spread keeps the balance whatever rnd draws.
	for seed := range uint64(10) {
		got := SelectStop(cands, ts, 15, nil, rand.New(rand.NewPCG(seed, 2)))
		per := map[string]int{}
		for _, k := range got {
			per[ts[slices.IndexFunc(ts, func(t TaskRef) bool { return t.Key == k })].Instance]++
		}
		if per["a"] != 5 || per["b"] != 5 || per["c"] != 5 {
			t.Errorf("seed %d: SelectStop(15 of 30, default) stops %v per instance; want 5 each", seed, per)
		}
	}
}

func TestValidateConstraints(t *testing.T) {
	many := make([]Constraint, 11)
	for k := range many {
		many[k] = Constraint{Type: "distinctInstance"}
	}
	cases := []struct {
		name   string
		cs     []Constraint
		errHas string // "" for no error
		syntax bool   // the error wraps a *SyntaxError
	}{
		{"none", nil, "", false},
		{"distinctInstance", []Constraint{{Type: "distinctInstance"}}, "", false},
		{"memberOf", []Constraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type =~ t2.*"}}, "", false},
		{"ten", many[:10], "", false},
		{"eleven", many, "too many placement constraints: 11; the limit is 10", false},
		{"unknown type", []Constraint{{Type: "sameInstance"}}, `placement constraint type "sameInstance" is invalid`, false},
		{"type is case-sensitive", []Constraint{{Type: "memberof", Expression: "a"}}, `"memberof" is invalid`, false},
		{"no type", []Constraint{{}}, `placement constraint type "" is invalid`, false},
		{"memberOf without expression", []Constraint{{Type: "memberOf"}}, "needs an expression", false},
		{"distinctInstance with expression", []Constraint{{Type: "distinctInstance", Expression: "task:group exists"}}, "takes no expression", false},
		{"bad expression", []Constraint{{Type: "memberOf", Expression: "attribute:x =="}}, "memberOf placement constraint: invalid expression at position", true},
		{"second bad", []Constraint{{Type: "distinctInstance"}, {Type: "memberOf", Expression: "foo"}}, "invalid expression", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateConstraints(tc.cs)
			checkErr(t, fmt.Sprintf("ValidateConstraints(%v)", tc.cs), err, tc.errHas)
			var se *SyntaxError
			if got := errors.As(err, &se); got != tc.syntax {
				t.Errorf("ValidateConstraints(%v) = %v, a *SyntaxError: %v; want %v", tc.cs, err, got, tc.syntax)
			}
		})
	}
}

func TestValidateStrategies(t *testing.T) {
	six := slices.Repeat([]Strategy{{Type: "random"}}, 6)
	cases := []struct {
		name   string
		ss     []Strategy
		errHas string
	}{
		{"none", nil, ""},
		{"defaults", DefaultStrategies, ""},
		{"binpack cpu", []Strategy{{Type: "binpack", Field: "cpu"}}, ""},
		{"binpack MEMORY", []Strategy{{Type: "binpack", Field: "MEMORY"}}, ""},
		{"spread host", []Strategy{{Type: "spread", Field: "host"}}, ""},
		{"spread attribute", []Strategy{{Type: "spread", Field: "attribute:stack"}}, ""},
		{"random", []Strategy{{Type: "random"}}, ""},
		{"five", six[:5], ""},
		{"six", six, "too many placement strategies: 6; the limit is 5"},
		{"unknown type", []Strategy{{Type: "pack"}}, `placement strategy type "pack" is invalid`},
		{"type is case-sensitive", []Strategy{{Type: "Random"}}, `placement strategy type "Random" is invalid`},
		{"binpack disk", []Strategy{{Type: "binpack", Field: "disk"}}, `binpack placement strategy field "disk" is invalid`},
		{"binpack without field", []Strategy{{Type: "binpack"}}, `binpack placement strategy field "" is invalid`},
		{"spread without field", []Strategy{{Type: "spread"}}, "needs a field"},
		{"spread cpu", []Strategy{{Type: "spread", Field: "cpu"}}, `spread placement strategy field "cpu" is invalid`},
		{"spread empty attribute", []Strategy{{Type: "spread", Field: "attribute:"}}, "the attribute name is empty"},
		{"spread bad attribute", []Strategy{{Type: "spread", Field: "attribute:a b"}}, "an attribute name may hold only"},
		{"spread long attribute", []Strategy{{Type: "spread", Field: "attribute:" + strings.Repeat("x", 129)}}, "129 characters long"},
		{"random with field", []Strategy{{Type: "random", Field: "cpu"}}, "takes no field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, fmt.Sprintf("ValidateStrategies(%v)", tc.ss), ValidateStrategies(tc.ss), tc.errHas)
		})
	}
}

func checkErr(t *testing.T, call string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s = %v; want nil", call, err)
	case want != "" && err == nil:
		t.Errorf("%s = nil; want an error containing %q", call, want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s = %q; want an error containing %q", call, err, want)
	}
}

// TestPlaceProperties places random requests on random clusters and checks
// that Place never over-commits an instance, respects distinctInstance and
// memberOf, accounts for every task, and fails only when no instance fits,
// naming the closest.
func TestPlaceProperties(t *testing.T) {
	closeness := map[string]int{"AGENT": 1, "RESOURCE:CPU": 2, "RESOURCE:MEMORY": 3, "RESOURCE:PORTS": 4, "ATTRIBUTE": 5}
	r := rand.New(rand.NewPCG(7, 11))
	allStrategies := []Strategy{
		{Type: "binpack", Field: "cpu"}, {Type: "binpack", Field: "memory"}, {Type: "random"},
		{Type: "spread", Field: "instanceId"}, {Type: "spread", Field: "attribute:" + azAttr},
	}
	groupsOf := []string{"service:web", "service:api"}
	for iter := range 2000 {
		var cands []Candidate
		for k := range r.IntN(6) {
			c := cand(fmt.Sprintf("i%d", k), az(string(rune('a'+r.IntN(3)))), size(int64(r.IntN(2048)), int64(r.IntN(4096))))
			c.UsedCPU, c.UsedMemory = r.Int64N(c.CPU+1), r.Int64N(c.Memory+1)
			c.Eligible = r.IntN(6) > 0
			for range r.IntN(3) {
				tcp(int32(80 + r.IntN(3)))(&c)
			}
			for range r.IntN(3) {
				running(groupsOf[r.IntN(2)], 1)(&c)
			}
			if r.IntN(2) == 0 {
				withAttr("stack", "prod")(&c)
			}
			cands = append(cands, c)
		}
		req := Request{
			CPU: r.Int64N(512), Memory: r.Int64N(1024), Group: groupsOf[r.IntN(2)], Count: 1 + r.IntN(8),
		}
		if r.IntN(2) == 0 {
			req.PortsTCP = []int32{int32(80 + r.IntN(3))}
		}
		if r.IntN(2) == 0 {
			req.Constraints = append(req.Constraints, Constraint{Type: "distinctInstance"})
		}
		if r.IntN(3) == 0 {
			req.Constraints = append(req.Constraints, Constraint{Type: "memberOf", Expression: "attribute:stack == prod"})
		}
		for range r.IntN(3) {
			req.Strategies = append(req.Strategies, allStrategies[r.IntN(len(allStrategies))])
		}
		var rnd *rand.Rand
		if r.IntN(2) == 0 {
			rnd = rand.New(rand.NewPCG(uint64(iter), 1))
		}

		before := cloneCands(cands)
		placed, fails := Place(cands, req, rnd)
		desc := fmt.Sprintf("iteration %d: Place(%d instances, %s)", iter, len(cands), describeReq(req))
		if !reflect.DeepEqual(cands, before) {
			t.Fatalf("%s modified its candidates", desc)
		}
		if len(placed)+len(fails) != req.Count {
			t.Fatalf("%s = %d placements, %d failures; want %d in all", desc, len(placed), len(fails), req.Count)
		}

		// Replay the placements on a copy, checking each, then check that
		// whatever failed fits nowhere in the end.
		state := cloneCands(cands)
		byKey := map[string]*Candidate{}
		for k := range state {
			byKey[state[k].Key] = &state[k]
		}
		for _, p := range placed {
			c := byKey[p.Key]
			if c == nil {
				t.Fatalf("%s placed a task on unknown instance %q", desc, p.Key)
			}
			if why := Fit(c, &req); why != "" {
				t.Fatalf("%s placed a task on %s, which does not fit: %s", desc, p.Key, why)
			}
			c.UsedCPU += req.CPU
			c.UsedMemory += req.Memory
			for _, port := range req.PortsTCP {
				tcp(port)(c)
			}
			running(req.Group, 1)(c)
			if c.UsedCPU > c.CPU || c.UsedMemory > c.Memory {
				t.Fatalf("%s over-commits %s: cpu %d/%d, memory %d/%d", desc, p.Key, c.UsedCPU, c.CPU, c.UsedMemory, c.Memory)
			}
		}
		if req.Constraints != nil && req.Constraints[0].Type == "distinctInstance" {
			for k, n := range countKeys(keys(placed)) {
				if n > 1 || before[slices.IndexFunc(before, func(c Candidate) bool { return c.Key == k })].Groups[req.Group] > 0 {
					t.Fatalf("%s = %q: more than one task of %s on %s", desc, keys(placed), req.Group, k)
				}
			}
		}
		if len(fails) == 0 {
			continue
		}
		best := Failure{Reason: "AGENT"}
		slices.SortFunc(state, func(a, b Candidate) int { return strings.Compare(a.Key, b.Key) })
		for k := range state {
			why := Fit(&state[k], &req)
			if why == "" {
				t.Fatalf("%s failed %d tasks, but %s still fits one", desc, len(fails), state[k].Key)
			}
			if best.ARN == "" || closeness[why] > closeness[best.Reason] {
				best = Failure{ARN: state[k].ARN, Reason: why}
			}
		}
		for _, f := range fails {
			if f != best {
				t.Fatalf("%s failures = %v; want each %v", desc, fails, best)
			}
		}
	}
}

// FuzzValidate checks that validation never panics, and that what it
// accepts Place takes without a constraint that admits nothing by mistake.
func FuzzValidate(f *testing.F) {
	f.Add("memberOf", "attribute:ecs.instance-type =~ t2.*", "spread", "attribute:ecs.availability-zone")
	f.Add("distinctInstance", "", "binpack", "MEMORY")
	f.Add("memberOf", "not(task:group == web)", "random", "")
	f.Add("memberOf", "attribute:x ==", "spread", "host")
	f.Fuzz(func(t *testing.T, ctype, expr, stype, field string) {
		cs := []Constraint{{Type: ctype, Expression: expr}}
		ss := []Strategy{{Type: stype, Field: field}}
		cerr := ValidateConstraints(cs)
		serr := ValidateStrategies(ss)
		if cerr == nil && compileConstraints(cs)[0] == (constraint{}) {
			t.Fatalf("ValidateConstraints(%v) = nil but Place would admit no instance", cs)
		}
		if serr == nil && compileStrategy(ss[0]).kind == none {
			t.Fatalf("ValidateStrategies(%v) = nil but Place would ignore it", ss)
		}
		Place([]Candidate{cand("a")}, Request{Count: 2, Constraints: cs, Strategies: ss}, nil)
	})
}
