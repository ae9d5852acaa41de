package train

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// The seed's trees are gbt's defaults fitted once; past their time limit
// they keep what they grew (one tree), not nothing.
func TestFitTreesDefaultsAndDeadline(t *testing.T) {
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
	names := []string{"a", "b"}
	c, err := fitTrees(ctx, r, X, y, X, y, names, Options{Seed: 5}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := gbt.DefaultParams()
	want.Seed = 6
	if c.Params != want || c.GBT.NumTrees() != want.NumTrees {
		t.Fatalf("params %+v, %d trees; want the defaults", c.Params, c.GBT.NumTrees())
	}
	if c.Report.ROCAUC < 0.9 || c.Importance["a"] <= c.Importance["b"] {
		t.Fatalf("ROC-AUC %.3f on its own training rows, importance %v", c.Report.ROCAUC, c.Importance)
	}
	c, err = fitTrees(ctx, r, X, y, X, y, names, Options{Seed: 5}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.GBT.NumTrees() != 1 || !c.GBT.StoppedAtDeadline() || c.Report.ROCAUC < 0.8 {
		t.Fatalf("%d trees, ROC-AUC %.3f past the time limit", c.GBT.NumTrees(), c.Report.ROCAUC)
	}
}

// datedLabels is a table of n records every half hour ending just before
// end, every fifth an arrest.
func datedLabels(t *testing.T, n int, end time.Time) *table.Table {
	t.Helper()
	dates := make([]int64, n)
	arrest := make([]int8, n)
	for i := range dates {
		dates[i] = table.WallSeconds(end.Add(time.Duration(i-n) * 30 * time.Minute))
		arrest[i] = int8(i % 5 / 4)
	}
	tb, err := table.New(table.NewTime(recipe.ColDate, dates), table.NewBool(recipe.ColArrest, arrest))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// v2 validates on the training records' newest month and trains on the
// older ones; with too small a month, on the newest tenth.
func TestSplitByDate(t *testing.T) {
	end := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	tb := datedLabels(t, 48*90, end) // 90 days to 2017-12-31 23:30
	train, valid, err := splitByDate(tb, time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if valid.Len() != 48*31 || train.Len() != 48*59 {
		t.Fatalf("valid %d, train %d rows; want December's %d and the %d before", valid.Len(), train.Len(), 48*31, 48*59)
	}
	vd, td := valid.Col(recipe.ColDate).Times, train.Col(recipe.ColDate).Times
	for i := 1; i < len(vd); i++ {
		if vd[i] < vd[i-1] {
			t.Fatal("validation rows out of their original order")
		}
	}
	if td[len(td)-1] >= vd[0] {
		t.Fatal("a training row is as new as the validation month")
	}
	small := datedLabels(t, 48*35, end.Add(-30*24*time.Hour+2*time.Hour)) // 2 hours of December
	train, valid, err = splitByDate(small, time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if valid.Len() != small.Len()/10 || train.Len() != small.Len()-small.Len()/10 {
		t.Fatalf("valid %d, train %d rows of %d; want the newest tenth", valid.Len(), train.Len(), small.Len())
	}
	if _, _, err := splitByDate(datedLabels(t, 5, end), end); err == nil {
		t.Fatal("5 records split")
	}
}

// Candidates are compared on the test records' newest month, not on every
// test row: a candidate better on old rows but worse on the newest month
// loses.
func TestChooseOnNewestMonth(t *testing.T) {
	end := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	records := datedLabels(t, 48*120, end)
	cmp, err := compareRows(records, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Rows) != 48*31 {
		t.Fatalf("compared on %d rows (%s), want December's %d", len(cmp.Rows), cmp.What, 48*31)
	}
	december := table.WallSeconds(time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC))
	dates := records.Col(recipe.ColDate).Times
	oldGood, newGood := make([]float64, records.Len()), make([]float64, records.Len())
	for i, y := range cmp.Y {
		right, wrong := 0.2+0.6*float64(y), 0.8-0.6*float64(y)
		oldGood[i], newGood[i] = right, wrong
		if dates[i] >= december {
			oldGood[i], newGood[i] = 0.5, right
		}
	}
	a := &Candidate{Recipe: "a", Proba: oldGood}
	b := &Candidate{Recipe: "b", Proba: newGood}
	if got := choose([]*Candidate{a, b}, cmp); got != b {
		t.Fatalf("chose %s, want the better on the newest month", got.Recipe)
	}
	rec := cmp.candidates([]*Candidate{a, b}, b)
	if len(rec) != 2 || rec[1].ROCAUC != 1 || rec[0].ROCAUC != 0.5 || !rec[1].Chosen || rec[0].Chosen {
		t.Fatalf("recorded %+v", rec)
	}
}
