package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/platform/alert"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// Watch raises the alerts no month's data says: a monthly run that failed,
// one that stopped moving, and a change of champion. The monitor function
// checks every MONITOR_WATCH_EVERY (default 5 minutes) in the background;
// the alerts table makes each alert go out once.
type Watch struct {
	Runs interface {
		Status(ctx context.Context, limit int) ([]runs.PipelineRun, error)
	}
	Promotions interface {
		Promotions(ctx context.Context, limit int) ([]registry.Promotion, error)
	}
	Alerts *alert.Notifier
	// A run still running with no step started or finished for StallAfter
	// has stalled [MONITOR_STALL_AFTER, default 1h].
	StallAfter time.Duration
	// Runs finished and promotions made longer ago than Lookback are not
	// reported (a new deployment does not replay history) [MONITOR_ALERT_LOOKBACK, default 7 days].
	Lookback time.Duration
	Now      func() time.Time // nil: time.Now
}

// Watch defaults.
const (
	DefaultStallAfter = time.Hour
	DefaultLookback   = 7 * 24 * time.Hour
	DefaultWatchEvery = 5 * time.Minute
)

// WatchSettings reads StallAfter and Lookback from r's environment, and how
// often to check (MONITOR_WATCH_EVERY; 0 turns the background check off).
func WatchSettings(r config.Reader) (stall, lookback, every time.Duration, err error) {
	var errs []error
	stall, e1 := r.Duration("MONITOR_STALL_AFTER", DefaultStallAfter)
	lookback, e2 := r.Duration("MONITOR_ALERT_LOOKBACK", DefaultLookback)
	every, e3 := r.Duration("MONITOR_WATCH_EVERY", DefaultWatchEvery)
	errs = append(errs, e1, e2, e3)
	return stall, lookback, every, errors.Join(errs...)
}

// Check raises what it finds and retries alerts whose delivery failed
// before; it returns the alerts it found (sent now or before).
func (w *Watch) Check(ctx context.Context) ([]alert.Alert, error) {
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	stall, lookback := w.StallAfter, w.Lookback
	if stall <= 0 {
		stall = DefaultStallAfter
	}
	if lookback <= 0 {
		lookback = DefaultLookback
	}
	var found []alert.Alert
	var errs []error
	if w.Runs != nil {
		prs, err := w.Runs.Status(ctx, 24)
		errs = append(errs, err)
		for _, p := range prs {
			if a, ok := runAlert(p, now, stall, lookback); ok {
				found = append(found, a)
			}
		}
	}
	if w.Promotions != nil {
		ps, err := w.Promotions.Promotions(ctx, 20)
		errs = append(errs, err)
		for _, p := range ps {
			if now.Sub(p.At) > lookback {
				continue
			}
			from := "no champion"
			if p.From != 0 {
				from = fmt.Sprintf("v%d", p.From)
			}
			found = append(found, alert.Alert{Kind: KindChampionChanged, Month: p.At.UTC(), Subject: fmt.Sprintf("promotion %d", p.ID),
				Severity: alert.SeverityWarn, Message: fmt.Sprintf("model v%d serves now (was %s), by %s: %s", p.To, from, p.Actor, p.Reason),
				Details: map[string]any{"from": p.From, "to": p.To, "actor": p.Actor, "at": p.At.UTC()}})
		}
	}
	for _, a := range found {
		if _, err := w.Alerts.Notify(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := w.Alerts.Retry(ctx, 20); err != nil {
		errs = append(errs, err)
	}
	return found, errors.Join(errs...)
}

// runAlert is the alert of a failed or stalled run, if any.
func runAlert(p runs.PipelineRun, now time.Time, stall, lookback time.Duration) (alert.Alert, bool) {
	day := chain.Day(p.RunDate)
	switch p.Status {
	case runs.Failed:
		if !p.FinishedAt.IsZero() && now.Sub(p.FinishedAt) > lookback {
			return alert.Alert{}, false
		}
		var failed []string
		for _, s := range p.Steps {
			if s.Status == runs.Failed && !chain.IsObserver(s.Step) {
				failed = append(failed, fmt.Sprintf("%s (attempt %d): %s", s.Step, s.Attempts, oneLine(s.Error, 200)))
			}
		}
		return alert.Alert{Kind: KindRunFailed, Month: p.RunDate, Severity: alert.SeverityAlert,
			Message: fmt.Sprintf("run %s failed: %s", day, strings.Join(failed, "; ")),
			Details: map[string]any{"run_date": day}}, true
	case runs.Running:
		last := p.StartedAt
		for _, s := range p.Steps {
			for _, t := range []time.Time{s.StartedAt, s.FinishedAt} {
				if t.After(last) {
					last = t
				}
			}
		}
		if now.Sub(last) < stall {
			return alert.Alert{}, false
		}
		var at string
		for _, s := range p.Steps {
			at = s.Step // the latest started, in start order
		}
		return alert.Alert{Kind: KindRunStalled, Month: p.RunDate, Severity: alert.SeverityAlert,
			Message: fmt.Sprintf("run %s has not moved for %s (last step %s)", day, now.Sub(last).Round(time.Minute), at),
			Details: map[string]any{"run_date": day, "last_activity": last.UTC()}}, true
	}
	return alert.Alert{}, false
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
