//go:build integration

package steps_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/chaintest"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// lateArrests serves, once on is true, an arrest and a later update for
// every 5th crime of the months in on's set: the portal's records change
// after the fact, as arrests made later do.
type lateArrests struct {
	months atomic.Pointer[map[string]bool] // YYYY-MM -> changed
}

func (l *lateArrests) set(months ...string) {
	m := map[string]bool{}
	for _, s := range months {
		m[s] = true
	}
	l.months.Store(&m)
}

func (l *lateArrests) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		months := l.months.Load()
		if r.URL.Path != "/resource/ijzp-q8t2.json" || months == nil || len(*months) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var objs []map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &objs) == nil {
			for _, o := range objs {
				id, _ := o["id"].(string)
				date, _ := o["date"].(string)
				var n int
				fmt.Sscan(id, &n)
				if len(date) >= 7 && (*months)[date[:7]] && n%5 == 0 {
					o["arrest"], o["updated_on"] = true, "2018-02-15T10:00:00.000"
				}
			}
			body, _ = json.Marshal(objs)
		}
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// lineageResolves re-reads every object of every registered model's lineage
// (and its artifact) at the version recorded: all there, byte for byte.
func lineageResolves(t *testing.T, f *chaintest.Fixture) []registry.Model {
	t.Helper()
	models, err := f.Reg.List(f.Ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		for _, ref := range append(append([]registry.Ref(nil), m.Lineage...), m.Artifact) {
			if ref.VersionID == "" || ref.ETag == "" {
				t.Errorf("v%d lineage %s: version %q, etag %q", m.Version, ref.Key, ref.VersionID, ref.ETag)
				continue
			}
			if strings.HasPrefix(ref.Key, chain.TempPrefix) {
				t.Errorf("v%d lineage names %s, which expires", m.Version, ref.Key)
			}
			b, obj, err := store.ReadAll(f.Ctx, f.Raw, ref, 0)
			if err != nil {
				t.Errorf("v%d lineage %s@%s: %v", m.Version, ref.Key, ref.VersionID, err)
				continue
			}
			sum := md5.Sum(b)
			if obj.ETag != ref.ETag || hex.EncodeToString(sum[:]) != ref.ETag || (ref.Size != 0 && int64(len(b)) != ref.Size) {
				t.Errorf("v%d lineage %s@%s: etag %s (md5 %x), %d bytes; recorded %s, %d", m.Version, ref.Key, ref.VersionID, obj.ETag, sum, len(b), ref.ETag, ref.Size)
			}
		}
	}
	return models
}

func lineageVersion(m *registry.Model, key string) string {
	for _, ref := range m.Lineage {
		if ref.Key == key {
			return ref.VersionID
		}
	}
	return ""
}

// TestRunIdentityAndBackfills runs, against a real MinIO and PostgreSQL,
// the sequences issue 14 names:
//
//	(a) monthly → mid-month → next monthly: the mid-month call is refused
//	    and changes nothing; the next monthly run runs in full;
//	(b) two monthly runs → a sub-range backfill whose months changed: both
//	    runs begin a new generation, every window is rebuilt from all twelve
//	    of its months (full row counts), each run registers a new model
//	    that replaces its old one, and every model's lineage — the old ones'
//	    too — re-reads byte-identical at its recorded versions;
//	(c) a backfill while a run is in flight: the older generation's next
//	    step stops as superseded, the new one runs to the end;
//	(d) the same backfill twice: nothing changes the second time;
//
// and that a refused request never changes a finished run's status.
func TestRunIdentityAndBackfills(t *testing.T) {
	late := &lateArrests{}
	f := chaintest.New(t, chaintest.Options{Crimes: chaintest.Slice(t, 30, nil), Portal: late.wrap})
	d1, d2 := chaintest.RunDate("2017-12-01"), chaintest.RunDate("2018-01-01")
	post := func(body string) chaintest.Answer {
		t.Helper()
		return f.Call("download", http.MethodPost, chaintest.Token, []byte(body), nil)
	}
	status := func(d time.Time) runs.PipelineRun {
		t.Helper()
		st, err := f.Tracker.Status(f.Ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range st {
			if p.RunDate.Equal(d) {
				return p
			}
		}
		t.Fatalf("no run %s", chain.Day(d))
		return runs.PipelineRun{}
	}
	window := func(d time.Time) int64 { return f.MustManifest("merge", d).RowsOut }

	// (a)
	f.RunUpTo("", d1)
	raw1 := f.MustManifest("download", d1)
	before := f.Snapshot()
	for _, body := range []string{`{"as_of":"2017-12-20"}`, `{"as_of":"2017-12-02"}`, `{"from":"2000-01","to":"2000-02"}`, `{"from":"2017-11","to":"2031-01"}`} {
		a := post(body)
		if a.Status != http.StatusBadRequest || a.Result.Outcome != "refused" || a.Result.Field == "" {
			t.Errorf("%s: %v, want 400 naming the field", body, a)
		}
	}
	if diff := chaintest.DiffSnapshots(before, f.Snapshot()); len(diff) > 0 {
		t.Errorf("refused calls wrote %v", diff)
	}
	if p := status(d1); p.Status != runs.Done {
		t.Errorf("a refused call changed the finished run: %+v", p)
	}
	f.RunUpTo("", d2)
	if got := f.MustManifest("download", d2).Notes["fetched"].([]any); len(got) != 1 || got[0] != "2017-12" {
		t.Errorf("the next monthly run fetched %v, want [2017-12]", got)
	}
	w1, w2 := window(d1), window(d2)
	if w1 == 0 || w2 == 0 || status(d2).Status != runs.Done {
		t.Fatalf("windows %d, %d; run %+v", w1, w2, status(d2))
	}
	// The same runs asked again are done already.
	for _, d := range []time.Time{d1, d2} {
		if a := post(`{"as_of":"` + chain.Day(d) + `"}`); a.Status != http.StatusOK || a.Result.Outcome != "already-done" {
			t.Errorf("run %s again: %v", chain.Day(d), a)
		}
	}

	// (b) Late arrests in June to November: both windows hold those months.
	late.set("2017-06", "2017-07", "2017-08", "2017-09", "2017-10", "2017-11")
	a := post(`{"from":"2017-06","to":"2017-11"}`)
	detail, _ := a.Body["detail"].(map[string]any)
	if a.Status != http.StatusOK || a.Result.Outcome != "done" || detail == nil || len(detail["changed"].([]any)) != 6 || len(detail["runs"].([]any)) != 2 {
		t.Fatalf("backfill: %v", a)
	}
	if g := f.MustManifest("download", d1).Generation; !strings.HasPrefix(g, "rebuild:2017-12-01:") {
		t.Errorf("run 2017-12-01's generation after the backfill: %q", g)
	}
	for _, d := range []time.Time{d1, d2} {
		f.RunFrom("merge", d)
	}
	if window(d1) != w1 || window(d2) != w2 {
		t.Errorf("windows after the backfill hold %d and %d rows, before %d and %d: rebuilt from all twelve months, they are as full",
			window(d1), window(d2), w1, w2)
	}
	if m := f.MustManifest("merge", d1); len(m.Inputs) != 12 {
		t.Errorf("the rebuilt window of 2017-12-01 read %d months", len(m.Inputs))
	}
	models := lineageResolves(t, f)
	if len(models) != 4 {
		t.Fatalf("%d models, want 4 (two per run, the older replaced)", len(models))
	}
	for _, d := range []time.Time{d1, d2} {
		cur, err := f.Reg.ByRunDate(f.Ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		var old *registry.Model
		for i, m := range models {
			if m.RunDate.Equal(d) && m.Version != cur.Version {
				old = &models[i]
			}
		}
		june := chain.MonthCrimesKey(chain.MonthOf(chaintest.RunDate("2017-06-01")))
		if old == nil || old.ReplacedBy != cur.Version || cur.Generation == old.Generation ||
			lineageVersion(cur, june) == "" || lineageVersion(cur, june) == lineageVersion(old, june) {
			t.Errorf("run %s: current %+v, old %+v: the new model replaces the old, each with its own June", chain.Day(d), cur, old)
		}
		if p := status(d); p.Status != runs.Done {
			t.Errorf("run %s after its rebuild: %+v", chain.Day(d), p)
		}
	}
	// The first run's raw months are still there at the versions its
	// manifest recorded (the backfill wrote new versions beside them).
	for _, ref := range raw1.Offers(chain.RoleCrimes) {
		if _, _, err := store.ReadAll(f.Ctx, f.Raw, ref.Ref, 0); err != nil {
			t.Errorf("first run's %s@%s: %v", ref.Key, ref.VersionID, err)
		}
	}

	// (d) The same backfill again: the months hold what is stored.
	before = f.Snapshot()
	a = post(`{"from":"2017-06","to":"2017-11"}`)
	detail, _ = a.Body["detail"].(map[string]any)
	if a.Status != http.StatusOK || detail == nil || detail["changed"] != nil || detail["runs"] != nil {
		t.Errorf("the same backfill again: %v", a)
	}
	if diff := chaintest.DiffSnapshots(before, f.Snapshot()); len(diff) > 0 {
		t.Errorf("the same backfill again wrote %v", diff)
	}

	// (c) A backfill while 2018-01-01 is in flight (split done): the old
	// generation stops at its next step, the new one runs to the end.
	late.set("2017-06", "2017-07", "2017-08", "2017-09", "2017-10", "2017-11", "2017-12")
	if a := post(`{"from":"2017-12","to":"2017-12"}`); a.Result.Outcome != "done" {
		t.Fatalf("backfill of December: %v", a)
	}
	for _, s := range []string{"merge", "enrich", "split"} {
		if a := f.Trigger(s, d2); a.Result.Outcome != "done" {
			t.Fatalf("%s: %v", s, a)
		}
	}
	staleSplit, err := f.Raw.Stat(f.Ctx, chain.DataBucket, chain.ManifestKey(chain.Split, d2))
	if err != nil {
		t.Fatal(err)
	}
	late.set("2017-06", "2017-07", "2017-08", "2017-09", "2017-10", "2017-11", "2017-12", "2017-01")
	a = post(`{"from":"2017-01","to":"2017-01"}`)
	if a.Result.Outcome != "done" {
		t.Fatalf("backfill of January: %v", a)
	}
	if a := f.Call("outliers", http.MethodPost, chaintest.Token, chaintest.EventOf(staleSplit), nil); a.Status != http.StatusOK || a.Result.Outcome != "superseded" {
		t.Errorf("the older generation's outliers: %v, want 200 superseded", a)
	}
	f.RunFrom("merge", d2)
	cur, err := f.Reg.ByRunDate(f.Ctx, d2)
	if err != nil || cur.Generation != f.MustManifest("download", d2).Generation {
		t.Errorf("2018-01-01's model %+v (%v), its run's generation %q", cur, err, f.MustManifest("download", d2).Generation)
	}
	if p := status(d2); p.Status != runs.Done {
		t.Errorf("2018-01-01 after the overlapping backfill: %+v", p)
	}
	lineageResolves(t, f)
}
