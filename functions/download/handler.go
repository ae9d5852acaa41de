// Package function is ArrestCast's download step as an OpenFaaS function: the
// cron-connector's monthly tick, manual calls and probes go to the step in
// shared/steps/download, which fetches from the portal its settings name.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/runner"
	"github.com/arrestcast/arrestcast/shared/steps/download"
)

var fn = runner.ServeWith(chain.Download, download.FromDeps)

// Handle answers one call.
func Handle(req handler.Request) (handler.Response, error) { return fn.Handle(req), nil }
