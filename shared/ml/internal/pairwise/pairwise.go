// Package pairwise sums float64 slices exactly as numpy's add.reduce does
// for a contiguous array (np.sum, np.mean, pandas' mean and var without
// bottleneck, scikit-learn's StandardScaler), so statistics fitted here are
// the same bits as the Python reference's.
package pairwise

// block is numpy's PW_BLOCKSIZE: below it a sum runs over 8 interleaved
// accumulators, above it the range is halved recursively.
const block = 128

// Sum is np.sum(x).
func Sum(x []float64) float64 {
	// numpy's reduction runs its inner loop over buffers of NPY_BUFSIZE
	// elements, each summed pairwise and added to the running total.
	const bufsize = 8192
	res := 0.0
	for len(x) > bufsize {
		res += sum(x[:bufsize])
		x = x[bufsize:]
	}
	return res + sum(x)
}

// NanSum is np.nansum(x) (pandas' skipna): NaN counts as 0, which is exact —
// adding +0 to a partial sum changes nothing — so it is Sum over x with its
// NaNs replaced by 0. scratch (len(x) values, overwritten) is used only when
// x holds a NaN; nil allocates then.
func NanSum(x, scratch []float64) float64 {
	for i, v := range x {
		if v != v {
			if cap(scratch) < len(x) {
				scratch = make([]float64, len(x))
			}
			scratch = scratch[:len(x)]
			copy(scratch, x[:i])
			for j := i; j < len(x); j++ {
				if w := x[j]; w == w {
					scratch[j] = w
				} else {
					scratch[j] = 0
				}
			}
			return Sum(scratch)
		}
	}
	return Sum(x)
}

func sum(x []float64) float64 {
	n := len(x)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range x {
			res += v
		}
		return res
	case n <= block:
		var r [8]float64
		copy(r[:], x[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			b := x[i : i+8 : i+8]
			r[0] += b[0]
			r[1] += b[1]
			r[2] += b[2]
			r[3] += b[3]
			r[4] += b[4]
			r[5] += b[5]
			r[6] += b[6]
			r[7] += b[7]
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += x[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return sum(x[:n2]) + sum(x[n2:])
	}
}
