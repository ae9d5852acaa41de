// Package dashboard is ArrestCast's read-only web window onto what the
// pipeline stores in PostgreSQL: runs and their steps, the model registry,
// and the monitor's reports. Pages are HTML rendered on the server with
// inline SVG charts; every page also answers ?format=json with the data it
// shows. Nothing is fetched from elsewhere: the style and a small script
// (progressive enhancement only: copy buttons, sorting without a reload) are
// embedded in each page and admitted by a Content-Security-Policy hash.
//
// The golang-http template passes a function no path, so pages are chosen
// by the query string:
//
//	?page=overview (the default)   the champion, the latest run, monitor, predict, next cron tick
//	?page=runs                     runs × steps grid
//	?page=run&date=2018-01-01      one run: steps, time line, rows funnel, attempts, logs commands
//	?page=steps[&step=train]       each step's duration, rows and rejects across runs
//	?page=models[&sort=…&dir=…][&a=2&b=3]   versions, a two-version comparison, promotions
//	?page=model&version=3          curves, calibration, confusion, importance, parameters, lineage, decision
//	?page=metrics[&metric=roc_auc] test metrics by version, realized metrics by month
//	?page=drift[&month=2018-03]    the monitor's PSI by field and month and the month's detail
package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/faas"
)

// DB is what the dashboard needs of PostgreSQL (*pgxpool.Pool has it).
type DB interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Options configure a Dashboard; the zero value works.
type Options struct {
	// PredictHealth asks predict whether it serves a model (see
	// HTTPHealth); nil leaves it off the overview.
	PredictHealth func(ctx context.Context) PredictHealth
	// Schedule is download's cron schedule (stack.yml), for the next tick.
	Schedule string
	// PredictURL is where predict answers, for links to its docs page
	// (default /function/predict, on the same gateway).
	PredictURL string
	// Limit bounds the runs, models and months a page reads (default 120:
	// ten years of monthly runs).
	Limit   int
	Timeout time.Duration // per request (default 10 s)
	Now     func() time.Time
	Logger  *slog.Logger
}

// Dashboard serves the pages.
type Dashboard struct {
	db    DB
	o     Options
	log   *slog.Logger
	pages map[string]*template.Template
	csp   string
}

//go:embed assets
var assets embed.FS

// pageNav lists the pages in the navigation bar; run and model are reached
// from runs and models.
var pageNav = []struct{ Key, Title string }{
	{"overview", "Overview"}, {"runs", "Runs"}, {"steps", "Step trends"}, {"models", "Models"},
	{"metrics", "Metrics over time"}, {"drift", "Drift"},
}

// pageTemplates are the templates under assets/, one per page.
var pageTemplates = []string{"overview", "runs", "run", "steps", "models", "model", "metrics", "drift", "error"}

var (
	style  = mustRead("assets/style.css")
	script = mustRead("assets/app.js")
)

func mustRead(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// New returns a dashboard over db.
func New(db DB, o Options) *Dashboard {
	if o.PredictURL == "" {
		o.PredictURL = "/function/predict"
	}
	if o.Limit <= 0 {
		o.Limit = 120
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	d := &Dashboard{db: db, o: o, log: o.Logger, pages: map[string]*template.Template{}}
	if d.log == nil {
		d.log = slog.New(slog.NewJSONHandler(os.Stdout, nil))
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html"))
	for _, name := range pageTemplates {
		d.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(assets, "assets/"+name+".html"))
	}
	// Nothing but this page's own style and script; forms and calls stay on this origin.
	d.csp = "default-src 'none'; style-src " + cspHash(style) + "; script-src " + cspHash(script) +
		"; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	return d
}

func (d *Dashboard) now() time.Time {
	if d.o.Now != nil {
		return d.o.Now()
	}
	return time.Now()
}

// read runs f in one read-only transaction: the page sees one snapshot,
// and cannot change anything whatever the database user may do.
func (d *Dashboard) read(ctx context.Context, f func(Querier) error) error {
	tx, err := d.db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	return f(tx)
}

// layout is what layout.html renders around a page.
type layout struct {
	Title      string
	Nav        string
	Pages      []struct{ Key, Title string }
	Page       any
	Now        time.Time
	JSON       string // this page as JSON
	PredictURL string
	Style      template.CSS
	Script     template.JS
	Status     int
	Message    string
}

// Handle answers one request (GET or HEAD).
func (d *Dashboard) Handle(req handler.Request) (res handler.Response) {
	defer func() {
		if p := recover(); p != nil {
			d.log.Error("dashboard panicked", "panic", fmt.Sprint(p))
			res = d.fail(false, url.Values{}, http.StatusInternalServerError, "internal error")
		}
	}()
	q, err := url.ParseQuery(req.QueryString)
	if err != nil {
		return d.fail(false, url.Values{}, http.StatusBadRequest, "query: not a valid query string")
	}
	asJSON := false
	switch q.Get("format") {
	case "", "html":
	case "json":
		asJSON = true
	default:
		return d.fail(false, q, http.StatusBadRequest, "format: html or json")
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return d.fail(asJSON, q, http.StatusMethodNotAllowed, "the dashboard is read-only: use GET")
	}
	ctx := req.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()

	page := q.Get("page")
	if page == "" {
		page = "overview"
	}
	if !slices.Contains(pageTemplates, page) || page == "error" {
		return d.fail(asJSON, q, http.StatusBadRequest, "page: no such page: one of overview, runs, run, steps, models, model, metrics, drift")
	}
	var view any
	var title, nav string
	var health *PredictHealth
	if page == "overview" && d.o.PredictHealth != nil {
		h := d.o.PredictHealth(ctx)
		health = &h
	}
	err = d.read(ctx, func(tx Querier) error {
		var err error
		switch page {
		case "overview":
			var p *OverviewPage
			p, err = d.overview(ctx, tx)
			if p != nil {
				p.Predict = health
			}
			view, title, nav = p, "Overview", "overview"
		case "runs":
			view, err = d.runsGrid(ctx, tx)
			title, nav = "Runs", "runs"
		case "run":
			view, err = d.run(ctx, tx, q.Get("date"))
			title, nav = "Run "+q.Get("date"), "runs"
		case "steps":
			view, err = d.steps(ctx, tx, q.Get("step"))
			title, nav = "Step trends", "steps"
		case "models":
			view, err = d.models(ctx, tx, q.Get("sort"), q.Get("dir"), q.Get("a"), q.Get("b"))
			title, nav = "Models", "models"
		case "model":
			view, err = d.model(ctx, tx, q.Get("version"))
			title, nav = "Model v"+q.Get("version"), "models"
		case "metrics":
			view, err = d.metricsOverTime(ctx, tx, q.Get("metric"))
			title, nav = "Metrics over time", "metrics"
		case "drift":
			view, err = d.drift(ctx, tx, q.Get("month"))
			title, nav = "Drift", "drift"
		}
		return err
	})
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		return d.fail(asJSON, q, http.StatusBadRequest, pe.Error())
	case errors.Is(err, errNotFound):
		return d.fail(asJSON, q, http.StatusNotFound, "not found: "+describe(page, q))
	case err != nil:
		// The cause (and any SQL or address in it) goes to the log only.
		d.log.Error("dashboard page failed", "page", page, "err", err.Error())
		return d.fail(asJSON, q, http.StatusServiceUnavailable, "the database is unavailable; retry shortly")
	}
	if asJSON {
		return jsonAnswer(http.StatusOK, view)
	}
	return d.html(page, http.StatusOK, layout{Title: title, Nav: nav, Page: view, JSON: jsonHref(q)})
}

func describe(page string, q url.Values) string {
	switch page {
	case "run":
		return "no run dated " + q.Get("date")
	case "model":
		return "no model version " + q.Get("version")
	case "drift":
		return "no monitor report for " + q.Get("month")
	}
	return page
}

// jsonHref is the current page's query with format=json.
func jsonHref(q url.Values) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = v
	}
	c.Set("format", "json")
	return "?" + c.Encode()
}

func (d *Dashboard) html(name string, status int, l layout) handler.Response {
	l.Pages, l.Now, l.PredictURL = pageNav, d.now(), d.o.PredictURL
	l.Style, l.Script, l.Status = template.CSS(style), template.JS(script), status
	var b bytes.Buffer
	if err := d.pages[name].ExecuteTemplate(&b, "layout.html", l); err != nil {
		d.log.Error("dashboard template failed", "page", name, "err", err.Error())
		return handler.Response{StatusCode: http.StatusInternalServerError, Body: []byte("internal error\n"),
			Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}}
	}
	return handler.Response{StatusCode: status, Body: b.Bytes(), Header: http.Header{
		"Content-Type":            {"text/html; charset=utf-8"},
		"Content-Security-Policy": {d.csp},
		"X-Content-Type-Options":  {"nosniff"},
		"Referrer-Policy":         {"no-referrer"},
		"Cache-Control":           {"no-store"},
	}}
}

func (d *Dashboard) fail(asJSON bool, q url.Values, status int, msg string) handler.Response {
	if asJSON {
		return jsonAnswer(status, map[string]string{"error": msg})
	}
	return d.html("error", status, layout{Title: http.StatusText(status), Message: msg, JSON: jsonHref(q)})
}

func jsonAnswer(status int, v any) handler.Response {
	res := faas.JSON(status, v)
	res.Header.Set("Cache-Control", "no-store")
	res.Header.Set("X-Content-Type-Options", "nosniff")
	return res
}
