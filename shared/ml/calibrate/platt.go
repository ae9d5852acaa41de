package calibrate

import (
	"errors"
	"fmt"
	"math"
)

// Platt is Platt scaling, scikit-learn's sigmoid calibration: a score f
// maps to 1 / (1 + exp(A·f + B)).
type Platt struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

// Apply maps a score; it does not allocate.
func (c *Platt) Apply(f float64) float64 { return Sigmoid(-(c.A*f + c.B)) }

// Validate checks a loaded map.
func (c *Platt) Validate() error {
	for _, v := range []float64{c.A, c.B} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("platt: parameters (%v, %v)", c.A, c.B)
		}
	}
	return nil
}

// Sigmoid is 1 / (1 + exp(−z)), computed without overflow (scipy's expit).
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// FitPlatt fits A and B on scores f and labels y by minimising the log
// loss against Platt's smoothed targets, (N₊+1)/(N₊+2) for a positive and
// 1/(N₋+2) for a negative, as scikit-learn's _sigmoid_calibration does; it
// starts from scikit-learn's point (0, log((N₋+1)/(N₊+1))) and uses Newton's
// method with a backtracking line search (Lin, Lin and Weng, "A note on
// Platt's probabilistic outputs for support vector machines", 2007) to the
// minimum's precision, where scikit-learn's BFGS stops at a gradient of 1e-5.
func FitPlatt(f []float64, y []uint8) (*Platt, error) {
	if len(f) != len(y) {
		return nil, fmt.Errorf("platt: %d scores, %d labels", len(f), len(y))
	}
	if len(f) == 0 {
		return nil, errors.New("platt: no rows")
	}
	neg, pos := 0.0, 0.0
	for i, v := range f {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("platt: score %v at row %d", v, i)
		}
		switch y[i] {
		case 0:
			neg++
		case 1:
			pos++
		default:
			return nil, fmt.Errorf("platt: label %d at row %d is not 0/1", y[i], i)
		}
	}
	hiT, loT := (pos+1)/(pos+2), 1/(neg+2)
	target := func(i int) float64 {
		if y[i] == 1 {
			return hiT
		}
		return loT
	}
	// loss of (a, b): Σ t·log(1+e^−z) + (1−t)·log(1+e^z) with z = −(a·f+b),
	// the probability of a positive being sigmoid(z).
	loss := func(a, b float64) float64 {
		s := 0.0
		for i, v := range f {
			z := -(a*v + b)
			t := target(i)
			s += t*softplus(-z) + (1-t)*softplus(z)
		}
		return s
	}
	a, b := 0.0, math.Log((neg+1)/(pos+1))
	cur := loss(a, b)
	const (
		maxIter = 100
		minStep = 1e-10
		sigma   = 1e-12 // Hessian ridge, keeps the Newton system positive definite
	)
	for range maxIter {
		// Gradient and Hessian of the loss in (a, b).
		var ga, gb, haa, hab, hbb float64
		for i, v := range f {
			p := Sigmoid(-(a*v + b)) // P(positive)
			d := target(i) - p       // ∂loss/∂(a·f+b)
			ga += d * v
			gb += d
			h := p * (1 - p)
			haa += h * v * v
			hab += h * v
			hbb += h
		}
		if math.Abs(ga) < 1e-12*float64(len(f)) && math.Abs(gb) < 1e-12*float64(len(f)) {
			break
		}
		haa += sigma
		hbb += sigma
		det := haa*hbb - hab*hab
		da := -(hbb*ga - hab*gb) / det
		db := -(-hab*ga + haa*gb) / det
		gd := ga*da + gb*db
		step := 1.0
		moved := false
		for step >= minStep {
			na, nb := a+step*da, b+step*db
			if l := loss(na, nb); l < cur+1e-4*step*gd {
				a, b, cur, moved = na, nb, l, true
				break
			}
			step /= 2
		}
		if !moved {
			break // no descent left at float64 precision
		}
	}
	c := &Platt{A: a, B: b}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// softplus is log(1 + e^x) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
