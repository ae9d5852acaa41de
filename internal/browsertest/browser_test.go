//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/dashboard"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/predict"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The run dates of the chain the pages show: seven monthly runs that train
// (the first on the year's first half), each after the first monitored by
// the champion of the month before, and one with no new month to fetch (the
// bundled data ends in 2017).
var runDates = []string{"2017-07-01", "2017-08-01", "2017-09-01", "2017-10-01", "2017-11-01", "2017-12-01", "2018-01-01", "2018-02-01"}

// shotRun is the run date of the run page's screenshot.
const shotRun = "2018-01-01"

// page is one page run.mjs visits.
type page struct {
	Name        string         `json:"name"`
	URL         string         `json:"url"`
	Status      int            `json:"status,omitempty"`
	H1          string         `json:"h1,omitempty"`
	Shot        string         `json:"shot,omitempty"`
	Points      map[string]int `json:"points,omitempty"` // selector of a polyline -> stored points
	Counts      map[string]int `json:"counts,omitempty"` // selector -> elements
	Texts       []string       `json:"texts,omitempty"`
	RunExamples bool           `json:"runExamples,omitempty"`
	SortBy      string         `json:"sortBy,omitempty"`
	MaxHeight   int            `json:"maxHeight,omitempty"` // the screenshot's, in pixels (0: the whole page)
}

type click struct {
	Selector string `json:"selector"`
	H1       string `json:"h1"`
}

type plan struct {
	Chromium string  `json:"chromium"`
	Shots    string  `json:"shots"`
	Report   string  `json:"report"`
	Start    string  `json:"start"`
	Pages    []page  `json:"pages"`
	Clicks   []click `json:"clicks"`
}

// TestBrowser runs the chain into a real PostgreSQL, serves the dashboard
// and predict on 127.0.0.1 as the gateway would, and has Chromium visit
// every page (run.mjs): each answers without a console error, requests
// nothing outside 127.0.0.1, draws exactly the stored points, and links
// only to pages that answer; predict's docs examples run. The screenshots
// land in docs/screenshots/.
func TestBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		testenv.Unavailable(t, "Chromium is needed ("+chromium+"): make test-browser installs Debian's chromium")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "node is needed: apt-get install nodejs npm")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		testenv.Unavailable(t, "playwright-core is needed: npm ci in internal/browsertest (make test-browser does it)")
	}
	crimes := repo.Need(t, repo.Crimes2017)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	pg := testenv.Postgres(t)
	dir := t.TempDir()
	slice := filepath.Join(dir, "crimes.csv")
	if err := Thin(crimes, slice, 8); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ch, err := RunChain(ctx, pg.URL, dir, slice, repo.Need(t, repo.Stations), runDates...)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range ch.Errors {
		t.Logf("run %s: %v", runDates[i], e)
		if i < len(runDates)-1 && e != nil {
			t.Fatalf("run %s: %v", runDates[i], e)
		}
	}
	t.Logf("chain: %d runs in %s", len(runDates), time.Since(start).Round(time.Millisecond))

	pool, err := pgxpool.New(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reg, err := registry.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	champ, err := reg.Champion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pred := predict.NewServer(predict.FileLoader{Path: filepath.Join(ch.Buckets, champ.Artifact.Bucket, champ.Artifact.Key)}, nil)
	if err := pred.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var gw *Gateway
	dash := dashboard.New(pool, dashboard.Options{
		PredictHealth: func(ctx context.Context) dashboard.PredictHealth {
			return dashboard.HTTPHealth(nil, gw.URL+"/function/predict")(ctx)
		},
		Schedule: "0 12 1 * *",
	})
	gw, err = Serve(map[string]func(handler.Request) handler.Response{"dashboard": dash.Handle, "predict": pred.Handle})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()

	p := plan{Chromium: chromium, Shots: repo.Path("docs/screenshots"), Report: filepath.Join(dir, "report.json")}
	base := gw.URL + "/function/dashboard"
	at := func(q string) string {
		if q == "" {
			return base
		}
		return base + "?" + q
	}
	p.Start = at("")

	// What the database holds, for the pages to show.
	tr := runs.New(pool, runs.Options{})
	status, err := tr.Status(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	models, err := reg.List(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := chain.RunStepNames()
	p.Pages = append(p.Pages,
		page{Name: "overview", URL: at(""), H1: "Overview", Shot: "overview",
			Counts: map[string]int{"#latest-run .chips .chip": len(steps)},
			Texts:  []string{fmt.Sprintf("v%d", champ.Version), "realized ROC-AUC", "0 12 1 * *"}},
		page{Name: "runs", URL: at("page=runs"), H1: "Runs", Shot: "runs",
			Counts: map[string]int{"#runs-grid tbody tr": len(status), "#runs-grid thead th": 4 + len(steps)}},
	)
	for _, r := range status {
		hist, err := tr.History(ctx, r.RunDate)
		if err != nil {
			t.Fatal(err)
		}
		d := r.RunDate.Format("2006-01-02")
		pg := page{Name: "run " + d, URL: at("page=run&date=" + d), H1: "Run " + d,
			Counts: map[string]int{"code.cmd": len(hist), `svg[data-chart=gantt] rect[data-series=attempts]`: len(hist)}}
		if d == shotRun {
			pg.Shot = "run"
		}
		p.Pages = append(p.Pages, pg)
	}
	trainRuns := 0
	for _, r := range status {
		for _, s := range r.Steps {
			if s.Step == "train" && s.Status != runs.Running {
				trainRuns++
			}
		}
	}
	p.Pages = append(p.Pages,
		page{Name: "steps", URL: at("page=steps&step=train"), H1: "Step trends", Shot: "steps",
			Points: map[string]int{`svg[data-chart=duration] polyline[data-series=seconds]`: trainRuns},
			Counts: map[string]int{"#step-summary tbody tr": len(steps)}},
		page{Name: "models", URL: at("page=models"), H1: "Models", Shot: "models", SortBy: "roc_auc",
			Counts: map[string]int{"#models-table tbody tr": len(models), "#promotions tbody tr": countPromotions(ctx, t, reg)}},
	)
	mon := monitorCounts(ctx, t, pool)
	p.Pages = append(p.Pages,
		page{Name: "metrics", URL: at("page=metrics"), H1: "Metrics over time", Shot: "metrics",
			Points: map[string]int{`svg[data-chart=by-version] polyline[data-series="ROC-AUC"]`: len(models),
				`svg[data-chart=by-month] polyline[data-series="realized ROC-AUC"]`: mon.realized}},
		page{Name: "drift", URL: at("page=drift"), H1: "Drift", Shot: "drift", MaxHeight: 2400,
			Counts: map[string]int{`svg[data-chart=psi-heatmap] rect[data-series=psi]`: mon.psiCells,
				"#fields-table tbody tr": mon.fields, `svg[data-chart=histogram]`: mon.histograms}},
	)
	for _, m := range models {
		r := m.Metrics
		imp := min(len(m.FeatureImportance), dashboard.TopImportance)
		pg := page{Name: fmt.Sprintf("model v%d", m.Version), URL: at(fmt.Sprintf("page=model&version=%d", m.Version)), H1: fmt.Sprintf("Model v%d", m.Version),
			Points: map[string]int{
				`svg[data-chart=roc] polyline[data-series=roc]`:                 len(r.ROC.FPR),
				`svg[data-chart=pr] polyline[data-series=pr]`:                   len(r.PR.Recall),
				`svg[data-chart=reliability] polyline[data-series=calibration]`: len(r.Calibration.Bin),
			},
			Counts: map[string]int{
				`svg[data-chart=reliability] rect[data-series=counts]`:    len(r.Calibration.Bin),
				`svg[data-chart=importance] rect[data-series=importance]`: imp,
				"#importance tbody tr":  imp,
				"#reliability tbody tr": len(r.Calibration.Bin),
			}}
		if m.Version == champ.Version {
			pg.Shot = "model"
		}
		p.Pages = append(p.Pages, pg)
	}
	// Predict's docs page, its examples run against the live predict.
	p.Pages = append(p.Pages, page{Name: "predict docs", URL: gw.URL + "/function/predict?docs", H1: "ArrestCast predict", Shot: "predict-docs",
		RunExamples: true, MaxHeight: 2400})
	p.Clicks = []click{
		{`header.bar nav a[href="?page=runs"]`, "Runs"},
		{"#runs-grid tbody tr:first-child td:first-child a", "Run "},
		{`header.bar nav a[href="?page=models"]`, "Models"},
		{"#models-table tbody tr:first-child td:first-child a", "Model v"},
		{`header.bar nav a[href="?page=overview"]`, "Overview"},
		{"#champion .big a", fmt.Sprintf("Model v%d", champ.Version)},
	}
	runPlan(t, node, dir, "real", p)

}

// monitored is what the monitor's history holds, as the pages should show
// it: months whose newest report has a realized ROC-AUC, the heatmap's
// cells with a PSI (every field of every month's newest report, as long as
// they fit the heatmap), and the newest month's fields and histograms.
type monitored struct{ realized, psiCells, fields, histograms int }

func monitorCounts(ctx context.Context, t *testing.T, pool *pgxpool.Pool) monitored {
	t.Helper()
	var m monitored
	var distinct int
	err := pool.QueryRow(ctx, `WITH newest AS (
			SELECT DISTINCT ON (month) month, realized, fields FROM monitor_reports ORDER BY month, computed_at DESC, id DESC),
		last AS (SELECT fields FROM newest ORDER BY month DESC LIMIT 1)
		SELECT
			(SELECT count(*) FROM newest WHERE realized ? 'roc_auc'),
			(SELECT count(*) FROM newest, jsonb_array_elements(fields) f WHERE f ? 'psi'),
			(SELECT count(DISTINCT f->>'field') FROM newest, jsonb_array_elements(fields) f),
			(SELECT jsonb_array_length(fields) FROM last),
			(SELECT count(*) FROM last, jsonb_array_elements(fields) f WHERE jsonb_array_length(coalesce(f->'bins', '[]')) > 0)`).
		Scan(&m.realized, &m.psiCells, &distinct, &m.fields, &m.histograms)
	if err != nil {
		t.Fatalf("the monitor's history: %v", err)
	}
	if m.realized < len(runDates)-3 || distinct > dashboard.HeatmapFields {
		t.Fatalf("monitor history: %d months with realized metrics, %d fields (the heatmap shows %d): want a month per monitored run",
			m.realized, distinct, dashboard.HeatmapFields)
	}
	return m
}

func countPromotions(ctx context.Context, t *testing.T, reg *registry.Registry) int {
	ps, err := reg.Promotions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(ps)
}

// runPlan has run.mjs visit the plan's pages in Chromium.
func runPlan(t *testing.T, node, dir, name string, p plan) {
	t.Helper()
	file := filepath.Join(dir, "plan-"+name+".json")
	b, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command(node, "run.mjs", file)
	out, err := cmd.CombinedOutput()
	t.Logf("%s: %s (%s)", name, strings.TrimSpace(string(out)), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s pages in Chromium: %v", name, err)
	}
	rep, _ := os.ReadFile(p.Report)
	var r struct {
		Pages map[string]any `json:"pages"`
	}
	_ = json.Unmarshal(rep, &r)
	for n, v := range r.Pages {
		t.Logf("  %s: %v", n, v)
	}
}
