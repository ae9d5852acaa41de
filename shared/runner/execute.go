package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Execute runs step for the invocation with the chain's guarantees: an event
// for another key is ignored; work already done for the same input is not
// redone; a transient failure answers 503 so MinIO retries; a permanent one is
// recorded and acknowledged.
func Execute(ctx context.Context, env *Env, step Step, inv Invocation) Result {
	st, ok := chain.Lookup(step.Name)
	if !ok {
		return Result{Step: step.Name, Status: http.StatusNotFound, Outcome: "ignored", Reason: "no such step"}
	}
	if step.Batch != nil && inv.Kind == faas.Manual {
		if res, ok := step.Batch(ctx, env, inv); ok {
			return res
		}
	}
	x := &execution{env: env, step: step, inv: inv, res: Result{Step: step.Name},
		log: env.Logger().With("step", step.Name), run: &Run{Env: env, Step: st, started: time.Now()}}
	if !x.resolve(ctx) {
		return x.res
	}
	x.res.RunDate = chain.Day(x.run.Date)
	x.log = x.log.With("run_date", x.res.RunDate)
	if x.superseded(ctx) {
		return x.res
	}
	if x.alreadyDone(ctx) {
		return x.res
	}
	claim, ok := x.claim(ctx)
	if !ok {
		return x.res
	}
	return x.perform(ctx, claim)
}

// execution is one Execute call, kept apart by concern: resolve the run,
// skip it if done, claim it, perform it.
type execution struct {
	env   *Env
	step  Step
	inv   Invocation
	run   *Run
	input store.Ref // the run's identity: the triggering manifest, or the plan's input
	// generation is the run's generation (Manifest.Generation).
	generation string
	res        Result
	log        *slog.Logger
}

// answer sets the result's status, outcome and reason.
func (x *execution) answer(status int, outcome, reason string) {
	x.res.Status, x.res.Outcome, x.res.Reason = status, outcome, reason
}

// answerErr answers an error: a refused request 400 naming the field;
// permanent ones and superseded runs are acknowledged (200) with the
// reason, transient ones 503 so the caller (MinIO's queue) retries.
func (x *execution) answerErr(err error, doing string) {
	var refused *Refused
	switch {
	case errors.As(err, &refused):
		x.answer(http.StatusBadRequest, "refused", refused.Message)
		x.res.Field = refused.Field
		return
	case errors.Is(err, ErrSuperseded):
		x.log.Info("superseded", "doing", doing, "err", err)
		x.answer(http.StatusOK, "superseded", err.Error())
		return
	}
	if IsPermanent(err) {
		x.answer(http.StatusOK, "failed", doing+": "+err.Error())
		return
	}
	x.log.Error("transient failure", "doing", doing, "err", err)
	// No internal detail in the answer: the log has it.
	x.answer(http.StatusServiceUnavailable, "retry", doing+" failed; will be retried")
}

// resolve finds the run date and the triggering manifest (or the plan);
// false when the call stops here with x.res answered.
func (x *execution) resolve(ctx context.Context) bool {
	st, env, inv := x.run.Step, x.env, x.inv
	switch {
	case inv.Kind == faas.Event:
		role, known := env.Buckets.Role(inv.Bucket)
		if st.Trigger != chain.Event || !known || !st.Matches(role, inv.Key) {
			x.log.Info("event ignored", "bucket", inv.Bucket, "key", inv.Key)
			x.answer(http.StatusOK, "ignored", "not a key this step listens to")
			return false
		}
		prev, obj, err := readManifest(ctx, env.Store, store.Ref{Bucket: inv.Bucket, Key: inv.Key, VersionID: inv.Version})
		if errors.Is(err, store.ErrNotFound) {
			// No such object (a stale or forged event): no redelivery will
			// find it either, so it is acknowledged rather than retried forever.
			x.log.Warn("event for a missing object", "bucket", inv.Bucket, "key", inv.Key)
			x.answer(http.StatusOK, "ignored", "triggering manifest does not exist")
			return false
		}
		if err != nil {
			x.answerErr(err, "read triggering manifest")
			return false
		}
		if prev.Status != "done" {
			x.answer(http.StatusOK, "ignored", "previous step did not finish: "+prev.Error)
			return false
		}
		d, err := chain.ParseRunDate(prev.RunDate)
		if err != nil {
			x.answer(http.StatusOK, "ignored", "triggering manifest has no run date")
			return false
		}
		x.run.Date, x.run.Prev, x.input, x.generation = d, prev, obj.Ref(), prev.Generation
	case st.Trigger == chain.Event:
		if inv.Date.IsZero() {
			x.answer(http.StatusBadRequest, "failed", `as_of is required: {"as_of":"YYYY-MM-DD"}`)
			return false
		}
		after := chain.MustLookup(st.After)
		bucket, key := env.Buckets.Name(after.Bucket), chain.ManifestKey(after.Name, inv.Date)
		prev, obj, err := readManifest(ctx, env.Store, store.At(bucket, key))
		if errors.Is(err, store.ErrNotFound) {
			x.answer(http.StatusConflict, "failed", fmt.Sprintf("step %s has not run for %s", after.Name, chain.Day(inv.Date)))
			return false
		}
		if err != nil {
			x.answerErr(err, "read previous manifest")
			return false
		}
		if prev.Status != "done" {
			x.answer(http.StatusConflict, "failed", "previous step did not finish")
			return false
		}
		x.run.Date, x.run.Prev, x.input, x.generation = inv.Date, prev, obj.Ref(), prev.Generation
	case x.step.Plan != nil:
		p, err := x.step.Plan(ctx, env, inv)
		if err != nil {
			if IsPermanent(err) {
				x.answer(http.StatusBadRequest, "failed", err.Error())
			} else {
				x.answerErr(err, "plan "+st.Name)
			}
			return false
		}
		x.run.Date, x.run.Plan, x.input = p.Date, p, p.Input
		x.generation = p.Input.Key
	default:
		x.answer(http.StatusBadRequest, "failed", "this step is not started this way")
		return false
	}
	return true
}

// trigger is the idempotency key a manifest carries: what started it.
func (x *execution) trigger() string {
	if x.input.VersionID != "" {
		return x.input.Key + "@" + x.input.VersionID + "/" + x.input.ETag
	}
	return x.input.Key + "@" + x.input.ETag
}

// superseded answers a run whose generation is no longer its date's newest:
// a backfill began a newer one, whose steps run instead. Only evented steps
// are checked: the first step begins generations.
func (x *execution) superseded(ctx context.Context) bool {
	if err := x.current(ctx); err != nil {
		x.answerErr(err, "check generation")
		return true
	}
	return false
}

// current fails with ErrSuperseded when the latest manifest of the run's
// first step names another generation than this run's.
func (x *execution) current(ctx context.Context) error {
	if x.run.Prev == nil {
		return nil
	}
	first := chain.RunSteps()[0]
	m, _, err := readManifest(ctx, x.env.Store, store.At(x.env.Buckets.Name(first.Bucket), chain.ManifestKey(first.Name, x.run.Date)))
	if errors.Is(err, store.ErrNotFound) {
		return nil // tests that start a step by hand
	}
	if err != nil {
		return err
	}
	if m.Generation != x.generation {
		return fmt.Errorf("%w: generation %q, the date's newest is %q", ErrSuperseded, x.generation, m.Generation)
	}
	return nil
}

// manifestAt is where this run's manifest goes.
func (x *execution) manifestAt() (bucket, key string) {
	return x.env.Buckets.Name(x.run.Step.Bucket), chain.ManifestKey(x.run.Step.Name, x.run.Date)
}

// alreadyDone answers a run whose manifest already exists for this input.
// The manifest is the truth; the tracker arbitrates attempts running at the
// same time.
func (x *execution) alreadyDone(ctx context.Context) bool {
	bucket, key := x.manifestAt()
	done, _, err := readManifest(ctx, x.env.Store, store.At(bucket, key))
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		x.answerErr(err, "read own manifest")
		return true
	}
	if done.Status != "done" || done.Trigger != x.trigger() {
		return false
	}
	x.res.Manifest = done
	x.repairRecord(ctx, done)
	return true
}

// repairRecord makes sure the run-tracking tables say a run with a manifest
// is done: an attempt that wrote its manifest but could not record success
// left a running row; once its lease expires, this delivery records it as
// done from the manifest.
func (x *execution) repairRecord(ctx context.Context, done *Manifest) {
	if x.env.Tracker == nil {
		x.answer(http.StatusOK, "already-done", "outputs exist for this input")
		return
	}
	run, outcome, err := x.env.Tracker.Begin(ctx, x.run.Date, x.run.Step.Name, []store.Ref{x.input}, x.env.lease())
	if err != nil {
		x.answerErr(err, "check run record")
		return
	}
	switch outcome {
	case runs.InProgress:
		x.answer(http.StatusServiceUnavailable, "in-progress", "outputs exist; the attempt that wrote them is still recorded as running; retry later")
		return
	case runs.Started:
		if err := x.env.Tracker.Finish(context.WithoutCancel(ctx), run, stats(done)); err != nil {
			x.answerErr(err, "repair run record")
			return
		}
	}
	x.answer(http.StatusOK, "already-done", "outputs exist for this input")
}

// claim records a new attempt with the tracker; false when another attempt
// or an earlier outcome stands (x.res answered).
func (x *execution) claim(ctx context.Context) (*runs.StepRun, bool) {
	if x.env.Tracker == nil {
		return nil, true
	}
	run, outcome, err := x.env.Tracker.Begin(ctx, x.run.Date, x.run.Step.Name, []store.Ref{x.input}, x.env.lease())
	if err != nil {
		x.answerErr(err, "begin run")
		return nil, false
	}
	switch outcome {
	case runs.AlreadyDone:
		x.answer(http.StatusOK, "already-done", "recorded as done for this input")
		return nil, false
	case runs.InProgress:
		x.answer(http.StatusServiceUnavailable, "in-progress", "another attempt is running; retry later")
		return nil, false
	case runs.FailedPermanently:
		x.answer(http.StatusOK, "failed", "this input already failed permanently")
		return nil, false
	}
	return run, true
}

// perform runs the step, writes its manifest last and records the outcome.
func (x *execution) perform(ctx context.Context, claim *runs.StepRun) Result {
	r := x.run
	r.m = Manifest{Step: r.Step.Name, RunDate: x.res.RunDate, Trigger: x.trigger(), Generation: x.generation,
		CodeVersion: x.env.Version, Started: r.started.UTC()}
	x.log.Info("step started", "trigger", x.inv.Kind.String(), "input", x.input.Key)
	err := x.work(ctx, claim)
	if err == nil {
		err = x.current(ctx) // a newer generation began while this one worked: its manifest would start stale work
	}
	if err == nil {
		err = x.writeManifest(ctx)
	}
	if err != nil {
		permanent := IsPermanent(err)
		if claim != nil {
			// The step's own error is what matters; a tracker failure here is logged.
			rec := func() error { return x.env.Tracker.Fail(context.WithoutCancel(ctx), claim, err, permanent) }
			if errors.Is(err, ErrSuperseded) || errors.Is(err, errLeaseLost) {
				rec = func() error { return x.env.Tracker.Abandon(context.WithoutCancel(ctx), claim, err.Error()) }
			}
			if ferr := rec(); ferr != nil {
				x.log.Error("record failure", "err", ferr)
			}
		}
		if permanent {
			x.log.Warn("step failed permanently", "err", err, "seconds", time.Since(r.started).Seconds())
			x.answer(http.StatusOK, "failed", err.Error())
			return x.res
		}
		if errors.Is(err, errLeaseLost) {
			x.answer(http.StatusOK, "superseded", "another attempt took the run over")
			return x.res
		}
		x.answerErr(err, "run step")
		return x.res
	}
	m := r.m
	x.res.Manifest = &m
	if claim != nil {
		if err := x.env.Tracker.Finish(context.WithoutCancel(ctx), claim, stats(&m)); err != nil {
			// Outputs and manifest are complete (the chain goes on), but the
			// record is not: 503 so the event comes back and repairRecord
			// finishes the record once the attempt's lease has expired.
			x.log.Error("record success", "err", err)
			x.answer(http.StatusServiceUnavailable, "retry", "outputs written; recording the run failed; will be retried")
			return x.res
		}
	}
	x.log.Info("step done", "seconds", m.Seconds, "rows_in", m.RowsIn, "rows_out", m.RowsOut, "rejects", m.Rejects)
	x.answer(http.StatusOK, "done", "")
	return x.res
}

// errLeaseLost ends a step whose attempt lost its lease to another one.
var errLeaseLost = errors.New("the attempt's lease was taken over")

// work runs the step, renewing the attempt's lease while it works: a
// crashed attempt is taken over once its short lease runs out, a live one
// never is. An attempt that finds its lease taken stops.
func (x *execution) work(ctx context.Context, claim *runs.StepRun) error {
	if claim == nil {
		return x.step.Run(ctx, x.run)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := x.env.Tracker.KeepAlive(ctx, claim, x.env.lease(), func(err error) {
		x.log.Warn("lease lost to another attempt: stopping", "err", err)
		cancel(errLeaseLost)
	})
	err := x.step.Run(ctx, x.run)
	stop()
	if cause := context.Cause(ctx); errors.Is(cause, errLeaseLost) {
		return errLeaseLost
	}
	return err
}

// writeManifest completes the manifest (status, seconds, what it hands on)
// and writes it: last, so its presence means every output is there.
func (x *execution) writeManifest(ctx context.Context) error {
	r := x.run
	r.m.Status = "done"
	r.m.Seconds = time.Since(r.started).Seconds()
	r.m.Forward = forward(r.Prev, &r.m)
	b, err := json.MarshalIndent(&r.m, "", " ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	_, key := x.manifestAt()
	_, err = r.put(ctx, key, bytes.NewReader(b), int64(len(b)), "application/json")
	return err
}

// stats is what the tracker records of a finished run.
func stats(m *Manifest) runs.Stats {
	st := runs.Stats{RowsIn: m.RowsIn, RowsOut: m.RowsOut, Rejects: m.Rejects}
	for _, o := range m.Outputs {
		st.Outputs = append(st.Outputs, o.Ref)
	}
	return st
}

// readManifest reads and decodes a manifest (at most 1 MiB).
func readManifest(ctx context.Context, st store.Store, ref store.Ref) (*Manifest, store.Object, error) {
	b, obj, err := store.ReadAll(ctx, st, ref, 1<<20)
	if err != nil {
		return nil, obj, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, obj, &Permanent{fmt.Errorf("manifest %s: %w", ref.Key, err)}
	}
	return &m, obj, nil
}
