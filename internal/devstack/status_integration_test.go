//go:build integration

package devstack

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/testenv"
	pgpool "github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// TestRunsStatusReadsTheTracker records step runs with shared/platform/runs' Tracker
// and reads them back through RunsStatus, as `make status` and the demo do.
func TestRunsStatusReadsTheTracker(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := t.Context()

	// Before any function migrated the schema: no runs, no error.
	got, err := RunsStatus{URL: pg.URL}.Status(ctx, 5)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty database: %v %v", got, err)
	}

	pool, err := pgpool.Open(ctx, pg.URL, pgpool.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tr := runs.New(pool, runs.Options{CodeVersion: "test"})
	if err := tr.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []struct {
		step    string
		in, out int64
		fail    string
	}{{"download", 0, 240000, ""}, {"merge", 240000, 239000, ""}, {"enrich", 239000, 236000, "boom"}} {
		run, outcome, err := tr.Begin(ctx, date, s.step, []runs.Ref{{Bucket: "data", Key: s.step + "/in", ETag: "e"}}, time.Minute)
		if err != nil || outcome != runs.Started {
			t.Fatalf("begin %s: %v %v", s.step, outcome, err)
		}
		if s.fail != "" {
			if err := tr.Fail(ctx, run, errString(s.fail), false); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := tr.Finish(ctx, run, runs.Stats{RowsIn: s.in, RowsOut: s.out}); err != nil {
			t.Fatal(err)
		}
	}
	got, err = RunsStatus{URL: pg.URL}.Status(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RunDate != "2017-12-01" || len(got[0].Steps) != 3 {
		t.Fatalf("runs %+v", got)
	}
	steps := got[0].Steps
	if steps[0].Step != "download" || steps[0].Status != "done" || steps[0].RowsOut != 240000 ||
		steps[1].Step != "merge" || steps[1].RowsIn != 240000 || steps[2].Status != "failed" || !strings.Contains(steps[2].Error, "boom") {
		t.Errorf("steps %+v", steps)
	}
	// make status reads every run (the tracker's own default stops at 12).
	for m := 1; m <= 13; m++ {
		d := time.Date(2019, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		run, _, err := tr.Begin(ctx, d, "download", []runs.Ref{{Bucket: "data", Key: "in", ETag: "e"}}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Finish(ctx, run, runs.Stats{}); err != nil {
			t.Fatal(err)
		}
	}
	if every, err := (RunsStatus{URL: pg.URL}).Status(ctx, 0); err != nil || len(every) != 14 || every[13].RunDate != "2017-12-01" {
		t.Errorf("every run: %d %v", len(every), err)
	}
	var out bytes.Buffer
	PrintRuns(&out, got)
	if !strings.Contains(out.String(), "merge") || !strings.Contains(out.String(), "239000") {
		t.Errorf("printed:\n%s", out.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestDemoStopsOnTheTrackersStalledAndFailedRuns: the statuses the tracker
// derives (a run whose chain stopped StallAfter ago is stalled; a transient
// failure not redelivered) make runStopped end the demo's wait, naming the
// run and step; a fresh transient failure does not.
func TestDemoStopsOnTheTrackersStalledAndFailedRuns(t *testing.T) {
	pg := testenv.Postgres(t)
	ctx := t.Context()
	pool, err := pgpool.Open(ctx, pg.URL, pgpool.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tr := runs.New(pool, runs.Options{CodeVersion: "test"})
	if err := tr.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ref := []runs.Ref{{Bucket: "data", Key: "in", ETag: "e"}}
	stalled, failed := time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	run, _, err := tr.Begin(ctx, stalled, "download", ref, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Finish(ctx, run, runs.Stats{}); err != nil {
		t.Fatal(err)
	}
	run, _, err = tr.Begin(ctx, failed, "download", ref, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Fail(ctx, run, errString("socrata timed out"), false); err != nil {
		t.Fatal(err)
	}
	read := func() map[string]Run {
		t.Helper()
		all, err := RunsStatus{URL: pg.URL}.Status(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]Run{}
		for _, r := range all {
			out[r.RunDate] = r
		}
		return out
	}
	got := read()
	for _, d := range []string{"2017-12-01", "2018-01-01"} {
		if err := runStopped(got[d], time.Now()); err != nil {
			t.Errorf("run %s (%s) just now: %v, want to keep waiting", d, got[d].Status, err)
		}
	}
	// As if the steps had finished long ago.
	if _, err := pool.Exec(ctx, `UPDATE step_runs SET started_at = started_at - interval '1 hour', finished_at = finished_at - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	got = read()
	if r := got["2017-12-01"]; r.Status != string(runs.Stalled) {
		t.Fatalf("run 2017-12-01: %+v, want stalled", r)
	}
	err = runStopped(got["2017-12-01"], time.Now())
	if err == nil || !strings.Contains(err.Error(), "run 2017-12-01 stalled: step merge never started") {
		t.Errorf("stalled run: %v", err)
	}
	err = runStopped(got["2018-01-01"], time.Now())
	if err == nil || !strings.Contains(err.Error(), "step download of run 2018-01-01 failed and was not retried") || !strings.Contains(err.Error(), "socrata timed out") {
		t.Errorf("failed run (%s): %v", got["2018-01-01"].Status, err)
	}
}
