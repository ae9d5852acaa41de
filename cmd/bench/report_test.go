package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func loadFixtureResults(t *testing.T) *Results {
	t.Helper()
	var r Results
	if err := json.Unmarshal(readFixture(t, "results.json"), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestRenderMarkdownFromFixture(t *testing.T) {
	md := renderMarkdown(loadFixtureResults(t))
	for _, want := range []string{
		"# ArrestCast benchmarks",
		"| CPU | AMD EPYC 7B13, 2 cores |",
		"| Python | 3.11.2 — fastapi 0.92.0, pandas 1.5.3, xgboost 1.7.4 |",
		// Summary: chain totals, memory, predict against the seed's own numbers.
		"| whole chain, sum of step seconds (median) | 4.97 s | 139.1 s | 30.5 s | 28× faster |",
		"| whole chain, process peak memory | 268 MB | 814 MB | 814 MB | 3.04× less |",
		"| predict, 1 connection | 6200 req/s, p99 0.40 ms | 610 req/s, p99 3.90 ms | 607 req/s, p99 3.8 ms | 10× the requests/s |",
		"| scale: every step at 16× within 60 s and 1024 MB | yes |",
		// The mapped step groups.
		"| load + enrich (download+merge+enrich ↔ load+enrich) | 0.78 s | 11.5 s | 15× | 190 MB | 330 MB |",
		"| train (train ↔ train_xgboost) | 2.10 s | 52.2 s | 25× | 260 MB | 513 MB |",
		"| **total (sum of steps)** | **4.97 s** | **139.1 s** | **28×** |  |  |",
		"| roc_auc | 0.8930 | 0.",
		// Load test details, errors by kind, wrk cross-check.
		"| FastAPI (Python) | 16 | 700 | 21.50 | 32.25 | 66.00 | 198.0 | 3 (status_503 3) | – | – |",
		"| predict (Go) | 1 | 6200 | 0.15 | 0.22 | 0.40 | 1.2 | 0 | 6800 | 0.14 / 0.35 |",
		"  - answer `{\"arrest_probability\":0.12}`",
		// Scale table and plot.
		"| 16× | 4,284,672 |",
		"![seconds and peak MB per step against rows](scale.png)",
		// Micro benchmarks, and the note that they come from an earlier run.
		"| shared/prep | StratifiedSplit | 37 | 31.23 ms | 8.0 MiB | 12 |  |",
		"| shared/mi | Classif194k | 1 | 1.30 s | 2.0 KiB | 40 | 149000 rows/s |",
		"_Kept from an earlier run on 2026-11-24 17:00 UTC._",
		"- failed: ./internal/standin: exit status 1",
		"## Notes\n\n- cmd/pipeline does not exist yet",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
	// Parts measured with this run carry no "kept" note.
	if strings.Count(md, "_Kept from an earlier run") != 1 {
		t.Errorf("kept-from-earlier notes: %d, want 1 (micro only)", strings.Count(md, "_Kept from an earlier run"))
	}
	// Every table row has as many cells as its header.
	checkTables(t, md)
}

// checkTables fails when a Markdown table row's cell count differs from its
// header's.
func checkTables(t *testing.T, md string) {
	t.Helper()
	cells := func(line string) int { return strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") - 1 }
	want := 0
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		if want == 0 {
			want = cells(line)
			continue
		}
		if got := cells(line); got != want {
			t.Errorf("line %d has %d cells, its table %d: %s", i+1, got, want, line)
		}
	}
}

func TestRenderMarkdownPartialAndSkipped(t *testing.T) {
	r := loadFixtureResults(t)
	r.Predict = &PredictPart{MeasuredAt: r.Machine.Date, Skipped: "functions/predict does not exist yet"}
	r.Scale.Sizes = r.Scale.Sizes[:2]
	analyseScale(r.Scale)
	r.Micro, r.Chain = nil, nil
	md := renderMarkdown(r)
	for _, want := range []string{
		"Not run: functions/predict does not exist yet",
		"| scale: every step at 16× within 60 s and 1024 MB | not run (needs the 16× size) |",
		"The 16× size was not run (-quick or -scales)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
	for _, absent := range []string{"## Whole chain", "## Go micro-benchmarks", "predict, 1 connection"} {
		if strings.Contains(md, absent) {
			t.Errorf("results.md has %q for a part not run", absent)
		}
	}
	checkTables(t, md)
}
