// Package function is ArrestCast's dashboard function: a read-only web view
// of the run tracking, the model registry and the monitor's reports, pages
// chosen by the query string (?page=runs, ?page=run&date=2018-01-01,
// ?page=model&version=3, …; see shared/dashboard). It needs no token and
// changes nothing: every page reads in a read-only transaction.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/dashboard"
)

var dash = dashboard.Start()

// Handle answers the dashboard's pages (GET and HEAD).
func Handle(req handler.Request) (handler.Response, error) { return dash.Handle(req), nil }
