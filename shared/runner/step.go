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
}

// Plan is the run a cron tick or a manual call starts.
type Plan struct {
	Date   time.Time
	Input  store.Ref     // the run's identity for idempotency (e.g. the months asked of the portal)
	Months []chain.Month // download: the months to fetch
}

// Invocation is a parsed trigger, as Execute takes it.
type Invocation struct {
	Kind   faas.Kind
	Bucket string // Event: the bucket's name
	Key    string // Event
	ETag   string // Event
	Date   time.Time
	From   string // download backfill, YYYY-MM
	To     string
}

// Result says what happened and what to answer.
type Result struct {
	Status   int       `json:"-"`
	Outcome  string    `json:"outcome"` // done, already-done, ignored, in-progress, failed, retry
	Step     string    `json:"step"`
	RunDate  string    `json:"run_date,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Manifest *Manifest `json:"manifest,omitempty"`
}
