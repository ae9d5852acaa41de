// Package function is ArrestCast's predict function: POST raw crime records
// (one, or an array of up to 10,000) and get the champion model's probability
// of an arrest; GET describes the champion; GET ?health says whether a model
// is loaded. The champion is loaded at start and a new one is picked up
// without a restart (the registry is polled every CHAMPION_POLL).
package function

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/predict"
)

var server = start()

func start() *predict.Server {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "predict")
	var loader predict.Loader = &predict.RegistryLoader{}
	if f := os.Getenv("MODEL_FILE"); f != "" {
		loader = predict.FileLoader{Path: f} // benchmarks and offline serving
	}
	s := predict.NewServer(loader, log)
	poll, err := config.Duration("CHAMPION_POLL", 10*time.Second)
	if err != nil {
		log.Warn("bad CHAMPION_POLL; using 10s", "err", err)
		poll = 10 * time.Second
	}
	go func() {
		ctx := context.Background()
		if err := s.Refresh(ctx); err != nil && !errors.Is(err, predict.ErrNoChampion) {
			log.Warn("no model loaded at start; will retry", "err", err)
		}
		s.Watch(ctx, poll)
	}()
	return s
}

// Handle answers predictions, model info and health checks.
func Handle(req handler.Request) (handler.Response, error) {
	return server.Handle(req), nil
}
