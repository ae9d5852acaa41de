package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Window is the rolling window the model learns from: the 365 days before the run date.
const Window = 365 * 24 * time.Hour

// downloadMonths plans a download: the run date and the months to fetch.
// The cron tick and {"as_of"} fetch every month from the one holding the
// newest 12-month file before the run date to the month that ended before it
// (the run's own month up to that day mid-month): one month on a monthly
// cadence, more after a skipped month, so the window never has a hole. On
// the first run (no 12-month file before that date yet), or when the newest
// is older than the window, every month the 365-day window touches;
// {"from","to"} backfills those months.
func downloadMonths(ctx context.Context, env *Env, inv Invocation) ([]Month, time.Time, error) {
	if inv.From != "" {
		from, err := ParseMonth(inv.From)
		if err != nil {
			return nil, time.Time{}, &Permanent{err}
		}
		to, err := ParseMonth(inv.To)
		if err != nil {
			return nil, time.Time{}, &Permanent{err}
		}
		if to.Before(from) {
			return nil, time.Time{}, Permanentf("to %s is before from %s", to, from)
		}
		var months []Month
		for m := from; !to.Before(m); m = m.Next() {
			months = append(months, m)
		}
		return months, to.End(), nil
	}
	date := inv.Date
	if inv.Kind == faas.Cron || date.IsZero() {
		now := time.Now
		if env.Now != nil {
			now = env.Now
		}
		date = chain.RunDate(now().UTC())
	}
	first := MonthOf(date.Add(-Window))
	prev, ok, err := latestRolling(ctx, env, date)
	if err != nil {
		return nil, time.Time{}, err
	}
	if d, _ := rollingDate(prev.Key); ok && first.Before(MonthOf(d)) {
		first = MonthOf(d) // merge appends to that file: fetch from where it ends
	}
	var months []Month
	for m, last := first, LastMonth(date); !last.Before(m); m = m.Next() {
		months = append(months, m)
	}
	return months, date, nil
}

// rollingDate reads the run date of a rolling-window data file key.
func rollingDate(key string) (time.Time, bool) {
	s, ok := strings.CutPrefix(key, "0-raw-data/data/crimes_12m_")
	if !ok || !strings.HasSuffix(s, ".csv") {
		return time.Time{}, false
	}
	d, err := chain.ParseRunDate(strings.TrimSuffix(s, ".csv"))
	return d, err == nil
}

// latestRolling returns the newest rolling file strictly before date.
func latestRolling(ctx context.Context, env *Env, date time.Time) (store.Object, bool, error) {
	objs, err := env.Store.List(ctx, env.Data, "0-raw-data/data/crimes_12m_")
	if err != nil {
		return store.Object{}, false, fmt.Errorf("list rolling files: %w", err)
	}
	best, found := time.Time{}, store.Object{}
	for _, o := range objs {
		if d, ok := rollingDate(o.Key); ok && d.Before(date) && d.After(best) {
			best, found = d, o
		}
	}
	return found, found.Key != "", nil
}

var errNoSource = errors.New("no data source configured")

func init() { Register("download", Download) }

// Download fetches each planned month's crimes (the first month clipped to
// the 365-day window) and the police stations, and writes them under the
// month's folder with the rows the decoder refused. A run that finds no crime
// at all is a permanent failure: retrying will not make an empty month fuller.
func Download(ctx context.Context, r *Run) error {
	if r.Env.Source == nil {
		return errNoSource
	}
	winStart := r.Date.Add(-Window)
	var total int64
	var empty []string
	for _, m := range r.Months {
		from, to := m.Time, m.End()
		if from.Before(winStart) && len(r.Months) > 1 {
			from = winStart
		}
		if to.After(r.Date) {
			to = r.Date
		}
		res, err := r.Env.Source.Crimes(ctx, from, to)
		if err != nil {
			return fmt.Errorf("month %s: %w", m, err)
		}
		n := int64(res.Table.Len())
		total += n
		if n == 0 {
			empty = append(empty, m.String())
		}
		r.Count(n+int64(len(res.Rejects)), n, int64(len(res.Rejects)))
		if _, err := r.PutTable(ctx, MonthlyCrimesKey(m), res.Table); err != nil {
			return err
		}
		if err := r.PutRejects(ctx, MonthlyRejectsKey(m), res.Rejects); err != nil {
			return err
		}
	}
	if total == 0 {
		return Permanentf("no crimes in %s..%s", r.Months[0], r.Months[len(r.Months)-1])
	}
	stations, err := r.Env.Source.Stations(ctx)
	if err != nil {
		return err
	}
	if len(stations) == 0 {
		return Permanentf("the stations dataset is empty")
	}
	b, err := stationsCSV(stations)
	if err != nil {
		return fmt.Errorf("encode stations: %w", err)
	}
	if _, err := r.Put(ctx, "", StationsKey(r.Months[len(r.Months)-1]), b, "text/csv", int64(len(stations))); err != nil {
		return err
	}
	months := make([]string, len(r.Months))
	for i, m := range r.Months {
		months[i] = m.String()
	}
	r.Note("months", months)
	if len(empty) > 0 {
		r.Note("empty_months", empty)
	}
	return nil
}
