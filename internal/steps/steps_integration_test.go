//go:build integration

package steps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/internal/chaintest"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/model/recipev2"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// TestStepHandlers drives every step of the first run (as_of 2017-12-01,
// every 30th crime of 2017) through its Service, and around each happy path
// checks what a function must refuse or shrug off: the probe, a forged event,
// an event for an unrelated key, an event for a manifest that does not
// exist, and the replayed event (answered already-done with nothing touched).
func TestStepHandlers(t *testing.T) {
	f := chaintest.New(t, chaintest.Options{Crimes: chaintest.Slice(t, 30, nil)})
	d := chaintest.RunDate("2017-12-01")
	_, recs := chaintest.Crimes2017(t)
	var wantDownloaded int64 // every 30th crime dated before December
	for i := 0; i < len(recs); i += 30 {
		if recs[i][2][:2] != "12" {
			wantDownloaded++
		}
	}

	for _, step := range chaintest.RunSteps() {
		t.Run(step, func(t *testing.T) {
			f := f.In(t)
			st, _ := chain.Lookup(step)
			var ownKey []byte // the event (or call) that starts step
			if step == "download" {
				ownKey = []byte(`{"as_of":"2017-12-01"}`)
			} else {
				key := chain.ManifestKey(st.After, d)
				obj, err := f.Raw.Stat(f.Ctx, chain.DataBucket, key)
				if err != nil {
					t.Fatalf("previous step's manifest: %v", err)
				}
				ownKey = chaintest.EventBody(chain.DataBucket, key, obj.ETag, obj.Size)
			}

			// MinIO's start-up probe.
			if a := f.Call(step, http.MethodHead, "", nil, nil); a.Status != http.StatusOK {
				t.Errorf("HEAD probe: %v", a)
			}
			if a := f.Call(step, http.MethodGet, "", nil, nil); a.Status != http.StatusOK || a.Body["step"] != step {
				t.Errorf("GET probe: %v", a)
			}
			// Forged: no token, or a wrong one. Nothing may happen.
			before := f.Snapshot()
			for _, auth := range []string{"", "not-the-token"} {
				if a := f.Call(step, http.MethodPost, auth, ownKey, nil); a.Status != http.StatusUnauthorized {
					t.Errorf("forged call (token %q): %v, want 401", auth, a)
				}
			}
			if step != "download" {
				// The cron tick carries no token: only download accepts it.
				cron := http.Header{"X-Connector": {"cron-connector"}, "X-Topic": {"cron-function"}}
				if a := f.Call(step, http.MethodPost, "", nil, cron); a.Status != http.StatusUnauthorized {
					t.Errorf("cron tick to %s: %v, want 401", step, a)
				}
			}
			// Events for keys this step does not listen to: acknowledged, ignored.
			for _, key := range []string{"unrelated/file.csv", chain.ManifestKey("train", d), chain.WindowKey(d)} {
				a := f.Call(step, http.MethodPost, chaintest.Token, chaintest.EventBody(chain.DataBucket, key, "abc", 1), nil)
				if a.Status != http.StatusOK || a.Result.Outcome != "ignored" {
					t.Errorf("event for %s: %v, want 200 ignored", key, a)
				}
			}
			if step != "download" {
				// Its own kind of key, but no such object (a forged or stale
				// event): retrying cannot help, so it is acknowledged.
				l, _ := st.Listens()
				ghost := l.Prefix + "2099-01-01/" + l.Suffix
				if step == "merge" {
					ghost = l.Prefix + "2099-01/" + l.Suffix
				}
				a := f.Call(step, http.MethodPost, chaintest.Token, chaintest.EventBody(chain.DataBucket, ghost, "abc", 1), nil)
				if a.Status != http.StatusOK || a.Result.Outcome != "ignored" {
					t.Errorf("event for a manifest that does not exist (%s): %v, want 200 ignored", ghost, a)
				}
			}
			if diff := chaintest.DiffSnapshots(before, f.Snapshot()); len(diff) > 0 {
				t.Errorf("refused calls changed the store: %v", diff)
			}
			if n := len(f.Attempts(step, d)); n != 0 {
				t.Fatalf("refused calls recorded %d runs", n)
			}

			// The happy path.
			a := f.Call(step, http.MethodPost, chaintest.Token, ownKey, nil)
			if a.Status != http.StatusOK || a.Result.Outcome != "done" || a.Result.RunDate != "2017-12-01" {
				t.Fatalf("%s: %v", step, a)
			}
			m := f.MustManifest(step, d)
			if m.Status != "done" || m.Step != step || m.RunDate != "2017-12-01" || m.CodeVersion != "integration" {
				t.Errorf("manifest header: %+v", m)
			}
			if step != "download" {
				key := chain.ManifestKey(st.After, d)
				obj, _ := f.Raw.Stat(f.Ctx, chain.DataBucket, key)
				if want := key + "@" + obj.VersionID + "/" + obj.ETag; m.Trigger != want || obj.VersionID == "" {
					t.Errorf("manifest trigger %q, want %s (the version the event named)", m.Trigger, want)
				}
			}
			f.CheckOutputs(m)
			for _, o := range m.Outputs {
				if strings.HasSuffix(o.Key, ".csv") && o.Rows > 0 && !strings.HasSuffix(o.Key, "rejects.csv") && !strings.HasSuffix(o.Key, "police_stations.csv") {
					if n := f.CSVRows(o.Bucket, o.Key); n != o.Rows {
						t.Errorf("%s holds %d rows, manifest says %d", o.Key, n, o.Rows)
					}
				}
			}
			rs := f.Attempts(step, d)
			if len(rs) != 1 || rs[0].Status != runs.Done || rs[0].RowsIn != m.RowsIn || rs[0].RowsOut != m.RowsOut || rs[0].Rejects != m.Rejects {
				t.Errorf("run rows: %+v, manifest rows in %d out %d rejects %d", rs, m.RowsIn, m.RowsOut, m.Rejects)
			} else if len(rs[0].Outputs) != len(m.Outputs) {
				t.Errorf("run row records %d outputs, manifest %d", len(rs[0].Outputs), len(m.Outputs))
			}
			checkStep(f, step, d, m, wantDownloaded)

			// Replays: the same event again, and a manual call for the run
			// date, are acknowledged without running anything.
			before = f.Snapshot()
			models, _ := f.Reg.List(f.Ctx, 0)
			for i, body := range [][]byte{ownKey, ownKey, []byte(`{"as_of":"2017-12-01"}`)} {
				a := f.Call(step, http.MethodPost, chaintest.Token, body, nil)
				if a.Status != http.StatusOK || a.Result.Outcome != "already-done" {
					t.Errorf("replay %d: %v, want 200 already-done", i, a)
				}
			}
			if diff := chaintest.DiffSnapshots(before, f.Snapshot()); len(diff) > 0 {
				t.Errorf("replays changed the store: %v", diff)
			}
			if rs := f.Attempts(step, d); len(rs) != 1 {
				t.Errorf("replays recorded runs: %d rows", len(rs))
			}
			if after, _ := f.Reg.List(f.Ctx, 0); len(after) != len(models) {
				t.Errorf("replays registered models: %d, before %d", len(after), len(models))
			}
		})
		if t.Failed() {
			return
		}
	}
	// The pipeline run is done once train is.
	st, err := f.Tracker.Status(f.Ctx, 5)
	if err != nil || len(st) != 1 || st[0].Status != runs.Done || len(st[0].Steps) != len(chaintest.RunSteps()) {
		t.Errorf("pipeline status: %+v %v", st, err)
	}
}

// checkStep asserts what each step's manifest must say about the data.
func checkStep(f *chaintest.Fixture, step string, d time.Time, m *runner.Manifest, wantDownloaded int64) {
	t := f.T
	t.Helper()
	switch step {
	case "download":
		months, _ := m.Notes["months"].([]any)
		empty, _ := m.Notes["empty_months"].([]any)
		if len(months) != 12 || months[0] != "2016-12" || months[11] != "2017-11" || len(empty) != 1 || empty[0] != "2016-12" {
			t.Errorf("download months %v, empty %v", months, empty)
		}
		if m.RowsOut != wantDownloaded || m.Rejects != 0 {
			t.Errorf("download rows out %d rejects %d, want %d and 0", m.RowsOut, m.Rejects, wantDownloaded)
		}
		if len(m.Outputs) != 13 { // 12 months of crimes and the stations
			t.Errorf("download outputs: %d", len(m.Outputs))
		}
	case "merge":
		if m.RowsIn != wantDownloaded || m.RowsOut != wantDownloaded || m.Notes["duplicate_ids"] != 0.0 || m.Notes["outside_window"] != 0.0 {
			t.Errorf("merge: in %d out %d notes %v, want %d", m.RowsIn, m.RowsOut, m.Notes, wantDownloaded)
		}
		if _, ok := m.Notes["previous_window"]; ok {
			t.Errorf("first run merged a previous window: %v", m.Notes)
		}
	case "enrich":
		if m.RowsIn != wantDownloaded || m.RowsOut+m.Rejects != m.RowsIn || m.Rejects == 0 {
			t.Errorf("enrich: in %d out %d rejects %d", m.RowsIn, m.RowsOut, m.Rejects)
		}
	case "split":
		tr, te := m.Notes["train_rows"].(float64), m.Notes["test_rows"].(float64)
		if int64(tr+te) != m.RowsOut || math.Abs(te/(tr+te)-0.2) > 0.01 {
			t.Errorf("split %v/%v of %d", tr, te, m.RowsOut)
		}
	case "train":
		checkTrain(f, d, m, 1)
	}
}

// checkTrain asserts train's manifest, its registration and, independently
// of train's own check, that the stored artifact replays the preprocessing:
// the raw (enriched, outlier-filtered) test records through the artifact
// give the probabilities the model gives on the ML-ready test set.
func checkTrain(f *chaintest.Fixture, d time.Time, m *runner.Manifest, wantVersion int) {
	t := f.T
	t.Helper()
	skew, ok := m.Notes["max_replay_error"].(float64)
	if !ok || skew > 1e-9 || skew < 0 {
		t.Errorf("max_replay_error %v (%T), want a number <= 1e-9", m.Notes["max_replay_error"], m.Notes["max_replay_error"])
	}
	if v, _ := m.Notes["model_version"].(float64); int(v) != wantVersion {
		t.Errorf("model_version %v, want %d", m.Notes["model_version"], wantVersion)
	}
	if m.Notes["decision"] == nil || m.Notes["champion"] == nil {
		t.Errorf("no champion/challenger decision in the manifest: %v", m.Notes)
	}
	mod, err := f.Reg.ByRunDate(f.Ctx, d)
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	art, ok := m.Output(chain.ArtifactKey(d))
	if !ok || mod.Version != wantVersion || mod.Artifact.Key != art.Key || mod.Artifact.ETag != art.ETag || mod.Decision == nil {
		t.Errorf("registered %+v, manifest artifact %+v", mod, art)
	}
	if len(mod.Lineage) == 0 {
		t.Errorf("model v%d has no lineage", mod.Version)
	}
	// Tables train read through their twins are named by the twins too.
	for _, in := range m.Inputs {
		if in.Twin != nil && !slices.ContainsFunc(mod.Lineage, func(r registry.Ref) bool { return r == *in.Twin }) {
			t.Errorf("model v%d lineage lacks %s, the twin train read for %s", mod.Version, in.Twin.Key, in.Key)
		}
	}
	b, _, err := store.GetBytes(f.Ctx, f.Raw, f.Buckets.Models, chain.ArtifactKey(d), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := model.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	raw := f.Table(chain.TableKey(chain.Outliers, d, "test"))
	// want: the probabilities by another path than the raw records' one
	// (the seed recipe's model on the ML-ready test set; v2's table path).
	var want []float64
	switch p.A.Kind() {
	case model.RecipeSeed:
		ml := f.Table(chain.TableKey(chain.Features, d, "test"))
		X := make([][]float64, len(p.A.Recipe.Features))
		for j, name := range p.A.Recipe.Features {
			c, err := ml.Lookup(name, table.Numeric)
			if err != nil {
				t.Fatal(err)
			}
			X[j] = c.Nums
		}
		if p.A.GBT != nil {
			want, err = p.A.GBT.PredictProbaBatch(X)
		} else {
			want, err = p.A.LogReg.PredictProbaBatch(X)
		}
	case model.RecipeV2:
		var s *recipev2.Scorer
		if s, err = recipev2.NewScorer(p.A.RecipeV2, p.A.GBT); err == nil {
			want, err = s.Table(raw, 2)
		}
	default:
		t.Fatalf("artifact of recipe %q", p.A.Kind())
	}
	if err != nil {
		t.Fatal(err)
	}
	if raw.Len() != len(want) || raw.Len() == 0 {
		t.Fatalf("raw test set %d rows, %d probabilities", raw.Len(), len(want))
	}
	worst, err := p.ReplayError(raw, want)
	if err != nil || worst > 1e-9 {
		t.Errorf("the stored artifact replays the preprocessing with error %g (%v)", worst, err)
	}
	// train's reported figures are the stored artifact's on the raw records.
	got, err := p.PredictTable(raw)
	if err != nil {
		t.Fatal(err)
	}
	y, err := recipe.Labels(raw)
	if err != nil {
		t.Fatal(err)
	}
	auc, err := metrics.ROCAUC(y, got)
	if noted, _ := m.Notes["roc_auc"].(float64); err != nil || math.Abs(auc-noted) > 1e-9 || math.Abs(auc-p.A.Metrics["roc_auc"]) > 1e-9 {
		t.Errorf("the artifact's ROC-AUC on the raw test records is %v, train noted %v", auc, m.Notes["roc_auc"])
	}
	// Both recipes were trained and compared on the same rows, and the
	// registry records the comparison and the recipe.
	cands, _ := m.Notes["candidates"].([]any)
	recipes := map[string]bool{}
	for _, c := range cands {
		if c, ok := c.(map[string]any); ok {
			recipes[c["recipe"].(string)] = true
		}
	}
	if !recipes[model.RecipeSeed] || !recipes[model.RecipeV2] || m.Notes["recipe"] != p.A.Kind() {
		t.Errorf("candidates %v, chosen %v; want both recipes, the artifact's %s chosen", cands, m.Notes["recipe"], p.A.Kind())
	}
	chosen := 0
	for _, c := range mod.Decision.Candidates {
		if c.Chosen {
			chosen++
			if c.Recipe != p.A.Kind() {
				t.Errorf("the registry's chosen candidate is %s, the artifact %s", c.Recipe, p.A.Kind())
			}
		}
	}
	if len(mod.Decision.Candidates) != len(cands) || chosen != 1 || mod.Recipe != p.A.Kind() {
		t.Errorf("registered recipe %q, candidates %+v", mod.Recipe, mod.Decision.Candidates)
	}
	t.Logf("train: %s/%s ROC-AUC %.4f, replay error %g (train's own: %g), compared on %v, features %v",
		p.A.Kind(), p.A.Algorithm, auc, worst, skew, m.Notes["compared_on"], p.A.Features())
}

// TestStoreDownMidStep takes MinIO down in the middle of every step (after
// its reads, before one of its writes: the first output, a middle one or the
// manifest) and checks the step answers 503 so MinIO redelivers; that a
// delivery while the store is down is 503 too; and that after a restart the
// redelivered event completes the step with nothing lost or duplicated: one
// done run row, exactly the manifest's outputs written, byte-identical to an
// undisturbed run.
func TestStoreDownMidStep(t *testing.T) {
	f := chaintest.New(t, chaintest.Options{Crimes: chaintest.Slice(t, 30, nil)})
	d := chaintest.RunDate("2017-12-01")
	ref := f.Reference(d)
	// Which Put of the step finds the store gone (counting from 1; the
	// manifest is the last Put).
	tripAt := map[string][]int{
		"download": {3}, "merge": {2}, "enrich": {2}, "split": {2}, "outliers": {3},
		"encode": {1}, "scale": {3}, "balance": {1}, "features": {2},
		"train":   {1, 3}, // before the artifact, then after registering, before the manifest (the profile is Put 2)
		"monitor": {1, 2}, // before the report, then before the manifest
	}
	for _, step := range chaintest.RunSteps() {
		t.Run(step, func(t *testing.T) {
			f := f.In(t)
			before := f.Snapshot()
			event := f.TriggerBody(step, d) // MinIO redelivers the very same event
			for _, n := range tripAt[step] {
				f.Store.Arm(n)
				a := f.Call(step, http.MethodPost, chaintest.Token, event, nil)
				if a.Status != http.StatusServiceUnavailable || a.Result.Outcome != "retry" {
					t.Fatalf("store gone before Put %d: %v, want 503 retry", n, a)
				}
				if f.MinIO.Running() {
					t.Fatal("the store was not taken down")
				}
				// A delivery while the store is down: 503, nothing recorded.
				if a := f.Call(step, http.MethodPost, chaintest.Token, event, nil); a.Status != http.StatusServiceUnavailable {
					t.Errorf("delivery while the store is down: %v, want 503", a)
				}
				if err := f.MinIO.Restart(); err != nil {
					t.Fatal(err)
				}
				if _, err := f.Manifest(step, d); err == nil {
					t.Fatalf("a manifest was written by the failed attempt")
				}
			}
			rs := f.Attempts(step, d)
			if len(rs) != len(tripAt[step]) || chaintest.CountStatus(rs, runs.Failed) != len(rs) || rs[0].Permanent {
				t.Errorf("failed attempts: %+v", rs)
			}

			a := f.Call(step, http.MethodPost, chaintest.Token, event, nil)
			if a.Status != http.StatusOK || a.Result.Outcome != "done" {
				t.Fatalf("redelivery after restart: %v", a)
			}
			m := f.MustManifest(step, d)
			f.CheckOutputs(m)
			rs = f.Attempts(step, d)
			if chaintest.CountStatus(rs, runs.Done) != 1 || len(rs) != len(tripAt[step])+1 {
				t.Errorf("run rows after the retry: %+v", rs)
			}
			// Only objects the manifest names (and the manifest) are new: its
			// outputs, and for download the months the failed attempt wrote
			// whole, which the retry hands on as they are.
			manifestBucket := chain.DataBucket
			if step == "train" {
				manifestBucket = chain.ModelsBucket
			}
			named := map[string]runner.Ref{}
			for _, o := range append(append([]runner.Ref(nil), m.Outputs...), m.Forward...) {
				named[o.Bucket+"/"+o.Key] = o
				if o.Twin != nil { // a CSV's binary twin is named with it
					named[o.Twin.Bucket+"/"+o.Twin.Key] = o
				}
			}
			want := map[string]bool{manifestBucket + "/" + chain.ManifestKey(step, d): true}
			for _, o := range m.Outputs {
				want[o.Bucket+"/"+o.Key] = true
				if o.Twin != nil {
					want[o.Twin.Bucket+"/"+o.Twin.Key] = true
				}
			}
			if step == "download" {
				for k := range named {
					want[k] = true
				}
			}
			var added []string
			for _, line := range chaintest.DiffSnapshots(before, f.Snapshot()) {
				k, ok := strings.CutPrefix(line, "added ")
				if !ok {
					t.Errorf("the step's retry touched an object it does not own: %s", line)
					continue
				}
				added = append(added, k)
				if !want[k] {
					t.Errorf("stray object %s", k)
				}
			}
			if step != "download" && len(added) != len(want) {
				t.Errorf("objects added %v, want %d", added, len(want))
			}
			if step == "train" {
				if m.Notes["already_registered"] != true || m.Notes["model_version"] != 1.0 {
					t.Errorf("train retried after registering: notes %v", m.Notes)
				}
				models, _ := f.Reg.List(f.Ctx, 0)
				champ, err := f.Reg.ChampionVersion(f.Ctx)
				if len(models) != 1 || err != nil || champ != 1 {
					t.Errorf("models %d, champion %d %v; want one model, the champion", len(models), champ, err)
				}
				return
			}
			// Byte for byte what an undisturbed run writes (download hands on
			// the same months, some written by the failed attempt: its counts
			// are of what it fetched itself).
			r := ref[step]
			if step != "download" && (len(r.Outputs) != len(m.Outputs) || m.RowsIn != r.RowsIn || m.RowsOut != r.RowsOut || m.Rejects != r.Rejects) {
				t.Errorf("after the retry: %d outputs, rows %d/%d/%d; undisturbed: %d outputs, rows %d/%d/%d",
					len(m.Outputs), m.RowsIn, m.RowsOut, m.Rejects, len(r.Outputs), r.RowsIn, r.RowsOut, r.Rejects)
			}
			for _, o := range r.Outputs {
				got, ok := named[o.Bucket+"/"+o.Key]
				if step == "monitor" && ok {
					// The report records the version IDs of what it read, which
					// the unversioned reference store has none of: the rest is
					// byte for byte the same.
					a, b := unversioned(t, f.Ctx, f.Raw, got.Ref), unversioned(t, f.Ctx, f.RefStore, o.Ref)
					if a != b {
						t.Errorf("report %s after the retry:\n%s\nundisturbed:\n%s", o.Key, a, b)
					}
					continue
				}
				if !ok || got.ETag != o.ETag || got.Size != o.Size || (step != "download" && got.Rows != o.Rows) {
					t.Errorf("output %s: %+v after the retry, %+v undisturbed", o.Key, got, o)
				}
			}
		})
		if t.Failed() {
			return
		}
	}
}

// TestMalformedRows serves a month in which some records have bad numbers
// (in the data) or bad dates (corrupted on the wire): download counts them as
// rejects in its manifest and run row, writes them to rejects.csv with their
// reasons, and completes; merge never sees them.
func TestMalformedRows(t *testing.T) {
	header, recs := chaintest.Crimes2017(t)
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	var march [][]string
	for _, r := range recs {
		if chaintest.InMonth("2017-03")(r) {
			march = append(march, r)
		}
	}
	bad := func(i int, id, field, value string) []string {
		r := append([]string(nil), march[i]...)
		r[col["ID"]] = id
		if field != "" {
			r[col[field]] = value
		}
		return r
	}
	extra := [][]string{
		bad(1, "90000001", "X Coordinate", "117O000"), // letter O
		bad(2, "90000002", "Latitude", "41.8.1"),
		bad(3, "90000003", "", ""), // dates corrupted on the wire
		bad(4, "90000004", "", ""),
	}
	onWire := map[string][2]string{"90000003": {"date", "2017-02-30T10:00:00.000"}, "90000004": {"updated_on", "yesterday"}}
	f := chaintest.New(t, chaintest.Options{
		Crimes: chaintest.Slice(t, 20, chaintest.InMonth("2017-03"), extra...),
		Portal: corrupt(onWire),
	})
	var good int64
	for i := 0; i < len(recs); i += 20 {
		if chaintest.InMonth("2017-03")(recs[i]) {
			good++
		}
	}
	a := f.Call("download", http.MethodPost, chaintest.Token, []byte(`{"as_of":"2017-04-01"}`), nil)
	d := chaintest.RunDate("2017-04-01")
	if a.Status != http.StatusOK || a.Result.Outcome != "done" || a.Result.RunDate != "2017-04-01" {
		t.Fatalf("download of a month with bad rows: %v", a)
	}
	m := f.MustManifest("download", d)
	if m.Rejects != 4 || m.RowsOut != good || m.RowsIn != good+4 {
		t.Errorf("manifest rows in %d out %d rejects %d, want %d %d 4", m.RowsIn, m.RowsOut, m.Rejects, good+4, good)
	}
	rejKey := chain.MonthRejectsKey(chain.MonthOf(chaintest.RunDate("2017-03-01")))
	ref, ok := m.Output(rejKey)
	if !ok || ref.Rows != 4 {
		t.Errorf("rejects file in the manifest: %+v %v", ref, ok)
	}
	b, _, err := store.GetBytes(f.Ctx, f.Raw, chain.DataBucket, rejKey, 0)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "line,reason,raw\n") || strings.Count(text, "\n") != 5 {
		t.Errorf("rejects.csv:\n%s", text)
	}
	for _, want := range []string{"x_coordinate", "latitude", `"date"`, "updated_on", "90000001", "90000002", "90000003", "90000004"} {
		if !strings.Contains(text, want) {
			t.Errorf("rejects.csv does not mention %s:\n%s", want, text)
		}
	}
	rs := f.Attempts("download", d)
	if len(rs) != 1 || rs[0].Status != runs.Done || rs[0].Rejects != 4 {
		t.Errorf("run row: %+v", rs)
	}
	if got := f.CSVRows(chain.DataBucket, chain.MonthCrimesKey(chain.MonthOf(chaintest.RunDate("2017-03-01")))); got != good {
		t.Errorf("crimes.csv holds %d rows, want %d", got, good)
	}
	a = f.Trigger("merge", d)
	if a.Status != http.StatusOK || a.Result.Outcome != "done" {
		t.Fatalf("merge: %v", a)
	}
	if mm := f.MustManifest("merge", d); mm.RowsIn != good || mm.RowsOut != good {
		t.Errorf("merge read %d rows, wrote %d; want %d", mm.RowsIn, mm.RowsOut, good)
	}
}

// TestEmptyMonth: a monthly run that finds no crime answers 200 "failed"
// with the reason (so MinIO/cron do not retry forever), is recorded as a
// permanent failure, and its replay is acknowledged without fetching again.
// A backfill of a month that holds no crime fails the same way, writes
// nothing (the month stays as it was) and records no run: it is no run of
// a date, and asked again it fetches again (that is what a backfill is for).
func TestEmptyMonth(t *testing.T) {
	f := chaintest.New(t, chaintest.Options{Crimes: chaintest.Slice(t, 60, nil)})
	const crimesPath = "/resource/ijzp-q8t2.json"
	d := chaintest.RunDate("2016-06-01")
	body := []byte(`{"as_of":"2016-06-01"}`)
	const reason = "no crimes in 2015-06..2016-05"
	a := f.Call("download", http.MethodPost, chaintest.Token, body, nil)
	if a.Status != http.StatusOK || a.Result.Outcome != "failed" || !strings.Contains(a.Result.Reason, reason) {
		t.Errorf("%s: %v, want 200 failed %q", body, a, reason)
	}
	rs := f.Attempts("download", d)
	if len(rs) != 1 || rs[0].Status != runs.Failed || !rs[0].Permanent || !strings.Contains(rs[0].Error, reason) {
		t.Errorf("run rows %+v, want one permanent failure", rs)
	}
	if _, err := f.Manifest("download", d); err == nil {
		t.Errorf("a failed download wrote a manifest")
	}
	fetched := f.Standin.Requests(crimesPath)
	a = f.Call("download", http.MethodPost, chaintest.Token, body, nil)
	if a.Status != http.StatusOK || a.Result.Outcome != "failed" || !strings.Contains(a.Result.Reason, "already failed permanently") {
		t.Errorf("replayed: %v, want 200 failed (already failed permanently)", a)
	}
	if n := f.Standin.Requests(crimesPath); n != fetched {
		t.Errorf("replayed: fetched %d more pages, want none", n-fetched)
	}
	if rs := f.Attempts("download", d); len(rs) != 1 {
		t.Errorf("replayed: %d run rows, want 1", len(rs))
	}

	before := f.Snapshot()
	for range 2 {
		a = f.Call("download", http.MethodPost, chaintest.Token, []byte(`{"from":"2018-03","to":"2018-03"}`), nil)
		if a.Status != http.StatusOK || a.Result.Outcome != "failed" || a.Result.Reason != "no crimes in 2018-03" {
			t.Errorf("backfill of an empty month: %v", a)
		}
	}
	if diff := chaintest.DiffSnapshots(before, f.Snapshot()); len(diff) > 0 {
		t.Errorf("a failed backfill wrote %v", diff)
	}
	st, err := f.Tracker.Status(f.Ctx, 5)
	if err != nil || len(st) != 1 || st[0].Status != runs.Failed || st[0].Step != "download" || !strings.Contains(st[0].Reason, reason) {
		t.Errorf("pipeline status: %+v %v", st, err)
	}
}

// corrupt rewrites fields of the crimes the stand-in sends, by id: bad
// values the stand-in itself would refuse to load (it indexes by date).
func corrupt(onWire map[string][2]string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/resource/ijzp-q8t2.json" {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			var objs []map[string]any
			if rec.Code == http.StatusOK && json.Unmarshal(body, &objs) == nil {
				n := 0
				for _, o := range objs {
					if c, ok := onWire[fmt.Sprint(o["id"])]; ok {
						o[c[0]] = c[1]
						n++
					}
				}
				if n > 0 {
					body, _ = json.Marshal(objs)
				}
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
}

// TestConcurrentDeliveries: the same event delivered several times at once
// (at-least-once delivery, a manual call racing the notification) runs the
// step once; the others are told to retry (503 in-progress) or that it is
// done, and a later redelivery is acknowledged.
func TestConcurrentDeliveries(t *testing.T) {
	f := chaintest.New(t, chaintest.Options{Crimes: chaintest.Slice(t, 60, nil)})
	d := chaintest.RunDate("2017-12-01")
	f.RunUpTo("split", d)
	event := f.TriggerBody("split", d)
	const n = 4
	answers := make(chan chaintest.Answer, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := handler.Request{Method: http.MethodPost, Header: http.Header{"Authorization": {"Bearer " + chaintest.Token}}, Body: event}
			req.WithContext(f.Ctx)
			res := f.Functions["split"].Handle(req)
			var a chaintest.Answer
			a.Status = res.StatusCode
			json.Unmarshal(res.Body, &a.Result)
			a.Raw = string(res.Body)
			answers <- a
		}()
	}
	wg.Wait()
	close(answers)
	outcomes := map[string]int{}
	for a := range answers {
		outcomes[a.Result.Outcome]++
		switch a.Result.Outcome {
		case "done", "already-done":
			if a.Status != http.StatusOK {
				t.Errorf("%v", a)
			}
		case "in-progress":
			if a.Status != http.StatusServiceUnavailable {
				t.Errorf("%v", a)
			}
		default:
			t.Errorf("concurrent delivery: %v", a)
		}
	}
	if outcomes["done"] != 1 {
		t.Errorf("outcomes %v, want exactly one done", outcomes)
	}
	if rs := f.Attempts("split", d); len(rs) != 1 || rs[0].Status != runs.Done {
		t.Errorf("run rows: %+v", rs)
	}
	if a := f.Call("split", http.MethodPost, chaintest.Token, event, nil); a.Result.Outcome != "already-done" {
		t.Errorf("redelivery: %v", a)
	}
	t.Logf("outcomes of %d concurrent deliveries: %v", n, outcomes)
}

var versionIDs = regexp.MustCompile(`,?\s*"version_id":\s*"[^"]*"`)

// unversioned is the object at ref (latest version) with every version ID
// blanked.
func unversioned(t *testing.T, ctx context.Context, s store.Store, ref store.Ref) string {
	t.Helper()
	ref.VersionID = ""
	body, _, err := s.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return versionIDs.ReplaceAllString(string(b), "")
}
