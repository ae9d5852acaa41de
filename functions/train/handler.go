// Package function is ArrestCast's train step as an OpenFaaS function: it
// starts on the features step's manifest, trains, registers and decides
// champion/challenger; a manual call {"promote": N} (token required) makes
// model N the champion, which is also how a rollback is done (shared/steps/train).
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/steps/train"
)

var handle = train.Function()

// Handle answers one call.
func Handle(req handler.Request) (handler.Response, error) { return handle(req), nil }
