// Package function is ArrestCast's dashboard function: a read-only web view
// of the run tracking, the model registry and the monitor's reports, pages
// chosen by the query string (?page=runs, ?page=run&date=2018-01-01,
// ?page=model&version=3, …; see shared/dashboard). It needs no token and
// changes nothing: every page reads in a read-only transaction.
package function

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/dashboard"
)

var dash = start()

func start() *dashboard.Dashboard {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "dashboard")
	gateway := strings.TrimRight(config.Env("OPENFAAS_URL", "http://gateway:8080"), "/")
	return dashboard.New(&lazyDB{}, dashboard.Options{
		PredictHealth: dashboard.HTTPHealth(nil, gateway+"/function/predict"),
		Schedule:      os.Getenv("DOWNLOAD_SCHEDULE"),
		Logger:        log,
	})
}

// lazyDB connects on first use, and again after a failed connection, so
// the function starts (and answers 503) while PostgreSQL is away.
type lazyDB struct {
	mu   sync.Mutex
	pool *pgxpool.Pool
}

func (l *lazyDB) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	l.mu.Lock()
	if l.pool == nil {
		url, err := config.Secret(config.SecretDatabaseURL)
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			l.mu.Unlock()
			return nil, fmt.Errorf("database URL: %w", err)
		}
		cfg.MaxConns = 4
		if l.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			l.mu.Unlock()
			return nil, fmt.Errorf("database: %w", err)
		}
	}
	pool := l.pool
	l.mu.Unlock()
	return pool.BeginTx(ctx, opts)
}

// Handle answers the dashboard's pages (GET and HEAD).
func Handle(req handler.Request) (handler.Response, error) {
	return dash.Handle(req), nil
}
