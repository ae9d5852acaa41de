//go:build integration

package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/internal/browsertest"
	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/dashboard"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// readOnly records the options of every transaction the dashboard opens.
type readOnly struct {
	*pgxpool.Pool
	modes []pgx.TxAccessMode
}

func (r *readOnly) BeginTx(ctx context.Context, o pgx.TxOptions) (pgx.Tx, error) {
	r.modes = append(r.modes, o.AccessMode)
	return r.Pool.BeginTx(ctx, o)
}

var now = time.Date(2020, 1, 10, 9, 0, 0, 0, time.UTC)

func newDash(s *seeded, db dashboard.DB) *dashboard.Dashboard {
	return dashboard.New(db, dashboard.Options{Now: func() time.Time { return now }, Schedule: "0 12 1 * *",
		PredictHealth: func(context.Context) dashboard.PredictHealth {
			return dashboard.PredictHealth{State: "ok", Version: s.champion}
		}})
}

func get(t *testing.T, d *dashboard.Dashboard, query string) (int, string) {
	t.Helper()
	res := d.Handle(handler.Request{Method: http.MethodGet, QueryString: query})
	return res.StatusCode, string(res.Body)
}

func getJSON(t *testing.T, d *dashboard.Dashboard, query string, v any) int {
	t.Helper()
	res := d.Handle(handler.Request{Method: http.MethodGet, QueryString: query + "&format=json"})
	if res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s as JSON: %q", query, res.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(res.Body, v); err != nil {
		t.Fatalf("%s as JSON: %v: %s", query, err, res.Body)
	}
	return res.StatusCode
}

// points counts the points of the polyline of a chart's series.
func points(t *testing.T, page, chart, series string) int {
	t.Helper()
	i := strings.Index(page, `data-chart="`+chart+`"`)
	if i < 0 {
		t.Fatalf("no %s chart", chart)
	}
	m := regexp.MustCompile(`<polyline[^>]*data-series="` + regexp.QuoteMeta(series) + `"[^>]*points="([^"]*)"`).FindStringSubmatch(page[i:])
	if m == nil {
		t.Fatalf("no %s polyline in the %s chart", series, chart)
	}
	return len(strings.Fields(m[1]))
}

// Every page over a real history: what each shows is what the tables hold.
func TestPages(t *testing.T) {
	s := seed(t, 24)
	db := &readOnly{Pool: s.pool}
	d := newDash(s, db)
	reg, err := registry.Open(context.Background(), s.pool)
	if err != nil {
		t.Fatal(err)
	}

	for _, q := range []string{"", "page=runs", "page=run&date=2018-04-01", "page=steps", "page=steps&step=train",
		"page=models", "page=models&sort=roc_auc", "page=model&version=1", "page=metrics", "page=metrics&metric=f1", "page=drift"} {
		res := d.Handle(handler.Request{Method: http.MethodGet, QueryString: q})
		if res.StatusCode != 200 {
			t.Errorf("%q: %d %.300s", q, res.StatusCode, res.Body)
		}
		body := string(res.Body)
		// No secret, path or SQL anywhere.
		for _, bad := range []string{"hunter2", "/var/openfaas", "SELECT ", "db:5432"} {
			if strings.Contains(body, bad) {
				t.Errorf("%q shows %q", q, bad)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%q: CSP %q", q, csp)
		}
		if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//`).FindString(body); m != "" {
			t.Errorf("%q refers elsewhere: %s", q, m)
		}
		if strings.Contains(body, ` style="`) {
			t.Errorf("%q has a style attribute (the CSP refuses it)", q)
		}
	}
	for _, m := range db.modes {
		if m != pgx.ReadOnly {
			t.Fatalf("a page opened a %q transaction", m)
		}
	}

	// The runs grid: failed and unfinished first, then newest first.
	var grid struct {
		Steps []string `json:"steps"`
		Runs  []struct {
			Run struct {
				RunDate string `json:"run_date"`
				Status  string `json:"status"`
			} `json:"run"`
			Steps []struct {
				Step    string          `json:"step"`
				Attempt json.RawMessage `json:"attempt"`
			} `json:"steps"`
		} `json:"runs"`
	}
	getJSON(t, d, "page=runs", &grid)
	if len(grid.Runs) != 24 || !slices.Equal(grid.Steps, chain.RunStepNames()) {
		t.Fatalf("grid: %d runs, steps %v", len(grid.Runs), grid.Steps)
	}
	if grid.Runs[0].Run.Status != "failed" || grid.Runs[1].Run.Status != "running" || grid.Runs[2].Run.RunDate != "2019-10-01" {
		t.Errorf("grid order: %v %v %v", grid.Runs[0].Run, grid.Runs[1].Run, grid.Runs[2].Run)
	}
	for _, r := range grid.Runs {
		if len(r.Steps) != len(chain.RunStepNames()) {
			t.Errorf("%s: %d cells", r.Run.RunDate, len(r.Steps))
		}
	}

	// A run with a retried step: its attempts, the logs command of each,
	// the error without the path and the password.
	var run struct {
		Steps []struct {
			Step     string `json:"step"`
			Attempts int    `json:"attempts"`
			Status   string `json:"status"`
		} `json:"steps"`
		Attempts []struct {
			Step  string `json:"step"`
			Error string `json:"error"`
			Logs  string `json:"logs_command"`
		} `json:"attempts"`
		Funnel []struct {
			Step    string `json:"step"`
			Rejects int64  `json:"rejects"`
		} `json:"funnel"`
	}
	getJSON(t, d, "page=run&date=2018-04-01", &run)
	if len(run.Attempts) != len(chain.RunStepNames())+1 || run.Steps[2].Step != "enrich" || run.Steps[2].Attempts != 2 {
		t.Fatalf("run with a retry: %+v", run)
	}
	failed := run.Attempts[2]
	if failed.Error == "" || strings.Contains(failed.Error, "hunter2") || strings.Contains(failed.Error, "/var/openfaas") ||
		!strings.Contains(failed.Error, "arrestcast-database-url") {
		t.Errorf("the failed attempt's error: %q (stored %q)", failed.Error, s.secretErr)
	}
	if !regexp.MustCompile(`^faas-cli logs enrich --tail=false --since-time 2018-04-01T12:00:\d\dZ$`).MatchString(failed.Logs) {
		t.Errorf("logs command %q", failed.Logs)
	}
	_, page := get(t, d, "page=run&date=2018-04-01")
	if n := strings.Count(page, `<code class="cmd">faas-cli logs `); n != len(run.Attempts) {
		t.Errorf("%d logs commands on the page, %d attempts", n, len(run.Attempts))
	}
	if n := strings.Count(page, `data-series="attempts"`); n != len(run.Attempts) {
		t.Errorf("%d bars on the time line, %d attempts", n, len(run.Attempts))
	}
	if run.Funnel[2].Step != "enrich" || run.Funnel[2].Rejects < 2500 {
		t.Errorf("funnel %+v", run.Funnel)
	}

	// Refusals and what is not there.
	for q, want := range map[string]int{"page=run&date=2030-01-01": 404, "page=run&date=yesterday": 400, "page=model&version=999": 404,
		"page=model&version=x": 400, "page=models&sort=nothing": 400, "page=steps&step=nothing": 400, "page=metrics&metric=x": 400,
		"page=drift&month=13": 400, "format=xml": 400} {
		if status, body := get(t, d, q); status != want {
			t.Errorf("%s: %d, want %d: %.200s", q, status, want, body)
		}
	}
	if res := d.Handle(handler.Request{Method: http.MethodPost, QueryString: "page=runs"}); res.StatusCode != 405 {
		t.Errorf("POST: %d", res.StatusCode)
	}

	// Models: sorted by the column asked, the champion marked, a comparison
	// that lists only what differs.
	var models struct {
		Models []struct {
			Version int    `json:"version"`
			Role    string `json:"role"`
			Metrics struct {
				ROCAUC float64 `json:"roc_auc"`
			} `json:"metrics"`
		} `json:"models"`
		Compare *struct {
			A     int `json:"a"`
			B     int `json:"b"`
			Diffs []struct {
				Field, A, B string
			} `json:"diffs"`
			Same int `json:"same"`
		} `json:"compare"`
		Promotions []json.RawMessage `json:"promotions"`
	}
	getJSON(t, d, "page=models&sort=roc_auc&dir=desc", &models)
	if len(models.Models) != s.models {
		t.Fatalf("%d models, %d registered", len(models.Models), s.models)
	}
	for i := 1; i < len(models.Models); i++ {
		if models.Models[i].Metrics.ROCAUC > models.Models[i-1].Metrics.ROCAUC {
			t.Errorf("not sorted by ROC-AUC at %d", i)
		}
	}
	proms, _ := reg.Promotions(context.Background(), 0)
	if len(models.Promotions) != len(proms) || models.Compare == nil {
		t.Errorf("%d promotions shown, %d stored; compare %v", len(models.Promotions), len(proms), models.Compare)
	}
	getJSON(t, d, "page=models&a=2&b=3", &models)
	m2, _ := reg.Get(context.Background(), 2)
	m3, _ := reg.Get(context.Background(), 3)
	fields := map[string]bool{}
	for _, df := range models.Compare.Diffs {
		fields[df.Field] = true
		if df.A == df.B {
			t.Errorf("compare lists %q, equal in both: %q", df.Field, df.A)
		}
	}
	if !fields["ROC-AUC"] || !fields["run date"] || fields["algorithm"] || fields["code version"] || models.Compare.Same == 0 {
		t.Errorf("v2 vs v3 (ROC-AUC %v, %v): %+v", m2.Metrics.ROCAUC, m3.Metrics.ROCAUC, models.Compare)
	}
	if !fields["features only in v3"] {
		t.Errorf("the feature sets differ, the comparison does not say: %v", fields)
	}
	getJSON(t, d, "page=models&a=2&b=2", &models)
	if len(models.Compare.Diffs) != 0 {
		t.Errorf("a version differs from itself: %+v", models.Compare.Diffs)
	}

	// A model's page draws its stored curves whole.
	champ, _ := reg.Champion(context.Background())
	_, page = get(t, d, fmt.Sprintf("page=model&version=%d", champ.Version))
	if got, want := points(t, page, "roc", "roc"), len(champ.Metrics.ROC.FPR); got != want {
		t.Errorf("ROC: %d points drawn, %d stored", got, want)
	}
	if got, want := points(t, page, "pr", "pr"), len(champ.Metrics.PR.Recall); got != want {
		t.Errorf("PR: %d points drawn, %d stored", got, want)
	}
	if got, want := points(t, page, "reliability", "calibration"), len(champ.Metrics.Calibration.Bin); got != want {
		t.Errorf("reliability: %d points, %d bins", got, want)
	}
	if n := strings.Count(page, `data-series="importance"`); n != dashboard.TopImportance {
		t.Errorf("%d importance bars", n)
	}
	var mp struct {
		Confusion [2][2]int `json:"confusion"`
		Operating struct {
			FPR, TPR float64
		} `json:"operating_point"`
	}
	getJSON(t, d, fmt.Sprintf("page=model&version=%d", champ.Version), &mp)
	c := champ.Metrics.Confusion
	if mp.Confusion != c.Matrix() || mp.Operating.TPR != champ.Metrics.Recall {
		t.Errorf("confusion %v vs %v, TPR %v vs recall %v", mp.Confusion, c.Matrix(), mp.Operating.TPR, champ.Metrics.Recall)
	}
	for _, cell := range []int{c.TN, c.FP, c.FN, c.TP} {
		if !strings.Contains(page, fmt.Sprintf("<b>%s</b>", group(cell))) {
			t.Errorf("confusion count %d not on the page", cell)
		}
	}

	// Metrics over time: a point per version, the champion marked once.
	_, page = get(t, d, "page=metrics")
	if got := points(t, page, "by-version", "ROC-AUC"); got != s.models {
		t.Errorf("%d versions drawn, %d registered", got, s.models)
	}
	if n := strings.Count(page, `<path class="mark"`); n != 1 {
		t.Errorf("%d champions marked", n)
	}

	// The overview: champion, latest run, predict, next tick.
	var ov struct {
		Champion  struct{ Version int } `json:"champion"`
		LatestRun struct {
			Run struct {
				RunDate string `json:"run_date"`
			} `json:"run"`
		} `json:"latest_run"`
		NextTick time.Time `json:"next_tick"`
		Predict  struct {
			State   string
			Version int `json:"model_version"`
		} `json:"predict"`
		Failures []json.RawMessage `json:"recent_failures"`
	}
	getJSON(t, d, "page=overview", &ov)
	if ov.Champion.Version != s.champion || ov.LatestRun.Run.RunDate != "2019-12-01" || !ov.NextTick.Equal(time.Date(2020, 2, 1, 12, 0, 0, 0, time.UTC)) ||
		ov.Predict.State != "ok" || len(ov.Failures) != 2 {
		t.Errorf("overview: %+v", ov)
	}
}

func group(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Drift and realized metrics: "no monitoring yet" without the monitor's
// table; with reports, a PSI cell per field and month and the month's
// fields drifted first.
func TestMonitorPages(t *testing.T) {
	s := seed(t, 3)
	d := newDash(s, s.pool)
	_, page := get(t, d, "page=drift")
	var drift struct {
		Table   bool              `json:"table"`
		Reports []json.RawMessage `json:"reports"`
	}
	if getJSON(t, d, "page=drift", &drift); drift.Table || len(drift.Reports) != 0 || !strings.Contains(page, "No monitoring yet") {
		t.Fatalf("drift without the monitor: %+v", drift)
	}
	_, page = get(t, d, "")
	if !strings.Contains(page, "No monitoring yet") {
		t.Error("the overview does not say there is no monitoring")
	}
	ctx := context.Background()
	months := 6
	if err := browsertest.SampleMonitor(ctx, s.pool, repo.Need(t, "shared/steps/monitor/migrations/0001_init.sql"), time.Date(2018, 6, 1, 0, 0, 0, 0, time.UTC), months, s.champion, 0.9); err != nil {
		t.Fatal(err)
	}
	// A backfill recomputes the last month from its re-fetched records (a
	// new input): the page shows the newer report.
	if _, err := s.pool.Exec(ctx, `INSERT INTO monitor_reports (month, model_version, computed_at, verdict, volume, psi_warn, psi_alert, ks_alert, fields, realized, test_roc_auc, input)
		SELECT month, model_version, computed_at + interval '3 days', 'ok', volume + 100, psi_warn, psi_alert, ks_alert, fields, realized, test_roc_auc, input || '+backfill'
		FROM monitor_reports WHERE month = '2018-06-01'`); err != nil {
		t.Fatal(err)
	}
	var full struct {
		Table    bool                     `json:"table"`
		Reports  []struct{ Month string } `json:"reports"`
		Selected struct {
			Verdict   string `json:"verdict"`
			Month     string `json:"month"`
			Revisions int    `json:"revisions"`
			Volume    int64  `json:"volume"`
			Fields    []struct {
				Field  string
				PSI    float64 `json:"psi"`
				Status string
				Bins   []json.RawMessage `json:"bins"`
			} `json:"fields"`
		} `json:"selected"`
	}
	getJSON(t, d, "page=drift", &full)
	if !full.Table || len(full.Reports) != months || full.Selected.Month != "2018-06" || full.Selected.Revisions != 2 || full.Selected.Verdict != "ok" {
		t.Fatalf("drift: %+v", full)
	}
	rank := map[string]int{"alert": 0, "warn": 1, "ok": 2}
	for i := 1; i < len(full.Selected.Fields); i++ {
		a, b := full.Selected.Fields[i-1], full.Selected.Fields[i]
		if rank[a.Status] > rank[b.Status] || (a.Status == b.Status && a.PSI < b.PSI) {
			t.Errorf("fields not drifted first: %s %s %v, then %s %s %v", a.Field, a.Status, a.PSI, b.Field, b.Status, b.PSI)
		}
		if len(b.Bins) == 0 {
			t.Errorf("%s: no bins", b.Field)
		}
	}
	_, page = get(t, d, "page=drift&month=2018-03")
	nf := len(full.Selected.Fields)
	if n := strings.Count(page, `data-series="psi"`); n != nf*months {
		t.Errorf("%d heatmap cells, %d fields × %d months", n, nf, months)
	}
	if n := strings.Count(page, `data-chart="histogram"`); n != nf {
		t.Errorf("%d histograms for %d fields", n, nf)
	}
	if status, _ := get(t, d, "page=drift&month=2017-01"); status != 404 {
		t.Errorf("a month without a report: %d", status)
	}
	_, page = get(t, d, "page=metrics")
	if got := points(t, page, "by-month", "realized ROC-AUC"); got != months {
		t.Errorf("realized ROC-AUC: %d months drawn, %d reported", got, months)
	}
	_, page = get(t, d, "")
	if strings.Contains(page, "No monitoring yet") || !strings.Contains(page, `href="?page=drift&amp;month=2018-06"`) {
		t.Error("the overview does not show the latest report")
	}
}

// failingDB fails as a database can, with SQL and an address in its error.
type failingDB struct{}

func (failingDB) BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error) {
	return nil, errors.New(`ERROR: permission denied for table models: SELECT version FROM models (postgres://dash:hunter2@10.0.0.5/x)`)
}

// A failing database gives a 503 that names nothing of it.
func TestDatabaseDown(t *testing.T) {
	d := dashboard.New(failingDB{}, dashboard.Options{})
	for _, q := range []string{"", "page=models", "page=models&format=json"} {
		res := d.Handle(handler.Request{Method: http.MethodGet, QueryString: q})
		body := string(res.Body)
		if res.StatusCode != 503 || strings.Contains(body, "SELECT") || strings.Contains(body, "hunter2") || strings.Contains(body, "10.0.0.5") ||
			!strings.Contains(body, "database is unavailable") {
			t.Errorf("%q: %d %s", q, res.StatusCode, body)
		}
	}
}

// BenchmarkPages renders every page from PostgreSQL with 24 monthly runs,
// 24 model versions and 24 monthly monitor reports: the queries, the
// charts and the template, as a request does (the goal: < 100 ms each).
func BenchmarkPages(b *testing.B) {
	s := seed(b, 26) // 24 models: the last two runs did not train
	if err := browsertest.SampleMonitor(context.Background(), s.pool, repo.Path("shared/steps/monitor/migrations/0001_init.sql"),
		time.Date(2019, 12, 1, 0, 0, 0, 0, time.UTC), 24, s.champion, 0.9); err != nil {
		b.Fatal(err)
	}
	d := newDash(s, s.pool)
	for _, q := range []string{"page=overview", "page=runs", "page=run&date=2019-06-01", "page=steps&step=train", "page=models",
		fmt.Sprintf("page=model&version=%d", s.champion), "page=metrics", "page=drift"} {
		for _, format := range []string{"html", "json"} {
			b.Run(strings.TrimPrefix(q, "page=")+"/"+format, func(b *testing.B) {
				req := handler.Request{Method: http.MethodGet, QueryString: q + "&format=" + format}
				var size int
				for b.Loop() {
					res := d.Handle(req)
					if res.StatusCode != 200 {
						b.Fatalf("%s: %d %.200s", q, res.StatusCode, res.Body)
					}
					size = len(res.Body)
				}
				b.ReportMetric(float64(size), "bytes")
			})
		}
	}
	if s.models != 24 {
		b.Fatalf("%d models", s.models)
	}
}
