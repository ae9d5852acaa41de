package function

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
)

func TestSetupContract(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, config.SecretPipelineToken), []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SECRETS_DIR", dir)
	for _, c := range []struct {
		method, auth string
		want         int
	}{
		{http.MethodHead, "", 200},
		{http.MethodPost, "", 401},
		{http.MethodPost, "Bearer nope", 401},
		{http.MethodPost, "Bearer tok", 503}, // no store keys: nothing reachable, MinIO-style retry
	} {
		res, err := Handle(handler.Request{Method: c.method, Header: http.Header{"Authorization": {c.auth}}})
		if err != nil || res.StatusCode != c.want {
			t.Errorf("%s %q: %d %v, want %d", c.method, c.auth, res.StatusCode, err, c.want)
		}
	}
}
