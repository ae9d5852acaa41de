// Package runner gives every step of the chain the same contract: resolve
// the run a trigger starts (from the previous step's manifest, or a step's
// own plan for a cron tick or a manual call), skip work already done for the
// same input, arbitrate concurrent deliveries through the run tracker, run
// the step, write its outputs and then its manifest, record the run. The
// OpenFaaS handlers (Serve), the command-line pipeline, the tests and the
// benchmarks all call the steps through Execute.
//
// A step reads its inputs by role from the manifest that started it
// (Run.Input), writes its outputs with a role (Run.Put…), and every role it
// does not write travels on in its own manifest (Manifest.Forward): the last
// step finds what the first one fetched without knowing who made it.
package runner
