package benchkit

import "testing"

func TestParseCPULine(t *testing.T) {
	tests := []struct {
		stat    string
		want    jiffies
		wantErr bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  10 1 5 100 7 2 3 4 50 60\ncpu0 1 2 3 4 5\n", jiffies{busy: 10 + 1 + 5 + 2 + 3 + 4, total: 10 + 1 + 5 + 100 + 7 + 2 + 3 + 4}, false},
		{"cpu 1 2 3 4\n", jiffies{busy: 1 + 2 + 3, total: 10}, false},
		{"intr 1 2 3 4 5\n", jiffies{}, true},
		{"cpu 1 x 3 4 5\n", jiffies{}, true},
	}
	for _, tt := range tests {
		got, err := parseCPULine(tt.stat)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseCPULine(%q) = %+v, %v; want %+v, error %v", tt.stat, got, err, tt.want, tt.wantErr)
		}
	}
}
