package linear

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestContributionsAddUpToTheMargin(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 9))
	n, d := 2000, 4
	X := make([][]float64, d)
	for j := range X {
		X[j] = make([]float64, n)
		for i := range X[j] {
			X[j][i] = rng.NormFloat64()*float64(j+1) + float64(j)
		}
	}
	y := make([]uint8, n)
	for i := range y {
		if X[0][i]-0.5*X[2][i]+rng.NormFloat64() > 0 {
			y[i] = 1
		}
	}
	m, err := Fit(context.Background(), X, y, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for j := range X {
		s := 0.0
		for _, v := range X[j] {
			s += v
		}
		if math.Abs(m.Means[j]-s/float64(n)) > 1e-12 {
			t.Fatalf("mean %d: %v, want %v", j, m.Means[j], s/float64(n))
		}
	}
	row, phi := make([]float64, d), make([]float64, d)
	meanPhi := make([]float64, d)
	for i := range n {
		for j := range row {
			row[j] = X[j][i]
		}
		bias, err := m.Contributions(row, phi)
		if err != nil {
			t.Fatal(err)
		}
		s := bias
		for j, v := range phi {
			s += v
			meanPhi[j] += v / float64(n)
		}
		if z := m.Margin(row); math.Abs(s-z) > 1e-9 || math.Abs(1/(1+math.Exp(-z))-m.PredictProba(row)) > 1e-15 {
			t.Fatalf("row %d: bias + Σφ = %v, margin %v", i, s, z)
		}
	}
	// Against the means, contributions average to zero over the training rows.
	for j, v := range meanPhi {
		if math.Abs(v) > 1e-9 {
			t.Errorf("feature %d: mean contribution %v", j, v)
		}
	}
	var old Model
	b, _ := json.Marshal(Model{Coef: m.Coef, Intercept: m.Intercept})
	_ = json.Unmarshal(b, &old)
	if _, err := old.Contributions(row, phi); err != ErrNoMeans {
		t.Errorf("a model without means: %v", err)
	}
}
