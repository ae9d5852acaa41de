//go:build integration

package steps_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/chaintest"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/steps/setup"
)

// TestChainDrivenByMinIO runs two monthly runs with nothing but MinIO's
// bucket notifications driving the chain: a MinIO server declaring the
// chain's webhook targets (chain.WebhookEnv, with persistent queues) posts to
// a gateway in front of every step's function; setup installs the buckets,
// versioning, the expiry rule and the notification rules; download is fired
// by hand and every later step starts on the previous one's manifest. The
// buckets are not called data and models (DATA_BUCKET, MODELS_BUCKET): the
// functions know them by role. The first run (as_of 2017-12-01) downloads
// the 12 months before; the second (as_of 2018-01-01) only December, builds
// its window from the twelve months, trains and records the
// champion/challenger decision.
func TestChainDrivenByMinIO(t *testing.T) {
	gw := chaintest.NewGateway(t)
	f := chaintest.New(t, chaintest.Options{
		Crimes:   chaintest.Slice(t, 15, nil),
		MinIOEnv: chain.WebhookEnv(gw.URL, chaintest.Token, t.TempDir()),
		Buckets:  chain.Buckets{Data: "city-crimes", Models: "arrest-models"},
	})
	svcs := f.Functions
	gw.Services.Store(&svcs)

	rep, err := setup.Run(f.Ctx, f.Raw, f.Buckets, 30*time.Second, f.Env.Log)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	if !rep.RulesChanged || !rep.ExpiryChanged || len(rep.Rules) != len(chain.Evented()) {
		t.Errorf("setup report: %+v", rep)
	}
	rules, err := f.Raw.Notifications(f.Ctx, f.Buckets.Data)
	if err != nil || len(rules) != len(chain.Evented()) {
		t.Errorf("notification rules in MinIO: %v %v", rules, err)
	}
	expiry, err := f.Raw.ExpiryRules(f.Ctx, f.Buckets.Data)
	if err != nil || len(expiry) != 1 || expiry[0].Prefix != chain.TempPrefix || expiry[0].Days != chain.TempExpiryDays {
		t.Errorf("expiry rules: %+v %v", expiry, err)
	}
	if again, err := setup.Run(f.Ctx, f.Raw, f.Buckets, 30*time.Second, f.Env.Log); err != nil || again.RulesChanged || again.ExpiryChanged || again.VersioningChanged {
		t.Errorf("setup again: %+v %v, want no change", again, err)
	}

	// Every 15th crime of 2017, as the second run's merged window holds them all.
	_, recs := chaintest.Crimes2017(t)
	var sample, december int64
	for i := 0; i < len(recs); i += 15 {
		sample++
		if recs[i][2][:2] == "12" {
			december++
		}
	}

	runChain := func(asOf string) time.Duration {
		t.Helper()
		d := chaintest.RunDate(asOf)
		start := time.Now()
		a := gw.Post(t, "download", `{"as_of":"`+asOf+`"}`)
		if a.Status != http.StatusOK || a.Result.Outcome != "done" {
			t.Fatalf("download %s: %v", asOf, a)
		}
		chaintest.WaitFor(t, 3*time.Minute, "train's manifest of "+asOf, func() bool {
			for _, c := range gw.Calls() {
				if c.Outcome == "failed" || c.Status >= 500 && c.Outcome != "in-progress" {
					t.Fatalf("%s answered %d %s while the chain ran", c.Step, c.Status, c.Outcome)
				}
			}
			_, err := f.Manifest("train", d)
			return err == nil
		})
		took := time.Since(start)

		// Every step's manifest, done, its outputs in place.
		for _, step := range chaintest.RunSteps() {
			m := f.MustManifest(step, d)
			if m.Status != "done" || m.RunDate != asOf {
				t.Errorf("%s manifest: %+v", step, m)
			}
			f.CheckOutputs(m)
		}
		// Each step done exactly once, no failed attempt.
		h, err := f.Tracker.History(f.Ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		done := map[string]int{}
		for _, r := range h {
			if r.Status != runs.Done {
				t.Errorf("%s attempt %d: %s %s", r.Step, r.Attempt, r.Status, r.Error)
			}
			done[r.Step]++
		}
		for _, step := range chaintest.RunSteps() {
			if done[step] != 1 {
				t.Errorf("%s done %d times for %s, want once", step, done[step], asOf)
			}
		}
		st, err := f.Tracker.Status(f.Ctx, 1)
		if err != nil || len(st) != 1 || !st[0].RunDate.Equal(d) || st[0].Status != runs.Done {
			t.Errorf("pipeline run %s: %+v %v", asOf, st, err)
		}
		return took
	}

	d1, d2 := chaintest.RunDate("2017-12-01"), chaintest.RunDate("2018-01-01")
	took1 := runChain("2017-12-01")
	m := f.MustManifest("merge", d1)
	if m.RowsOut != sample-december {
		t.Errorf("first window: %d rows, want %d", m.RowsOut, sample-december)
	}
	checkTrain(f.In(t), d1, f.MustManifest("train", d1), 1)
	if ch := f.Champions(); len(ch) != 1 || ch[0] != 1 {
		t.Errorf("after the first run: champions %v, want [1]", ch)
	}
	calls1 := len(gw.Calls())

	took2 := runChain("2018-01-01")
	dm := f.MustManifest("download", d2)
	if got := dm.Notes["fetched"].([]any); len(got) != 1 || got[0] != "2017-12" || len(dm.Offers(chain.RoleCrimes)) != 12 {
		t.Errorf("second run fetched %v and handed on %d months, want only 2017-12 fetched and 12 handed on", got, len(dm.Offers(chain.RoleCrimes)))
	}
	m = f.MustManifest("merge", d2)
	if len(m.Inputs) != 12 || m.RowsIn != sample || m.RowsOut != sample || m.Notes["duplicate_ids"] != 0.0 {
		t.Errorf("second merge: %d inputs, in %d out %d notes %v; want the twelve months of 2017, %d rows", len(m.Inputs), m.RowsIn, m.RowsOut, m.Notes, sample)
	}
	tm := f.MustManifest("train", d2)
	checkTrain(f.In(t), d2, tm, 2)
	v2, err := f.Reg.Get(f.Ctx, 2)
	if err != nil || v2.Decision == nil || v2.Decision.ChampionVersion != 1 || v2.Decision.Champion == nil {
		t.Fatalf("v2's decision: %+v %v", v2.Decision, err)
	}
	want := 1
	if v2.Decision.Promote {
		want = 2
	}
	if ch := f.Champions(); len(ch) != 1 || ch[0] != want || tm.Notes["champion"] != v2.Decision.Promote || tm.Notes["decision"] != v2.Decision.Reason {
		t.Errorf("champions %v; decision %+v; manifest %v", ch, v2.Decision, tm.Notes)
	}
	if want == 2 {
		if v1, _ := f.Reg.Get(f.Ctx, 1); v1.Role != registry.Retired {
			t.Errorf("the replaced champion is %s", v1.Role)
		}
	} else if v2.Role != registry.Challenger {
		t.Errorf("the losing challenger is %s", v2.Role)
	}
	t.Logf("second run's decision: %s", v2.Decision.Reason)

	// Timings: how long each step worked (its manifest), how long its call
	// took, and how long the event took to arrive after the previous
	// step's manifest was written.
	calls := gw.Calls()
	t.Logf("first run %.1fs, second run %.1fs (%d and %d calls to the gateway)", took1.Seconds(), took2.Seconds(), calls1, len(calls)-calls1)
	for _, run := range []struct {
		d     time.Time
		calls []chaintest.Delivery
	}{{d1, calls[:calls1]}, {d2, calls[calls1:]}} {
		var b strings.Builder
		fmt.Fprintf(&b, "run %s\n%-9s %8s %8s %9s %6s\n", run.d.Format(chain.DateLayout), "step", "work s", "call s", "arrive s", "calls")
		var prevEnd time.Time
		var work, wait float64
		for _, step := range chaintest.RunSteps() {
			mf := f.MustManifest(step, run.d)
			var first *chaintest.Delivery
			n := 0
			for i, c := range run.calls {
				if c.Step == step && c.Method == http.MethodPost {
					n++
					if c.Outcome == "done" {
						first = &run.calls[i]
					}
				}
			}
			if first == nil {
				t.Errorf("%s: no done call through the gateway", step)
				continue
			}
			arrive := 0.0
			if !prevEnd.IsZero() {
				arrive = first.Start.Sub(prevEnd).Seconds()
			}
			prevEnd = first.Start.Add(first.Took)
			work += mf.Seconds
			wait += arrive
			fmt.Fprintf(&b, "%-9s %8.2f %8.2f %9.2f %6d\n", step, mf.Seconds, first.Took.Seconds(), arrive, n)
		}
		fmt.Fprintf(&b, "%-9s %8.2f %8s %9.2f\n", "total", work, "", wait)
		t.Log(b.String())
	}

	// Replays through MinIO's own path: overwriting a manifest with the same
	// bytes fires the same rule again; the next step answers already-done.
	before := len(gw.Calls())
	key := chain.ManifestKey("features", d2)
	body, _, err := store.GetBytes(f.Ctx, f.Raw, f.Buckets.Data, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutBytes(f.Ctx, f.Raw, f.Buckets.Data, key, body, "application/json"); err != nil {
		t.Fatal(err)
	}
	chaintest.WaitFor(t, 30*time.Second, "the replayed event", func() bool { return len(gw.Calls()) > before })
	if c := gw.Calls()[before]; c.Step != "train" || c.Status != http.StatusOK || c.Outcome != "already-done" {
		t.Errorf("replayed event: %+v", c)
	}
	if models, _ := f.Reg.List(f.Ctx, 0); len(models) != 2 {
		t.Errorf("%d models after the replay, want 2", len(models))
	}
}
