package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/state"
)

// KeyValuePair is ECS's name/value shape (cluster settings, statistics).
type KeyValuePair struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// CapacityProviderStrategyItem is one entry of a capacity provider strategy.
type CapacityProviderStrategyItem struct {
	CapacityProvider *string `json:"capacityProvider"`
	Weight           *int32  `json:"weight,omitempty"`
	Base             *int32  `json:"base,omitempty"`
}

// Cluster is the ECS cluster shape.
type Cluster struct {
	ClusterArn                        string                         `json:"clusterArn"`
	ClusterName                       string                         `json:"clusterName"`
	Configuration                     json.RawMessage                `json:"configuration,omitempty"`
	Status                            string                         `json:"status"`
	RegisteredContainerInstancesCount int32                          `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int32                          `json:"runningTasksCount"`
	PendingTasksCount                 int32                          `json:"pendingTasksCount"`
	ActiveServicesCount               int32                          `json:"activeServicesCount"`
	Statistics                        []KeyValuePair                 `json:"statistics,omitzero"`
	Tags                              []Tag                          `json:"tags,omitzero"`
	Settings                          []KeyValuePair                 `json:"settings,omitzero"`
	CapacityProviders                 []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy   []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	ServiceConnectDefaults            json.RawMessage                `json:"serviceConnectDefaults,omitempty"`
}

// Failure is an ECS per-item failure.
type Failure struct {
	Arn    *string `json:"arn,omitempty"`
	Reason *string `json:"reason,omitempty"`
	Detail *string `json:"detail,omitempty"`
}

// ClusterConfiguration is the cluster configuration shape, checked for type
// and stored as given.
type ClusterConfiguration struct {
	ExecuteCommandConfiguration *struct {
		KmsKeyID         *string `json:"kmsKeyId,omitempty"`
		Logging          *string `json:"logging,omitempty"`
		LogConfiguration *struct {
			CloudWatchLogGroupName      *string `json:"cloudWatchLogGroupName,omitempty"`
			CloudWatchEncryptionEnabled *bool   `json:"cloudWatchEncryptionEnabled,omitempty"`
			S3BucketName                *string `json:"s3BucketName,omitempty"`
			S3EncryptionEnabled         *bool   `json:"s3EncryptionEnabled,omitempty"`
			S3KeyPrefix                 *string `json:"s3KeyPrefix,omitempty"`
		} `json:"logConfiguration,omitempty"`
	} `json:"executeCommandConfiguration,omitempty"`
	ManagedStorageConfiguration *struct {
		KmsKeyID                        *string `json:"kmsKeyId,omitempty"`
		FargateEphemeralStorageKmsKeyID *string `json:"fargateEphemeralStorageKmsKeyId,omitempty"`
	} `json:"managedStorageConfiguration,omitempty"`
}

// ServiceConnectDefaultsRequest is the serviceConnectDefaults request shape.
type ServiceConnectDefaultsRequest struct {
	Namespace *string `json:"namespace"`
}

type CreateClusterInput struct {
	ClusterName                     *string                        `json:"clusterName"`
	Tags                            []Tag                          `json:"tags"`
	Settings                        []KeyValuePair                 `json:"settings"`
	Configuration                   *ClusterConfiguration          `json:"configuration"`
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	ServiceConnectDefaults          *ServiceConnectDefaultsRequest `json:"serviceConnectDefaults"`
}
type CreateClusterOutput struct {
	Cluster *Cluster `json:"cluster"`
}

type DescribeClustersInput struct {
	Clusters []string `json:"clusters"`
	Include  []string `json:"include"`
}
type DescribeClustersOutput struct {
	Clusters []*Cluster `json:"clusters"`
	Failures []Failure  `json:"failures"`
}

type ListClustersInput struct {
	NextToken  *string `json:"nextToken"`
	MaxResults *int32  `json:"maxResults"`
}
type ListClustersOutput struct {
	ClusterArns []string `json:"clusterArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

type UpdateClusterInput struct {
	Cluster                *string                        `json:"cluster"`
	Settings               []KeyValuePair                 `json:"settings"`
	Configuration          *ClusterConfiguration          `json:"configuration"`
	ServiceConnectDefaults *ServiceConnectDefaultsRequest `json:"serviceConnectDefaults"`
}
type UpdateClusterOutput struct {
	Cluster *Cluster `json:"cluster"`
}

type UpdateClusterSettingsInput struct {
	Cluster  *string        `json:"cluster"`
	Settings []KeyValuePair `json:"settings"`
}
type UpdateClusterSettingsOutput struct {
	Cluster *Cluster `json:"cluster"`
}

type DeleteClusterInput struct {
	Cluster *string `json:"cluster"`
}
type DeleteClusterOutput struct {
	Cluster *Cluster `json:"cluster"`
}

type PutClusterCapacityProvidersInput struct {
	Cluster                         *string                        `json:"cluster"`
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
}
type PutClusterCapacityProvidersOutput struct {
	Cluster *Cluster `json:"cluster"`
}

const defaultCluster = "default"

var clusterIncludes = []string{"ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"}

// clusterView renders a stored cluster; include selects the optional parts
// that DescribeClusters returns only when asked. A nil include is the view of
// the mutating calls (CreateCluster, UpdateCluster, ...), which AWS returns
// with tags, settings and configuration, and an empty statistics list.
func clusterView(snap *state.Snapshot, c *state.Cluster, include map[string]bool) *Cluster {
	counts := clusterCounts(snap, c)
	out := &Cluster{
		RegisteredContainerInstancesCount: counts.instances,
		RunningTasksCount:                 counts.running,
		PendingTasksCount:                 counts.pending,
		ActiveServicesCount:               counts.activeServices,
		ClusterArn:                        c.ARN,
		ClusterName:                       c.Name,
		Status:                            c.Status,
		CapacityProviders:                 append([]string{}, c.CapacityProviders...),
		DefaultCapacityProviderStrategy:   []CapacityProviderStrategyItem{},
		ServiceConnectDefaults:            c.ServiceConnectDefaults,
	}
	for _, s := range c.DefaultCapacityProviderStrategy {
		out.DefaultCapacityProviderStrategy = append(out.DefaultCapacityProviderStrategy, CapacityProviderStrategyItem{
			CapacityProvider: ptr(s.CapacityProvider), Weight: ptr(s.Weight), Base: ptr(s.Base),
		})
	}
	if include == nil || include["CONFIGURATIONS"] {
		out.Configuration = c.Configuration
	}
	if include == nil || include["SETTINGS"] {
		out.Settings = settingsView(c.Settings)
	}
	if include == nil || include["TAGS"] {
		out.Tags = wireTags(c.Tags)
	}
	if include == nil {
		out.Statistics = []KeyValuePair{}
	}
	if include["STATISTICS"] {
		out.Statistics = []KeyValuePair{}
		for _, name := range []string{
			"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount", "pendingFargateTasksCount",
			"activeEC2ServiceCount", "activeFargateServiceCount", "drainingEC2ServiceCount", "drainingFargateServiceCount",
		} {
			v := int32(0)
			switch name {
			case "runningEC2TasksCount":
				v = counts.running
			case "pendingEC2TasksCount":
				v = counts.pending
			case "activeEC2ServiceCount":
				v = counts.activeServices
			case "drainingEC2ServiceCount":
				v = counts.drainingServices
			}
			out.Statistics = append(out.Statistics, KeyValuePair{Name: ptr(name), Value: ptr(itoa(int64(v)))})
		}
	}
	return out
}

type counts struct {
	instances, running, pending      int32
	activeServices, drainingServices int32
}

// clusterCounts counts a cluster's registered instances, its tasks and its
// services by status.
func clusterCounts(snap *state.Snapshot, c *state.Cluster) counts {
	var n counts
	if snap == nil || c.Status != state.ClusterActive {
		return n
	}
	for i := range snap.ContainerInstances(c.Account, c.Region, c.Name, "") {
		if i.Status != state.InstanceInactive {
			n.instances++
		}
	}
	for t := range snap.Tasks(c.Account, c.Region, c.Name, "") {
		switch {
		case t.LastStatus == state.TaskRunning:
			n.running++
		case t.LastStatus != state.TaskStopped:
			n.pending++
		}
	}
	for s := range snap.Services(c.Account, c.Region, c.Name, "") {
		switch s.Status {
		case state.ServiceActive:
			n.activeServices++
		case state.ServiceDraining:
			n.drainingServices++
		}
	}
	return n
}

func settingsView(s []state.Setting) []KeyValuePair {
	out := []KeyValuePair{}
	for _, kv := range s {
		out = append(out, KeyValuePair{Name: ptr(kv.Name), Value: ptr(kv.Value)})
	}
	return out
}

// validateSettings checks cluster settings: containerInsights only.
func validateSettings(in []KeyValuePair, old []state.Setting) ([]state.Setting, error) {
	out := append([]state.Setting(nil), old...)
	for _, kv := range in {
		if kv.Name == nil || *kv.Name != "containerInsights" {
			name := ""
			if kv.Name != nil {
				name = *kv.Name
			}
			return nil, invalidParam("Invalid cluster setting name %q. Valid names: containerInsights.", name)
		}
		v := ""
		if kv.Value != nil {
			v = *kv.Value
		}
		if v != "enabled" && v != "disabled" && v != "enhanced" {
			return nil, invalidParam("Invalid value %q for cluster setting containerInsights. Valid values: enabled, disabled, enhanced.", v)
		}
		replaced := false
		for i := range out {
			if out[i].Name == *kv.Name {
				out[i].Value, replaced = v, true
			}
		}
		if !replaced {
			out = append(out, state.Setting{Name: *kv.Name, Value: v})
		}
	}
	return out, nil
}

func encodeConfiguration(c *ClusterConfiguration) (json.RawMessage, error) {
	if c == nil {
		return nil, nil
	}
	if c.ExecuteCommandConfiguration != nil && c.ExecuteCommandConfiguration.Logging != nil {
		switch *c.ExecuteCommandConfiguration.Logging {
		case "NONE", "DEFAULT", "OVERRIDE":
		default:
			return nil, invalidParam("Invalid value %q for executeCommandConfiguration.logging. Valid values: NONE, DEFAULT, OVERRIDE.", *c.ExecuteCommandConfiguration.Logging)
		}
	}
	return json.Marshal(c)
}

// encodeServiceConnect checks a serviceConnectDefaults request. An empty
// namespace asks for no Service Connect defaults: remove is true.
func encodeServiceConnect(s *ServiceConnectDefaultsRequest) (raw json.RawMessage, remove bool, err error) {
	if s == nil {
		return nil, false, nil
	}
	if s.Namespace == nil {
		return nil, false, invalidParam("serviceConnectDefaults.namespace must be specified.")
	}
	ns := *s.Namespace
	if ns == "" {
		return nil, true, nil
	}
	if len(ns) > 1024 || (!isARN(ns) && strings.ContainsAny(ns, `<>"/`)) {
		return nil, false, invalidParam("The namespace name can include up to 1024 characters and can't include greater than (>), less than (<), double quotation marks (\") or slash (/).")
	}
	// The response shape carries the namespace ARN; Cloud Map is not served
	// yet, so the namespace is kept as the caller named it.
	raw, err = json.Marshal(map[string]string{"namespace": ns})
	return raw, false, err
}

// CreateCluster creates a cluster, or returns the existing ACTIVE cluster of
// that name.
func (a *API) CreateCluster(ctx context.Context, in *CreateClusterInput) (*CreateClusterOutput, error) {
	c := awsapi.CallerFrom(ctx)
	name := defaultCluster
	if in.ClusterName != nil {
		name = *in.ClusterName
	}
	if !clusterNameRE.MatchString(name) {
		return nil, invalidParam("Cluster name can have up to 255 characters: letters (upper and lower case), numbers, underscores and hyphens.")
	}
	tags, err := validateTags(in.Tags)
	if err != nil {
		return nil, err
	}
	settings, err := validateSettings(in.Settings, nil)
	if err != nil {
		return nil, err
	}
	if len(settings) == 0 {
		settings = []state.Setting{{Name: "containerInsights", Value: "disabled"}}
	}
	conf, err := encodeConfiguration(in.Configuration)
	if err != nil {
		return nil, err
	}
	scd, _, err := encodeServiceConnect(in.ServiceConnectDefaults)
	if err != nil {
		return nil, err
	}
	providers, strategy, err := validateCapacityProviders(in.CapacityProviders, in.DefaultCapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	cl, err := state.Do[*state.Cluster](ctx, a.store, &state.CreateCluster{Cluster: &state.Cluster{
		Account: c.Account, Region: c.Region, Name: name,
		ARN:                             ecsARN(c.Region, c.Account, "cluster/"+name),
		Settings:                        settings,
		Configuration:                   conf,
		ServiceConnectDefaults:          scd,
		CapacityProviders:               providers,
		DefaultCapacityProviderStrategy: strategy,
		Tags:                            tags,
		CreatedAt:                       a.now().UTC(),
	}})
	if err != nil {
		return nil, err
	}
	return &CreateClusterOutput{Cluster: clusterView(a.store.Snapshot(), cl, nil)}, nil
}

// DescribeClusters describes clusters by name or ARN; unknown ones come back
// as MISSING failures.
func (a *API) DescribeClusters(ctx context.Context, in *DescribeClustersInput) (*DescribeClustersOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(in.Clusters) > 100 {
		return nil, invalidParam("clusters can have at most 100 items.")
	}
	include := map[string]bool{}
	for _, inc := range in.Include {
		if !slices.Contains(clusterIncludes, inc) {
			return nil, invalidParam("Invalid include value %q. Valid values: %s.", inc, strings.Join(clusterIncludes, ", "))
		}
		include[inc] = true
	}
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{defaultCluster}
	}
	snap := a.store.Snapshot()
	out := &DescribeClustersOutput{Clusters: []*Cluster{}, Failures: []Failure{}}
	for _, ref := range refs {
		name, ok := resolveName(ref, "cluster", c.Account, c.Region)
		var cl *state.Cluster
		if ok {
			cl = snap.Cluster(c.Account, c.Region, name)
		}
		if cl == nil {
			out.Failures = append(out.Failures, missing(ref, "cluster/", c))
			continue
		}
		out.Clusters = append(out.Clusters, clusterView(snap, cl, include))
	}
	return out, nil
}

func isARN(s string) bool { _, ok := ParseARN(s); return ok }

// ListClusters lists the ARNs of the ACTIVE clusters.
func (a *API) ListClusters(ctx context.Context, in *ListClustersInput) (*ListClustersOutput, error) {
	c := awsapi.CallerFrom(ctx)
	n, after, err := pageArgs(in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	snap := a.store.Snapshot()
	active := func(yield func(*state.Cluster) bool) {
		for cl := range snap.Clusters(c.Account, c.Region, after) {
			if cl.Status == state.ClusterActive && !yield(cl) {
				return
			}
		}
	}
	page, next := paginate(active, n, func(cl *state.Cluster) string { return cl.ID })
	out := &ListClustersOutput{ClusterArns: []string{}, NextToken: next}
	for _, cl := range page {
		out.ClusterArns = append(out.ClusterArns, cl.ARN)
	}
	return out, nil
}

// activeCluster resolves a cluster reference (default when nil) to an ACTIVE
// cluster, or ClusterNotFoundException.
func (a *API) activeCluster(snap *state.Snapshot, c *awsapi.Caller, ref *string) (*state.Cluster, error) {
	r := defaultCluster
	if ref != nil && *ref != "" {
		r = *ref
	}
	name, ok := resolveName(r, "cluster", c.Account, c.Region)
	if ok {
		if cl := snap.Cluster(c.Account, c.Region, name); cl != nil && cl.Status == state.ClusterActive {
			return cl, nil
		}
	}
	return nil, &awsapi.Error{Code: "ClusterNotFoundException", Message: "Cluster not found."}
}

// updateCluster applies mutate to a fresh copy of an ACTIVE cluster and
// writes it back, retrying when another writer got there first.
func (a *API) updateCluster(ctx context.Context, c *awsapi.Caller, ref string, mutate func(*state.Cluster) error) (*state.Cluster, error) {
	return retryConflicts(ctx, func() (*state.Cluster, error) {
		cl, err := a.activeCluster(a.store.Snapshot(), c, &ref)
		if err != nil {
			return nil, err
		}
		n := cl.Copy()
		if err := mutate(n); err != nil {
			return nil, err
		}
		return state.Do[*state.Cluster](ctx, a.store, &state.PutCluster{Cluster: n, ModifyIndex: cl.ModifyIndex})
	})
}

func required(v *string, member string) (string, error) {
	if v == nil || *v == "" {
		return "", invalidParam("%s must be specified.", member)
	}
	return *v, nil
}

// UpdateCluster changes a cluster's settings, configuration or Service
// Connect defaults.
func (a *API) UpdateCluster(ctx context.Context, in *UpdateClusterInput) (*UpdateClusterOutput, error) {
	ref, err := required(in.Cluster, "cluster")
	if err != nil {
		return nil, err
	}
	// Check the settings before looking the cluster up; they are applied to
	// the stored ones below.
	if _, err := validateSettings(in.Settings, nil); err != nil {
		return nil, err
	}
	conf, err := encodeConfiguration(in.Configuration)
	if err != nil {
		return nil, err
	}
	scd, removeSCD, err := encodeServiceConnect(in.ServiceConnectDefaults)
	if err != nil {
		return nil, err
	}
	cl, err := a.updateCluster(ctx, awsapi.CallerFrom(ctx), ref, func(n *state.Cluster) error {
		s, err := validateSettings(in.Settings, n.Settings)
		if err != nil {
			return err
		}
		n.Settings = s
		if conf != nil {
			n.Configuration = conf
		}
		if scd != nil || removeSCD {
			n.ServiceConnectDefaults = scd
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &UpdateClusterOutput{Cluster: clusterView(a.store.Snapshot(), cl, nil)}, nil
}

// UpdateClusterSettings changes a cluster's settings.
func (a *API) UpdateClusterSettings(ctx context.Context, in *UpdateClusterSettingsInput) (*UpdateClusterSettingsOutput, error) {
	ref, err := required(in.Cluster, "cluster")
	if err != nil {
		return nil, err
	}
	if in.Settings == nil {
		return nil, invalidParam("settings must be specified.")
	}
	if _, err := validateSettings(in.Settings, nil); err != nil {
		return nil, err
	}
	cl, err := a.updateCluster(ctx, awsapi.CallerFrom(ctx), ref, func(n *state.Cluster) error {
		s, err := validateSettings(in.Settings, n.Settings)
		n.Settings = s
		return err
	})
	if err != nil {
		return nil, err
	}
	return &UpdateClusterSettingsOutput{Cluster: clusterView(a.store.Snapshot(), cl, nil)}, nil
}

// DeleteCluster marks a cluster INACTIVE.
func (a *API) DeleteCluster(ctx context.Context, in *DeleteClusterInput) (*DeleteClusterOutput, error) {
	c := awsapi.CallerFrom(ctx)
	ref, err := required(in.Cluster, "cluster")
	if err != nil {
		return nil, err
	}
	cl, err := a.activeCluster(a.store.Snapshot(), c, &ref)
	if err != nil {
		return nil, err
	}
	deleted, err := state.Do[*state.Cluster](ctx, a.store, &state.DeleteCluster{Account: c.Account, Region: c.Region, Name: cl.Name})
	if err != nil {
		return nil, err
	}
	return &DeleteClusterOutput{Cluster: clusterView(a.store.Snapshot(), deleted, nil)}, nil
}

// PutClusterCapacityProviders sets a cluster's capacity providers and its
// default strategy.
func (a *API) PutClusterCapacityProviders(ctx context.Context, in *PutClusterCapacityProvidersInput) (*PutClusterCapacityProvidersOutput, error) {
	ref, err := required(in.Cluster, "cluster")
	if err != nil {
		return nil, err
	}
	if in.CapacityProviders == nil {
		return nil, invalidParam("capacityProviders must be specified.")
	}
	if in.DefaultCapacityProviderStrategy == nil {
		return nil, invalidParam("defaultCapacityProviderStrategy must be specified.")
	}
	providers, strategy, err := validateCapacityProviders(in.CapacityProviders, in.DefaultCapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	cl, err := a.updateCluster(ctx, awsapi.CallerFrom(ctx), ref, func(n *state.Cluster) error {
		n.CapacityProviders, n.DefaultCapacityProviderStrategy = providers, strategy
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &PutClusterCapacityProvidersOutput{Cluster: clusterView(a.store.Snapshot(), cl, nil)}, nil
}

// validateCapacityProviders checks a provider list and a default strategy as
// ECS does. Only the reserved FARGATE and FARGATE_SPOT providers exist until
// CreateCapacityProvider is served. A default strategy whose weights are all
// 0 is accepted: ECS refuses it only when RunTask or CreateService would use
// it ("There are no capacity providers with a weight value greater than zero
// defined in the default capacity provider strategy. ...").
func validateCapacityProviders(providers []string, strategy []CapacityProviderStrategyItem) ([]string, []state.CapacityProviderStrategyItem, error) {
	seen := map[string]bool{}
	for _, p := range providers {
		if !isFargateProvider(p) {
			return nil, nil, invalidParam("The specified capacity provider was not found. Specify a valid capacity provider and try again.")
		}
		if seen[p] {
			return nil, nil, invalidParam("The capacity provider %s is specified more than once.", p)
		}
		seen[p] = true
	}
	if len(strategy) > 6 {
		return nil, nil, invalidParam("A capacity provider strategy can contain at most 6 capacity providers.")
	}
	out := []state.CapacityProviderStrategyItem{}
	bases := 0
	for _, s := range strategy {
		if s.CapacityProvider == nil || *s.CapacityProvider == "" {
			return nil, nil, invalidParam("capacityProvider must be specified in each capacity provider strategy item.")
		}
		if !seen[*s.CapacityProvider] {
			return nil, nil, invalidParam("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		item := state.CapacityProviderStrategyItem{CapacityProvider: *s.CapacityProvider}
		if s.Weight != nil {
			if *s.Weight < 0 || *s.Weight > 1000 {
				return nil, nil, invalidParam("The weight of capacity provider %s must be between 0 and 1000.", item.CapacityProvider)
			}
			item.Weight = *s.Weight
		}
		if s.Base != nil {
			if *s.Base < 0 || *s.Base > 100000 {
				return nil, nil, invalidParam("The base of capacity provider %s must be between 0 and 100000.", item.CapacityProvider)
			}
			item.Base = *s.Base
			if item.Base > 0 {
				bases++
			}
		}
		out = append(out, item)
	}
	if bases > 1 {
		return nil, nil, invalidParam("Only one capacity provider in a capacity provider strategy can have a base specified.")
	}
	if providers == nil {
		providers = []string{}
	}
	return providers, out, nil
}

func isFargateProvider(name string) bool { return name == "FARGATE" || name == "FARGATE_SPOT" }

// capacityProviderARN is the ARN of a capacity provider.
func capacityProviderARN(region, account, name string) string {
	return ecsARN(region, account, fmt.Sprintf("capacity-provider/%s", name))
}
