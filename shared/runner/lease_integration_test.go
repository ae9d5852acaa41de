//go:build integration

package runner_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/storetest"
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// slowStep is download doing nothing but wait: a planned step whose run
// takes as long as work, writing one output.
func slowStep(work time.Duration, ran *int) runner.Step {
	var mu sync.Mutex
	return runner.Step{Name: chain.Download,
		Plan: func(_ context.Context, _ *runner.Env, inv runner.Invocation) (runner.Plan, error) {
			return runner.Plan{Date: inv.Date, Input: store.Ref{Key: "slow:" + chain.Day(inv.Date)}}, nil
		},
		Run: func(ctx context.Context, r *runner.Run) error {
			mu.Lock()
			*ran++
			mu.Unlock()
			select {
			case <-time.After(work):
			case <-ctx.Done():
				return ctx.Err()
			}
			_, err := r.Put(ctx, chain.RoleStations, chain.StationsKey(chain.MonthOf(r.Date).Prev()), []byte("district\n"), "text/csv", 0)
			return err
		}}
}

// Leases are renewed while a step works, so a live attempt is never taken
// over however long it works; one that stopped renewing (it crashed) is
// taken over once its lease runs out, within seconds.
func TestLeaseRenewedAndTakenOver(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	pool, err := pg.Open(ctx, db.URL, pg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tr := runs.New(pool, runs.Options{CodeVersion: "test"})
	if err := tr.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	env := &runner.Env{Store: storetest.NewMem(chain.DataBucket, chain.ModelsBucket), Buckets: chain.DefaultBuckets,
		Tracker: tr, Lease: 400 * time.Millisecond}
	d := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	inv := runner.Invocation{Kind: faas.Manual, Date: d}

	// A live attempt working for 5 leases: a second delivery meanwhile finds
	// it running.
	ran := 0
	step := slowStep(2*time.Second, &ran)
	first := make(chan runner.Result, 1)
	go func() { first <- runner.Execute(ctx, env, step, inv) }()
	time.Sleep(1200 * time.Millisecond) // three leases without renewal would have expired
	if res := runner.Execute(ctx, env, step, inv); res.Status != http.StatusServiceUnavailable || res.Outcome != "in-progress" {
		t.Errorf("a delivery while the first attempt works: %+v, want 503 in-progress", res)
	}
	if res := <-first; res.Outcome != "done" {
		t.Fatalf("the first attempt: %+v", res)
	}
	if ran != 1 {
		t.Errorf("the step ran %d times, want once", ran)
	}

	// A crashed attempt: begun, never renewed. Taken over once its lease is
	// out, and the run completes once.
	d2 := d.AddDate(0, 1, 0)
	crashed, out, err := tr.Begin(ctx, d2, chain.Download, []store.Ref{{Key: "slow:" + chain.Day(d2)}}, env.Lease)
	if err != nil || out != runs.Started {
		t.Fatalf("begin the attempt that crashes: %v %v", out, err)
	}
	fast := slowStep(0, &ran)
	start := time.Now()
	res := runner.Execute(ctx, env, fast, runner.Invocation{Kind: faas.Manual, Date: d2})
	for res.Outcome == "in-progress" && time.Since(start) < 5*time.Second {
		time.Sleep(100 * time.Millisecond)
		res = runner.Execute(ctx, env, fast, runner.Invocation{Kind: faas.Manual, Date: d2})
	}
	if res.Outcome != "done" {
		t.Fatalf("after the crashed attempt's lease: %+v", res)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("taken over after %v, want within a few leases", took)
	}
	h, err := tr.History(ctx, d2)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].ID != crashed.ID || h[0].Status != runs.Failed || h[0].Error != "lease expired" || h[1].Status != runs.Done {
		t.Errorf("attempts: %+v", h)
	}
}
