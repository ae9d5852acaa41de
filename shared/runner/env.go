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

// DefaultLease is longer than any step's time limit (exec_timeout).
const DefaultLease = 90 * time.Second

// Tracker records step runs (PostgreSQL: *runs.Tracker) and arbitrates
// concurrent attempts: at-least-once delivery must not mean twice done.
type Tracker interface {
	Begin(ctx context.Context, runDate time.Time, step string, inputs []store.Ref, lease time.Duration) (*runs.StepRun, runs.Outcome, error)
	Finish(ctx context.Context, run *runs.StepRun, stats runs.Stats) error
	Fail(ctx context.Context, run *runs.StepRun, cause error, permanent bool) error
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
