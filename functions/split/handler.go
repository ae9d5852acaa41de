// Package function is ArrestCast's split step as an OpenFaaS function: MinIO's
// notifications, manual calls and probes go to the step in shared/steps/split.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/split"
)

var fn = runner.Serve(split.Step)

// Handle answers one call.
func Handle(req handler.Request) (handler.Response, error) { return fn.Handle(req), nil }
