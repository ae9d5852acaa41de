package gbt

import (
	"math"
	"slices"
	"sort"
)

// maxRegularBins is the most regular bins a feature may have: with the missing bin that makes 256 values,
// so a bin index fits a byte.
const maxRegularBins = 255

// histWidth is the fixed number of histogram slots per feature (bin indices are bytes).
const histWidth = 256

// binEdges places at most maxBins-1 upper bounds on the non-missing values of a feature so that bins hold
// roughly equal numbers of rows; a value alone heavier than a bin's share gets its own bin. Bounds sit halfway
// between neighbouring distinct values (rounded to a float32), so unseen values between them fall to the
// nearer side.
// Bin k holds v with ub[k-1] < v <= ub[k]; the last bin is unbounded above. vals is sorted and overwritten.
func binEdges(vals []float64, maxBins int) []float64 {
	if len(vals) == 0 {
		return nil
	}
	slices.Sort(vals)
	// Distinct values and their counts: the values moved to the front of vals
	// (which is scratch), the counts sized once. A continuous feature of
	// millions of rows has about as many distinct values, and growing both
	// lists by append allocated several times the column.
	d := 1
	for i := 1; i < len(vals); i++ {
		if vals[i] != vals[i-1] {
			d++
		}
	}
	n := len(vals)
	counts := make([]int32, 0, d)
	distinct := vals[:0]
	for i := 0; i < n; i++ {
		v := vals[i]
		if i == 0 || v != distinct[len(distinct)-1] {
			distinct = append(distinct, v) // writes at or before i: vals[i] is read first
			counts = append(counts, 1)
		} else {
			counts[len(counts)-1]++
		}
	}
	// mid is a bound between neighbours a < b: near their midpoint, a float32 value (so prediction can
	// store thresholds in 4 bytes and still agree exactly with the bins), a <= bound < b. When no float32
	// lies in [a, b) it returns NaN and the two values share a bin.
	mid := func(a, b float64) float64 {
		m := a + (b-a)/2
		if math.IsInf(m, 0) || math.IsNaN(m) {
			m = a/2 + b/2
		}
		m32 := float32(m)
		if float64(m32) >= b {
			m32 = math.Nextafter32(m32, float32(math.Inf(-1)))
		}
		if float64(m32) < a || math.IsInf(float64(m32), 0) {
			return math.NaN()
		}
		return float64(m32)
	}
	if len(distinct) <= maxBins {
		ub := make([]float64, 0, len(distinct)-1)
		for i := 0; i+1 < len(distinct); i++ {
			if e := mid(distinct[i], distinct[i+1]); e == e {
				ub = append(ub, e)
			}
		}
		return ub
	}
	ub := make([]float64, 0, maxBins-1)
	remaining := n
	binsLeft := maxBins
	acc := 0
	for i := 0; i+1 < len(distinct) && binsLeft > 1; i++ {
		acc += int(counts[i])
		target := float64(remaining) / float64(binsLeft)
		// Close the bin when it is full, or when adding the next value would overshoot more than stopping here.
		next := acc + int(counts[i+1])
		if float64(acc) >= target || float64(next)-target > target-float64(acc) {
			e := mid(distinct[i], distinct[i+1])
			if e != e {
				continue // no float32 between the two values: keep filling this bin
			}
			ub = append(ub, e)
			remaining -= acc
			binsLeft--
			acc = 0
		}
	}
	return ub
}

// binOf maps a raw value to its bin given the upper bounds; NaN maps to the missing bin len(ub)+1.
// It agrees with prediction: binOf(v) <= b exactly when v <= threshold(b).
func binOf(ub []float64, v float64) uint8 {
	if v != v {
		return uint8(len(ub) + 1)
	}
	return uint8(sort.SearchFloat64s(ub, v))
}

// binned is a row-major byte matrix of bin indices: one pass over a row touches all its features,
// which suits the few-features, many-rows shape of this project's data.
type binned struct {
	n, f int
	data []uint8 // data[i*f+j]
}

func (b *binned) row(i int) []uint8 { return b.data[i*b.f : i*b.f+b.f] }

// binRows bins the given rows (all rows when rows is nil) of X.
func binRows(X [][]float64, ub [][]float64, rows []int32, threads int) *binned {
	f := len(X)
	n := len(X[0])
	if rows != nil {
		n = len(rows)
	}
	out := &binned{n: n, f: f, data: make([]uint8, n*f)}
	parallelChunks(n, 8192, threads, func(_, lo, hi int) {
		for j := 0; j < f; j++ {
			col, u := X[j], ub[j]
			for i := lo; i < hi; i++ {
				src := i
				if rows != nil {
					src = int(rows[i])
				}
				out.data[i*f+j] = binOf(u, col[src])
			}
		}
	})
	return out
}
