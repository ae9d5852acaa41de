// Package function is ArrestCast's split step as an OpenFaaS function: the
// handler parses its trigger and calls the step in shared/pipeline.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/pipeline"
)

var service = pipeline.NewService("split")

// Handle answers MinIO's notifications, manual calls and probes.
func Handle(req handler.Request) (handler.Response, error) {
	return service.Handle(req), nil
}
