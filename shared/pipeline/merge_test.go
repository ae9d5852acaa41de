package pipeline

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// distinctRows is pandas' drop_duplicates(keep="first") over every column:
// NaN equals NaN, -0 equals +0, and a difference in any column, text
// included, makes rows distinct.
func TestDistinctRows(t *testing.T) {
	nan := math.NaN()
	tb, err := table.New(
		table.NewNumeric("n", []float64{1, 1, nan, nan, 0, math.Copysign(0, -1), 1, 1}),
		table.NewCategorical("c", []int32{0, 0, table.Missing, table.Missing, 1, 1, 0, 0}, []string{"a", "b"}),
		table.NewBool("b", []int8{1, 1, table.Missing, table.Missing, 0, 0, 1, 1}),
		table.NewTime("t", []int64{5, 5, table.NoTime, table.NoTime, 7, 7, 5, 5}),
		table.NewText("s", []string{"x", "x", "", "", "y", "y", "z", "x"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	got := distinctRows(tb)
	if want := []int{0, 2, 4, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("distinct rows %v, want %v", got, want)
	}
	// Rows whose hashes collide are still told apart by their values.
	if got := distinct(tb, func(int) uint64 { return 42 }); !reflect.DeepEqual(got, []int{0, 2, 4, 6}) {
		t.Errorf("with every hash colliding: %v", got)
	}
}

func readPortal(t *testing.T, rows string) *table.Table {
	t.Helper()
	res, err := crime.ReadPortalCSV(context.Background(), strings.NewReader(portalHeader+rows))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects) > 0 {
		t.Fatalf("rejects: %+v", res.Rejects)
	}
	return res.Table
}

func putTable(t *testing.T, mem *store.Mem, key string, tb *table.Table) Ref {
	t.Helper()
	var buf bytes.Buffer
	if err := crime.WriteCSV(context.Background(), &buf, tb); err != nil {
		t.Fatal(err)
	}
	obj, err := store.PutBytes(context.Background(), mem, "data", key, buf.Bytes(), "text/csv")
	if err != nil {
		t.Fatal(err)
	}
	return Ref{Bucket: "data", Key: key, ETag: obj.ETag}
}

func TestLatestByID(t *testing.T) {
	tb := readPortal(t,
		crimeRow(1, "01/05/2017 10:00:00 AM", "02/01/2017 10:00:00 AM", false)+
			crimeRow(2, "01/06/2017 10:00:00 AM", "02/01/2017 10:00:00 AM", false)+
			crimeRow(1, "01/05/2017 10:00:00 AM", "03/01/2017 10:00:00 AM", true)+ // newer update: kept
			crimeRow(2, "01/06/2017 10:00:00 AM", "01/15/2017 10:00:00 AM", true)+ // older update: dropped
			crimeRow(3, "01/07/2017 10:00:00 AM", "02/01/2017 10:00:00 AM", false)+
			crimeRow(3, "01/07/2017 10:00:00 AM", "02/01/2017 10:00:00 AM", true), // tie: the later row
	)
	all := []int{0, 1, 2, 3, 4, 5}
	rows, err := latestByID(tb, all)
	if err != nil {
		t.Fatal(err)
	}
	out := tb.Select(rows)
	if out.Len() != 3 {
		t.Fatalf("kept %d rows; want 3", out.Len())
	}
	// Only the candidates count: without row 2, row 0 is id 1's only update.
	if rows, _ := latestByID(tb, []int{0, 1, 3, 4}); !reflect.DeepEqual(rows, []int{0, 1, 4}) {
		t.Errorf("rows %v of candidates [0 1 3 4], want [0 1 4]", rows)
	}
	ids := out.Col("id").Nums
	arrest := out.Col("arrest").Bools
	if !reflect.DeepEqual(ids, []float64{1, 2, 3}) || !reflect.DeepEqual(arrest, []int8{1, 0, 1}) {
		t.Errorf("ids %v arrests %v, want [1 2 3] [1 0 1]", ids, arrest)
	}
}

// Merge appends the downloaded months to the newest 12-month file before the
// run date, cuts [run date − 365 days, run date) and keeps the latest update
// of a crime that appears in both.
func TestMergeWindowAndDuplicates(t *testing.T) {
	ctx := context.Background()
	env, mem := memEnv(t)
	d := date(2018, 1, 1)
	// The previous window: one row now too old, one still inside, one updated since.
	prev := putTable(t, mem, RollingKey(date(2017, 12, 1)), readPortal(t,
		crimeRow(10, "12/31/2016 11:59:59 PM", "", false)+
			crimeRow(11, "01/01/2017 12:00:00 AM", "", false)+
			crimeRow(12, "11/30/2017 11:00:00 PM", "12/01/2017 09:00:00 AM", false)))
	// An older rolling file is not used.
	putTable(t, mem, RollingKey(date(2017, 11, 1)), readPortal(t, crimeRow(99, "06/01/2017 10:00:00 AM", "", false)))
	dec := putTable(t, mem, MonthlyCrimesKey(MonthOf(date(2017, 12, 1))), readPortal(t,
		crimeRow(12, "11/30/2017 11:00:00 PM", "12/20/2017 09:00:00 AM", true)+
			crimeRow(13, "12/31/2017 11:59:59 PM", "", true)+
			crimeRow(14, "01/01/2018 12:00:00 AM", "", true))) // on the run date: outside
	st, err := store.PutBytes(ctx, mem, "data", StationsKey(MonthOf(date(2017, 12, 1))), []byte("district\n"), "text/csv")
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Env: env, Step: "merge", Date: d, Prev: &Manifest{Step: "download", Outputs: []Ref{dec, {Bucket: "data", Key: st.Key, ETag: st.ETag}}}}
	if err := Merge(ctx, r); err != nil {
		t.Fatal(err)
	}
	m := r.Manifest()
	if m.Notes["previous_window"] != prev.Key || m.Notes["outside_window"] != 2 || m.Notes["duplicate_ids"] != 1 {
		t.Errorf("notes %v", m.Notes)
	}
	if m.RowsIn != 6 || m.RowsOut != 3 {
		t.Errorf("rows in %d out %d, want 6 3", m.RowsIn, m.RowsOut)
	}
	b, _, err := store.GetBytes(ctx, mem, "data", RollingKey(d), 0)
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
	env, mem := memEnv(t)
	d := date(2018, 1, 1)
	old := putTable(t, mem, MonthlyCrimesKey(MonthOf(date(2016, 6, 1))), readPortal(t, crimeRow(1, "06/01/2016 10:00:00 AM", "", false)))
	st, _ := store.PutBytes(ctx, mem, "data", StationsKey(MonthOf(date(2016, 6, 1))), []byte("district\n"), "text/csv")
	stRef := Ref{Bucket: "data", Key: st.Key, ETag: st.ETag}
	for name, outs := range map[string][]Ref{
		"nothing in the window": {old, stRef},
		"no stations":           {old},
	} {
		r := &Run{Env: env, Step: "merge", Date: d, Prev: &Manifest{Outputs: outs}}
		if err := Merge(ctx, r); !IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
	// Through Execute a manual merge before download ran is refused as a conflict.
	res := Execute(ctx, env, "merge", Invocation{Kind: faas.Manual, Date: d})
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
