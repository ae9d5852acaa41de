package function

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas/faastest"
)

func TestHandlerContract(t *testing.T) { faastest.Contract(t, "train", Handle) }

// A manual promotion needs the token; without a registry it is 503.
func TestPromoteNeedsToken(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, config.SecretPipelineToken), []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SECRETS_DIR", dir)
	body := []byte(`{"promote": 2}`)
	for auth, want := range map[string]int{"": 401, "Bearer bad": 401, "Bearer tok": 503} {
		res, _ := Handle(handler.Request{Method: http.MethodPost, Body: body, Header: http.Header{"Authorization": {auth}}})
		if res.StatusCode != want {
			t.Errorf("auth %q: %d, want %d", auth, res.StatusCode, want)
		}
	}
	res, _ := Handle(handler.Request{Method: http.MethodPost, Body: []byte(`{"promote": 0}`), Header: http.Header{"Authorization": {"Bearer tok"}}})
	if res.StatusCode != 400 {
		t.Errorf("promote 0: %d, want 400", res.StatusCode)
	}
}
