// Package function is ArrestCast's train step as an OpenFaaS function: it
// starts on the features step's manifest, trains, registers and decides
// champion/challenger; a manual call {"promote": N} (token required) makes
// model N the champion, which is also how a rollback is done.
package function

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/pipeline"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
)

var service = pipeline.NewService("train")

// Handle answers MinIO's notifications, manual runs, promotions and probes.
func Handle(req handler.Request) (handler.Response, error) {
	var p struct {
		Promote *int   `json:"promote"`
		Reason  string `json:"reason"`
	}
	if req.Method == http.MethodPost && json.Unmarshal(req.Body, &p) == nil && p.Promote != nil {
		return promote(req, *p.Promote, p.Reason), nil
	}
	return service.Handle(req), nil
}

func promote(req handler.Request, version int, reason string) handler.Response {
	ok, configured := service.Token(req)
	if !configured {
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "pipeline token is not configured"})
	}
	if !ok {
		return faas.JSON(http.StatusUnauthorized, map[string]string{"error": "missing or wrong pipeline token"})
	}
	if version <= 0 {
		return faas.JSON(http.StatusBadRequest, map[string]string{"error": "want a model version >= 1", "field": "promote"})
	}
	ctx := req.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	env, err := service.Env(ctx)
	if err != nil {
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "registry unavailable; retry"})
	}
	reg, ok := env.Registry.(pipeline.ModelRegistry)
	if !ok {
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "no model registry configured"})
	}
	if reason == "" {
		reason = "manual promotion"
	}
	if err := reg.Reg.Promote(ctx, version, reason, registry.ActorManual); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return faas.JSON(http.StatusNotFound, map[string]any{"error": "no such model version", "field": "promote"})
		}
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "promotion failed; retry"})
	}
	return faas.JSON(http.StatusOK, map[string]any{"champion": version, "reason": reason})
}
