package main

import (
	"encoding/json"
	"math"
	"slices"
)

// Num is a float that may be undefined (a ratio of nothing, an exponent of
// sizes that did not grow): NaN in Go, null in JSON, "–" in the report.
type Num float64

// NaN is the undefined Num.
var NaN = Num(math.NaN())

// OK reports whether n is a finite number.
func (n Num) OK() bool { return !math.IsNaN(float64(n)) && !math.IsInf(float64(n), 0) }

func (n Num) MarshalJSON() ([]byte, error) {
	if !n.OK() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = NaN
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

// median of xs; NaN when empty. Even counts take the mean of the middle two.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// ratio a/b, undefined when either is not a positive number.
func ratio(a, b float64) Num {
	if !(a > 0) || !(b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return NaN
	}
	return Num(a / b)
}

// exponent is b in y = c·n^b through two points: how y grows with n.
func exponent(n1, y1, n2, y2 float64) Num {
	if !(n1 > 0) || !(n2 > 0) || !(y1 > 0) || !(y2 > 0) || n1 == n2 {
		return NaN
	}
	return Num(math.Log(y2/y1) / math.Log(n2/n1))
}

// fitExponent is the least-squares slope of log y on log n over every point
// with positive values; NaN with fewer than two distinct sizes.
func fitExponent(ns, ys []float64) Num {
	var lx, ly []float64
	for i := range ns {
		if i < len(ys) && ns[i] > 0 && ys[i] > 0 {
			lx = append(lx, math.Log(ns[i]))
			ly = append(ly, math.Log(ys[i]))
		}
	}
	if len(lx) < 2 {
		return NaN
	}
	var mx, my float64
	for i := range lx {
		mx += lx[i]
		my += ly[i]
	}
	mx /= float64(len(lx))
	my /= float64(len(lx))
	var sxy, sxx float64
	for i := range lx {
		sxy += (lx[i] - mx) * (ly[i] - my)
		sxx += (lx[i] - mx) * (lx[i] - mx)
	}
	if sxx == 0 {
		return NaN
	}
	return Num(sxy / sxx)
}

// nlognExponent is the exponent that n·log n shows between n1 and n2: a
// little above 1 (1.07 from 268 k to 4.3 M rows).
func nlognExponent(n1, n2 float64) Num {
	if !(n1 > 1) || !(n2 > 1) || n1 == n2 {
		return NaN
	}
	return Num(1 + math.Log(math.Log(n2)/math.Log(n1))/math.Log(n2/n1))
}

// Growth verdicts.
const (
	growthLinear    = "linear"
	growthNLogN     = "n log n"
	growthSuper     = "super-linear"
	growthTooShort  = "too short to judge"
	growthUndefined = "not measured"
)

// growthTolerance absorbs timing noise in a fitted exponent.
const growthTolerance = 0.15

// judgeGrowth classifies the exponent b measured between n1 and n2 rows:
// linear when b ≤ 1 + tolerance, n log n when the step may sort or search a
// tree and b ≤ its n log n exponent + tolerance, super-linear otherwise.
// Values below floor at the larger size are noise, not growth.
func judgeGrowth(b Num, n1, n2, yLarge, floor float64, nlognAllowed bool) string {
	switch {
	case !b.OK():
		return growthUndefined
	case yLarge < floor:
		return growthTooShort
	case float64(b) <= 1+growthTolerance:
		return growthLinear
	case nlognAllowed && nlognExponent(n1, n2).OK() && float64(b) <= float64(nlognExponent(n1, n2))+growthTolerance:
		return growthNLogN
	}
	return growthSuper
}

// growthOK reports whether a verdict meets the rule "no worse than linear,
// n log n allowed for sort/tree steps".
func growthOK(verdict string) bool { return verdict != growthSuper }
