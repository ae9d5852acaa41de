package download

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/steptest"
	"github.com/arrestcast/arrestcast/internal/storetest"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/geo"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

func monthList(ms []chain.Month) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return strings.Join(s, ",")
}

func monthRange(from, to string) string {
	f, _ := chain.ParseMonth(from)
	l, _ := chain.ParseMonth(to)
	var ms []chain.Month
	for m := f; !l.Before(m); m = m.Next() {
		ms = append(ms, m)
	}
	return monthList(ms)
}

// The clock of these tests: 2018-02-03, 06:30 in Chicago.
func clock() time.Time { return time.Date(2018, 2, 3, 6, 30, 0, 0, time.FixedZone("CST", -6*3600)) }

func testEnv(t *testing.T) (*runner.Env, *storetest.Mem) {
	env, mem := steptest.MemEnv(t)
	env.Clock = clock
	return env, mem
}

func TestPlan(t *testing.T) {
	ctx := context.Background()
	first, _ := chain.ParseMonth("2016-06")
	d := &download{o: Options{FirstMonth: first}}
	env, _ := testEnv(t)
	for _, tc := range []struct {
		name   string
		inv    runner.Invocation
		date   time.Time
		months string
	}{
		{"the cron tick runs for the first day of the current month", runner.Invocation{Kind: faas.Cron},
			steptest.Date(2018, 2, 1), monthRange("2017-02", "2018-01")},
		{"a call without a date is the current month's run", runner.Invocation{Kind: faas.Manual},
			steptest.Date(2018, 2, 1), monthRange("2017-02", "2018-01")},
		{"a run date: the twelve months before it", runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2017, 12, 1)},
			steptest.Date(2017, 12, 1), monthRange("2016-12", "2017-11")},
		{"months before the data are not asked for", runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2017, 1, 1)},
			steptest.Date(2017, 1, 1), monthRange("2016-06", "2016-12")},
		{"after a leap day the window starts on the 2nd: its month is fetched whole", runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2017, 4, 1)},
			steptest.Date(2017, 4, 1), monthRange("2016-06", "2017-03")},
	} {
		p, err := d.plan(ctx, env, tc.inv)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !p.Date.Equal(tc.date) || monthList(p.Months) != tc.months || p.Input.Key != "socrata:"+chain.Day(tc.date) {
			t.Errorf("%s: plan %s [%s] %s, want %s [%s]", tc.name, chain.Day(p.Date), monthList(p.Months), p.Input.Key, chain.Day(tc.date), tc.months)
		}
	}
	for _, tc := range []struct {
		date time.Time
		want string
	}{
		{steptest.Date(2018, 1, 15), "did you mean 2018-02-01"},          // mid-month
		{steptest.Date(2018, 3, 1), "to 2018-02-01 (the current month)"}, // the future
		{steptest.Date(2016, 6, 1), "from 2016-07-01 (the data begins in 2016-06)"},
	} {
		_, err := d.plan(ctx, env, runner.Invocation{Kind: faas.Manual, Date: tc.date})
		var refused *runner.Refused
		if !errors.As(err, &refused) || refused.Field != "as_of" || !strings.Contains(refused.Message, tc.want) {
			t.Errorf("as_of %s: %v, want refused naming as_of (%q)", chain.Day(tc.date), err, tc.want)
		}
	}
}

// fakeSource serves crimes per month from CSV text and records the ranges asked.
type fakeSource struct {
	rows  map[string]string // month -> portal CSV rows (no header)
	asked []string
}

func (f *fakeSource) Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error) {
	f.asked = append(f.asked, from.Format("2006-01-02")+".."+to.Format("2006-01-02"))
	return crime.ReadPortalCSV(ctx, strings.NewReader(steptest.PortalHeader+f.rows[chain.MonthOf(from).String()]))
}

func (f *fakeSource) Stations(ctx context.Context) ([]geo.Station, error) {
	return []geo.Station{{District: "1", Name: "Central", Address: "1718 S State St", X: 1176569.052, Y: 1891771.704, Lat: 41.858, Lon: -87.627}}, nil
}

// A first run fetches every month of its window whole and hands them all
// on; the next monthly run fetches the month that ended and reuses the
// eleven it has; asked again, it is done already.
func TestDownloadFetchesWhatIsMissing(t *testing.T) {
	ctx := context.Background()
	env, mem := testEnv(t)
	src := &fakeSource{rows: map[string]string{
		"2017-01": steptest.CrimeRow(1, "01/20/2017 10:00:00 AM", "", false),
		"2017-12": steptest.CrimeRow(2, "12/03/2017 10:00:00 AM", "", true) + "3,JA3,not a date,X,0820,THEFT,D,STREET,false,false,0111,001,42,32,06,1,2,,41.8,-87.6\n",
		"2018-01": steptest.CrimeRow(4, "01/03/2018 10:00:00 AM", "", true),
	}}
	step := New(src, Options{})
	res := runner.Execute(ctx, env, step, runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2018, 1, 1)})
	if res.Status != http.StatusOK || res.Outcome != "done" {
		t.Fatalf("download: %+v", res)
	}
	if len(src.asked) != 12 || src.asked[0] != "2017-01-01..2017-02-01" || src.asked[11] != "2017-12-01..2018-01-01" {
		t.Errorf("ranges asked: %v", src.asked)
	}
	m := res.Manifest
	if m.RowsOut != 2 || m.Rejects != 1 || m.RowsIn != 3 || len(m.Offers(chain.RoleCrimes)) != 12 {
		t.Errorf("counts in %d out %d rejects %d, %d months offered", m.RowsIn, m.RowsOut, m.Rejects, len(m.Offers(chain.RoleCrimes)))
	}
	b, _, err := store.GetBytes(ctx, mem, "data", chain.MonthRejectsKey(chain.MonthOf(steptest.Date(2017, 12, 1))), 0)
	if err != nil || !strings.Contains(string(b), "not a date") {
		t.Errorf("rejects file: %q %v", b, err)
	}
	if _, ok := m.Output(chain.StationsKey(chain.MonthOf(steptest.Date(2017, 12, 1)))); !ok {
		t.Errorf("no stations output in %v", m.Outputs)
	}

	src.asked = nil
	res = runner.Execute(ctx, env, step, runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2018, 2, 1)})
	if res.Outcome != "done" || len(src.asked) != 1 || src.asked[0] != "2018-01-01..2018-02-01" {
		t.Fatalf("monthly run: %+v, asked %v", res, src.asked)
	}
	if got := res.Manifest.Offers(chain.RoleCrimes); len(got) != 12 || len(res.Manifest.Outputs) != 2 {
		t.Errorf("monthly run offers %d months, writes %d objects (the month and the stations)", len(got), len(res.Manifest.Outputs))
	}
	src.asked = nil
	for _, inv := range []runner.Invocation{{Kind: faas.Manual, Date: steptest.Date(2018, 2, 1)}, {Kind: faas.Cron}} {
		if res := runner.Execute(ctx, env, step, inv); res.Outcome != "already-done" || len(src.asked) != 0 {
			t.Errorf("%v again: %+v, asked %v", inv.Kind, res, src.asked)
		}
	}
}

func TestDownloadNothingIsPermanent(t *testing.T) {
	ctx := context.Background()
	env, mem := testEnv(t)
	res := runner.Execute(ctx, env, New(&fakeSource{}, Options{}), runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2018, 1, 1)})
	if res.Status != http.StatusOK || res.Outcome != "failed" || !strings.Contains(res.Reason, "no crimes in 2017-01..2017-12") {
		t.Errorf("empty months: %+v", res)
	}
	if _, err := mem.Stat(ctx, "data", chain.ManifestKey(chain.Download, steptest.Date(2018, 1, 1))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed download wrote its manifest: %v", err)
	}
}

// A backfill writes the months whose records changed, leaves the others,
// and begins a new generation of each run whose window holds a changed
// month; asked again it changes nothing. Its months are checked.
func TestBackfill(t *testing.T) {
	ctx := context.Background()
	env, mem := testEnv(t)
	src := &fakeSource{rows: map[string]string{}}
	for m := chain.MonthOf(steptest.Date(2016, 12, 1)); m.Before(chain.MonthOf(steptest.Date(2018, 1, 1))); m = m.Next() {
		src.rows[m.String()] = steptest.CrimeRow(m.Year()*100+int(m.Month()), m.Format("01")+"/10/"+m.Format("2006")+" 10:00:00 AM", "", false)
	}
	step := New(src, Options{})
	for _, d := range []time.Time{steptest.Date(2017, 12, 1), steptest.Date(2018, 1, 1)} {
		if res := runner.Execute(ctx, env, step, runner.Invocation{Kind: faas.Manual, Date: d}); res.Outcome != "done" {
			t.Fatalf("run %s: %+v", chain.Day(d), res)
		}
	}
	manifest := func(d time.Time) *runner.Manifest {
		m, err := readManifestFor(ctx, mem, d)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	g1 := manifest(steptest.Date(2018, 1, 1)).Generation

	backfill := func(from, to string) runner.Result {
		t.Helper()
		return runner.Execute(ctx, env, step, runner.Invocation{Kind: faas.Manual, From: from, To: to})
	}
	// Nothing changed: nothing written, no run rebuilt.
	res := backfill("2017-11", "2017-12")
	rep, _ := res.Detail.(*Backfill)
	if res.Outcome != "done" || rep == nil || len(rep.Changed) != 0 || len(rep.Unchanged) != 2 || len(rep.Runs) != 0 {
		t.Fatalf("backfill of unchanged months: %+v %+v", res, rep)
	}
	// December gets a late arrest: only 2018-01-01's window holds it.
	src.rows["2017-12"] = steptest.CrimeRow(201712, "12/10/2017 10:00:00 AM", "01/20/2018 10:00:00 AM", true)
	res = backfill("2017-11", "2017-12")
	rep, _ = res.Detail.(*Backfill)
	if res.Outcome != "done" || rep == nil || strings.Join(rep.Changed, ",") != "2017-12" || len(rep.Runs) != 1 ||
		rep.Runs[0].RunDate != "2018-01-01" || rep.Runs[0].Outcome != "done" {
		t.Fatalf("backfill of a changed month: %+v %+v", res, rep)
	}
	if g := manifest(steptest.Date(2018, 1, 1)).Generation; g == g1 || !strings.HasPrefix(g, "rebuild:2018-01-01:") {
		t.Errorf("generation after the backfill %q (before %q)", g, g1)
	}
	if g := manifest(steptest.Date(2017, 12, 1)).Generation; g != "socrata:2017-12-01" {
		t.Errorf("2017-12-01, whose window does not hold December, is now %q", g)
	}
	// The same backfill again: nothing left to change.
	if res := backfill("2017-11", "2017-12"); res.Outcome != "done" || len(res.Detail.(*Backfill).Runs) != 0 {
		t.Errorf("the same backfill again: %+v", res)
	}
	for _, c := range []struct{ from, to, field, want string }{
		{"2000-12", "2001-02", "from", "from 2001-01 (the data begins)"},
		{"2017-12", "2018-02", "to", "to 2018-01 (the last complete month)"},
	} {
		res := backfill(c.from, c.to)
		if res.Status != http.StatusBadRequest || res.Outcome != "refused" || res.Field != c.field || !strings.Contains(res.Reason, c.want) {
			t.Errorf("backfill %s..%s: %+v, want 400 naming %s", c.from, c.to, res, c.field)
		}
	}
}

func readManifestFor(ctx context.Context, st store.Store, d time.Time) (*runner.Manifest, error) {
	b, _, err := store.GetBytes(ctx, st, chain.DataBucket, chain.ManifestKey(chain.Download, d), 0)
	if err != nil {
		return nil, err
	}
	var m runner.Manifest
	return &m, json.Unmarshal(b, &m)
}
