// Package download is the chain's first step: fetch the months a run needs
// from the Chicago Data Portal's SODA API (and the police stations), each
// month under its own folder with the records the decoder refused, and
// hand merge every month of the run's window. The cron-connector's tick and
// a manual call start it; a backfill re-fetches months and brings up to
// date every run whose window holds a month that changed (backfill.go).
//
// A run date is the first day of a month: the run for D covers the 365
// days before D, and its newest month is the one that ended before D.
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
)

// Source is where download gets crimes and police stations.
type Source interface {
	// Crimes returns the crimes dated in [from, to) (Chicago wall clock), and
	// the records that could not be read.
	Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error)
	Stations(ctx context.Context) ([]geo.Station, error)
}

// Options tune download; the zero value takes the portal's whole history.
type Options struct {
	// FirstMonth is the data's first month: no run date or backfill reaches
	// before it (the zero value: DefaultFirstMonth).
	FirstMonth chain.Month
}

// DefaultFirstMonth is the Chicago crimes dataset's first month.
var DefaultFirstMonth = chain.Month{Time: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}

// New is the download step fetching from src.
func New(src Source, o Options) runner.Step {
	if o.FirstMonth.IsZero() {
		o.FirstMonth = DefaultFirstMonth
	}
	d := &download{src: src, o: o}
	return runner.Step{Name: chain.Download, Plan: d.plan, Run: d.run, Batch: d.batch}
}

// FromDeps is the download step of a function: the portal its settings name.
func FromDeps(_ context.Context, d *faas.Deps) (runner.Step, error) {
	s := d.Settings()
	src, err := NewPortalSource(s.Socrata, d.Log)
	if err != nil {
		return runner.Step{}, err
	}
	first := DefaultFirstMonth
	if s.DataFirstMonth != "" {
		if first, err = chain.ParseMonth(s.DataFirstMonth); err != nil {
			return runner.Step{}, fmt.Errorf("DATA_FIRST_MONTH: %w", err)
		}
	}
	return New(src, Options{FirstMonth: first}), nil
}

type download struct {
	src Source
	o   Options
}

// plan resolves the run a cron tick or a manual {"as_of": D} starts. The
// tick (or a call without a date) runs for the first day of the current
// month; an explicit date must be the first day of a month, no later than
// the current one, with at least one month of data before it. The run's
// identity is its date: the same run asked again is done already.
func (d *download) plan(_ context.Context, env *runner.Env, inv runner.Invocation) (runner.Plan, error) {
	now := chain.MonthOf(env.Now().UTC())
	date := inv.Date
	if inv.Kind == faas.Cron || date.IsZero() {
		date = now.Time
	}
	if date.Day() != 1 {
		return runner.Plan{}, &runner.Refused{Field: "as_of", Message: fmt.Sprintf(
			"a run date is the first day of a month (the run for %s covers the 365 days before it); %s is not: did you mean %s?",
			chain.Day(chain.MonthOf(date).Time), chain.Day(date), chain.Day(chain.MonthOf(date).Next().Time))}
	}
	if earliest := d.o.FirstMonth.Next(); date.Before(earliest.Time) || date.After(now.Time) {
		return runner.Plan{}, &runner.Refused{Field: "as_of", Message: fmt.Sprintf(
			"run dates go from %s (the data begins in %s) to %s (the current month)", chain.Day(earliest.Time), d.o.FirstMonth, chain.Day(now.Time))}
	}
	return runner.Plan{Date: date, Months: d.window(date), Input: store.Ref{Key: "socrata:" + chain.Day(date)}}, nil
}

// window lists the months of the run date's 365-day window the data has.
func (d *download) window(date time.Time) []chain.Month {
	var months []chain.Month
	for m, last := chain.MonthOf(date.Add(-chain.Window)), chain.MonthOf(date).Prev(); !last.Before(m); m = m.Next() {
		if !m.Before(d.o.FirstMonth) {
			months = append(months, m)
		}
	}
	return months
}

var errNoSource = errors.New("no data source configured")

// run hands merge every month of the window: each month already stored is
// reused as it is (its current version), each one missing is fetched whole
// — on a monthly cadence that is the month that just ended; on a first run
// or after a gap, every month missing. The stations are fetched every run.
// The run's row counts are those of the months it fetched.
// A run that fetches months and finds no crime in any is a permanent
// failure: retrying will not make an empty month fuller.
func (d *download) run(ctx context.Context, r *runner.Run) error {
	if d.src == nil {
		return errNoSource
	}
	var missing []chain.Month
	for _, m := range r.Plan.Months {
		reused, err := d.reuse(ctx, r, m)
		if err != nil {
			return err
		}
		if !reused {
			missing = append(missing, m)
		}
	}
	var fetched []chain.Month
	var total int64
	var empty []string
	err := d.prefetch(ctx, missing, func(m chain.Month, res *crime.ReadResult) error {
		n, err := d.write(ctx, r, m, res)
		if err != nil {
			return err
		}
		fetched, total = append(fetched, m), total+n
		if n == 0 {
			empty = append(empty, m.String())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(fetched) > 0 && total == 0 {
		return runner.Permanentf("no crimes in %s..%s", fetched[0], fetched[len(fetched)-1])
	}
	if err := d.stations(ctx, r, r.Plan.Months[len(r.Plan.Months)-1]); err != nil {
		return err
	}
	r.Note("months", monthNames(r.Plan.Months))
	r.Note("fetched", monthNames(fetched))
	if len(empty) > 0 {
		r.Note("empty_months", empty)
	}
	return nil
}

// reuse hands on month m as stored (with its rejects, if it had any):
// false when it is not stored yet.
func (d *download) reuse(ctx context.Context, r *runner.Run, m chain.Month) (bool, error) {
	obj, err := r.Env.Store.Stat(ctx, r.Env.Buckets.Data, chain.MonthCrimesKey(m))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	twin, err := runner.Twin(ctx, r.Env.Store, obj)
	if err != nil {
		return false, err
	}
	r.Pass(chain.RoleCrimes, runner.Ref{Ref: obj.Ref(), Twin: twin})
	rej, err := r.Env.Store.Stat(ctx, r.Env.Buckets.Data, chain.MonthRejectsKey(m))
	switch {
	case err == nil:
		r.Pass(chain.RoleCrimeRejects, runner.Ref{Ref: rej.Ref()})
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	return true, nil
}

// prefetch fetches months in order and hands each to write, fetching the
// next while write uploads the one before: the portal's answer and the
// store's upload each wait on the network (and on the other program) much
// of their time, and one after the other they left both cores idle. At most
// two months are held at once.
func (d *download) prefetch(ctx context.Context, months []chain.Month, write func(chain.Month, *crime.ReadResult) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type fetched struct {
		res *crime.ReadResult
		err error
	}
	ch := make(chan fetched) // unbuffered: one month being written, one being fetched
	go func() {
		defer close(ch)
		for _, m := range months {
			res, err := d.src.Crimes(ctx, m.Time, m.End())
			if err != nil {
				err = fmt.Errorf("month %s: %w", m, err)
			}
			select {
			case ch <- fetched{res, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for _, m := range months {
		f, ok := <-ch
		if !ok {
			return ctx.Err()
		}
		if f.err != nil {
			return f.err
		}
		if err := write(m, f.res); err != nil {
			return err
		}
	}
	return nil
}

// write writes one whole month as an output of the run; it returns the
// rows kept. The rejects go first: a month's file, once there, has its
// rejects beside it (a later run reuses both).
func (d *download) write(ctx context.Context, r *runner.Run, m chain.Month, res *crime.ReadResult) (int64, error) {
	n := int64(res.Table.Len())
	r.Count(n+int64(len(res.Rejects)), n, int64(len(res.Rejects)))
	if err := r.PutRejects(ctx, chain.RoleCrimeRejects, chain.MonthRejectsKey(m), res.Rejects); err != nil {
		return 0, err
	}
	_, err := r.PutTable(ctx, chain.RoleCrimes, chain.MonthCrimesKey(m), res.Table)
	return n, err
}

// stations fetches the police stations and writes them with month.
func (d *download) stations(ctx context.Context, r *runner.Run, m chain.Month) error {
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
	_, err = r.Put(ctx, chain.RoleStations, chain.StationsKey(m), b, "text/csv", int64(len(stations)))
	return err
}

func monthNames(ms []chain.Month) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out
}
