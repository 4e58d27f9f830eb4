package logs

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func groupNames(gs []types.LogGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, aws.ToString(g.LogGroupName))
	}
	return out
}

func (e *env) describeGroups(t *testing.T, in *cloudwatchlogs.DescribeLogGroupsInput) []types.LogGroup {
	t.Helper()
	if in == nil {
		in = &cloudwatchlogs.DescribeLogGroupsInput{}
	}
	var out []types.LogGroup
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(e.c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeLogGroups(%+v) = %v", in, err)
		}
		out = append(out, page.LogGroups...)
	}
	return out
}

func TestCreateDescribeDeleteLogGroup(t *testing.T) {
	e := start(t)
	_, err := e.c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String("/ecs/web"),
		KmsKeyId:     aws.String("arn:aws:kms:us-east-1:000000000000:key/abc"),
		Tags:         map[string]string{"team": "core"},
	})
	if err != nil {
		t.Fatalf("CreateLogGroup = %v", err)
	}
	_, err = e.c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/web")})
	wantError(t, "CreateLogGroup(existing)", err, "ResourceAlreadyExistsException", "The specified log group already exists.")

	gs := e.describeGroups(t, nil)
	if len(gs) != 1 {
		t.Fatalf("DescribeLogGroups = %v; want one group", groupNames(gs))
	}
	g := gs[0]
	wantARN := "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web"
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"logGroupName", aws.ToString(g.LogGroupName), "/ecs/web"},
		{"arn", aws.ToString(g.Arn), wantARN + ":*"},
		{"logGroupArn", aws.ToString(g.LogGroupArn), wantARN},
		{"creationTime", aws.ToInt64(g.CreationTime), e.clock.Now().UnixMilli()},
		{"storedBytes", aws.ToInt64(g.StoredBytes), int64(0)},
		{"metricFilterCount", aws.ToInt32(g.MetricFilterCount), int32(0)},
		{"logGroupClass", g.LogGroupClass, types.LogGroupClassStandard},
		{"kmsKeyId", aws.ToString(g.KmsKeyId), "arn:aws:kms:us-east-1:000000000000:key/abc"},
		{"retentionInDays", g.RetentionInDays, (*int32)(nil)},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("DescribeLogGroups %s = %v; want %v", c.field, c.got, c.want)
		}
	}

	if _, err := e.c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/web")}); err != nil {
		t.Fatalf("DeleteLogGroup = %v", err)
	}
	_, err = e.c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/web")})
	wantError(t, "DeleteLogGroup(deleted)", err, "ResourceNotFoundException", "The specified log group does not exist.")
	if gs := e.describeGroups(t, nil); len(gs) != 0 {
		t.Errorf("DescribeLogGroups after delete = %v; want none", groupNames(gs))
	}
	// A group of the same name can be made again, empty.
	e.createGroup(t, "/ecs/web")
	e.createStream(t, "/ecs/web", "s")
}

func TestCreateLogGroupInvalid(t *testing.T) {
	e := start(t)
	long := strings.Repeat("a", 513)
	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.CreateLogGroupInput
		msg  string
	}{
		{"colon", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("a:b")},
			`1 validation error detected: Value 'a:b' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`},
		{"space", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("a b")},
			`1 validation error detected: Value 'a b' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`},
		{"too long", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(long)},
			"1 validation error detected: Value '" + long + "' at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512"},
		{"empty", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("")},
			"1 validation error detected: Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"reserved prefix", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("aws/mine")}, "Log group names can't start with the string aws/."},
		{"class", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g"), LogGroupClass: "CHEAP"},
			"1 validation error detected: Value 'CHEAP' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY, ESSENTIALS]"},
		{"tag key", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"bad!key": "v"}}, ""},
		{"too many tags", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g"), Tags: manyTags(51)},
			"1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.CreateLogGroup(ctx, &tc.in)
			wantError(t, fmt.Sprintf("CreateLogGroup(%s)", tc.name), err, "InvalidParameterException", tc.msg)
		})
	}
	if gs := e.describeGroups(t, nil); len(gs) != 0 {
		t.Errorf("DescribeLogGroups after invalid creates = %v; want none", groupNames(gs))
	}
	// The SDK checks required members; without it the service does.
	r := e.rawCall(t, "CreateLogGroup", `{}`)
	if r.Type != "InvalidParameterException" || r.Message != "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null" {
		t.Errorf("CreateLogGroup({}) = %d %s %q; want InvalidParameterException, Value null at 'logGroupName'", r.Status, r.Type, r.Message)
	}
	if r := e.rawCall(t, "CreateLogGroup", `{"logGroupName": 7}`); r.Type != "SerializationException" {
		t.Errorf("CreateLogGroup(number name) = %d %s %q; want SerializationException", r.Status, r.Type, r.Message)
	}
}

func manyTags(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = "v"
	}
	return m
}

func TestDescribeLogGroupsFilters(t *testing.T) {
	e := start(t)
	names := []string{"/aws/lambda/fn", "/ecs/api", "/ecs/web", "/ecs/worker", "app.logs", "FooBar", "foo", "GroupFoo"}
	for _, n := range names {
		e.createGroup(t, n)
	}
	if _, err := e.c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("cold"), LogGroupClass: types.LogGroupClassInfrequentAccess}); err != nil {
		t.Fatal(err)
	}
	sorted := slices.Sorted(slices.Values(append(slices.Clone(names), "cold")))
	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.DescribeLogGroupsInput
		want []string
	}{
		{"all, name order", cloudwatchlogs.DescribeLogGroupsInput{}, sorted},
		{"pages of 2", cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(2)}, sorted},
		{"pages of 1", cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(1)}, sorted},
		{"prefix", cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/")}, []string{"/ecs/api", "/ecs/web", "/ecs/worker"}},
		{"prefix paged", cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/"), Limit: aws.Int32(2)}, []string{"/ecs/api", "/ecs/web", "/ecs/worker"}},
		// The documentation's example: Foo matches FooBar and GroupFoo, not foo.
		{"pattern", cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("Foo")}, []string{"FooBar", "GroupFoo"}},
		{"class", cloudwatchlogs.DescribeLogGroupsInput{LogGroupClass: types.LogGroupClassInfrequentAccess}, []string{"cold"}},
		{"identifiers", cloudwatchlogs.DescribeLogGroupsInput{LogGroupIdentifiers: []string{"foo", "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web", "missing"}}, []string{"/ecs/web", "foo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := groupNames(e.describeGroups(t, &tc.in))
			if !slices.Equal(got, tc.want) {
				t.Errorf("DescribeLogGroups(%s) = %q; want %q", tc.name, got, tc.want)
			}
		})
	}
	// A pattern asks for the brief form.
	out, err := e.c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("Bar")})
	if err != nil {
		t.Fatal(err)
	}
	if g := out.LogGroups[0]; g.Arn == nil || g.CreationTime == nil || g.StoredBytes != nil || g.LogGroupArn != nil {
		t.Errorf("DescribeLogGroups(pattern) group = %+v; want only arn, creationTime and logGroupName", g)
	}
	for _, tc := range []struct {
		name string
		in   cloudwatchlogs.DescribeLogGroupsInput
		msg  string
	}{
		{"both", cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("a"), LogGroupNamePattern: aws.String("b")}, "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters."},
		{"limit 0", cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(0)}, "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"limit 51", cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(51)}, "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"},
		{"bad token", cloudwatchlogs.DescribeLogGroupsInput{NextToken: aws.String("nope")}, "The specified nextToken is invalid."},
		{"bad pattern", cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("a*")},
			`1 validation error detected: Value 'a*' at 'logGroupNamePattern' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]*`},
	} {
		_, err := e.c.DescribeLogGroups(ctx, &tc.in)
		wantError(t, "DescribeLogGroups("+tc.name+")", err, "InvalidParameterException", tc.msg)
	}
}

func TestRetentionPolicy(t *testing.T) {
	e := start(t)
	e.createGroup(t, "g")
	for _, days := range []int32{0, 2, 4000, -1} {
		_, err := e.c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(days)})
		wantError(t, fmt.Sprintf("PutRetentionPolicy(%d)", days), err, "InvalidParameterException",
			fmt.Sprintf("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]", days))
	}
	if g := e.describeGroups(t, nil)[0]; g.RetentionInDays != nil {
		t.Errorf("retentionInDays after invalid puts = %d; want none", *g.RetentionInDays)
	}
	for _, days := range retentionDaysValues {
		if _, err := e.c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(days)}); err != nil {
			t.Fatalf("PutRetentionPolicy(%d) = %v", days, err)
		}
		if g := e.describeGroups(t, nil)[0]; aws.ToInt32(g.RetentionInDays) != days {
			t.Fatalf("retentionInDays = %v; want %d", g.RetentionInDays, days)
		}
	}
	if _, err := e.c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if g := e.describeGroups(t, nil)[0]; g.RetentionInDays != nil {
		t.Errorf("retentionInDays after DeleteRetentionPolicy = %d; want none", *g.RetentionInDays)
	}
	_, err := e.c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("missing"), RetentionInDays: aws.Int32(1)})
	wantError(t, "PutRetentionPolicy(missing)", err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = e.c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("missing")})
	wantError(t, "DeleteRetentionPolicy(missing)", err, "ResourceNotFoundException", "The specified log group does not exist.")
}

func TestDeletionProtection(t *testing.T) {
	e := start(t)
	if _, err := e.c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("keep"), DeletionProtectionEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("keep")})
	wantError(t, "DeleteLogGroup(protected)", err, "InvalidOperationException", "")
	if g := e.describeGroups(t, nil); len(g) != 1 || !aws.ToBool(g[0].DeletionProtectionEnabled) {
		t.Errorf("DescribeLogGroups after refused delete = %+v; want the protected group", g)
	}
}

func TestTags(t *testing.T) {
	e := start(t)
	if _, err := e.c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/web"), Tags: map[string]string{"a": "1"}}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web"
	list := func() map[string]string {
		t.Helper()
		out, err := e.c.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("ListTagsForResource = %v", err)
		}
		//lint:ignore SA1019 the deprecated legacy API is part of what this serves
		legacy, err := e.c.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("/ecs/web")})
		if err != nil {
			t.Fatalf("ListTagsLogGroup = %v", err)
		}
		if fmt.Sprint(out.Tags) != fmt.Sprint(legacy.Tags) {
			t.Errorf("ListTagsForResource = %v but ListTagsLogGroup = %v", out.Tags, legacy.Tags)
		}
		return out.Tags
	}
	check := func(call string, want string) {
		t.Helper()
		if got := fmt.Sprint(list()); got != want {
			t.Errorf("tags after %s = %s; want %s", call, got, want)
		}
	}
	check("create", "map[a:1]")
	if _, err := e.c.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"b": "2", "a": "one"}}); err != nil {
		t.Fatal(err)
	}
	check("TagResource", "map[a:one b:2]")
	//lint:ignore SA1019 the deprecated legacy API is part of what this serves
	if _, err := e.c.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("/ecs/web"), Tags: map[string]string{"c": "3"}}); err != nil {
		t.Fatal(err)
	}
	check("TagLogGroup", "map[a:one b:2 c:3]")
	if _, err := e.c.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"a", "nope"}}); err != nil {
		t.Fatal(err)
	}
	check("UntagResource", "map[b:2 c:3]")
	//lint:ignore SA1019 the deprecated legacy API is part of what this serves
	if _, err := e.c.UntagLogGroup(ctx, &cloudwatchlogs.UntagLogGroupInput{LogGroupName: aws.String("/ecs/web"), Tags: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	check("UntagLogGroup", "map[c:3]")

	_, err := e.c.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: manyTags(50)})
	wantError(t, "TagResource(50 more)", err, "TooManyTagsException", "A resource can have no more than 50 tags.")
	check("TagResource over the limit", "map[c:3]")

	for _, tc := range []struct {
		arn, code string
	}{
		{"arn:aws:logs:us-east-1:000000000000:log-group:missing", "ResourceNotFoundException"},
		{"arn:aws:logs:us-east-1:111111111111:log-group:/ecs/web", "ResourceNotFoundException"},
		{"arn:aws:logs:eu-west-1:000000000000:log-group:/ecs/web", "ResourceNotFoundException"},
		// AWS refuses the describe form (arn, with :*) here; logGroupArn
		// is the one the tagging APIs take.
		{"arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*", "ValidationException"},
		{"arn:aws:logs:us-east-1:000000000000:destination:d", "ValidationException"},
		{"not an arn", "ValidationException"},
	} {
		msg := ""
		if tc.code == "ValidationException" {
			msg = "Invalid resourceArn"
		}
		_, err := e.c.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(tc.arn), Tags: map[string]string{"x": "y"}})
		wantError(t, "TagResource("+tc.arn+")", err, tc.code, msg)
		_, err = e.c.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(tc.arn)})
		wantError(t, "ListTagsForResource("+tc.arn+")", err, tc.code, msg)
		_, err = e.c.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(tc.arn), TagKeys: []string{"c"}})
		wantError(t, "UntagResource("+tc.arn+")", err, tc.code, msg)
	}
	// The logGroupArn DescribeLogGroups returns is the tagging APIs' ARN.
	gs := e.describeGroups(t, nil)
	if len(gs) != 1 {
		t.Fatalf("DescribeLogGroups = %v; want /ecs/web", groupNames(gs))
	}
	out, err := e.c.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: gs[0].LogGroupArn})
	if err != nil || fmt.Sprint(out.Tags) != "map[c:3]" {
		t.Errorf("ListTagsForResource(logGroupArn %s) = %v, %v; want map[c:3]", aws.ToString(gs[0].LogGroupArn), out, err)
	}
	//lint:ignore SA1019 the deprecated legacy API is part of what this serves
	_, err = e.c.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("missing"), Tags: map[string]string{"x": "y"}})
	wantError(t, "TagLogGroup(missing)", err, "ResourceNotFoundException", "The specified log group does not exist.")
	check("failed calls", "map[c:3]")
}

func TestTenancy(t *testing.T) {
	e := start(t)
	e.createGroup(t, "shared")
	e.createStream(t, "shared", "s")
	e.put(t, "shared", "s", events("mine", e.clock.Now().UnixMilli(), 3, 1))

	// The other account sees nothing of ours, and may use the same names.
	out, err := e.other.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 0 {
		t.Fatalf("DescribeLogGroups(other account) = %v, %v; want none", groupNames(out.LogGroups), err)
	}
	_, err = e.other.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("shared"), LogStreamName: aws.String("s")})
	wantError(t, "GetLogEvents(other account)", err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = e.other.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:shared")})
	wantError(t, "FilterLogEvents(our ARN, other account)", err, "ResourceNotFoundException", "")
	if _, err := e.other.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("shared")}); err != nil {
		t.Fatalf("CreateLogGroup(other account, same name) = %v", err)
	}
	if _, err := e.other.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("shared"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.other.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("shared"), LogStreamName: aws.String("s"),
		LogEvents: events("theirs", e.clock.Now().UnixMilli(), 2, 1)}); err != nil {
		t.Fatal(err)
	}
	theirs, err := e.other.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := e.c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	if got := filteredMsgs(theirs.Events); !slices.Equal(got, []string{"theirs 0", "theirs 1"}) {
		t.Errorf("the other account's events = %q", got)
	}
	if got := filteredMsgs(ours.Events); !slices.Equal(got, []string{"mine 0", "mine 1", "mine 2"}) {
		t.Errorf("our events = %q", got)
	}
	// Deleting theirs leaves ours.
	if _, err := e.other.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	if gs := e.describeGroups(t, nil); len(gs) != 1 {
		t.Errorf("our groups after the other account deleted its own = %v", groupNames(gs))
	}
}
