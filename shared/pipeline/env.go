package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Version is the code version recorded in manifests and the registry (set at
// build time with -ldflags "-X .../pipeline.Version=...", or CODE_VERSION).
var Version = "dev"

// NewEnv connects a function to its services from its configuration: the
// object store, run tracking in PostgreSQL and, for download, the portal.
func NewEnv(ctx context.Context, step string) (*Env, error) {
	sc, err := config.LoadStore()
	if err != nil {
		return nil, fmt.Errorf("store settings: %w", err)
	}
	st, err := store.NewMinIO(store.MinIOConfig{Endpoint: sc.Endpoint, AccessKey: sc.AccessKey, SecretKey: sc.SecretKey, Secure: sc.Secure})
	if err != nil {
		return nil, fmt.Errorf("store client: %w", err)
	}
	env := &Env{
		Store:   st,
		Data:    sc.DataBucket,
		Models:  sc.ModelsBucket,
		Log:     slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", step),
		Version: config.Env("CODE_VERSION", Version),
	}
	dbURL, err := config.Secret(config.SecretDatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	tr := runs.New(pool, runs.Options{CodeVersion: env.Version, FinalStep: "train", Logger: env.Log})
	if err := tr.Migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("run tracking: %w", err)
	}
	env.Tracker = RunsTracker{T: tr}
	env.DB = pool
	if step == "train" {
		reg, err := registry.Open(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("model registry: %w", err)
		}
		env.Registry = ModelRegistry{Reg: reg, Store: st, Models: env.Models}
		if env.Options.TrainBudget, err = config.Duration("TRAIN_BUDGET", DefaultTrainBudget); err != nil {
			return nil, err
		}
		// The watchdog's own limit, from the same environment (stack.yml).
		if env.Options.StepTimeout, err = config.Duration("exec_timeout", 0); err != nil {
			return nil, err
		}
	}
	if step == "download" {
		if env.Source, err = NewPortalSource(env.Log); err != nil {
			return nil, err
		}
	}
	return env, nil
}
