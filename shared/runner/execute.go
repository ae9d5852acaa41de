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
	x := &execution{env: env, step: step, inv: inv, res: Result{Step: step.Name},
		log: env.Logger().With("step", step.Name), run: &Run{Env: env, Step: st, started: time.Now()}}
	if !x.resolve(ctx) {
		return x.res
	}
	x.res.RunDate = chain.Day(x.run.Date)
	x.log = x.log.With("run_date", x.res.RunDate)
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
	res   Result
	log   *slog.Logger
}

// answer sets the result's status, outcome and reason.
func (x *execution) answer(status int, outcome, reason string) {
	x.res.Status, x.res.Outcome, x.res.Reason = status, outcome, reason
}

// answerErr answers an error: permanent ones are acknowledged (200) with the
// reason, transient ones 503 so the caller (MinIO's queue) retries.
func (x *execution) answerErr(err error, doing string) {
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
		prev, obj, err := readManifest(ctx, env.Store, inv.Bucket, inv.Key)
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
		x.run.Date, x.run.Prev, x.input = d, prev, obj.Ref()
	case st.Trigger == chain.Event:
		if inv.Date.IsZero() {
			x.answer(http.StatusBadRequest, "failed", `as_of is required: {"as_of":"YYYY-MM-DD"}`)
			return false
		}
		after := chain.MustLookup(st.After)
		bucket, key := env.Buckets.Name(after.Bucket), chain.ManifestKey(after.Name, inv.Date)
		prev, obj, err := readManifest(ctx, env.Store, bucket, key)
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
		x.run.Date, x.run.Prev, x.input = inv.Date, prev, obj.Ref()
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
	default:
		x.answer(http.StatusBadRequest, "failed", "this step is not started this way")
		return false
	}
	return true
}

// trigger is the idempotency key a manifest carries: what started it.
func (x *execution) trigger() string { return x.input.Key + "@" + x.input.ETag }

// manifestAt is where this run's manifest goes.
func (x *execution) manifestAt() (bucket, key string) {
	return x.env.Buckets.Name(x.run.Step.Bucket), chain.ManifestKey(x.run.Step.Name, x.run.Date)
}

// alreadyDone answers a run whose manifest already exists for this input.
// The manifest is the truth; the tracker arbitrates attempts running at the
// same time.
func (x *execution) alreadyDone(ctx context.Context) bool {
	bucket, key := x.manifestAt()
	done, _, err := readManifest(ctx, x.env.Store, bucket, key)
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
	r.m = Manifest{Step: r.Step.Name, RunDate: x.res.RunDate, Trigger: x.trigger(), CodeVersion: x.env.Version, Started: r.started.UTC()}
	x.log.Info("step started", "trigger", x.inv.Kind.String(), "input", x.input.Key)
	err := x.step.Run(ctx, r)
	if err == nil {
		err = x.writeManifest(ctx)
	}
	if err != nil {
		permanent := IsPermanent(err)
		if claim != nil {
			// The step's own error is what matters; a tracker failure here is logged.
			if ferr := x.env.Tracker.Fail(context.WithoutCancel(ctx), claim, err, permanent); ferr != nil {
				x.log.Error("record failure", "err", ferr)
			}
		}
		if permanent {
			x.log.Warn("step failed permanently", "err", err, "seconds", time.Since(r.started).Seconds())
			x.answer(http.StatusOK, "failed", err.Error())
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
func readManifest(ctx context.Context, st store.Store, bucket, key string) (*Manifest, store.Object, error) {
	b, obj, err := store.GetBytes(ctx, st, bucket, key, 1<<20)
	if err != nil {
		return nil, obj, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, obj, &Permanent{fmt.Errorf("manifest %s: %w", key, err)}
	}
	return &m, obj, nil
}
