// Package pipeline holds ArrestCast's monthly pipeline: one function per
// step (download, merge, enrich, split, outliers, encode, scale, balance,
// features, train), the object layout they share, and the runner that gives
// every step the same contract: resolve the run date from the trigger, skip
// work already done for the same input, run the step, write its outputs and
// then its manifest, record the run. The OpenFaaS handlers, the command-line
// pipeline, the tests and the benchmarks all call the steps through Execute.
package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Env is what steps run against.
type Env struct {
	Store    store.Store
	Data     string // data bucket
	Models   string // models bucket
	Tracker  Tracker
	DB       *pgxpool.Pool // the database behind Tracker, shared with train's model registry (nil without one)
	Source   Source        // where download fetches crimes and stations
	Registry Registry      // where train registers models (nil: none, as in cmd/pipeline)
	Log      *slog.Logger
	Version  string           // code version recorded in manifests
	Now      func() time.Time // wall clock, for the cron trigger only
	Options  Options
}

// Options tune steps; zero values take the seed's settings.
type Options struct {
	TrainBudget time.Duration // train's tuning search budget
	// NoSearch makes train fit gbt's default parameters once, without the
	// cross-validated search: the Python reference's fixed-parameter fit,
	// for like-for-like benchmarks.
	NoSearch bool
	Seed     uint64
	// StepTimeout is the time a step may take (the function's
	// exec_timeout); train stops boosting in time to finish within it.
	// 0: no limit.
	StepTimeout time.Duration
}

func (e *Env) log() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

// Run is one execution of one step for one run date: the step reads and
// writes through it, so inputs, outputs and counts land in the manifest.
type Run struct {
	Env     *Env
	Step    string
	Date    time.Time
	Prev    *Manifest // the previous step's manifest (nil for download)
	Months  []Month   // download: the months to fetch
	m       Manifest
	started time.Time
}

// Permanent marks an error that retrying cannot fix (bad or empty data): the
// run is recorded as failed and the trigger acknowledged, never retried forever.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }

// Permanentf builds a Permanent error.
func Permanentf(format string, args ...any) error {
	return &Permanent{Err: fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err is a Permanent failure.
func IsPermanent(err error) bool {
	var p *Permanent
	return errors.As(err, &p)
}

// Get reads an object of the data bucket and records it as an input.
func (r *Run) Get(ctx context.Context, key string) ([]byte, error) {
	b, obj, err := store.GetBytes(ctx, r.Env.Store, r.Env.Data, key, 0)
	if err != nil {
		return nil, err
	}
	r.m.Inputs = append(r.m.Inputs, Ref{Bucket: r.Env.Data, Key: key, ETag: obj.ETag, Size: obj.Size})
	return b, nil
}

// Put writes an object to bucket (the data bucket when empty) and records it
// as an output. rows is the row count it holds, when it is a table.
func (r *Run) Put(ctx context.Context, bucket, key string, data []byte, contentType string, rows int64) (Ref, error) {
	return r.PutReader(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), contentType, rows)
}

// PutReader is Put for a body of size bytes read from body; the store may
// rewind it to retry, so it must be an io.ReadSeeker to be retried without
// spooling.
func (r *Run) PutReader(ctx context.Context, bucket, key string, body io.Reader, size int64, contentType string, rows int64) (Ref, error) {
	if bucket == "" {
		bucket = r.Env.Data
	}
	// The chain table names the buckets by role; this deployment's names
	// (DATA_BUCKET, MODELS_BUCKET) map onto them.
	role := ""
	switch bucket {
	case r.Env.Data:
		role = chain.DataBucket
	case r.Env.Models:
		role = chain.ModelsBucket
	}
	if !chain.Owns(role, key) {
		return Ref{}, fmt.Errorf("step %s may not write %s/%s: outside the chain's prefixes", r.Step, bucket, key)
	}
	obj, err := r.Env.Store.Put(ctx, bucket, key, body, size, contentType)
	if err != nil {
		return Ref{}, err
	}
	ref := Ref{Bucket: bucket, Key: key, ETag: obj.ETag, Size: obj.Size, Rows: rows}
	r.m.Outputs = append(r.m.Outputs, ref)
	return ref, nil
}

// GetJSON reads a JSON object of the data bucket into v.
func (r *Run) GetJSON(ctx context.Context, key string, v any) error {
	b, err := r.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &Permanent{fmt.Errorf("decode %s: %w", key, err)}
	}
	return nil
}

// PutJSON writes v as indented JSON (fitted state is read by people too).
func (r *Run) PutJSON(ctx context.Context, bucket, key string, v any) (Ref, error) {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return Ref{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return r.Put(ctx, bucket, key, b, "application/json", 0)
}

// Count adds to the run's row counts.
func (r *Run) Count(in, out, rejects int64) {
	r.m.RowsIn += in
	r.m.RowsOut += out
	r.m.Rejects += rejects
}

// Note records a fact about the run in its manifest.
func (r *Run) Note(key string, v any) {
	if r.m.Notes == nil {
		r.m.Notes = map[string]any{}
	}
	r.m.Notes[key] = v
}

// Manifest returns the manifest built so far.
func (r *Run) Manifest() Manifest { return r.m }
