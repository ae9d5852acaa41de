package train

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// Options.NoSearch fits gbt's defaults once: no search trials.
func TestFitTreesWithoutSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 4000
	X := [][]float64{make([]float64, n), make([]float64, n)}
	y := make([]uint8, n)
	for i := range n {
		X[0][i], X[1][i] = rng.NormFloat64(), rng.NormFloat64()
		if X[0][i]+0.5*X[1][i]+0.3*rng.NormFloat64() > 0 {
			y[i] = 1
		}
	}
	ctx := context.Background()
	r := &runner.Run{Env: &runner.Env{}}
	in := &inputs{Xtr: X, ytr: y, Xte: X, yte: y, recipe: &recipe.Recipe{Features: []string{"a", "b"}}}
	c, err := fitTrees(ctx, r, in, Options{NoSearch: true, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := gbt.DefaultParams()
	want.Seed = 6
	if c.Tuning != nil || c.Params != want {
		t.Fatalf("params %+v, tuning %v; want the defaults unsearched", c.Params, c.Tuning != nil)
	}
	if c.Report.ROCAUC < 0.9 {
		t.Fatalf("ROC-AUC %.3f on its own training rows", c.Report.ROCAUC)
	}
	// With a budget the search runs and logs its trials.
	c, err = fitTrees(ctx, r, in, Options{Budget: 200 * time.Millisecond, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if c.Tuning == nil || len(c.Tuning.Trials) == 0 {
		t.Fatal("no search with a budget")
	}
	// Past its time limit the fit keeps what it grew (one tree), not nothing.
	c, err = fitTrees(ctx, r, in, Options{NoSearch: true, Limit: time.Nanosecond, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if c.GBT.NumTrees() != 1 || !c.GBT.StoppedAtDeadline() || c.Report.ROCAUC < 0.8 {
		t.Fatalf("%d trees, ROC-AUC %.3f past the time limit", c.GBT.NumTrees(), c.Report.ROCAUC)
	}
}
