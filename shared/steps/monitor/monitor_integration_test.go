//go:build integration

package monitor_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/internal/chaintest"
	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/standin"
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/platform/alert"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/predict"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/monitor"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// portal is the bundled export's header and column positions.
type portal struct {
	header []string
	col    map[string]int
}

func newPortal(header []string) portal {
	p := portal{header: header, col: map[string]int{}}
	for i, h := range header {
		p.col[h] = i
	}
	return p
}

const exportDate = "01/02/2006 03:04:05 PM"

// redate moves a record to month m (a time.Time on its 1st), keeping its
// weekday and time of day, so everything but the season is as it was; it
// gets a fresh id.
func (p portal) redate(rec []string, m time.Time, id int) []string {
	out := append([]string(nil), rec...)
	d, err := time.Parse(exportDate, rec[p.col["Date"]])
	if err != nil {
		panic(err)
	}
	first := m
	for first.Weekday() != d.Weekday() {
		first = first.AddDate(0, 0, 1)
	}
	weeks := 0
	for first.AddDate(0, 0, 7*(weeks+1)).Month() == m.Month() {
		weeks++
	}
	day := first.AddDate(0, 0, 7*((d.Day()-1)/7%(weeks+1)))
	nd := time.Date(day.Year(), day.Month(), day.Day(), d.Hour(), d.Minute(), d.Second(), 0, time.UTC)
	out[p.col["Date"]] = nd.Format(exportDate)
	out[p.col["ID"]] = strconv.Itoa(id)
	out[p.col["Case Number"]] = fmt.Sprintf("ZZ%07d", id)
	return out
}

// variant is one synthetic month of 2018 and the alerts it must raise.
type variant struct {
	month  string
	what   string
	change func(p portal, base [][]string) [][]string
	kinds  []string // alert kinds it must raise (none: no alert at all)
	field  string   // the field that must alert, when a field's drift is the point
}

func csvBytes(t *testing.T, header []string, recs [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	w.WriteAll(recs)
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// receiver is the operator's webhook.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	posts []alert.Payload
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var p alert.Payload
		b, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(b, &p); err != nil || p.Text == "" {
			t.Errorf("webhook body %s: %v", b, err)
		}
		r.mu.Lock()
		r.posts = append(r.posts, p)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) kinds(month string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.posts {
		if p.ArrestCast.Month == month {
			out = append(out, p.ArrestCast.Kind)
		}
	}
	slices.Sort(out)
	return out
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.posts)
}

// TestMonitorMonths runs the real chain on every 4th crime of 2017 (the
// first run, as of 2017-12-01, trains model v1 and its profile), then
// serves six synthetic months of 2018 made of those records, each with one
// thing changed, and a month of genuine December 2017: the monitor must
// find exactly what was changed. It also re-fetches a month with late
// arrest updates (a backfill: the history keeps both reports), checks the
// realized metrics against predict's own handler, the history over GET
// and the alerts a local webhook receives (once each).
func TestMonitorMonths(t *testing.T) {
	header, recs := chaintest.Crimes2017(t)
	p := newPortal(header)
	var slice, window [][]string // every 4th crime; those of January-November
	for i := 0; i < len(recs); i += 4 {
		slice = append(slice, recs[i])
		if recs[i][p.col["Date"]][:2] != "12" {
			window = append(window, recs[i])
		}
	}
	// The base month: every 11th crime of the window (the size of a month),
	// drawn from the distribution the model learned but held out of what it
	// trains on — new records, as a month's are: a record the model trained
	// on has in-sample target encodings (its own label in its place's mean),
	// which a new month's records never have.
	var base [][]string
	held := map[*string]bool{}
	for i := 0; i < len(window); i += 11 {
		base = append(base, window[i])
		held[&window[i][0]] = true
	}
	kept := slice[:0:0]
	for _, r := range slice {
		if !held[&r[0]] {
			kept = append(kept, r)
		}
	}
	slice = kept
	arrest, ptype, xcol, ward := p.col["Arrest"], p.col["Primary Type"], p.col["X Coordinate"], p.col["Ward"]
	var xSD float64
	{
		var s, ss float64
		var n int
		for _, r := range window {
			if v, err := strconv.ParseFloat(r[xcol], 64); err == nil {
				s, ss, n = s+v, ss+v*v, n+1
			}
		}
		xSD = math.Sqrt(ss/float64(n) - (s/float64(n))*(s/float64(n)))
	}
	edit := func(f func(i int, r []string) ([]string, bool)) func(portal, [][]string) [][]string {
		return func(_ portal, in [][]string) [][]string {
			var out [][]string
			for i, r := range in {
				c := append([]string(nil), r...)
				if c, keep := f(i, c); keep {
					out = append(out, c)
				}
			}
			return out
		}
	}
	variants := []variant{
		{month: "2018-01", what: "drawn from the training distribution", kinds: nil},
		{month: "2018-02", what: "half the arrests gone", kinds: []string{monitor.KindLabelShift},
			change: edit(func(i int, r []string) ([]string, bool) {
				if r[arrest] == "true" && i%2 == 0 {
					r[arrest] = "false"
				}
				return r, true
			})},
		{month: "2018-03", what: "NARCOTICS share halved", kinds: []string{monitor.KindDrift}, field: crime.ColPrimaryType,
			change: func() func(portal, [][]string) [][]string {
				n := 0
				return edit(func(_ int, r []string) ([]string, bool) {
					if r[ptype] == "NARCOTICS" {
						n++
						return r, n%2 == 1
					}
					return r, true
				})
			}()},
		{month: "2018-04", what: "x_coordinate half a standard deviation east", kinds: []string{monitor.KindDrift}, field: crime.ColX,
			change: edit(func(_ int, r []string) ([]string, bool) {
				if v, err := strconv.ParseFloat(r[xcol], 64); err == nil {
					r[xcol] = strconv.Itoa(int(v + 0.5*xSD))
				}
				return r, true
			})},
		{month: "2018-05", what: "ward emptied", kinds: []string{monitor.KindEmptyColumn}, field: crime.ColWard,
			change: edit(func(_ int, r []string) ([]string, bool) {
				r[ward] = ""
				return r, true
			})},
		{month: "2018-06", what: "30% of the usual rows", kinds: []string{monitor.KindVolume},
			change: edit(func(i int, r []string) ([]string, bool) { return r, i%10 < 3 })},
	}
	id := 90_000_000
	served := append([][]string(nil), slice...)
	for _, v := range variants {
		m, _ := time.Parse("2006-01", v.month)
		rows := base
		if v.change != nil {
			rows = v.change(p, base)
		}
		for _, r := range rows {
			id++
			served = append(served, p.redate(r, m, id))
		}
	}
	// The portal can be switched to another export (the backfill's).
	var portalNow atomic.Pointer[http.Handler]
	f := chaintest.New(t, chaintest.Options{
		Crimes: csvBytes(t, header, served),
		Portal: func(h http.Handler) http.Handler {
			portalNow.Store(&h)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*portalNow.Load()).ServeHTTP(w, r) })
		},
	})
	hook := newReceiver(t)
	notifier, err := alert.Open(f.Ctx, f.Pool, &alert.Sender{URL: hook.URL}, "monitor", f.Env.Log)
	if err != nil {
		t.Fatal(err)
	}
	mon := monitor.New(monitor.Options{Champions: f.Reg, Reports: f.Reports, Alerts: notifier})
	fn := runner.Prepared(faas.NewDeps(chain.Monitor, config.Reader{SecretsDir: f.Secrets}), f.Env, mon)
	call := func(body []byte) chaintest.Answer {
		t.Helper()
		req := handler.Request{Method: http.MethodPost, Header: http.Header{"Authorization": {"Bearer " + chaintest.Token}}, Body: body}
		req.WithContext(f.Ctx)
		res := fn.Handle(req)
		return chaintest.DecodeAnswer(t, res.StatusCode, res.Body)
	}

	// The first run: model v1, trained on the window, and its profile.
	d1 := chaintest.RunDate("2017-12-01")
	f.RunUpTo(chain.Monitor, d1)
	champ, err := f.Reg.Champion(f.Ctx)
	if err != nil || champ.Version != 1 || champ.Profile == nil || champ.Profile.Key != chain.ProfileKey(d1) {
		t.Fatalf("champion %+v %v: want v1 with its profile", champ, err)
	}
	if a := call(f.TriggerBody(chain.Monitor, d1)); a.Result.Outcome != "done" {
		t.Fatalf("monitor of the first run: %v", a)
	}
	first := readReport(t, f, chain.MonthOf(time.Date(2017, 11, 1, 0, 0, 0, 0, time.UTC)), 0)
	if first.Model != nil || first.Volume == 0 || first.UsualVolume == nil || len(first.Trailing) != 6 {
		t.Errorf("November, which v1 learned from: %+v", first)
	}

	reports := map[string]*monitor.Report{}
	runMonth := func(month string) *monitor.Report {
		t.Helper()
		m, _ := chain.ParseMonth(month)
		d := m.End()
		if a := f.Call(chain.Download, http.MethodPost, chaintest.Token, []byte(`{"as_of":"`+chain.Day(d)+`"}`), nil); a.Result.Outcome != "done" {
			t.Fatalf("download %s: %v", chain.Day(d), a)
		}
		start := time.Now()
		if a := call(f.TriggerBody(chain.Monitor, d)); a.Status != http.StatusOK || a.Result.Outcome != "done" {
			t.Fatalf("monitor %s: %v", month, a)
		}
		rep := readReport(t, f, m, 1)
		t.Logf("%s: %s in %.2fs, %d records (%d scored, %d refused), alerts %v", month, rep.Verdict, time.Since(start).Seconds(),
			rep.Volume, rep.Scored, rep.Refused, rep.Alerts)
		reports[month] = rep
		return rep
	}

	// Genuine December 2017: a month the model never saw.
	dec := runMonth("2017-12")
	if dec.Model == nil || dec.Model.Version != 1 || dec.Realized == nil || dec.Realized.ROCAUC == nil {
		t.Fatalf("December: %+v", dec)
	}
	for _, a := range dec.Alerts {
		if a.Kind == monitor.KindVolume || a.Kind == monitor.KindEmptyColumn || a.Kind == monitor.KindPerformance {
			t.Errorf("December raised %s: %s", a.Kind, a.Message)
		}
	}
	t.Logf("December: ROC-AUC %.4f against its test %.4f; verdict %s, worst field %q, drifted %.2f",
		*dec.Realized.ROCAUC, *dec.TestROCAUC, dec.Verdict, dec.WorstField, dec.DriftedShare)

	for _, v := range variants {
		rep := runMonth(v.month)
		var kinds []string
		for _, a := range rep.Alerts {
			kinds = append(kinds, a.Kind)
		}
		if v.kinds == nil {
			if len(kinds) != 0 || rep.Verdict == monitor.Alert {
				t.Errorf("%s (%s): alerts %v, want none", v.month, v.what, rep.Alerts)
			}
			for _, fd := range rep.Fields {
				if fd.Status == monitor.Alert {
					t.Errorf("%s (%s): field %s alerts: %+v", v.month, v.what, fd.Field, fd)
				}
			}
			continue
		}
		for _, k := range v.kinds {
			if !slices.Contains(kinds, k) {
				t.Errorf("%s (%s): alerts %v, want %s", v.month, v.what, rep.Alerts, k)
			}
		}
		if v.field != "" {
			fd, ok := field(rep, v.field)
			if !ok || fd.Status != monitor.Alert {
				t.Errorf("%s (%s): %s is %+v, want alert", v.month, v.what, v.field, fd)
			}
		}
		// The webhook heard of every alert of the month, once each.
		want := slices.Clone(kinds)
		slices.Sort(want)
		if got := hook.kinds(v.month); !slices.Equal(got, want) {
			t.Errorf("%s: webhook got %v, want %v", v.month, got, want)
		}
	}
	if fd, _ := field(reports["2018-03"], crime.ColPrimaryType); len(fd.Shifts) == 0 || !strings.HasPrefix(fd.Shifts[0], "NARCOTICS") {
		t.Errorf("the NARCOTICS month names no NARCOTICS shift: %+v", fd)
	}
	if fd, _ := field(reports["2018-04"], crime.ColX); fd.KS == nil || *fd.KS < 0.1 {
		t.Errorf("shifted x_coordinate: %+v", fd)
	}
	jan := reports["2018-01"]
	if jan.ReferenceArrestRate == nil || math.Abs(*jan.ArrestRate-*jan.ReferenceArrestRate) > 0.02 {
		t.Errorf("base month arrest rate %v, reference %v", jan.ArrestRate, jan.ReferenceArrestRate)
	}
	if feb := reports["2018-02"]; *feb.ArrestRate > *jan.ArrestRate*0.6 {
		t.Errorf("arrests halved, yet the rate is %.3f (base %.3f)", *feb.ArrestRate, *jan.ArrestRate)
	}

	// Realized metrics are what predict's own handler gives on the month.
	checkAgainstPredict(t, f, chain.MonthOf(time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)), jan)

	// Replays: the same event, and a manual call, do nothing new.
	posts, rows := hook.count(), historyLen(t, f, "2018-01")
	d := chaintest.RunDate("2018-02-01")
	for _, body := range [][]byte{f.TriggerBody(chain.Monitor, d), []byte(`{"as_of":"2018-02-01"}`)} {
		if a := call(body); a.Result.Outcome != "already-done" {
			t.Errorf("replay: %v", a)
		}
	}
	if hook.count() != posts || historyLen(t, f, "2018-01") != rows {
		t.Errorf("replays sent %d alerts, added %d rows", hook.count()-posts, historyLen(t, f, "2018-01")-rows)
	}

	// A backfill re-fetches January with late arrest updates: a new version
	// of the month and a new download manifest. The month is reported
	// again; the history keeps both, newest first.
	var updated [][]string
	flipped := 0
	for _, r := range served {
		c := append([]string(nil), r...)
		if date := c[p.col["Date"]]; date[:3] == "01/" && date[6:10] == "2018" && c[arrest] == "false" {
			if flipped++; flipped%20 == 0 { // an arrest made late, for one in 20 open cases
				c[arrest] = "true"
			}
		}
		updated = append(updated, c)
	}
	stations, err := os.ReadFile(repo.Path(repo.Stations))
	if err != nil {
		t.Fatal(err)
	}
	data, err := standin.LoadReaders(bytes.NewReader(csvBytes(t, header, updated)), bytes.NewReader(stations))
	if err != nil {
		t.Fatal(err)
	}
	late, err := standin.New(data, standin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = late
	portalNow.Store(&h)
	if a := f.Call(chain.Download, http.MethodPost, chaintest.Token, []byte(`{"from":"2018-01","to":"2018-01"}`), nil); a.Result.Outcome != "done" {
		t.Fatalf("backfill of January: %v", a)
	}
	if a := call(f.TriggerBody(chain.Monitor, d)); a.Result.Outcome != "done" {
		t.Fatalf("monitor after the backfill: %v", a)
	}
	hist, err := f.Reports.History(f.Ctx, chain.MonthOf(d.AddDate(0, -1, 0)), 0)
	if err != nil || len(hist) != 2 || !hist[0].ComputedAt.After(hist[1].ComputedAt) || hist[0].Input == hist[1].Input {
		t.Fatalf("January's history after the backfill: %+v %v", hist, err)
	}
	if *hist[0].ArrestRate <= *hist[1].ArrestRate || hist[0].Volume != hist[1].Volume {
		t.Errorf("the recomputed report: arrest rate %.4f (was %.4f), volume %d (was %d)", *hist[0].ArrestRate, *hist[1].ArrestRate, hist[0].Volume, hist[1].Volume)
	}
	// Only what the recomputation found anew is told (alerts are per month
	// and kind: the arrests made late cost the model ROC-AUC).
	recomputed := readReport(t, f, chain.MonthOf(d.AddDate(0, -1, 0)), 1)
	var want []string
	for _, a := range recomputed.Alerts {
		want = append(want, a.Kind)
	}
	slices.Sort(want)
	if got := hook.kinds("2018-01"); !slices.Equal(got, want) {
		t.Errorf("January's alerts after the backfill: webhook %v, report %v", got, recomputed.Alerts)
	}
	posts = hook.count()

	// GET: the history newest first; ?month one report.
	srv := &monitor.Server{Step: fn, Connect: func(context.Context) (*monitor.Reports, store.Store, error) { return f.Reports, f.Raw, nil }}
	get := func(q string) chaintest.Answer {
		res := srv.Handle(handler.Request{Method: http.MethodGet, QueryString: q})
		return chaintest.DecodeAnswer(t, res.StatusCode, res.Body)
	}
	all := get("")
	list, _ := all.Body["reports"].([]any)
	if all.Status != 200 || all.Body["step"] != chain.Monitor || len(list) != 8 {
		t.Fatalf("GET: %d, %d reports", all.Status, len(list))
	}
	var months []string
	for _, r := range list {
		months = append(months, r.(map[string]any)["month"].(string))
	}
	if !slices.IsSortedFunc(months, func(a, b string) int { return strings.Compare(b, a) }) || months[0] != "2018-06" || months[5] != "2018-01" || months[6] != "2018-01" {
		t.Errorf("history months %v, want newest first, January twice", months)
	}
	one := get("month=2018-01")
	rep, _ := one.Body["report"].(map[string]any)
	revs, _ := one.Body["revisions"].([]any)
	if one.Status != 200 || rep["month"] != "2018-01" || len(revs) != 2 || rep["input"].(map[string]any)["etag"] == nil {
		t.Errorf("GET ?month=2018-01: %d %v revisions %d", one.Status, rep["month"], len(revs))
	}
	if a := get("month=2016-01"); a.Status != 404 || a.Body["field"] != "month" {
		t.Errorf("a month without a report: %v", a)
	}

	// The watch: v1's promotion, a failed run and a stalled one, each told once.
	failedRun := chaintest.RunDate("2019-03-01")
	r1, _, err := f.Tracker.Begin(f.Ctx, failedRun, chain.Merge, []runs.Ref{{Bucket: "data", Key: "x", ETag: "1"}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Tracker.Fail(f.Ctx, r1, fmt.Errorf("window: no such month"), true); err != nil {
		t.Fatal(err)
	}
	stalled := chaintest.RunDate("2019-04-01")
	if _, _, err := f.Tracker.Begin(f.Ctx, stalled, chain.Enrich, []runs.Ref{{Bucket: "data", Key: "y", ETag: "1"}}, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	before := hook.count()
	w := &monitor.Watch{Runs: f.Tracker, Promotions: f.Reg, Alerts: notifier, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
	found, err := w.Check(f.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range found {
		kinds = append(kinds, a.Kind)
	}
	for _, k := range []string{monitor.KindRunFailed, monitor.KindRunStalled, monitor.KindChampionChanged} {
		if !slices.Contains(kinds, k) {
			t.Errorf("watch found %v, want %s", kinds, k)
		}
	}
	sent := hook.count() - before
	if _, err := w.Check(f.Ctx); err != nil || hook.count() != before+sent || sent < 3 {
		t.Errorf("watch sent %d, then %d more (%v)", sent, hook.count()-before-sent, err)
	}
	if got := hook.kinds("2019-03"); !slices.Equal(got, []string{monitor.KindRunFailed}) {
		t.Errorf("the failed run's alerts: %v", got)
	}

	// The webhook is down: the step is done all the same, the alert waits
	// in the table and goes out on a later retry. (June is re-fetched as
	// it was, and its sent alerts forgotten, so there is one to send.)
	if _, err := f.Pool.Exec(f.Ctx, `DELETE FROM alerts WHERE month = '2018-06-01'`); err != nil {
		t.Fatal(err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	down, err := alert.Open(f.Ctx, f.Pool, &alert.Sender{URL: deadURL, Retry: store.Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}}, "monitor", f.Env.Log)
	if err != nil {
		t.Fatal(err)
	}
	monDown := runner.Prepared(faas.NewDeps(chain.Monitor, config.Reader{SecretsDir: f.Secrets}), f.Env,
		monitor.New(monitor.Options{Champions: f.Reg, Reports: f.Reports, Alerts: down}))
	portalNow.Store(&h) // the backfill's portal: June as first served
	if a := f.Call(chain.Download, http.MethodPost, chaintest.Token, []byte(`{"from":"2018-06","to":"2018-06"}`), nil); a.Result.Outcome != "done" {
		t.Fatalf("re-fetch of June: %v", a)
	}
	req := handler.Request{Method: http.MethodPost, Header: http.Header{"Authorization": {"Bearer " + chaintest.Token}}, Body: f.TriggerBody(chain.Monitor, chaintest.RunDate("2018-07-01"))}
	req.WithContext(f.Ctx)
	res := monDown.Handle(req)
	if a := chaintest.DecodeAnswer(t, res.StatusCode, res.Body); a.Status != http.StatusOK || a.Result.Outcome != "done" {
		t.Fatalf("monitor with the webhook down: %v", a)
	}
	var unsent int
	if err := f.Pool.QueryRow(f.Ctx, `SELECT count(*) FROM alerts WHERE month = '2018-06-01' AND sent_at IS NULL AND last_error <> ''`).Scan(&unsent); err != nil || unsent != 1 {
		t.Errorf("June's volume alert unsent: %d rows (%v)", unsent, err)
	}
	before = hook.count()
	if sent, err := notifier.Retry(f.Ctx, 10); err != nil || sent != 1 || hook.count() != before+1 {
		t.Errorf("retry once the webhook is back: %d sent, %v", sent, err)
	}
}

func field(rep *monitor.Report, name string) (monitor.FieldDrift, bool) {
	for _, f := range rep.Fields {
		if f.Field == name && f.Input == "raw" {
			return f, true
		}
	}
	return monitor.FieldDrift{}, false
}

// readReport reads the monitor's report on month m by model version.
func readReport(t *testing.T, f *chaintest.Fixture, m chain.Month, version int) *monitor.Report {
	t.Helper()
	b, _, err := store.GetBytes(f.Ctx, f.Raw, chain.DataBucket, chain.MonitorReportKey(m, version), 0)
	if err != nil {
		t.Fatalf("report on %s: %v", m, err)
	}
	var r monitor.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func historyLen(t *testing.T, f *chaintest.Fixture, month string) int {
	t.Helper()
	m, _ := chain.ParseMonth(month)
	h, err := f.Reports.History(f.Ctx, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(h)
}

// loader serves one registered model to predict's server.
type loader struct {
	f *chaintest.Fixture
	v int
}

func (l loader) Current(context.Context) (int, error) { return l.v, nil }

func (l loader) Load(ctx context.Context, v int) (*predict.Model, error) {
	m, err := l.f.Reg.Get(ctx, v)
	if err != nil {
		return nil, err
	}
	p, err := model.Fetch(ctx, l.f.Raw, m.Artifact)
	if err != nil {
		return nil, err
	}
	return &predict.Model{P: p, Version: v, Info: predict.Info(v, p.A)}, nil
}

// checkAgainstPredict posts every record of month m, in the portal API's
// JSON form (snake_case, strings, as the stand-in serves the export), to
// predict's handler serving the report's model, and compares the answers
// with the report: the same records refused, the same probabilities (to
// the 6 digits predict answers with) and so the same metrics.
func checkAgainstPredict(t *testing.T, f *chaintest.Fixture, m chain.Month, rep *monitor.Report) {
	t.Helper()
	srv := predict.NewServer(loader{f, rep.Model.Version}, nil)
	if err := srv.Refresh(f.Ctx); err != nil {
		t.Fatal(err)
	}
	header, recs := servedMonth(t, f, m)
	var y []uint8
	var probs []float64
	refused := 0
	for _, r := range recs {
		obj := map[string]any{}
		var arrest bool
		for i, h := range header {
			v := r[i]
			switch {
			case v == "":
			case h == "arrest":
				arrest = v == "true"
			case h == "domestic":
				obj[h] = v == "true"
			case h == "date" || h == "updated_on":
				obj[h] = strings.Replace(v, " ", "T", 1)
			default:
				obj[h] = v
			}
		}
		body, _ := json.Marshal(obj)
		res := srv.Handle(handler.Request{Method: http.MethodPost, Body: body})
		if res.StatusCode == http.StatusBadRequest {
			refused++
			continue
		}
		var out struct {
			P float64 `json:"arrest_probability"`
		}
		if res.StatusCode != http.StatusOK || json.Unmarshal(res.Body, &out) != nil {
			t.Fatalf("predict: %d %s", res.StatusCode, res.Body)
		}
		probs = append(probs, out.P)
		y = append(y, map[bool]uint8{true: 1}[arrest])
	}
	want, err := metrics.NewReport(y, probs, *rep.Realized.Threshold)
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Realized
	if int64(refused) != rep.Refused || int64(len(y)) != got.Rows || int64(want.Positives) != got.Positives {
		t.Fatalf("predict refused %d and scored %d (%d arrests); the monitor %d, %d (%d)", refused, len(y), want.Positives, rep.Refused, got.Rows, got.Positives)
	}
	var mean float64
	for _, v := range probs {
		mean += v
	}
	mean /= float64(len(probs))
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"ROC-AUC", *got.ROCAUC, want.ROCAUC, 2e-5}, {"average precision", *got.AveragePrecision, want.AveragePrecision, 2e-5},
		{"log loss", *got.LogLoss, want.LogLoss, 1e-5}, {"Brier", *got.Brier, want.Brier, 1e-6},
		{"MCC", *got.MCC, want.MCC, 1e-3}, {"mean predicted", *got.MeanPredicted, mean, 1e-6},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s: monitor %.7f, predict's answers %.7f", c.name, c.got, c.want)
		}
	}
	t.Logf("%s through predict's handler: %d scored, %d refused, ROC-AUC %.6f (monitor %.6f)", m, len(y), refused, want.ROCAUC, *got.ROCAUC)
}

// servedMonth reads the month's crimes.csv (the project's CSV, snake_case
// headers) as download stored it.
func servedMonth(t *testing.T, f *chaintest.Fixture, m chain.Month) ([]string, [][]string) {
	t.Helper()
	b, _, err := store.GetBytes(f.Ctx, f.Raw, chain.DataBucket, chain.MonthCrimesKey(m), 0)
	if err != nil {
		t.Fatal(err)
	}
	all, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return all[0], all[1:]
}
