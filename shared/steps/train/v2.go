package train

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/gbt"
	"github.com/arrestcast/arrestcast/shared/ml/tune"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// MaxV2TrainRows bounds the training rows v2 fits on (the newest are kept):
// its encoded matrix is 29 floats a row, and a function has 1 GiB.
const MaxV2TrainRows = 700_000

// MinValidRows is the least validation month v2 stops and calibrates on;
// with fewer, the newest tenth of the training rows is used.
const MinValidRows = 1000

// fitV2 trains the v2 recipe on the run's training records: the newest
// month of them validates (early stopping, calibration, the search), the
// older ones train; the search starts from the champion's parameters when
// the champion is a v2 model, else v2's defaults. It scores the test
// records.
func fitV2(ctx context.Context, r *runner.Run, o Options, fitBy time.Time, records *table.Table, took *phases) (*Candidate, error) {
	all, err := fit.ReadTable(ctx, r, chain.RoleTrainRecords)
	if err != nil {
		return nil, err
	}
	trainT, validT, err := splitByDate(all, chain.MonthOf(r.Date).Prev().Time)
	if err != nil {
		return nil, &runner.Permanent{Err: err}
	}
	all = nil
	took.mark("v2_read")
	opts := recipev2.Options{Seed: o.Seed, Deadline: fitBy, ThresholdMCC: o.ThresholdMCC}
	var search *tune.LocalResult
	if !o.NoSearch {
		start, ok, err := startParams(ctx, o.Registrar)
		if err != nil {
			return nil, err
		}
		if !ok {
			start = recipev2.DefaultParams()
		}
		budget := o.Budget
		if budget <= 0 {
			budget = DefaultBudget
		}
		if !fitBy.IsZero() {
			budget = min(budget, time.Until(fitBy)/3) // the final fit keeps the rest
		}
		m := chain.MonthOf(r.Date)
		cfg := tune.LocalConfig{Start: start, Defaults: recipev2.DefaultParams(), Budget: budget,
			FirstMove: m.Year()*12 + int(m.Month())}
		opts.Search = func(ctx context.Context, eval func(context.Context, gbt.Params) (float64, int, error)) (gbt.Params, error) {
			res, err := tune.Local(ctx, cfg, eval)
			search = &res
			return res.Best, err
		}
	}
	f, err := recipev2.Fit(ctx, trainT, validT, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, runner.Permanentf("fit recipe v2: %w", err)
	}
	proba, rep, err := f.Evaluate(records, 0)
	if err != nil {
		return nil, runner.Permanentf("evaluate recipe v2: %w", err)
	}
	if f.StoppedAtDeadline {
		r.Env.Logger().Warn("v2 boosting stopped at the step's time limit", "trees", f.Trees)
	}
	return &Candidate{Recipe: model.RecipeV2, Algorithm: model.GBT, Params: f.Params, Report: rep, Proba: proba,
		Importance: f.Importance, GBT: f.Model, V2: f, Search: search, Artifact: func() *model.Artifact { return model.FromV2(f) }}, nil
}

// startParams are the champion's trees' parameters when it is a v2 model.
func startParams(ctx context.Context, reg Registrar) (gbt.Params, bool, error) {
	if reg == nil {
		return gbt.Params{}, false, nil
	}
	recipe, p, ok, err := reg.ChampionParams(ctx)
	if err != nil || !ok || recipe != model.RecipeV2 {
		return gbt.Params{}, false, err
	}
	return p, true, nil
}

// splitByDate holds the training records dated from since (the newest
// month) out for validation; with too few of them, the newest tenth. At
// most MaxV2TrainRows of the older rows are kept, the newest.
func splitByDate(t *table.Table, since time.Time) (train, valid *table.Table, err error) {
	dates, err := t.Lookup(crime.ColDate, table.Time)
	if err != nil {
		return nil, nil, fmt.Errorf("recipe v2: %w", err)
	}
	order := make([]int, t.Len())
	for i := range order {
		order[i] = i
	}
	// Newest first: the validation rows, then the training rows to keep.
	sort.SliceStable(order, func(a, b int) bool { return dates.Times[order[a]] > dates.Times[order[b]] })
	from := table.WallSeconds(since)
	nV := sort.Search(len(order), func(k int) bool { return dates.Times[order[k]] < from })
	if nV < MinValidRows {
		nV = len(order) / 10
	}
	nT := min(len(order)-nV, MaxV2TrainRows)
	if nV == 0 || nT < 2 {
		return nil, nil, fmt.Errorf("recipe v2: %d training records: too few", t.Len())
	}
	v, tr := order[:nV], order[nV:nV+nT]
	sort.Ints(v)
	sort.Ints(tr)
	return t.Select(tr), t.Select(v), nil
}
