// Package function is ArrestCast's setup function: buckets, the lifecycle
// rule and the bucket notifications that chain the steps (shared/steps/setup).
// Idempotent; the pipeline token is required.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/steps/setup"
)

var handle = setup.Function()

// Handle answers one call.
func Handle(req handler.Request) (handler.Response, error) { return handle(req), nil }
