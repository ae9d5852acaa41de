package train

import (
	"context"
	"errors"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/linear"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// MaxSeedTrainRows bounds the rows the seed's models fit on: every k-th row
// of the balanced train set beyond it (its classes stay balanced). The 2017
// year's set has 189k rows (none is left out); 16× it, 3M, whose trees
// would not boost a tenth of their rounds in the step's time.
const MaxSeedTrainRows = 200_000

// seedInputs is what features handed train for the seed's recipe: the
// ML-ready sets' matrices (at most MaxSeedTrainRows training rows; the
// scored test rows), the recipe and the stations.
type seedInputs struct {
	recipe    *recipe.Recipe
	stations  []geo.Station
	trainRows int
	Xtr, Xte  [][]float64
	ytr, yte  []uint8
}

// readSeed reads the ML-ready sets, the recipe and the stations. Each set
// is cut down to its rows as soon as it is read, before the next is: at
// 16× the 2017 year the train set alone is 270 MB of numbers. The test
// set's rows are the test records' (nRecords of them, in their order): the
// ones in scored are kept.
func readSeed(ctx context.Context, r *runner.Run, scored []int, nRecords int) (*seedInputs, error) {
	rc, err := fit.ReadRecipe(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := rc.Prepare(); err != nil {
		return nil, &runner.Permanent{Err: err}
	}
	in := &seedInputs{recipe: rc}
	ref, err := r.Input(chain.RoleStationsUsed)
	if err != nil {
		return nil, err
	}
	if err := r.GetJSON(ctx, ref, &in.stations); err != nil {
		return nil, err
	}
	trainT, err := fit.ReadTable(ctx, r, chain.RoleTrain)
	if err != nil {
		return nil, err
	}
	if in.Xtr, in.ytr, err = featureMatrix(trainT, rc.Features); err != nil {
		return nil, runner.Permanentf("train set: %w", err)
	}
	r.Note("seed_rows", map[string]int{"train_set": len(in.ytr), "kept": min(len(in.ytr), MaxSeedTrainRows)})
	if len(in.ytr) > MaxSeedTrainRows {
		in.Xtr, in.ytr = pickRows(in.Xtr, in.ytr, everyKthRow(len(in.ytr), MaxSeedTrainRows))
		trainT = nil
		release()
	}
	testT, err := fit.ReadTable(ctx, r, chain.RoleTest)
	if err != nil {
		return nil, err
	}
	if in.Xte, in.yte, err = featureMatrix(testT, rc.Features); err != nil {
		return nil, runner.Permanentf("test set: %w", err)
	}
	if len(in.yte) != nRecords {
		return nil, runner.Permanentf("test set: %d rows, the test records %d", len(in.yte), nRecords)
	}
	if len(scored) < nRecords {
		in.Xte, in.yte = pickRows(in.Xte, in.yte, scored)
		testT = nil
		release()
	}
	in.trainRows = len(in.ytr)
	r.Count(int64(len(in.ytr)+len(in.yte)), 0, 0)
	return in, nil
}

// fitSeed trains the seed recipe's two models on the ML-ready sets: a
// logistic-regression baseline and gradient-boosted trees with gbt's
// defaults (the search of the defaults on cross-validated balanced rows
// picked the defaults: it is gone), boosting until fitBy at most.
func fitSeed(ctx context.Context, r *runner.Run, o Options, fitBy time.Time, in *seedInputs, took *phases) ([]*Candidate, error) {
	baseline, err := fitBaseline(ctx, in.Xtr, in.ytr, in.Xte, in.yte)
	if err != nil {
		return nil, err
	}
	took.mark("seed_baseline")
	trees, err := fitTrees(ctx, r, in.Xtr, in.ytr, in.Xte, in.yte, in.recipe.Features, o, fitBy)
	if err != nil {
		return nil, err
	}
	for _, c := range []*Candidate{baseline, trees} {
		c.Recipe = model.RecipeSeed
		c.Artifact = seedArtifact(c, in.recipe)
	}
	return []*Candidate{trees, baseline}, nil
}

// seedArtifact builds a seed candidate's artifact.
func seedArtifact(c *Candidate, rc *recipe.Recipe) func() *model.Artifact {
	return func() *model.Artifact {
		return &model.Artifact{Format: model.Format, Algorithm: c.Algorithm, Threshold: Threshold,
			RecipeName: "", Recipe: rc, GBT: c.GBT, LogReg: c.LogReg}
	}
}

// featureMatrix takes the selected features, in order, and the labels.
func featureMatrix(t *table.Table, features []string) ([][]float64, []uint8, error) {
	y, err := recipe.Labels(t)
	if err != nil {
		return nil, nil, err
	}
	X := make([][]float64, len(features))
	for j, f := range features {
		c, err := t.Lookup(f, table.Numeric)
		if err != nil {
			return nil, nil, err
		}
		X[j] = c.Nums
	}
	return X, y, nil
}

// pickRows keeps rows of X and y.
func pickRows(X [][]float64, y []uint8, rows []int) ([][]float64, []uint8) {
	ys := make([]uint8, len(rows))
	for k, i := range rows {
		ys[k] = y[i]
	}
	Xs := make([][]float64, len(X))
	for j, c := range X {
		Xs[j] = make([]float64, len(rows))
		for k, i := range rows {
			Xs[j][k] = c[i]
		}
	}
	return Xs, ys
}

// fitTrees fits gbt's defaults on the seed's training rows, stopping at
// SeedTreesShare of the time to fitBy (the rest is v2's), and scores the
// test rows.
func fitTrees(ctx context.Context, r *runner.Run, Xtr [][]float64, ytr []uint8, Xte [][]float64, yte []uint8, names []string, o Options, fitBy time.Time) (*Candidate, error) {
	p := gbt.DefaultParams()
	p.Seed = o.Seed + 1
	by := fitBy
	if !by.IsZero() && !o.SeedOnly {
		by = time.Now().Add(time.Duration(float64(time.Until(fitBy)) * SeedTreesShare))
	}
	m, err := gbt.FitWith(ctx, Xtr, ytr, p, gbt.Options{Deadline: by})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, runner.Permanentf("fit trees: %w", err)
	}
	if m.StoppedAtDeadline() {
		r.Env.Logger().Warn("boosting stopped at the step's time limit", "step", r.Step.Name, "trees", m.NumTrees(), "of", p.NumTrees)
	}
	proba, err := m.PredictProbaBatch(Xte)
	if err != nil {
		return nil, err
	}
	rep, err := metrics.NewReport(yte, proba, Threshold)
	if err != nil {
		return nil, runner.Permanentf("evaluate trees: %w", err)
	}
	imp := m.FeatureImportance()
	importance := map[string]float64{}
	for j, n := range names {
		if j < len(imp.Gain) {
			importance[n] = imp.Gain[j]
		}
	}
	return &Candidate{Algorithm: model.GBT, Params: p, Report: rep, Proba: proba, GBT: m, Importance: importance}, nil
}

func fitBaseline(ctx context.Context, Xtr [][]float64, ytr []uint8, Xte [][]float64, yte []uint8) (*Candidate, error) {
	opt := linear.DefaultOptions()
	// A baseline to beat, not a golden match: scikit-learn's 100 iterations
	// at most, stopping once the gradient has fallen a millionfold (its
	// metrics move in the 6th decimal; the 1e-10 default cost seconds).
	opt.Tol, opt.MaxIter = 1e-6, 100
	m, err := linear.Fit(ctx, Xtr, ytr, opt)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, runner.Permanentf("fit logistic regression: %w", err)
	}
	proba, err := m.PredictProbaBatch(Xte)
	if err != nil {
		return nil, err
	}
	rep, err := metrics.NewReport(yte, proba, Threshold)
	if err != nil {
		return nil, runner.Permanentf("evaluate logistic regression: %w", err)
	}
	return &Candidate{Algorithm: model.LogReg, Params: opt, Report: rep, Proba: proba, LogReg: m}, nil
}
