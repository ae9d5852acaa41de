package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/linear"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/ml/prep"
	"github.com/arrestcast/arrestcast/shared/ml/tune"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

func init() { Register("train", Train) }

// Threshold is the probability from which predict answers "arrest".
const Threshold = 0.5

// DefaultTrainBudget bounds train's hyperparameter search when the
// environment does not (faasd cuts calls at 60 s).
const DefaultTrainBudget = 20 * time.Second

// ArtifactKey is where train writes the model of a run date (bucket models).
func ArtifactKey(d time.Time) string { return StepDir("train", d) + "model.json" }

// Candidate is one trained model and its test-set evaluation.
type Candidate struct {
	Algorithm  string
	Params     any
	Report     *metrics.Report
	Proba      []float64 // on the ML-ready test set
	Importance map[string]float64
	GBT        *gbt.Model
	LogReg     *linear.Model
	Tuning     *tune.Result
}

// TrainOutcome is what Train decided, recorded in its manifest.
type TrainOutcome struct {
	Chosen     *Candidate
	Baseline   *Candidate
	Artifact   *model.Artifact
	Key        string
	MaxSkew    float64 // largest |p(artifact on raw records) − p(in training)| on the test set
	Version    int
	Champion   bool
	Decision   string
	TrainRows  int
	TestRows   int
	Seconds    float64
	Importance map[string]float64
}

// Train fits a logistic-regression baseline and gradient-boosted trees
// (tuned by successive halving within the time budget), evaluates both on the
// test set, keeps the better, assembles the artifact with every fitted
// transform, checks that the artifact replays the preprocessing exactly on
// the raw test records, writes it, registers it and decides champion/challenger.
func Train(ctx context.Context, r *Run) error {
	d := r.Date
	if r.Env.Registry != nil {
		v, ok, err := r.Env.Registry.Registered(ctx, d)
		if err != nil {
			return err
		}
		if ok {
			obj, err := r.Env.Store.Stat(ctx, r.Env.Models, ArtifactKey(d))
			if err != nil {
				return err
			}
			r.m.Outputs = append(r.m.Outputs, Ref{Bucket: r.Env.Models, Key: obj.Key, ETag: obj.ETag, Size: obj.Size})
			r.Note("model_version", v)
			r.Note("already_registered", true)
			return nil
		}
	}
	trainKey, err := r.prevOutput("/train.csv")
	if err != nil {
		return err
	}
	testKey, err := r.prevOutput("/test.csv")
	if err != nil {
		return err
	}
	trainT, err := r.GetTable(ctx, trainKey)
	if err != nil {
		return err
	}
	testT, err := r.GetTable(ctx, testKey)
	if err != nil {
		return err
	}
	rc, stations, err := r.loadRecipe(ctx)
	if err != nil {
		return err
	}
	Xtr, ytr, err := featureMatrix(trainT, rc.Features)
	if err != nil {
		return &Permanent{fmt.Errorf("train set: %w", err)}
	}
	Xte, yte, err := featureMatrix(testT, rc.Features)
	if err != nil {
		return &Permanent{fmt.Errorf("test set: %w", err)}
	}
	r.Count(int64(len(ytr)+len(yte)), 0, 0)

	budget := r.Env.Options.TrainBudget
	if budget <= 0 {
		budget = DefaultTrainBudget
	}
	if r.Env.Options.NoSearch {
		budget = 0
	}
	baseline, err := fitBaseline(ctx, Xtr, ytr, Xte, yte, rc.Features)
	if err != nil {
		return err
	}
	// Within a time limit, the trees stop growing when what follows the fit
	// (test predictions, metrics, the replay check, writes) still has a
	// quarter of it (at 16× the 2017 year that work takes 10 s of 58): a
	// train killed by its timeout leaves nothing, and its retries would fail
	// the same way.
	var fitBy time.Time
	if limit := r.Env.Options.StepTimeout; limit > 0 {
		fitBy = r.started.Add(limit - limit/4)
		budget = min(budget, time.Until(fitBy)/2) // the final fit keeps the other half
	}
	trees, err := fitTrees(ctx, Xtr, ytr, Xte, yte, rc.Features, budget, fitBy, r.Env.Options.Seed)
	if err != nil {
		return err
	}
	if trees.GBT.StoppedAtDeadline() {
		r.Env.log().Warn("boosting stopped at the step's time limit", "step", r.Step, "trees", trees.GBT.NumTrees(), "of", trees.GBT.Params().NumTrees)
		r.Note("stopped_at_time_limit", true)
	}
	r.Note("trees", trees.GBT.NumTrees())
	chosen := trees
	if better(baseline.Report, trees.Report) {
		chosen = baseline
	}
	a := &model.Artifact{
		Format: model.Format, RunDate: day(d), Algorithm: chosen.Algorithm, Threshold: Threshold,
		Stations: stations, Recipe: rc, GBT: chosen.GBT, LogReg: chosen.LogReg,
		Metrics: summary(chosen.Report), CodeVersion: r.Env.Version, CreatedAt: time.Now().UTC(),
	}
	pred, err := model.New(a)
	if err != nil {
		return fmt.Errorf("assemble artifact: %w", err)
	}
	// The raw test records (before encoding) through the artifact must give
	// the very probabilities the model gave in training: train/serve skew is
	// caught here, not by a caller.
	raw, err := r.GetTable(ctx, TestKey("outliers", d))
	if err != nil {
		return err
	}
	got, err := predictTable(pred, raw)
	if err != nil {
		return &Permanent{err}
	}
	if len(got) != len(chosen.Proba) {
		return fmt.Errorf("raw test set has %d rows, ML-ready %d", len(got), len(chosen.Proba))
	}
	skew := 0.0
	for i := range got {
		skew = math.Max(skew, math.Abs(got[i]-chosen.Proba[i]))
	}
	if skew > 1e-9 {
		return fmt.Errorf("artifact replays the preprocessing with error %g (> 1e-9)", skew)
	}
	body, err := a.Marshal()
	if err != nil {
		return fmt.Errorf("encode artifact: %w", err)
	}
	ref, err := r.Put(ctx, r.Env.Models, ArtifactKey(d), body, "application/json", 0)
	if err != nil {
		return err
	}
	out := &TrainOutcome{Chosen: chosen, Baseline: baseline, Artifact: a, Key: ref.Key, MaxSkew: skew,
		TrainRows: len(ytr), TestRows: len(yte), Seconds: time.Since(r.started).Seconds()}
	if r.Env.Registry != nil {
		if err := r.Env.Registry.Record(ctx, r, out, ref, raw); err != nil {
			return err
		}
	}
	r.Count(0, int64(len(yte)), 0)
	r.Note("algorithm", chosen.Algorithm)
	r.Note("roc_auc", chosen.Report.ROCAUC)
	r.Note("average_precision", chosen.Report.AveragePrecision)
	r.Note("baseline_roc_auc", baseline.Report.ROCAUC)
	r.Note("baseline_iterations", baseline.LogReg.Iterations)
	r.Note("max_replay_error", skew)
	r.Note("artifact", ref.Key)
	if trees.Tuning != nil {
		r.Note("tuning_trials", len(trees.Tuning.Trials))
	}
	if out.Version > 0 {
		r.Note("model_version", out.Version)
		r.Note("champion", out.Champion)
		r.Note("decision", out.Decision)
	}
	return nil
}

// Registry records a trained model and decides whether it becomes champion.
type Registry interface {
	// Registered reports a model already registered for the run date (a
	// retried train whose manifest was lost): it is not trained again.
	Registered(ctx context.Context, d time.Time) (version int, ok bool, err error)
	Record(ctx context.Context, r *Run, out *TrainOutcome, artifact Ref, rawTest *table.Table) error
}

// better reports whether a beats b: higher ROC-AUC, ties by average precision.
func better(a, b *metrics.Report) bool {
	if a.ROCAUC != b.ROCAUC {
		return a.ROCAUC > b.ROCAUC
	}
	return a.AveragePrecision > b.AveragePrecision
}

func summary(rep *metrics.Report) map[string]float64 {
	return map[string]float64{
		"roc_auc": rep.ROCAUC, "average_precision": rep.AveragePrecision, "log_loss": rep.LogLoss,
		"brier": rep.Brier, "accuracy": rep.Accuracy, "precision": rep.Precision, "recall": rep.Recall,
		"f1": rep.F1, "mcc": rep.MCC,
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

// loadRecipe reads the fitted state every earlier step left for this run.
func (r *Run) loadRecipe(ctx context.Context) (*recipe.Recipe, []geo.Station, error) {
	d := r.Date
	rc := &recipe.Recipe{Fill: &recipe.Fill{}, Outliers: &prep.OutlierBounds{}, Encoder: &recipe.Encoder{}, Scaler: &prep.Scaler{}}
	var fs FeatureState
	for _, s := range []struct {
		key string
		v   any
	}{
		{StateKey("split", d), rc.Fill}, {StateKey("outliers", d), rc.Outliers}, {StateKey("encode", d), rc.Encoder},
		{StateKey("scale", d), rc.Scaler}, {StateKey("features", d), &fs},
	} {
		if err := r.GetJSON(ctx, s.key, s.v); err != nil {
			return nil, nil, err
		}
	}
	rc.Features = fs.Features
	var stations []geo.Station
	if err := r.GetJSON(ctx, EnrichedStationsKey(d), &stations); err != nil {
		return nil, nil, err
	}
	if err := rc.Prepare(); err != nil {
		return nil, nil, &Permanent{err}
	}
	return rc, stations, nil
}

// predictTable scores every row of an enriched table through a predictor.
func predictTable(p *model.Predictor, t *table.Table) ([]float64, error) {
	rd, err := recipe.NewReader(t)
	if err != nil {
		return nil, fmt.Errorf("raw test set: %w", err)
	}
	out := make([]float64, t.Len())
	var rec recipe.Record
	for i := range out {
		rd.Read(i, &rec)
		out[i] = p.Predict(&rec)
	}
	return out, nil
}

// fitTrees tunes gradient-boosted trees within budget and fits the best
// parameters on all training rows, stopping at fitBy (zero: no limit);
// budget 0 fits the defaults, unsearched.
func fitTrees(ctx context.Context, Xtr [][]float64, ytr []uint8, Xte [][]float64, yte []uint8, names []string, budget time.Duration, fitBy time.Time, seed uint64) (*Candidate, error) {
	base := gbt.DefaultParams()
	base.Seed = seed + 1
	p, tuning := base, (*tune.Result)(nil)
	if budget > 0 {
		sctx, cancel := context.WithTimeout(ctx, budget)
		res, err := tune.Search(sctx, Xtr, ytr, tune.Config{
			Base: base, Space: tune.DefaultSpace(), Folds: 3, Seed: seed + 7,
			// A candidate must win clearly, not by CV noise: with the
			// previous defaults a depth-wise candidate came within 0.00005
			// CV AUC of the base and tested 0.0008 lower in AP.
			MinGain: 0.001,
			Score:   func(y []uint8, p []float64) float64 { v, _ := metrics.ROCAUC(y, p); return v },
		})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &Permanent{fmt.Errorf("tune trees: %w", err)}
		}
		p, tuning = res.Best, &res
	}
	m, err := gbt.FitWith(ctx, Xtr, ytr, p, gbt.Options{Deadline: fitBy})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, &Permanent{fmt.Errorf("fit trees: %w", err)}
	}
	proba, err := m.PredictProbaBatch(Xte)
	if err != nil {
		return nil, err
	}
	rep, err := metrics.NewReport(yte, proba, Threshold)
	if err != nil {
		return nil, &Permanent{fmt.Errorf("evaluate trees: %w", err)}
	}
	imp := m.FeatureImportance()
	importance := map[string]float64{}
	for j, n := range names {
		if j < len(imp.Gain) {
			importance[n] = imp.Gain[j]
		}
	}
	return &Candidate{Algorithm: model.GBT, Params: p, Report: rep, Proba: proba, GBT: m, Tuning: tuning, Importance: importance}, nil
}

func fitBaseline(ctx context.Context, Xtr [][]float64, ytr []uint8, Xte [][]float64, yte []uint8, names []string) (*Candidate, error) {
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
		return nil, &Permanent{fmt.Errorf("fit logistic regression: %w", err)}
	}
	proba, err := m.PredictProbaBatch(Xte)
	if err != nil {
		return nil, err
	}
	rep, err := metrics.NewReport(yte, proba, Threshold)
	if err != nil {
		return nil, &Permanent{fmt.Errorf("evaluate logistic regression: %w", err)}
	}
	return &Candidate{Algorithm: model.LogReg, Params: opt, Report: rep, Proba: proba, LogReg: m}, nil
}

// loadArtifact reads a registered model's artifact.
func loadArtifact(ctx context.Context, st store.Store, bucket, key string) (*model.Predictor, error) {
	b, _, err := store.GetBytes(ctx, st, bucket, key, 256<<20)
	if err != nil {
		return nil, err
	}
	return model.Load(b)
}
