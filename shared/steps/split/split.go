// Package split is the chain's split step: drop duplicate rows, split 80/20
// stratified on arrest (seed 42, scikit-learn's exact rows), fit the fill
// values on train and apply them to both.
package split

import (
	"context"
	"fmt"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/ml/prep"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// The seed's settings.
const (
	TestSize = 0.2
	Seed     = 42
)

// Step is the split step.
var Step = runner.Step{Name: chain.Split, Run: Run}

// Run splits the enriched window of the run.
func Run(ctx context.Context, r *runner.Run) error {
	t, err := fit.ReadTable(ctx, r, chain.RoleEnriched)
	if err != nil {
		return err
	}
	r.Count(int64(t.Len()), 0, 0)
	// Row numbers, not tables, until the split: one copy of the year, not two.
	distinct := t.DistinctRows()
	r.Note("duplicates_dropped", t.Len()-len(distinct))
	all, err := recipe.Labels(t)
	if err != nil {
		return &runner.Permanent{Err: err}
	}
	y := make([]uint8, len(distinct))
	for k, i := range distinct {
		y[k] = all[i]
	}
	trainIdx, testIdx, err := prep.StratifiedSplit(y, TestSize, Seed)
	if err != nil {
		return runner.Permanentf("split: %w", err)
	}
	for _, idx := range [][]int{trainIdx, testIdx} {
		for k, i := range idx {
			idx[k] = distinct[i]
		}
	}
	// date and description stay until encode: train compares models on the
	// rows a champion never saw, and the v2 recipe reads both.
	// test is copied out; train is made of t's own columns, reordered in
	// place: the year is held about 1.2 times, not twice.
	test := t.Select(testIdx)
	if err := t.Reorder(trainIdx); err != nil {
		return fmt.Errorf("split: %w", err)
	}
	train := t
	fill, err := recipe.FitFill(train)
	if err != nil {
		return &runner.Permanent{Err: err}
	}
	if err := fill.Table(train); err != nil {
		return &runner.Permanent{Err: err}
	}
	if err := fill.Table(test); err != nil {
		return &runner.Permanent{Err: err}
	}
	return fit.WriteTables(ctx, r, train, test, &recipe.Recipe{Fill: fill})
}
