package merge

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/steptest"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

func TestLatestByID(t *testing.T) {
	tb := steptest.ReadPortal(t,
		steptest.CrimeRow(1, "01/05/2017 10:00:00 AM", "02/01/2017 10:00:00 AM", false)+
			steptest.CrimeRow(2, "01/06/2017 10:00:00 AM", "02/01/2017 10:00:00 AM", false)+
			steptest.CrimeRow(1, "01/05/2017 10:00:00 AM", "03/01/2017 10:00:00 AM", true)+ // newer update: kept
			steptest.CrimeRow(2, "01/06/2017 10:00:00 AM", "01/15/2017 10:00:00 AM", true)+ // older update: dropped
			steptest.CrimeRow(3, "01/07/2017 10:00:00 AM", "02/01/2017 10:00:00 AM", false)+
			steptest.CrimeRow(3, "01/07/2017 10:00:00 AM", "02/01/2017 10:00:00 AM", true), // tie: the later row
	)
	all := []int{0, 1, 2, 3, 4, 5}
	rows, err := LatestByID(tb, all)
	if err != nil {
		t.Fatal(err)
	}
	out := tb.Select(rows)
	if out.Len() != 3 {
		t.Fatalf("kept %d rows; want 3", out.Len())
	}
	// Only the candidates count: without row 2, row 0 is id 1's only update.
	if rows, _ := LatestByID(tb, []int{0, 1, 3, 4}); !reflect.DeepEqual(rows, []int{0, 1, 4}) {
		t.Errorf("rows %v of candidates [0 1 3 4], want [0 1 4]", rows)
	}
	ids := out.Col("id").Nums
	arrest := out.Col("arrest").Bools
	if !reflect.DeepEqual(ids, []float64{1, 2, 3}) || !reflect.DeepEqual(arrest, []int8{1, 0, 1}) {
		t.Errorf("ids %v arrests %v, want [1 2 3] [1 0 1]", ids, arrest)
	}
}

// Merge builds the window from every month it is handed, in month order
// (download hands the months it fetched and the ones it reused, in no
// particular order), cuts [run date − 365 days, run date) and keeps the
// latest update of a crime that appears in two months.
func TestMergeWindowAndDuplicates(t *testing.T) {
	ctx := context.Background()
	env, mem := steptest.MemEnv(t)
	d := steptest.Date(2018, 1, 1)
	month := func(y int, m time.Month, rows string) runner.Ref {
		return steptest.PutTable(t, mem, chain.RoleCrimes, chain.MonthCrimesKey(chain.MonthOf(steptest.Date(y, m, 1))), steptest.ReadPortal(t, rows))
	}
	// December 2016 is outside (the window starts 2017-01-01); January is in.
	dec16 := month(2016, 12, steptest.CrimeRow(10, "12/31/2016 11:59:59 PM", "", false))
	jan := month(2017, 1, steptest.CrimeRow(11, "01/01/2017 12:00:00 AM", "", false))
	// A November crime whose record moved into December's download when it was updated.
	nov := month(2017, 11, steptest.CrimeRow(12, "11/30/2017 11:00:00 PM", "12/01/2017 09:00:00 AM", false))
	dec := month(2017, 12, steptest.CrimeRow(12, "11/30/2017 11:00:00 PM", "12/20/2017 09:00:00 AM", true)+
		steptest.CrimeRow(13, "12/31/2017 11:59:59 PM", "", true)+
		steptest.CrimeRow(14, "01/01/2018 12:00:00 AM", "", true)) // on the run date: outside
	r := &runner.Run{Env: env, Step: chain.MustLookup(chain.Merge), Date: d,
		Prev: &runner.Manifest{Step: chain.Download, Outputs: []runner.Ref{dec}, Forward: []runner.Ref{nov, dec16, jan}}}
	if err := Run(ctx, r); err != nil {
		t.Fatal(err)
	}
	m := r.Manifest()
	if m.Notes["outside_window"] != 2 || m.Notes["duplicate_ids"] != 1 {
		t.Errorf("notes %v", m.Notes)
	}
	if m.RowsIn != 6 || m.RowsOut != 3 || len(m.Inputs) != 4 || m.Inputs[0].Key != dec16.Key {
		t.Errorf("rows in %d out %d, want 6 3; inputs %v (oldest month first)", m.RowsIn, m.RowsOut, m.Inputs)
	}
	b, _, err := store.GetBytes(ctx, mem, "data", chain.WindowKey(d), 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := crime.ReadCSV(ctx, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out := res.Table
	if got := out.Col("id").Nums; !reflect.DeepEqual(got, []float64{11, 12, 13}) {
		t.Errorf("ids in the window %v, want [11 12 13]", got)
	}
	if got := out.Col("arrest").Bools; !reflect.DeepEqual(got, []int8{0, 1, 1}) {
		t.Errorf("arrests %v: crime 12 must carry its December update", got)
	}
}

func TestMergeRefusesWhatCannotBeFixed(t *testing.T) {
	ctx := context.Background()
	env, mem := steptest.MemEnv(t)
	d := steptest.Date(2018, 1, 1)
	old := steptest.PutTable(t, mem, chain.RoleCrimes, chain.MonthCrimesKey(chain.MonthOf(steptest.Date(2016, 6, 1))), steptest.ReadPortal(t, steptest.CrimeRow(1, "06/01/2016 10:00:00 AM", "", false)))
	st := steptest.Put(t, mem, chain.RoleStations, chain.StationsKey(chain.MonthOf(steptest.Date(2016, 6, 1))), []byte("district\n"))
	for name, outs := range map[string][]runner.Ref{
		"nothing in the window": {old, st},
		"no months":             {st},
	} {
		r := &runner.Run{Env: env, Step: chain.MustLookup(chain.Merge), Date: d, Prev: &runner.Manifest{Outputs: outs}}
		if err := Run(ctx, r); !runner.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
	// Through Execute a manual merge before download ran is refused as a conflict.
	res := runner.Execute(ctx, env, Step, runner.Invocation{Kind: faas.Manual, Date: d})
	if res.Status != http.StatusConflict {
		t.Errorf("merge before download: %+v", res)
	}
}

func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		rows []int
		n    int
		want bool
	}{{nil, 0, true}, {[]int{0, 1, 2}, 3, true}, {[]int{0, 1}, 3, false}, {[]int{0, 2, 1}, 3, false}, {[]int{1, 2, 3}, 3, false}} {
		if got := identity(tc.rows, tc.n); got != tc.want {
			t.Errorf("identity(%v, %d) = %v", tc.rows, tc.n, got)
		}
	}
}
