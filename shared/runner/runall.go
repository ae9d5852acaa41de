package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/faas"
)

// RunAll runs one run date's steps in-process, one after another, as the
// chained functions would (each through Execute, from the previous step's
// manifest): the command-line pipeline, tests and benchmarks use it. steps
// are in chain order; from and to name the first and last to run ("" for
// the first and the last). before and after (either may be nil) are called
// around each step; a step that is neither done nor already done stops the
// run with its reason.
func RunAll(ctx context.Context, env *Env, steps []Step, date time.Time, from, to string, before func(step string), after func(step string, res Result, took time.Duration)) error {
	first, last := -1, len(steps)-1
	for i, s := range steps {
		if s.Name == from || (from == "" && i == 0) {
			first = i
		}
		if s.Name == to {
			last = i
		}
	}
	if first < 0 {
		return fmt.Errorf("no step %q in the chain", from)
	}
	if to != "" && steps[last].Name != to {
		return fmt.Errorf("no step %q in the chain", to)
	}
	for _, s := range steps[first : last+1] {
		if before != nil {
			before(s.Name)
		}
		t := time.Now()
		res := Execute(ctx, env, s, Invocation{Kind: faas.Manual, Date: date})
		if after != nil {
			after(s.Name, res, time.Since(t))
		}
		if res.Outcome != "done" && res.Outcome != "already-done" {
			return fmt.Errorf("step %s: %s: %s", s.Name, res.Outcome, res.Reason)
		}
	}
	return nil
}
