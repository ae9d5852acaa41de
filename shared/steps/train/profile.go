package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/drift"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/profile"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// replay runs the assembled artifact on every raw test record scored (at
// most MaxTestRows), as predict
// would serve it: the probabilities must be the very ones the fit computed
// (want) — train/serve skew is caught here, before the artifact is written
// — and the same pass gathers the reference profile's sample: each
// record's raw fields, its enriched record and model inputs as the artifact
// sees them, and the artifact's probability.
func replay(ctx context.Context, pred *model.Predictor, records *table.Table, want []float64) (*profile.Sample, float64, error) {
	n := records.Len()
	if len(want) != n {
		return nil, 0, fmt.Errorf("replay: %d rows, %d probabilities", n, len(want))
	}
	rd, err := model.NewRawReader(records)
	if err != nil {
		return nil, 0, runner.Permanentf("replay: %w", err)
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	features := pred.A.Features()
	s := profile.NewSample(records, rows, features)
	x := make([]float64, len(features))
	var raw model.Raw
	var rec recipe.Record
	worst := 0.0
	for i := range n {
		if i%8192 == 0 && ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		rd.Read(i, &raw)
		p, err := pred.Score(&raw, &rec, x)
		if err != nil {
			return nil, 0, runner.Permanentf("replay: row %d: %w", i, err)
		}
		d := math.Abs(p - want[i])
		if math.IsNaN(d) {
			return nil, 0, runner.Permanentf("replay: row %d: probability %v, the fit's %v", i, p, want[i])
		}
		worst = max(worst, d)
		s.Add(&rec, x, p)
	}
	if worst > model.MaxReplayError {
		return nil, worst, runner.Permanentf("artifact replays the fit with error %g (> %g)", worst, model.MaxReplayError)
	}
	return s, worst, nil
}

// writeProfile fits the chosen model's reference profile on the replay's
// sample and writes it beside the artifact (at art), with the months of
// every test record. The monitor compares every new month with it and
// never reads training data.
func writeProfile(ctx context.Context, r *runner.Run, out *Outcome, art runner.Ref, s *profile.Sample, months []profile.Month) error {
	p := profile.Fit(s, chain.Day(r.Date), art.ETag, drift.Options{})
	p.Months = months
	b, err := json.Marshal(p) // compact: a few hundred kB of reference grids
	if err != nil {
		return fmt.Errorf("encode profile: %w", err)
	}
	ref, err := r.Put(ctx, chain.RoleProfile, chain.ProfileKey(r.Date), b, "application/json", 0)
	if err != nil {
		return err
	}
	out.Profile = &ref.Ref
	return nil
}
