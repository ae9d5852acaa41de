package recipev2_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/calibrate"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
)

// slices2017 are every 4th row of January–August (train), of September
// (valid) and of November (test): a quick fit on real records.
func slices2017(t testing.TB) (train, valid, test *table.Table) {
	t.Helper()
	year, _ := enriched2017(t)
	every := func(tb *table.Table) *table.Table { return tb.Filter(func(i int) bool { return i%4 == 0 }) }
	train, rest, _ := byDate(t, year, table.WallClock(2017, 9, 1, 0, 0, 0), math.MaxInt64)
	valid, rest, _ = byDate(t, rest, table.WallClock(2017, 10, 1, 0, 0, 0), math.MaxInt64)
	_, test, _ = byDate(t, rest, table.WallClock(2017, 11, 1, 0, 0, 0), table.WallClock(2017, 12, 1, 0, 0, 0))
	return every(train), every(valid), every(test)
}

func quickOptions() recipev2.Options {
	p := recipev2.DefaultParams()
	p.NumTrees, p.EarlyStoppingRounds = 120, 10
	return recipev2.Options{Seed: 3, Params: &p}
}

var (
	quickOnce sync.Once
	quick     *recipev2.Fitted
	quickErr  error
)

func quickFit(t testing.TB) *recipev2.Fitted {
	t.Helper()
	train, valid, _ := slices2017(t)
	quickOnce.Do(func() { quick, quickErr = recipev2.Fit(context.Background(), train, valid, quickOptions()) })
	if quickErr != nil {
		t.Fatal(quickErr)
	}
	return quick
}

// The validation rows' probabilities are the scorer's (the table path is
// the record path); early stopping keeps the trees up to the best round.
func TestFitOnRealSlices(t *testing.T) {
	train, valid, _ := slices2017(t)
	f := quickFit(t)
	if f.TrainRows != train.Len() || f.ValidRows != valid.Len() {
		t.Fatalf("rows %d/%d, tables %d/%d", f.TrainRows, f.ValidRows, train.Len(), valid.Len())
	}
	again, err := f.Scorer.Table(valid, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, f.ValidProba) {
		t.Fatal("scoring the validation table again gives other probabilities")
	}
	loss := f.Model.ValidationLoss()
	if f.Trees > f.Rounds || len(loss) != f.Rounds || slices.Min(loss) != loss[f.Trees-1] {
		t.Errorf("%d trees of %d rounds; the kept model's last validation loss is %v, the minimum %v",
			f.Trees, f.Rounds, loss[f.Trees-1], slices.Min(loss))
	}
	if f.Trees == f.Rounds {
		t.Logf("no early stop in %d rounds", f.Rounds)
	}
	if f.Calibration == nil || f.Calibration.Chosen != f.Recipe.Calibration.Method || f.Recipe.Threshold != 0.5 {
		t.Errorf("calibration %+v, recipe %s, threshold %v", f.Calibration, f.Recipe.Calibration.Method, f.Recipe.Threshold)
	}
	if len(f.Importance) != f.Recipe.Width() || f.Valid.ROCAUC < 0.85 {
		t.Errorf("importance of %d features, validation ROC-AUC %.4f", len(f.Importance), f.Valid.ROCAUC)
	}
	t.Logf("%d trees, validation ROC-AUC %.4f, calibration %v, %+v", f.Trees, f.Valid.ROCAUC, f.Calibration.LogLoss, f.Seconds)
}

// Forced calibrations and the MCC threshold are fitted on the validation
// rows; bad options and tables are refused.
func TestFitOptions(t *testing.T) {
	train, valid, _ := slices2017(t)
	y, _ := recipe.Labels(valid)
	ctx := context.Background()
	for _, m := range []calibrate.Method{calibrate.Isotone, calibrate.Sigmoidal} {
		o := quickOptions()
		o.Params.NumTrees = 30
		o.Calibration, o.ThresholdMCC = m, true
		f, err := recipev2.Fit(ctx, train, valid, o)
		if err != nil {
			t.Fatal(err)
		}
		if f.Recipe.Calibration.Method != m || f.Calibration != nil {
			t.Errorf("forced %s: got %s", m, f.Recipe.Calibration.Method)
		}
		th, _, err := calibrate.MCCThreshold(y, f.ValidProba)
		if err != nil || f.Recipe.Threshold != th || f.Valid.Threshold != th {
			t.Errorf("%s: threshold %v, MCC-optimal %v (%v)", m, f.Recipe.Threshold, th, err)
		}
	}
	o := quickOptions()
	o.Params.ValidationFraction = 0.1
	if _, err := recipev2.Fit(ctx, train, valid, o); err == nil {
		t.Error("validation_fraction accepted")
	}
	o = quickOptions()
	o.Encodings = [][]string{{"block"}}
	if _, err := recipev2.Fit(ctx, train, valid, o); err == nil {
		t.Error("unknown field accepted")
	}
	noDesc := valid.Clone()
	noDesc.Drop(crime.ColDescription)
	if _, err := recipev2.Fit(ctx, train, noDesc, quickOptions()); err == nil {
		t.Error("a table without description accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := recipev2.Fit(cctx, train, valid, quickOptions()); err == nil {
		t.Error("a cancelled context fitted")
	}
}

// The artifact of a fit predicts raw records (as predict parses them) to the
// fit's probabilities, after JSON; it refuses inconsistent documents.
func TestArtifactReplaysV2(t *testing.T) {
	_, _, test := slices2017(t)
	_, stations := enriched2017(t)
	f := quickFit(t)
	want, _, err := f.Evaluate(test, 2)
	if err != nil {
		t.Fatal(err)
	}
	a := model.FromV2(f)
	a.Stations = stations
	b, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := model.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.A.Kind() != model.RecipeV2 || !slices.Equal(p.A.Features(), f.Recipe.Features()) {
		t.Errorf("kind %q, features %v", p.A.Kind(), p.A.Features())
	}
	skew, err := p.CheckReplay(test, want)
	if err != nil || skew != 0 {
		t.Fatalf("replay error %g: %v", skew, err)
	}
	// One raw record by hand: the description and the minute matter.
	rd, err := model.NewRawReader(test)
	if err != nil {
		t.Fatal(err)
	}
	var raw model.Raw
	rd.Read(0, &raw)
	got, err := p.PredictRaw(&raw)
	if err != nil || got != want[0] {
		t.Fatalf("row 0: %v, fit %v (%v)", got, want[0], err)
	}
	var r recipev2.Record
	if err := p.EnrichV2(&raw, &r); err != nil || p.PredictV2(&r) != got {
		t.Errorf("PredictV2 %v, PredictRaw %v (%v)", p.PredictV2(&r), got, err)
	}
	// Score: the same probability, the record's seed part and the model's
	// inputs as the recipe builds them.
	x := make([]float64, len(p.A.Features()))
	var seedRec recipe.Record
	if s, err := p.Score(&raw, &seedRec, x); err != nil || s != got || seedRec != r.Record {
		t.Errorf("Score %v (%v), PredictRaw %v; record %+v, want %+v", s, err, got, seedRec, r.Record)
	}
	wantX := make([]float64, f.Recipe.Width())
	f.Recipe.Vector(&r, nil, wantX)
	if !slices.Equal(x, wantX) {
		t.Errorf("Score's inputs %v, the recipe's %v", x, wantX)
	}
	if n := testing.AllocsPerRun(200, func() { _, _ = p.PredictRaw(&raw) }); n != 0 {
		t.Errorf("PredictRaw allocates %v times per record", n)
	}
	moved := 0
	for i := range 200 {
		rd.Read(i, &raw)
		p0, _ := p.PredictRaw(&raw)
		raw.Date += 17 * 60 // another minute (and roundness)
		raw.Description = "NOT A DESCRIPTION"
		if p1, _ := p.PredictRaw(&raw); p1 != p0 {
			moved++
		}
	}
	if moved < 100 {
		t.Errorf("the minute and description moved %d of 200 predictions", moved)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Predict with a seed record on a v2 artifact did not panic")
			}
		}()
		p.Predict(&recipe.Record{})
	}()

	for name, spoil := range map[string]func(m map[string]json.RawMessage){
		"threshold differs": func(m map[string]json.RawMessage) { m["threshold"] = json.RawMessage("0.3") },
		"no recipe_v2":      func(m map[string]json.RawMessage) { delete(m, "recipe_v2") },
		"no trees":          func(m map[string]json.RawMessage) { delete(m, "gbt") },
		"unknown recipe":    func(m map[string]json.RawMessage) { m["recipe_name"] = json.RawMessage(`"v9"`) },
		"seed recipe too":   func(m map[string]json.RawMessage) { m["recipe"] = json.RawMessage(`{}`) },
	} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		spoil(m)
		bad, _ := json.Marshal(m)
		if _, err := model.Load(bad); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
