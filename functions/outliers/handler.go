// Package function is ArrestCast's outliers step as an OpenFaaS function: MinIO's
// notifications, manual calls and probes go to the step in shared/steps/outliers.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/outliers"
)

var fn = runner.Serve(outliers.Step)

// Handle answers one call.
func Handle(req handler.Request) (handler.Response, error) { return fn.Handle(req), nil }
