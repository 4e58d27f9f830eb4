package benchkit

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Quantile is the q-quantile of xs by linear interpolation between order
// statistics (Hyndman & Fan type 7, as R and NumPy default). xs need not be
// sorted; NaN for none.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// Median is the 0.5-quantile of xs; NaN for none.
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// RatioCI is a percentile-bootstrap 95 % interval of Median(a)/Median(b),
// resampling each arm independently; fixed seed, so reruns on the same
// numbers agree.
func RatioCI(a, b []float64) (lo, hi float64) {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN(), math.NaN()
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	ratios := make([]float64, n)
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	for i := range ratios {
		for j := range ra {
			ra[j] = a[r.IntN(len(a))]
		}
		for j := range rb {
			rb[j] = b[r.IntN(len(b))]
		}
		ratios[i] = Median(ra) / Median(rb)
	}
	return Quantile(ratios, 0.025), Quantile(ratios, 0.975)
}
