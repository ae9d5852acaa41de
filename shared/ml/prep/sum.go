package prep

// pairwiseBlock is numpy's PW_BLOCKSIZE: below it a sum runs over 8
// interleaved accumulators, above it the range is halved recursively.
const pairwiseBlock = 128

// pairwiseSum adds x exactly as numpy's float64 add.reduce does for a
// contiguous array (np.sum, pandas' mean and var without bottleneck,
// scikit-learn's StandardScaler on a column), so fitted statistics are the
// same bits as the Python reference. NaN counts as 0 (np.nansum, pandas
// skipna), which is exact: adding +0 to a partial sum changes nothing.
func pairwiseSum(x []float64) float64 {
	// numpy's reduction runs its inner loop over buffers of NPY_BUFSIZE
	// elements, each summed pairwise and added to the running total.
	const bufsize = 8192
	res := 0.0
	for len(x) > bufsize {
		res += pairwise(x[:bufsize])
		x = x[bufsize:]
	}
	return res + pairwise(x)
}

func pairwise(x []float64) float64 {
	n := len(x)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range x {
			res += nz(v)
		}
		return res
	case n <= pairwiseBlock:
		var r [8]float64
		for j := range r {
			r[j] = nz(x[j])
		}
		i := 8
		for ; i < n-n%8; i += 8 {
			b := x[i : i+8 : i+8]
			r[0] += nz(b[0])
			r[1] += nz(b[1])
			r[2] += nz(b[2])
			r[3] += nz(b[3])
			r[4] += nz(b[4])
			r[5] += nz(b[5])
			r[6] += nz(b[6])
			r[7] += nz(b[7])
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += nz(x[i])
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwise(x[:n2]) + pairwise(x[n2:])
	}
}

// nz maps NaN to 0 (nansum semantics).
func nz(v float64) float64 {
	if v != v {
		return 0
	}
	return v
}

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
	mean = pairwiseSum(x) / float64(n)
	scratch = scratch[:len(x)]
	for i, v := range x {
		scratch[i] = v - mean // NaN stays NaN and is skipped by the sum
	}
	dev = pairwiseSum(scratch)
	for i, d := range scratch {
		scratch[i] = d * d
	}
	sq = pairwiseSum(scratch)
	return n, mean, dev, sq
}
