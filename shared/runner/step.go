package runner

import (
	"context"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Step is one step's work, as a step package builds it.
type Step struct {
	Name string // its entry in the chain table
	// Plan resolves a cron tick or a manual call into the run it starts
	// (download: the run date and the months to fetch). nil for evented
	// steps: their run is resolved from the previous step's manifest.
	Plan func(ctx context.Context, env *Env, inv Invocation) (Plan, error)
	Run  func(ctx context.Context, r *Run) error
	// Batch answers a manual call that is no single run (download's
	// backfill: it re-fetches months, then starts a new generation of each
	// run whose window changed, each through Execute); ok false leaves the
	// call to Plan and Run.
	Batch func(ctx context.Context, env *Env, inv Invocation) (res Result, ok bool)
}

// Plan is the run a cron tick or a manual call starts.
type Plan struct {
	Date   time.Time
	Input  store.Ref     // the run's identity for idempotency (its Key; a new identity begins a new generation)
	Months []chain.Month // download: the months to fetch
}

// Invocation is a parsed trigger, as Execute takes it.
type Invocation struct {
	Kind    faas.Kind
	Bucket  string // Event: the bucket's name
	Key     string // Event
	Version string // Event: the object's version ID
	ETag    string // Event
	Date    time.Time
	From    string // download backfill, YYYY-MM
	To      string
}

// Result says what happened and what to answer.
type Result struct {
	Status   int       `json:"-"`
	Outcome  string    `json:"outcome"` // done, already-done, ignored, in-progress, failed, retry
	Step     string    `json:"step"`
	RunDate  string    `json:"run_date,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Field    string    `json:"field,omitempty"` // refused: the request's field at fault
	Manifest *Manifest `json:"manifest,omitempty"`
	Detail   any       `json:"detail,omitempty"` // a batch's own report
}
