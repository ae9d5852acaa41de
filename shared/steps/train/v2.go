package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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

// MaxV2TrainRows bounds the older training rows v2 fits on; the newest are
// kept. Past a year of Chicago's rows more of them stop helping: the
// target encodings' categories are all seen, the trees' splits settle, and
// every row costs encoding and boosting time that the step's 58 s do not
// have (the 2017 year has 192k such rows: none is left out; 16× it, 3M).
const MaxV2TrainRows = 200_000

// MaxV2ValidRows bounds the validation month v2 stops early, searches and
// calibrates on: every k-th of its rows is kept, so the whole month is
// still seen (the 2017 year's December has 17k rows).
const MaxV2ValidRows = 50_000

// MinValidRows is the least validation month v2 stops and calibrates on;
// with fewer, the newest tenth of the training rows is used.
const MinValidRows = 1000

// MinSearchBudget is the least time v2's search is run with: the start and
// one neighbour, at the 2017 year's 2–3 s a trial. With less, the final
// fit has the time.
const MinSearchBudget = 5 * time.Second

// v2Rows is how v2's rows were chosen, for train's manifest.
type v2Rows struct {
	Records    int    `json:"records"`     // training records read
	ValidSince string `json:"valid_since"` // the validation rows' first day
	Month      int    `json:"month"`       // the records from then on (or the newest tenth)
	Valid      int    `json:"valid"`       // of them, kept (MaxV2ValidRows)
	Older      int    `json:"older"`       // the records before them
	Train      int    `json:"train"`       // of them, kept: the newest (MaxV2TrainRows)
	OldestKept string `json:"oldest_kept"` // the oldest kept training row's day
}

// fitV2 trains the v2 recipe on the run's training records: the newest
// month of them validates (early stopping, calibration, the search), the
// older ones train; the search starts from the champion's parameters when
// the champion is a v2 model, else v2's defaults. It scores the test
// records.
func fitV2(ctx context.Context, r *runner.Run, o Options, fitBy time.Time, trainT, validT, records *table.Table) (*Candidate, error) {
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
		m := chain.MonthOf(r.Date)
		cfg := tune.LocalConfig{Start: start, Defaults: recipev2.DefaultParams(), FirstMove: m.Year()*12 + int(m.Month())}
		opts.Search = func(ctx context.Context, eval func(context.Context, gbt.Params, time.Time) (float64, int, error)) (gbt.Params, error) {
			// Decided once the rows are encoded: the search has its share
			// of the time left, the final fit and calibration the rest,
			// and no trial runs past the search's end.
			cfg.Budget = budget
			if !fitBy.IsZero() {
				cfg.Budget = min(budget, time.Duration(float64(time.Until(fitBy))*SearchShare))
			}
			if cfg.Budget < MinSearchBudget {
				// No time for a trial that says anything: the start it is.
				search = &tune.LocalResult{Best: cfg.Start, Budget: cfg.Budget, StoppedBy: "budget"}
				return cfg.Start, nil
			}
			by := time.Now().Add(cfg.Budget)
			res, err := tune.Local(ctx, cfg, func(ctx context.Context, p gbt.Params) (float64, int, error) {
				loss, trees, err := eval(ctx, p, by)
				if errors.Is(err, recipev2.ErrCut) {
					err = fmt.Errorf("%w: %w", tune.ErrCut, err)
				}
				return loss, trees, err
			})
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

// readV2 reads the training records and keeps v2's (splitRecords).
func readV2(ctx context.Context, r *runner.Run) (train, valid *table.Table, err error) {
	all, err := fit.ReadTable(ctx, r, chain.RoleTrainRecords)
	if err != nil {
		return nil, nil, err
	}
	if train, valid, err = splitRecords(r, all); err != nil {
		return nil, nil, err
	}
	all = nil
	release() // at 16× the year the records were 300 MB, the kept rows 30
	return train, valid, nil
}

// splitRecords splits the training records for v2 (splitByDate) at the
// run's previous month, and notes how in the manifest (v2_rows).
func splitRecords(r *runner.Run, all *table.Table) (train, valid *table.Table, err error) {
	train, valid, rows, err := splitByDate(all, chain.MonthOf(r.Date).Prev().Time)
	if err != nil {
		return nil, nil, &runner.Permanent{Err: err}
	}
	r.Note("v2_rows", rows)
	return train, valid, nil
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
// month) out for validation — with too few of them, the newest tenth —,
// every k-th of them when there are more than MaxV2ValidRows; of the older
// records it keeps the newest MaxV2TrainRows. Rows keep their order; of
// rows with the same date, the earlier ones count as the newer.
func splitByDate(t *table.Table, since time.Time) (train, valid *table.Table, rows v2Rows, err error) {
	dates, err := t.Lookup(crime.ColDate, table.Time)
	if err != nil {
		return nil, nil, rows, fmt.Errorf("recipe v2: %w", err)
	}
	n := t.Len()
	sorted := slices.Clone(dates.Times)
	slices.Sort(sorted)
	from := table.WallSeconds(since)
	nV := n - sort.Search(n, func(k int) bool { return sorted[k] >= from })
	if nV < MinValidRows {
		nV = n / 10
	}
	nT := min(n-nV, MaxV2TrainRows)
	rows = v2Rows{Records: n, Month: nV, Older: n - nV, Train: nT}
	if nV == 0 || nT < 2 {
		return nil, nil, rows, fmt.Errorf("recipe v2: %d training records: too few", n)
	}
	inValid, inEither := newest(dates.Times, sorted, nV), newest(dates.Times, sorted, nV+nT)
	step := (nV + MaxV2ValidRows - 1) / MaxV2ValidRows
	v, tr := make([]int, 0, (nV+step-1)/step), make([]int, 0, nT)
	month, oldest := 0, int64(math.MaxInt64)
	for i, d := range dates.Times {
		switch {
		case inValid[i]:
			if month%step == 0 {
				v = append(v, i)
			}
			month++
		case inEither[i]:
			tr = append(tr, i)
			oldest = min(oldest, d)
		}
	}
	rows.Valid = len(v)
	rows.ValidSince = chain.Day(table.Wall(sorted[n-nV]))
	rows.OldestKept = chain.Day(table.Wall(oldest))
	return t.Select(tr), t.Select(v), rows, nil
}

// newest marks the k newest of rows dated dates (sorted: the same dates,
// ascending); of rows with the cut's date, the earlier ones.
func newest(dates, sorted []int64, k int) []bool {
	in := make([]bool, len(dates))
	if k <= 0 {
		return in
	}
	n := len(sorted)
	cut := sorted[n-k]
	ties := k - (n - sort.Search(n, func(i int) bool { return sorted[i] > cut }))
	for i, d := range dates {
		if d > cut || (d == cut && ties > 0) {
			in[i] = true
			if d == cut {
				ties--
			}
		}
	}
	return in
}
