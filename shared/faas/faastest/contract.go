// Package faastest checks the HTTP contract every chained function's
// handler shares, without any service: the probe, the pipeline token, trigger
// parsing, and that nothing is attempted for refused calls. Each function's
// own test (run by its image build) calls Contract.
package faastest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
)

const token = "contract-test-token"

// Contract runs the shared contract against handle, the handler of step.
func Contract(t *testing.T, step string, handle func(handler.Request) (handler.Response, error)) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, config.SecretPipelineToken), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No MinIO keys: any attempt to reach the store fails fast with 503.
	t.Setenv("SECRETS_DIR", dir)
	t.Setenv("MINIO_ENDPOINT", "127.0.0.1:1")

	call := func(method, auth, body string, hdr http.Header) (int, map[string]any) {
		t.Helper()
		h := http.Header{}
		for k, v := range hdr {
			h[k] = v
		}
		if auth != "" {
			h.Set("Authorization", "Bearer "+auth)
		}
		res, err := handle(handler.Request{Method: method, Header: h, Body: []byte(body)})
		if err != nil {
			t.Fatalf("%s %q: handler error %v", method, body, err)
		}
		var out map[string]any
		if len(res.Body) > 0 {
			if err := json.Unmarshal(res.Body, &out); err != nil {
				t.Fatalf("%s %q: body is not JSON: %s", method, body, res.Body)
			}
		}
		status := res.StatusCode
		if status == 0 {
			status = http.StatusOK
		}
		return status, out
	}

	if status, _ := call(http.MethodHead, "", "", nil); status != http.StatusOK {
		t.Errorf("HEAD probe: %d, want 200", status)
	}
	manual := `{"as_of":"2018-01-01"}`
	if status, _ := call(http.MethodPost, "", manual, nil); status != http.StatusUnauthorized {
		t.Errorf("manual call without token: %d, want 401", status)
	}
	if status, _ := call(http.MethodPost, "wrong", manual, nil); status != http.StatusUnauthorized {
		t.Errorf("manual call with a wrong token: %d, want 401", status)
	}
	if status, out := call(http.MethodPost, token, `{"as_of":"01/01/2018"}`, nil); status != http.StatusBadRequest || out["field"] != "as_of" {
		t.Errorf("bad as_of: %d %v, want 400 naming as_of", status, out)
	}
	// Authorized and well-formed: it gets as far as the store, which is not there.
	if status, out := call(http.MethodPost, token, manual, nil); status != http.StatusServiceUnavailable {
		t.Errorf("authorized call without a store: %d %v, want 503", status, out)
	} else if strings.Contains(strings.ToLower(out["error"].(string)), "127.0.0.1") {
		t.Errorf("error leaks an address: %v", out)
	}

	cron := http.Header{"X-Connector": {"cron-connector"}, "X-Topic": {"cron-function"}}
	st, _ := chain.Lookup(step)
	status, _ := call(http.MethodPost, "", "", cron)
	switch {
	case st.Trigger == chain.Cron && status != http.StatusServiceUnavailable:
		t.Errorf("cron tick without token: %d, want 503 (accepted, store down)", status)
	case st.Trigger != chain.Cron && status != http.StatusUnauthorized:
		t.Errorf("cron tick to a chained step without token: %d, want 401", status)
	}

	if st.Trigger == chain.Event {
		event := func(key string) string {
			return `{"EventName":"s3:ObjectCreated:Put","Key":"data/` + key + `","Records":[{"s3":{"bucket":{"name":"data"},"object":{"key":"` + key + `","eTag":"x"}}}]}`
		}
		if status, _ := call(http.MethodPost, "", event("0-raw-data/data/x.manifest.json"), nil); status != http.StatusUnauthorized {
			t.Errorf("forged event without token: %d, want 401", status)
		}
		status, out := call(http.MethodPost, token, event("unrelated/file.csv"), nil)
		if status != http.StatusOK || out["outcome"] != "ignored" {
			t.Errorf("event for an unrelated key: %d %v, want 200 ignored", status, out)
		}
		// A key that climbs out of the chain's prefixes is acknowledged, not
		// retried forever (MinIO redelivers anything but a 2xx).
		l, _ := st.Listens()
		status, out = call(http.MethodPost, token, event(l.Prefix+"../../x/"+l.Suffix), nil)
		if status != http.StatusOK || out["outcome"] != "ignored" {
			t.Errorf("event for a key with ..: %d %v, want 200 ignored", status, out)
		}
		status, _ = call(http.MethodPost, token, event(l.Prefix+"2018-01-01/"+l.Suffix), nil)
		if status != http.StatusServiceUnavailable {
			t.Errorf("event for its own key without a store: %d, want 503 so MinIO retries", status)
		}
	}
}
