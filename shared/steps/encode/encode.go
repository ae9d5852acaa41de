// Package encode is the chain's encode step: fit the seed's encoders on
// train (log1p distance, sin of the day of week, one-hot of season and day
// time, frequency encodings) and encode train and test. The encoded tables
// (about twice the input: every value a float) are made a group of rows at a
// time while they are uploaded, never held whole.
package encode

import (
	"context"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// Step is the encode step.
var Step = runner.Step{Name: chain.Encode, Run: Run}

// Run encodes the run's train and test records.
func Run(ctx context.Context, r *runner.Run) error {
	train, test, err := fit.ReadTables(ctx, r)
	if err != nil {
		return err
	}
	rc, err := fit.ReadRecipe(ctx, r)
	if err != nil {
		return err
	}
	// The records go on as they are: the v2 recipe fits on the training
	// ones, and train replays the whole preprocessing on the test ones
	// through the model artifact.
	for role, as := range map[string]string{chain.RoleTrain: chain.RoleTrainRecords, chain.RoleTest: chain.RoleTestRecords} {
		records, err := r.Input(role)
		if err != nil {
			return err
		}
		r.Pass(as, records)
	}
	if rc.Encoder, err = recipe.FitEncoder(train); err != nil {
		return &runner.Permanent{Err: err}
	}
	put := func(role string, t *table.Table) func(*runner.Run) error {
		return func(r *runner.Run) error {
			fill, err := rc.Encoder.Filler(t)
			if err != nil {
				return runner.Permanentf("encode %s: %w", role, err)
			}
			_, err = r.PutGroups(ctx, role, chain.TableKey(r.Step.Name, r.Date, role), rc.Encoder.Schema(), t.Len(), fill)
			return err
		}
	}
	trainRows, testRows := train.Len(), test.Len()
	if err := r.Concurrently(put(chain.RoleTrain, train), put(chain.RoleTest, test)); err != nil {
		return err
	}
	return fit.Written(ctx, r, trainRows, testRows, rc)
}
