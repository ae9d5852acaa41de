package drift

import (
	"math"
	"sort"
)

// Floor is the least share PSI takes for a bin (see the package doc).
const Floor = 1e-4

// PSI is the population stability index of the month's shares cur against
// the reference's ref (same bins, each summing to 1): Σ (c−r)·ln(c/r), with
// shares below Floor taken as Floor. NaN when the lengths differ or either
// side is empty.
func PSI(ref, cur []float64) float64 {
	if len(ref) != len(cur) || len(ref) == 0 {
		return math.NaN()
	}
	var sum float64
	for i := range ref {
		r, c := max(ref[i], Floor), max(cur[i], Floor)
		sum += (c - r) * math.Log(c/r)
	}
	return sum
}

// KS is the two-sample Kolmogorov–Smirnov statistic of two samples sorted
// ascending, without NaN: the largest distance between their empirical
// distribution functions, evaluated after each distinct value as
// scipy.stats.ks_2samp does. NaN when either sample is empty.
func KS(a, b []float64) float64 {
	na, nb := len(a), len(b)
	if na == 0 || nb == 0 {
		return math.NaN()
	}
	fa, fb := float64(na), float64(nb)
	var d float64
	i, j := 0, 0
	for i < na || j < nb {
		// The next distinct value: every copy of it on both sides is counted
		// before the distribution functions are compared.
		var v float64
		switch {
		case i == na:
			v = b[j]
		case j == nb:
			v = a[i]
		default:
			v = min(a[i], b[j])
		}
		for i < na && a[i] <= v {
			i++
		}
		for j < nb && b[j] <= v {
			j++
		}
		d = max(d, math.Abs(float64(i)/fa-float64(j)/fb))
	}
	return d
}

// sorted returns the non-NaN values of v, sorted, and how many were NaN.
func sorted(v []float64) ([]float64, int) {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	sort.Float64s(out)
	return out, len(v) - len(out)
}

// share is k/n, 0 when n is 0.
func share(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}
