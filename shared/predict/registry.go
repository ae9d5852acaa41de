package predict

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// RegistryLoader follows the registry's champion and loads its artifact from
// the object store. It connects on first use (and again after a failure).
type RegistryLoader struct {
	mu     sync.Mutex
	reg    *registry.Registry
	st     store.Store
	models string
}

func (l *RegistryLoader) connect(ctx context.Context) (*registry.Registry, store.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reg != nil {
		return l.reg, l.st, nil
	}
	sc, err := config.LoadStore()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.NewMinIO(store.MinIOConfig{Endpoint: sc.Endpoint, AccessKey: sc.AccessKey, SecretKey: sc.SecretKey, Secure: sc.Secure})
	if err != nil {
		return nil, nil, err
	}
	url, err := config.Secret(config.SecretDatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("database: %w", err)
	}
	reg, err := registry.Open(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	l.reg, l.st, l.models = reg, st, sc.ModelsBucket
	return reg, st, nil
}

// Current asks the registry for the champion's version (one indexed row).
func (l *RegistryLoader) Current(ctx context.Context) (int, error) {
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
func (l *RegistryLoader) Load(ctx context.Context, version int) (*Model, error) {
	reg, st, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	m, err := reg.Get(ctx, version)
	if err != nil {
		return nil, err
	}
	bucket := m.Artifact.Bucket
	if bucket == "" {
		bucket = l.models
	}
	b, _, err := store.GetBytes(ctx, st, bucket, m.Artifact.Key, 256<<20)
	if err != nil {
		return nil, err
	}
	p, err := model.Load(b)
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
