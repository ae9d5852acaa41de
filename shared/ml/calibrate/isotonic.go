package calibrate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// uniqueEps is numpy's finfo(float64).resolution: scikit-learn merges
// sorted scores closer than this to the first of their group.
const uniqueEps = 1e-15

// Isotonic is scikit-learn 1.2's IsotonicRegression(increasing=True,
// out_of_bounds="clip") fitted on scores and 0/1 labels: a non-decreasing
// piecewise-linear map through the points (X[k], Y[k]), constant beyond
// its ends.
type Isotonic struct {
	X []float64 `json:"x"` // increasing
	Y []float64 `json:"y"` // non-decreasing, in [0, 1]
}

// FitIsotonic fits the map on scores s (finite) and labels y, as
// IsotonicRegression.fit does: rows sorted by score, scores within 1e-15 of
// their group's first merged (the group's label share, weighted by its
// rows), pool-adjacent-violators on the groups, then the points whose value
// equals both neighbours' dropped.
func FitIsotonic(s []float64, y []uint8) (*Isotonic, error) {
	if len(s) != len(y) {
		return nil, fmt.Errorf("isotonic: %d scores, %d labels", len(s), len(y))
	}
	if len(s) == 0 {
		return nil, errors.New("isotonic: no rows")
	}
	order := make([]int, len(s))
	for i := range order {
		if math.IsNaN(s[i]) || math.IsInf(s[i], 0) {
			return nil, fmt.Errorf("isotonic: score %v at row %d", s[i], i)
		}
		if y[i] > 1 {
			return nil, fmt.Errorf("isotonic: label %d at row %d is not 0/1", y[i], i)
		}
		order[i] = i
	}
	// numpy's lexsort((y, s)): by score, then label.
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(s[a], s[b]); c != 0 {
			return c
		}
		return cmp.Compare(y[a], y[b])
	})
	// Groups of (almost) equal scores: first score, label share, rows.
	var xs, vs, ws []float64
	cur, sum, w := s[order[0]], 0.0, 0.0
	for _, i := range order {
		if s[i]-cur >= uniqueEps {
			xs, vs, ws = append(xs, cur), append(vs, sum/w), append(ws, w)
			cur, sum, w = s[i], 0, 0
		}
		sum += float64(y[i])
		w++
	}
	xs, vs, ws = append(xs, cur), append(vs, sum/w), append(ws, w)
	pava(vs, ws)
	iso := &Isotonic{}
	for k := range xs {
		if k > 0 && k < len(xs)-1 && vs[k] == vs[k-1] && vs[k] == vs[k+1] {
			continue
		}
		iso.X = append(iso.X, xs[k])
		iso.Y = append(iso.Y, vs[k])
	}
	return iso, nil
}

// pava replaces v by its weighted isotonic (non-decreasing) regression, in
// place, pooling as scikit-learn's _inplace_contiguous_isotonic_regression
// does so sums are taken in the same order: from a block start, the longest
// run of non-increasing blocks is pooled into the first, then the scan
// steps back to the previous block. w is overwritten.
func pava(v, w []float64) {
	n := len(v)
	// end[i] is the last index of the block starting at i; start[j] the
	// first index of the block ending at j.
	end := make([]int, n)
	start := make([]int, n)
	for i := range end {
		end[i], start[i] = i, i
	}
	i := 0
	for i < n {
		k := end[i] + 1
		if k == n {
			break
		}
		if v[i] < v[k] {
			i = k
			continue
		}
		sumWV, sumW := w[i]*v[i], w[i]
		for {
			prev := v[k]
			sumWV += w[k] * v[k]
			sumW += w[k]
			k = end[k] + 1
			if k == n || prev < v[k] {
				v[i], w[i] = sumWV/sumW, sumW
				end[i], start[k-1] = k-1, i
				if i > 0 {
					i = start[i-1]
				}
				break
			}
		}
	}
	for i := 0; i < n; {
		k := end[i] + 1
		for j := i + 1; j < k; j++ {
			v[j] = v[i]
		}
		i = k
	}
}

// Validate checks a loaded map.
func (c *Isotonic) Validate() error {
	if len(c.X) == 0 || len(c.X) != len(c.Y) {
		return fmt.Errorf("isotonic: %d thresholds, %d values", len(c.X), len(c.Y))
	}
	for k := range c.X {
		if math.IsNaN(c.X[k]) || math.IsInf(c.X[k], 0) || !(c.Y[k] >= 0 && c.Y[k] <= 1) {
			return fmt.Errorf("isotonic: point %d is (%v, %v)", k, c.X[k], c.Y[k])
		}
		if k > 0 && (c.X[k] <= c.X[k-1] || c.Y[k] < c.Y[k-1]) {
			return fmt.Errorf("isotonic: points %d and %d are not increasing", k-1, k)
		}
	}
	return nil
}

// Apply maps a score: clipped to [X[0], X[last]], then numpy.interp's
// linear interpolation (what scipy's interp1d delegates to): the value at
// the segment's left end plus slope·(s − left end). It does not allocate.
func (c *Isotonic) Apply(s float64) float64 {
	n := len(c.X)
	if n == 1 || math.IsNaN(s) {
		if math.IsNaN(s) {
			return s
		}
		return c.Y[0]
	}
	s = math.Min(math.Max(s, c.X[0]), c.X[n-1])
	// j: the last point with X[j] <= s.
	j := sortSearch(c.X, s) - 1
	if j >= n-1 {
		return c.Y[n-1]
	}
	if j < 0 {
		j = 0
	}
	if c.X[j] == s {
		return c.Y[j]
	}
	slope := (c.Y[j+1] - c.Y[j]) / (c.X[j+1] - c.X[j])
	return slope*(s-c.X[j]) + c.Y[j]
}

// sortSearch is the number of xs <= v (xs increasing).
func sortSearch(xs []float64, v float64) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if xs[mid] <= v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
