//go:build integration

package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// The monitor is recorded with the run it watches but never changes the
// run's status: starting after the run is done does not reopen it, failing
// does not fail it, and a run whose step fails while the monitor still
// works is failed all the same.
func TestObserverLeavesTheRunAlone(t *testing.T) {
	ctx := context.Background()
	_, _, tr := setup(t, runs.Options{CodeVersion: "t"})
	status := func(d time.Time) runs.Status {
		t.Helper()
		st, err := tr.Status(ctx, 12)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range st {
			if p.RunDate.Equal(d) {
				return p.Status
			}
		}
		t.Fatalf("no run %s", d)
		return ""
	}
	for _, step := range []string{chain.Download, chain.Train} {
		r := begin(t, tr, jan, step, inputs(step), time.Minute, runs.Started)
		if err := tr.Finish(ctx, r, runs.Stats{}); err != nil {
			t.Fatal(err)
		}
	}
	if s := status(jan); s != runs.Done {
		t.Fatalf("after train: %s", s)
	}
	m := begin(t, tr, jan, chain.Monitor, inputs("m"), time.Minute, runs.Started)
	if s := status(jan); s != runs.Done {
		t.Errorf("the monitor reopened a done run: %s", s)
	}
	if err := tr.Fail(ctx, m, errors.New("no such month"), true); err != nil {
		t.Fatal(err)
	}
	if s := status(jan); s != runs.Done {
		t.Errorf("the monitor's failure failed the run: %s", s)
	}

	// February: the monitor starts first (it and merge start on the same
	// manifest), merge fails while the monitor still works.
	dl := begin(t, tr, feb, chain.Download, inputs("d2"), time.Minute, runs.Started)
	if err := tr.Finish(ctx, dl, runs.Stats{}); err != nil {
		t.Fatal(err)
	}
	mon := begin(t, tr, feb, chain.Monitor, inputs("m2"), time.Minute, runs.Started)
	merge := begin(t, tr, feb, chain.Merge, inputs("g2"), time.Minute, runs.Started)
	if err := tr.Fail(ctx, merge, errors.New("bad window"), true); err != nil {
		t.Fatal(err)
	}
	if s := status(feb); s != runs.Failed {
		t.Errorf("merge failed while the monitor ran: run %s, want failed", s)
	}
	if err := tr.Finish(ctx, mon, runs.Stats{}); err != nil {
		t.Fatal(err)
	}
	if s := status(feb); s != runs.Failed {
		t.Errorf("the monitor's success changed a failed run: %s", s)
	}
}
