package inprocess

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/berthhq/berth/internal/server"
)

// BenchmarkDescribeClusters sends signed DescribeClusters for three of ten
// clusters over keep-alive loopback connections to an in-process server, the
// request the apilatency command loads Berth with. Profile it with
//
//	go test ./bench/apilatency/inprocess -run '^$' -bench . -benchtime 10s -cpuprofile cpu.prof
//	go tool pprof -top -focus 'net/http.\(\*conn\).serve' cpu.prof
//
// The client shares the process; the focus keeps the server's side.
func BenchmarkDescribeClusters(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			b.Errorf("Run() = %v; want nil", err)
		}
	})
	select {
	case <-srv.Up():
	case err := <-errc:
		b.Fatalf("Run() = %v before the server was up", err)
	}
	url := "http://" + srv.Addr()
	rc := srv.RootCredentials()
	creds := aws.Credentials{AccessKeyID: rc.AccessKeyID, SecretAccessKey: rc.SecretAccessKey}

	const nClusters = 10
	client := ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
	})
	var bodies [][]byte
	for i := range nClusters {
		if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(fmt.Sprintf("bench-%02d", i))}); err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, fmt.Appendf(nil, `{"clusters":["bench-%02d","bench-%02d","bench-%02d"]}`, i, (i+1)%nClusters, (i+2)%nClusters))
	}

	hc := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true},
		Timeout:   10 * time.Second,
	}
	defer hc.CloseIdleConnections()
	b.ReportAllocs()
	b.SetParallelism(8) // several requests in flight per P, as under load
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		signer := v4.NewSigner()
		for i := 0; pb.Next(); i++ {
			body := bodies[i%len(bodies)]
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeClusters")
			sum := sha256.Sum256(body)
			if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ecs", "us-east-1", time.Now()); err != nil {
				b.Error(err)
				return
			}
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("DescribeClusters status = %d; want 200", resp.StatusCode)
				return
			}
		}
	})
}
