package metrics

// pairwiseSum adds x exactly as numpy's float64 add.reduce does for a
// contiguous array (np.sum, np.mean, np.average, np.trapz), so metrics that
// scikit-learn computes as such a sum come out as the same bits.
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
	const block = 128 // numpy's PW_BLOCKSIZE
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
		return pairwise(x[:n2]) + pairwise(x[n2:])
	}
}

func grow(dst []float64, n int) []float64 {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]float64, n)
}
