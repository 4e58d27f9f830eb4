package benchkit

import (
	"math"
	"testing"
)

func TestQuantile(t *testing.T) {
	tests := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9.1},
		{[]float64{5}, 0.9, 5},
		{[]float64{1, 2}, 1, 2},
		{[]float64{1, 2}, 0, 1},
	}
	for _, tt := range tests {
		if got := Quantile(tt.xs, tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Quantile(%v, %v) = %v; want %v", tt.xs, tt.q, got, tt.want)
		}
	}
	if got := Quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("Quantile(nil, 0.5) = %v; want NaN", got)
	}
}

func TestRatioCI(t *testing.T) {
	a := []float64{110, 120, 115, 118, 112, 121, 119, 117, 116, 114}
	b := []float64{100, 101, 99, 102, 98, 100, 103, 97, 100, 101}
	lo, hi := RatioCI(a, b)
	point := Median(a) / Median(b)
	if !(lo <= point && point <= hi) || lo < 1 || hi > 1.3 {
		t.Errorf("RatioCI = [%v, %v]; want an interval around %v within [1, 1.3]", lo, hi, point)
	}
}
