package faas

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/arrestcast/arrestcast/shared/config"
)

// A function logs at LOG_LEVEL, and a client it lacks the secrets for is
// refused with ErrNoSecret (the deployment's fault, not a service down).
func TestDepsLogLevelAndMissingSecrets(t *testing.T) {
	env := map[string]string{"LOG_LEVEL": "warn"}
	d := NewDeps("merge", config.Reader{SecretsDir: t.TempDir(), Getenv: func(k string) string { return env[k] }})
	ctx := context.Background()
	if d.Log.Enabled(ctx, slog.LevelInfo) || !d.Log.Enabled(ctx, slog.LevelWarn) {
		t.Error("LOG_LEVEL=warn: info is logged, or warn is not")
	}
	if _, err := d.Store(ctx); !errors.Is(err, config.ErrNoSecret) || !Unconfigured(err) {
		t.Errorf("store without its secrets: %v", err)
	}
	if _, err := d.DB(ctx); !errors.Is(err, config.ErrNoSecret) {
		t.Errorf("database without its secret: %v", err)
	}
}
