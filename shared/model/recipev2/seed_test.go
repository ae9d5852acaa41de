package recipev2_test

import (
	"context"
	"slices"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/ml/mi"
	"github.com/arrestcast/arrestcast/shared/ml/prep"
	"github.com/arrestcast/arrestcast/shared/ml/sample"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/steps/balance"
	"github.com/arrestcast/arrestcast/shared/steps/features"
	"github.com/arrestcast/arrestcast/shared/steps/outliers"
)

// seedOnSplit trains the seed recipe as the pipeline's steps do (fill,
// outliers on the training rows, encode, scale, SMOTE + undersampling,
// mutual-information selection, gbt's default trees, no search), on train,
// and scores every row of test through its artifact from raw records. It
// returns the artifact's predictor, the probabilities, their report and the
// artifact's replay error against the trees' own predictions of the encoded
// test rows.
func seedOnSplit(t testing.TB, train, test *table.Table, stations []geo.Station) (*model.Predictor, []float64, *metrics.Report, float64) {
	t.Helper()
	ctx := context.Background()
	train = train.Clone()
	fill, err := recipe.FitFill(train)
	if err != nil {
		t.Fatal(err)
	}
	filledTest := test.Clone()
	for _, tb := range []*table.Table{train, filledTest} {
		if err := fill.Table(tb); err != nil {
			t.Fatal(err)
		}
	}
	bounds, err := prep.FitOutlierBounds(train.Col(crime.ColDistance).Nums, outliers.Sigma)
	if err != nil {
		t.Fatal(err)
	}
	train = train.Select(bounds.KeepRows(train.Col(crime.ColDistance).Nums, nil))
	enc, err := recipe.FitEncoder(train)
	if err != nil {
		t.Fatal(err)
	}
	encTrain, err := enc.Table(train)
	if err != nil {
		t.Fatal(err)
	}
	encTest, err := enc.Table(filledTest)
	if err != nil {
		t.Fatal(err)
	}
	X := make([][]float64, len(recipe.ScaledColumns))
	for j, n := range recipe.ScaledColumns {
		X[j] = encTrain.Col(n).Nums
	}
	scaler, err := prep.FitScaler(recipe.ScaledColumns, X)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range []*table.Table{encTrain, encTest} {
		for j, n := range recipe.ScaledColumns {
			c := tb.Col(n)
			scaler.TransformColumn(j, c.Nums, c.Nums)
		}
	}
	// balance
	y, err := recipe.Labels(encTrain)
	if err != nil {
		t.Fatal(err)
	}
	names := enc.Names()
	Xe := make([][]float64, len(names))
	for j, n := range names {
		Xe[j] = encTrain.Col(n).Nums
	}
	S, minority, err := sample.Synthesize(Xe, y, balance.SMOTERatio, balance.SMOTENeighbours, balance.Seed)
	if err != nil {
		t.Fatal(err)
	}
	n := len(y)
	yAll := sample.Labels(y, minority, len(S[0]))
	keep, err := sample.UnderSample(yAll, balance.UnderRatio, balance.Seed)
	if err != nil {
		t.Fatal(err)
	}
	Xb := make([][]float64, len(names))
	for j := range names {
		Xb[j] = make([]float64, len(keep))
		for i, k := range keep {
			if k < n {
				Xb[j][i] = Xe[j][k]
			} else {
				Xb[j][i] = S[j][k-n]
			}
		}
	}
	yb := make([]uint8, len(keep))
	for i, k := range keep {
		yb[i] = yAll[k]
	}
	// features: mutual information above the threshold, correlated columns dropped
	var cand []string
	var Xm [][]float64
	for j, name := range names {
		if !slices.Contains(features.Correlated, name) {
			cand = append(cand, name)
			Xm = append(Xm, slices.Clone(Xb[j]))
		}
	}
	scores, err := mi.Classif(Xm, yb, mi.Options{K: features.Neighbours, Seed: features.Seed, InPlace: true})
	if err != nil {
		t.Fatal(err)
	}
	var selected []string
	var Xf, Xt [][]float64
	for j, name := range cand {
		if scores[j] > features.Threshold {
			selected = append(selected, name)
			Xf = append(Xf, Xb[slices.Index(names, name)])
			Xt = append(Xt, encTest.Col(name).Nums)
		}
	}
	p := gbt.DefaultParams()
	p.Seed = 1
	m, err := gbt.Fit(ctx, Xf, yb, p)
	if err != nil {
		t.Fatal(err)
	}
	proba, err := m.PredictProbaBatch(Xt)
	if err != nil {
		t.Fatal(err)
	}
	rc := &recipe.Recipe{Fill: fill, Outliers: bounds, Encoder: enc, Scaler: scaler, Features: selected}
	if err := rc.Prepare(); err != nil {
		t.Fatal(err)
	}
	pred, err := model.New(&model.Artifact{Format: model.Format, Algorithm: model.GBT, Threshold: 0.5,
		Stations: stations, Recipe: rc, GBT: m})
	if err != nil {
		t.Fatal(err)
	}
	skew, err := pred.CheckReplay(test, proba)
	if err != nil {
		t.Fatal(err)
	}
	yTest, err := recipe.Labels(test)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := metrics.NewReport(yTest, proba, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed recipe: %d features %v, %d balanced training rows", len(selected), selected, len(yb))
	return pred, proba, rep, skew
}
