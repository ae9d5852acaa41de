package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func reader(t *testing.T, env map[string]string, secrets map[string]string) Reader {
	dir := t.TempDir()
	for k, v := range secrets {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return Reader{SecretsDir: dir, Getenv: func(k string) string { return env[k] }}
}

func TestLoad(t *testing.T) {
	s, err := Load(reader(t, map[string]string{
		"MINIO_ENDPOINT": "minio:9000", "DATA_BUCKET": "crimes", "MODELS_BUCKET": "models2",
		"TRAIN_BUDGET": "25s", "exec_timeout": "58", "LOG_LEVEL": "debug", "CODE_VERSION": "abc123",
		"TRAIN_RECIPES": "seed", "TRAIN_THRESHOLD": "mcc",
	}, map[string]string{SecretMinIOAccessKey: "ak", SecretMinIOSecretKey: "sk", SecretDatabaseURL: "postgres://x"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Store.Endpoint != "minio:9000" || s.Store.Buckets.Data != "crimes" || s.Store.Buckets.Models != "models2" ||
		s.Store.AccessKey != "ak" || s.Store.SecretKey != "sk" || s.DatabaseURL != "postgres://x" ||
		s.TrainBudget != 25*time.Second || s.ExecTimeout != 58*time.Second || s.LogLevel != slog.LevelDebug ||
		s.Version != "abc123" || s.ChampionPoll != DefaultChampionPoll || s.Socrata.Format != "csv" ||
		s.TrainRecipes != "seed" || !s.TrainThresholdMCC {
		t.Errorf("settings %+v", s)
	}
}

// A malformed value is an error naming its variable, and leaves the
// default in place; an absent secret is no error (what needs it says so).
func TestLoadRefusesMalformedValues(t *testing.T) {
	s, err := Load(reader(t, map[string]string{"CHAMPION_POLL": "often", "LOG_LEVEL": "loud", "MINIO_SECURE": "maybe",
		"SOCRATA_FORMAT": "xml", "DATA_BUCKET": "same", "MODELS_BUCKET": "same", "TRAIN_RECIPES": "v3", "TRAIN_THRESHOLD": "0.7"}, nil))
	for _, want := range []string{"CHAMPION_POLL", "LOG_LEVEL", "MINIO_SECURE", "SOCRATA_FORMAT", "DATA_BUCKET", "TRAIN_RECIPES", "TRAIN_THRESHOLD"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if s.ChampionPoll != DefaultChampionPoll || s.DatabaseURL != "" {
		t.Errorf("settings after errors: %+v", s)
	}
}
