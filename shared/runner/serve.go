package runner

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/hugeheap"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// Function is a chain step behind an OpenFaaS handler: it parses the
// trigger, checks the pipeline token, builds the step's Env and the step on
// first use (a probe works before the store or the database is reachable)
// and calls Execute.
type Function struct {
	deps  *faas.Deps
	st    chain.Step
	build func(ctx context.Context, d *faas.Deps) (Step, error)

	mu   sync.Mutex
	env  *Env
	step Step
}

// Serve is the function of a step that needs nothing but the store and the
// run tracker.
func Serve(step Step) *Function {
	return ServeWith(step.Name, func(context.Context, *faas.Deps) (Step, error) { return step, nil })
}

// ServeWith is the function of the step build makes from the function's
// dependencies (download: the portal client; train: the model registry).
func ServeWith(name string, build func(ctx context.Context, d *faas.Deps) (Step, error)) *Function {
	hugeheap.Enable() // a step is a burst of fresh memory: see platform/hugeheap
	return NewFunction(faas.NewDeps(name, config.Environment()), build)
}

// NewFunction is ServeWith over given dependencies (tests).
func NewFunction(d *faas.Deps, build func(ctx context.Context, d *faas.Deps) (Step, error)) *Function {
	return &Function{deps: d, st: chain.MustLookup(d.Name), build: build}
}

// Deps are the function's dependencies.
func (f *Function) Deps() *faas.Deps { return f.deps }

// Handle answers one call.
func (f *Function) Handle(req handler.Request) handler.Response {
	tr, perr := faas.Parse(req)
	if perr != nil {
		return faas.Fail(perr)
	}
	if tr.Kind == faas.Probe {
		return faas.Probed(f.st.Name)
	}
	if tr.Kind != faas.Cron || !f.st.Cronned() {
		if err := faas.CheckToken(f.deps.Config, req.Header); err != nil {
			return faas.Fail(err)
		}
	}
	if tr.Kind == faas.Cron && !f.st.Cronned() {
		return faas.Fail(&faas.Error{Status: http.StatusBadRequest, Message: "this step does not run on the cron trigger"})
	}
	if tr.Kind == faas.Event {
		// Acknowledged unread, so MinIO does not retry an event for another key.
		if role, ok := f.deps.Settings().Store.Buckets.Role(tr.Bucket); !ok || !f.st.Matches(role, tr.Key) {
			return faas.JSON(http.StatusOK, Result{Step: f.st.Name, Outcome: "ignored", Reason: "not a key this step listens to"})
		}
	}
	ctx := faas.Context(req)
	env, step, err := f.Connect(ctx)
	if err != nil {
		f.deps.Log.Error("connect", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "store or database unavailable; retry"})
	}
	res := Execute(ctx, env, step, Invocation{Kind: tr.Kind, Bucket: tr.Bucket, Key: tr.Key, ETag: tr.ETag, Date: tr.AsOf, From: tr.From, To: tr.To})
	return faas.JSON(res.Status, res)
}

// Connect builds the Env and the step once; a failure is tried again on
// the next call.
func (f *Function) Connect(ctx context.Context) (*Env, Step, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.env != nil {
		return f.env, f.step, nil
	}
	st, err := f.deps.Store(ctx)
	if err != nil {
		return nil, Step{}, err
	}
	db, err := f.deps.DB(ctx)
	if err != nil {
		return nil, Step{}, err
	}
	s := f.deps.Settings()
	tr := runs.New(db, runs.Options{CodeVersion: s.Version, Logger: f.deps.Log})
	if err := tr.Migrate(ctx); err != nil {
		return nil, Step{}, fmt.Errorf("run tracking: %w", err)
	}
	step, err := f.build(ctx, f.deps)
	if err != nil {
		return nil, Step{}, fmt.Errorf("build step %s: %w", f.st.Name, err)
	}
	f.env = &Env{Store: st, Buckets: s.Store.Buckets, Tracker: tr, Log: f.deps.Log, Version: s.Version}
	f.step = step
	return f.env, f.step, nil
}

// Prepared is a Function over an Env and a step built elsewhere: tests give
// it a store that fails on cue.
func Prepared(d *faas.Deps, env *Env, step Step) *Function {
	return &Function{deps: d, st: chain.MustLookup(step.Name), env: env, step: step}
}
