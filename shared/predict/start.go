package predict

import (
	"context"
	"errors"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/faas"
)

// Start is the predict function's server: it follows the registry's
// champion (or serves MODEL_FILE, for benchmarks and offline serving),
// loading it at start and every CHAMPION_POLL a new one without a restart.
func Start() *Server {
	d := faas.NewDeps(chain.Predict, config.Environment())
	var loader Loader = &ChampionLoader{Deps: d}
	if f := d.Config.Env("MODEL_FILE", ""); f != "" {
		loader = FileLoader{Path: f}
	}
	s := NewServer(loader, d.Log)
	go func() {
		ctx := context.Background()
		if err := s.Refresh(ctx); err != nil && !errors.Is(err, ErrNoChampion) {
			d.Log.Warn("no model loaded at start; will retry", "err", err)
		}
		s.Watch(ctx, d.Settings().ChampionPoll)
	}()
	return s
}
