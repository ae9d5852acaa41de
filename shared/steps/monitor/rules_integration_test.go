//go:build integration

package monitor_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/steps/setup"
)

// TestTwoRulesOneManifest: merge and the monitor both start on download's
// manifest. MinIO takes two notification rules with the same prefix and
// suffix when they go to different webhook targets, and fires both: setup
// installs chain.Rules() on a real MinIO declaring the chain's targets,
// and one manifest reaches both functions, nothing else reaches the monitor.
func TestTwoRulesOneManifest(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			return // MinIO's start-up probe
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		name := strings.TrimPrefix(r.URL.Path, "/function/")
		got[name] = append(got[name], string(b))
		mu.Unlock()
	}))
	defer gw.Close()
	m := testenv.StartMinIO(t, testenv.MinIOOptions{Env: chain.WebhookEnv(gw.URL, "tok", t.TempDir())})
	st, err := store.NewMinIO(store.MinIOConfig{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := setup.Run(ctx, st, chain.DefaultBuckets, 30*time.Second, nil); err != nil {
		t.Fatalf("setup: %v", err)
	}
	rules, err := st.Notifications(ctx, chain.DataBucket)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for _, r := range rules {
		if r.Prefix == chain.RawMonthsPrefix {
			same++
		}
	}
	if same != 2 {
		t.Fatalf("rules on download's manifests: %d, want merge's and the monitor's: %v", same, rules)
	}
	d := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	m12 := chain.MonthOf(d.AddDate(0, -1, 0))
	for _, key := range []string{chain.MonthCrimesKey(m12), chain.MonitorReportKey(m12, 1), chain.ManifestKey(chain.Monitor, d), chain.ManifestKey(chain.Download, d)} {
		if _, err := store.PutBytes(ctx, st, chain.DataBucket, key, []byte("{}"), "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got["merge"]) + len(got["monitor"])
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // anything else would have come by now
	mu.Lock()
	defer mu.Unlock()
	for _, fn := range []string{"merge", "monitor"} {
		if len(got[fn]) != 1 || !strings.Contains(got[fn][0], "manifest.json") {
			t.Errorf("%s received %d events: %v", fn, len(got[fn]), got[fn])
		}
	}
	if len(got) != 2 {
		t.Errorf("events went to %d functions: %v", len(got), got)
	}
}
