package sigv4

import (
	"context"
	"net/http"
	"testing"
)

// BenchmarkVerify measures one verification of a typical SDK call (an
// awsJson POST with eight signed headers) once the signing key is cached.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name string
		sign func(testing.TB) (*http.Request, []byte)
	}{
		{"header", func(tb testing.TB) (*http.Request, []byte) {
			return signHeader(tb, jsonPost, userCreds, "ecs", "us-east-1", signedAt)
		}},
		{"presigned", func(tb testing.TB) (*http.Request, []byte) {
			return presign(tb, jsonPost, userCreds, "ecs", "us-east-1", signedAt, "900")
		}},
	}
	for _, bc := range cases {
		r, body := bc.sign(b)
		v := &Verifier{Lookup: staticLookup(userCreds), Now: fixedClock(verifyAt)}
		if _, err := v.Verify(ctx, r, body, "ecs"); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, r, body, "ecs"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Verify(ctx, r, body, "ecs"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
