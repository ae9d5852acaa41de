//go:build integration

package runs_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var (
	jan = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	feb = time.Date(2018, 2, 1, 0, 0, 0, 0, time.UTC)
)

func inputs(etag string) []runs.Ref {
	return []runs.Ref{
		{Bucket: "data", Key: "0-raw-data/monthly-data/2017-12/crimes.csv", ETag: etag},
		{Bucket: "data", Key: "0-raw-data/monthly-data/2017-12/manifest.json", ETag: "m-" + etag},
	}
}

// setup returns a migrated database and a tracker over a pool on it.
func setup(t *testing.T, opts runs.Options) (*testenv.PG, *pgxpool.Pool, *runs.Tracker) {
	t.Helper()
	db := testenv.Postgres(t)
	pool, err := pg.Open(context.Background(), db.URL, pg.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tr := runs.New(pool, opts)
	if err := tr.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, pool, tr
}

func begin(t *testing.T, tr *runs.Tracker, date time.Time, step string, in []runs.Ref, lease time.Duration, want runs.Outcome) *runs.StepRun {
	t.Helper()
	run, got, err := tr.Begin(context.Background(), date, step, in, lease)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Begin %s: %v, want %v (run %+v)", step, got, want, run)
	}
	return run
}

func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine is a function starting up: its own connection.
			pool, err := pg.Open(ctx, db.URL, pg.Options{MaxConns: 1})
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			errs[i] = runs.Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrate %d: %v", i, err)
		}
	}
	ms, err := runs.Migrations()
	if err != nil || len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("migrations: %+v %v", ms, err)
	}
	c := db.Conn(t)
	count := func() (n int) {
		if err := c.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	if err := runs.Migrate(ctx, c); err != nil { // a plain *pgx.Conn is a DB too
		t.Fatal(err)
	}
	if n := count(); n != len(ms) {
		t.Fatalf("after a second Migrate: %d rows, want %d", n, len(ms))
	}
	for _, table := range []string{"pipeline_runs", "step_runs"} {
		var ok bool
		if err := c.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (%v)", table, err)
		}
	}
}

func TestBeginFinishAlreadyDone(t *testing.T) {
	db, _, tr := setup(t, runs.Options{CodeVersion: "v1"})
	ctx := context.Background()

	a := begin(t, tr, jan.Add(13*time.Hour), "merge", inputs("e1"), time.Minute, runs.Started)
	if !a.RunDate.Equal(jan) || a.Status != runs.Running || a.Attempt != 1 || a.CodeVersion != "v1" || len(a.Inputs) != 2 {
		t.Fatalf("new attempt %+v", a)
	}
	if until := time.Until(a.LeaseUntil); until < 50*time.Second || until > 70*time.Second {
		t.Errorf("lease until %v, want about a minute from now", a.LeaseUntil)
	}
	// The same event delivered again while the first attempt runs.
	b := begin(t, tr, jan, "merge", inputs("e1"), time.Minute, runs.InProgress)
	if b.ID != a.ID {
		t.Errorf("InProgress names attempt %d, want %d", b.ID, a.ID)
	}
	time.Sleep(20 * time.Millisecond)
	out := []runs.Ref{{Bucket: "data", Key: "0-raw-data/data/manifest.json", ETag: "o1"}}
	if err := tr.Finish(ctx, a, runs.Stats{RowsIn: 267792, RowsOut: 267000, Rejects: 792, Outputs: out}); err != nil {
		t.Fatal(err)
	}
	if a.Status != runs.Done || a.RowsIn != 267792 || a.RowsOut != 267000 || a.Rejects != 792 ||
		a.Duration < 20*time.Millisecond || a.FinishedAt.IsZero() || !a.LeaseUntil.IsZero() || len(a.Outputs) != 1 {
		t.Fatalf("finished attempt %+v", a)
	}
	if err := tr.Finish(ctx, a, runs.Stats{}); err != nil {
		t.Errorf("finishing twice: %v", err)
	}
	// Replays: same inputs in another order → already done.
	in := inputs("e1")
	in[0], in[1] = in[1], in[0]
	d := begin(t, tr, jan, "merge", in, time.Minute, runs.AlreadyDone)
	if d.ID != a.ID || d.RowsOut != 267000 {
		t.Errorf("AlreadyDone names %+v", d)
	}
	// New inputs (upstream re-ran) → a new run of the step.
	n := begin(t, tr, jan, "merge", inputs("e2"), time.Minute, runs.Started)
	if n.Attempt != 2 || n.ID == a.ID {
		t.Errorf("run on new inputs: %+v", n)
	}
	if err := tr.Finish(ctx, n, runs.Stats{RowsIn: 1}); err != nil {
		t.Fatal(err)
	}
	// Another month is independent.
	begin(t, tr, feb, "merge", inputs("e1"), time.Minute, runs.Started)

	// The unique index backs the rule up: no second done row on the same inputs.
	c := db.Conn(t)
	_, err := c.Exec(ctx, `INSERT INTO step_runs (run_date, step, status, attempt, inputs_hash)
		SELECT run_date, step, 'done', 9, inputs_hash FROM step_runs WHERE id = $1`, a.ID)
	if err == nil || !strings.Contains(err.Error(), "step_runs_one_done") {
		t.Errorf("second done row on the same inputs: %v", err)
	}
}

func TestConcurrentBeginOneProceeds(t *testing.T) {
	db, _, tr := setup(t, runs.Options{})
	ctx := context.Background()
	// Half the callers share the pool, half come through pools of their own,
	// like separate function replicas.
	const n = 24
	outcomes := make([]runs.Outcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t2 := tr
			if i%2 == 1 {
				p, err := pg.Open(ctx, db.URL, pg.Options{MaxConns: 1})
				if err != nil {
					t.Error(err)
					return
				}
				defer p.Close()
				t2 = runs.New(p, runs.Options{})
			}
			<-start
			_, o, err := t2.Begin(ctx, jan, "enrich", inputs("x"), time.Minute)
			if err != nil {
				t.Error(err)
			}
			outcomes[i] = o
		}()
	}
	close(start)
	wg.Wait()
	counts := map[runs.Outcome]int{}
	for _, o := range outcomes {
		counts[o]++
	}
	if counts[runs.Started] != 1 || counts[runs.InProgress] != n-1 {
		t.Fatalf("outcomes %v, want 1 started and %d in-progress", counts, n-1)
	}
	var rows int
	if err := db.Conn(t).QueryRow(ctx, "SELECT count(*) FROM step_runs").Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d step rows (%v), want 1", rows, err)
	}
}

func TestLeaseExpiryTakeover(t *testing.T) {
	_, _, tr := setup(t, runs.Options{})
	ctx := context.Background()
	lease := 300 * time.Millisecond

	a := begin(t, tr, jan, "split", inputs("s"), lease, runs.Started)
	time.Sleep(lease + 100*time.Millisecond) // attempt a "crashed": no heartbeat
	b := begin(t, tr, jan, "split", inputs("s"), time.Minute, runs.Started)
	if b.Attempt != 2 {
		t.Errorf("takeover attempt number %d, want 2", b.Attempt)
	}
	hist, err := tr.History(ctx, jan)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history %+v %v", hist, err)
	}
	if hist[0].ID != a.ID || hist[0].Status != runs.Failed || hist[0].Error != "lease expired" {
		t.Errorf("crashed attempt recorded as %+v", hist[0])
	}
	if err := tr.Heartbeat(ctx, a, lease); !errors.Is(err, runs.ErrLeaseLost) {
		t.Errorf("heartbeat of the expired attempt: %v, want ErrLeaseLost", err)
	}
	if err := tr.Finish(ctx, b, runs.Stats{RowsOut: 5}); err != nil {
		t.Fatal(err)
	}
	// The crashed attempt wakes up and finishes late: the step is done already.
	if err := tr.Finish(ctx, a, runs.Stats{RowsOut: 5}); !errors.Is(err, runs.ErrSuperseded) {
		t.Errorf("late finish: %v, want ErrSuperseded", err)
	}

	// An attempt whose lease ran out while nobody took over still finishes.
	c := begin(t, tr, jan, "outliers", inputs("o"), 50*time.Millisecond, runs.Started)
	time.Sleep(100 * time.Millisecond)
	if err := tr.Finish(ctx, c, runs.Stats{}); err != nil || c.Status != runs.Done {
		t.Errorf("finish after an unclaimed lease expiry: %v (%s)", err, c.Status)
	}
}

func TestKeepAliveHoldsLease(t *testing.T) {
	_, _, tr := setup(t, runs.Options{})
	ctx := context.Background()
	lease := 300 * time.Millisecond
	a := begin(t, tr, jan, "train", inputs("t"), lease, runs.Started)
	stop := tr.KeepAlive(ctx, a, lease, func(err error) { t.Errorf("lease lost: %v", err) })
	time.Sleep(3 * lease)
	begin(t, tr, jan, "train", inputs("t"), lease, runs.InProgress)
	stop()
	if err := tr.Finish(ctx, a, runs.Stats{}); err != nil {
		t.Fatal(err)
	}
	st, err := tr.Status(ctx, 5)
	if err != nil || len(st) != 1 || st[0].Status != runs.Done {
		t.Fatalf("the final step's success should finish the pipeline run: %+v %v", st, err)
	}
}

func TestPermanentFailureAcknowledgedOnReplay(t *testing.T) {
	_, _, tr := setup(t, runs.Options{CodeVersion: "v1"})
	ctx := context.Background()

	a := begin(t, tr, jan, "encode", inputs("bad"), time.Minute, runs.Started)
	if err := tr.Fail(ctx, a, errors.New("column Arrest missing"), true); err != nil {
		t.Fatal(err)
	}
	if a.Status != runs.Failed || !a.Permanent || a.Error != "column Arrest missing" {
		t.Fatalf("failed attempt %+v", a)
	}
	r := begin(t, tr, jan, "encode", inputs("bad"), time.Minute, runs.FailedPermanently)
	if r.ID != a.ID {
		t.Errorf("FailedPermanently names %d, want %d", r.ID, a.ID)
	}
	// Fixed input data runs again; so does another month.
	begin(t, tr, feb, "encode", inputs("bad"), time.Minute, runs.Started)
	begin(t, tr, jan, "encode", inputs("good"), time.Minute, runs.Started)
}

func TestTransientFailureRunsAgain(t *testing.T) {
	_, _, tr := setup(t, runs.Options{CodeVersion: "v1"})
	ctx := context.Background()
	a := begin(t, tr, jan, "scale", inputs("s"), time.Minute, runs.Started)
	if err := tr.Fail(ctx, a, errors.New("store down"), false); err != nil {
		t.Fatal(err)
	}
	b := begin(t, tr, jan, "scale", inputs("s"), time.Minute, runs.Started)
	if b.Attempt != 2 {
		t.Errorf("retry attempt %d, want 2", b.Attempt)
	}
	if err := tr.Finish(ctx, b, runs.Stats{}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Fail(ctx, b, errors.New("late"), false); !errors.Is(err, runs.ErrLeaseLost) {
		t.Errorf("Fail after Finish: %v, want ErrLeaseLost", err)
	}
}

func TestCodeVersionLiftsPermanentFailure(t *testing.T) {
	db, _, v1 := setup(t, runs.Options{CodeVersion: "v1"})
	ctx := context.Background()
	a := begin(t, v1, jan, "balance", inputs("b"), time.Minute, runs.Started)
	if err := v1.Fail(ctx, a, errors.New("bug"), true); err != nil {
		t.Fatal(err)
	}
	begin(t, v1, jan, "balance", inputs("b"), time.Minute, runs.FailedPermanently)
	pool, err := pg.Open(ctx, db.URL, pg.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	v2 := runs.New(pool, runs.Options{CodeVersion: "v2"})
	b := begin(t, v2, jan, "balance", inputs("b"), time.Minute, runs.Started)
	if b.CodeVersion != "v2" {
		t.Errorf("code version %q", b.CodeVersion)
	}
}

func TestStatus(t *testing.T) {
	_, _, tr := setup(t, runs.Options{CodeVersion: "v1"})
	ctx := context.Background()

	d := begin(t, tr, jan, "download", nil, time.Minute, runs.Started)
	tr.Finish(ctx, d, runs.Stats{RowsOut: 267792})
	m := begin(t, tr, jan, "merge", inputs("1"), time.Minute, runs.Started)
	tr.Fail(ctx, m, errors.New("store down"), false)
	m = begin(t, tr, jan, "merge", inputs("1"), time.Minute, runs.Started)
	tr.Finish(ctx, m, runs.Stats{RowsIn: 267792, RowsOut: 267500, Rejects: 292})
	e := begin(t, tr, jan, "enrich", inputs("2"), time.Minute, runs.Started)
	tr.Fail(ctx, e, errors.New("no police stations file"), true)
	begin(t, tr, feb, "download", nil, time.Minute, runs.Started)

	st, err := tr.Status(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || !st[0].RunDate.Equal(feb) || !st[1].RunDate.Equal(jan) {
		t.Fatalf("runs %+v, want February then January", st)
	}
	if st[0].Status != runs.Running || st[1].Status != runs.Failed {
		t.Errorf("pipeline statuses %s, %s", st[0].Status, st[1].Status)
	}
	j := st[1].Steps
	if len(j) != 3 || j[0].Step != "download" || j[1].Step != "merge" || j[2].Step != "enrich" {
		t.Fatalf("January steps %+v", j)
	}
	if j[1].Status != runs.Done || j[1].Attempts != 2 || j[1].RowsOut != 267500 || j[1].Rejects != 292 {
		t.Errorf("merge %+v", j[1])
	}
	if j[2].Status != runs.Failed || !j[2].Permanent || j[2].Attempts != 1 {
		t.Errorf("enrich %+v", j[2])
	}
	if lim, _ := tr.Status(ctx, 1); len(lim) != 1 {
		t.Errorf("limit 1 gave %d runs", len(lim))
	}
	var buf bytes.Buffer
	if err := runs.WriteStatus(&buf, st); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"RUN DATE", "2018-01-01", "(pipeline)", "merge", "267500", "[permanent] no police stations file", "2018-02-01"} {
		if !strings.Contains(out, want) {
			t.Errorf("status table lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)
}

func TestPoolReconnects(t *testing.T) {
	db, _, tr := setup(t, runs.Options{})
	ctx := context.Background()
	begin(t, tr, jan, "download", nil, time.Minute, runs.Started)
	// Kill the pool's idle connections, as a database restart would.
	admin := db.Conn(t)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := tr.Status(ctx, 5); err != nil {
		t.Fatalf("status after the connections were killed: %v", err)
	}
}

func TestOpen(t *testing.T) {
	db := testenv.Postgres(t)
	ctx := context.Background()
	tr, err := runs.Open(ctx, db.URL, runs.Options{CodeVersion: "v9"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	run := begin(t, tr, jan, "download", nil, time.Minute, runs.Started)
	if run.CodeVersion != "v9" || tr.CodeVersion() != "v9" {
		t.Errorf("code version %q", run.CodeVersion)
	}
	if _, err := runs.Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", runs.Options{}); err == nil {
		t.Error("Open of a dead database succeeded")
	}
}
