package ecs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/awsapitest"
	"github.com/berthhq/berth/internal/testcluster"
)

// account is the default account of a test cluster, which owns the root key.
const account = "000000000000"

// start boots a control plane for one test and returns an ECS client for it.
func start(t *testing.T) (*testcluster.Cluster, *ecs.Client) {
	t.Helper()
	tc := testcluster.Start(t)
	return tc, tc.ECS()
}

// ownClient returns an ECS client with a transport of its own, whose idle
// connections are closed before the server stops. Tests that call from many
// goroutines use it: the transport may dial connections it then never uses,
// and the server's graceful shutdown waits 5 s for such connections.
func ownClient(t *testing.T, tc *testcluster.Cluster) *ecs.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return ecs.NewFromConfig(tc.Config(), func(o *ecs.Options) {
		o.HTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	})
}

// ctx is the context of every call; the HTTP client of the test cluster
// bounds each call anyway.
var ctx = context.Background()

func clusterARN(name string) string {
	return "arn:aws:ecs:us-east-1:" + account + ":cluster/" + name
}

func taskDefARN(family string, revision int) string {
	return "arn:aws:ecs:us-east-1:" + account + ":task-definition/" + family + ":" + strconv.Itoa(revision)
}

// tagMap turns tags into a map for order-free comparison.
func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func tags(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// rawResponse is what a raw awsJson call got back.
type rawResponse struct {
	Status  int
	Type    string // the error type from X-Amzn-ErrorType, "" on success
	Message string
	Body    []byte
}

// rawCall sends body to the ECS operation op as a signed awsJson 1.1
// request, bypassing the SDK's client-side validation and serialization.
func rawCall(t *testing.T, tc *testcluster.Cluster, op, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tc.Endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	sum := sha256.Sum256([]byte(body))
	root := tc.Server.RootCredentials()
	creds := aws.Credentials{AccessKeyID: root.AccessKeyID, SecretAccessKey: root.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ecs", tc.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := rawResponse{Status: resp.StatusCode, Body: b}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		out.Type, out.Message = resp.Header.Get("X-Amzn-ErrorType"), e.Message
		if e.Type != out.Type {
			t.Errorf("%s: X-Amzn-ErrorType %q but __type %q; want them equal", op, out.Type, e.Type)
		}
	}
	return out
}

// taskDef is a small valid definition for the EC2 launch type.
func taskDef(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:   aws.String("app"),
			Image:  aws.String("nginx:1.27"),
			Memory: aws.Int32(128),
		}},
	}
}

// register registers a definition and fails the test on error.
func register(t *testing.T, c *ecs.Client, in *ecs.RegisterTaskDefinitionInput) *types.TaskDefinition {
	t.Helper()
	out, err := c.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s) = %v", aws.ToString(in.Family), err)
	}
	return out.TaskDefinition
}

// createCluster creates a cluster and fails the test on error.
func createCluster(t *testing.T, c *ecs.Client, in *ecs.CreateClusterInput) *types.Cluster {
	t.Helper()
	out, err := c.CreateCluster(ctx, in)
	if err != nil {
		t.Fatalf("CreateCluster(%s) = %v", aws.ToString(in.ClusterName), err)
	}
	return out.Cluster
}

// describeCluster returns the one cluster DescribeClusters finds by name,
// with every optional part included.
func describeCluster(t *testing.T, c *ecs.Client, name string) types.Cluster {
	t.Helper()
	out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{
		Clusters: []string{name},
		Include:  types.ClusterField("").Values(),
	})
	if err != nil {
		t.Fatalf("DescribeClusters(%s) = %v", name, err)
	}
	if len(out.Clusters) != 1 || len(out.Failures) != 0 {
		t.Fatalf("DescribeClusters(%s) = %d clusters, failures %v; want 1 cluster", name, len(out.Clusters), failures(out.Failures))
	}
	return out.Clusters[0]
}

func failures(fs []types.Failure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, aws.ToString(f.Arn)+" "+aws.ToString(f.Reason))
	}
	return out
}

// The AWS error assertions every API package shares.
var (
	code      = awsapitest.ErrorCode
	wantError = awsapitest.WantError
)
