// Package merge is the chain's merge step: the run's window from every month
// download handed it (each the version download recorded), the rows dated
// in [run date − 365 days, run date) — cut by the run's date, never by the
// wall clock — with duplicate IDs dropped, the most recently updated record
// kept. Building the window from its twelve months, not from the previous
// window plus the new month, gives the same rows on a monthly cadence and
// stays right when a backfill changed an older month.
package merge

import (
	"context"
	"math"
	"sort"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// Step is the merge step.
var Step = runner.Step{Name: chain.Merge, Run: Run}

// Run writes the run date's window.
func Run(ctx context.Context, r *runner.Run) error {
	parts, err := r.Inputs(chain.RoleCrimes)
	if err != nil {
		return err
	}
	// Oldest month first: of two records of one crime, the later one read
	// (the newer download) wins a tie.
	sort.Slice(parts, func(i, j int) bool { return parts[i].Key < parts[j].Key })
	all, err := r.GetTables(ctx, parts)
	if err != nil {
		return err
	}
	r.Count(int64(all.Len()), 0, 0)
	dates, err := all.Lookup(crime.ColDate, table.Time)
	if err != nil {
		return &runner.Permanent{Err: err}
	}
	// Row numbers only, and one Select at the end: every copy of a year's
	// table is ~60 MB of fresh memory.
	from := r.Date.Add(-chain.Window)
	inWindow := table.RowsDated(dates, from, r.Date)
	rows, err := LatestByID(all, inWindow)
	if err != nil {
		return &runner.Permanent{Err: err}
	}
	out, dups := all, len(inWindow)-len(rows)
	if !identity(rows, all.Len()) { // a first run keeps every row: no copy then
		out = all.Select(rows)
	}
	if out.Len() == 0 {
		return runner.Permanentf("no crimes dated in the window [%s, %s)", chain.Day(from), chain.Day(r.Date))
	}
	if _, err := r.PutTable(ctx, chain.RoleWindow, chain.WindowKey(r.Date), out); err != nil {
		return err
	}
	r.Count(0, int64(out.Len()), 0)
	r.Note("outside_window", all.Len()-len(inWindow))
	r.Note("duplicate_ids", dups)
	return nil
}

// LatestByID keeps one of the given rows of t per id: the one updated last
// (ties: the later row, i.e. the newer download), in the order ids first
// appear. Rows without an id are dropped.
func LatestByID(t *table.Table, candidates []int) ([]int, error) {
	ids, err := t.Lookup(crime.ColID, table.Numeric)
	if err != nil {
		return nil, err
	}
	upd := t.Col(crime.ColUpdatedOn)
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
