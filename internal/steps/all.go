// Package steps is every step of the chain, in order, for the command-line
// pipeline, the benchmarks and the tests (each function imports its own
// step's package only, so it links nothing of the others), and the
// integration tests of the whole chain over a real MinIO and PostgreSQL.
package steps

import (
	"fmt"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/balance"
	"github.com/arrestcast/arrestcast/shared/steps/download"
	"github.com/arrestcast/arrestcast/shared/steps/encode"
	"github.com/arrestcast/arrestcast/shared/steps/enrich"
	"github.com/arrestcast/arrestcast/shared/steps/features"
	"github.com/arrestcast/arrestcast/shared/steps/merge"
	"github.com/arrestcast/arrestcast/shared/steps/monitor"
	"github.com/arrestcast/arrestcast/shared/steps/outliers"
	"github.com/arrestcast/arrestcast/shared/steps/scale"
	"github.com/arrestcast/arrestcast/shared/steps/split"
	"github.com/arrestcast/arrestcast/shared/steps/train"
)

// Options are what the steps that need more than the store are built with.
type Options struct {
	Source   download.Source
	Download download.Options
	Train    train.Options
	Monitor  monitor.Options
}

// All are the chain's run steps (chain.RunSteps), in order.
func All(o Options) []runner.Step {
	steps := []runner.Step{download.New(o.Source, o.Download), merge.Step, enrich.Step, split.Step, outliers.Step,
		encode.Step, scale.Step, balance.Step, features.Step, train.New(o.Train), monitor.New(o.Monitor)}
	want := chain.RunSteps()
	if len(want) != len(steps) {
		panic(fmt.Sprintf("steps: %d steps, the chain table has %d", len(steps), len(want)))
	}
	for i, s := range want {
		if steps[i].Name != s.Name {
			panic(fmt.Sprintf("steps: step %d is %s, the chain table says %s", i, steps[i].Name, s.Name))
		}
	}
	return steps
}

// Find is the step called name among steps.
func Find(steps []runner.Step, name string) (runner.Step, bool) {
	for _, s := range steps {
		if s.Name == name {
			return s, true
		}
	}
	return runner.Step{}, false
}
