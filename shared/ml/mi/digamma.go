package mi

import "math"

// digamma is ψ(x) for x > 0: the recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 10,
// then the asymptotic series; accurate to a few ulps, which is all the
// estimator needs (it only takes ψ of counts).
func digamma(x float64) float64 {
	var acc float64
	for x < 10 {
		acc -= 1 / x
		x++
	}
	f := 1 / (x * x)
	// ln x − 1/(2x) − Σ B₂ₙ/(2n·x²ⁿ)
	series := f * (1.0/12 - f*(1.0/120-f*(1.0/252-f*(1.0/240-f*(1.0/132-f*(691.0/32760-f/12))))))
	return acc + math.Log(x) - 0.5/x - series
}

// digammaTable returns ψ(0..n) at integer points (ψ(0) is unused and left 0).
func digammaTable(n int) []float64 {
	t := make([]float64, n+1)
	for i := 1; i <= n; i++ {
		t[i] = digamma(float64(i))
	}
	return t
}
