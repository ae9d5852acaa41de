package function

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Without its database (no secret here) the dashboard still starts and says
// so plainly, as a page and as JSON, naming neither the secret's path nor
// anything else of the server; it refuses to change anything.
func TestWithoutDatabase(t *testing.T) {
	secrets := t.TempDir()
	t.Setenv("SECRETS_DIR", secrets)
	res, err := Handle(handler.Request{Method: http.MethodGet})
	if err != nil || res.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("overview without a database: %d %v %q", res.StatusCode, err, res.Header)
	}
	page := string(res.Body)
	if !strings.Contains(page, "database is unavailable") || strings.Contains(page, secrets) || strings.Contains(page, "arrestcast-database-url") {
		t.Errorf("page: %s", page)
	}
	res, _ = Handle(handler.Request{Method: http.MethodGet, QueryString: "page=runs&format=json"})
	var body map[string]string
	if res.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(res.Body, &body) != nil || body["error"] == "" {
		t.Errorf("runs as JSON without a database: %d %s", res.StatusCode, res.Body)
	}
	res, _ = Handle(handler.Request{Method: http.MethodPost, QueryString: "page=runs"})
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.StatusCode)
	}
	res, _ = Handle(handler.Request{Method: http.MethodGet, QueryString: "page=nothing"})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(res.Body), "page: no such page") {
		t.Errorf("unknown page: %d %s", res.StatusCode, res.Body)
	}

	// A database URL that does not answer: still 503, and the URL (with its
	// password) stays out of the answer.
	if err := os.WriteFile(filepath.Join(secrets, "arrestcast-database-url"), []byte("postgres://dash:hunter2@127.0.0.1:1/x?connect_timeout=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, _ = Handle(handler.Request{Method: http.MethodGet, QueryString: "page=models"})
	if res.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(res.Body), "hunter2") || strings.Contains(string(res.Body), "127.0.0.1") {
		t.Errorf("unreachable database: %d %s", res.StatusCode, res.Body)
	}
}
