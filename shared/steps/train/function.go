package train

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// FromDeps is the train step of a function: the registry in its database,
// the search budget and time limit of its settings.
func FromDeps(ctx context.Context, d *faas.Deps) (runner.Step, error) {
	c, err := champions(ctx, d)
	if err != nil {
		return runner.Step{}, err
	}
	s := d.Settings()
	return New(Options{Budget: s.TrainBudget, Limit: s.ExecTimeout, SeedOnly: s.TrainRecipes == "seed",
		ThresholdMCC: s.TrainThresholdMCC, Registrar: c}), nil
}

func champions(ctx context.Context, d *faas.Deps) (Champions, error) {
	st, err := d.Store(ctx)
	if err != nil {
		return Champions{}, err
	}
	db, err := d.DB(ctx)
	if err != nil {
		return Champions{}, err
	}
	reg, err := registry.Open(ctx, db)
	if err != nil {
		return Champions{}, err
	}
	return Champions{Reg: reg, Store: st}, nil
}

// Function is the train function's handler: the step on MinIO's events and
// manual runs, and a manual promotion {"promote": N, "reason": "…"} (token
// required), which is also how a rollback is done.
func Function() func(handler.Request) handler.Response {
	fn := runner.ServeWith(chain.Train, FromDeps)
	promote := faas.WithToken(fn.Deps(), promotion)
	return func(req handler.Request) handler.Response {
		var p struct {
			Promote *int `json:"promote"`
		}
		if req.Method == http.MethodPost && json.Unmarshal(req.Body, &p) == nil && p.Promote != nil {
			return promote(req)
		}
		return fn.Handle(req)
	}
}

func promotion(ctx context.Context, d *faas.Deps, req handler.Request) handler.Response {
	var p struct {
		Promote int    `json:"promote"`
		Reason  string `json:"reason"`
	}
	if err := json.Unmarshal(req.Body, &p); err != nil {
		return faas.Fail(&faas.Error{Status: http.StatusBadRequest, Field: "promote", Message: "want a model version >= 1"})
	}
	if p.Promote <= 0 {
		return faas.Fail(&faas.Error{Status: http.StatusBadRequest, Field: "promote", Message: "want a model version >= 1"})
	}
	c, err := champions(ctx, d)
	if err != nil {
		d.Log.Error("registry", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "registry unavailable; retry"})
	}
	if p.Reason == "" {
		p.Reason = "manual promotion"
	}
	if err := c.Reg.Promote(ctx, p.Promote, p.Reason, registry.ActorManual); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return faas.Fail(&faas.Error{Status: http.StatusNotFound, Field: "promote", Message: "no such model version"})
		}
		d.Log.Error("promotion", "err", err)
		return faas.JSON(http.StatusServiceUnavailable, map[string]string{"error": "promotion failed; retry"})
	}
	return faas.JSON(http.StatusOK, map[string]any{"champion": p.Promote, "reason": p.Reason})
}
