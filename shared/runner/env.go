package runner

import (
	"context"
	"log/slog"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Env is what steps run against, built once per process (Serve builds it
// from the function's settings; cmd/pipeline and tests build their own).
type Env struct {
	Store   store.Store
	Buckets chain.Buckets    // this deployment's bucket names
	Tracker Tracker          // nil: no run tracking (cmd/pipeline)
	Log     *slog.Logger     // nil: slog.Default()
	Version string           // code version recorded in manifests
	Clock   func() time.Time // nil: time.Now (the cron tick runs for today)
	// Lease bounds how long an attempt may hold a step run before another
	// may take over; 0: DefaultLease.
	Lease time.Duration
}

// DefaultLease is how long an attempt holds its run between renewals (every
// third of it, while it works): an attempt that crashed, or lost the
// database, is taken over this long after its last renewal.
const DefaultLease = 15 * time.Second

// Tracker records step runs (PostgreSQL: *runs.Tracker) and arbitrates
// concurrent attempts: at-least-once delivery must not mean twice done.
type Tracker interface {
	Begin(ctx context.Context, runDate time.Time, step string, inputs []store.Ref, lease time.Duration) (*runs.StepRun, runs.Outcome, error)
	Finish(ctx context.Context, run *runs.StepRun, stats runs.Stats) error
	Fail(ctx context.Context, run *runs.StepRun, cause error, permanent bool) error
	// Abandon records an attempt whose work was moot (superseded, or taken
	// over) without failing the run.
	Abandon(ctx context.Context, run *runs.StepRun, reason string) error
	// KeepAlive renews run's lease until stop is called; lost is called when
	// another attempt has taken it over.
	KeepAlive(ctx context.Context, run *runs.StepRun, lease time.Duration, lost func(error)) (stop func())
}

// Logger is the Env's logger.
func (e *Env) Logger() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

// Now is the wall clock's time.
func (e *Env) Now() time.Time {
	if e.Clock == nil {
		return time.Now()
	}
	return e.Clock()
}

func (e *Env) lease() time.Duration {
	if e.Lease > 0 {
		return e.Lease
	}
	return DefaultLease
}
