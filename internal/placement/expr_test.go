package placement

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// inst returns a connected t2.small in us-east-1a running three tasks, as
// changed by mods.
func inst(mods ...func(*Instance)) *Instance {
	i := &Instance{
		EC2InstanceID:     "i-0abc",
		AgentConnected:    true,
		AgentVersion:      "1.14.5",
		RegisteredAt:      time.Date(2018, 2, 13, 12, 30, 45, 500_000_000, time.UTC),
		RunningTasksCount: 3,
		Attributes: map[string]string{
			"ecs.instance-type":     "t2.small",
			"ecs.availability-zone": "us-east-1a",
			"stack":                 "prod",
			"gpu":                   "", // an attribute without a value
			"slots":                 "10",
		},
		TaskGroups: []string{"service:web", "family:batch"},
	}
	for _, m := range mods {
		m(i)
	}
	return i
}

func ec2ID(id string) func(*Instance)       { return func(i *Instance) { i.EC2InstanceID = id } }
func connected(b bool) func(*Instance)      { return func(i *Instance) { i.AgentConnected = b } }
func agentVersion(v string) func(*Instance) { return func(i *Instance) { i.AgentVersion = v } }
func tasks(n int) func(*Instance)           { return func(i *Instance) { i.RunningTasksCount = n } }
func groups(g ...string) func(*Instance)    { return func(i *Instance) { i.TaskGroups = g } }

func registered(s string) func(*Instance) {
	return func(i *Instance) {
		if s == "" {
			i.RegisteredAt = time.Time{}
			return
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		i.RegisteredAt = t
	}
}

// attrs sets attributes from name, value pairs; an empty value deletes.
func attrs(kv ...string) func(*Instance) {
	return func(i *Instance) {
		for k := 0; k+1 < len(kv); k += 2 {
			if kv[k+1] == "" {
				delete(i.Attributes, kv[k])
			} else {
				i.Attributes[kv[k]] = kv[k+1]
			}
		}
	}
}

// describe prints an instance briefly for failure messages.
func describe(i *Instance) string {
	keys := slices.Sorted(maps.Keys(i.Attributes))
	var a []string
	for _, k := range keys {
		a = append(a, k+"="+i.Attributes[k])
	}
	return fmt.Sprintf("{ec2=%q connected=%v version=%q registered=%s tasks=%d groups=%q attrs=[%s]}",
		i.EC2InstanceID, i.AgentConnected, i.AgentVersion, i.RegisteredAt.Format(time.RFC3339Nano),
		i.RunningTasksCount, i.TaskGroups, strings.Join(a, " "))
}

func mustParse(t *testing.T, s string) *Expr {
	t.Helper()
	e, err := ParseExpr(s)
	if err != nil {
		t.Fatalf("ParseExpr(%q) = %v; want no error", s, err)
	}
	return e
}

// docExample is an example of the cluster query language page, with
// instances it selects and instances it does not.
type docExample struct {
	expr    string
	yes, no []*Instance
}

// docExamples are every example of "Create expressions to define container
// instances for Amazon ECS tasks" (cluster-query-language), in its order.
var docExamples = []docExample{
	{ // String equality
		expr: "attribute:ecs.instance-type == t2.small",
		yes:  []*Instance{inst()},
		no: []*Instance{
			inst(attrs("ecs.instance-type", "t2.medium")),
			inst(attrs("ecs.instance-type", "T2.small")),
			inst(attrs("ecs.instance-type", "")),
		},
	},
	{ // Argument list
		expr: "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		yes: []*Instance{
			inst(),
			inst(attrs("ecs.availability-zone", "us-east-1b")),
		},
		no: []*Instance{
			inst(attrs("ecs.availability-zone", "us-east-1c")),
			inst(attrs("ecs.availability-zone", "")),
		},
	},
	{ // Compound expression
		expr: "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
		yes: []*Instance{
			inst(attrs("ecs.instance-type", "g2.2xlarge")),
			inst(attrs("ecs.instance-type", "g2.8xlarge", "ecs.availability-zone", "us-east-1b")),
		},
		no: []*Instance{
			inst(), // t2.small
			inst(attrs("ecs.instance-type", "g2.2xlarge", "ecs.availability-zone", "us-east-1d")),
			inst(attrs("ecs.instance-type", "xg2.2xlarge")),                             // the pattern must match the whole value
			inst(attrs("ecs.instance-type", "g2.2xlarge", "ecs.availability-zone", "")), // != needs the attribute
		},
	},
	{ // Task affinity
		expr: "task:group == service:production",
		yes: []*Instance{
			inst(groups("service:production")),
			inst(groups("family:batch", "service:production")),
		},
		no: []*Instance{
			inst(), // service:web, family:batch
			inst(groups()),
		},
	},
	{ // Task anti-affinity
		expr: "not(task:group == database)",
		yes: []*Instance{
			inst(),
			inst(groups()),
		},
		no: []*Instance{
			inst(groups("database")),
			inst(groups("web", "database")),
		},
	},
	{ // Running task count
		expr: "runningTasksCount == 1",
		yes:  []*Instance{inst(tasks(1))},
		no:   []*Instance{inst(tasks(0)), inst(tasks(2))},
	},
	{ // Amazon ECS container agent version
		expr: "agentVersion < 1.14.5",
		yes: []*Instance{
			inst(agentVersion("1.14.4")),
			inst(agentVersion("1.2.0")), // numerically, not as text
			inst(agentVersion("0.99")),
		},
		no: []*Instance{
			inst(), // 1.14.5
			inst(agentVersion("1.14.5.0")),
			inst(agentVersion("1.100.0")),
			inst(agentVersion("2.0.0")),
			inst(agentVersion("")),
		},
	},
	{ // Instance registration time
		expr: "registeredAt < 2018-02-13",
		yes: []*Instance{
			inst(registered("2018-02-12T23:59:59Z")),
			inst(registered("2017-06-01T00:00:00Z")),
			inst(registered("2018-02-13T00:30:00+01:00")),
		},
		no: []*Instance{
			inst(registered("2018-02-13T00:00:00Z")),
			inst(), // 2018-02-13T12:30:45.5Z
			inst(registered("")),
		},
	},
	{ // Amazon EC2 instance ID
		expr: "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
		yes: []*Instance{
			inst(ec2ID("i-abcd1234")),
			inst(ec2ID("i-wxyx7890")),
		},
		no: []*Instance{
			inst(), // i-0abc
			inst(ec2ID("i-abcd12345")),
			inst(ec2ID("")),
		},
	},
}

// placementExamples come from "Amazon ECS task placement constraints"
// (task-placement-constraints) and from containers-roadmap#486, which says
// that "attribute:retiring != true" selects only instances that have the
// attribute.
var placementExamples = []docExample{
	{
		expr: "attribute:ecs.instance-type == g2.2xlarge",
		yes:  []*Instance{inst(attrs("ecs.instance-type", "g2.2xlarge"))},
		no:   []*Instance{inst()},
	},
	{
		expr: "attribute:stack == prod",
		yes:  []*Instance{inst()},
		no:   []*Instance{inst(attrs("stack", "dev")), inst(attrs("stack", ""))},
	},
	{
		expr: "attribute:stack != prod",
		yes:  []*Instance{inst(attrs("stack", "dev"))},
		no:   []*Instance{inst(), inst(attrs("stack", ""))},
	},
	{
		expr: "attribute:ecs.instance-type in [t2.small, t2.medium]",
		yes:  []*Instance{inst(), inst(attrs("ecs.instance-type", "t2.medium"))},
		no:   []*Instance{inst(attrs("ecs.instance-type", "t2.large"))},
	},
	{
		expr: "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a",
		yes:  []*Instance{inst(), inst(attrs("ecs.instance-type", "t2.micro"))},
		no: []*Instance{
			inst(attrs("ecs.availability-zone", "us-east-1b")),
			inst(attrs("ecs.instance-type", "m5.large")),
		},
	},
	{
		expr: "attribute:ecs.instance-type =~ t2.*",
		yes:  []*Instance{inst()},
		no:   []*Instance{inst(attrs("ecs.instance-type", "at2.small")), inst(attrs("ecs.instance-type", ""))},
	},
	{
		expr: "task:group == databases",
		yes:  []*Instance{inst(groups("databases"))},
		no:   []*Instance{inst(), inst(groups())},
	},
	{
		expr: "attribute:retiring != true",
		yes:  []*Instance{inst(attrs("retiring", "false"))},
		no:   []*Instance{inst(), inst(attrs("retiring", "true"))},
	},
}

func TestDocExamples(t *testing.T) {
	for _, set := range [][]docExample{docExamples, placementExamples} {
		for _, ex := range set {
			t.Run(ex.expr, func(t *testing.T) {
				e := mustParse(t, ex.expr)
				for _, i := range ex.yes {
					if !e.Match(i) {
						t.Errorf("ParseExpr(%q).Match(%s) = false; want true", ex.expr, describe(i))
					}
				}
				for _, i := range ex.no {
					if e.Match(i) {
						t.Errorf("ParseExpr(%q).Match(%s) = true; want false", ex.expr, describe(i))
					}
				}
			})
		}
	}
}

// TestDocExamplesCanonical checks that the page's examples are already in
// canonical form but for quotes the parser does not need.
func TestDocExamplesCanonical(t *testing.T) {
	for _, ex := range docExamples {
		want := ex.expr
		if strings.HasPrefix(want, "ec2InstanceId") {
			want = "ec2InstanceId in [i-abcd1234, i-wxyx7890]"
		}
		if got := mustParse(t, ex.expr).String(); got != want {
			t.Errorf("ParseExpr(%q).String() = %q; want %q", ex.expr, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	base := inst()
	disconnected := inst(connected(false))
	noGroups := inst(groups())
	tests := []struct {
		expr string
		i    *Instance
		want bool
	}{
		// agentConnected
		{"agentConnected == true", base, true},
		{"agentConnected == true", disconnected, false},
		{"agentConnected equals false", disconnected, true},
		{"agentConnected == TRUE", base, true},
		{"agentConnected != true", disconnected, true},
		{"agentConnected not_equals true", base, false},
		{"agentConnected in [false]", base, false},
		{"agentConnected in [false, true]", base, true},
		{"agentConnected !in [false]", base, true},
		{"agentConnected not_in [true]", base, false},
		{"agentConnected =~ t.*", base, true},
		{"agentConnected matches t.*", disconnected, false},
		{"agentConnected !~ t.*", disconnected, true},
		{"agentConnected not_matches f.*", disconnected, false},

		// agentVersion: numeric per component, missing components are 0
		{"agentVersion == 1.14.5", base, true},
		{"agentVersion equals 1.14.5.0", base, true},
		{"agentVersion == 1.14", inst(agentVersion("1.14.0")), true},
		{"agentVersion == 01.014.05", base, true},
		{"agentVersion == 1.14.5", inst(agentVersion("1.14.5-dev")), true},
		{"agentVersion != 1.14.5", base, false},
		{"agentVersion not_equals 1.14.4", base, true},
		{"agentVersion > 1.2.0", base, true},
		{"agentVersion greater_than 1.14.5", base, false},
		{"agentVersion >= 1.14.5", base, true},
		{"agentVersion greater_than_equal 1.14.6", base, false},
		{"agentVersion < 1.2.0", base, false},
		{"agentVersion less_than 1.15", base, true},
		{"agentVersion <= 1.14.4", base, false},
		{"agentVersion less_than_equal 1.14.5", base, true},
		{"agentVersion > 1.9", inst(agentVersion("1.10.0")), true},
		{"agentVersion > 1.99999999999999999999", inst(agentVersion("1.100000000000000000000")), true},
		{"agentVersion != 2", inst(agentVersion("")), false},
		{"agentVersion < 2", inst(agentVersion("unknown")), false},

		// attribute:<name>
		{"attribute:stack == prod", base, true},
		{"attribute:stack equals Prod", base, false},
		{"attribute:stack != prod", base, false},
		{"attribute:stack not_equals dev", base, true},
		{"attribute:none != x", base, false},
		{"not(attribute:none == x)", base, true},
		{"attribute:gpu exists", base, true},
		{"attribute:gpu == ''", base, true},
		{`attribute:gpu == ""`, base, true},
		{"attribute:gpu != ''", base, false},
		{"attribute:none exists", base, false},
		{"attribute:none !exists", base, true},
		{"attribute:stack not_exists", base, false},
		{"attribute:none not_exists", base, true},
		{"attribute:slots > 9", base, true}, // both numbers: numerically
		{"attribute:slots greater_than 9.5", base, true},
		{"attribute:slots >= 10.0", base, true},
		{"attribute:slots greater_than_equal +10.000", base, true},
		{"attribute:slots < -1", base, false},
		{"attribute:slots less_than 100", base, true},
		{"attribute:slots <= 9.99", base, false},
		{"attribute:slots less_than_equal 1e3", base, true}, // 1e3 is not a decimal: "10" < "1e3" as text
		{"attribute:slots == 10.0", base, false},            // equality is on text
		{"attribute:slots > -0.5", inst(attrs("slots", "-0")), true},
		{"attribute:slots < -0.5", inst(attrs("slots", "-0.75")), true},
		{"attribute:slots > -0.5", inst(attrs("slots", "-0.75")), false},
		{"attribute:stack > pr", base, true}, // text
		{"attribute:stack > 9", base, true},  // "prod" is not a number: text
		{"attribute:ecs.instance-type < t3", base, true},
		{"attribute:none < z", base, false},
		{"attribute:stack in [dev, prod]", base, true},
		{"attribute:stack in [dev]", base, false},
		{"attribute:stack !in [dev]", base, true},
		{"attribute:stack not_in [dev, prod]", base, false},
		{"attribute:none !in [dev]", base, false},
		{`attribute:ecs.instance-type =~ t2\..*`, base, true},
		{"attribute:ecs.instance-type =~ t2", base, false}, // whole value, as Java's matches
		{"attribute:ecs.instance-type matches 't2.(small|micro)'", base, true},
		{"attribute:ecs.instance-type =~ '(?i)T2.SMALL'", base, true},
		{"attribute:ecs.instance-type =~ small|t2.small", base, true},
		{"attribute:ecs.instance-type =~ 't2|small'", base, false},
		{"attribute:ecs.instance-type !~ g2.*", base, true},
		{"attribute:ecs.instance-type not_matches t2.*", base, false},
		{"attribute:none !~ x", base, false},
		{"attribute:gpu =~ '.*'", base, true},
		{`attribute:a\b/c-d_e.f == x`, inst(attrs(`a\b/c-d_e.f`, "x")), true},

		// ec2InstanceId
		{"ec2InstanceId == i-0abc", base, true},
		{"ec2InstanceId equals i-0ABC", base, false},
		{"ec2InstanceId != i-0abc", base, false},
		{"ec2InstanceId not_equals i-1", base, true},
		{"ec2InstanceId != i-1", inst(ec2ID("")), false},
		{"ec2InstanceId in [i-1, i-0abc]", base, true},
		{"ec2InstanceId !in [i-1, i-0abc]", base, false},
		{"ec2InstanceId not_in [i-1]", base, true},
		{"ec2InstanceId =~ i-.*", base, true},
		{"ec2InstanceId matches i-[0-9]+", base, false},
		{"ec2InstanceId matches i-[0-9a-f]+", base, true},
		{"ec2InstanceId in [i-0abc,i-1]", base, true},
		{"attribute:x == a,b", inst(attrs("x", "a,b")), true},
		{"ec2InstanceId !~ i-[0-9]+", base, true},
		{"ec2InstanceId not_matches i-.*", base, false},

		// registeredAt: 2018-02-13T12:30:45.5Z, compared to the second
		{"registeredAt < 2018-02-13", base, false},
		{"registeredAt > 2018-02-13", base, true},
		{"registeredAt greater_than 2018-02-14", base, false},
		{"registeredAt == 2018-02-13", base, false}, // a date is its midnight
		{"registeredAt == 2018-02-13T12:30:45Z", base, true},
		{"registeredAt equals 2018-02-13T12:30:45", base, true},
		{"registeredAt == 2018-02-13T14:30:45+02:00", base, true},
		{"registeredAt == 2018-02-13T12:30:45+00:00", base, true},
		{"registeredAt == 2018-02-13T12:30:45.5Z", base, true},
		{"registeredAt == 2018-02-13T12:30:45.25Z", base, false},
		{"registeredAt != 2018-02-13T12:30:45Z", base, false},
		{"registeredAt not_equals 2018-02-13T12:30:46Z", base, true},
		{"registeredAt >= 2018-02-13T12:30:45Z", base, true},
		{"registeredAt greater_than_equal 2018-02-13T12:30:46Z", base, false},
		{"registeredAt <= 2018-02-13T12:30:45Z", base, true},
		{"registeredAt less_than_equal 2018-02-13T12:30:44Z", base, false},
		{"registeredAt less_than 2018-02-13T12:30:46Z", base, true},
		{"registeredAt < 2100-01-01", inst(registered("")), false},

		// runningTasksCount
		{"runningTasksCount == 3", base, true},
		{"runningTasksCount equals 03", base, true},
		{"runningTasksCount != 3", base, false},
		{"runningTasksCount not_equals 2", base, true},
		{"runningTasksCount > 2", base, true},
		{"runningTasksCount greater_than 3", base, false},
		{"runningTasksCount >= 3", base, true},
		{"runningTasksCount greater_than_equal 4", base, false},
		{"runningTasksCount < 3", base, false},
		{"runningTasksCount less_than 4", base, true},
		{"runningTasksCount <= 3", base, true},
		{"runningTasksCount less_than_equal 2", base, false},
		{"runningTasksCount > -1", inst(tasks(0)), true},
		{"runningTasksCount == 0", inst(tasks(0)), true},

		// task:group: true if any group on the instance satisfies it
		{"task:group == family:batch", base, true},
		{"task:group == service:db", base, false},
		{"task:group != service:web", base, true}, // family:batch is not service:web
		{"task:group != service:web", inst(groups("service:web")), false},
		{"task:group not_equals x", noGroups, false},
		{"task:group exists", base, true},
		{"task:group exists", noGroups, false},
		{"task:group !exists", noGroups, true},
		{"task:group not_exists", base, false},
		{"task:group in [service:db, family:batch]", base, true},
		{"task:group in [service:db]", base, false},
		{"task:group !in [service:web]", base, true},
		{"task:group not_in [service:web, family:batch]", base, false},
		{"task:group =~ service:.*", base, true},
		{"task:group matches db.*", base, false},
		{"task:group !~ service:.*", base, true},
		{"task:group not_matches .*:.*", base, false},
		{"task:group > family:a", base, true},
		{"task:group < a", base, false},
		{"not(task:group =~ service:.*)", base, false},

		// combinators and precedence: not > and > or
		{"runningTasksCount == 3 or runningTasksCount == 0 and agentConnected == false", base, true},
		{"runningTasksCount == 3 || runningTasksCount == 0 && agentConnected == false", base, true},
		{"(runningTasksCount == 3 or runningTasksCount == 0) and agentConnected == false", base, false},
		{"not runningTasksCount == 0 and agentConnected == false", base, false},
		{"not (runningTasksCount == 0 and agentConnected == false)", base, true},
		{"!runningTasksCount == 0", base, true},
		{"!!runningTasksCount == 0", base, false},
		{"! (runningTasksCount == 3)", base, false},
		{"not not(runningTasksCount == 3)", base, true},
		{"runningTasksCount==3&&agentConnected==true", base, true},
		{"runningTasksCount==3&&agentConnected==false||attribute:stack==prod", base, true},
		{"agentConnected == false || (attribute:stack == prod && not task:group == service:db)", base, true},
		{"agentConnected == false || (attribute:stack == prod && not task:group == service:web)", base, false},
		{"attribute:stack == prod and attribute:gpu exists and runningTasksCount > 1", base, true},
		{"attribute:stack == dev or attribute:gpu !exists or runningTasksCount < 1", base, false},
		{"((((attribute:stack == prod))))", base, true},
		{"\tattribute:stack\n==\r\nprod ", base, true},
	}
	for _, tc := range tests {
		e := mustParse(t, tc.expr)
		if got := e.Match(tc.i); got != tc.want {
			t.Errorf("ParseExpr(%q).Match(%s) = %v; want %v", tc.expr, describe(tc.i), got, tc.want)
		}
	}
}

func TestMatchZero(t *testing.T) {
	var nilExpr *Expr
	if !nilExpr.Match(inst()) || !(&Expr{}).Match(nil) {
		t.Errorf("a nil or zero Expr does not match every instance")
	}
	if s := nilExpr.String(); s != "" {
		t.Errorf("(*Expr)(nil).String() = %q; want \"\"", s)
	}
	tests := []struct {
		expr string
		want bool
	}{
		{"attribute:x !exists", true},
		{"attribute:x exists", false},
		{"task:group !exists", true},
		{"agentConnected == false", true},
		{"runningTasksCount == 0", true},
		{"ec2InstanceId !in [i-1]", false},
		{"agentVersion < 9", false},
		{"registeredAt > 1970-01-01", false},
	}
	for _, tc := range tests {
		if got := mustParse(t, tc.expr).Match(nil); got != tc.want {
			t.Errorf("ParseExpr(%q).Match(nil) = %v; want %v", tc.expr, got, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"attribute:ecs.instance-type equals t2.small", "attribute:ecs.instance-type == t2.small"},
		{"attribute:x not_equals y", "attribute:x != y"},
		{"attribute:x greater_than 1", "attribute:x > 1"},
		{"attribute:x greater_than_equal 1", "attribute:x >= 1"},
		{"attribute:x less_than 1", "attribute:x < 1"},
		{"attribute:x less_than_equal 1", "attribute:x <= 1"},
		{"attribute:x exists", "attribute:x exists"},
		{"attribute:x not_exists", "attribute:x !exists"},
		{"attribute:x in [a,b , c]", "attribute:x in [a, b, c]"},
		{"attribute:x not_in [a]", "attribute:x !in [a]"},
		{"attribute:x matches a.*", "attribute:x =~ a.*"},
		{"attribute:x not_matches 'a.*'", "attribute:x !~ a.*"},
		{`attribute:x == "a b"`, "attribute:x == 'a b'"},
		{`attribute:x == "it's"`, `attribute:x == "it's"`},
		{`attribute:x == 'say "hi"'`, `attribute:x == 'say "hi"'`},
		{"attribute:x == ''", "attribute:x == ''"},
		{"attribute:x == and", "attribute:x == 'and'"},
		{"attribute:x == 'not'", "attribute:x == 'not'"},
		{"attribute:x == '(a)'", "attribute:x == '(a)'"},
		{"attribute:x == 'a&&b'", "attribute:x == 'a&&b'"},
		{"attribute:x == a&b", "attribute:x == a&b"},
		{"attribute:x =~ a|b", "attribute:x =~ a|b"},
		{"ec2InstanceId =~ 'i-[0-9a-f]+'", "ec2InstanceId =~ i-[0-9a-f]+"},
		{"attribute:x == a,b", "attribute:x == a,b"},
		{"attribute:x in ['a,b', '[c]', d]", "attribute:x in ['a,b', '[c]', d]"},
		{"attribute:x == 'a\tb'", "attribute:x == 'a\tb'"},
		{"attribute:x == x=y", "attribute:x == x=y"},
		{"agentConnected==TRUE", "agentConnected == TRUE"},
		{"registeredAt<2018-06-18T22:28:28+00:00", "registeredAt < 2018-06-18T22:28:28+00:00"},
		{"task:group == service:production", "task:group == service:production"},
		{"\n attribute:a exists\t&&attribute:b exists ", "attribute:a exists and attribute:b exists"},
		{"attribute:a exists || attribute:b exists", "attribute:a exists or attribute:b exists"},
		{"attribute:a exists and (attribute:b exists or attribute:c exists)", "attribute:a exists and (attribute:b exists or attribute:c exists)"},
		{"(attribute:a exists and attribute:b exists) or attribute:c exists", "attribute:a exists and attribute:b exists or attribute:c exists"},
		{"attribute:a exists and (attribute:b exists and attribute:c exists)", "attribute:a exists and attribute:b exists and attribute:c exists"},
		{"(attribute:a exists or attribute:b exists) or (attribute:c exists)", "attribute:a exists or attribute:b exists or attribute:c exists"},
		{"((attribute:a exists))", "attribute:a exists"},
		{"!attribute:a exists", "not(attribute:a exists)"},
		{"not attribute:a exists or attribute:b exists", "not(attribute:a exists) or attribute:b exists"},
		{"not (attribute:a exists or attribute:b exists)", "not(attribute:a exists or attribute:b exists)"},
		{"!!attribute:a exists", "not(not(attribute:a exists))"},
		{"!((attribute:a exists or attribute:b exists) and attribute:c exists)", "not((attribute:a exists or attribute:b exists) and attribute:c exists)"},
	}
	for _, tc := range tests {
		got := mustParse(t, tc.in).String()
		if got != tc.want {
			t.Errorf("ParseExpr(%q).String() = %q; want %q", tc.in, got, tc.want)
			continue
		}
		if again := mustParse(t, got).String(); again != got {
			t.Errorf("ParseExpr(%q).String() = %q; want %q", got, again, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	long := "attribute:" + strings.Repeat("a", 129) + " exists"
	tests := []struct {
		expr string
		pos  int
		msg  string
	}{
		{"", 1, `expected a subject (` + subjectList + `), found the end of the expression`},
		{"   ", 4, `expected a subject (` + subjectList + `), found the end of the expression`},
		{"foo == bar", 1, `expected a subject (` + subjectList + `), found "foo"`},
		{"AgentConnected == true", 1, `expected a subject (` + subjectList + `), found "AgentConnected"; subjects are case-sensitive: did you mean "agentConnected"?`},
		{"Task:Group == x", 1, `expected a subject (` + subjectList + `), found "Task:Group"; subjects are case-sensitive: did you mean "task:group"?`},
		{"task:groups == x", 1, `expected a subject (` + subjectList + `), found "task:groups"`},
		{"attribute: == x", 11, `expected an attribute name after "attribute:", found a space`},
		{"attribute:=x", 11, `expected an attribute name after "attribute:", found "=x"`},
		{long, 11, `the attribute name is 129 characters long; the limit is 128`},
		{"attribute:x", 12, `expected an operator after "attribute:x", found the end of the expression`},
		{"attribute:x = y", 13, `expected an operator after "attribute:x", found "="`},
		{"attribute:x equalz y", 13, `expected an operator after "attribute:x", found "equalz"`},
		{"attribute:x EQUALS y", 13, `expected an operator after "attribute:x", found "EQUALS"`},
		{"attribute:x !inx [a]", 13, `expected an operator after "attribute:x", found "!inx"`},
		{"attribute:x ==", 15, `expected a value after "==", found the end of the expression`},
		{"attribute:x equals  ", 21, `expected a value after "equals", found the end of the expression`},
		{"attribute:x == (y)", 16, `expected a value after "==", found "("; quote a value that holds spaces or any of ( ) ' "`},
		{"attribute:x =~ (a|b).*", 16, `expected a value after "=~", found "("; quote a value that holds spaces or any of ( ) ' "`},
		{"attribute:x in a, b", 16, `expected "[" to start the list of values after "in", found "a"`},
		{"attribute:x in (a, b)", 16, `expected "[" to start the list of values after "in", found "("`},
		{"attribute:x in []", 17, `expected a value, found "]"; quote a value that holds spaces or any of ( ) [ ] , ' "`},
		{"attribute:x in [a, ]", 20, `expected a value, found "]"; quote a value that holds spaces or any of ( ) [ ] , ' "`},
		{"attribute:x in [a b]", 19, `expected "," or "]", found "b"`},
		{"attribute:x in [a", 18, `expected "," or "]", found the end of the expression`},
		{"attribute:x == 'abc", 16, `the quoted value has no closing '`},
		{`attribute:x in ["a', b]`, 17, `the quoted value has no closing "`},
		{"attribute:x == a b", 18, `expected "and", "or" or the end of the expression, found "b"`},
		{"attribute:x exists y", 20, `expected "and", "or" or the end of the expression, found "y"`},
		{"attribute:x exists AND attribute:y exists", 20, `expected "and", "or" or the end of the expression, found "AND"`},
		{"attribute:x exists & attribute:y exists", 20, `expected "and", "or" or the end of the expression, found "&"`},
		{"attribute:x exists)", 19, `expected "and", "or" or the end of the expression, found ")"`},
		{"attribute:x exists and", 23, `expected a subject (` + subjectList + `), found the end of the expression`},
		{"attribute:x exists or or attribute:y exists", 23, `expected a subject (` + subjectList + `), found "or"`},
		{"not", 4, `expected a subject (` + subjectList + `), found the end of the expression`},
		{"not()", 5, `expected a subject (` + subjectList + `), found ")"`},
		{"(attribute:x exists", 20, `expected "and", "or" or ")" to close the "(" at position 1, found the end of the expression`},
		{"not(attribute:x exists or (attribute:y exists)", 47, `expected "and", "or" or ")" to close the "(" at position 4, found the end of the expression`},
		{"agentConnected > true", 16, `operator ">" is not valid for agentConnected; use one of ==, !=, in, !in, =~, !~`},
		{"agentConnected exists", 16, `operator "exists" is not valid for agentConnected; use one of ==, !=, in, !in, =~, !~`},
		{"agentConnected == yes", 19, `agentConnected is true or false, not "yes"`},
		{"agentConnected in [true, 1]", 26, `agentConnected is true or false, not "1"`},
		{"agentVersion =~ 1.*", 14, `operator "=~" is not valid for agentVersion; use one of ==, !=, >, >=, <, <=`},
		{"agentVersion in [1.0]", 14, `operator "in" is not valid for agentVersion; use one of ==, !=, >, >=, <, <=`},
		{"agentVersion < 1.x", 16, `"1.x" is not an agent version; expected numbers separated by dots, such as 1.14.5`},
		{"agentVersion < v1.14.5", 16, `"v1.14.5" is not an agent version; expected numbers separated by dots, such as 1.14.5`},
		{"agentVersion < 1..2", 16, `"1..2" is not an agent version; expected numbers separated by dots, such as 1.14.5`},
		{"ec2InstanceId > i-1", 15, `operator ">" is not valid for ec2InstanceId; use one of ==, !=, in, !in, =~, !~`},
		{"registeredAt matches 2018.*", 14, `operator "matches" is not valid for registeredAt; use one of ==, !=, >, >=, <, <=`},
		{"registeredAt < 2018-13-01", 16, `"2018-13-01" is not a date; expected 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18`},
		{"registeredAt < yesterday", 16, `"yesterday" is not a date; expected 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18`},
		{"registeredAt < 2018-06-18 22:28:28", 27, `expected "and", "or" or the end of the expression, found "22:28:28"`},
		{"runningTasksCount == one", 22, `"one" is not a whole number`},
		{"runningTasksCount == 1.5", 22, `"1.5" is not a whole number`},
		{"runningTasksCount exists", 19, `operator "exists" is not valid for runningTasksCount; use one of ==, !=, >, >=, <, <=`},
		{"attribute:x =~ '(a'", 16, `"(a" is not a valid regular expression: missing closing )`},
		{"attribute:x =~ 'a)|(b'", 16, `"a)|(b" is not a valid regular expression: unexpected )`},
		{"attribute:x =~ '(?<=a)b'", 16, `"(?<=a)b" is not a valid regular expression: invalid named capture; lookaround, backreferences and possessive quantifiers are not supported`},
		{`attribute:x =~ '(a)\1'`, 16, `"(a)\\1" is not a valid regular expression: invalid escape sequence at "\\1"; lookaround, backreferences and possessive quantifiers are not supported`},
		{"attribute:x =~ 'a++'", 16, `"a++" is not a valid regular expression: invalid nested repetition operator at "++"; lookaround, backreferences and possessive quantifiers are not supported`},
		{"attribute:x =~ '(a{1000}){3}'", 16, `"(a{1000}){3}" is not a valid regular expression: invalid repeat count at "{3}"`},
		{"attribute:x =~ '.{1000}.{1000}'", 16, `the regular expression ".{1000}.{1000}" is too large`},
		{"attribute:x == 'é' and foo", 24, `expected a subject (` + subjectList + `), found "foo"`},
		{"attribute:x == " + strings.Repeat("v", 40), 16, ""}, // valid; see below
	}
	for _, tc := range tests {
		e, err := ParseExpr(tc.expr)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("ParseExpr(%q) = %v; want no error", tc.expr, err)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseExpr(%q) = %v, %v; want a *SyntaxError", tc.expr, e, err)
			continue
		}
		if se.Pos != tc.pos || se.Msg != tc.msg {
			t.Errorf("ParseExpr(%q) = %d: %s\nwant %d: %s", tc.expr, se.Pos, se.Msg, tc.pos, tc.msg)
		}
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := ParseExpr("attribute:x = y")
	want := `invalid expression at position 13: expected an operator after "attribute:x", found "="`
	if err == nil || err.Error() != want {
		t.Errorf("ParseExpr(%q) = %v; want %s", "attribute:x = y", err, want)
	}
	_, err = ParseExpr("attribute:x == " + strings.Repeat("v", 80) + " and")
	want = `invalid expression at position 100: expected a subject (` + subjectList + `), found the end of the expression`
	if err == nil || err.Error() != want {
		t.Errorf("ParseExpr(...) = %v; want %s", err, want)
	}
	_, err = ParseExpr("attribute:x exists " + strings.Repeat("v", 80))
	want = `invalid expression at position 20: expected "and", "or" or the end of the expression, found "` + strings.Repeat("v", 32) + `"...`
	if err == nil || err.Error() != want {
		t.Errorf("ParseExpr(...) = %v; want %s", err, want)
	}
}

func TestLimits(t *testing.T) {
	// Length: 2000 characters, not bytes.
	pad := func(prefix string, n int, fill string) string {
		return prefix + strings.Repeat(fill, n-len([]rune(prefix)))
	}
	at := pad("attribute:x == ", MaxExpressionLength, "é")
	if _, err := ParseExpr(at); err != nil {
		t.Errorf("ParseExpr(%d characters) = %v; want no error", MaxExpressionLength, err)
	}
	var se *SyntaxError
	_, err := ParseExpr(at + "é")
	if !errors.As(err, &se) || se.Pos != 2001 || se.Msg != "the expression is 2001 characters long; the limit is 2000" {
		t.Errorf("ParseExpr(2001 characters) = %v; want a SyntaxError at 2001 about the limit", err)
	}

	// Nesting: parentheses and not, 50 deep; "not(" is one level.
	term := "attribute:x exists"
	nested := map[string]func(n int) string{
		"parens": func(n int) string { return strings.Repeat("(", n) + term + strings.Repeat(")", n) },
		"bang":   func(n int) string { return strings.Repeat("!", n) + term },
		"not(":   func(n int) string { return strings.Repeat("not(", n) + term + strings.Repeat(")", n) },
		"mixed":  func(n int) string { return strings.Repeat("!(", n/2) + term + strings.Repeat(")", n/2) },
	}
	for name, build := range nested {
		ok := build(maxNesting)
		e, err := ParseExpr(ok)
		if err != nil {
			t.Errorf("%s: ParseExpr(nesting %d) = %v; want no error", name, maxNesting, err)
		} else if _, err := ParseExpr(e.String()); err != nil {
			t.Errorf("%s: ParseExpr(%q) = %v; want no error", name, e.String(), err)
		}
	}
	for name, build := range map[string]string{
		"parens": strings.Repeat("(", maxNesting+1) + term + strings.Repeat(")", maxNesting+1),
		"bang":   strings.Repeat("!", maxNesting+1) + term,
		"not(":   strings.Repeat("not(", maxNesting+1) + term + strings.Repeat(")", maxNesting+1),
	} {
		_, err := ParseExpr(build)
		if !errors.As(err, &se) || se.Msg != "parentheses and not nest more than 50 deep" {
			t.Errorf("%s: ParseExpr(nesting %d) = %v; want a SyntaxError about nesting", name, maxNesting+1, err)
		}
	}

	// Regular expressions: each bounded, and all of them together.
	one := "attribute:x =~ '.{1000}.{900}'"
	if _, err := ParseExpr(strings.Repeat(one+" or ", 9) + one); err != nil {
		t.Errorf("ParseExpr(10 large patterns) = %v; want no error", err)
	}
	_, err = ParseExpr(strings.Repeat(one+" or ", 10) + one)
	if !errors.As(err, &se) || se.Msg != "the regular expressions of the expression are too large in total" {
		t.Errorf("ParseExpr(11 large patterns) = %v; want a SyntaxError about their size", err)
	}
}

// TestConcurrentMatch matches one Expr from many goroutines; run with -race.
func TestConcurrentMatch(t *testing.T) {
	e := mustParse(t, "attribute:ecs.instance-type =~ t2.* and not(task:group == database)")
	i := inst()
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 100 {
				ok = ok && e.Match(i)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Errorf("Match(%s) = false under concurrency; want true", describe(i))
		}
	}
}

func TestExprAttribute(t *testing.T) {
	for _, tc := range []struct {
		expr string
		name string
		only bool
	}{
		{"attribute:ecs.instance-type =~ m5.*", "ecs.instance-type", true},
		{"attribute:a in [x, y] or not(attribute:a exists)", "a", true},
		{"attribute:a == x and attribute:b == y", "", false},
		{"attribute:a == x and task:group == web", "", false},
		{"ec2InstanceId == i-1", "", false},
		{"task:group == web", "", false},
	} {
		e, err := ParseExpr(tc.expr)
		if err != nil {
			t.Fatalf("ParseExpr(%q): %v", tc.expr, err)
		}
		name, only := e.attribute()
		if only != tc.only || only && name != tc.name {
			t.Errorf("ParseExpr(%q).attribute() = %q, %v; want %q, %v", tc.expr, name, only, tc.name, tc.only)
		}
	}
}
