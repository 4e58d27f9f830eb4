package ecs

import (
	"context"
	"slices"

	"github.com/berthhq/berth/internal/awsapi"
)

// CapacityProvider is the ECS capacity provider shape.
type CapacityProvider struct {
	CapacityProviderArn string `json:"capacityProviderArn"`
	Name                string `json:"name"`
	Status              string `json:"status"`
	Tags                []Tag  `json:"tags,omitzero"`
}

type DescribeCapacityProvidersInput struct {
	CapacityProviders []string `json:"capacityProviders"`
	Cluster           *string  `json:"cluster"`
	Include           []string `json:"include"`
	MaxResults        *int32   `json:"maxResults"`
	NextToken         *string  `json:"nextToken"`
}
type DescribeCapacityProvidersOutput struct {
	CapacityProviders []CapacityProvider `json:"capacityProviders"`
	Failures          []Failure          `json:"failures"`
	NextToken         *string            `json:"nextToken,omitempty"`
}

// DescribeCapacityProviders describes capacity providers. The reserved
// FARGATE and FARGATE_SPOT providers exist in every tenancy; with cluster,
// only the providers associated with that cluster are described.
func (a *API) DescribeCapacityProviders(ctx context.Context, in *DescribeCapacityProvidersInput) (*DescribeCapacityProvidersOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if _, err := includeTags(in.Include); err != nil {
		return nil, err
	}
	if len(in.CapacityProviders) > 100 {
		return nil, invalidParam("capacityProviders can have at most 100 items.")
	}
	withTags := slices.Contains(in.Include, "TAGS")
	n, err := pageSize(in.MaxResults, 10, 10)
	if in.MaxResults != nil && err != nil {
		return nil, invalidParam("maxResults must be between 1 and 10.")
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	exists := isFargateProvider
	if in.Cluster != nil && *in.Cluster != "" {
		cl, err := a.activeCluster(a.store.Snapshot(), c, in.Cluster)
		if err != nil {
			return nil, err
		}
		exists = func(name string) bool { return slices.Contains(cl.CapacityProviders, name) }
	}
	view := func(name string) CapacityProvider {
		p := CapacityProvider{CapacityProviderArn: capacityProviderARN(c.Region, c.Account, name), Name: name, Status: "ACTIVE"}
		if withTags {
			p.Tags = []Tag{}
		}
		return p
	}
	out := &DescribeCapacityProvidersOutput{CapacityProviders: []CapacityProvider{}, Failures: []Failure{}}
	if len(in.CapacityProviders) > 0 {
		for _, ref := range in.CapacityProviders {
			name, ok := resolveName(ref, "capacity-provider", c.Account, c.Region)
			if !ok || !exists(name) {
				arn := ref
				if !isARN(ref) {
					arn = capacityProviderARN(c.Region, c.Account, ref)
				}
				out.Failures = append(out.Failures, Failure{Arn: ptr(arn), Reason: ptr("MISSING")})
				continue
			}
			out.CapacityProviders = append(out.CapacityProviders, view(name))
		}
		return out, nil
	}
	all := func(yield func(string) bool) {
		for _, name := range []string{"FARGATE", "FARGATE_SPOT"} {
			if name > after && exists(name) && !yield(name) {
				return
			}
		}
	}
	page, next := paginate(all, n, func(s string) string { return s })
	for _, name := range page {
		out.CapacityProviders = append(out.CapacityProviders, view(name))
	}
	out.NextToken = next
	return out, nil
}
