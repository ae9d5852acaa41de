// Package scale is the chain's scale step: a StandardScaler (population
// standard deviation) fitted on train's x, y and distance, applied to both.
package scale

import (
	"context"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/prep"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// Step is the scale step.
var Step = runner.Step{Name: chain.Scale, Run: Run}

// Run fits the scaler on train and scales both tables in place.
func Run(ctx context.Context, r *runner.Run) error {
	train, test, err := fit.ReadTables(ctx, r)
	if err != nil {
		return err
	}
	rc, err := fit.ReadRecipe(ctx, r)
	if err != nil {
		return err
	}
	X := make([][]float64, len(recipe.ScaledColumns))
	for j, name := range recipe.ScaledColumns {
		c, err := train.Lookup(name, table.Numeric)
		if err != nil {
			return &runner.Permanent{Err: err}
		}
		X[j] = c.Nums
	}
	if rc.Scaler, err = prep.FitScaler(recipe.ScaledColumns, X); err != nil {
		return runner.Permanentf("fit scaler: %w", err)
	}
	for _, t := range []*table.Table{train, test} {
		for j, name := range recipe.ScaledColumns {
			c := t.Col(name)
			if c == nil || c.Kind != table.Numeric {
				return runner.Permanentf("column %s missing or not numeric", name)
			}
			// In place: the tables were read by this step and are its own.
			rc.Scaler.TransformColumn(j, c.Nums, c.Nums)
		}
	}
	return fit.WriteTables(ctx, r, train, test, rc)
}
