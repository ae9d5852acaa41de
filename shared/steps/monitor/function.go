package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/alert"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// FromDeps is the monitor step of a function: the registry, the history
// and the alerts in its database, the thresholds of its environment.
func FromDeps(ctx context.Context, d *faas.Deps) (runner.Step, error) {
	th, err := ThresholdsFrom(d.Config)
	if err != nil {
		return runner.Step{}, err
	}
	db, err := d.DB(ctx)
	if err != nil {
		return runner.Step{}, err
	}
	reg, err := registry.Open(ctx, db)
	if err != nil {
		return runner.Step{}, err
	}
	reports, err := OpenReports(ctx, db)
	if err != nil {
		return runner.Step{}, err
	}
	n, err := notifier(ctx, d, db)
	if err != nil {
		return runner.Step{}, err
	}
	return New(Options{Champions: reg, Reports: reports, Alerts: n, Thresholds: th}), nil
}

// notifier sends to the webhook of the function's secret (none: disabled).
func notifier(ctx context.Context, d *faas.Deps, db alert.DB) (*alert.Notifier, error) {
	var sender *alert.Sender
	if u := d.Settings().AlertWebhook; u != "" {
		sender = &alert.Sender{URL: u}
	}
	return alert.Open(ctx, db, sender, chain.Monitor, d.Log)
}

// Server is the monitor function: the step on MinIO's events and manual
// runs (token required, through runner.Function), GET answering the
// history, and the background watch of runs and champions.
type Server struct {
	Step *runner.Function
	// Connect reaches the history and the store for GET.
	Connect func(ctx context.Context) (*Reports, store.Store, error)
	Log     *slog.Logger
}

// Function is the monitor function's handler; it starts the watch.
func Function() func(handler.Request) handler.Response {
	fn := runner.ServeWith(chain.Monitor, FromDeps)
	d := fn.Deps()
	c := &connector{d: d}
	s := &Server{Step: fn, Connect: c.reports, Log: d.Log}
	stall, lookback, every, err := WatchSettings(d.Config)
	if err != nil {
		d.Log.Error("bad watch settings; the watch is off", "err", err)
	} else if every > 0 {
		go c.watchLoop(context.Background(), every, stall, lookback)
	}
	return s.Handle
}

// connector builds what GET and the watch need once, again after a failure.
type connector struct {
	d     *faas.Deps
	mu    sync.Mutex
	rep   *Reports
	watch *Watch
	st    store.Store
}

func (c *connector) reports(ctx context.Context) (*Reports, store.Store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rep != nil {
		return c.rep, c.st, nil
	}
	st, err := c.d.Store(ctx)
	if err != nil {
		return nil, nil, err
	}
	db, err := c.d.DB(ctx)
	if err != nil {
		return nil, nil, err
	}
	rep, err := OpenReports(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	c.rep, c.st = rep, st
	return rep, st, nil
}

func (c *connector) watcher(ctx context.Context, stall, lookback time.Duration) (*Watch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch != nil {
		return c.watch, nil
	}
	db, err := c.d.DB(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := registry.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	tr := runs.New(db, runs.Options{Logger: c.d.Log})
	if err := tr.Migrate(ctx); err != nil {
		return nil, err
	}
	n, err := notifier(ctx, c.d, db)
	if err != nil {
		return nil, err
	}
	c.watch = &Watch{Runs: tr, Promotions: reg, Alerts: n, StallAfter: stall, Lookback: lookback}
	return c.watch, nil
}

// watchLoop checks runs and champions every interval, for the process's
// life (predict polls the registry the same way).
func (c *connector) watchLoop(ctx context.Context, every, stall, lookback time.Duration) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for range tk.C {
		cctx, cancel := context.WithTimeout(ctx, every)
		w, err := c.watcher(cctx, stall, lookback)
		if err == nil {
			if !w.Alerts.Enabled() {
				cancel()
				continue // nothing to tell anyone
			}
			_, err = w.Check(cctx)
		}
		cancel()
		if err != nil {
			c.d.Log.Warn("watch of runs and champions failed; next check in "+every.String(), "err", err)
		}
	}
}

// Handle answers one call: GET the history (?month=YYYY-MM one month's
// report, ?limit=N rows), HEAD the probe, anything else the step.
func (s *Server) Handle(req handler.Request) handler.Response {
	if req.Method != http.MethodGet {
		return s.Step.Handle(req)
	}
	q, err := url.ParseQuery(req.QueryString)
	if err != nil {
		return faas.Fail(&faas.Error{Status: http.StatusBadRequest, Field: "query", Message: "malformed query string"})
	}
	var month chain.Month
	if v := q.Get("month"); v != "" {
		if month, err = chain.ParseMonth(v); err != nil {
			return faas.Fail(&faas.Error{Status: http.StatusBadRequest, Field: "month", Message: "want YYYY-MM"})
		}
	}
	limit := 36
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return faas.Fail(&faas.Error{Status: http.StatusBadRequest, Field: "limit", Message: "want 1 to 1000"})
		}
	}
	ctx := faas.Context(req)
	reports, st, err := s.Connect(ctx)
	if err != nil {
		s.log().Error("connect", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "store or database unavailable; retry"})
	}
	if month.IsZero() {
		h, err := reports.History(ctx, chain.Month{}, limit)
		if err != nil {
			s.log().Error("history", "err", err)
			return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "database unavailable; retry"})
		}
		if h == nil {
			h = []Summary{}
		}
		return faas.JSON(http.StatusOK, map[string]any{"step": chain.Monitor, "reports": h})
	}
	h, err := reports.History(ctx, month, 0)
	if err != nil {
		s.log().Error("history", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "database unavailable; retry"})
	}
	if len(h) == 0 || h[0].Report == nil {
		return faas.Fail(&faas.Error{Status: http.StatusNotFound, Field: "month", Message: fmt.Sprintf("no report on %s", month)})
	}
	b, _, err := store.ReadAll(ctx, st, *h[0].Report, 64<<20)
	if err != nil {
		s.log().Error("read report", "key", h[0].Report.Key, "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "store unavailable; retry"})
	}
	return faas.JSON(http.StatusOK, map[string]any{"step": chain.Monitor, "month": month.String(),
		"computed_at": h[0].ComputedAt, "revisions": h, "report": json.RawMessage(b)})
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}
