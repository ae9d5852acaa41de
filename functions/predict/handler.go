// Package function is ArrestCast's predict function: POST raw crime records
// (one, or an array of up to 10,000) and get the champion model's probability
// of an arrest; GET describes the champion; GET ?health says whether a model
// is loaded. The champion is loaded at start and a new one is picked up
// without a restart (shared/predict).
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/predict"
)

var server = predict.Start()

// Handle answers predictions, model info and health checks.
func Handle(req handler.Request) (handler.Response, error) { return server.Handle(req), nil }
