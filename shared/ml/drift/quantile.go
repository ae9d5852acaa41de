package drift

import "math"

// Quantile is numpy.quantile(sorted, q, method="lower") on values sorted
// ascending, without NaN: the order statistic ⌊(n−1)·q⌋, always one of the
// values (so a field with few distinct values gets edges at those values).
// It panics on an empty slice.
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		panic("drift: quantile of no values")
	}
	i := int(math.Floor(float64(n-1) * q))
	return sorted[min(max(i, 0), n-1)]
}
