//go:build integration

package alert

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arrestcast/arrestcast/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	db := testenv.Postgres(t)
	p, err := pgxpool.New(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// One alert per month, kind and subject reaches the receiver, however often
// and however concurrently it is raised; a failed delivery is kept and
// retried; a notifier without a webhook records nothing.
func TestNotifyOnce(t *testing.T) {
	ctx := context.Background()
	db := pool(t)
	r := newReceiver(t)
	n, err := Open(ctx, db, &Sender{URL: r.URL, Retry: fast}, "monitor", nil)
	if err != nil {
		t.Fatal(err)
	}
	june := time.Date(2018, 6, 17, 0, 0, 0, 0, time.UTC) // any day of the month
	a := Alert{Kind: "drift", Month: june, Message: "primary_type: NARCOTICS 4.4% -> 2.0%"}
	var wg sync.WaitGroup
	outcomes := make(chan Outcome, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := n.Notify(ctx, a)
			if err != nil {
				t.Error(err)
			}
			outcomes <- o
		}()
	}
	wg.Wait()
	close(outcomes)
	count := map[Outcome]int{}
	for o := range outcomes {
		count[o]++
	}
	if count[Sent] != 1 || count[Already] != 5 || len(r.posts()) != 1 {
		t.Errorf("outcomes %v, %d posts; want one sent", count, len(r.posts()))
	}
	// Another kind, or another subject, of the same month is another alert.
	if o, _ := n.Notify(ctx, Alert{Kind: "volume", Month: june, Message: "few"}); o != Sent {
		t.Errorf("another kind: %s", o)
	}
	if o, _ := n.Notify(ctx, Alert{Kind: "champion_changed", Subject: "promotion 2", Month: june, Message: "v2"}); o != Sent {
		t.Errorf("another subject: %s", o)
	}
	if o, _ := n.Notify(ctx, Alert{Kind: "champion_changed", Subject: "promotion 2", Month: june, Message: "v2"}); o != Already {
		t.Errorf("the same subject again: %s", o)
	}

	// The receiver is down: the alert is recorded as failed, then retried.
	r.mu.Lock()
	r.fail = []int{500, 500, 500, 500}
	r.mu.Unlock()
	down := Alert{Kind: "performance", Month: june, Message: "ROC-AUC 0.86, 0.05 below its test 0.91"}
	if o, err := n.Notify(ctx, down); o != Failed || err == nil {
		t.Fatalf("receiver failing: %s %v", o, err)
	}
	var attempts int
	var lastErr string
	if err := db.QueryRow(ctx, `SELECT attempts, last_error FROM alerts WHERE kind = 'performance'`).Scan(&attempts, &lastErr); err != nil || attempts != 1 || lastErr == "" {
		t.Errorf("failed delivery recorded as %d attempts, %q (%v)", attempts, lastErr, err)
	}
	before := len(r.posts())
	sent, err := n.Retry(ctx, 10)
	if err != nil || sent != 1 || len(r.posts()) != before+1 {
		t.Errorf("retry: %d sent, %v, %d posts", sent, err, len(r.posts())-before)
	}
	if sent, _ := n.Retry(ctx, 10); sent != 0 {
		t.Errorf("nothing is left to retry, yet %d went", sent)
	}

	off, err := Open(ctx, db, nil, "monitor", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := off.Notify(ctx, Alert{Kind: "volume", Month: june.AddDate(0, 1, 0), Message: "x"}); o != Disabled || err != nil {
		t.Errorf("no webhook: %s %v", o, err)
	}
	var rows int
	db.QueryRow(ctx, `SELECT count(*) FROM alerts`).Scan(&rows)
	if rows != 4 {
		t.Errorf("%d alerts recorded, want 4", rows)
	}
}
