package elbv2

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
)

// maxRules is how many rules, not counting default rules, one load
// balancer has at most.
const maxRules = 100

type createRuleInput struct {
	ListenerARN *string         `query:"ListenerArn"`
	Priority    *int32          `query:"Priority"`
	Conditions  []ruleCondition `query:"Conditions"`
	Actions     []action        `query:"Actions"`
	Transforms  []ruleTransform `query:"Transforms"`
	Tags        []tag           `query:"Tags"`
}

type rulesOutput struct {
	Rules []ruleOut `query:"Rules"`
}

func checkPriority(p int32, member string) *awsapi.Error {
	return outOfRange(p, member, 1, maxPriority)
}

func noTransforms(ts []ruleTransform) *awsapi.Error {
	if len(ts) > 0 {
		return apiError("InvalidConfigurationRequest", "Berth's load balancers do not support rule transforms yet")
	}
	return nil
}

// ruleRef checks a RuleArn member.
func ruleRef(arn *string, member string) (string, *awsapi.Error) {
	if arn == nil {
		return "", required(member)
	}
	if r, ok := parseARN(*arn); !ok || r.Kind != kindRule {
		return "", validationError("'%s' is not a valid listener rule ARN", clip(*arn, 256))
	}
	return *arn, nil
}

func priorityInUse(p int32) *awsapi.Error {
	return apiError("PriorityInUse", "Priority '%d' is currently in use", p)
}

func (a *API) createRule(ctx context.Context, in *createRuleInput) (*rulesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := listenerRef(in.ListenerARN, "listenerArn")
	if aerr != nil {
		return nil, aerr
	}
	if in.Priority == nil {
		return nil, required("priority")
	}
	if aerr := checkPriority(*in.Priority, "priority"); aerr != nil {
		return nil, aerr
	}
	if in.Conditions == nil {
		return nil, required("conditions")
	}
	conds, aerr := conditionsIn(in.Conditions)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := noTransforms(in.Transforms); aerr != nil {
		return nil, aerr
	}
	tags, aerr := tagsIn(in.Tags)
	if aerr != nil {
		return nil, aerr
	}
	id := newID()
	got, err := retryConflicts(ctx, func() (ruleOut, error) {
		v := a.view(c.Account, c.Region)
		l := v.listenerByARN(arn)
		if l == nil {
			return ruleOut{}, listenerNotFound()
		}
		owner := v.lbByARN(l.lbARN())
		if owner == nil {
			return ruleOut{}, listenerNotFound()
		}
		if owner.Type != typeApplication {
			return ruleOut{}, apiError("InvalidConfigurationRequest", "Rules can be created only for listeners of application load balancers")
		}
		acts, tgs, aerr := actionsIn(actionCtx{v: v, lb: owner, member: "actions"}, in.Actions)
		if aerr != nil {
			return ruleOut{}, aerr
		}
		if slices.ContainsFunc(l.Rules, func(r ruleDoc) bool { return r.Priority == *in.Priority }) {
			return ruleOut{}, priorityInUse(*in.Priority)
		}
		n := 0
		for _, other := range v.listenersOf(owner) {
			n += len(other.Rules)
		}
		if n >= maxRules {
			return ruleOut{}, apiError("TooManyRules", "You've reached the limit on the number of rules per load balancer (%d)", maxRules)
		}
		r := ruleDoc{ID: id, Priority: *in.Priority, Conditions: conds, Actions: acts, Tags: tags}
		l.Rules = append(l.Rules, r)
		l.sortRules()
		var o ops
		o.put(l.key(), l.index, l)
		tgOps(&o, tgs)
		return l.ruleOut(r), a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &rulesOutput{Rules: []ruleOut{got}}, nil
}

type describeRulesInput struct {
	ListenerARN *string  `query:"ListenerArn"`
	RuleARNs    []string `query:"RuleArns"`
	Marker      *string  `query:"Marker"`
	PageSize    *int32   `query:"PageSize"`
}

type describeRulesOutput struct {
	Rules      []ruleOut `query:"Rules"`
	NextMarker *string   `query:"NextMarker"`
}

// ruleSortKey orders rules by listener, then priority, the default rule
// last.
func ruleSortKey(listenerARN string, r ruleOut) string {
	p := r.Priority
	if r.IsDefault {
		p = "99999"
	}
	return listenerARN + "\x00" + fmt.Sprintf("%5s", p)
}

type keyedRule struct {
	key string
	out ruleOut
}

func (a *API) describeRules(ctx context.Context, in *describeRulesInput) (*describeRulesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if in.ListenerARN != nil && len(in.RuleARNs) > 0 {
		return nil, validationError("Listener rule ARNs and a listener ARN cannot be specified at the same time")
	}
	if in.ListenerARN == nil && len(in.RuleARNs) == 0 {
		return nil, validationError("You must specify either listener rule ARNs or a listener ARN")
	}
	n, after, err := pageArgs(in.PageSize, in.Marker)
	if err != nil {
		return nil, err
	}
	v := a.view(c.Account, c.Region)
	var rules []keyedRule
	if in.ListenerARN != nil {
		arn, aerr := listenerRef(in.ListenerARN, "listenerArn")
		if aerr != nil {
			return nil, aerr
		}
		l := v.listenerByARN(arn)
		if l == nil {
			return nil, listenerNotFound()
		}
		for _, r := range l.rulesOut() {
			rules = append(rules, keyedRule{ruleSortKey(arn, r), r})
		}
	} else {
		for _, arn := range in.RuleARNs {
			if _, aerr := ruleRef(&arn, "ruleArns"); aerr != nil {
				return nil, aerr
			}
			l, i := v.ruleByARN(arn)
			if l == nil {
				return nil, ruleNotFound()
			}
			r := l.defaultRuleOut()
			if i >= 0 {
				r = l.ruleOut(l.Rules[i])
			}
			rules = append(rules, keyedRule{ruleSortKey(l.arn(), r), r})
		}
	}
	slices.SortFunc(rules, func(x, y keyedRule) int { return strings.Compare(x.key, y.key) })
	rules = slices.CompactFunc(rules, func(x, y keyedRule) bool { return x.out.RuleARN == y.out.RuleARN })
	page, next := paginate(rules, n, after, func(r keyedRule) string { return r.key })
	out := &describeRulesOutput{Rules: []ruleOut{}, NextMarker: next}
	for _, r := range page {
		out.Rules = append(out.Rules, r.out)
	}
	return out, nil
}

type modifyRuleInput struct {
	RuleARN         *string         `query:"RuleArn"`
	Conditions      []ruleCondition `query:"Conditions"`
	Actions         []action        `query:"Actions"`
	Transforms      []ruleTransform `query:"Transforms"`
	ResetTransforms *bool           `query:"ResetTransforms"`
}

func (a *API) modifyRule(ctx context.Context, in *modifyRuleInput) (*rulesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := ruleRef(in.RuleARN, "ruleArn")
	if aerr != nil {
		return nil, aerr
	}
	var conds []conditionDoc
	if in.Conditions != nil {
		if conds, aerr = conditionsIn(in.Conditions); aerr != nil {
			return nil, aerr
		}
	}
	if aerr := noTransforms(in.Transforms); aerr != nil {
		return nil, aerr
	}
	got, err := retryConflicts(ctx, func() (ruleOut, error) {
		v := a.view(c.Account, c.Region)
		l, i := v.ruleByARN(arn)
		if l == nil {
			return ruleOut{}, ruleNotFound()
		}
		owner := v.lbByARN(l.lbARN())
		if owner == nil {
			return ruleOut{}, ruleNotFound()
		}
		var tgs []*tgDoc
		var acts []actionDoc
		if in.Actions != nil {
			var aerr *awsapi.Error
			if acts, tgs, aerr = actionsIn(actionCtx{v: v, lb: owner, member: "actions"}, in.Actions); aerr != nil {
				return ruleOut{}, aerr
			}
		}
		var out ruleOut
		if i < 0 {
			if len(conds) > 0 {
				return ruleOut{}, apiError("OperationNotPermitted", "Conditions cannot be added to the default rule '%s'", arn)
			}
			if acts != nil {
				l.DefaultActions = acts
			}
			out = l.defaultRuleOut()
		} else {
			r := &l.Rules[i]
			if in.Conditions != nil {
				r.Conditions = conds
			}
			if acts != nil {
				r.Actions = acts
			}
			out = l.ruleOut(*r)
		}
		var o ops
		o.put(l.key(), l.index, l)
		tgOps(&o, tgs)
		return out, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &rulesOutput{Rules: []ruleOut{got}}, nil
}

type deleteRuleInput struct {
	RuleARN *string `query:"RuleArn"`
}

type deleteRuleOutput struct{}

func (a *API) deleteRule(ctx context.Context, in *deleteRuleInput) (*deleteRuleOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := ruleRef(in.RuleARN, "ruleArn")
	if aerr != nil {
		return nil, aerr
	}
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		l, i := a.view(c.Account, c.Region).ruleByARN(arn)
		if l == nil {
			return struct{}{}, ruleNotFound()
		}
		if i < 0 {
			return struct{}{}, apiError("OperationNotPermitted", "Default rule '%s' cannot be deleted", arn)
		}
		l.Rules = slices.Delete(l.Rules, i, i+1)
		var o ops
		o.put(l.key(), l.index, l)
		return struct{}{}, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &deleteRuleOutput{}, nil
}

type rulePriorityPair struct {
	RuleARN  *string `query:"RuleArn"`
	Priority *int32  `query:"Priority"`
}

type setRulePrioritiesInput struct {
	RulePriorities []rulePriorityPair `query:"RulePriorities"`
}

func (a *API) setRulePriorities(ctx context.Context, in *setRulePrioritiesInput) (*rulesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if in.RulePriorities == nil {
		return nil, required("rulePriorities")
	}
	seenRule := map[string]bool{}
	for i, p := range in.RulePriorities {
		m := fmt.Sprintf("rulePriorities.%d.member", i+1)
		if _, aerr := ruleRef(p.RuleARN, m+".ruleArn"); aerr != nil {
			return nil, aerr
		}
		if p.Priority == nil {
			return nil, required(m + ".priority")
		}
		if aerr := checkPriority(*p.Priority, m+".priority"); aerr != nil {
			return nil, aerr
		}
		if seenRule[*p.RuleARN] {
			return nil, validationError("Rule '%s' was provided multiple times", *p.RuleARN)
		}
		seenRule[*p.RuleARN] = true
	}
	got, err := retryConflicts(ctx, func() ([]ruleOut, error) {
		v := a.view(c.Account, c.Region)
		listeners := map[string]*listenerDoc{} // by key: each changed once
		type change struct {
			l        *listenerDoc
			id       string
			priority int32
		}
		var changes []change
		for _, p := range in.RulePriorities {
			l, i := v.ruleByARN(*p.RuleARN)
			if l == nil {
				return nil, ruleNotFound()
			}
			if i < 0 {
				return nil, apiError("OperationNotPermitted", "The priority of the default rule '%s' cannot be changed", *p.RuleARN)
			}
			if prev, ok := listeners[l.key()]; ok {
				l = prev
			}
			listeners[l.key()] = l
			changes = append(changes, change{l: l, id: l.Rules[i].ID, priority: *p.Priority})
		}
		for _, l := range listeners {
			moving := map[string]int32{}
			for _, ch := range changes {
				if ch.l == l {
					moving[ch.id] = ch.priority
				}
			}
			taken := map[int32]string{}
			for _, r := range l.Rules {
				p := r.Priority
				if np, ok := moving[r.ID]; ok {
					p = np
				}
				if other, dup := taken[p]; dup {
					_, mv1 := moving[r.ID]
					_, mv2 := moving[other]
					if mv1 && mv2 {
						return nil, validationError("Priority '%d' was provided multiple times", p)
					}
					return nil, priorityInUse(p)
				}
				taken[p] = r.ID
			}
			for j := range l.Rules {
				if np, ok := moving[l.Rules[j].ID]; ok {
					l.Rules[j].Priority = np
				}
			}
			l.sortRules()
		}
		var o ops
		for _, l := range listeners {
			o.put(l.key(), l.index, l)
		}
		var out []ruleOut
		for _, ch := range changes {
			out = append(out, ch.l.ruleOut(ch.l.Rules[ch.l.rule(ch.id)]))
		}
		return out, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &rulesOutput{Rules: got}, nil
}
