// Package linear holds L2-regularised logistic regression fitted with L-BFGS (see lbfgs.go), the
// project's linear baseline. It minimises scikit-learn's LogisticRegression(C=…) objective
//
//	C·Σ logloss(yᵢ, σ(w·xᵢ + b)) + ½‖w‖²
//
// with the intercept b unpenalised, so its coefficients match sklearn's lbfgs solver. Feature matrices are
// column-major ([][]float64, X[j][i] = feature j of row i), labels []uint8 (0/1).
package linear

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Options configures Fit.
type Options struct {
	// C is the inverse regularisation strength, as in scikit-learn (larger = weaker penalty).
	C float64
	// MaxIter bounds the L-BFGS iterations.
	MaxIter int
	// Tol stops when the gradient's largest component falls below Tol·max(1, that of the starting point).
	Tol float64
	// Threads evaluating the objective; 0 = GOMAXPROCS. The result does not depend on it.
	Threads int
}

// DefaultOptions is C = 1 (sklearn's default), 1000 iterations, Tol 1e-10.
func DefaultOptions() Options { return Options{C: 1, MaxIter: 1000, Tol: 1e-10} }

// Model is a fitted logistic regression; it marshals to JSON as is.
type Model struct {
	Coef       []float64 `json:"coef"`
	Intercept  float64   `json:"intercept"`
	C          float64   `json:"c"`
	Iterations int       `json:"iterations"`
	Status     string    `json:"status"`    // why L-BFGS stopped
	GradNorm   float64   `json:"grad_norm"` // largest gradient component at the solution
	// Means are the training rows' feature means: the reference Contributions explains against
	// (absent from models fitted before explanations).
	Means []float64 `json:"means,omitempty"`
}

// Fit fits the model. It returns ctx's error if ctx ends first (checked at every evaluation).
func Fit(ctx context.Context, X [][]float64, y []uint8, opt Options) (*Model, error) {
	if !(opt.C > 0) || math.IsInf(opt.C, 0) {
		return nil, fmt.Errorf("logreg fit: C %v must be finite and > 0", opt.C)
	}
	if opt.MaxIter < 1 {
		return nil, fmt.Errorf("logreg fit: max iter %d must be >= 1", opt.MaxIter)
	}
	if !(opt.Tol > 0) {
		return nil, fmt.Errorf("logreg fit: tol %v must be > 0", opt.Tol)
	}
	n := len(y)
	if n == 0 {
		return nil, errors.New("logreg fit: no rows")
	}
	for j, c := range X {
		if len(c) != n {
			return nil, fmt.Errorf("logreg fit: column %d has %d rows, labels %d", j, len(c), n)
		}
		for i, v := range c {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("logreg fit: column %d row %d is %v", j, i, v)
			}
		}
	}
	for i, v := range y {
		if v > 1 {
			return nil, fmt.Errorf("logreg fit: label %d at row %d is not 0/1", v, i)
		}
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	ob := newObjective(X, y, opt.C, threads)
	d := len(X)
	x0 := make([]float64, d+1)
	_, g0 := ob.eval(x0)
	thr := opt.Tol * max(1, infNorm(g0))

	res, err := minimize(ctx, func(x, grad []float64) float64 {
		f, g := ob.eval(x)
		copy(grad, g)
		return f
	}, x0, thr, opt.MaxIter, 10)
	if err != nil {
		return nil, fmt.Errorf("logreg fit: %w", err)
	}
	gn := infNorm(res.grad)
	// A line search that cannot improve any more right at the optimum is no failure: accept the point
	// when its gradient is within a few orders of the threshold.
	if res.status == statusStalled && !(gn <= 1e3*thr) {
		return nil, fmt.Errorf("logreg fit: line search stalled after %d iterations with gradient %.3g (threshold %.3g)", res.iters, gn, thr)
	}
	for _, v := range res.x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("logreg fit: non-finite coefficient after %d iterations", res.iters)
		}
	}
	return &Model{
		Coef:       slices.Clone(res.x[:d]),
		Intercept:  res.x[d],
		C:          opt.C,
		Iterations: res.iters,
		Status:     string(res.status),
		GradNorm:   gn,
		Means:      means(X),
	}, nil
}

func means(X [][]float64) []float64 {
	out := make([]float64, len(X))
	for j, c := range X {
		s := 0.0
		for _, v := range c {
			s += v
		}
		out[j] = s / float64(len(c))
	}
	return out
}

func infNorm(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// objective evaluates loss and gradient together in one pass over fixed row chunks (column segments of a
// chunk stay in cache); partial sums are merged in chunk order so the result does not depend on threads.
// The last point is cached: gonum asks for Func and Grad at the same x one after the other.
type objective struct {
	X       [][]float64
	y       []uint8
	c       float64
	threads int
	chunk   int
	z       []float64 // per-row margin scratch
	partF   []float64
	partG   [][]float64

	mu    sync.Mutex
	lastX []float64
	lastF float64
	lastG []float64
}

func newObjective(X [][]float64, y []uint8, c float64, threads int) *objective {
	const chunk = 8192
	nc := (len(y) + chunk - 1) / chunk
	o := &objective{X: X, y: y, c: c, threads: threads, chunk: chunk, z: make([]float64, len(y)),
		partF: make([]float64, nc), partG: make([][]float64, nc), lastG: make([]float64, len(X)+1)}
	for k := range o.partG {
		o.partG[k] = make([]float64, len(X)+1)
	}
	return o
}

func (o *objective) eval(x []float64) (float64, []float64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lastX != nil && slices.Equal(o.lastX, x) {
		return o.lastF, o.lastG
	}
	d := len(o.X)
	w, b := x[:d], x[d]
	n := len(o.y)
	nc := len(o.partF)
	runChunks(nc, o.threads, func(k int) {
		lo := k * o.chunk
		hi := min(lo+o.chunk, n)
		z := o.z[lo:hi]
		for i := range z {
			z[i] = b
		}
		for j, col := range o.X {
			wj := w[j]
			for i, v := range col[lo:hi] {
				z[i] += wj * v
			}
		}
		loss, gb := 0.0, 0.0
		for i, zi := range z {
			yi := o.y[lo+i]
			loss += logLoss(zi, yi)
			r := sigmoid(zi) - float64(yi)
			z[i] = r // reuse the scratch for residuals
			gb += r
		}
		g := o.partG[k]
		for j, col := range o.X {
			s := 0.0
			for i, v := range col[lo:hi] {
				s += z[i] * v
			}
			g[j] = s
		}
		g[d] = gb
		o.partF[k] = loss
	})
	f := 0.0
	g := o.lastG
	clear(g)
	for k := 0; k < nc; k++ {
		f += o.partF[k]
		for j, v := range o.partG[k] {
			g[j] += v
		}
	}
	reg := 0.0
	for j := 0; j < d; j++ {
		g[j] = o.c*g[j] + w[j]
		reg += w[j] * w[j]
	}
	g[d] *= o.c
	f = o.c*f + 0.5*reg
	o.lastX = append(o.lastX[:0], x...)
	o.lastF = f
	return f, g
}

// PredictProba returns P(y = 1) for one row (len(row) == len(Coef)). It does not allocate.
func (m *Model) PredictProba(row []float64) float64 {
	z := m.Intercept
	for j, w := range m.Coef {
		z += w * row[j]
	}
	return sigmoid(z)
}

// PredictProbaBatch scores every row of the column-major matrix X.
func (m *Model) PredictProbaBatch(X [][]float64) ([]float64, error) {
	if len(X) != len(m.Coef) {
		return nil, fmt.Errorf("logreg predict: %d feature columns, model has %d", len(X), len(m.Coef))
	}
	if len(X) == 0 {
		return nil, errors.New("logreg predict: no feature columns")
	}
	n := len(X[0])
	z := make([]float64, n)
	for i := range z {
		z[i] = m.Intercept
	}
	for j, col := range X {
		if len(col) != n {
			return nil, fmt.Errorf("logreg predict: column %d has %d rows, column 0 has %d", j, len(col), n)
		}
		w := m.Coef[j]
		for i, v := range col {
			z[i] += w * v
		}
	}
	for i, v := range z {
		z[i] = sigmoid(v)
	}
	return z, nil
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logLoss of margin z for label y without overflow: log(1+e^(-z)) for y = 1, log(1+e^z) for y = 0.
func logLoss(z float64, y uint8) float64 {
	if y == 0 {
		z = -z
	}
	if z > 0 {
		return math.Log1p(math.Exp(-z))
	}
	return -z + math.Log1p(math.Exp(z))
}

// runChunks calls fn(0..nc-1) on up to threads goroutines.
func runChunks(nc, threads int, fn func(k int)) {
	if threads > nc {
		threads = nc
	}
	if threads <= 1 {
		for k := 0; k < nc; k++ {
			fn(k)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, nc)
	for k := 0; k < nc; k++ {
		next <- k
	}
	close(next)
	wg.Add(threads)
	for t := 0; t < threads; t++ {
		go func() {
			defer wg.Done()
			for k := range next {
				fn(k)
			}
		}()
	}
	wg.Wait()
}
