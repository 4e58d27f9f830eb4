package ecs_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func settingsMap(s []types.ClusterSetting) map[string]string {
	m := map[string]string{}
	for _, kv := range s {
		m[string(kv.Name)] = aws.ToString(kv.Value)
	}
	return m
}

func TestCreateClusterDefaultName(t *testing.T) {
	t.Parallel()
	_, c := start(t)

	cl := createCluster(t, c, &ecs.CreateClusterInput{})
	if got, want := aws.ToString(cl.ClusterName), "default"; got != want {
		t.Errorf("CreateCluster({}).clusterName = %q; want %q", got, want)
	}
	if got, want := aws.ToString(cl.ClusterArn), clusterARN("default"); got != want {
		t.Errorf("CreateCluster({}).clusterArn = %q; want %q", got, want)
	}
	if got := aws.ToString(cl.Status); got != "ACTIVE" {
		t.Errorf("CreateCluster({}).status = %q; want ACTIVE", got)
	}
	// AWS returns the settings, an empty statistics list and an empty tag
	// list from CreateCluster.
	if got, want := settingsMap(cl.Settings), map[string]string{"containerInsights": "disabled"}; !reflect.DeepEqual(got, want) {
		t.Errorf("CreateCluster({}).settings = %v; want %v", got, want)
	}
	if cl.Tags == nil || len(cl.Tags) != 0 {
		t.Errorf("CreateCluster({}).tags = %#v; want an empty list", cl.Tags)
	}
	if cl.Statistics == nil || len(cl.Statistics) != 0 {
		t.Errorf("CreateCluster({}).statistics = %#v; want an empty list", cl.Statistics)
	}
	if cl.CapacityProviders == nil || cl.DefaultCapacityProviderStrategy == nil {
		t.Errorf("CreateCluster({}) capacityProviders = %#v, strategy = %#v; want empty lists", cl.CapacityProviders, cl.DefaultCapacityProviderStrategy)
	}
	if cl.RegisteredContainerInstancesCount != 0 || cl.RunningTasksCount != 0 || cl.PendingTasksCount != 0 || cl.ActiveServicesCount != 0 {
		t.Errorf("CreateCluster({}) counts = %d/%d/%d/%d; want zeros", cl.RegisteredContainerInstancesCount, cl.RunningTasksCount, cl.PendingTasksCount, cl.ActiveServicesCount)
	}

	// With no names, DescribeClusters describes the default cluster.
	out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if err != nil {
		t.Fatalf("DescribeClusters({}) = %v", err)
	}
	if len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].ClusterArn) != clusterARN("default") {
		t.Fatalf("DescribeClusters({}) = %d clusters %v; want the default cluster", len(out.Clusters), failures(out.Failures))
	}
}

func TestCreateClusterFull(t *testing.T) {
	t.Parallel()
	_, c := start(t)

	in := &ecs.CreateClusterInput{
		ClusterName: aws.String("prod_web-1"),
		Tags:        tags("team", "web", "env", "prod", "empty", ""),
		Settings:    []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enhanced")}},
		Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{
			KmsKeyId: aws.String("alias/exec"),
			Logging:  types.ExecuteCommandLoggingOverride,
			LogConfiguration: &types.ExecuteCommandLogConfiguration{
				CloudWatchLogGroupName:      aws.String("/ecs/exec"),
				CloudWatchEncryptionEnabled: true,
			},
		}},
		CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Base: 2, Weight: 1},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 4},
		},
		ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("internal")},
	}
	check := func(t *testing.T, call string, cl types.Cluster) {
		t.Helper()
		if got, want := aws.ToString(cl.ClusterArn), clusterARN("prod_web-1"); got != want {
			t.Errorf("%s.clusterArn = %q; want %q", call, got, want)
		}
		if got, want := tagMap(cl.Tags), map[string]string{"team": "web", "env": "prod", "empty": ""}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s.tags = %v; want %v", call, got, want)
		}
		if got, want := settingsMap(cl.Settings), map[string]string{"containerInsights": "enhanced"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s.settings = %v; want %v", call, got, want)
		}
		ecc := cl.Configuration
		if ecc == nil || ecc.ExecuteCommandConfiguration == nil || ecc.ExecuteCommandConfiguration.LogConfiguration == nil {
			t.Fatalf("%s.configuration = %+v; want the execute command configuration", call, ecc)
		}
		got := ecc.ExecuteCommandConfiguration
		if aws.ToString(got.KmsKeyId) != "alias/exec" || got.Logging != types.ExecuteCommandLoggingOverride ||
			aws.ToString(got.LogConfiguration.CloudWatchLogGroupName) != "/ecs/exec" || !got.LogConfiguration.CloudWatchEncryptionEnabled {
			t.Errorf("%s.configuration.executeCommandConfiguration = %+v / %+v; want what was sent", call, got, got.LogConfiguration)
		}
		if want := []string{"FARGATE", "FARGATE_SPOT"}; !slices.Equal(cl.CapacityProviders, want) {
			t.Errorf("%s.capacityProviders = %v; want %v", call, cl.CapacityProviders, want)
		}
		var strategy []string
		for _, s := range cl.DefaultCapacityProviderStrategy {
			strategy = append(strategy, fmt.Sprintf("%s base %d weight %d", aws.ToString(s.CapacityProvider), s.Base, s.Weight))
		}
		if want := []string{"FARGATE base 2 weight 1", "FARGATE_SPOT base 0 weight 4"}; !slices.Equal(strategy, want) {
			t.Errorf("%s.defaultCapacityProviderStrategy = %v; want %v", call, strategy, want)
		}
		if cl.ServiceConnectDefaults == nil || aws.ToString(cl.ServiceConnectDefaults.Namespace) != "internal" {
			t.Errorf("%s.serviceConnectDefaults = %+v; want namespace internal", call, cl.ServiceConnectDefaults)
		}
	}
	created := createCluster(t, c, in)
	check(t, "CreateCluster", *created)
	check(t, "DescribeClusters(all includes)", describeCluster(t, c, "prod_web-1"))
}

func TestCreateClusterIdempotent(t *testing.T) {
	t.Parallel()
	_, c := start(t)

	first := createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: tags("v", "1")})
	again := createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: tags("v", "2")})
	if aws.ToString(again.ClusterArn) != aws.ToString(first.ClusterArn) {
		t.Errorf("CreateCluster(web) again: clusterArn = %q; want %q", aws.ToString(again.ClusterArn), aws.ToString(first.ClusterArn))
	}
	// Re-creating an ACTIVE cluster returns it as it is.
	if got := tagMap(describeCluster(t, c, "web").Tags); got["v"] != "1" {
		t.Errorf("after CreateCluster(web) again, tags = %v; want v=1 kept", got)
	}
	list, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{clusterARN("web")}; !slices.Equal(list.ClusterArns, want) {
		t.Errorf("ListClusters() = %v; want %v", list.ClusterArns, want)
	}

	// A deleted name can be used again; the new cluster starts afresh.
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	reborn := createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: tags("v", "3")})
	if aws.ToString(reborn.Status) != "ACTIVE" || tagMap(reborn.Tags)["v"] != "3" {
		t.Errorf("CreateCluster(web) after delete = status %q tags %v; want ACTIVE with v=3", aws.ToString(reborn.Status), tagMap(reborn.Tags))
	}
}

func TestCreateClusterRejected(t *testing.T) {
	t.Parallel()
	_, c := start(t)

	tooMany := make([]types.Tag, 51)
	for i := range tooMany {
		tooMany[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	cases := []struct {
		name string
		in   ecs.CreateClusterInput
		code string
	}{
		{"name with a dot", ecs.CreateClusterInput{ClusterName: aws.String("bad.name")}, "InvalidParameterException"},
		{"name too long", ecs.CreateClusterInput{ClusterName: aws.String(strings.Repeat("a", 256))}, "InvalidParameterException"},
		{"aws: tag", ecs.CreateClusterInput{ClusterName: aws.String("t1"), Tags: tags("aws:owner", "me")}, "InvalidParameterException"},
		{"AWS: tag", ecs.CreateClusterInput{ClusterName: aws.String("t2"), Tags: tags("AWS:owner", "me")}, "InvalidParameterException"},
		{"51 tags", ecs.CreateClusterInput{ClusterName: aws.String("t3"), Tags: tooMany}, "InvalidParameterException"},
		{"long tag key", ecs.CreateClusterInput{ClusterName: aws.String("t4"), Tags: tags(strings.Repeat("k", 129), "v")}, "InvalidParameterException"},
		{"long tag value", ecs.CreateClusterInput{ClusterName: aws.String("t5"), Tags: tags("k", strings.Repeat("v", 257))}, "InvalidParameterException"},
		{"unknown setting", ecs.CreateClusterInput{ClusterName: aws.String("s1"), Settings: []types.ClusterSetting{{Name: "bogus", Value: aws.String("enabled")}}}, "InvalidParameterException"},
		{"bad setting value", ecs.CreateClusterInput{ClusterName: aws.String("s2"), Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("on")}}}, "InvalidParameterException"},
		{"unknown provider", ecs.CreateClusterInput{ClusterName: aws.String("p1"), CapacityProviders: []string{"my-asg"}}, "InvalidParameterException"},
		{"strategy without provider", ecs.CreateClusterInput{ClusterName: aws.String("p2"), DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}}, "InvalidParameterException"},
		{"bad exec logging", ecs.CreateClusterInput{ClusterName: aws.String("x1"), Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: "LOUD"}}}, "InvalidParameterException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateCluster(ctx, &tc.in)
			wantError(t, "CreateCluster("+tc.name+")", err, tc.code, "")
			name := aws.ToString(tc.in.ClusterName)
			if len(name) > 255 || strings.Contains(name, ".") {
				return
			}
			out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Clusters) != 0 {
				t.Errorf("after a rejected CreateCluster(%s), DescribeClusters found it (status %s); want MISSING", name, aws.ToString(out.Clusters[0].Status))
			}
		})
	}
}

func TestDescribeClusters(t *testing.T) {
	t.Parallel()
	_, c := start(t)

	createCluster(t, c, &ecs.CreateClusterInput{
		ClusterName: aws.String("web"),
		Tags:        tags("team", "web"),
		Settings:    []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
		Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{
			Logging: types.ExecuteCommandLoggingDefault,
		}},
	})
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("gone")})
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}

	t.Run("no include leaves the optional parts out", func(t *testing.T) {
		out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Clusters) != 1 {
			t.Fatalf("DescribeClusters(web) = %d clusters; want 1", len(out.Clusters))
		}
		cl := out.Clusters[0]
		if cl.Tags != nil || cl.Settings != nil || cl.Configuration != nil || cl.Statistics != nil {
			t.Errorf("DescribeClusters(web) without include: tags %v settings %v configuration %+v statistics %v; want none", cl.Tags, cl.Settings, cl.Configuration, cl.Statistics)
		}
		if aws.ToString(cl.ClusterName) != "web" || aws.ToString(cl.Status) != "ACTIVE" {
			t.Errorf("DescribeClusters(web) = %s %s; want web ACTIVE", aws.ToString(cl.ClusterName), aws.ToString(cl.Status))
		}
	})

	includes := []struct {
		include types.ClusterField
		check   func(types.Cluster) bool
	}{
		{types.ClusterFieldTags, func(cl types.Cluster) bool { return tagMap(cl.Tags)["team"] == "web" && cl.Settings == nil }},
		{types.ClusterFieldSettings, func(cl types.Cluster) bool {
			return settingsMap(cl.Settings)["containerInsights"] == "enabled" && cl.Tags == nil
		}},
		{types.ClusterFieldConfigurations, func(cl types.Cluster) bool {
			return cl.Configuration != nil && cl.Configuration.ExecuteCommandConfiguration != nil &&
				cl.Configuration.ExecuteCommandConfiguration.Logging == types.ExecuteCommandLoggingDefault && cl.Tags == nil
		}},
		{types.ClusterFieldStatistics, func(cl types.Cluster) bool {
			stats := map[string]string{}
			for _, kv := range cl.Statistics {
				stats[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
			}
			return len(stats) > 0 && stats["runningFargateTasksCount"] == "0" && stats["activeEC2ServiceCount"] == "0" && cl.Tags == nil
		}},
	}
	for _, inc := range includes {
		t.Run("include "+string(inc.include), func(t *testing.T) {
			out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web"}, Include: []types.ClusterField{inc.include}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Clusters) != 1 || !inc.check(out.Clusters[0]) {
				t.Errorf("DescribeClusters(web, include %s) = %+v; want only that part included", inc.include, out.Clusters)
			}
		})
	}

	t.Run("missing and inactive", func(t *testing.T) {
		otherRegion := "arn:aws:ecs:eu-west-1:" + account + ":cluster/web"
		out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{
			"nope", clusterARN("web"), clusterARN("nothing"), "gone", otherRegion,
		}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, cl := range out.Clusters {
			got = append(got, aws.ToString(cl.ClusterName)+" "+aws.ToString(cl.Status))
		}
		if want := []string{"web ACTIVE", "gone INACTIVE"}; !slices.Equal(got, want) {
			t.Errorf("DescribeClusters(...) clusters = %v; want %v", got, want)
		}
		want := []string{clusterARN("nope") + " MISSING", clusterARN("nothing") + " MISSING", otherRegion + " MISSING"}
		if got := failures(out.Failures); !slices.Equal(got, want) {
			t.Errorf("DescribeClusters(...) failures = %v; want %v", got, want)
		}
	})

	t.Run("default cluster missing", func(t *testing.T) {
		out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{clusterARN("default") + " MISSING"}; len(out.Clusters) != 0 || !slices.Equal(failures(out.Failures), want) {
			t.Errorf("DescribeClusters({}) = %d clusters, failures %v; want failures %v", len(out.Clusters), failures(out.Failures), want)
		}
	})

	t.Run("too many", func(t *testing.T) {
		names := make([]string, 101)
		for i := range names {
			names[i] = fmt.Sprintf("c%d", i)
		}
		_, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: names})
		wantError(t, "DescribeClusters(101 names)", err, "InvalidParameterException", "")
	})

	t.Run("bad include", func(t *testing.T) {
		_, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"web"}, Include: []types.ClusterField{"EVERYTHING"}})
		wantError(t, "DescribeClusters(include EVERYTHING)", err, "InvalidParameterException", "")
	})
}

func TestListClusters(t *testing.T) {
	t.Parallel()
	_, c := start(t)

	var want []string
	for i := range 25 {
		name := fmt.Sprintf("cluster-%02d", i)
		createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
		want = append(want, clusterARN(name))
	}
	// Deleted clusters are not listed.
	for _, name := range []string{"cluster-03", "cluster-17"} {
		if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		want = slices.DeleteFunc(want, func(arn string) bool { return arn == clusterARN(name) })
	}

	for _, pageSize := range []int32{1, 7, 10, 23, 100} {
		t.Run(fmt.Sprintf("maxResults %d", pageSize), func(t *testing.T) {
			var got []string
			pages := 0
			p := ecs.NewListClustersPaginator(c, &ecs.ListClustersInput{MaxResults: aws.Int32(pageSize)})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("ListClusters page %d: %v", pages+1, err)
				}
				if len(out.ClusterArns) > int(pageSize) {
					t.Fatalf("ListClusters(maxResults %d) page has %d items", pageSize, len(out.ClusterArns))
				}
				pages++
				got = append(got, out.ClusterArns...)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("ListClusters(maxResults %d) over all pages = %v; want %v", pageSize, got, want)
			}
			if wantPages := (len(want) + int(pageSize) - 1) / int(pageSize); pages != wantPages {
				t.Errorf("ListClusters(maxResults %d) took %d pages; want %d", pageSize, pages, wantPages)
			}
		})
	}

	t.Run("default page", func(t *testing.T) {
		out, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ClusterArns) != len(want) || out.NextToken != nil {
			t.Errorf("ListClusters() = %d arns, nextToken %v; want %d and no token", len(out.ClusterArns), out.NextToken, len(want))
		}
	})

	for _, tc := range []struct {
		name string
		in   ecs.ListClustersInput
	}{
		{"garbage token", ecs.ListClustersInput{NextToken: aws.String("not-a-token")}},
		{"base64 of nothing useful", ecs.ListClustersInput{NextToken: aws.String("e30")}},
		{"maxResults 0", ecs.ListClustersInput{MaxResults: aws.Int32(0)}},
		{"maxResults 101", ecs.ListClustersInput{MaxResults: aws.Int32(101)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListClusters(ctx, &tc.in)
			wantError(t, "ListClusters("+tc.name+")", err, "InvalidParameterException", "")
		})
	}
}

func TestUpdateCluster(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: tags("a", "b")})

	out, err := c.UpdateCluster(ctx, &ecs.UpdateClusterInput{
		Cluster:  aws.String(clusterARN("web")),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
		Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{
			Logging: types.ExecuteCommandLoggingNone,
		}},
		ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("svc")},
	})
	if err != nil {
		t.Fatalf("UpdateCluster(web) = %v", err)
	}
	for _, got := range []struct {
		call string
		cl   types.Cluster
	}{{"UpdateCluster", *out.Cluster}, {"DescribeClusters", describeCluster(t, c, "web")}} {
		cl := got.cl
		if settingsMap(cl.Settings)["containerInsights"] != "enabled" {
			t.Errorf("%s(web).settings = %v; want containerInsights enabled", got.call, settingsMap(cl.Settings))
		}
		if cl.Configuration == nil || cl.Configuration.ExecuteCommandConfiguration == nil || cl.Configuration.ExecuteCommandConfiguration.Logging != types.ExecuteCommandLoggingNone {
			t.Errorf("%s(web).configuration = %+v; want logging NONE", got.call, cl.Configuration)
		}
		if cl.ServiceConnectDefaults == nil || aws.ToString(cl.ServiceConnectDefaults.Namespace) != "svc" {
			t.Errorf("%s(web).serviceConnectDefaults = %+v; want svc", got.call, cl.ServiceConnectDefaults)
		}
		if tagMap(cl.Tags)["a"] != "b" {
			t.Errorf("%s(web).tags = %v; want a=b kept", got.call, tagMap(cl.Tags))
		}
	}

	// An update that leaves a part out keeps it.
	if _, err := c.UpdateCluster(ctx, &ecs.UpdateClusterInput{
		Cluster:  aws.String("web"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}},
	}); err != nil {
		t.Fatal(err)
	}
	cl := describeCluster(t, c, "web")
	if settingsMap(cl.Settings)["containerInsights"] != "disabled" || cl.Configuration == nil || cl.ServiceConnectDefaults == nil {
		t.Errorf("after UpdateCluster(settings only): settings %v configuration %+v serviceConnect %+v; want new settings, the rest kept", settingsMap(cl.Settings), cl.Configuration, cl.ServiceConnectDefaults)
	}

	// An empty namespace removes the Service Connect defaults.
	out, err = c.UpdateCluster(ctx, &ecs.UpdateClusterInput{
		Cluster:                aws.String("web"),
		ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("")},
	})
	if err != nil {
		t.Fatalf("UpdateCluster(web, namespace \"\") = %v", err)
	}
	if out.Cluster.ServiceConnectDefaults != nil || describeCluster(t, c, "web").ServiceConnectDefaults != nil {
		t.Errorf("UpdateCluster(web, namespace \"\").serviceConnectDefaults = %+v; want none", out.Cluster.ServiceConnectDefaults)
	}
	_, err = c.UpdateCluster(ctx, &ecs.UpdateClusterInput{
		Cluster:                aws.String("web"),
		ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("a/b")},
	})
	wantError(t, "UpdateCluster(web, namespace a/b)", err, "InvalidParameterException", "")

	_, err = c.UpdateCluster(ctx, &ecs.UpdateClusterInput{
		Cluster:  aws.String("web"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("maybe")}},
	})
	wantError(t, "UpdateCluster(web, containerInsights=maybe)", err, "InvalidParameterException", "")
	if got := settingsMap(describeCluster(t, c, "web").Settings)["containerInsights"]; got != "disabled" {
		t.Errorf("after a rejected UpdateCluster, containerInsights = %q; want disabled", got)
	}

	_, err = c.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("nope")})
	var nf *types.ClusterNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("UpdateCluster(nope) = %v; want ClusterNotFoundException", err)
	}
}

func TestUpdateClusterSettings(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web")})

	out, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{
		Cluster:  aws.String("web"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enhanced")}},
	})
	if err != nil {
		t.Fatalf("UpdateClusterSettings(web) = %v", err)
	}
	if got := settingsMap(out.Cluster.Settings); !reflect.DeepEqual(got, map[string]string{"containerInsights": "enhanced"}) {
		t.Errorf("UpdateClusterSettings(web).settings = %v; want containerInsights=enhanced only", got)
	}
	if got := settingsMap(describeCluster(t, c, "web").Settings)["containerInsights"]; got != "enhanced" {
		t.Errorf("DescribeClusters(web) containerInsights = %q; want enhanced", got)
	}

	_, err = c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{
		Cluster:  aws.String("web"),
		Settings: []types.ClusterSetting{{Name: "colour", Value: aws.String("blue")}},
	})
	wantError(t, "UpdateClusterSettings(web, colour)", err, "InvalidParameterException", "")

	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{
		Cluster:  aws.String("web"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
	})
	wantError(t, "UpdateClusterSettings(deleted web)", err, "ClusterNotFoundException", "")
}

func TestDeleteCluster(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: tags("k", "v")})
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("api")})

	out, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(clusterARN("web"))})
	if err != nil {
		t.Fatalf("DeleteCluster(web ARN) = %v", err)
	}
	if got := aws.ToString(out.Cluster.Status); got != "INACTIVE" {
		t.Errorf("DeleteCluster(web).status = %q; want INACTIVE", got)
	}
	if got := aws.ToString(out.Cluster.ClusterArn); got != clusterARN("web") {
		t.Errorf("DeleteCluster(web).clusterArn = %q; want %q", got, clusterARN("web"))
	}

	_, err = c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("web")})
	var nf *types.ClusterNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DeleteCluster(web) again = %v; want ClusterNotFoundException", err)
	}
	_, err = c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("never")})
	wantError(t, "DeleteCluster(never)", err, "ClusterNotFoundException", "")

	if got := aws.ToString(describeCluster(t, c, "web").Status); got != "INACTIVE" {
		t.Errorf("DescribeClusters(web) after delete: status %q; want INACTIVE", got)
	}
	if got := aws.ToString(describeCluster(t, c, "api").Status); got != "ACTIVE" {
		t.Errorf("DescribeClusters(api) after deleting web: status %q; want ACTIVE", got)
	}
	list, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{clusterARN("api")}; !slices.Equal(list.ClusterArns, want) {
		t.Errorf("ListClusters() after delete = %v; want %v", list.ClusterArns, want)
	}
}
