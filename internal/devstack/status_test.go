package devstack

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/steps/monitor"
)

type fakeRuns []Run

func (f fakeRuns) Status(_ context.Context, limit int) ([]Run, error) {
	if limit > 0 && limit < len(f) {
		return f[:limit], nil
	}
	return f, nil
}

// TestStatusShowsStuckRunsFirst (issue 15, item 4): every unfinished or
// failed run is shown, however old, before the newest finished ones; -runs
// changes how many of those.
func TestStatusShowsStuckRunsFirst(t *testing.T) {
	var all fakeRuns
	for m := 12; m >= 1; m-- { // newest first: 2018-12 ... 2018-01
		r := Run{RunDate: fmt.Sprintf("2018-%02d-01", m), Status: "done",
			Steps: []StepRun{{Step: "download", Status: "done"}, {Step: "train", Status: "done"}}}
		switch m {
		case 2:
			r.Status, r.Steps[1] = "failed", StepRun{Step: "train", Status: "failed", Error: "boom", Permanent: true}
		case 1:
			r.Status, r.Steps[1] = "running", StepRun{Step: "train", Status: "running"}
		case 9:
			r.Status = "stalled" // whatever the tracker calls a run that is not done
		}
		all = append(all, r)
	}
	open, newest := SelectRuns(all, 5)
	var got []string
	for _, r := range open {
		got = append(got, r.RunDate)
	}
	if strings.Join(got, " ") != "2018-09-01 2018-02-01 2018-01-01" {
		t.Errorf("open runs %v", got)
	}
	if len(newest) != 5 || newest[0].RunDate != "2018-12-01" || newest[4].RunDate != "2018-07-01" {
		t.Errorf("newest %+v", newest)
	}

	c := &Config{Dev: t.TempDir(), PostgresPort: 5433}
	if err := writeJSONFile(c.Path("stack.json"), StackState{Started: time.Now(), Runtime: "test"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Status(t.Context(), c, &out, StatusOptions{Runs: 2, Tracker: all}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	i1, i2, i3 := strings.Index(s, "run 2018-01-01: running"), strings.Index(s, "run 2018-02-01: failed"), strings.Index(s, "run 2018-12-01: done")
	if i1 < 0 || i2 < 0 || i3 < 0 || i3 < i1 || i3 < i2 || !strings.Contains(s, "[permanent] boom") {
		t.Errorf("status output:\n%s", s)
	}
	if strings.Contains(s, "run 2018-10-01") || !strings.Contains(s, "run 2018-11-01: done") {
		t.Errorf("-runs 2 shows the 2 newest finished runs:\n%s", s)
	}

	// The monitor's line: its newest month's verdict and alerts.
	auc, test := 0.861, 0.912
	latest := &monitor.Summary{Month: "2018-11", ModelVersion: 4, Verdict: "alert", Volume: 6903, WorstField: "primary_type",
		TestROCAUC: &test, Realized: &monitor.Realized{ROCAUC: &auc}, ComputedAt: time.Now(),
		Alerts: []monitor.Note{{Kind: "volume", Message: "6903 records, 30% of the usual 23010 (median of 6 months)"}}}
	out.Reset()
	if err := Status(t.Context(), c, &out, StatusOptions{Runs: 2, Tracker: all, Monitor: monitorFunc(func() *monitor.Summary { return latest })}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "monitor: 2018-11 ALERT (model v4, 6903 records, ROC-AUC 0.861 vs test 0.912, worst field primary_type") ||
		!strings.Contains(s, "\n  volume: 6903 records, 30% of the usual") {
		t.Errorf("monitor line:\n%s", s)
	}
	if got := MonitorLine(nil); !strings.HasPrefix(got, "monitor: no report yet") {
		t.Errorf("before any report: %q", got)
	}
}

type monitorFunc func() *monitor.Summary

func (f monitorFunc) Latest(context.Context) (*monitor.Summary, error) { return f(), nil }
