package faas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/platform/pg"
	"github.com/arrestcast/arrestcast/shared/platform/store"
)

// Deps are a function's dependencies, built once from its configuration and
// handed to what it runs: settings, logger, and on first use the object
// store and the database (a probe answers before either is reachable; a
// failed connection is tried again on the next call, with the settings —
// secrets are files — read again).
type Deps struct {
	Name   string
	Config config.Reader
	Log    *slog.Logger

	mu       sync.Mutex
	settings config.Settings
	err      error // a malformed setting: the function cannot run as configured
	minio    *store.MinIO
	db       *pgxpool.Pool
}

// NewDeps reads the function's settings through r. Its logger writes JSON
// lines to stdout at LOG_LEVEL, each with the function's name.
func NewDeps(name string, r config.Reader) *Deps {
	s, err := config.Load(r)
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: s.LogLevel})).With("function", name)
	if err != nil {
		log.Error("bad settings", "err", err)
	}
	return &Deps{Name: name, Config: r, Log: log, settings: s, err: err}
}

// connectTimeout bounds building one client.
const connectTimeout = 10 * time.Second

// MinIO is the object store client (with the administration setup needs).
func (d *Deps) MinIO(ctx context.Context) (*store.MinIO, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.minio != nil {
		return d.minio, nil
	}
	if err := d.reload(); err != nil {
		return nil, err
	}
	s := d.settings.Store
	if s.AccessKey == "" || s.SecretKey == "" {
		return nil, fmt.Errorf("store: secrets %s and %s are needed: %w", config.SecretMinIOAccessKey, config.SecretMinIOSecretKey, config.ErrNoSecret)
	}
	m, err := store.NewMinIO(store.MinIOConfig{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Secure: s.Secure, Logger: d.Log})
	if err != nil {
		return nil, fmt.Errorf("store client: %w", err)
	}
	d.minio = m
	return m, nil
}

// Store is the object store.
func (d *Deps) Store(ctx context.Context) (store.Store, error) {
	m, err := d.MinIO(ctx)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DB is the database pool.
func (d *Deps) DB(ctx context.Context) (*pgxpool.Pool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.db != nil {
		return d.db, nil
	}
	if err := d.reload(); err != nil {
		return nil, err
	}
	if d.settings.DatabaseURL == "" {
		return nil, fmt.Errorf("database: secret %s is needed: %w", config.SecretDatabaseURL, config.ErrNoSecret)
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	db, err := pg.Open(ctx, d.settings.DatabaseURL, pg.Options{})
	if err != nil {
		return nil, err
	}
	d.db = db
	return db, nil
}

// reload reads the settings again before a client is built: secrets are
// files, and one created or rotated after start is taken (d.mu is held).
func (d *Deps) reload() error {
	s, err := config.Load(d.Config)
	if err != nil {
		d.err = err
		return err
	}
	d.settings, d.err = s, nil
	return nil
}

// Settings are the function's settings as last read.
func (d *Deps) Settings() config.Settings {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.settings
}

// Unconfigured reports whether err says a secret or setting is missing
// (the deployment's fault) rather than a service being down.
func Unconfigured(err error) bool { return errors.Is(err, config.ErrNoSecret) }
