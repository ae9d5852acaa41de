package calibrate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/ml/metrics"
)

// The golden file is written by bench/reference/golden_target_calibrate.py
// from scikit-learn 1.2 and scipy 1.10.
type golden struct {
	Isotonic []struct {
		Name    string    `json:"name"`
		X       []float64 `json:"x"`
		Y       []uint8   `json:"y"`
		TX      []float64 `json:"thresholds_x"`
		TY      []float64 `json:"thresholds_y"`
		Query   []float64 `json:"query"`
		Predict []float64 `json:"predict"`
	} `json:"isotonic"`
	Platt []struct {
		Name        string    `json:"name"`
		F           []float64 `json:"f"`
		Y           []uint8   `json:"y"`
		SklearnA    float64   `json:"sklearn_a"`
		SklearnB    float64   `json:"sklearn_b"`
		SklearnLoss float64   `json:"sklearn_loss"`
		A           float64   `json:"a"`
		B           float64   `json:"b"`
		Loss        float64   `json:"loss"`
		Query       []float64 `json:"query"`
		Predict     []float64 `json:"predict"`
	} `json:"platt"`
}

func readGolden(t *testing.T) *golden {
	t.Helper()
	b, err := os.ReadFile(repo.Need(t, "internal/testdata/calibrate/golden_calibrate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// FitIsotonic keeps scikit-learn's very thresholds, and Apply predicts its
// values, clipping included.
func TestIsotonicMatchesScikitLearn(t *testing.T) {
	for _, c := range readGolden(t).Isotonic {
		iso, err := FitIsotonic(c.X, c.Y)
		if err != nil {
			t.Fatal(err)
		}
		if len(iso.X) != len(c.TX) {
			t.Fatalf("%s: %d thresholds, sklearn %d", c.Name, len(iso.X), len(c.TX))
		}
		for k := range iso.X {
			if iso.X[k] != c.TX[k] || iso.Y[k] != c.TY[k] {
				t.Fatalf("%s: threshold %d (%v, %v), sklearn (%v, %v)", c.Name, k, iso.X[k], iso.Y[k], c.TX[k], c.TY[k])
			}
		}
		if err := iso.Validate(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		for i, q := range c.Query {
			if got := iso.Apply(q); got != c.Predict[i] {
				t.Errorf("%s: Apply(%v) = %v, sklearn %v", c.Name, q, got, c.Predict[i])
			}
		}
	}
}

// FitPlatt reaches the minimum of scikit-learn's objective (to scipy's
// Newton solution's precision), at or below the loss of scikit-learn's own
// BFGS stop, and Apply is its expit(−(a·f + b)).
func TestPlattMatchesScikitLearn(t *testing.T) {
	for _, c := range readGolden(t).Platt {
		p, err := FitPlatt(c.F, c.Y)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(p.A-c.A) > 1e-6*math.Max(1, math.Abs(c.A)) || math.Abs(p.B-c.B) > 1e-6*math.Max(1, math.Abs(c.B)) {
			t.Errorf("%s: (%v, %v), scipy's minimum (%v, %v)", c.Name, p.A, p.B, c.A, c.B)
		}
		if math.Abs(p.A-c.SklearnA) > 1e-4*math.Max(1, math.Abs(c.A)) || math.Abs(p.B-c.SklearnB) > 1e-4*math.Max(1, math.Abs(c.B)) {
			t.Errorf("%s: (%v, %v), sklearn's (%v, %v)", c.Name, p.A, p.B, c.SklearnA, c.SklearnB)
		}
		if l := plattLoss(c.F, c.Y, p.A, p.B); l > c.SklearnLoss+1e-9 || l > c.Loss+1e-9 {
			t.Errorf("%s: loss %v, sklearn %v, scipy %v", c.Name, l, c.SklearnLoss, c.Loss)
		}
		q := &Platt{A: c.A, B: c.B}
		for i, f := range c.Query {
			if got := q.Apply(f); math.Abs(got-c.Predict[i]) > 1e-15 {
				t.Errorf("%s: Apply(%v) = %v, scipy %v", c.Name, f, got, c.Predict[i])
			}
		}
	}
}

// plattLoss is the objective as scikit-learn writes it (xlogy terms).
func plattLoss(f []float64, y []uint8, a, b float64) float64 {
	pos := 0.0
	for _, v := range y {
		pos += float64(v)
	}
	neg := float64(len(y)) - pos
	s := 0.0
	for i, v := range f {
		t := 1 / (neg + 2)
		if y[i] == 1 {
			t = (pos + 1) / (pos + 2)
		}
		p := Sigmoid(-(a*v + b))
		s -= t*math.Log(p) + (1-t)*math.Log(1-p)
	}
	return s
}

// synth is margins and labels drawn from a miscalibrated model: the true
// log-odds are 0.6·margin − 0.4.
func synth(n int, seed uint64) ([]float64, []uint8) {
	rng := rand.New(rand.NewPCG(seed, 9))
	s := make([]float64, n)
	y := make([]uint8, n)
	for i := range s {
		s[i] = rng.NormFloat64() * 2.5
		if rng.Float64() < Sigmoid(0.6*s[i]-0.4) {
			y[i] = 1
		}
	}
	return s, y
}

// Choose calibrates a miscalibrated score (Platt or isotonic beat the raw
// sigmoid in cross-validated log loss) and leaves a calibrated one alone.
func TestChoose(t *testing.T) {
	s, y := synth(20000, 1)
	c, ch, err := Choose(s, y, 5, 3, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Chosen == None || c.Method != ch.Chosen || ch.LogLoss[ch.Chosen] >= ch.LogLoss[None] {
		t.Errorf("miscalibrated scores: chose %s (%v)", ch.Chosen, ch.LogLoss)
	}
	if c.Method == Sigmoidal && (math.Abs(-c.Platt.A-0.6) > 0.05 || math.Abs(-c.Platt.B+0.4) > 0.05) {
		t.Errorf("platt %+v, want a ≈ −0.6, b ≈ 0.4", c.Platt)
	}
	// Scores that are already the true log-odds: nothing to gain.
	for i := range s {
		s[i] = 0.6*s[i] - 0.4
	}
	c, ch, err = Choose(s, y, 5, 3, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Chosen != None || c.Method != None {
		t.Errorf("calibrated scores: chose %s (%v)", ch.Chosen, ch.LogLoss)
	}
	if c.Apply(0.3) != Sigmoid(0.3) {
		t.Error("none is not the sigmoid")
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Calibrator
	if err := json.Unmarshal(b, &back); err != nil || back.Validate() != nil {
		t.Fatal(err, back.Validate())
	}
	for _, m := range []Method{Isotone, Sigmoidal} {
		c, err := Fit(m, s, y)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(c)
		var back Calibrator
		if err := json.Unmarshal(b, &back); err != nil || back.Validate() != nil {
			t.Fatal(err, back.Validate())
		}
		for _, v := range s[:100] {
			if back.Apply(v) != c.Apply(v) {
				t.Fatalf("%s after JSON: %v, was %v", m, back.Apply(v), c.Apply(v))
			}
		}
		if n := testing.AllocsPerRun(100, func() { _ = back.Apply(0.7) }); n != 0 {
			t.Errorf("%s: Apply allocates %v times", m, n)
		}
	}
	if _, err := Fit("magic", s, y); err == nil {
		t.Error("unknown method accepted")
	}
	if err := (&Calibrator{Method: Isotone}).Validate(); err == nil {
		t.Error("isotonic without its map validated")
	}
}

// MCCThreshold's threshold maximises MCC over every distinct probability
// (brute force with metrics.ConfusionAt).
func TestMCCThreshold(t *testing.T) {
	for seed := range uint64(5) {
		s, y := synth(600, seed)
		p := make([]float64, len(s))
		for i, v := range s {
			p[i] = math.Round(Sigmoid(v)*50) / 50 // ties
		}
		th, mcc, err := MCCThreshold(y, p)
		if err != nil {
			t.Fatal(err)
		}
		best, bestT := math.Inf(-1), 0.0
		for _, c := range p {
			cm, err := metrics.ConfusionAt(y, p, c)
			if err != nil {
				t.Fatal(err)
			}
			if m := cm.MCC(); m > best || (m == best && c > bestT) {
				best, bestT = m, c
			}
		}
		if th != bestT || mcc != best {
			t.Errorf("seed %d: threshold %v (MCC %v), brute force %v (%v)", seed, th, mcc, bestT, best)
		}
	}
	if _, _, err := MCCThreshold([]uint8{1, 1}, []float64{0.2, 0.3}); err == nil {
		t.Error("one class accepted")
	}
}
