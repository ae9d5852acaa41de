// Package config reads a function's settings: plain values from the
// environment (stack.yml environment / environment_file) and secrets from
// OpenFaaS secret files (/var/openfaas/secrets/<name>), never from the
// environment, so they stay out of stack.yml and `faas-cli describe`.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Secret names, as created by `faas-cli secret create` (faasd/install.sh).
const (
	SecretMinIOAccessKey = "arrestcast-minio-access-key"
	SecretMinIOSecretKey = "arrestcast-minio-secret-key"
	SecretDatabaseURL    = "arrestcast-database-url"
	SecretPipelineToken  = "arrestcast-pipeline-token"
	SecretSocrataToken   = "arrestcast-socrata-app-token"
)

// DefaultSecretsDir is where OpenFaaS mounts a function's secrets.
const DefaultSecretsDir = "/var/openfaas/secrets"

// SecretsDir is the folder secrets are read from: SECRETS_DIR when set (the
// local stack lays out the same files elsewhere), else /var/openfaas/secrets.
func SecretsDir() string {
	if d := os.Getenv("SECRETS_DIR"); d != "" {
		return d
	}
	return DefaultSecretsDir
}

// ErrNoSecret is returned when a required secret file is absent.
var ErrNoSecret = errors.New("secret not found")

// Secret reads one secret, trimmed of surrounding white space.
func Secret(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(SecretsDir(), name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("secret %s in %s: %w", name, SecretsDir(), ErrNoSecret)
	}
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// OptionalSecret reads a secret that may be absent (the Socrata app token).
func OptionalSecret(name string) (string, error) {
	v, err := Secret(name)
	if errors.Is(err, ErrNoSecret) {
		return "", nil
	}
	return v, err
}

// Env returns the environment variable or fallback when unset or empty.
func Env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// Duration reads a duration variable ("25s", or plain seconds "25").
func Duration(name string, fallback time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return fallback, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a duration like 25s", name, v)
	}
	return d, nil
}

// Bool reads a boolean variable.
func Bool(name string, fallback bool) bool {
	v, err := strconv.ParseBool(os.Getenv(name))
	if err != nil {
		return fallback
	}
	return v
}

// Store holds what a function needs to reach the object store.
type Store struct {
	Endpoint     string
	AccessKey    string
	SecretKey    string
	Secure       bool
	DataBucket   string
	ModelsBucket string
}

// LoadStore reads the object store settings and keys.
func LoadStore() (Store, error) {
	s := Store{
		Endpoint:     Env("MINIO_ENDPOINT", "127.0.0.1:9000"),
		Secure:       Bool("MINIO_SECURE", false),
		DataBucket:   Env("DATA_BUCKET", "data"),
		ModelsBucket: Env("MODELS_BUCKET", "models"),
	}
	var err error
	if s.AccessKey, err = Secret(SecretMinIOAccessKey); err != nil {
		return s, err
	}
	if s.SecretKey, err = Secret(SecretMinIOSecretKey); err != nil {
		return s, err
	}
	return s, nil
}

// Version is the code version this binary was built from, stamped at build
// time (the template's Dockerfile and the local stack pass the git commit:
// -ldflags "-X github.com/arrestcast/arrestcast/shared/config.Version=<commit>").
var Version = "dev"
