// Package function is ArrestCast's monitor as an OpenFaaS function: MinIO's
// notification of download's manifest (and manual calls, token required) go
// to the step in shared/steps/monitor; GET answers the history of reports
// (?month=YYYY-MM one month's report); HEAD is the probe. It also watches
// runs and champions in the background for the alert webhook.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/steps/monitor"
)

var fn = monitor.Function()

// Handle answers one call.
func Handle(req handler.Request) (handler.Response, error) { return fn(req), nil }
