// Package function is the probe the template's tests build with faasbuild
// (internal/faasbuild): it answers what the template handed it. GET: the code
// version stamped at build time. POST: the body's length, after the bearer
// check the pipeline steps make (PROBE_TOKEN).
package function

import (
	"net/http"
	"os"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
)

// Handle answers the probe's calls.
func Handle(req handler.Request) (handler.Response, error) {
	if req.Method == http.MethodGet {
		return faas.JSON(http.StatusOK, map[string]any{"version": config.Version}), nil
	}
	if !faas.Authorize(req.Header, os.Getenv("PROBE_TOKEN")) {
		return faas.JSON(http.StatusUnauthorized, map[string]any{"error": "bad token", "body_bytes": len(req.Body)}), nil
	}
	return faas.JSON(http.StatusOK, map[string]any{"body_bytes": len(req.Body), "version": config.Version}), nil
}
