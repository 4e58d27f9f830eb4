package elbv2_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsapitest"
	"github.com/berthhq/berth/internal/elbv2"
	"github.com/berthhq/berth/internal/lb"
	"github.com/berthhq/berth/internal/state"
)

// ctx is the context of every call; the SDK's HTTP client bounds each call.
var ctx = context.Background()

const (
	account = awsapitest.Account
	region  = awsapitest.Region
)

// instances is a fake of the container instances ECS knows: an EC2
// instance id and the address targets on it are dialled at.
type instances struct {
	mu    sync.Mutex
	addrs map[string]string
}

func (in *instances) set(id, addr string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.addrs[id] = addr
}

func (in *instances) remove(id string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.addrs, id)
}

func (in *instances) resolve(acct, reg, id string) (string, string, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	addr, ok := in.addrs[id]
	if !ok || acct != account || reg != region {
		return "", "", false
	}
	return addr, region + "a", true
}

// env is one test's ELBv2 API: served through a signing gateway, with a
// real data plane on 127.0.0.1, both running until the test ends.
type env struct {
	srv       *awsapitest.Server
	api       *elbv2.API
	plane     *lb.Plane
	elb       *elb.Client // account 000000000000
	other     *elb.Client // account 111111111111
	instances *instances
}

type option func(*elbv2.Config)

// start serves the API for one test.
func start(t *testing.T, opts ...option) *env {
	t.Helper()
	plane, err := lb.New(lb.Config{MinHealthInterval: 10 * time.Millisecond, ShutdownGrace: 200 * time.Millisecond, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{plane: plane, instances: &instances{addrs: map[string]string{}}}
	cfg := elbv2.Config{
		ResolveInstance:     e.instances.resolve,
		ProvisionDelay:      20 * time.Millisecond,
		HealthCheckInterval: 20 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv = awsapitest.Start(t, func(gw *awsapi.Gateway, store *state.Store, _ *http.ServeMux) {
		e.api = elbv2.New(cfg, store, plane)
		gw.RegisterQuery(e.api.Service())
	})
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := plane.Run(runCtx); err != nil {
			t.Errorf("plane.Run = %v; want nil", err)
		}
	})
	wg.Go(func() {
		if err := e.api.Run(runCtx); err != nil {
			t.Errorf("API.Run = %v; want nil", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	e.elb = elb.NewFromConfig(e.srv.Config())
	e.other = elb.NewFromConfig(e.srv.ConfigWith(awsapitest.OtherKeyID, awsapitest.OtherSecret))
	return e
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func (e *env) createLB(t *testing.T, name string, typ types.LoadBalancerTypeEnum) types.LoadBalancer {
	t.Helper()
	out, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Type: typ})
	if err != nil {
		t.Fatalf("CreateLoadBalancer(%s) = %v", name, err)
	}
	return out.LoadBalancers[0]
}

func (e *env) createTG(t *testing.T, name string, proto types.ProtocolEnum, targetType types.TargetTypeEnum) types.TargetGroup {
	t.Helper()
	out, err := e.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: proto, Port: aws.Int32(80), VpcId: aws.String("vpc-0123456789abcdef0"), TargetType: targetType,
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup(%s) = %v", name, err)
	}
	return out.TargetGroups[0]
}

func forward(tgARN string) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}
}

func fixed(status, body string) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
		StatusCode: aws.String(status), ContentType: aws.String("text/plain"), MessageBody: aws.String(body)}}}
}

func (e *env) createListener(t *testing.T, lbARN string, proto types.ProtocolEnum, port int32, actions []types.Action) types.Listener {
	t.Helper()
	out, err := e.elb.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN), Protocol: proto, Port: aws.Int32(port), DefaultActions: actions,
	})
	if err != nil {
		t.Fatalf("CreateListener(%s:%d) = %v", lbARN, port, err)
	}
	return out.Listeners[0]
}

// get sends GET url with a client of its own and returns the status and
// body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s = %v", url, err)
	}
	defer resp.Body.Close()
	var b [4096]byte
	n, _ := readFull(resp, b[:])
	return resp.StatusCode, string(b[:n])
}

func readFull(resp *http.Response, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := resp.Body.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// listening reports whether something accepts TCP connections on port.
func listening(port int32) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(int(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func attrMap[T interface {
	types.LoadBalancerAttribute | types.TargetGroupAttribute | types.ListenerAttribute
}](attrs []T) map[string]string {
	m := map[string]string{}
	for _, a := range attrs {
		switch v := any(a).(type) {
		case types.LoadBalancerAttribute:
			m[aws.ToString(v.Key)] = aws.ToString(v.Value)
		case types.TargetGroupAttribute:
			m[aws.ToString(v.Key)] = aws.ToString(v.Value)
		case types.ListenerAttribute:
			m[aws.ToString(v.Key)] = aws.ToString(v.Value)
		}
	}
	return m
}

// The AWS error assertions every API package shares.
var (
	code      = awsapitest.ErrorCode
	message   = awsapitest.ErrorMessage
	wantError = awsapitest.WantError
)
