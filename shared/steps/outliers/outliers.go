// Package outliers is the chain's outliers step: keep the rows whose
// distance to the nearest station lies within the train mean ± 3σ (train
// statistics), in train and test.
package outliers

import (
	"context"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/prep"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// Sigma is the seed's bound, in train standard deviations.
const Sigma = 3.0

// Step is the outliers step.
var Step = runner.Step{Name: chain.Outliers, Run: Run}

// Run fits the bounds on train and filters both tables.
func Run(ctx context.Context, r *runner.Run) error {
	train, test, err := fit.ReadTables(ctx, r)
	if err != nil {
		return err
	}
	rc, err := fit.ReadRecipe(ctx, r)
	if err != nil {
		return err
	}
	d, err := train.Lookup(crime.ColDistance, table.Numeric)
	if err != nil {
		return &runner.Permanent{Err: err}
	}
	if rc.Outliers, err = prep.FitOutlierBounds(d.Nums, Sigma); err != nil {
		return runner.Permanentf("fit outlier bounds: %w", err)
	}
	keep := func(t *table.Table) (*table.Table, error) {
		c, err := t.Lookup(crime.ColDistance, table.Numeric)
		if err != nil {
			return nil, &runner.Permanent{Err: err}
		}
		return t.Select(rc.Outliers.KeepRows(c.Nums, nil)), nil
	}
	if train, err = keep(train); err != nil {
		return err
	}
	if test, err = keep(test); err != nil {
		return err
	}
	return fit.WriteTables(ctx, r, train, test, rc)
}
