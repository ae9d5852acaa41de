//go:build integration

package steps_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	handler "github.com/openfaas/templates-sdk/go-http"

	trainfn "github.com/arrestcast/arrestcast/functions/train"
	"github.com/arrestcast/arrestcast/internal/chaintest"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/steps/train"
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
	f := chaintest.New(t, chaintest.Options{Crimes: chaintest.Slice(t, 30, nil)})
	flaky := &flakyDB{Pool: f.Pool}
	reg, err := registry.Open(f.Ctx, flaky)
	if err != nil {
		t.Fatal(err)
	}
	o := f.TrainOptions()
	o.Registrar = train.Champions{Reg: reg, Store: f.Store}
	f.Build(o)

	d1, d2 := chaintest.RunDate("2017-12-01"), chaintest.RunDate("2018-01-01")
	f.RunUpTo("train", d1)
	event := f.TriggerBody("train", d1)

	// Registered, then the connection drops before the decision is applied.
	flaky.failNext("SET decision")
	a := f.Call("train", http.MethodPost, chaintest.Token, event, nil)
	if a.Status != http.StatusServiceUnavailable {
		t.Fatalf("train with the registry failing after Register: %v, want 503", a)
	}
	mod, err := f.Reg.ByRunDate(f.Ctx, d1)
	if err != nil || mod.Role != registry.Challenger || mod.Decision == nil || !mod.Decision.Promote {
		t.Fatalf("after the interrupted train: %+v %v", mod, err)
	}
	if _, err := f.Reg.Champion(f.Ctx); !errors.Is(err, registry.ErrNoChampion) {
		t.Fatalf("champion before the retry: %v", err)
	}
	a = f.Call("train", http.MethodPost, chaintest.Token, event, nil)
	if a.Status != http.StatusOK || a.Result.Outcome != "done" {
		t.Fatalf("redelivered train: %v", a)
	}
	m := f.MustManifest("train", d1)
	if m.Notes["already_registered"] != true {
		t.Errorf("the retry trained again: %v", m.Notes)
	}
	if ch := f.Champions(); len(ch) != 1 || ch[0] != 1 {
		t.Errorf("champions after the retry: %v, want [1] (the decision said promote)", ch)
	}
	if models, _ := f.Reg.List(f.Ctx, 0); len(models) != 1 {
		t.Errorf("%d models registered, want 1", len(models))
	}
	if rs := f.Attempts("train", d1); len(rs) != 2 || chaintest.CountStatus(rs, runs.Done) != 1 {
		t.Errorf("train run rows: %+v", rs)
	}

	// The second monthly run: only December is new.
	f.RunUpTo("train", d2)
	if got := f.MustManifest("download", d2).Notes["fetched"]; len(got.([]any)) != 1 || got.([]any)[0] != "2017-12" {
		t.Errorf("second run fetched %v, want [2017-12]", got)
	}
	a = f.Trigger("train", d2)
	if a.Status != http.StatusOK || a.Result.Outcome != "done" {
		t.Fatalf("second train: %v", a)
	}
	m2 := f.MustManifest("train", d2)
	checkTrain(f, d2, m2, 2)
	v2, err := f.Reg.Get(f.Ctx, 2)
	if err != nil || v2.Decision == nil || v2.Decision.ChampionVersion != 1 || v2.Decision.Champion == nil || v2.Decision.Reason == "" {
		t.Fatalf("v2's decision: %+v (%v)", v2.Decision, err)
	}
	champ := 1
	if v2.Decision.Promote {
		champ = 2
	}
	if ch := f.Champions(); len(ch) != 1 || ch[0] != champ || m2.Notes["champion"] != v2.Decision.Promote {
		t.Errorf("champions %v, decision %q (promote %v), manifest champion %v", ch, v2.Decision.Reason, v2.Decision.Promote, m2.Notes["champion"])
	}
	t.Logf("second run: %s", v2.Decision.Reason)

	// Manual promotion and rollback through functions/train's handler,
	// connected by NewEnv from the function's environment and secrets.
	chaintest.WriteSecret(t, f.Secrets, config.SecretMinIOAccessKey, f.MinIO.AccessKey)
	chaintest.WriteSecret(t, f.Secrets, config.SecretMinIOSecretKey, f.MinIO.SecretKey)
	chaintest.WriteSecret(t, f.Secrets, config.SecretDatabaseURL, f.DB.URL)
	t.Setenv("MINIO_ENDPOINT", f.MinIO.Endpoint)
	t.Setenv("TRAIN_BUDGET", "2s")
	promote := func(auth string, version int, reason string) chaintest.Answer {
		t.Helper()
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", "Bearer "+auth)
		}
		req := handler.Request{Method: http.MethodPost, Header: h,
			Body: []byte(`{"promote":` + strconv.Itoa(version) + `,"reason":"` + reason + `"}`)}
		req.WithContext(f.Ctx)
		res, err := trainfn.Handle(req)
		if err != nil {
			t.Fatal(err)
		}
		return chaintest.DecodeAnswer(t, res.StatusCode, res.Body)
	}
	other := 3 - champ
	if a := promote("", other, "forged"); a.Status != http.StatusUnauthorized {
		t.Errorf("promotion without the token: %v", a)
	}
	if ch := f.Champions(); len(ch) != 1 || ch[0] != champ {
		t.Errorf("a refused promotion changed the champion: %v", ch)
	}
	for _, step := range []struct {
		version int
		reason  string
	}{{other, "manual promotion"}, {champ, "rollback"}, {other, "promote again"}} {
		a := promote(chaintest.Token, step.version, step.reason)
		if a.Status != http.StatusOK || a.Body["champion"] != float64(step.version) {
			t.Fatalf("promote %d: %v", step.version, a)
		}
		if ch := f.Champions(); len(ch) != 1 || ch[0] != step.version {
			t.Fatalf("after %s of v%d: champions %v", step.reason, step.version, ch)
		}
		p, err := f.Reg.Promotions(f.Ctx, 1)
		if err != nil || len(p) != 1 || p[0].To != step.version || p[0].Actor != registry.ActorManual || p[0].Reason != step.reason {
			t.Errorf("promotion log: %+v %v", p, err)
		}
	}
	if a := promote(chaintest.Token, 99, "nope"); a.Status != http.StatusNotFound {
		t.Errorf("promote an unknown version: %v, want 404", a)
	}
	// Promoting the champion again is a no-op.
	before, _ := f.Reg.Promotions(f.Ctx, 0)
	if a := promote(chaintest.Token, other, "again"); a.Status != http.StatusOK {
		t.Errorf("promote the champion: %v", a)
	}
	if after, _ := f.Reg.Promotions(f.Ctx, 0); len(after) != len(before) {
		t.Errorf("promoting the champion logged a promotion")
	}

	// A replayed train event changes nothing: no model, no decision, the
	// manual choice stands.
	a = f.Trigger("train", d2)
	if a.Status != http.StatusOK || a.Result.Outcome != "already-done" {
		t.Errorf("replayed train: %v", a)
	}
	if models, _ := f.Reg.List(f.Ctx, 0); len(models) != 2 {
		t.Errorf("%d models after the replay, want 2", len(models))
	}
	if ch := f.Champions(); len(ch) != 1 || ch[0] != other {
		t.Errorf("champions after the replay: %v, want [%d]", ch, other)
	}
}
