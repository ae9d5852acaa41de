package pairwise

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The pairwise order differs from a left-to-right sum in the last bits on
// data with mixed magnitudes, and matches numpy's blocking: a sum of 8,193
// values is the 8,192-value buffer plus the last value.
func TestSumBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 127, 128, 129, 1000, 8192, 8193, 20000} {
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6))
		}
		want, rest := 0.0, x
		for len(rest) > 8192 {
			want += sum(rest[:8192])
			rest = rest[8192:]
		}
		want += sum(rest)
		if got := Sum(x); got != want {
			t.Errorf("n=%d: Sum %v, want %v", n, got, want)
		}
		if n >= 16 && n <= block {
			// 8 accumulators: x[0] + x[8] + … in one lane.
			var r [8]float64
			for i := 0; i < n-n%8; i++ {
				r[i%8] += x[i]
			}
			w := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
			for i := n - n%8; i < n; i++ {
				w += x[i]
			}
			if got := Sum(x); got != w {
				t.Errorf("n=%d: Sum %v, want the 8-lane sum %v", n, got, w)
			}
		}
	}
}

func TestNanSum(t *testing.T) {
	x := []float64{1, math.NaN(), 2, 3, math.NaN(), 4, 5, 6, 7, 8, 9}
	clean := []float64{1, 0, 2, 3, 0, 4, 5, 6, 7, 8, 9}
	if got, want := NanSum(x, nil), Sum(clean); got != want || got != 45 {
		t.Errorf("NanSum %v, want %v (45)", got, want)
	}
	if got := NanSum(clean, nil); got != 45 {
		t.Errorf("NanSum without NaN %v, want 45", got)
	}
	if x[1] == x[1] {
		t.Error("NanSum changed its input")
	}
	if got := NanSum([]float64{math.NaN()}, make([]float64, 0, 1)); got != 0 {
		t.Errorf("NanSum(NaN) = %v, want 0", got)
	}
}
