// Package pg connects to PostgreSQL (a pgx pool, configured once for every
// function) and brings a component's schema up to date from its embedded
// migrations. Run tracking (platform/runs), the model registry
// (platform/registry) and the monitor each own their tables and migrations.
package pg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is what the components need of PostgreSQL: transactions. A
// *pgxpool.Pool, a *pgx.Conn (one goroutine at a time) and a pgx.Tx all
// satisfy it.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Options tune Open; the zero value suits a function.
type Options struct {
	MaxConns int32 // 0: 4 (a function runs one step or a few predict polls at a time)
}

// Open connects a pool to the database url names and checks that it answers.
// Every connection is pinged when taken from the pool: after a database
// restart, the first transaction then gets a new connection instead of a
// dead one (a ping is a fraction of a millisecond next to any of ours).
func Open(ctx context.Context, url string, o Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	cfg.MaxConns = 4
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return true }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}
