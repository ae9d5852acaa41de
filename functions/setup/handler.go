// Package function is ArrestCast's setup function: buckets, the lifecycle
// rule and the bucket notifications that chain the steps. Idempotent.
package function

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/pipeline"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

var log = slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "setup")

// Handle answers probes and, with the pipeline token, sets the store up.
func Handle(req handler.Request) (handler.Response, error) {
	tr, perr := faas.Parse(req)
	if perr != nil {
		return faas.Fail(perr), nil
	}
	if tr.Kind == faas.Probe {
		return faas.JSON(http.StatusOK, map[string]string{"status": "ok", "step": "setup"}), nil
	}
	token, err := config.Secret(config.SecretPipelineToken)
	if err != nil || token == "" {
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "pipeline token is not configured"}), nil
	}
	if !faas.Authorize(req.Header, token) {
		return faas.JSON(http.StatusUnauthorized, map[string]string{"error": "missing or wrong pipeline token"}), nil
	}
	sc, err := config.LoadStore()
	if err != nil {
		log.Error("store settings", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "store unavailable; retry"}), nil
	}
	st, err := store.NewMinIO(store.MinIOConfig{Endpoint: sc.Endpoint, AccessKey: sc.AccessKey, SecretKey: sc.SecretKey, Secure: sc.Secure, Logger: log})
	if err != nil {
		log.Error("store client", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "store unavailable; retry"}), nil
	}
	ctx := req.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	rep, err := pipeline.Setup(ctx, st, sc.DataBucket, sc.ModelsBucket, 20*time.Second, log)
	if err != nil {
		log.Error("setup failed", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "setup failed; see the function's logs"}), nil
	}
	log.Info("setup done", "rules_changed", rep.RulesChanged, "expiry_changed", rep.ExpiryChanged)
	return faas.JSON(http.StatusOK, rep), nil
}
