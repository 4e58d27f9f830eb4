package elbv2_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berthhq/berth/internal/awsapitest"
	"github.com/berthhq/berth/internal/elbv2"
)

// rawCall sends form as a signed awsQuery request, bypassing the SDK's
// client-side validation.
func rawCall(t *testing.T, e *env, form url.Values) (int, []byte) {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: awsapitest.KeyID, SecretAccessKey: awsapitest.Secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "elasticloadbalancing", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
}

func TestQueryProtocol(t *testing.T) {
	e := start(t)
	form := func(action string, kv ...string) url.Values {
		v := url.Values{"Action": {action}, "Version": {elbv2.Version}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
		msg    string
	}{
		{"missing name", form("CreateLoadBalancer"), 400, "ValidationError",
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"missing target group", form("RegisterTargets", "Targets.member.1.Id", "10.0.0.1"), 400, "ValidationError",
			"1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null"},
		{"bad integer", form("CreateTargetGroup", "Name", "x", "Port", "eighty"), 400, "ValidationError", ""},
		{"not found", form("DescribeLoadBalancers", "Names.member.1", "nope"), 400, "LoadBalancerNotFound", "One or more load balancers not found"},
		{"unknown action", form("CreateTrustStore"), 400, "InvalidAction", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawCall(t, e, tc.form)
			var er errorResponse
			if err := xml.Unmarshal(body, &er); err != nil {
				t.Fatalf("%s: body %q is not an ErrorResponse: %v", tc.name, body, err)
			}
			if status != tc.status || er.Code != tc.code || er.Type != "Sender" || tc.msg != "" && er.Message != tc.msg {
				t.Errorf("%s = %d %s/%s %q; want %d Sender/%s %q", tc.name, status, er.Type, er.Code, er.Message, tc.status, tc.code, tc.msg)
			}
			if tc.code != "InvalidAction" && !strings.Contains(string(body), `xmlns="`+elbv2.Namespace+`"`) {
				t.Errorf("%s: error body %s lacks the ELBv2 namespace", tc.name, body)
			}
		})
	}
	// A valid request with nothing to return still has its Result element,
	// which the SDKs need.
	status, body := rawCall(t, e, form("DescribeLoadBalancers"))
	if status != 200 || !strings.Contains(string(body), "<DescribeLoadBalancersResult><LoadBalancers></LoadBalancers></DescribeLoadBalancersResult>") {
		t.Errorf("DescribeLoadBalancers() = %d %s; want an empty LoadBalancers list", status, body)
	}
}
