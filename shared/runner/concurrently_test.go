package runner_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/steptest"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// Concurrently's work runs at once, and the manifest lists what each did
// in work's order whichever finished first, with counts and notes added.
func TestConcurrentlyJoinsInOrder(t *testing.T) {
	ctx := context.Background()
	env, _ := steptest.MemEnv(t)
	r := &runner.Run{Env: env, Step: chain.MustLookup(chain.Split), Date: steptest.Date(2018, 1, 1)}
	r.Count(1, 0, 0)
	started := make(chan struct{})
	put := func(role string, wait bool) func(*runner.Run) error {
		return func(f *runner.Run) error {
			if wait {
				<-started // the first work finishes last
				time.Sleep(10 * time.Millisecond)
			} else {
				close(started)
			}
			f.Count(0, 5, 1)
			f.Note(role, true)
			_, err := f.Put(ctx, role, chain.TableKey(chain.Split, r.Date, role)+".csv", []byte("a\n1\n"), "text/csv", 1)
			return err
		}
	}
	if err := r.Concurrently(put(chain.RoleTrain, true), put(chain.RoleTest, false)); err != nil {
		t.Fatal(err)
	}
	m := r.Manifest()
	if len(m.Outputs) != 2 || m.Outputs[0].Role != chain.RoleTrain || m.Outputs[1].Role != chain.RoleTest {
		t.Fatalf("outputs %+v, want train then test", m.Outputs)
	}
	if m.RowsIn != 1 || m.RowsOut != 10 || m.Rejects != 2 || m.Notes[chain.RoleTrain] != true || m.Notes[chain.RoleTest] != true {
		t.Errorf("counts %d/%d/%d notes %v", m.RowsIn, m.RowsOut, m.Rejects, m.Notes)
	}

	// An error is the run's, and nothing of the failed call is recorded.
	boom := errors.New("boom")
	err := r.Concurrently(func(*runner.Run) error { return nil }, func(f *runner.Run) error { f.Count(0, 7, 0); return boom })
	if !errors.Is(err, boom) || r.Manifest().RowsOut != 10 || len(r.Manifest().Outputs) != 2 {
		t.Errorf("failed work: err %v, rows out %d, outputs %d", err, r.Manifest().RowsOut, len(r.Manifest().Outputs))
	}
}
