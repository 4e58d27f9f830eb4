package fake_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/berthhq/berth/internal/runtime/fake"
	"github.com/berthhq/berth/internal/runtime/runtimetest"
)

// TestSuite runs the runtime behaviour suite on the fake, each subtest in a
// synctest bubble so stop timeouts and health intervals take no real time.
func TestSuite(t *testing.T) {
	runtimetest.Run(t, runtimetest.Harness{
		Bubble: synctest.Test,
		Setup:  setup,
	})
}

func setup(t *testing.T) runtimetest.Env {
	f := fake.New(fake.Config{})
	const image = "berth-testapp:fake"
	f.AddImageConfig(image, fake.ImageConfig{Labels: map[string]string{"berth.test": "true"}})
	labels := map[string]string{"berth.test": "true", "berth.test.case": t.Name()}
	t.Cleanup(func() { removeAll(t, f) })
	next := 20000
	return runtimetest.Env{
		Runtime: f,
		Image:   image,
		Labels:  labels,
		HTTPGet: f.HTTPGet,
		FreePort: func(t *testing.T) int {
			next++
			return next
		},
	}
}

// removeAll removes every container so no timer outlives the bubble.
func removeAll(t *testing.T, f *fake.Fake) {
	ctx := context.Background() // t.Context() is already cancelled in cleanup
	list, err := f.ListContainers(ctx, nil)
	if err != nil {
		t.Errorf("ListContainers() = %v", err)
	}
	for _, c := range list {
		if err := f.RemoveContainer(ctx, c.ID); err != nil {
			t.Errorf("RemoveContainer(%s) = %v", c.Name, err)
		}
	}
}
