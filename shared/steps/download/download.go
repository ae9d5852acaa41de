// Package download is the chain's first step: fetch the crimes of the months
// a run needs from the Chicago Data Portal's SODA API (and the police
// stations), and write each month under its own folder with the records the
// decoder refused. The cron-connector's tick and a manual call start it.
package download

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/internal/window"
)

// Source is where download gets crimes and police stations.
type Source interface {
	// Crimes returns the crimes dated in [from, to) (Chicago wall clock), and
	// the records that could not be read.
	Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error)
	Stations(ctx context.Context) ([]geo.Station, error)
}

// New is the download step fetching from src.
func New(src Source) runner.Step {
	d := &download{src: src}
	return runner.Step{Name: chain.Download, Plan: Plan, Run: d.run}
}

// FromDeps is the download step of a function: the portal its settings name.
func FromDeps(_ context.Context, d *faas.Deps) (runner.Step, error) {
	src, err := NewPortalSource(d.Settings().Socrata, d.Log)
	if err != nil {
		return runner.Step{}, err
	}
	return New(src), nil
}

type download struct{ src Source }

// Plan plans a download: the run date and the months to fetch. The cron
// tick and {"as_of"} fetch every month from the one holding the newest
// 12-month window before the run date to the month that ended before it
// (the run's own month up to that day mid-month): one month on a monthly
// cadence, more after a skipped month, so the window never has a hole. On
// the first run (no window before that date yet), or when the newest is
// older than the window, every month the 365-day window touches;
// {"from","to"} backfills those months.
func Plan(ctx context.Context, env *runner.Env, inv runner.Invocation) (runner.Plan, error) {
	months, date, err := plan(ctx, env, inv)
	if err != nil {
		return runner.Plan{}, err
	}
	id := fmt.Sprintf("socrata:%s..%s", months[0], months[len(months)-1])
	return runner.Plan{Date: date, Months: months, Input: store.Ref{Key: id}}, nil
}

func plan(ctx context.Context, env *runner.Env, inv runner.Invocation) ([]chain.Month, time.Time, error) {
	if inv.From != "" {
		from, err := chain.ParseMonth(inv.From)
		if err != nil {
			return nil, time.Time{}, &runner.Permanent{Err: err}
		}
		to, err := chain.ParseMonth(inv.To)
		if err != nil {
			return nil, time.Time{}, &runner.Permanent{Err: err}
		}
		if to.Before(from) {
			return nil, time.Time{}, runner.Permanentf("to %s is before from %s", to, from)
		}
		var months []chain.Month
		for m := from; !to.Before(m); m = m.Next() {
			months = append(months, m)
		}
		return months, to.End(), nil
	}
	date := inv.Date
	if inv.Kind == faas.Cron || date.IsZero() {
		date = chain.RunDate(env.Now().UTC())
	}
	first := chain.MonthOf(date.Add(-chain.Window))
	prev, ok, err := window.LatestBefore(ctx, env.Store, env.Buckets.Data, date)
	if err != nil {
		return nil, time.Time{}, err
	}
	if d, _ := chain.WindowDate(prev.Key); ok && first.Before(chain.MonthOf(d)) {
		first = chain.MonthOf(d) // merge appends to that window: fetch from where it ends
	}
	var months []chain.Month
	for m, last := first, chain.LastMonth(date); !last.Before(m); m = m.Next() {
		months = append(months, m)
	}
	return months, date, nil
}

var errNoSource = errors.New("no data source configured")

// run fetches each planned month's crimes (the first month clipped to the
// 365-day window) and the police stations. A run that finds no crime at all
// is a permanent failure: retrying will not make an empty month fuller.
func (d *download) run(ctx context.Context, r *runner.Run) error {
	if d.src == nil {
		return errNoSource
	}
	months := r.Plan.Months
	winStart := r.Date.Add(-chain.Window)
	var total int64
	var empty []string
	for _, m := range months {
		from, to := m.Time, m.End()
		if from.Before(winStart) && len(months) > 1 {
			from = winStart
		}
		if to.After(r.Date) {
			to = r.Date
		}
		res, err := d.src.Crimes(ctx, from, to)
		if err != nil {
			return fmt.Errorf("month %s: %w", m, err)
		}
		n := int64(res.Table.Len())
		total += n
		if n == 0 {
			empty = append(empty, m.String())
		}
		r.Count(n+int64(len(res.Rejects)), n, int64(len(res.Rejects)))
		if _, err := r.PutTable(ctx, chain.RoleCrimes, chain.MonthCrimesKey(m), res.Table); err != nil {
			return err
		}
		if err := r.PutRejects(ctx, chain.RoleCrimeRejects, chain.MonthRejectsKey(m), res.Rejects); err != nil {
			return err
		}
	}
	if total == 0 {
		return runner.Permanentf("no crimes in %s..%s", months[0], months[len(months)-1])
	}
	stations, err := d.src.Stations(ctx)
	if err != nil {
		return err
	}
	if len(stations) == 0 {
		return runner.Permanentf("the stations dataset is empty")
	}
	b, err := geo.StationsCSV(stations)
	if err != nil {
		return fmt.Errorf("encode stations: %w", err)
	}
	if _, err := r.Put(ctx, chain.RoleStations, chain.StationsKey(months[len(months)-1]), b, "text/csv", int64(len(stations))); err != nil {
		return err
	}
	names := make([]string, len(months))
	for i, m := range months {
		names[i] = m.String()
	}
	r.Note("months", names)
	if len(empty) > 0 {
		r.Note("empty_months", empty)
	}
	return nil
}
