// Package balance is the chain's balance step, on train only: SMOTE
// oversampling of arrests (ratio 0.5, k = 5), then undersampling of
// non-arrests (ratio 0.8). Test and the recipe travel on untouched.
package balance

import (
	"context"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/sample"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/fit"
)

// The seed's settings.
const (
	SMOTERatio      = 0.5
	SMOTENeighbours = 5
	UnderRatio      = 0.8
	Seed            = 42
)

// Step is the balance step.
var Step = runner.Step{Name: chain.Balance, Run: Run}

// Run balances train.
func Run(ctx context.Context, r *runner.Run) error {
	train, err := fit.ReadTable(ctx, r, chain.RoleTrain)
	if err != nil {
		return err
	}
	r.Count(int64(train.Len()), 0, 0)
	names, X, y, err := fit.Matrix(train)
	if err != nil {
		return &runner.Permanent{Err: err}
	}
	// The output is the input rows and SMOTE's new ones, undersampled; it is
	// made from both while it is uploaded, so neither is copied.
	S, minority, err := sample.Synthesize(X, y, SMOTERatio, SMOTENeighbours, Seed)
	if err != nil {
		return runner.Permanentf("smote: %w", err)
	}
	n := len(y)
	y = sample.Labels(y, minority, len(S[0]))
	r.Note("after_smote", len(y))
	keep, err := sample.UnderSample(y, UnderRatio, Seed)
	if err != nil {
		return runner.Permanentf("undersample: %w", err)
	}
	fill := func(lo int, g *table.Table) error {
		cols, rows := g.Columns(), keep[lo:lo+g.Len()]
		for j := range names {
			x, s, out := X[j], S[j], cols[j].Nums
			for i, k := range rows {
				if k < n {
					out[i] = x[k]
				} else {
					out[i] = s[k-n]
				}
			}
		}
		for i, k := range rows {
			cols[len(names)].Bools[i] = int8(y[k])
		}
		return nil
	}
	if _, err := r.PutGroups(ctx, chain.RoleTrain, chain.TableKey(r.Step.Name, r.Date, "train"), recipe.LabelledSchema(names), len(keep), fill); err != nil {
		return err
	}
	pos := 0
	for _, k := range keep {
		pos += int(y[k])
	}
	r.Count(0, int64(len(keep)), 0)
	r.Note("arrest_share", float64(pos)/float64(len(keep)))
	return nil
}
