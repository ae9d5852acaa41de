package predict

import (
	"context"
	"errors"
	"sync"

	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// ChampionLoader follows the registry's champion and loads its artifact
// from the object store. It connects on first use (and again after a
// failure), through the function's dependencies.
type ChampionLoader struct {
	Deps *faas.Deps

	mu  sync.Mutex
	reg *registry.Registry
	st  store.Store
}

func (l *ChampionLoader) connect(ctx context.Context) (*registry.Registry, store.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reg != nil {
		return l.reg, l.st, nil
	}
	st, err := l.Deps.Store(ctx)
	if err != nil {
		return nil, nil, err
	}
	db, err := l.Deps.DB(ctx)
	if err != nil {
		return nil, nil, err
	}
	reg, err := registry.Open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	l.reg, l.st = reg, st
	return reg, st, nil
}

// Current asks the registry for the champion's version (one indexed row).
func (l *ChampionLoader) Current(ctx context.Context) (int, error) {
	reg, _, err := l.connect(ctx)
	if err != nil {
		return 0, err
	}
	v, err := reg.ChampionVersion(ctx)
	if errors.Is(err, registry.ErrNoChampion) {
		return 0, ErrNoChampion
	}
	return v, err
}

// Load reads a version's artifact.
func (l *ChampionLoader) Load(ctx context.Context, version int) (*Model, error) {
	reg, st, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	m, err := reg.Get(ctx, version)
	if err != nil {
		return nil, err
	}
	p, err := model.Fetch(ctx, st, m.Artifact)
	if err != nil {
		return nil, err
	}
	info := Info(version, p.A)
	info["promoted_at"] = m.PromotedAt
	if m.Decision != nil {
		info["decision"] = m.Decision.Reason
	}
	return &Model{P: p, Version: version, Info: info}, nil
}
