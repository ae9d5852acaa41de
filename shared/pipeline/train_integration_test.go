//go:build integration

package pipeline_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	handler "github.com/openfaas/templates-sdk/go-http"

	trainfn "github.com/arrestcast/arrestcast/functions/train"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/pipeline"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// flakyDB is the registry's database with one statement made to fail, as a
// dropped connection would.
type flakyDB struct {
	*pgxpool.Pool
	mu     sync.Mutex
	failOn string
}

func (d *flakyDB) failNext(sqlPart string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failOn = sqlPart
}

func (d *flakyDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	d.mu.Lock()
	hit := d.failOn != "" && strings.Contains(sql, d.failOn)
	if hit {
		d.failOn = ""
	}
	d.mu.Unlock()
	if hit {
		return pgconn.CommandTag{}, errors.New("injected: connection reset by peer")
	}
	return d.Pool.Exec(ctx, sql, args...)
}

// runUpTo runs the steps before last for run date d through their Services.
func (f *fixture) runUpTo(last string, d time.Time) {
	f.t.Helper()
	for _, step := range chainSteps() {
		if step == last {
			return
		}
		if a := f.trigger(step, d); a.Status != http.StatusOK || a.Result.Outcome != "done" {
			f.t.Fatalf("%s %s: %v", step, d.Format(chain.DateLayout), a)
		}
	}
}

// champions returns the versions whose role is champion.
func (f *fixture) champions() []int {
	f.t.Helper()
	models, err := f.reg.List(f.ctx, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []int
	for _, m := range models {
		if m.Role == registry.Champion {
			out = append(out, m.Version)
		}
	}
	return out
}

// TestTrainRegistry covers train's part of the registry contract:
//   - a train that registered its model but lost its connection before
//     promoting it as decided is finished by the redelivered event, which
//     trains nothing new;
//   - the second monthly run registers a challenger with the decision
//     recorded either way, and exactly one champion;
//   - manual promotion and rollback through functions/train's
//     {"promote": N} call (the real handler, connected by NewEnv from its
//     environment and secrets) keep exactly one champion, and a replayed
//     train event afterwards changes nothing.
func TestTrainRegistry(t *testing.T) {
	f := newFixture(t, options{crimes: slice(t, 30, nil)})
	flaky := &flakyDB{Pool: f.pool}
	reg, err := registry.Open(f.ctx, flaky)
	if err != nil {
		t.Fatal(err)
	}
	f.env.Registry = pipeline.ModelRegistry{Reg: reg, Store: f.store, Models: chain.ModelsBucket}

	d1, d2 := runDate("2017-12-01"), runDate("2018-01-01")
	f.runUpTo("train", d1)
	event := f.triggerBody("train", d1)

	// Registered, then the connection drops before the decision is applied.
	flaky.failNext("SET decision")
	a := f.call("train", http.MethodPost, pipelineToken, event, nil)
	if a.Status != http.StatusServiceUnavailable {
		t.Fatalf("train with the registry failing after Register: %v, want 503", a)
	}
	mod, err := f.reg.ByRunDate(f.ctx, d1)
	if err != nil || mod.Role != registry.Challenger || mod.Decision == nil || !mod.Decision.Promote {
		t.Fatalf("after the interrupted train: %+v %v", mod, err)
	}
	if _, err := f.reg.Champion(f.ctx); !errors.Is(err, registry.ErrNoChampion) {
		t.Fatalf("champion before the retry: %v", err)
	}
	a = f.call("train", http.MethodPost, pipelineToken, event, nil)
	if a.Status != http.StatusOK || a.Result.Outcome != "done" {
		t.Fatalf("redelivered train: %v", a)
	}
	m := f.mustManifest("train", d1)
	if m.Notes["already_registered"] != true {
		t.Errorf("the retry trained again: %v", m.Notes)
	}
	if ch := f.champions(); len(ch) != 1 || ch[0] != 1 {
		t.Errorf("champions after the retry: %v, want [1] (the decision said promote)", ch)
	}
	if models, _ := f.reg.List(f.ctx, 0); len(models) != 1 {
		t.Errorf("%d models registered, want 1", len(models))
	}
	if rs := f.attempts("train", d1); len(rs) != 2 || countStatus(rs, runs.Done) != 1 {
		t.Errorf("train run rows: %+v", rs)
	}

	// The second monthly run: only December is new.
	f.runUpTo("train", d2)
	if got := f.mustManifest("download", d2).Notes["months"]; len(got.([]any)) != 1 || got.([]any)[0] != "2017-12" {
		t.Errorf("second run downloaded %v, want [2017-12]", got)
	}
	a = f.trigger("train", d2)
	if a.Status != http.StatusOK || a.Result.Outcome != "done" {
		t.Fatalf("second train: %v", a)
	}
	m2 := f.mustManifest("train", d2)
	checkTrain(f, d2, m2, 2)
	v2, err := f.reg.Get(f.ctx, 2)
	if err != nil || v2.Decision == nil || v2.Decision.ChampionVersion != 1 || v2.Decision.Champion == nil || v2.Decision.Reason == "" {
		t.Fatalf("v2's decision: %+v (%v)", v2.Decision, err)
	}
	champ := 1
	if v2.Decision.Promote {
		champ = 2
	}
	if ch := f.champions(); len(ch) != 1 || ch[0] != champ || m2.Notes["champion"] != v2.Decision.Promote {
		t.Errorf("champions %v, decision %q (promote %v), manifest champion %v", ch, v2.Decision.Reason, v2.Decision.Promote, m2.Notes["champion"])
	}
	t.Logf("second run: %s", v2.Decision.Reason)

	// Manual promotion and rollback through functions/train's handler,
	// connected by NewEnv from the function's environment and secrets.
	writeSecret(t, f.secrets, config.SecretMinIOAccessKey, f.minio.AccessKey)
	writeSecret(t, f.secrets, config.SecretMinIOSecretKey, f.minio.SecretKey)
	writeSecret(t, f.secrets, config.SecretDatabaseURL, f.db.URL)
	t.Setenv("MINIO_ENDPOINT", f.minio.Endpoint)
	t.Setenv("TRAIN_BUDGET", "2s")
	promote := func(auth string, version int, reason string) answer {
		t.Helper()
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", "Bearer "+auth)
		}
		req := handler.Request{Method: http.MethodPost, Header: h,
			Body: []byte(`{"promote":` + strconv.Itoa(version) + `,"reason":"` + reason + `"}`)}
		req.WithContext(f.ctx)
		res, err := trainfn.Handle(req)
		if err != nil {
			t.Fatal(err)
		}
		return decodeAnswer(t, res.StatusCode, res.Body)
	}
	other := 3 - champ
	if a := promote("", other, "forged"); a.Status != http.StatusUnauthorized {
		t.Errorf("promotion without the token: %v", a)
	}
	if ch := f.champions(); len(ch) != 1 || ch[0] != champ {
		t.Errorf("a refused promotion changed the champion: %v", ch)
	}
	for _, step := range []struct {
		version int
		reason  string
	}{{other, "manual promotion"}, {champ, "rollback"}, {other, "promote again"}} {
		a := promote(pipelineToken, step.version, step.reason)
		if a.Status != http.StatusOK || a.Body["champion"] != float64(step.version) {
			t.Fatalf("promote %d: %v", step.version, a)
		}
		if ch := f.champions(); len(ch) != 1 || ch[0] != step.version {
			t.Fatalf("after %s of v%d: champions %v", step.reason, step.version, ch)
		}
		p, err := f.reg.Promotions(f.ctx, 1)
		if err != nil || len(p) != 1 || p[0].To != step.version || p[0].Actor != registry.ActorManual || p[0].Reason != step.reason {
			t.Errorf("promotion log: %+v %v", p, err)
		}
	}
	if a := promote(pipelineToken, 99, "nope"); a.Status != http.StatusNotFound {
		t.Errorf("promote an unknown version: %v, want 404", a)
	}
	// Promoting the champion again is a no-op.
	before, _ := f.reg.Promotions(f.ctx, 0)
	if a := promote(pipelineToken, other, "again"); a.Status != http.StatusOK {
		t.Errorf("promote the champion: %v", a)
	}
	if after, _ := f.reg.Promotions(f.ctx, 0); len(after) != len(before) {
		t.Errorf("promoting the champion logged a promotion")
	}

	// A replayed train event changes nothing: no model, no decision, the
	// manual choice stands.
	a = f.trigger("train", d2)
	if a.Status != http.StatusOK || a.Result.Outcome != "already-done" {
		t.Errorf("replayed train: %v", a)
	}
	if models, _ := f.reg.List(f.ctx, 0); len(models) != 2 {
		t.Errorf("%d models after the replay, want 2", len(models))
	}
	if ch := f.champions(); len(ch) != 1 || ch[0] != other {
		t.Errorf("champions after the replay: %v, want [%d]", ch, other)
	}
}
