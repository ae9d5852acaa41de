//go:build integration

package steps_test

import (
	"os"
	"testing"

	"github.com/arrestcast/arrestcast/internal/testenv"
)

// TestMain stops the shared test servers at the end, and is also the life
// of BenchmarkStepsMinIO's child processes (one step each).
func TestMain(m *testing.M) {
	if spec := os.Getenv(stepProcessEnv); spec != "" {
		os.Exit(runStepProcess(spec))
	}
	os.Exit(testenv.Main(m))
}
