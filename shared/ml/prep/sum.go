package prep

import "github.com/arrestcast/arrestcast/shared/ml/internal/pairwise"

// moments returns, over the non-NaN values of x, their count n, their mean
// (pairwise sum / n), the pairwise sum of the deviations x−mean (the
// correction term of the corrected two-pass algorithm) and the pairwise sum
// of the squared deviations. scratch must hold len(x) values; it is
// overwritten.
func moments(x, scratch []float64) (n int, mean, dev, sq float64) {
	for _, v := range x {
		if v == v {
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0, 0
	}
	mean = pairwise.NanSum(x, scratch) / float64(n)
	scratch = scratch[:len(x)]
	for i, v := range x {
		scratch[i] = 0 // a NaN is skipped: as 0 in the sums, exactly
		if v == v {
			scratch[i] = v - mean
		}
	}
	dev = pairwise.Sum(scratch)
	for i, d := range scratch {
		scratch[i] = d * d
	}
	sq = pairwise.Sum(scratch)
	return n, mean, dev, sq
}
