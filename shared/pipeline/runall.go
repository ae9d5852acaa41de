package pipeline

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/faas"
)

// RunAll runs one run date's steps in-process, one after another, as the
// chained functions would (each step through Execute, from the previous
// step's manifest): the command-line pipeline, tests and benchmarks use it.
// from and to name the first and last steps ("" for download and train).
// before and after (either may be nil) are called around each step; a step
// that is neither done nor already done stops the run with its reason.
func RunAll(ctx context.Context, env *Env, date time.Time, from, to string, before func(step string), after func(step string, res Result, took time.Duration)) error {
	steps := chain.RunSteps()
	if to != "" && !slices.Contains(steps, to) {
		return fmt.Errorf("no step %q in the chain", to)
	}
	started := from == ""
	for _, step := range steps {
		if !started && step != from {
			continue
		}
		started = true
		if before != nil {
			before(step)
		}
		t := time.Now()
		res := Execute(ctx, env, step, Invocation{Kind: faas.Manual, Date: date})
		if after != nil {
			after(step, res, time.Since(t))
		}
		if res.Outcome != "done" && res.Outcome != "already-done" {
			return fmt.Errorf("step %s: %s: %s", step, res.Outcome, res.Reason)
		}
		if step == "download" {
			// Later steps never fetch: a source holding a loaded file lets it go.
			env.Source = nil
		}
		if step == to {
			break
		}
	}
	if !started {
		return fmt.Errorf("no step %q in the chain", from)
	}
	return nil
}
