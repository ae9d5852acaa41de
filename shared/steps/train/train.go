// Package train is the chain's last step: it trains a model of each recipe
// — the seed's (a logistic-regression baseline and gradient-boosted trees
// on the ML-ready sets: seed.go) and v2 (report-time fields target-encoded
// out of fold, trees stopped early and calibrated on the newest month:
// v2.go) —, scores every candidate on the same test rows (the newest ones,
// which no candidate trained on), keeps the best, assembles its artifact
// with the whole fitted preprocessing, checks that the artifact replays it
// exactly on the raw test records, writes it and the reference profile the
// monitor compares every new month with (profile.go), registers both and
// decides champion/challenger (champion.go).
package train

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/linear"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/ml/tune"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/profile"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// MaxTestRows bounds the test rows every candidate (and the champion, when
// registering) is scored on, the artifact's replay checks and the
// reference profile is fitted on: every k-th of the test records beyond
// it, the test set's rows alike. The 2017 year's 52k test records are all
// scored; 16× it, the 836k would cost every candidate's predictions, the
// replay and the champion's scoring (a third of the step's time) for
// figures no more precise than the year's: its newest month, which
// decides, is then as many rows as the year's.
const MaxTestRows = 60_000

// Threshold is the probability from which predict answers "arrest", unless
// a recipe chose its own (v2 with ThresholdMCC).
const Threshold = 0.5

// DefaultBudget bounds the search of v2's parameters when the settings do
// not (faasd cuts calls at 60 s).
const DefaultBudget = 20 * time.Second

// How the fits share the time to the step's fitting deadline (deadline),
// so that neither recipe starves the other. Boosting the seed's 250 trees
// costs about half of v2's final fit (fewer features, no encoding), and
// the search's trials fit a third of v2's rows.
const (
	// SeedTreesShare of the time left when the seed's trees start is
	// theirs; v2 reads, encodes, searches and fits in the rest.
	SeedTreesShare = 0.3
	// SearchShare of the time left when v2's search starts is the
	// search's (Options.Budget at most); v2's final fit, which must keep
	// a real number of trees, and its calibration have the rest.
	SearchShare = 0.3
)

// Options tune train; the zero value trains both recipes, searches for
// DefaultBudget, with no time limit and no registry.
type Options struct {
	Budget time.Duration // the search's budget (0: DefaultBudget)
	// NoSearch fits the default parameters once: like the Python
	// reference's fixed-parameter fit, for like-for-like benchmarks.
	NoSearch bool
	// SeedOnly trains the seed's recipe alone (the Python reference's).
	SeedOnly bool
	// ThresholdMCC lets v2 pick the threshold that maximises MCC on its
	// validation month instead of Threshold.
	ThresholdMCC bool
	Seed         uint64
	// Limit is the time the step may take (the function's exec_timeout);
	// boosting stops in time to finish within it. 0: no limit.
	Limit time.Duration
	// Registrar registers the model and decides its role; nil registers
	// nothing (cmd/pipeline).
	Registrar Registrar
}

// New is the train step.
func New(o Options) runner.Step {
	return runner.Step{Name: chain.Train, Run: func(ctx context.Context, r *runner.Run) error { return run(ctx, r, o) }}
}

// Candidate is one trained model and its evaluation on the run's test rows.
type Candidate struct {
	Recipe     string // model.RecipeSeed or model.RecipeV2
	Algorithm  string
	Params     any
	Report     *metrics.Report // on every test row
	Proba      []float64       // on every test row, in the test records' order
	Importance map[string]float64
	GBT        *gbt.Model
	LogReg     *linear.Model
	V2         *recipev2.Fitted
	Search     *tune.LocalResult // v2's search, when it ran
	// Artifact builds the candidate's artifact (the caller sets what every
	// artifact carries: run date, stations, metrics, versions).
	Artifact func() *model.Artifact
}

// Outcome is what train decided, recorded in its manifest and the registry.
type Outcome struct {
	Chosen     *Candidate
	Candidates []*Candidate
	Compared   Comparison // the rows the candidates and the champion were scored on
	Artifact   *model.Artifact
	Profile    *store.Ref // the reference profile written beside the artifact
	MaxSkew    float64    // largest |p(artifact on raw records) − p(in training)| on the test rows
	Version    int
	Champion   bool
	Decision   string
	TrainRows  int
	TestRows   int
}

func run(ctx context.Context, r *runner.Run, o Options) error {
	if done, err := alreadyRegistered(ctx, r, o.Registrar); done || err != nil {
		return err
	}
	fitBy := deadline(r, o)
	took := phases{}
	took.mark("")
	all, err := fit.ReadTable(ctx, r, chain.RoleTestRecords)
	if err != nil {
		return err
	}
	months, nRecords := profile.MonthsOf(all), all.Len()
	scored := everyKthRow(nRecords, MaxTestRows)
	records := all
	if len(scored) < nRecords {
		records, all = all.Select(scored), nil
	}
	r.Note("test_rows", map[string]int{"records": nRecords, "scored": records.Len()})
	took.mark("read_test_records")
	// Everything is read before anything is fitted, so that the fits share
	// the time that is left (at 16× the year the reads are half of it).
	in, err := readSeed(ctx, r, scored, nRecords)
	if err != nil {
		return err
	}
	took.mark("seed_read")
	var trainV2, validV2 *table.Table
	if !o.SeedOnly {
		if trainV2, validV2, err = readV2(ctx, r); err != nil {
			return err
		}
		took.mark("v2_read")
	}
	cands, err := fitSeed(ctx, r, o, fitBy, in, &took)
	if err != nil {
		return err
	}
	in.Xtr, in.ytr, in.Xte, in.yte = nil, nil, nil, nil // in lives on for its stations
	took.mark("seed_fit")
	if !o.SeedOnly {
		v2, err := fitV2(ctx, r, o, fitBy, trainV2, validV2, records)
		if err != nil {
			return err
		}
		cands = append(cands, v2)
		took.mark("v2_fit")
	}
	out := &Outcome{Candidates: cands, TrainRows: in.trainRows, TestRows: records.Len()}
	if out.Compared, err = compareRows(records, r.Date); err != nil {
		return err
	}
	out.Chosen = choose(cands, out.Compared)
	art, sample, err := writeArtifact(ctx, r, in, out, records)
	if err != nil {
		return err
	}
	took.mark("replay_and_artifact")
	if err := writeProfile(ctx, r, out, art, sample, months); err != nil {
		return err
	}
	took.mark("profile")
	if o.Registrar != nil {
		if err := o.Registrar.Record(ctx, r, out, art, records); err != nil {
			return err
		}
		took.mark("register")
	}
	r.Count(0, int64(nRecords), 0)
	note(r, out, art)
	r.Note("seconds", took.seconds)
	logDecision(r, out)
	return nil
}

// release hands the memory of the tables a phase dropped back before the
// next phase allocates: the heap's goal would otherwise stay twice the
// largest live set so far, and a function is killed at its memory limit.
func release() { debug.FreeOSMemory() }

// logDecision logs what train decided, in one line: the champion kept or
// replaced, every candidate's test scores, the chosen recipe and threshold.
func logDecision(r *runner.Run, out *Outcome) {
	type cand struct {
		Recipe    string  `json:"recipe"`
		Algorithm string  `json:"algorithm"`
		ROCAUC    float64 `json:"test_roc_auc"`
		AP        float64 `json:"test_average_precision"`
		Trees     int     `json:"trees,omitempty"`
	}
	var cands []cand
	for _, k := range out.Candidates {
		trees, _ := k.trees()
		cands = append(cands, cand{k.Recipe, k.Algorithm, k.Report.ROCAUC, k.Report.AveragePrecision, trees})
	}
	champion := "not registered"
	switch {
	case out.Version > 0 && out.Champion:
		champion = "replaced"
	case out.Version > 0:
		champion = "kept"
	}
	c := out.Chosen
	r.Env.Logger().Info("trained", "step", r.Step.Name, "run_date", chain.Day(r.Date), "champion", champion,
		"model_version", out.Version, "decision", out.Decision, "recipe", c.Recipe, "algorithm", c.Algorithm,
		"threshold", c.threshold(), "roc_auc", c.Report.ROCAUC, "average_precision", c.Report.AveragePrecision,
		"compared_on", out.Compared.What, "candidates", cands)
}

// threshold is the probability from which the candidate's artifact answers
// "arrest".
func (k *Candidate) threshold() float64 {
	if k.V2 != nil {
		return k.V2.Recipe.Threshold
	}
	return Threshold
}

// everyKthRow is the rows 0, k, 2k, … of n, the fewest k that leaves at
// most limit rows (every row when there are no more).
func everyKthRow(n, limit int) []int {
	k := max((n+limit-1)/limit, 1)
	rows := make([]int, 0, (n+k-1)/k)
	for i := 0; i < n; i += k {
		rows = append(rows, i)
	}
	return rows
}

// phases times train's phases, for its manifest.
type phases struct {
	last    time.Time
	seconds map[string]float64
}

func (p *phases) mark(name string) {
	now := time.Now()
	if p.seconds == nil {
		p.seconds = map[string]float64{}
	}
	if name != "" {
		p.seconds[name] = now.Sub(p.last).Seconds()
	}
	p.last = now
}

// FitReserve is the part of the step's time limit kept for what follows
// the fits: predictions, metrics, the replay check, the profile, the
// registry's scoring of the champion, writes. On at most MaxTestRows test
// rows that work takes 3–7 s at any scale of the year.
const FitReserve = 1.0 / 6

// deadline is when boosting stops within a time limit: FitReserve of it
// before its end. A train killed by its timeout leaves nothing, and its
// retries would fail the same way.
func deadline(r *runner.Run, o Options) time.Time {
	if o.Limit <= 0 {
		return time.Time{}
	}
	return r.Started().Add(o.Limit - time.Duration(float64(o.Limit)*FitReserve))
}

// alreadyRegistered finishes a run whose model an earlier attempt of the
// same generation registered before failing to write its manifest: it is
// not trained again.
func alreadyRegistered(ctx context.Context, r *runner.Run, reg Registrar) (bool, error) {
	if reg == nil {
		return false, nil
	}
	m := r.Manifest()
	v, ok, err := reg.Registered(ctx, r.Date, m.Generation)
	if err != nil || !ok {
		return false, err
	}
	if _, err := r.Adopt(ctx, chain.RoleModel, chain.ArtifactKey(r.Date)); err != nil {
		return true, err
	}
	// The profile was written before registering (a model registered before
	// profiles existed has none).
	if _, err := r.Adopt(ctx, chain.RoleProfile, chain.ProfileKey(r.Date)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return true, err
	}
	r.Note("model_version", v)
	r.Note("already_registered", true)
	return true, nil
}

// writeArtifact assembles the chosen candidate's artifact, checks that it
// replays the preprocessing on the raw test records exactly (replay), and
// writes it. It returns the replay's sample for the reference profile.
func writeArtifact(ctx context.Context, r *runner.Run, in *seedInputs, out *Outcome, records *table.Table) (runner.Ref, *profile.Sample, error) {
	c := out.Chosen
	a := c.Artifact()
	a.RunDate, a.Stations, a.Metrics = chain.Day(r.Date), in.stations, summary(c.Report)
	a.CodeVersion, a.CreatedAt = r.Env.Version, time.Now().UTC()
	pred, err := model.New(a)
	if err != nil {
		return runner.Ref{}, nil, runner.Permanentf("assemble artifact: %w", err)
	}
	sample, skew, err := replay(ctx, pred, records, c.Proba)
	out.MaxSkew = skew
	if err != nil {
		return runner.Ref{}, nil, err
	}
	body, err := a.Marshal()
	if err != nil {
		return runner.Ref{}, nil, fmt.Errorf("encode artifact: %w", err)
	}
	out.Artifact = a
	ref, err := r.Put(ctx, chain.RoleModel, chain.ArtifactKey(r.Date), body, "application/json", 0)
	return ref, sample, err
}

func note(r *runner.Run, out *Outcome, art runner.Ref) {
	c := out.Chosen
	r.Note("recipe", c.Recipe)
	r.Note("algorithm", c.Algorithm)
	r.Note("roc_auc", c.Report.ROCAUC)
	r.Note("average_precision", c.Report.AveragePrecision)
	r.Note("max_replay_error", out.MaxSkew)
	r.Note("artifact", art.Key)
	r.Note("compared_on", out.Compared.What)
	var cands []map[string]any
	for _, k := range out.Candidates {
		s := out.Compared.score(k)
		e := map[string]any{"recipe": k.Recipe, "algorithm": k.Algorithm, "roc_auc": s.ROCAUC, "average_precision": s.AveragePrecision,
			"brier": s.Brier, "log_loss": s.LogLoss, "test_roc_auc": k.Report.ROCAUC, "test_average_precision": k.Report.AveragePrecision}
		trees, stopped := k.trees()
		if trees > 0 {
			e["trees"] = trees
		}
		if stopped {
			e["stopped_at_time_limit"] = true
		}
		if k == c {
			if trees > 0 {
				r.Note("trees", trees)
			}
			if stopped {
				r.Note("stopped_at_time_limit", true)
			}
		}
		if v := k.V2; v != nil {
			e["rounds"], e["calibration"], e["threshold"], e["seconds"] = v.Rounds, v.Recipe.Calibration.Method, v.Recipe.Threshold, v.Seconds
			if s := k.Search; s != nil {
				e["search"] = map[string]any{"trials": s.Trials, "seconds": s.Seconds, "budget_seconds": s.Budget.Seconds(),
					"stopped_by": s.StoppedBy, "gain_over_defaults": s.Gain(), "best_loss": s.BestLoss, "defaults_loss": s.DefaultsLoss}
			}
		}
		cands = append(cands, e)
	}
	r.Note("candidates", cands)
	if out.Version > 0 {
		r.Note("model_version", out.Version)
		r.Note("champion", out.Champion)
		r.Note("decision", out.Decision)
	}
}

// trees is how many trees a candidate kept, and whether its boosting
// stopped at the step's time limit.
func (k *Candidate) trees() (int, bool) {
	switch {
	case k.V2 != nil:
		return k.V2.Trees, k.V2.StoppedAtDeadline
	case k.GBT != nil:
		return k.GBT.NumTrees(), k.GBT.StoppedAtDeadline()
	}
	return 0, false
}

func summary(rep *metrics.Report) map[string]float64 {
	return map[string]float64{
		"roc_auc": rep.ROCAUC, "average_precision": rep.AveragePrecision, "log_loss": rep.LogLoss,
		"brier": rep.Brier, "accuracy": rep.Accuracy, "precision": rep.Precision, "recall": rep.Recall,
		"f1": rep.F1, "mcc": rep.MCC,
	}
}
