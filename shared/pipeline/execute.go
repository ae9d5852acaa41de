package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Outcome of asking the tracker to begin a step run.
type Outcome int

const (
	Proceed           Outcome = iota // run it
	AlreadyDone                      // a done run exists for the same input
	InProgress                       // another attempt holds a live lease
	FailedPermanently                // the same input already failed for good
)

// Tracker records step runs (PostgreSQL in the functions) and arbitrates
// concurrent attempts: at-least-once delivery must not mean twice done.
type Tracker interface {
	Begin(ctx context.Context, runDate time.Time, step string, input Ref, lease time.Duration) (Claim, Outcome, error)
}

// Claim is a begun step run.
type Claim interface {
	Finish(ctx context.Context, m *Manifest) error
	Fail(ctx context.Context, err error, permanent bool) error
}

// StepFunc is one step's work.
type StepFunc func(ctx context.Context, r *Run) error

// Steps maps step names to their work; train is registered by its package
// (it needs the model registry), the others live here.
var Steps = map[string]StepFunc{}

// Register adds a step (called from init of the step's file or package).
func Register(name string, fn StepFunc) {
	if _, ok := chain.Lookup(name); !ok {
		panic("pipeline: step " + name + " is not in the chain table")
	}
	Steps[name] = fn
}

// Invocation is a parsed trigger, as Execute takes it.
type Invocation struct {
	Kind   faas.Kind
	Bucket string // Event
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

// Lease bounds how long an attempt may hold a step run before another may
// take over (the function's exec_timeout is below it).
const Lease = 90 * time.Second

// Execute runs step for the invocation with the chain's guarantees: an event
// for another key is ignored; work already done for the same input is not
// redone; a transient failure answers 503 so MinIO retries; a permanent one is
// recorded and acknowledged.
func Execute(ctx context.Context, env *Env, step string, inv Invocation) Result {
	res := Result{Step: step}
	fn, ok := Steps[step]
	if !ok {
		return fail(res, http.StatusNotFound, "ignored", "no such step")
	}
	st, _ := chain.Lookup(step)
	log := env.log().With("step", step)

	run := &Run{Env: env, Step: step, started: time.Now()}
	var input Ref
	switch {
	case inv.Kind == faas.Event:
		if st.Trigger != chain.Event || !st.Matches(inv.Bucket, inv.Key) {
			log.Info("event ignored", "bucket", inv.Bucket, "key", inv.Key)
			return fail(res, http.StatusOK, "ignored", "not a key this step listens to")
		}
		prev, obj, err := readManifest(ctx, env, inv.Bucket, inv.Key)
		if errors.Is(err, store.ErrNotFound) {
			// No such object (a stale or forged event): no redelivery will
			// find it either, so it is acknowledged rather than retried forever.
			log.Warn("event for a missing object", "bucket", inv.Bucket, "key", inv.Key)
			return fail(res, http.StatusOK, "ignored", "triggering manifest does not exist")
		}
		if err != nil {
			return failErr(res, log, err, "read triggering manifest")
		}
		if prev.Status != "done" {
			return fail(res, http.StatusOK, "ignored", "previous step did not finish: "+prev.Error)
		}
		d, err := chain.ParseRunDate(prev.RunDate)
		if err != nil {
			return fail(res, http.StatusOK, "ignored", "triggering manifest has no run date")
		}
		run.Date, run.Prev = d, prev
		input = Ref{Bucket: inv.Bucket, Key: inv.Key, ETag: obj.ETag}
	case st.Trigger == chain.Event:
		if inv.Date.IsZero() {
			return fail(res, http.StatusBadRequest, "failed", `as_of is required: {"as_of":"YYYY-MM-DD"}`)
		}
		run.Date = inv.Date
		key := ManifestKey(st.After, inv.Date)
		prev, obj, err := readManifest(ctx, env, env.Data, key)
		if errors.Is(err, store.ErrNotFound) {
			return fail(res, http.StatusConflict, "failed", fmt.Sprintf("step %s has not run for %s", st.After, day(inv.Date)))
		}
		if err != nil {
			return failErr(res, log, err, "read previous manifest")
		}
		if prev.Status != "done" {
			return fail(res, http.StatusConflict, "failed", "previous step did not finish")
		}
		run.Prev = prev
		input = Ref{Bucket: env.Data, Key: key, ETag: obj.ETag}
	default: // download: cron tick or manual
		months, date, err := downloadMonths(ctx, env, inv)
		if err != nil {
			if IsPermanent(err) {
				return fail(res, http.StatusBadRequest, "failed", err.Error())
			}
			return failErr(res, log, err, "plan download")
		}
		run.Date, run.Months = date, months
		input = Ref{Key: fmt.Sprintf("socrata:%s..%s", months[0], months[len(months)-1])}
	}
	res.RunDate = day(run.Date)
	log = log.With("run_date", res.RunDate)

	// Done already for this input? The manifest is the truth; the tracker
	// arbitrates attempts running at the same time.
	mkey := ManifestKey(step, run.Date)
	done, _, err := readManifest(ctx, env, manifestBucket(env, step), mkey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return failErr(res, log, err, "read own manifest")
	}
	if err == nil && done.Status == "done" && done.Trigger == input.Key+"@"+input.ETag {
		res.Manifest = done
		return repairRecord(ctx, env, res, log, run.Date, step, input, done)
	}
	var claim Claim
	if env.Tracker != nil {
		c, outcome, err := env.Tracker.Begin(ctx, run.Date, step, input, Lease)
		if err != nil {
			return failErr(res, log, err, "begin run")
		}
		switch outcome {
		case AlreadyDone:
			return fail(res, http.StatusOK, "already-done", "recorded as done for this input")
		case InProgress:
			return fail(res, http.StatusServiceUnavailable, "in-progress", "another attempt is running; retry later")
		case FailedPermanently:
			return fail(res, http.StatusOK, "failed", "this input already failed permanently")
		}
		claim = c
	}

	run.m = Manifest{Step: step, RunDate: res.RunDate, Trigger: input.Key + "@" + input.ETag, CodeVersion: env.Version, Started: run.started.UTC()}
	log.Info("step started", "trigger", inv.Kind.String(), "input", input.Key)
	err = fn(ctx, run)
	if err == nil {
		run.m.Status = "done"
		run.m.Seconds = time.Since(run.started).Seconds()
		n := len(run.m.Outputs)
		if _, err = run.PutJSON(ctx, manifestBucket(env, step), mkey, &run.m); err == nil {
			run.m.Outputs = run.m.Outputs[:n] // the manifest is not its own output
		}
	}
	if err != nil {
		permanent := IsPermanent(err)
		if claim != nil {
			// The step's own error is what matters; a tracker failure here is logged.
			if ferr := claim.Fail(context.WithoutCancel(ctx), err, permanent); ferr != nil {
				log.Error("record failure", "err", ferr)
			}
		}
		if permanent {
			log.Warn("step failed permanently", "err", err, "seconds", time.Since(run.started).Seconds())
			return fail(res, http.StatusOK, "failed", err.Error())
		}
		return failErr(res, log, err, "run step")
	}
	m := run.m
	res.Manifest = &m
	if claim != nil {
		if err := claim.Finish(context.WithoutCancel(ctx), &m); err != nil {
			// Outputs and manifest are complete (the chain goes on), but the
			// record is not: 503 so the event comes back and repairRecord
			// finishes the record once the attempt's lease has expired.
			log.Error("record success", "err", err)
			return fail(res, http.StatusServiceUnavailable, "retry", "outputs written; recording the run failed; will be retried")
		}
	}
	log.Info("step done", "seconds", m.Seconds, "rows_in", m.RowsIn, "rows_out", m.RowsOut, "rejects", m.Rejects)
	res.Outcome, res.Status = "done", http.StatusOK
	return res
}

// repairRecord answers a step whose manifest already exists for this input,
// and makes sure the run-tracking tables say so: an attempt that wrote its
// manifest but could not record success left a running row; once its lease
// expires, this delivery records it as done from the manifest.
func repairRecord(ctx context.Context, env *Env, res Result, log interface {
	Error(string, ...any)
}, date time.Time, step string, input Ref, done *Manifest) Result {
	if env.Tracker == nil {
		return fail(res, http.StatusOK, "already-done", "outputs exist for this input")
	}
	c, outcome, err := env.Tracker.Begin(ctx, date, step, input, Lease)
	if err != nil {
		return failErr(res, log, err, "check run record")
	}
	switch outcome {
	case InProgress:
		return fail(res, http.StatusServiceUnavailable, "in-progress", "outputs exist; the attempt that wrote them is still recorded as running; retry later")
	case Proceed:
		if err := c.Finish(context.WithoutCancel(ctx), done); err != nil {
			return failErr(res, log, err, "repair run record")
		}
	}
	return fail(res, http.StatusOK, "already-done", "outputs exist for this input")
}

func manifestBucket(env *Env, step string) string {
	if s, _ := chain.Lookup(step); s.Bucket == chain.ModelsBucket {
		return env.Models
	}
	return env.Data
}

func readManifest(ctx context.Context, env *Env, bucket, key string) (*Manifest, store.Object, error) {
	b, obj, err := store.GetBytes(ctx, env.Store, bucket, key, 1<<20)
	if err != nil {
		return nil, obj, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, obj, &Permanent{fmt.Errorf("manifest %s: %w", key, err)}
	}
	return &m, obj, nil
}

func fail(res Result, status int, outcome, reason string) Result {
	res.Status, res.Outcome, res.Reason = status, outcome, reason
	return res
}

// failErr answers an error: permanent ones are acknowledged (200) with the
// reason, transient ones 503 so the caller (MinIO's queue) retries.
func failErr(res Result, log interface{ Error(string, ...any) }, err error, doing string) Result {
	if IsPermanent(err) {
		return fail(res, http.StatusOK, "failed", doing+": "+err.Error())
	}
	log.Error("transient failure", "doing", doing, "err", err)
	// No internal detail in the answer: the log has it.
	return fail(res, http.StatusServiceUnavailable, "retry", doing+" failed; will be retried")
}
