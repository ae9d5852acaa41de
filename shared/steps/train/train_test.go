package train

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
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
	tb, err := table.New(table.NewTime(crime.ColDate, dates), table.NewBool(crime.ColArrest, arrest))
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
	train, valid, _, err := splitByDate(tb, time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if valid.Len() != 48*31 || train.Len() != 48*59 {
		t.Fatalf("valid %d, train %d rows; want December's %d and the %d before", valid.Len(), train.Len(), 48*31, 48*59)
	}
	vd, td := valid.Col(crime.ColDate).Times, train.Col(crime.ColDate).Times
	for i := 1; i < len(vd); i++ {
		if vd[i] < vd[i-1] {
			t.Fatal("validation rows out of their original order")
		}
	}
	if td[len(td)-1] >= vd[0] {
		t.Fatal("a training row is as new as the validation month")
	}
	small := datedLabels(t, 48*35, end.Add(-30*24*time.Hour+2*time.Hour)) // 2 hours of December
	train, valid, _, err = splitByDate(small, time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if valid.Len() != small.Len()/10 || train.Len() != small.Len()-small.Len()/10 {
		t.Fatalf("valid %d, train %d rows of %d; want the newest tenth", valid.Len(), train.Len(), small.Len())
	}
	if _, _, _, err := splitByDate(datedLabels(t, 5, end), end); err == nil {
		t.Fatal("5 records split")
	}
}

// Past MaxV2TrainRows older records v2 keeps the newest of them, and past
// MaxV2ValidRows every k-th row of the validation month; the manifest says
// how many of each it kept.
func TestSplitRecordsKeepsTheNewestRows(t *testing.T) {
	end := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	n := MaxV2TrainRows + 5000 + 2*MaxV2ValidRows + 10
	dates := make([]int64, n)
	arrest := make([]int8, n)
	december := table.WallSeconds(time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC))
	// A minute apart, newest first, so that the kept rows are not simply
	// the table's last ones.
	for i := range dates {
		dates[i] = table.WallSeconds(end.Add(-time.Duration(i+1) * time.Minute))
		if i < 2*MaxV2ValidRows+10 {
			dates[i] = december + int64(i%(30*86400)) // the month, in any order
		}
		arrest[i] = int8(i % 3 / 2)
	}
	tb, err := table.New(table.NewTime(crime.ColDate, dates), table.NewBool(crime.ColArrest, arrest))
	if err != nil {
		t.Fatal(err)
	}
	r := &runner.Run{Env: &runner.Env{}, Date: end}
	train, valid, err := splitRecords(r, tb)
	if err != nil {
		t.Fatal(err)
	}
	month := 2*MaxV2ValidRows + 10
	k := (month + MaxV2ValidRows - 1) / MaxV2ValidRows // every third row
	if train.Len() != MaxV2TrainRows || valid.Len() != (month+k-1)/k {
		t.Fatalf("train %d, valid %d rows", train.Len(), valid.Len())
	}
	oldestKept := slices.Min(train.Col(crime.ColDate).Times)
	for i, d := range dates {
		if d < december && d >= oldestKept && i >= 2*MaxV2ValidRows+10+MaxV2TrainRows {
			t.Fatalf("row %d, dated %d, kept beyond the cap", i, d)
		}
	}
	if oldestKept != dates[2*MaxV2ValidRows+10+MaxV2TrainRows-1] {
		t.Fatalf("oldest kept %d, want the %d-th newest older row's %d", oldestKept, MaxV2TrainRows, dates[2*MaxV2ValidRows+10+MaxV2TrainRows-1])
	}
	for _, d := range valid.Col(crime.ColDate).Times {
		if d < december {
			t.Fatal("a validation row before the month")
		}
	}
	rows, ok := r.Manifest().Notes["v2_rows"].(v2Rows)
	if !ok || rows.Records != n || rows.Train != MaxV2TrainRows || rows.Older != n-2*MaxV2ValidRows-10 ||
		rows.Month != 2*MaxV2ValidRows+10 || rows.Valid != valid.Len() || rows.ValidSince != "2017-12-01" {
		t.Fatalf("manifest notes %+v", r.Manifest().Notes["v2_rows"])
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
	dates := records.Col(crime.ColDate).Times
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

// Past a cap, every k-th row is kept, labels with their features.
func TestEveryKthRow(t *testing.T) {
	if rows := everyKthRow(10, 4); !slices.Equal(rows, []int{0, 3, 6, 9}) {
		t.Fatalf("kept %v of 10, at most 4", rows)
	}
	if rows := everyKthRow(10, 10); len(rows) != 10 {
		t.Fatalf("kept %v of 10, at most 10", rows)
	}
	X := [][]float64{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
	y := []uint8{0, 1, 0, 1, 0, 1, 0, 1, 0, 1}
	Xs, ys := pickRows(X, y, everyKthRow(10, 4))
	if !slices.Equal(Xs[0], []float64{0, 3, 6, 9}) || !slices.Equal(ys, []uint8{0, 1, 0, 1}) {
		t.Fatalf("kept %v, %v", Xs[0], ys)
	}
}

// train's decision is one JSON log line: the champion kept or replaced,
// each candidate's test scores, the chosen recipe and its threshold.
func TestLogDecision(t *testing.T) {
	var buf bytes.Buffer
	r := &runner.Run{Env: &runner.Env{Log: slog.New(slog.NewJSONHandler(&buf, nil))}, Date: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)}
	seed := &Candidate{Recipe: "seed", Algorithm: "logreg", Report: &metrics.Report{ROCAUC: 0.69, AveragePrecision: 0.38}}
	v2 := &Candidate{Recipe: "v2", Algorithm: "gbt", Report: &metrics.Report{ROCAUC: 0.9, AveragePrecision: 0.77},
		V2: &recipev2.Fitted{Recipe: &recipev2.Recipe{Threshold: 0.41}, Trees: 240}}
	logDecision(r, &Outcome{Chosen: v2, Candidates: []*Candidate{seed, v2}, Version: 3, Champion: false, Decision: "champion v2 is better"})
	var line struct {
		Msg, Champion, Recipe string
		Threshold             float64
		Candidates            []struct {
			Recipe string
			ROCAUC float64 `json:"test_roc_auc"`
			AP     float64 `json:"test_average_precision"`
			Trees  int
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("%v: %s", err, buf.String())
	}
	c := line.Candidates
	if line.Msg != "trained" || line.Champion != "kept" || line.Recipe != "v2" || line.Threshold != 0.41 || len(c) != 2 ||
		c[0].ROCAUC != 0.69 || c[1].AP != 0.77 || c[1].Trees != 240 {
		t.Fatalf("logged %s", buf.String())
	}
}
