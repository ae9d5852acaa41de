package linear

import (
	"context"
	"fmt"
	"math"
)

// This file is a small L-BFGS (two-loop recursion, strong-Wolfe line search after Nocedal & Wright,
// algorithms 3.5/3.6 and 7.4). gonum.org/v1/gonum/optimize would do the same, but in gonum v0.17.0 that
// package imports stat/distmv, which needs golang.org/x/tools — a module this repository's go.sum does
// not hold — so it does not build here.

const (
	wolfeC1    = 1e-4 // sufficient decrease
	wolfeC2    = 0.9  // curvature (the usual value for quasi-Newton methods)
	maxLSEvals = 40
)

// lbfgsStatus says why minimize stopped.
type lbfgsStatus string

const (
	statusGradient   lbfgsStatus = "GradientThreshold"
	statusIterations lbfgsStatus = "IterationLimit"
	statusStalled    lbfgsStatus = "LineSearchStalled" // no step decreases f any more (roundoff level)
)

type lbfgsResult struct {
	x      []float64
	f      float64
	grad   []float64
	iters  int
	evals  int
	status lbfgsStatus
}

// minimize runs L-BFGS with memory mem on fg, which returns f(x) and writes ∇f(x) into grad. It stops when
// the gradient's largest component is at most gtol, after maxIter iterations, or when no step along the
// search direction decreases f (then the caller judges the gradient). ctx is checked every iteration.
func minimize(ctx context.Context, fg func(x, grad []float64) float64, x0 []float64, gtol float64, maxIter, mem int) (lbfgsResult, error) {
	n := len(x0)
	x := append([]float64(nil), x0...)
	g := make([]float64, n)
	f := fg(x, g)
	evals := 1
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return lbfgsResult{}, fmt.Errorf("objective is %v at the start", f)
	}
	s := make([][]float64, mem)
	y := make([][]float64, mem)
	for k := range s {
		s[k] = make([]float64, n)
		y[k] = make([]float64, n)
	}
	rho := make([]float64, mem)
	alpha := make([]float64, mem)
	stored, newest := 0, -1

	d := make([]float64, n)
	xNew := make([]float64, n)
	gNew := make([]float64, n)
	res := lbfgsResult{}
	for it := 0; ; it++ {
		if infNorm(g) <= gtol {
			res.status = statusGradient
			res.iters = it
			break
		}
		if it >= maxIter {
			res.status = statusIterations
			res.iters = it
			break
		}
		if err := ctx.Err(); err != nil {
			return lbfgsResult{}, err
		}
		// d = -H·g by the two-loop recursion; H0 = (s·y / y·y)·I from the newest pair.
		copy(d, g)
		for k := 0; k < stored; k++ {
			i := (newest - k + mem) % mem
			alpha[i] = rho[i] * dot(s[i], d)
			axpy(-alpha[i], y[i], d)
		}
		if stored > 0 {
			scale(dot(s[newest], y[newest])/dot(y[newest], y[newest]), d)
		}
		for k := stored - 1; k >= 0; k-- {
			i := (newest - k + mem) % mem
			b := rho[i] * dot(y[i], d)
			axpy(alpha[i]-b, s[i], d)
		}
		scale(-1, d)
		dg := dot(d, g)
		if !(dg < 0) { // not a descent direction (numerical trouble): restart from steepest descent
			copy(d, g)
			scale(-1, d)
			dg = dot(d, g)
			stored, newest = 0, -1
		}
		step := 1.0
		if stored == 0 {
			step = min(1, 1/math.Sqrt(dot(g, g)))
		}
		fNew, ok, ev := wolfeSearch(fg, x, f, dg, d, step, xNew, gNew)
		evals += ev
		if !ok {
			if stored > 0 { // retry once from steepest descent with a fresh memory
				stored, newest = 0, -1
				continue
			}
			res.status = statusStalled
			res.iters = it
			break
		}
		// Store the pair when the curvature is safely positive.
		newest = (newest + 1) % mem
		sy, yy := 0.0, 0.0
		for j := range x {
			s[newest][j] = xNew[j] - x[j]
			y[newest][j] = gNew[j] - g[j]
			sy += s[newest][j] * y[newest][j]
			yy += y[newest][j] * y[newest][j]
		}
		if sy > 1e-12*yy && sy > 0 {
			rho[newest] = 1 / sy
			stored = min(stored+1, mem)
		} else {
			newest = (newest - 1 + mem) % mem
		}
		copy(x, xNew)
		copy(g, gNew)
		f = fNew
	}
	res.x, res.f, res.grad, res.evals = x, f, g, evals
	return res, nil
}

// wolfeSearch finds a step a along d satisfying the strong Wolfe conditions from x (f0, slope dg0 < 0),
// starting at a0. On success xNew, gNew hold the new point and its gradient.
func wolfeSearch(fg func(x, grad []float64) float64, x []float64, f0, dg0 float64, d []float64, a0 float64, xNew, gNew []float64) (float64, bool, int) {
	evals := 0
	phi := func(a float64) (float64, float64) {
		for j := range x {
			xNew[j] = x[j] + a*d[j]
		}
		evals++
		f := fg(xNew, gNew)
		return f, dot(gNew, d)
	}
	prev := lsPoint{0, f0, dg0}
	a := a0
	armijo := sufficientDecrease(f0, dg0)
	for i := 0; i < maxLSEvals; i++ {
		fa, da := phi(a)
		if math.IsNaN(fa) || math.IsInf(fa, 1) { // overshoot into overflow: step back
			a = prev.a + (a-prev.a)/4
			continue
		}
		cur := lsPoint{a, fa, da}
		if !armijo(a, fa) || (i > 0 && fa > prev.f) {
			return zoom(phi, f0, dg0, prev, cur, &evals)
		}
		if math.Abs(da) <= -wolfeC2*dg0 {
			return fa, true, evals
		}
		if da >= 0 {
			return zoom(phi, f0, dg0, cur, prev, &evals)
		}
		prev = cur
		a *= 2
	}
	return 0, false, evals
}

// lsPoint is a trial step with the objective and the slope along the search direction there.
type lsPoint struct{ a, f, dg float64 }

// zoom narrows [lo, hi] (lo satisfies sufficient decrease, the minimiser lies between) to a strong-Wolfe step.
func zoom(phi func(float64) (float64, float64), f0, dg0 float64, lo, hi lsPoint, evals *int) (float64, bool, int) {
	armijo := sufficientDecrease(f0, dg0)
	for i := 0; i < maxLSEvals; i++ {
		a := cubicMin(lo.a, lo.f, lo.dg, hi.a, hi.f, hi.dg)
		// Keep the trial well inside the interval.
		left, right := min(lo.a, hi.a), max(lo.a, hi.a)
		width := right - left
		if width <= 1e-16*max(1, right) {
			break
		}
		if !(a > left+0.1*width && a < right-0.1*width) {
			a = (lo.a + hi.a) / 2
		}
		fa, da := phi(a)
		if !armijo(a, fa) || fa > lo.f {
			hi = lsPoint{a, fa, da}
			continue
		}
		if math.Abs(da) <= -wolfeC2*dg0 {
			return fa, true, *evals
		}
		if da*(hi.a-lo.a) >= 0 {
			hi = lo
		}
		lo = lsPoint{a, fa, da}
	}
	// The interval collapsed (roundoff): accept lo if it moved and did not increase f.
	if lo.a > 0 && lo.f <= f0 {
		fa, _ := phi(lo.a)
		return fa, true, *evals
	}
	return 0, false, *evals
}

// sufficientDecrease is the Armijo test, relaxed by a roundoff band around f0 (Hager & Zhang's
// "approximate Wolfe" idea): next to the optimum the decrease a step brings is below the rounding error of
// a sum over many rows, and only the slope still tells a better point from a worse one.
func sufficientDecrease(f0, dg0 float64) func(a, fa float64) bool {
	band := 1e-12 * math.Abs(f0)
	return func(a, fa float64) bool { return fa <= f0+wolfeC1*a*dg0 || fa <= f0+band }
}

// cubicMin is the minimiser of the cubic through (a, fa, da) and (b, fb, db), NaN if it has none.
func cubicMin(a, fa, da, b, fb, db float64) float64 {
	d1 := da + db - 3*(fa-fb)/(a-b)
	disc := d1*d1 - da*db
	if disc < 0 {
		return math.NaN()
	}
	d2 := math.Copysign(math.Sqrt(disc), b-a)
	return b - (b-a)*(db+d2-d1)/(db-da+2*d2)
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func axpy(alpha float64, x, y []float64) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scale(alpha float64, x []float64) {
	for i := range x {
		x[i] *= alpha
	}
}
