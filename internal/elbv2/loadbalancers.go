package elbv2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
)

// Load balancer states.
const (
	stateProvisioning = "provisioning"
	stateActive       = "active"
)

const (
	schemeInternetFacing = "internet-facing"
	schemeInternal       = "internal"
)

// maxLoadBalancers is how many load balancers of one type a tenancy has at
// most (AWS's default quota).
const maxLoadBalancers = 50

// defaultVPC is the VPC id Berth reports for a tenancy's load balancers and
// target groups: there are no VPCs, but clients expect one.
func defaultVPC(account, region string) string {
	h := sha256.Sum256([]byte(account + "/" + region))
	return "vpc-" + hex.EncodeToString(h[:])[:17]
}

// hostedZone is the Route 53 zone of the load balancers' DNS names, by
// type, as AWS has it in us-east-1.
func hostedZone(lbType string) string {
	if lbType == typeNetwork {
		return "Z26RNL4JYFTOTI"
	}
	return "Z35SXDOTRQ7X7K"
}

func (l *lbDoc) out() loadBalancerOut {
	o := loadBalancerOut{
		LoadBalancerARN:       l.arn(),
		DNSName:               dnsName(l.Name, l.ID, l.Region, l.Scheme),
		CanonicalHostedZoneID: hostedZone(l.Type),
		CreatedTime:           l.Created,
		LoadBalancerName:      l.Name,
		Scheme:                l.Scheme,
		VPCID:                 l.VPCID,
		State:                 lbStateOut{Code: l.State},
		Type:                  l.Type,
		AvailabilityZones:     []availabilityZone{},
		IPAddressType:         l.IPAddressType,
	}
	for _, z := range l.Zones {
		az := availabilityZone{ZoneName: z.Zone, SubnetID: z.SubnetID}
		if z.AllocationID != "" || z.PrivateIPv4Address != "" || z.IPv6Address != "" {
			az.LoadBalancerAddresses = []lbAddress{{AllocationID: z.AllocationID, PrivateIPv4Address: z.PrivateIPv4Address, IPv6Address: z.IPv6Address}}
		}
		o.AvailabilityZones = append(o.AvailabilityZones, az)
	}
	if len(l.SecurityGroups) > 0 {
		o.SecurityGroups = slices.Clone(l.SecurityGroups)
	}
	return o
}

type createLoadBalancerInput struct {
	Name           *string         `query:"Name"`
	Type           *string         `query:"Type"`
	Scheme         *string         `query:"Scheme"`
	IPAddressType  *string         `query:"IpAddressType"`
	Subnets        []string        `query:"Subnets"`
	SubnetMappings []subnetMapping `query:"SubnetMappings"`
	SecurityGroups []string        `query:"SecurityGroups"`
	Tags           []tag           `query:"Tags"`
}

type loadBalancersOutput struct {
	LoadBalancers []loadBalancerOut `query:"LoadBalancers"`
}

// checkLBName applies AWS's rules for load balancer names.
func checkLBName(name string) *awsapi.Error {
	switch {
	case len(name) > 32:
		return validationError("The load balancer name '%s' cannot be longer than '32' characters", clip(name, 64))
	case name == "" || strings.IndexFunc(name, func(r rune) bool { return r > 127 || !alnum(byte(r)) && r != '-' }) >= 0:
		return validationError("The load balancer name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", name)
	case name[0] == '-' || name[len(name)-1] == '-':
		return validationError("The load balancer name '%s' cannot begin or end with a hyphen(-)", name)
	case strings.HasPrefix(name, "internal-"):
		return validationError("The load balancer name '%s' cannot begin with 'internal-'", name)
	}
	return nil
}

// zonesIn synthesises the availability zones of a new load balancer from
// its subnets: there are no VPCs, so the n-th subnet is in zone
// <region>a, b, c, .... Without subnets an application load balancer gets
// two zones and a network load balancer one.
func zonesIn(region, lbType string, subnets []string, mappings []subnetMapping) ([]zoneDoc, *awsapi.Error) {
	if len(subnets) > 0 && len(mappings) > 0 {
		return nil, validationError("You can specify subnets or subnet mappings, but not both")
	}
	var zones []zoneDoc
	letter := func(i int) string { return region + string(rune('a'+i%26)) }
	seen := map[string]bool{}
	add := func(z zoneDoc) *awsapi.Error {
		if z.SubnetID == "" {
			return validationError("A subnet ID must be specified for each subnet mapping")
		}
		if seen[z.SubnetID] {
			return validationError("Subnet '%s' is specified more than once", z.SubnetID)
		}
		seen[z.SubnetID] = true
		z.Zone = letter(len(zones))
		zones = append(zones, z)
		return nil
	}
	for _, s := range subnets {
		if err := add(zoneDoc{SubnetID: s}); err != nil {
			return nil, err
		}
	}
	for _, m := range mappings {
		if lbType == typeApplication && (m.AllocationID != nil || m.PrivateIPv4Address != nil || m.IPv6Address != nil) {
			return nil, validationError("Subnet mappings of application load balancers cannot specify addresses")
		}
		if err := add(zoneDoc{SubnetID: deref(m.SubnetID), AllocationID: deref(m.AllocationID),
			PrivateIPv4Address: deref(m.PrivateIPv4Address), IPv6Address: deref(m.IPv6Address)}); err != nil {
			return nil, err
		}
	}
	switch {
	case len(zones) == 1 && lbType == typeApplication:
		return nil, validationError("At least two subnets in two different Availability Zones must be specified")
	case len(zones) == 0 && lbType == typeApplication:
		zones = []zoneDoc{{Zone: letter(0)}, {Zone: letter(1)}}
	case len(zones) == 0:
		zones = []zoneDoc{{Zone: letter(0)}}
	}
	return zones, nil
}

func (a *API) createLoadBalancer(ctx context.Context, in *createLoadBalancerInput) (*loadBalancersOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if in.Name == nil {
		return nil, required("name")
	}
	name := *in.Name
	if err := checkLBName(name); err != nil {
		return nil, err
	}
	lbType := typeApplication
	if in.Type != nil {
		lbType = *in.Type
	}
	switch lbType {
	case typeApplication, typeNetwork:
	case "gateway":
		return nil, apiError("InvalidConfigurationRequest", "Berth does not support load balancers of type 'gateway'; use 'application' or 'network'")
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [application, network, gateway]", lbType)
	}
	scheme := schemeInternetFacing
	if in.Scheme != nil {
		scheme = *in.Scheme
	}
	if scheme != schemeInternetFacing && scheme != schemeInternal {
		return nil, validationError("1 validation error detected: Value '%s' at 'scheme' failed to satisfy constraint: Member must satisfy enum value set: [internet-facing, internal]", scheme)
	}
	ipType := "ipv4"
	if in.IPAddressType != nil {
		ipType = *in.IPAddressType
	}
	switch ipType {
	case "ipv4", "dualstack", "dualstack-without-public-ipv4":
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [ipv4, dualstack, dualstack-without-public-ipv4]", ipType)
	}
	zones, aerr := zonesIn(c.Region, lbType, in.Subnets, in.SubnetMappings)
	if aerr != nil {
		return nil, aerr
	}
	for _, sg := range in.SecurityGroups {
		if !strings.HasPrefix(sg, "sg-") {
			return nil, apiError("InvalidSecurityGroup", "Security group '%s' does not exist", sg)
		}
	}
	tags, aerr := tagsIn(in.Tags)
	if aerr != nil {
		return nil, aerr
	}
	doc := &lbDoc{
		Account: c.Account, Region: c.Region, Name: name, ID: newID(), Type: lbType, Scheme: scheme,
		IPAddressType: ipType, VPCID: defaultVPC(c.Account, c.Region), State: stateProvisioning,
		Created: a.now().UTC(), Zones: zones, SecurityGroups: slices.Clone(in.SecurityGroups), Tags: tags,
	}
	got, err := retryConflicts(ctx, func() (*lbDoc, error) {
		v := a.view(c.Account, c.Region)
		if old := v.lbByName(name); old != nil {
			// Creating is idempotent: the same settings return the existing
			// load balancer.
			if old.Type == doc.Type && old.Scheme == doc.Scheme && old.IPAddressType == doc.IPAddressType &&
				slices.Equal(old.Zones, doc.Zones) && slices.Equal(old.SecurityGroups, doc.SecurityGroups) {
				return old, nil
			}
			return nil, apiError("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists, but with different settings", name)
		}
		n := 0
		for _, l := range v.lbs() {
			if l.Type == lbType {
				n++
			}
		}
		if n >= maxLoadBalancers {
			return nil, apiError("TooManyLoadBalancers", "The quota for the number of load balancers of type '%s' has been reached (%d)", lbType, maxLoadBalancers)
		}
		var o ops
		o.put(doc.key(), 0, doc)
		return doc, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	return &loadBalancersOutput{LoadBalancers: []loadBalancerOut{got.out()}}, nil
}

type describeLoadBalancersInput struct {
	LoadBalancerARNs []string `query:"LoadBalancerArns"`
	Names            []string `query:"Names"`
	Marker           *string  `query:"Marker"`
	PageSize         *int32   `query:"PageSize"`
}

type describeLoadBalancersOutput struct {
	LoadBalancers []loadBalancerOut `query:"LoadBalancers"`
	NextMarker    *string           `query:"NextMarker"`
}

func (a *API) describeLoadBalancers(ctx context.Context, in *describeLoadBalancersInput) (*describeLoadBalancersOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if len(in.LoadBalancerARNs) > 0 && len(in.Names) > 0 {
		return nil, validationError("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	if len(in.LoadBalancerARNs) > 20 || len(in.Names) > 20 {
		return nil, validationError("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 20")
	}
	n, after, err := pageArgs(in.PageSize, in.Marker)
	if err != nil {
		return nil, err
	}
	v := a.view(c.Account, c.Region)
	var lbs []*lbDoc
	switch {
	case len(in.LoadBalancerARNs) > 0:
		for _, arn := range in.LoadBalancerARNs {
			if r, ok := parseARN(arn); !ok || r.Kind != kindLB {
				return nil, validationError("'%s' is not a valid load balancer ARN", clip(arn, 256))
			}
			l := v.lbByARN(arn)
			if l == nil {
				return nil, lbNotFound()
			}
			lbs = append(lbs, l)
		}
	case len(in.Names) > 0:
		for _, name := range in.Names {
			l := v.lbByName(name)
			if l == nil {
				return nil, lbNotFound()
			}
			lbs = append(lbs, l)
		}
	default:
		lbs = v.lbs()
	}
	slices.SortFunc(lbs, func(x, y *lbDoc) int { return strings.Compare(x.Name, y.Name) })
	lbs = slices.CompactFunc(lbs, func(x, y *lbDoc) bool { return x.Name == y.Name })
	page, next := paginate(lbs, n, after, func(l *lbDoc) string { return l.Name })
	out := &describeLoadBalancersOutput{LoadBalancers: []loadBalancerOut{}, NextMarker: next}
	for _, l := range page {
		out.LoadBalancers = append(out.LoadBalancers, l.out())
	}
	return out, nil
}

type deleteLoadBalancerInput struct {
	LoadBalancerARN *string `query:"LoadBalancerArn"`
}

type deleteLoadBalancerOutput struct{}

// lbRef checks a LoadBalancerArn member.
func lbRef(arn *string) (string, *awsapi.Error) {
	if arn == nil {
		return "", required("loadBalancerArn")
	}
	if r, ok := parseARN(*arn); !ok || r.Kind != kindLB {
		return "", validationError("'%s' is not a valid load balancer ARN", clip(*arn, 256))
	}
	return *arn, nil
}

// deleteLoadBalancer deletes a load balancer and its listeners (with their
// rules); its target groups stay. Deleting one that does not exist
// succeeds, as in AWS.
func (a *API) deleteLoadBalancer(ctx context.Context, in *deleteLoadBalancerInput) (*deleteLoadBalancerOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := lbRef(in.LoadBalancerARN)
	if aerr != nil {
		return nil, aerr
	}
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		v := a.view(c.Account, c.Region)
		l := v.lbByARN(arn)
		if l == nil {
			return struct{}{}, nil
		}
		if withDefaults(lbAttrSpecs(l.Type), l.Attributes)["deletion_protection.enabled"] == "true" {
			return struct{}{}, apiError("OperationNotPermitted", "Load balancer '%s' cannot be deleted because deletion protection is enabled", arn)
		}
		var o ops
		o.del(l.key(), l.index)
		for _, ld := range v.listenersOf(l) {
			o.del(ld.key(), ld.index)
		}
		return struct{}{}, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &deleteLoadBalancerOutput{}, nil
}

type describeLoadBalancerAttributesInput struct {
	LoadBalancerARN *string `query:"LoadBalancerArn"`
}

type attributesOutput struct {
	Attributes []attribute `query:"Attributes"`
}

func (a *API) describeLoadBalancerAttributes(ctx context.Context, in *describeLoadBalancerAttributesInput) (*attributesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := lbRef(in.LoadBalancerARN)
	if aerr != nil {
		return nil, aerr
	}
	l := a.view(c.Account, c.Region).lbByARN(arn)
	if l == nil {
		return nil, lbNotFound()
	}
	return &attributesOutput{Attributes: attributesOut(withDefaults(lbAttrSpecs(l.Type), l.Attributes))}, nil
}

type modifyLoadBalancerAttributesInput struct {
	LoadBalancerARN *string     `query:"LoadBalancerArn"`
	Attributes      []attribute `query:"Attributes"`
}

func otherLBType(t string) string {
	if t == typeNetwork {
		return typeApplication
	}
	return typeNetwork
}

func (a *API) modifyLoadBalancerAttributes(ctx context.Context, in *modifyLoadBalancerAttributesInput) (*attributesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := lbRef(in.LoadBalancerARN)
	if aerr != nil {
		return nil, aerr
	}
	got, err := retryConflicts(ctx, func() (*lbDoc, error) {
		l := a.view(c.Account, c.Region).lbByARN(arn)
		if l == nil {
			return nil, lbNotFound()
		}
		specs := lbAttrSpecs(l.Type)
		set, aerr := applyAttributes("Load balancer", specs, lbAttrSpecs(otherLBType(l.Type)),
			fmt.Sprintf("load balancers with type '%s'", l.Type), l.Attributes, in.Attributes)
		if aerr != nil {
			return nil, aerr
		}
		all := withDefaults(specs, set)
		for _, logs := range []string{"access_logs", "connection_logs", "health_check_logs"} {
			if all[logs+".s3.enabled"] == "true" && all[logs+".s3.bucket"] == "" {
				return nil, apiError("InvalidConfigurationRequest", "The value of '%s.s3.bucket' cannot be empty when '%s.s3.enabled' is true", logs, logs)
			}
		}
		l.Attributes = set
		var o ops
		o.put(l.key(), l.index, l)
		return l, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &attributesOutput{Attributes: attributesOut(withDefaults(lbAttrSpecs(got.Type), got.Attributes))}, nil
}
