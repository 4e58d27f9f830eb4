package ecs_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func strategyOf(cl types.Cluster) []string {
	var out []string
	for _, s := range cl.DefaultCapacityProviderStrategy {
		out = append(out, fmt.Sprintf("%s base %d weight %d", aws.ToString(s.CapacityProvider), s.Base, s.Weight))
	}
	return out
}

func item(provider string, base, weight int32) types.CapacityProviderStrategyItem {
	return types.CapacityProviderStrategyItem{CapacityProvider: aws.String(provider), Base: base, Weight: weight}
}

func TestPutClusterCapacityProviders(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("zero")})

	out, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
		Cluster:                         aws.String("web"),
		CapacityProviders:               []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{item("FARGATE", 1, 1), item("FARGATE_SPOT", 0, 3)},
	})
	if err != nil {
		t.Fatalf("PutClusterCapacityProviders(web) = %v", err)
	}
	wantProviders := []string{"FARGATE", "FARGATE_SPOT"}
	wantStrategy := []string{"FARGATE base 1 weight 1", "FARGATE_SPOT base 0 weight 3"}
	for _, got := range []struct {
		call string
		cl   types.Cluster
	}{{"PutClusterCapacityProviders", *out.Cluster}, {"DescribeClusters", describeCluster(t, c, "web")}} {
		if !slices.Equal(got.cl.CapacityProviders, wantProviders) {
			t.Errorf("%s(web).capacityProviders = %v; want %v", got.call, got.cl.CapacityProviders, wantProviders)
		}
		if s := strategyOf(got.cl); !slices.Equal(s, wantStrategy) {
			t.Errorf("%s(web).defaultCapacityProviderStrategy = %v; want %v", got.call, s, wantStrategy)
		}
	}

	rejected := []struct {
		name      string
		providers []string
		strategy  []types.CapacityProviderStrategyItem
		msg       string
	}{
		{"unknown provider", []string{"FARGATE", "my-asg"}, []types.CapacityProviderStrategyItem{item("FARGATE", 0, 1)},
			"The specified capacity provider was not found. Specify a valid capacity provider and try again."},
		{"provider twice", []string{"FARGATE", "FARGATE"}, []types.CapacityProviderStrategyItem{}, ""},
		{"strategy names a provider not attached", []string{"FARGATE"}, []types.CapacityProviderStrategyItem{item("FARGATE_SPOT", 0, 1)},
			"The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."},
		{"two bases", []string{"FARGATE", "FARGATE_SPOT"}, []types.CapacityProviderStrategyItem{item("FARGATE", 1, 1), item("FARGATE_SPOT", 2, 1)}, ""},
		{"weight over 1000", []string{"FARGATE"}, []types.CapacityProviderStrategyItem{item("FARGATE", 0, 1001)}, ""},
		{"base over 100000", []string{"FARGATE"}, []types.CapacityProviderStrategyItem{item("FARGATE", 100001, 1)}, ""},
		{"negative weight", []string{"FARGATE"}, []types.CapacityProviderStrategyItem{item("FARGATE", 0, -1)}, ""},
		{"seven providers in the strategy", []string{"FARGATE", "FARGATE_SPOT"}, []types.CapacityProviderStrategyItem{
			item("FARGATE", 0, 1), item("FARGATE", 0, 1), item("FARGATE", 0, 1), item("FARGATE", 0, 1), item("FARGATE", 0, 1), item("FARGATE", 0, 1), item("FARGATE", 0, 1),
		}, ""},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
				Cluster: aws.String("web"), CapacityProviders: tc.providers, DefaultCapacityProviderStrategy: tc.strategy,
			})
			wantError(t, "PutClusterCapacityProviders("+tc.name+")", err, "InvalidParameterException", tc.msg)
			cl := describeCluster(t, c, "web")
			if !slices.Equal(cl.CapacityProviders, wantProviders) || !slices.Equal(strategyOf(cl), wantStrategy) {
				t.Errorf("after a rejected PutClusterCapacityProviders: providers %v strategy %v; want %v %v unchanged", cl.CapacityProviders, strategyOf(cl), wantProviders, wantStrategy)
			}
		})
	}

	// ECS accepts a default strategy whose weights are all 0; only RunTask
	// and CreateService refuse to use it.
	t.Run("all weights zero", func(t *testing.T) {
		out, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
			Cluster: aws.String("zero"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{item("FARGATE", 0, 0), item("FARGATE_SPOT", 0, 0)},
		})
		if err != nil {
			t.Fatalf("PutClusterCapacityProviders(zero, all weights 0) = %v", err)
		}
		if got, want := strategyOf(*out.Cluster), []string{"FARGATE base 0 weight 0", "FARGATE_SPOT base 0 weight 0"}; !slices.Equal(got, want) {
			t.Errorf("PutClusterCapacityProviders(zero, all weights 0) strategy = %v; want %v", got, want)
		}
	})

	t.Run("unknown cluster", func(t *testing.T) {
		_, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
			Cluster: aws.String("nope"), CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{},
		})
		wantError(t, "PutClusterCapacityProviders(nope)", err, "ClusterNotFoundException", "")
	})

	t.Run("remove all", func(t *testing.T) {
		out, err := c.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
			Cluster: aws.String(clusterARN("web")), CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{},
		})
		if err != nil {
			t.Fatalf("PutClusterCapacityProviders(web, none) = %v", err)
		}
		if out.Cluster.CapacityProviders == nil || len(out.Cluster.CapacityProviders) != 0 || len(out.Cluster.DefaultCapacityProviderStrategy) != 0 {
			t.Errorf("PutClusterCapacityProviders(web, none) = providers %#v strategy %v; want empty lists", out.Cluster.CapacityProviders, strategyOf(*out.Cluster))
		}
	})
}

func TestDescribeCapacityProviders(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	arn := func(name string) string { return "arn:aws:ecs:us-east-1:" + account + ":capacity-provider/" + name }
	names := func(ps []types.CapacityProvider) []string {
		var out []string
		for _, p := range ps {
			out = append(out, aws.ToString(p.Name)+" "+aws.ToString(p.CapacityProviderArn)+" "+string(p.Status))
		}
		return out
	}

	out, err := c.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{})
	if err != nil {
		t.Fatalf("DescribeCapacityProviders() = %v", err)
	}
	want := []string{"FARGATE " + arn("FARGATE") + " ACTIVE", "FARGATE_SPOT " + arn("FARGATE_SPOT") + " ACTIVE"}
	if got := names(out.CapacityProviders); !slices.Equal(got, want) {
		t.Errorf("DescribeCapacityProviders() = %v; want %v", got, want)
	}

	out, err = c.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{
		CapacityProviders: []string{"FARGATE_SPOT", "my-asg", arn("FARGATE")},
		Include:           []types.CapacityProviderField{types.CapacityProviderFieldTags},
	})
	if err != nil {
		t.Fatalf("DescribeCapacityProviders(FARGATE_SPOT, my-asg, FARGATE ARN) = %v", err)
	}
	if got, want := names(out.CapacityProviders), []string{want[1], want[0]}; !slices.Equal(got, want) {
		t.Errorf("DescribeCapacityProviders(FARGATE_SPOT, my-asg, FARGATE ARN) = %v; want %v", got, want)
	}
	if got, want := failures(out.Failures), []string{arn("my-asg") + " MISSING"}; !slices.Equal(got, want) {
		t.Errorf("DescribeCapacityProviders(...) failures = %v; want %v", got, want)
	}
	for _, p := range out.CapacityProviders {
		if p.Tags == nil {
			t.Errorf("DescribeCapacityProviders(include TAGS) %s tags = nil; want []", aws.ToString(p.Name))
		}
	}

	// Paging over the two reserved providers, one at a time (the SDK has
	// no paginator for this operation).
	var got []string
	in := &ecs.DescribeCapacityProvidersInput{MaxResults: aws.Int32(1)}
	for page := 1; ; page++ {
		out, err := c.DescribeCapacityProviders(ctx, in)
		if err != nil {
			t.Fatalf("DescribeCapacityProviders(maxResults 1) page %d = %v", page, err)
		}
		if len(out.CapacityProviders) > 1 || page > 3 {
			t.Fatalf("DescribeCapacityProviders(maxResults 1) page %d = %d items", page, len(out.CapacityProviders))
		}
		got = append(got, names(out.CapacityProviders)...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if !slices.Equal(got, want) {
		t.Errorf("DescribeCapacityProviders(maxResults 1) pages = %v; want %v", got, want)
	}

	t.Run("cluster", func(t *testing.T) {
		createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("spot"), CapacityProviders: []string{"FARGATE_SPOT"}})
		out, err := c.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{Cluster: aws.String("spot")})
		if err != nil {
			t.Fatalf("DescribeCapacityProviders(cluster spot) = %v", err)
		}
		if got, want := names(out.CapacityProviders), want[1:]; !slices.Equal(got, want) {
			t.Errorf("DescribeCapacityProviders(cluster spot) = %v; want %v", got, want)
		}
		out, err = c.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{Cluster: aws.String("spot"), CapacityProviders: []string{"FARGATE"}})
		if err != nil {
			t.Fatalf("DescribeCapacityProviders(cluster spot, FARGATE) = %v", err)
		}
		if got, want := failures(out.Failures), []string{arn("FARGATE") + " MISSING"}; len(out.CapacityProviders) != 0 || !slices.Equal(got, want) {
			t.Errorf("DescribeCapacityProviders(cluster spot, FARGATE) = %v, failures %v; want failures %v", names(out.CapacityProviders), got, want)
		}
		_, err = c.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{Cluster: aws.String("nope")})
		wantError(t, "DescribeCapacityProviders(cluster nope)", err, "ClusterNotFoundException", "")
	})

	for _, tc := range []struct {
		name string
		in   ecs.DescribeCapacityProvidersInput
	}{
		{"101 names", ecs.DescribeCapacityProvidersInput{CapacityProviders: make([]string, 101)}},
		{"maxResults 11", ecs.DescribeCapacityProvidersInput{MaxResults: aws.Int32(11)}},
		{"bad token", ecs.DescribeCapacityProvidersInput{NextToken: aws.String("%%%")}},
		{"bad include", ecs.DescribeCapacityProvidersInput{Include: []types.CapacityProviderField{"ALL"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.DescribeCapacityProviders(ctx, &tc.in)
			wantError(t, "DescribeCapacityProviders("+tc.name+")", err, "InvalidParameterException", "")
		})
	}
}
