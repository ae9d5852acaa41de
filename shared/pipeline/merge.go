package pipeline

import (
	"context"
	"math"
	"strings"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

func init() { Register("merge", Merge) }

// Merge appends the downloaded months to the newest 12-month file before the
// run date, keeps the rows dated in [run date − 365 days, run date) — cut by
// the run's date, never by the wall clock — and drops duplicate IDs, keeping
// the most recently updated record.
func Merge(ctx context.Context, r *Run) error {
	var parts []Ref // the previous window first, then the months: the order rows are met in
	prev, ok, err := latestRolling(ctx, r.Env, r.Date)
	if err != nil {
		return err
	}
	if ok {
		parts = append(parts, Ref{Key: prev.Key, Size: prev.Size})
		r.Note("previous_window", prev.Key)
	}
	var stations string
	for _, o := range r.Prev.Outputs {
		switch {
		case strings.HasSuffix(o.Key, "/crimes.csv"):
			parts = append(parts, o)
		case strings.HasSuffix(o.Key, "/police_stations.csv"):
			stations = o.Key
		}
	}
	if stations == "" {
		return Permanentf("download's manifest names no police stations file")
	}
	if len(parts) == 0 {
		return Permanentf("download's manifest names no crimes file")
	}
	all, err := r.GetTables(ctx, parts)
	if err != nil {
		return err
	}
	r.Count(int64(all.Len()), 0, 0)
	lo, hi := table.WallSeconds(r.Date.Add(-Window)), table.WallSeconds(r.Date)
	dates, err := all.Lookup("date", table.Time)
	if err != nil {
		return &Permanent{err}
	}
	// Row numbers only, and one Select at the end: every copy of a year's
	// table is ~60 MB of fresh memory.
	inWindow := make([]int, 0, all.Len())
	for i, d := range dates.Times {
		if d != table.NoTime && d >= lo && d < hi {
			inWindow = append(inWindow, i)
		}
	}
	rows, err := latestByID(all, inWindow)
	if err != nil {
		return &Permanent{err}
	}
	out, dups := all, len(inWindow)-len(rows)
	if !identity(rows, all.Len()) { // a first run keeps every row: no copy then
		out = all.Select(rows)
	}
	if out.Len() == 0 {
		return Permanentf("no crimes dated in the window [%s, %s)", day(r.Date.Add(-Window)), day(r.Date))
	}
	if _, err := r.PutTable(ctx, RollingKey(r.Date), out); err != nil {
		return err
	}
	r.Count(0, int64(out.Len()), 0)
	r.Note("outside_window", all.Len()-len(inWindow))
	r.Note("duplicate_ids", dups)
	r.Note("stations", stations)
	return nil
}

// latestByID keeps one of the given rows of t per id: the one updated last
// (ties: the later row, i.e. the newer download), in the order ids first
// appear. Rows without an id are dropped.
func latestByID(t *table.Table, candidates []int) ([]int, error) {
	ids, err := t.Lookup("id", table.Numeric)
	if err != nil {
		return nil, err
	}
	upd := t.Col("updated_on")
	best := make(map[int64]int, len(candidates))
	order := make([]int64, 0, len(candidates))
	for _, i := range candidates {
		v := ids.Nums[i]
		if math.IsNaN(v) {
			continue
		}
		id := int64(v)
		j, seen := best[id]
		if !seen {
			best[id] = i
			order = append(order, id)
			continue
		}
		if upd == nil || upd.Kind != table.Time || upd.Times[i] >= upd.Times[j] {
			best[id] = i
		}
	}
	rows := make([]int, len(order))
	for k, id := range order {
		rows[k] = best[id]
	}
	return rows, nil
}

// identity reports whether rows is 0, 1, ..., n-1.
func identity(rows []int, n int) bool {
	if len(rows) != n {
		return false
	}
	for i, r := range rows {
		if r != i {
			return false
		}
	}
	return true
}
