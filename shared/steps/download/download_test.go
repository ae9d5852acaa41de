package download

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/steptest"
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

func TestDownloadPlan(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		rolling []time.Time
		inv     runner.Invocation
		date    time.Time
		months  string
	}{
		{name: "first run on the 1st: the 12 months before",
			inv: runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2017, 12, 1)}, date: steptest.Date(2017, 12, 1), months: monthRange("2016-12", "2017-11")},
		{name: "first run mid-month: 13 months, the first clipped by Download",
			inv: runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2018, 1, 15)}, date: steptest.Date(2018, 1, 15), months: monthRange("2017-01", "2018-01")},
		{name: "monthly run: only the month that ended",
			rolling: []time.Time{steptest.Date(2017, 12, 1)},
			inv:     runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2018, 1, 1)}, date: steptest.Date(2018, 1, 1), months: "2017-12"},
		{name: "a rolling file of the same date is not an earlier run (a replay plans the same)",
			rolling: []time.Time{steptest.Date(2017, 12, 1)},
			inv:     runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2017, 12, 1)}, date: steptest.Date(2017, 12, 1), months: monthRange("2016-12", "2017-11")},
		{name: "a later rolling file does not count",
			rolling: []time.Time{steptest.Date(2018, 1, 1)},
			inv:     runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2017, 12, 1)}, date: steptest.Date(2017, 12, 1), months: monthRange("2016-12", "2017-11")},
		{name: "a skipped month is fetched too: every month since the newest rolling file",
			rolling: []time.Time{steptest.Date(2017, 9, 1), steptest.Date(2017, 10, 1)},
			inv:     runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2017, 12, 1)}, date: steptest.Date(2017, 12, 1), months: "2017-10,2017-11"},
		{name: "mid-month cadence: the rest of the previous month too",
			rolling: []time.Time{steptest.Date(2017, 12, 15)},
			inv:     runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2018, 1, 15)}, date: steptest.Date(2018, 1, 15), months: "2017-12,2018-01"},
		{name: "a rolling file older than the window: the whole window",
			rolling: []time.Time{steptest.Date(2016, 1, 1)},
			inv:     runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2017, 12, 1)}, date: steptest.Date(2017, 12, 1), months: monthRange("2016-12", "2017-11")},
		{name: "cron tick: the run date is today",
			rolling: []time.Time{steptest.Date(2018, 1, 1)},
			inv:     runner.Invocation{Kind: faas.Cron}, date: steptest.Date(2018, 2, 1), months: "2018-01"},
		{name: "backfill",
			inv:  runner.Invocation{Kind: faas.Manual, From: "2017-03", To: "2017-05"},
			date: steptest.Date(2017, 6, 1), months: "2017-03,2017-04,2017-05"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := steptest.MemEnv(t, tc.rolling...)
			env.Clock = func() time.Time { return time.Date(2018, 2, 1, 6, 30, 0, 0, time.FixedZone("CST", -6*3600)) }
			months, d, err := plan(ctx, env, tc.inv)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Equal(tc.date) || monthList(months) != tc.months {
				t.Errorf("plan %s [%s], want %s [%s]", chain.Day(d), monthList(months), chain.Day(tc.date), tc.months)
			}
		})
	}
}

func TestDownloadPlanErrors(t *testing.T) {
	ctx := context.Background()
	env, mem := steptest.MemEnv(t)
	for _, inv := range []runner.Invocation{
		{Kind: faas.Manual, From: "2017-05", To: "2017-03"},
		{Kind: faas.Manual, From: "2017-13", To: "2018-01"},
	} {
		if _, _, err := plan(ctx, env, inv); !runner.IsPermanent(err) {
			t.Errorf("%+v: %v, want a permanent error", inv, err)
		}
	}
	mem.FailNth(1, nil)
	_, _, err := plan(ctx, env, runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2018, 1, 1)})
	if err == nil || runner.IsPermanent(err) {
		t.Errorf("store failure while planning: %v, want a transient error", err)
	}
}

// fakeSource serves crimes per month from CSV text and records the ranges asked.
type fakeSource struct {
	rows   map[string]string // month -> portal CSV rows (no header)
	asked  []string
	reject int
}

func (f *fakeSource) Crimes(ctx context.Context, from, to time.Time) (*crime.ReadResult, error) {
	f.asked = append(f.asked, from.Format("2006-01-02")+".."+to.Format("2006-01-02"))
	res, err := crime.ReadPortalCSV(ctx, strings.NewReader(steptest.PortalHeader+f.rows[chain.MonthOf(from).String()]))
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (f *fakeSource) Stations(ctx context.Context) ([]geo.Station, error) {
	return []geo.Station{{District: "1", Name: "Central", Address: "1718 S State St", X: 1176569.052, Y: 1891771.704, Lat: 41.858, Lon: -87.627}}, nil
}

func TestDownloadClipsAndWrites(t *testing.T) {
	ctx := context.Background()
	env, mem := steptest.MemEnv(t)
	src := &fakeSource{rows: map[string]string{
		"2017-01": steptest.CrimeRow(1, "01/20/2017 10:00:00 AM", "", false),
		"2018-01": steptest.CrimeRow(2, "01/03/2018 10:00:00 AM", "", true) + "3,JA3,not a date,X,0820,THEFT,D,STREET,false,false,0111,001,42,32,06,1,2,,41.8,-87.6\n",
	}}
	res := runner.Execute(ctx, env, New(src), runner.Invocation{Kind: faas.Manual, Date: steptest.Date(2018, 1, 15)})
	if res.Status != http.StatusOK || res.Outcome != "done" {
		t.Fatalf("download: %+v", res)
	}
	// First month clipped to the window, last one to the run date.
	if src.asked[0] != "2017-01-15..2017-02-01" || src.asked[len(src.asked)-1] != "2018-01-01..2018-01-15" || len(src.asked) != 13 {
		t.Errorf("ranges asked: %v", src.asked)
	}
	m := res.Manifest
	if m.RowsOut != 2 || m.Rejects != 1 || m.RowsIn != 3 {
		t.Errorf("counts in %d out %d rejects %d, want 3 2 1", m.RowsIn, m.RowsOut, m.Rejects)
	}
	empty, _ := m.Notes["empty_months"].([]string)
	if len(empty) != 11 {
		t.Errorf("empty months noted: %v", m.Notes["empty_months"])
	}
	b, _, err := store.GetBytes(ctx, mem, "data", chain.MonthRejectsKey(chain.MonthOf(steptest.Date(2018, 1, 1))), 0)
	if err != nil || !strings.Contains(string(b), "not a date") {
		t.Errorf("rejects file: %q %v", b, err)
	}
	if _, ok := m.Output(chain.StationsKey(chain.MonthOf(steptest.Date(2018, 1, 1)))); !ok {
		t.Errorf("no stations output in %v", m.Outputs)
	}
	if chain.ManifestKey(chain.Download, steptest.Date(2018, 1, 15)) != "0-raw-data/monthly-data/2018-01/manifest.json" {
		t.Error("manifest key")
	}
}

func TestDownloadNothingIsPermanent(t *testing.T) {
	ctx := context.Background()
	env, mem := steptest.MemEnv(t)
	res := runner.Execute(ctx, env, New(&fakeSource{}), runner.Invocation{Kind: faas.Manual, From: "2018-03", To: "2018-03"})
	if res.Status != http.StatusOK || res.Outcome != "failed" || !strings.Contains(res.Reason, "no crimes in 2018-03..2018-03") {
		t.Errorf("empty month: %+v", res)
	}
	if _, err := mem.Stat(ctx, "data", chain.ManifestKey(chain.Download, steptest.Date(2018, 4, 1))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed download wrote its manifest: %v", err)
	}
}
