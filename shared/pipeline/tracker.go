package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// RunsTracker adapts the PostgreSQL run-tracking tables to the runner.
type RunsTracker struct{ T *runs.Tracker }

// Begin records a new attempt unless the same input is done, running or
// failed for good.
func (a RunsTracker) Begin(ctx context.Context, runDate time.Time, step string, input Ref, lease time.Duration) (Claim, Outcome, error) {
	run, out, err := a.T.Begin(ctx, runDate, step, []runs.Ref{{Bucket: input.Bucket, Key: input.Key, ETag: input.ETag}}, lease)
	if err != nil {
		return nil, 0, fmt.Errorf("track %s %s: %w", step, day(runDate), err)
	}
	switch out {
	case runs.Started:
		return runsClaim{a.T, run}, Proceed, nil
	case runs.AlreadyDone:
		return nil, AlreadyDone, nil
	case runs.InProgress:
		return nil, InProgress, nil
	case runs.FailedPermanently:
		return nil, FailedPermanently, nil
	}
	return nil, 0, fmt.Errorf("track %s: unknown outcome %v", step, out)
}

type runsClaim struct {
	t   *runs.Tracker
	run *runs.StepRun
}

func (c runsClaim) Finish(ctx context.Context, m *Manifest) error {
	st := runs.Stats{RowsIn: m.RowsIn, RowsOut: m.RowsOut, Rejects: m.Rejects}
	for _, o := range m.Outputs {
		st.Outputs = append(st.Outputs, runs.Ref{Bucket: o.Bucket, Key: o.Key, ETag: o.ETag})
	}
	return c.t.Finish(ctx, c.run, st)
}

func (c runsClaim) Fail(ctx context.Context, err error, permanent bool) error {
	return c.t.Fail(ctx, c.run, err, permanent)
}
