package monitor

import (
	"context"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/profile"
)

// Evaluate is the monitor's work on a month once its inputs are read:
// scoring every record through the artifact, realized metrics, drift
// against the profile and the verdict (for the benchmark).
func Evaluate(ctx context.Context, t *table.Table, pred *model.Predictor, prof *profile.Profile) (*Report, error) {
	rep := &Report{Thresholds: DefaultThresholds}
	if err := evaluate(ctx, t, pred, prof, rep, DefaultThresholds); err != nil {
		return nil, err
	}
	rep.judge(DefaultThresholds)
	return rep, nil
}
