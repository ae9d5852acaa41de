// Package features is the chain's features step: drop the seed's correlated
// columns, score the rest by mutual information with arrest on the balanced
// train set (kNN estimator, k = 3), keep those above 0.05, and write the
// ML-ready train and test sets (CSV, for people and other tools too), with
// the train and test rows as records beside them.
package features

import (
	"context"
	"slices"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/ml/mi"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// The seed's selection settings.
const (
	Neighbours = 3
	Seed       = 42
	Threshold  = 0.05
)

// Correlated are the encoded columns the seed drops before selection.
var Correlated = []string{
	recipe.FreqName(crime.ColBeat), recipe.FreqName(crime.ColWard), recipe.FreqName(crime.ColCommunityArea),
	recipe.FreqName(crime.ColStationName), recipe.FreqName(crime.ColFBICode),
}

// Step is the features step.
var Step = runner.Step{Name: chain.Features, Run: Run}

// Run selects the features and writes the ML-ready sets.
func Run(ctx context.Context, r *runner.Run) error {
	rc, err := fit.ReadRecipe(ctx, r)
	if err != nil {
		return err
	}
	// The correlated columns are never read. The estimator scales train's
	// columns where they are (a scaled copy of every column was the step's
	// largest allocation), so the kept columns are read again afterwards,
	// with test: the scores' memory is gone by then.
	train, err := fit.ReadTable(ctx, r, chain.RoleTrain, Correlated...)
	if err != nil {
		return err
	}
	names, X, y, err := fit.Matrix(train)
	if err != nil {
		return &runner.Permanent{Err: err}
	}
	scores, err := mi.Classif(X, y, mi.Options{K: Neighbours, Seed: Seed, InPlace: true})
	if err != nil {
		return runner.Permanentf("mutual information: %w", err)
	}
	mis := map[string]float64{}
	for j, n := range names {
		mis[n] = scores[j]
		if scores[j] > Threshold {
			rc.Features = append(rc.Features, n)
		}
	}
	if len(rc.Features) == 0 {
		return runner.Permanentf("no feature has mutual information above %v", Threshold)
	}
	var unused []string
	for _, n := range names {
		if !slices.Contains(rc.Features, n) {
			unused = append(unused, n)
		}
	}
	unused = append(unused, Correlated...)
	if train, err = fit.ReadTable(ctx, r, chain.RoleTrain, unused...); err != nil {
		return err
	}
	test, err := fit.ReadTable(ctx, r, chain.RoleTest, unused...)
	if err != nil {
		return err
	}
	r.Count(int64(train.Len()+test.Len()), 0, 0)
	keep := append(slices.Clone(rc.Features), crime.ColArrest)
	if train, err = train.Keep(keep...); err != nil {
		return &runner.Permanent{Err: err}
	}
	if test, err = test.Keep(keep...); err != nil {
		return runner.Permanentf("test set: %w", err)
	}
	// The records go on beside the ML-ready sets, where nothing expires: a
	// model's lineage names them.
	for role, name := range map[string]string{chain.RoleTrainRecords: "train", chain.RoleTestRecords: "test"} {
		records, err := r.Input(role)
		if err != nil {
			return err
		}
		if _, err := r.Copy(ctx, role, records, chain.RecordsKey(r.Date, name)); err != nil {
			return err
		}
	}
	r.Note("mutual_information", mis)
	r.Note("dropped_as_correlated", Correlated)
	r.Note("features", rc.Features)
	return fit.WriteTables(ctx, r, train, test, rc)
}
