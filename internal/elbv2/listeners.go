package elbv2

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/lb"
)

// maxListeners is how many listeners one load balancer has at most.
const maxListeners = 50

type createListenerInput struct {
	LoadBalancerARN      *string       `query:"LoadBalancerArn"`
	Protocol             *string       `query:"Protocol"`
	Port                 *int32        `query:"Port"`
	DefaultActions       []action      `query:"DefaultActions"`
	Certificates         []certificate `query:"Certificates"`
	SSLPolicy            *string       `query:"SslPolicy"`
	ALPNPolicy           []string      `query:"AlpnPolicy"`
	MutualAuthentication *opaque       `query:"MutualAuthentication"`
	Tags                 []tag         `query:"Tags"`
}

type listenersOutput struct {
	Listeners []listenerOut `query:"Listeners"`
}

// checkProtocol checks a listener protocol against its load balancer's
// type and what Berth's data plane serves.
func checkProtocol(lbType, protocol string, certs []certificate) *awsapi.Error {
	switch protocol {
	case "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC":
	default:
		return validationError("1 validation error detected: Value '%s' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE, QUIC, TCP_QUIC]", clip(protocol, 64))
	}
	if lbType == typeApplication && protocol != "HTTP" && protocol != "HTTPS" ||
		lbType == typeNetwork && (protocol == "HTTP" || protocol == "HTTPS" || protocol == "GENEVE") {
		return apiError("UnsupportedProtocol", "The protocol '%s' is not supported by load balancers of type '%s'", protocol, lbType)
	}
	switch protocol {
	case "HTTPS", "TLS":
		if len(certs) == 0 {
			return validationError("A certificate must be specified for %s listeners", protocol)
		}
		return apiError("CertificateNotFound", "Certificate '%s' not found: Berth has no certificate store yet, so it cannot serve %s listeners", deref(certs[0].CertificateARN), protocol)
	case "UDP", "TCP_UDP", "QUIC", "TCP_QUIC":
		return apiError("UnsupportedProtocol", "Berth's network load balancers do not support the %s protocol yet; use TCP", protocol)
	}
	return nil
}

func defaultProtocol(lbType string) string {
	if lbType == typeNetwork {
		return "TCP"
	}
	return "HTTP"
}

// bindFor binds l ahead of the write that creates or changes it, so that a
// port Berth cannot listen on fails the request. Called with a.mu held.
func (a *API) bindFor(l lb.Listener) *awsapi.Error {
	if err := a.plane.Bind(l); err != nil {
		return apiError("InvalidConfigurationRequest", "%s", bindError(l.Port, err))
	}
	return nil
}

// restore puts the plane back as it was for listener arn after a change
// that did not commit. Called with a.mu held.
func (a *API) restore(arn string) {
	if old, ok := a.applied.listeners[arn]; ok {
		if err := a.plane.Bind(old); err != nil {
			a.log.Warn("rebind listener", "listener", arn, "err", err)
			delete(a.applied.listeners, arn)
			a.applied.failed[arn] = old
		}
		return
	}
	a.plane.Unbind(arn)
}

// tgOps adds to o a rewrite, unchanged, of each target group, so that the
// write fails if one was deleted or changed meanwhile.
func tgOps(o *ops, tgs []*tgDoc) {
	seen := map[string]bool{}
	for _, t := range tgs {
		if !seen[t.key()] {
			seen[t.key()] = true
			o.put(t.key(), t.index, t)
		}
	}
}

func (a *API) createListener(ctx context.Context, in *createListenerInput) (*listenersOutput, error) {
	c := awsapi.CallerFrom(ctx)
	lbArn, aerr := lbRef(in.LoadBalancerARN)
	if aerr != nil {
		return nil, aerr
	}
	if in.Port == nil {
		return nil, required("port")
	}
	if aerr := checkPort(*in.Port, "port"); aerr != nil {
		return nil, aerr
	}
	tags, aerr := tagsIn(in.Tags)
	if aerr != nil {
		return nil, aerr
	}
	id, ruleID := newID(), newID()

	a.mu.Lock()
	defer a.mu.Unlock()
	var bound *lb.Listener // what this call bound, to undo if it fails
	got, err := retryConflicts(ctx, func() (*listenerDoc, error) {
		v := a.view(c.Account, c.Region)
		owner := v.lbByARN(lbArn)
		if owner == nil {
			return nil, lbNotFound()
		}
		protocol := defaultProtocol(owner.Type)
		if in.Protocol != nil {
			protocol = *in.Protocol
		}
		if aerr := checkProtocol(owner.Type, protocol, in.Certificates); aerr != nil {
			return nil, aerr
		}
		acts, tgs, aerr := actionsIn(actionCtx{v: v, lb: owner, member: "defaultActions"}, in.DefaultActions)
		if aerr != nil {
			return nil, aerr
		}
		doc := &listenerDoc{
			Account: c.Account, Region: c.Region, ID: id, LBName: owner.Name, LBID: owner.ID, LBType: owner.Type,
			Protocol: protocol, Port: *in.Port, DefaultActions: acts, DefaultRuleID: ruleID,
			ALPNPolicy: in.ALPNPolicy, SSLPolicy: deref(in.SSLPolicy), Tags: tags,
		}
		existing := v.listenersOf(owner)
		for _, old := range existing {
			if old.Port != doc.Port {
				continue
			}
			// Creating is idempotent: the same settings return the
			// existing listener.
			if old.Protocol == doc.Protocol && reflect.DeepEqual(old.DefaultActions, doc.DefaultActions) {
				return old, nil
			}
			return nil, apiError("DuplicateListener", "A listener already exists on port %d of load balancer '%s'", doc.Port, lbArn)
		}
		if len(existing) >= maxListeners {
			return nil, apiError("TooManyListeners", "You've reached the limit on the number of listeners per load balancer (%d)", maxListeners)
		}
		l := translateListener(owner, doc)
		if bound == nil || !reflect.DeepEqual(*bound, l) {
			if aerr := a.bindFor(l); aerr != nil {
				if bound != nil {
					a.plane.Unbind(bound.ARN)
					bound = nil
				}
				return nil, aerr
			}
			bound = &l
		}
		var o ops
		o.put(doc.key(), 0, doc)
		o.put(owner.key(), owner.index, owner) // the load balancer still exists, unchanged
		tgOps(&o, tgs)
		return doc, a.commit(ctx, o)
	})
	if err != nil || got.ID != id {
		if bound != nil {
			a.plane.Unbind(bound.ARN)
		}
		if err != nil {
			return nil, err
		}
	}
	if bound != nil && got.ID == id {
		a.applied.listeners[bound.ARN] = *bound
	}
	a.syncLocked(a.desired(a.store.Snapshot(), nil))
	return &listenersOutput{Listeners: []listenerOut{got.out()}}, nil
}

type describeListenersInput struct {
	LoadBalancerARN *string  `query:"LoadBalancerArn"`
	ListenerARNs    []string `query:"ListenerArns"`
	Marker          *string  `query:"Marker"`
	PageSize        *int32   `query:"PageSize"`
}

type describeListenersOutput struct {
	Listeners  []listenerOut `query:"Listeners"`
	NextMarker *string       `query:"NextMarker"`
}

// listenerRef checks a ListenerArn member.
func listenerRef(arn *string, member string) (string, *awsapi.Error) {
	if arn == nil {
		return "", required(member)
	}
	if r, ok := parseARN(*arn); !ok || r.Kind != kindListener {
		return "", validationError("'%s' is not a valid listener ARN", clip(*arn, 256))
	}
	return *arn, nil
}

func (a *API) describeListeners(ctx context.Context, in *describeListenersInput) (*describeListenersOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if in.LoadBalancerARN != nil && len(in.ListenerARNs) > 0 {
		return nil, validationError("Listener ARNs and a load balancer ARN cannot be specified at the same time")
	}
	if in.LoadBalancerARN == nil && len(in.ListenerARNs) == 0 {
		return nil, validationError("You must specify either listener ARNs or a load balancer ARN")
	}
	n, after, err := pageArgs(in.PageSize, in.Marker)
	if err != nil {
		return nil, err
	}
	v := a.view(c.Account, c.Region)
	var ls []*listenerDoc
	if in.LoadBalancerARN != nil {
		arn, aerr := lbRef(in.LoadBalancerARN)
		if aerr != nil {
			return nil, aerr
		}
		owner := v.lbByARN(arn)
		if owner == nil {
			return nil, lbNotFound()
		}
		ls = v.listenersOf(owner)
	} else {
		for _, arn := range in.ListenerARNs {
			if _, aerr := listenerRef(&arn, "listenerArns"); aerr != nil {
				return nil, aerr
			}
			l := v.listenerByARN(arn)
			if l == nil {
				return nil, listenerNotFound()
			}
			ls = append(ls, l)
		}
	}
	// In port order; the ARN breaks ties between load balancers.
	key := func(l *listenerDoc) string { return fmt.Sprintf("%05d", l.Port) + " " + l.arn() }
	slices.SortFunc(ls, func(x, y *listenerDoc) int { return strings.Compare(key(x), key(y)) })
	ls = slices.CompactFunc(ls, func(x, y *listenerDoc) bool { return x.arn() == y.arn() })
	page, next := paginate(ls, n, after, key)
	out := &describeListenersOutput{Listeners: []listenerOut{}, NextMarker: next}
	for _, l := range page {
		out.Listeners = append(out.Listeners, l.out())
	}
	return out, nil
}

type modifyListenerInput struct {
	ListenerARN          *string       `query:"ListenerArn"`
	Protocol             *string       `query:"Protocol"`
	Port                 *int32        `query:"Port"`
	DefaultActions       []action      `query:"DefaultActions"`
	Certificates         []certificate `query:"Certificates"`
	SSLPolicy            *string       `query:"SslPolicy"`
	ALPNPolicy           []string      `query:"AlpnPolicy"`
	MutualAuthentication *opaque       `query:"MutualAuthentication"`
}

func (a *API) modifyListener(ctx context.Context, in *modifyListenerInput) (*listenersOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := listenerRef(in.ListenerARN, "listenerArn")
	if aerr != nil {
		return nil, aerr
	}
	if in.Port != nil {
		if aerr := checkPort(*in.Port, "port"); aerr != nil {
			return nil, aerr
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var bound *lb.Listener
	got, err := retryConflicts(ctx, func() (*listenerDoc, error) {
		v := a.view(c.Account, c.Region)
		l := v.listenerByARN(arn)
		if l == nil {
			return nil, listenerNotFound()
		}
		owner := v.lbByARN(l.lbARN())
		if owner == nil {
			return nil, listenerNotFound()
		}
		if in.Protocol != nil || in.Certificates != nil {
			protocol := l.Protocol
			if in.Protocol != nil {
				protocol = *in.Protocol
			}
			if aerr := checkProtocol(owner.Type, protocol, in.Certificates); aerr != nil {
				return nil, aerr
			}
			l.Protocol = protocol
		}
		var tgs []*tgDoc
		if in.DefaultActions != nil {
			acts, used, aerr := actionsIn(actionCtx{v: v, lb: owner, member: "defaultActions"}, in.DefaultActions)
			if aerr != nil {
				return nil, aerr
			}
			l.DefaultActions, tgs = acts, used
		}
		if in.Port != nil && *in.Port != l.Port {
			for _, other := range v.listenersOf(owner) {
				if other.ID != l.ID && other.Port == *in.Port {
					return nil, apiError("DuplicateListener", "A listener already exists on port %d of load balancer '%s'", *in.Port, owner.arn())
				}
			}
			l.Port = *in.Port
		}
		if in.SSLPolicy != nil {
			l.SSLPolicy = *in.SSLPolicy
		}
		if in.ALPNPolicy != nil {
			l.ALPNPolicy = in.ALPNPolicy
		}
		pl := translateListener(owner, l)
		if old, ok := a.applied.listeners[arn]; !ok || !reflect.DeepEqual(old, pl) {
			if bound == nil || !reflect.DeepEqual(*bound, pl) {
				if aerr := a.bindFor(pl); aerr != nil {
					if bound != nil {
						a.restore(arn)
						bound = nil
					}
					return nil, aerr
				}
				bound = &pl
			}
		}
		var o ops
		o.put(l.key(), l.index, l)
		tgOps(&o, tgs)
		return l, a.commit(ctx, o)
	})
	if err != nil {
		if bound != nil {
			a.restore(arn)
		}
		return nil, err
	}
	if bound != nil {
		a.applied.listeners[arn] = *bound
		delete(a.applied.failed, arn)
	}
	a.syncLocked(a.desired(a.store.Snapshot(), nil))
	return &listenersOutput{Listeners: []listenerOut{got.out()}}, nil
}

type deleteListenerInput struct {
	ListenerARN *string `query:"ListenerArn"`
}

type deleteListenerOutput struct{}

func (a *API) deleteListener(ctx context.Context, in *deleteListenerInput) (*deleteListenerOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := listenerRef(in.ListenerARN, "listenerArn")
	if aerr != nil {
		return nil, aerr
	}
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		l := a.view(c.Account, c.Region).listenerByARN(arn)
		if l == nil {
			return struct{}{}, listenerNotFound()
		}
		var o ops
		o.del(l.key(), l.index)
		return struct{}{}, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &deleteListenerOutput{}, nil
}

type describeListenerAttributesInput struct {
	ListenerARN *string `query:"ListenerArn"`
}

func (a *API) describeListenerAttributes(ctx context.Context, in *describeListenerAttributesInput) (*attributesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := listenerRef(in.ListenerARN, "listenerArn")
	if aerr != nil {
		return nil, aerr
	}
	l := a.view(c.Account, c.Region).listenerByARN(arn)
	if l == nil {
		return nil, listenerNotFound()
	}
	return &attributesOutput{Attributes: attributesOut(withDefaults(listenerAttrSpecs(l.LBType), l.Attributes))}, nil
}

type modifyListenerAttributesInput struct {
	ListenerARN *string     `query:"ListenerArn"`
	Attributes  []attribute `query:"Attributes"`
}

func (a *API) modifyListenerAttributes(ctx context.Context, in *modifyListenerAttributesInput) (*attributesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := listenerRef(in.ListenerARN, "listenerArn")
	if aerr != nil {
		return nil, aerr
	}
	got, err := retryConflicts(ctx, func() (*listenerDoc, error) {
		l := a.view(c.Account, c.Region).listenerByARN(arn)
		if l == nil {
			return nil, listenerNotFound()
		}
		set, aerr := applyAttributes("Listener", listenerAttrSpecs(l.LBType), listenerAttrSpecs(otherLBType(l.LBType)),
			"listeners of load balancers with type '"+l.LBType+"'", l.Attributes, in.Attributes)
		if aerr != nil {
			return nil, aerr
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
	return &attributesOutput{Attributes: attributesOut(withDefaults(listenerAttrSpecs(got.LBType), got.Attributes))}, nil
}
