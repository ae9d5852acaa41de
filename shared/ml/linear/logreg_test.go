package linear

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
)

// goldenData reads testdata/logreg_data.csv.gz (written by bench/reference/golden_models.py): feature
// columns, arrest, split (train/eval).
func goldenData(t *testing.T) (Xtr [][]float64, ytr []uint8, Xev [][]float64) {
	t.Helper()
	f, err := os.Open(repo.Path("internal/testdata/linear/logreg_data.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(zr)
	head, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	nf := len(head) - 2
	if head[nf] != "arrest" || head[nf+1] != "split" {
		t.Fatalf("unexpected header %v", head)
	}
	Xtr = make([][]float64, nf)
	Xev = make([][]float64, nf)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := &Xtr
		if rec[nf+1] == "eval" {
			dst = &Xev
		} else {
			ytr = append(ytr, uint8(rec[nf][0]-'0'))
		}
		for j := 0; j < nf; j++ {
			v, err := strconv.ParseFloat(rec[j], 64)
			if err != nil {
				t.Fatal(err)
			}
			(*dst)[j] = append((*dst)[j], v)
		}
	}
	return Xtr, ytr, Xev
}

type goldenCase struct {
	C         float64   `json:"C"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
	EvalProba []float64 `json:"eval_proba"`
	NewtonW   []float64 `json:"newton_coef"`
	NewtonB   float64   `json:"newton_intercept"`
}

// TestGoldenSklearn compares coefficients and probabilities with scikit-learn's LogisticRegression(lbfgs)
// on 2,000 rows of the prepared 2017 Chicago data (standardised), for the default, a strong and a weak
// penalty, and the coefficients with the exact optimum found by Newton's method in the generator.
func TestGoldenSklearn(t *testing.T) {
	Xtr, ytr, Xev := goldenData(t)
	b, err := os.ReadFile(repo.Path("internal/testdata/linear/logreg_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, gc := range golden.Cases {
		opt := DefaultOptions()
		opt.C = gc.C
		m, err := Fit(context.Background(), Xtr, ytr, opt)
		if err != nil {
			t.Fatalf("C=%v: %v", gc.C, err)
		}
		worstCoef := math.Abs(m.Intercept - gc.Intercept)
		for j, w := range gc.Coef {
			worstCoef = max(worstCoef, math.Abs(m.Coef[j]-w))
		}
		worstNewton := math.Abs(m.Intercept - gc.NewtonB)
		for j, w := range gc.NewtonW {
			worstNewton = max(worstNewton, math.Abs(m.Coef[j]-w))
		}
		if len(gc.NewtonW) != len(m.Coef) || worstNewton > 1e-6 {
			t.Errorf("C=%v: coefficients differ from the exact (Newton) optimum by %.3g (> 1e-6)", gc.C, worstNewton)
		}
		p, err := m.PredictProbaBatch(Xev)
		if err != nil {
			t.Fatal(err)
		}
		worstP := 0.0
		for i, v := range gc.EvalProba {
			worstP = max(worstP, math.Abs(p[i]-v))
		}
		t.Logf("C=%v: %d iterations (%s, gradient %.2g), max |Δcoef| %.2g, max |Δp| %.2g", gc.C, m.Iterations, m.Status, m.GradNorm, worstCoef, worstP)
		if worstCoef > 1e-4 {
			t.Errorf("C=%v: coefficients differ from sklearn by %.3g (> 1e-4): got %v %v, want %v %v", gc.C, worstCoef, m.Coef, m.Intercept, gc.Coef, gc.Intercept)
		}
		if worstP > 1e-6 {
			t.Errorf("C=%v: probabilities differ from sklearn by %.3g (> 1e-6)", gc.C, worstP)
		}
	}
}

func synthetic(n int, seed uint64) ([][]float64, []uint8) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X := make([][]float64, 3)
	for j := range X {
		X[j] = make([]float64, n)
	}
	y := make([]uint8, n)
	for i := 0; i < n; i++ {
		for j := range X {
			X[j][i] = rng.NormFloat64()
		}
		z := 1.5*X[0][i] - 2*X[1][i] + 0.3
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return X, y
}

// The fit is the same to the bit whatever the thread count, recovers the generating coefficients on a
// large sample, and the JSON round trip predicts the same bits.
func TestThreadsRecoveryAndJSON(t *testing.T) {
	X, y := synthetic(40000, 7)
	opt := DefaultOptions()
	opt.Threads = 1
	m1, err := Fit(context.Background(), X, y, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Threads = 4
	m4, err := Fit(context.Background(), X, y, opt)
	if err != nil {
		t.Fatal(err)
	}
	for j := range m1.Coef {
		if math.Float64bits(m1.Coef[j]) != math.Float64bits(m4.Coef[j]) {
			t.Fatalf("coef %d differs between 1 and 4 threads: %v vs %v", j, m1.Coef[j], m4.Coef[j])
		}
	}
	want := []float64{1.5, -2, 0}
	for j, w := range want {
		if math.Abs(m1.Coef[j]-w) > 0.06 {
			t.Errorf("coef %d = %.3f, generated with %v", j, m1.Coef[j], w)
		}
	}
	if math.Abs(m1.Intercept-0.3) > 0.06 {
		t.Errorf("intercept %.3f, generated with 0.3", m1.Intercept)
	}
	b, err := json.Marshal(m1)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	row := make([]float64, 3)
	for i := 0; i < 1000; i++ {
		for j := range row {
			row[j] = X[j][i]
		}
		if a, b := m1.PredictProba(row), back.PredictProba(row); math.Float64bits(a) != math.Float64bits(b) {
			t.Fatalf("row %d: %v before JSON, %v after", i, a, b)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = m1.PredictProba(row) }); n != 0 {
		t.Errorf("PredictProba allocates %v times", n)
	}
}

// Separable data drive unpenalised weights to infinity; the L2 term keeps them finite and the solver
// still reaches its gradient tolerance.
func TestSeparableStaysFinite(t *testing.T) {
	X := [][]float64{{-2, -1, -0.5, 0.5, 1, 2}}
	y := []uint8{0, 0, 0, 1, 1, 1}
	m, err := Fit(context.Background(), X, y, Options{C: 1e4, MaxIter: 1000, Tol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	if !(m.Coef[0] > 5) || math.IsInf(m.Coef[0], 0) {
		t.Fatalf("coef %v: want large and finite", m.Coef[0])
	}
	if p := m.PredictProba([]float64{0.5}); p < 0.99 {
		t.Fatalf("p(0.5) = %v", p)
	}
}

func TestErrors(t *testing.T) {
	X, y := synthetic(100, 1)
	ctx := context.Background()
	for name, opt := range map[string]Options{
		"C zero":   {C: 0, MaxIter: 10, Tol: 1e-6},
		"C inf":    {C: math.Inf(1), MaxIter: 10, Tol: 1e-6},
		"no iters": {C: 1, MaxIter: 0, Tol: 1e-6},
		"no tol":   {C: 1, MaxIter: 10, Tol: 0},
	} {
		if _, err := Fit(ctx, X, y, opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Fit(ctx, [][]float64{{1, 2}}, []uint8{0}, DefaultOptions()); err == nil {
		t.Error("ragged input: no error")
	}
	if _, err := Fit(ctx, [][]float64{{1, math.NaN()}}, []uint8{0, 1}, DefaultOptions()); err == nil {
		t.Error("NaN feature: no error")
	}
	if _, err := Fit(ctx, [][]float64{{1, 2}}, []uint8{0, 2}, DefaultOptions()); err == nil {
		t.Error("label 2: no error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Fit(cctx, X, y, DefaultOptions()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	m := &Model{Coef: []float64{1, 2}}
	if _, err := m.PredictProbaBatch([][]float64{{1}}); err == nil {
		t.Error("wrong column count: no error")
	}
}

// BenchmarkFit fits the logistic regression on 200k×9 synthetic rows of the real data's shape.
func BenchmarkFit(b *testing.B) {
	const n, d = 200_000, 9
	rng := rand.New(rand.NewPCG(3, 4))
	X := make([][]float64, d)
	for j := range X {
		X[j] = make([]float64, n)
	}
	y := make([]uint8, n)
	for i := 0; i < n; i++ {
		z := -0.5
		for j := range X {
			X[j][i] = rng.NormFloat64()
			z += X[j][i] * float64(j%3-1) * 0.7
		}
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := Fit(context.Background(), X, y, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Iterations), "iters")
	}
}
