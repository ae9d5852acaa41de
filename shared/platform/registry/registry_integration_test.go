//go:build integration

package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// What the registry runs on.
var (
	_ registry.DB = (*pgxpool.Pool)(nil)
	_ registry.DB = pgx.Tx(nil)
	_ registry.DB = (*pgx.Conn)(nil)
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var jan = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)

func month(i int) time.Time { return jan.AddDate(0, i, 0) }

func newPool(t *testing.T, url string, conns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = conns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// setup returns a fresh database, a pool on it and an opened registry.
func setup(t *testing.T) (*testenv.PG, *pgxpool.Pool, *registry.Registry) {
	t.Helper()
	db := testenv.Postgres(t)
	pool := newPool(t, db.URL, 8)
	reg, err := registry.Open(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return db, pool, reg
}

// model is a small valid model of run date d with artifact etag.
func model(d time.Time, etag string) *registry.Model {
	return &registry.Model{
		RunDate:   d,
		Algorithm: registry.AlgorithmGBT,
		Params:    json.RawMessage(`{"trees": 100}`),
		TrainRows: 1000,
		TestRows:  250,
		Metrics:   &metrics.Report{N: 250, Positives: 50, ROCAUC: 0.8, AveragePrecision: 0.5},
		Features:  []string{"hour", "district"},
		Lineage:   []registry.Ref{{Bucket: "data", Key: "3-features/" + d.Format("2006-01") + "/manifest.json", ETag: "m1"}},
		Artifact:  registry.Ref{Bucket: "models", Key: "gbt/" + d.Format("2006-01-02") + "/model.json", ETag: etag},
		Duration:  1500 * time.Millisecond,
	}
}

func register(t *testing.T, reg *registry.Registry, m *registry.Model, wantCreated bool) int {
	t.Helper()
	v, created, err := reg.Register(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if created != wantCreated {
		t.Fatalf("Register %s/%s: created=%v, want %v", m.RunDate.Format("2006-01-02"), m.Artifact.ETag, created, wantCreated)
	}
	return v
}

func count(t *testing.T, c *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := c.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestOpenMigratesConcurrentlyAndIdempotently(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	// Functions starting together: registries and the run tracker, each on
	// its own connection.
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool := newPool(t, db.URL, 1)
			if i%2 == 0 {
				_, errs[i] = registry.Open(ctx, pool)
			} else {
				errs[i] = runs.Migrate(ctx, pool)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrate %d: %v", i, err)
		}
	}
	c := db.Conn(t)
	regMs, err := registry.Migrations()
	if err != nil || len(regMs) < 2 {
		t.Fatalf("registry migrations %d: %v", len(regMs), err)
	}
	if n := count(t, c, "SELECT count(*) FROM registry_schema_migrations"); n != len(regMs) {
		t.Errorf("registry_schema_migrations has %d rows, want %d", n, len(regMs))
	}
	ms, _ := runs.Migrations()
	if n := count(t, c, "SELECT count(*) FROM schema_migrations"); n != len(ms) {
		t.Errorf("the tracker's schema_migrations has %d rows, want %d", n, len(ms))
	}
	// Again, on a plain connection: nothing changes.
	if _, err := registry.Open(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, "SELECT count(*) FROM registry_schema_migrations"); n != len(regMs) {
		t.Errorf("after a second Open: %d rows", n)
	}
	for _, table := range []string{"models", "promotions", "pipeline_runs"} {
		if n := count(t, c, "SELECT count(*) FROM pg_tables WHERE tablename = $1", table); n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
}

func TestMigrateFS(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	c := db.Conn(t)
	fsys := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE demo_a (x int);")},
		"0002_b.sql": {Data: []byte("INSERT INTO demo_a VALUES (1);")},
		"README":     {Data: []byte("not a migration")},
	}
	for range 2 {
		if err := pg.Migrate(ctx, c, "demo", fsys); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, c, "SELECT count(*) FROM demo_a"); n != 1 {
		t.Errorf("the second migration ran %d times", n)
	}
	// A third migration is applied on its own; numbering is per component.
	fsys["0003_c.sql"] = &fstest.MapFile{Data: []byte("INSERT INTO demo_a VALUES (3);")}
	if err := pg.Migrate(ctx, c, "demo", fsys); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, "SELECT count(*) FROM demo_a"); n != 2 {
		t.Errorf("after migration 3: %d rows, want 2", n)
	}
	if err := runs.Migrate(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, "SELECT count(*) FROM demo_schema_migrations"); n != 3 {
		t.Errorf("demo_schema_migrations has %d rows, want 3", n)
	}
	// A failing migration leaves nothing behind.
	fsys["0004_bad.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE demo_b (x int); SELECT nonsense;")}
	if err := pg.Migrate(ctx, c, "demo", fsys); err == nil || !strings.Contains(err.Error(), "0004_bad") {
		t.Errorf("bad migration: %v", err)
	}
	if n := count(t, c, "SELECT count(*) FROM pg_tables WHERE tablename = 'demo_b'"); n != 0 {
		t.Error("a failed migration was partly applied")
	}
	for _, bad := range []string{"runs", "Demo", "demo;drop", ""} {
		if err := pg.Migrate(ctx, c, bad, fsys); err == nil {
			t.Errorf("component %q accepted", bad)
		}
	}
}

func TestRegisterIdempotent(t *testing.T) {
	db, _, reg := setup(t)
	ctx := context.Background()

	m := model(jan.Add(15*time.Hour), "e1") // a time of day is dropped
	v1 := register(t, reg, m, true)
	if v1 != 1 || m.Version != 1 || m.Role != registry.Challenger || m.CreatedAt.IsZero() {
		t.Fatalf("first model: v%d %+v", v1, m)
	}
	// The replayed event: same run date, same artifact.
	again := model(jan, "e1")
	again.TrainRows = 999 // not compared
	if v := register(t, reg, again, false); v != v1 || again.Version != v1 {
		t.Errorf("replay registered v%d, want v%d", v, v1)
	}
	// Same run date, another artifact: refused unless asked to replace.
	other := model(jan, "e2")
	_, _, err := reg.Register(ctx, other)
	if !errors.Is(err, registry.ErrConflict) || !strings.Contains(err.Error(), "Replace") {
		t.Fatalf("other artifact: %v, want ErrConflict", err)
	}
	c := db.Conn(t)
	if n := count(t, c, "SELECT count(*) FROM models"); n != 1 {
		t.Fatalf("%d models after replays, want 1", n)
	}
	// Another month is a new model.
	v2 := register(t, reg, model(month(1), "e1"), true)
	if v2 != 2 {
		t.Errorf("February registered as v%d", v2)
	}

	// Replace: v1 superseded by a new version; the new one is current.
	other.Replace = true
	v3 := register(t, reg, other, true)
	if v3 != 3 {
		t.Errorf("replacement is v%d, want 3", v3)
	}
	old, err := reg.Get(ctx, v1)
	if err != nil || old.ReplacedBy != v3 || old.Role != registry.Retired {
		t.Fatalf("replaced model: %+v %v", old, err)
	}
	cur, err := reg.ByRunDate(ctx, jan)
	if err != nil || cur.Version != v3 || cur.Artifact.ETag != "e2" {
		t.Fatalf("ByRunDate after replace: %+v %v", cur, err)
	}
	// Replaying the replacement changes nothing; the first artifact is a conflict now.
	if v := register(t, reg, model(jan, "e2"), false); v != v3 {
		t.Errorf("replay of the replacement: v%d", v)
	}
	if _, _, err := reg.Register(ctx, model(jan, "e1")); !errors.Is(err, registry.ErrConflict) {
		t.Errorf("the superseded artifact again: %v", err)
	}
	// Replacing the champion keeps it champion until something else is promoted.
	if err := reg.Promote(ctx, v3, "first", registry.ActorTrain); err != nil {
		t.Fatal(err)
	}
	r := model(jan, "e3")
	r.Replace = true
	v4 := register(t, reg, r, true)
	if cv, err := reg.ChampionVersion(ctx); err != nil || cv != v3 {
		t.Errorf("champion after replacing it: v%d %v, want v%d", cv, err, v3)
	}
	if cur, _ := reg.ByRunDate(ctx, jan); cur == nil || cur.Version != v4 {
		t.Errorf("ByRunDate after the champion's replacement: %+v", cur)
	}
	// Another source has a model of its own for the same run date.
	manual := model(jan, "e9")
	manual.Source = "manual"
	register(t, reg, manual, true)

	if _, err := reg.ByRunDate(ctx, month(5)); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("ByRunDate of an empty month: %v", err)
	}
	if _, err := reg.Get(ctx, 99); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Get(99): %v", err)
	}
	bad := model(month(2), "e1")
	bad.Algorithm = "forest"
	if _, _, err := reg.Register(ctx, bad); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("invalid model: %v", err)
	}
	// The index backs it up: no second current model of a run.
	_, err = c.Exec(ctx, `INSERT INTO models (run_date, algorithm, train_rows, test_rows, metrics,
		artifact_bucket, artifact_key, artifact_etag) VALUES ($1, 'gbt', 1, 1, '{}', 'b', 'k', 'x')`, jan)
	if err == nil || !strings.Contains(err.Error(), "models_one_per_run") {
		t.Errorf("second current model of a run: %v", err)
	}
}

func TestRegisterConcurrentReplays(t *testing.T) {
	db, _, reg := setup(t)
	ctx := context.Background()
	const n = 12
	versions := make([]int, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := reg
			if i%2 == 1 { // a replica of its own
				var err error
				if r, err = registry.Open(ctx, newPool(t, db.URL, 1)); err != nil {
					t.Error(err)
					return
				}
			}
			<-start
			v, c, err := r.Register(ctx, model(jan, "same"))
			if err != nil {
				t.Error(err)
			}
			versions[i], created[i] = v, c
		}()
	}
	close(start)
	wg.Wait()
	made := 0
	for i := range n {
		if created[i] {
			made++
		}
		if versions[i] != versions[0] {
			t.Errorf("delivery %d got v%d, delivery 0 v%d", i, versions[i], versions[0])
		}
	}
	if made != 1 {
		t.Errorf("%d deliveries created a model, want 1", made)
	}
}

func TestFirstModelBecomesChampion(t *testing.T) {
	_, _, reg := setup(t)
	ctx := context.Background()
	if _, err := reg.Champion(ctx); !errors.Is(err, registry.ErrNoChampion) {
		t.Errorf("Champion of an empty registry: %v", err)
	}
	if _, err := reg.ChampionVersion(ctx); !errors.Is(err, registry.ErrNoChampion) {
		t.Errorf("ChampionVersion of an empty registry: %v", err)
	}
	d := registry.Judge(registry.Scores{ROCAUC: 0.6, AveragePrecision: 0.3}, 0, registry.NoChampion)
	if !d.Promote {
		t.Fatalf("first model not promoted: %+v", d)
	}
	m := model(jan, "e1")
	m.Decision = &d
	v := register(t, reg, m, true)
	if _, err := reg.ChampionVersion(ctx); !errors.Is(err, registry.ErrNoChampion) {
		t.Errorf("registering alone made a champion: %v", err)
	}
	before := time.Now()
	if err := reg.PromoteIfChampion(ctx, v, d.ChampionVersion, d.Reason, registry.ActorTrain); err != nil {
		t.Fatal(err)
	}
	ch, err := reg.Champion(ctx)
	if err != nil || ch.Version != v || ch.Role != registry.Champion {
		t.Fatalf("champion %+v %v", ch, err)
	}
	if ch.PromotedAt.Before(before.Add(-time.Minute)) || ch.Decision == nil || !ch.Decision.Promote || ch.Decision.Reason != d.Reason {
		t.Errorf("champion's record: promoted %v, decision %+v", ch.PromotedAt, ch.Decision)
	}
	ps, err := reg.Promotions(ctx, 10)
	if err != nil || len(ps) != 1 || ps[0].From != 0 || ps[0].To != v || ps[0].Actor != "train" || ps[0].Reason != d.Reason {
		t.Fatalf("promotions %+v %v", ps, err)
	}
}

func TestPromoteSwitchesAtomically(t *testing.T) {
	db, pool, reg := setup(t)
	ctx := context.Background()
	v1 := register(t, reg, model(month(0), "a"), true)
	v2 := register(t, reg, model(month(1), "b"), true)
	if err := reg.Promote(ctx, v1, "first model", registry.ActorTrain); err != nil {
		t.Fatal(err)
	}
	// A reader polling all along never sees zero or two champions.
	stop := make(chan struct{})
	var polls int
	var pollErr error
	done := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if polls == 0 {
				close(ready)
			}
		}()
		r, err := registry.Open(ctx, newPool(t, db.URL, 1))
		if err != nil {
			pollErr = err
			return
		}
		for {
			if polls == 1 {
				close(ready) // polling: start promoting
			}
			select {
			case <-stop:
				return
			default:
			}
			v, err := r.ChampionVersion(ctx)
			if err != nil || (v != v1 && v != v2) {
				pollErr = fmt.Errorf("poll %d: v%d %v", polls, v, err)
				return
			}
			polls++
		}
	}()
	<-ready
	for i := range 20 {
		to := []int{v2, v1}[i%2]
		if err := reg.Promote(ctx, to, fmt.Sprintf("swap %d", i), registry.ActorManual); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
	if pollErr != nil {
		t.Fatal(pollErr)
	}
	t.Logf("%d polls during 20 promotions", polls)

	// The last swap (i = 19) made v1 champion again; v2 was retired.
	m1, _ := reg.Get(ctx, v1)
	m2, _ := reg.Get(ctx, v2)
	if m1.Role != registry.Champion || m2.Role != registry.Retired || m2.PromotedAt.IsZero() {
		t.Errorf("roles v1 %s, v2 %s (promoted %v)", m1.Role, m2.Role, m2.PromotedAt)
	}
	ps, err := reg.Promotions(ctx, 0)
	if err != nil || len(ps) != 21 {
		t.Fatalf("%d promotions (%v), want 21", len(ps), err)
	}
	if p := ps[0]; p.From != v2 || p.To != v1 || p.Reason != "swap 19" || p.Actor != "manual" || p.At.IsZero() {
		t.Errorf("newest promotion %+v", p)
	}
	if lim, _ := reg.Promotions(ctx, 3); len(lim) != 3 || lim[0].ID != ps[0].ID {
		t.Errorf("Promotions(3): %+v", lim)
	}

	// Promoting the champion again is a no-op: no audit row.
	if err := reg.Promote(ctx, v1, "again", registry.ActorManual); err != nil {
		t.Fatal(err)
	}
	if ps, _ := reg.Promotions(ctx, 0); len(ps) != 21 {
		t.Errorf("a no-op promotion was logged: %d rows", len(ps))
	}
	if err := reg.Promote(ctx, 42, "nope", registry.ActorManual); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("unknown version: %v", err)
	}
	for _, bad := range [][2]string{{"why", "cron"}, {"", "manual"}} {
		if err := reg.Promote(ctx, v2, bad[0], bad[1]); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("Promote(reason %q, actor %q): %v", bad[0], bad[1], err)
		}
	}
	// Nothing half-done: a promotion that fails after demoting the champion
	// (the audit row breaks a constraint) leaves the old champion in place.
	c := db.Conn(t)
	if _, err := c.Exec(ctx, fmt.Sprintf("ALTER TABLE promotions ADD CONSTRAINT no_v2 CHECK (to_version <> %d) NOT VALID", v2)); err != nil {
		t.Fatal(err)
	}
	if err := reg.Promote(ctx, v2, "will fail", registry.ActorManual); err == nil || !strings.Contains(err.Error(), "no_v2") {
		t.Fatalf("promotion with a failing audit row: %v", err)
	}
	if v, err := reg.ChampionVersion(ctx); err != nil || v != v1 {
		t.Errorf("after a failed promotion the champion is v%d (%v), want v%d", v, err, v1)
	}
	if n := count(t, c, "SELECT count(*) FROM models WHERE role = 'retired'"); n != 1 {
		t.Errorf("%d retired models after a failed promotion, want 1", n)
	}
	// The index backs it up: no second champion even by hand.
	_, err = pool.Exec(ctx, "UPDATE models SET role = 'champion', promoted_at = now() WHERE version = $1", v2)
	if err == nil || !strings.Contains(err.Error(), "models_one_champion") {
		t.Errorf("second champion by hand: %v", err)
	}
}

func TestRollback(t *testing.T) {
	_, _, reg := setup(t)
	ctx := context.Background()
	var vs []int
	for i := range 3 {
		v := register(t, reg, model(month(i), fmt.Sprint("e", i)), true)
		if err := reg.Promote(ctx, v, "better", registry.ActorTrain); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if v, _ := reg.ChampionVersion(ctx); v != vs[2] {
		t.Fatalf("champion v%d, want v%d", v, vs[2])
	}
	// v3 misbehaves in production: roll back to v1.
	if err := reg.Promote(ctx, vs[0], "v3 over-predicts arrests", registry.ActorManual); err != nil {
		t.Fatal(err)
	}
	ch, err := reg.Champion(ctx)
	if err != nil || ch.Version != vs[0] {
		t.Fatalf("champion after rollback %+v %v", ch, err)
	}
	ps, _ := reg.Promotions(ctx, 1)
	if len(ps) != 1 || ps[0].From != vs[2] || ps[0].To != vs[0] || ps[0].Actor != registry.ActorManual {
		t.Errorf("rollback's audit row %+v", ps)
	}
	list, err := reg.List(ctx, 0)
	if err != nil || len(list) != 3 {
		t.Fatalf("list %d %v", len(list), err)
	}
	roles := map[int]registry.Role{}
	for _, m := range list {
		roles[m.Version] = m.Role
	}
	if roles[vs[0]] != registry.Champion || roles[vs[1]] != registry.Retired || roles[vs[2]] != registry.Retired {
		t.Errorf("roles %v", roles)
	}
	if list[0].Version != vs[2] {
		t.Errorf("List is not newest first: %d", list[0].Version)
	}
	if two, _ := reg.List(ctx, 2); len(two) != 2 {
		t.Errorf("List(2) gave %d", len(two))
	}

	// SetRole: bring v3 back as a challenger; the champion's role is not SetRole's.
	if err := reg.SetRole(ctx, vs[2], registry.Challenger); err != nil {
		t.Fatal(err)
	}
	if m, _ := reg.Get(ctx, vs[2]); m.Role != registry.Challenger {
		t.Errorf("v3 is %s", m.Role)
	}
	if err := reg.SetRole(ctx, vs[0], registry.Retired); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("retiring the champion: %v", err)
	}
	if err := reg.SetRole(ctx, vs[1], registry.Champion); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("SetRole champion: %v", err)
	}
	if err := reg.SetRole(ctx, 77, registry.Retired); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("SetRole of an unknown version: %v", err)
	}
}

func TestConcurrentPromotionsOneChampion(t *testing.T) {
	db, _, reg := setup(t)
	ctx := context.Background()
	var vs []int
	for i := range 8 {
		vs = append(vs, register(t, reg, model(month(i), "e"), true))
	}
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := reg
			if w%2 == 1 {
				var err error
				if r, err = registry.Open(ctx, newPool(t, db.URL, 1)); err != nil {
					t.Error(err)
					return
				}
			}
			<-start
			for i := range rounds {
				v := vs[(w+i)%len(vs)]
				if err := r.Promote(ctx, v, fmt.Sprintf("worker %d round %d", w, i), registry.ActorManual); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	c := db.Conn(t)
	if n := count(t, c, "SELECT count(*) FROM models WHERE role = 'champion'"); n != 1 {
		t.Fatalf("%d champions, want 1", n)
	}
	// Serialised: each promotion's "from" is the previous one's "to".
	ps, err := reg.Promotions(ctx, 0)
	if err != nil || len(ps) == 0 {
		t.Fatalf("promotions %v", err)
	}
	for i := len(ps) - 1; i > 0; i-- {
		if ps[i-1].From != ps[i].To {
			t.Fatalf("promotion %d moved from v%d, but v%d was champion", ps[i-1].ID, ps[i-1].From, ps[i].To)
		}
	}
	cv, _ := reg.ChampionVersion(ctx)
	if ps[0].To != cv {
		t.Errorf("last promotion to v%d, champion v%d", ps[0].To, cv)
	}
	t.Logf("%d promotions, %d no-ops", len(ps), workers*rounds-len(ps))
}

// Trains finishing together, each comparing with the champion it saw and
// promoting only if that is still the champion: the best model wins.
func TestConcurrentTrainsBestModelWins(t *testing.T) {
	db, _, reg := setup(t)
	ctx := context.Background()
	const trains = 8
	// Model i's scores, the same on every test set for the test's sake.
	aucs := []float64{0.71, 0.78, 0.74, 0.80, 0.69, 0.80, 0.77, 0.73}
	aps := []float64{0.40, 0.45, 0.42, 0.50, 0.39, 0.52, 0.44, 0.41} // model 5 wins the AUC tie with 3
	scores := func(v int) registry.Scores {
		m, err := reg.Get(ctx, v)
		if err != nil {
			t.Error(err)
			return registry.Scores{}
		}
		return registry.Scores{ROCAUC: m.Metrics.ROCAUC, AveragePrecision: m.Metrics.AveragePrecision}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	retries := make([]int, trains)
	for i := range trains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := registry.Open(ctx, newPool(t, db.URL, 2))
			if err != nil {
				t.Error(err)
				return
			}
			m := model(month(i), fmt.Sprint("e", i))
			m.Metrics.ROCAUC, m.Metrics.AveragePrecision = aucs[i], aps[i]
			mine := registry.Scores{ROCAUC: aucs[i], AveragePrecision: aps[i]}
			<-start
			v, _, err := r.Register(ctx, m)
			if err != nil {
				t.Error(err)
				return
			}
			for {
				champ, err := r.ChampionVersion(ctx)
				var champScores registry.Scores
				switch {
				case errors.Is(err, registry.ErrNoChampion):
					champ = 0
				case err != nil:
					t.Error(err)
					return
				default:
					champScores = scores(champ)
				}
				d := registry.Judge(mine, champ, champScores)
				if err := r.SetDecision(ctx, v, d); err != nil {
					t.Error(err)
					return
				}
				if !d.Promote {
					return
				}
				err = r.PromoteIfChampion(ctx, v, champ, d.Reason, registry.ActorTrain)
				if !errors.Is(err, registry.ErrChampionChanged) {
					if err != nil {
						t.Error(err)
					}
					return
				}
				retries[i]++
			}
		}()
	}
	close(start)
	wg.Wait()
	ch, err := reg.Champion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metrics.ROCAUC != 0.80 || ch.Metrics.AveragePrecision != 0.52 {
		t.Errorf("champion v%d scores %v/%v, want the best model (0.80/0.52)", ch.Version, ch.Metrics.ROCAUC, ch.Metrics.AveragePrecision)
	}
	if n := count(t, db.Conn(t), "SELECT count(*) FROM models WHERE role = 'champion'"); n != 1 {
		t.Errorf("%d champions", n)
	}
	if ch.Decision == nil || !ch.Decision.Promote {
		t.Errorf("champion's decision %+v", ch.Decision)
	}
	t.Logf("retries after a champion change: %v", retries)
}

func TestChampionVersionFastPath(t *testing.T) {
	db, _, reg := setup(t)
	ctx := context.Background()
	c := db.Conn(t)
	// Many models with large metrics (as real ones with curves are).
	if _, err := c.Exec(ctx, `INSERT INTO models (run_date, source, algorithm, train_rows, test_rows, metrics,
		artifact_bucket, artifact_key, artifact_etag, role)
		SELECT DATE '2000-01-01' + i, 'bulk', 'gbt', 1, 1,
		       jsonb_build_object('roc', (SELECT jsonb_agg(j) FROM generate_series(1, 400) j)),
		       'models', 'k' || i, 'e' || i, 'retired'
		FROM generate_series(1, 5000) i`); err != nil {
		t.Fatal(err)
	}
	v := register(t, reg, model(jan, "e1"), true)
	if err := reg.Promote(ctx, v, "first", registry.ActorTrain); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "VACUUM ANALYZE models"); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := c.Query(ctx, "EXPLAIN SELECT version FROM models WHERE role = 'champion'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if !strings.Contains(plan.String(), "models_one_champion") || strings.Contains(plan.String(), "Seq Scan") {
		t.Errorf("champion lookup does not use the champion index:\n%s", plan.String())
	}
	t.Logf("plan:\n%s", plan.String())
	const polls = 200
	began := time.Now()
	for range polls {
		got, err := reg.ChampionVersion(ctx)
		if err != nil || got != v {
			t.Fatalf("ChampionVersion: v%d %v, want v%d", got, err, v)
		}
	}
	t.Logf("ChampionVersion: %v a poll over %d models", time.Since(began)/polls, 5001)
}

func TestJSONRoundTrip(t *testing.T) {
	pg, _, reg := setup(t)
	ctx := context.Background()
	// A real report: curves, calibration bins, awkward floats.
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 5000
	y := make([]uint8, n)
	p := make([]float64, n)
	for i := range n {
		z := rng.NormFloat64()
		if rng.Float64() < 1/(1+math.Exp(-2*z)) {
			y[i] = 1
		}
		p[i] = 1 / (1 + math.Exp(-z-0.3*rng.NormFloat64()))
	}
	rep, err := metrics.NewReport(y, p, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ROC.FPR) < 100 || len(rep.PR.Precision) < 100 || len(rep.Calibration.Bin) == 0 {
		t.Fatalf("report too small for the test: %d ROC, %d PR points", len(rep.ROC.FPR), len(rep.PR.Precision))
	}
	m := model(jan, "e1")
	m.Algorithm = registry.AlgorithmLogReg
	m.Metrics = rep
	m.Params = json.RawMessage(`{"C": 0.1, "penalty": "l2", "max_iter": 1000, "class_weight": {"0": 1, "1": 3.5}}`)
	m.FeatureImportance = map[string]float64{"hour": 0.1 + 0.2, "district": -1.5e-9, "lat": 1e300, "lon": 0}
	m.Features = []string{"lon", "lat", "hour", "district", "fbi_code=08B", "ünïcode"}
	m.Lineage = []registry.Ref{
		{Bucket: "data", Key: "2-split/2018-01/manifest.json", ETag: `"9b2cf535f27731c974343645a3985328"`},
		{Bucket: "data", Key: "3-features/2018-01/manifest.json", ETag: "abc-2"},
	}
	m.Duration = 83*time.Second + 412*time.Millisecond
	m.CodeVersion = "v1.2.3-4-gabcdef"
	d := registry.Judge(registry.Scores{ROCAUC: rep.ROCAUC, AveragePrecision: rep.AveragePrecision}, 7,
		registry.Scores{ROCAUC: 0.1 + 0.2, AveragePrecision: 1.0 / 3})
	d.TestSet = "data/2-split/2018-01/test.csv.gz"
	m.Decision = &d
	v := register(t, reg, m, true)

	got, err := reg.Get(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Metrics, rep) {
		t.Errorf("metrics report changed in the database:\n got %+v\nwant %+v", got.Metrics, rep)
	}
	if !reflect.DeepEqual(got.FeatureImportance, m.FeatureImportance) {
		t.Errorf("importance %v, want %v", got.FeatureImportance, m.FeatureImportance)
	}
	if !reflect.DeepEqual(got.Features, m.Features) || !reflect.DeepEqual(got.Lineage, m.Lineage) {
		t.Errorf("features %v lineage %v", got.Features, got.Lineage)
	}
	if !reflect.DeepEqual(got.Decision, m.Decision) {
		t.Errorf("decision %+v, want %+v", got.Decision, m.Decision)
	}
	var a, b any
	if err := json.Unmarshal(got.Params, &a); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(m.Params, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("params %s, want %s", got.Params, m.Params)
	}
	if !got.RunDate.Equal(jan) || got.RunDate.Location() != time.UTC || got.Algorithm != "logreg" || got.Source != registry.SourcePipeline ||
		got.TrainRows != 1000 || got.TestRows != 250 || got.Artifact != m.Artifact || got.Duration != m.Duration ||
		got.CodeVersion != m.CodeVersion || got.Role != registry.Challenger || !got.PromotedAt.IsZero() || got.ReplacedBy != 0 ||
		!got.CreatedAt.Equal(m.CreatedAt) {
		t.Errorf("scalar columns:\n got %+v\nwant %+v", got, m)
	}
	// The stored report is queryable as JSON, for dashboards.
	var auc float64
	var rocPoints int
	if err := pg.Conn(t).QueryRow(ctx, "SELECT (metrics->>'roc_auc')::float8, jsonb_array_length(metrics->'roc'->'fpr') FROM models WHERE version = $1", v).
		Scan(&auc, &rocPoints); err != nil {
		t.Fatal(err)
	}
	if auc != rep.ROCAUC || rocPoints != len(rep.ROC.FPR) {
		t.Errorf("metrics->roc_auc %v (%d ROC points), want %v (%d)", auc, rocPoints, rep.ROCAUC, len(rep.ROC.FPR))
	}
}

// A registry works inside a caller's transaction: rolled back, nothing stays.
func TestInsideTransaction(t *testing.T) {
	pg, pool, _ := setup(t)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.Open(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	v := register(t, r, model(jan, "tx"), true)
	if err := r.Promote(ctx, v, "in a transaction", registry.ActorManual); err != nil {
		t.Fatal(err)
	}
	if cv, err := r.ChampionVersion(ctx); err != nil || cv != v {
		t.Fatalf("champion inside the transaction: v%d %v", cv, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pg.Conn(t), "SELECT count(*) FROM models"); n != 0 {
		t.Errorf("%d models after rollback", n)
	}
}
