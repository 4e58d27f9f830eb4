package elbv2_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func tagList(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func TestTags(t *testing.T) {
	e := start(t)
	l := e.createLB(t, "web", "")
	tg := e.createTG(t, "tg", types.ProtocolEnumHttp, "")
	lis := e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, freePort(t), forward(*tg.TargetGroupArn))
	rule, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: lis.ListenerArn, Priority: aws.Int32(1), Conditions: pathIs("/"), Actions: fixed("200", "x")})
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: lis.ListenerArn})
	def := rules.Rules[len(rules.Rules)-1].RuleArn
	arns := []string{*l.LoadBalancerArn, *tg.TargetGroupArn, *lis.ListenerArn, *rule.Rules[0].RuleArn, *def}

	describe := func() map[string]map[string]string {
		t.Helper()
		out, err := e.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: arns})
		if err != nil {
			t.Fatalf("DescribeTags = %v", err)
		}
		m := map[string]map[string]string{}
		for i, d := range out.TagDescriptions {
			if aws.ToString(d.ResourceArn) != arns[i] {
				t.Errorf("TagDescriptions[%d] is %s; want %s", i, aws.ToString(d.ResourceArn), arns[i])
			}
			tags := map[string]string{}
			for _, tg := range d.Tags {
				tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			m[aws.ToString(d.ResourceArn)] = tags
		}
		return m
	}
	if _, err := e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: arns, Tags: tagList("env", "prod", "team", "a")}); err != nil {
		t.Fatalf("AddTags = %v", err)
	}
	if _, err := e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: arns[:1], Tags: tagList("team", "b")}); err != nil {
		t.Fatalf("AddTags(overwrite) = %v", err)
	}
	if _, err := e.elb.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: arns[1:2], TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatalf("RemoveTags = %v", err)
	}
	want := map[string]map[string]string{
		arns[0]: {"env": "prod", "team": "b"},
		arns[1]: {"team": "a"},
		arns[2]: {"env": "prod", "team": "a"},
		arns[3]: {"env": "prod", "team": "a"},
		arns[4]: {"env": "prod", "team": "a"},
	}
	got := describe()
	for arn, w := range want {
		if !maps.Equal(got[arn], w) {
			t.Errorf("tags of %s = %v; want %v", arn, got[arn], w)
		}
	}

	many := make([]string, 0, 102)
	for i := range 51 {
		many = append(many, fmt.Sprintf("k%d", i), "v")
	}
	missing := strings.Replace(*l.LoadBalancerArn, "/web/", "/gone/", 1)
	bad := []struct {
		name string
		call func() error
		code string
	}{
		{"too many", func() error {
			_, err := e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: arns, Tags: tagList(many...)})
			return err
		}, "TooManyTags"},
		{"duplicate keys", func() error {
			_, err := e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: arns, Tags: tagList("x", "1", "x", "2")})
			return err
		}, "DuplicateTagKeys"},
		{"missing load balancer", func() error {
			_, err := e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{arns[1], missing}, Tags: tagList("x", "1")})
			return err
		}, "LoadBalancerNotFound"},
		{"not an ARN", func() error {
			_, err := e.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{"web"}})
			return err
		}, "ValidationError"},
		{"another account", func() error {
			_, err := e.other.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: arns[1:2]})
			return err
		}, "TargetGroupNotFound"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.name, tc.call(), tc.code, "")
		})
	}
	// Nothing changed, not even the target group named before the missing
	// load balancer.
	got = describe()
	for arn, w := range want {
		if !maps.Equal(got[arn], w) {
			t.Errorf("tags of %s after refused calls = %v; want %v", arn, got[arn], w)
		}
	}
}
