package function

import (
	"net/http"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/faas/faastest"
)

func TestHandlerContract(t *testing.T) { faastest.Contract(t, "monitor", Handle) }

// GET is the history: a bad month is refused naming the field, before any
// service is reached; without a store it is 503.
func TestHistoryQuery(t *testing.T) {
	t.Setenv("MINIO_ENDPOINT", "127.0.0.1:1")
	t.Setenv("SECRETS_DIR", t.TempDir())
	for q, want := range map[string]int{"month=2018-13": 400, "limit=0": 400, "month=2018-06": 503, "": 503} {
		res, _ := Handle(handler.Request{Method: http.MethodGet, QueryString: q})
		if res.StatusCode != want {
			t.Errorf("GET ?%s: %d %s, want %d", q, res.StatusCode, res.Body, want)
		}
	}
}
