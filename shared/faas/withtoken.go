package faas

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// WithToken is a function started only by a direct call with the pipeline
// token (setup, train's promotion): HEAD and GET are answered as probes,
// everything else needs the token, then work reads the body and answers.
func WithToken(d *Deps, work func(ctx context.Context, d *Deps, req handler.Request) handler.Response) func(handler.Request) handler.Response {
	return func(req handler.Request) handler.Response {
		if req.Method == http.MethodHead || req.Method == http.MethodGet {
			return Probed(d.Name)
		}
		if err := CheckToken(d.Config, req.Header); err != nil {
			return Fail(err)
		}
		return work(Context(req), d, req)
	}
}

// Probed answers MinIO's start-up HEAD and a GET: the function is up.
func Probed(name string) handler.Response {
	return JSON(http.StatusOK, map[string]string{"status": "ok", "step": name})
}

// Context is the request's context (Background when the caller set none).
func Context(req handler.Request) context.Context {
	if ctx := req.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
