// Package config reads a function's settings into one typed value: plain
// values from the environment (stack.yml environment / environment_file)
// and secrets from OpenFaaS secret files (/var/openfaas/secrets/<name>),
// never from the environment, so they stay out of stack.yml and
// `faas-cli describe`. Reader is injectable, so tests need no process
// environment.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
)

// Secret names, as created by `faas-cli secret create` (faasd/install.sh).
const (
	SecretMinIOAccessKey = "arrestcast-minio-access-key"
	SecretMinIOSecretKey = "arrestcast-minio-secret-key"
	SecretDatabaseURL    = "arrestcast-database-url"
	SecretPipelineToken  = "arrestcast-pipeline-token"
	SecretSocrataToken   = "arrestcast-socrata-app-token"
	SecretAlertWebhook   = "arrestcast-alert-webhook-url" // the monitor's alerts (optional)
)

// DefaultSecretsDir is where OpenFaaS mounts a function's secrets.
const DefaultSecretsDir = "/var/openfaas/secrets"

// Version is the code version this binary was built from, stamped at build
// time (the template's Dockerfile and the local stack pass the git commit:
// -ldflags "-X github.com/arrestcast/arrestcast/shared/config.Version=<commit>").
var Version = "dev"

// ErrNoSecret is returned when a required secret file is absent.
var ErrNoSecret = errors.New("secret not found")

// Reader reads settings from an environment and a secrets folder.
type Reader struct {
	Getenv     func(string) string // nil: os.Getenv
	SecretsDir string              // "": SECRETS_DIR of the environment, else DefaultSecretsDir
}

// Environment reads the process's environment and secrets.
func Environment() Reader { return Reader{} }

func (r Reader) getenv(name string) string {
	if r.Getenv == nil {
		return os.Getenv(name)
	}
	return r.Getenv(name)
}

// Dir is the folder secrets are read from: the local stack lays out the
// same files elsewhere (SECRETS_DIR).
func (r Reader) Dir() string {
	switch {
	case r.SecretsDir != "":
		return r.SecretsDir
	case r.getenv("SECRETS_DIR") != "":
		return r.getenv("SECRETS_DIR")
	}
	return DefaultSecretsDir
}

// Env returns the variable, or fallback when unset or empty.
func (r Reader) Env(name, fallback string) string {
	if v := r.getenv(name); v != "" {
		return v
	}
	return fallback
}

// Duration reads a duration variable ("25s", or plain seconds "25").
func (r Reader) Duration(name string, fallback time.Duration) (time.Duration, error) {
	v := r.getenv(name)
	if v == "" {
		return fallback, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration like 25s", name, v)
	}
	return d, nil
}

// Bool reads a boolean variable.
func (r Reader) Bool(name string, fallback bool) (bool, error) {
	v := r.getenv(name)
	if v == "" {
		return fallback, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

// Secret reads one secret, trimmed of surrounding white space. It is read
// on every call: a small file, and a rotated secret takes effect without a
// restart.
func (r Reader) Secret(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(r.Dir(), name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("secret %s: %w", name, ErrNoSecret)
	}
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// optionalSecret reads a secret that may be absent ("" then).
func (r Reader) optionalSecret(name string) (string, error) {
	v, err := r.Secret(name)
	if errors.Is(err, ErrNoSecret) {
		return "", nil
	}
	return v, err
}

// Settings are everything a function is configured with. Secrets a
// function was not given are empty; what needs one says so when used.
type Settings struct {
	Store        Store
	DatabaseURL  string // secret arrestcast-database-url
	Socrata      Socrata
	AlertWebhook string        // secret arrestcast-alert-webhook-url: where the monitor posts alerts ("": none)
	TrainBudget  time.Duration // TRAIN_BUDGET: train's search budget (0: train's default)
	// TrainRecipes is which recipes train fits (TRAIN_RECIPES): "all"
	// (the seed's and v2, the best kept) or "seed" (the seed's alone).
	TrainRecipes string
	// TrainThresholdMCC (TRAIN_THRESHOLD=mcc) lets v2 answer "arrest" from
	// the probability that maximises MCC on its validation month, instead
	// of 0.5 (TRAIN_THRESHOLD=0.5).
	TrainThresholdMCC bool
	ExecTimeout       time.Duration // exec_timeout: the watchdog's limit on one call (0: none)
	ChampionPoll      time.Duration // CHAMPION_POLL: how often predict asks for the champion
	LogLevel          slog.Level    // LOG_LEVEL: debug, info, warn or error
	// DataFirstMonth is the data's first month (DATA_FIRST_MONTH, YYYY-MM;
	// "": the portal's): no run or backfill reaches before it.
	DataFirstMonth string
	Version        string // CODE_VERSION, else the build's Version
}

// Store is how a function reaches the object store.
type Store struct {
	Endpoint  string // MINIO_ENDPOINT
	Secure    bool   // MINIO_SECURE
	AccessKey string // secret arrestcast-minio-access-key
	SecretKey string // secret arrestcast-minio-secret-key
	Buckets   chain.Buckets
}

// Socrata is how download reaches the Chicago Data Portal.
type Socrata struct {
	BaseURL  string // SOCRATA_BASE_URL
	Format   string // SOCRATA_FORMAT: csv or json
	AppToken string // secret arrestcast-socrata-app-token (optional)
}

// Defaults of the plain settings.
const (
	DefaultMinIOEndpoint = "127.0.0.1:9000"
	DefaultSocrataURL    = "https://data.cityofchicago.org"
	DefaultChampionPoll  = 10 * time.Second
)

// Load reads every setting. A malformed value is an error naming its
// variable; an absent secret is not (see Settings).
func Load(r Reader) (Settings, error) {
	s := Settings{
		Store: Store{
			Endpoint: r.Env("MINIO_ENDPOINT", DefaultMinIOEndpoint),
			Buckets:  chain.Buckets{Data: r.Env("DATA_BUCKET", chain.DataBucket), Models: r.Env("MODELS_BUCKET", chain.ModelsBucket)},
		},
		Socrata:        Socrata{BaseURL: r.Env("SOCRATA_BASE_URL", DefaultSocrataURL), Format: r.Env("SOCRATA_FORMAT", "csv")},
		Version:        r.Env("CODE_VERSION", Version),
		DataFirstMonth: r.Env("DATA_FIRST_MONTH", ""),
		TrainRecipes:   r.Env("TRAIN_RECIPES", "all"),
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	// A malformed value leaves the default in place: the error says which.
	duration := func(dst *time.Duration, name string, fallback time.Duration) {
		*dst = fallback
		if v, err := r.Duration(name, fallback); err != nil {
			add(err)
		} else {
			*dst = v
		}
	}
	duration(&s.TrainBudget, "TRAIN_BUDGET", 0)
	duration(&s.ExecTimeout, "exec_timeout", 0)
	duration(&s.ChampionPoll, "CHAMPION_POLL", DefaultChampionPoll)
	if v, err := r.Bool("MINIO_SECURE", false); err != nil {
		add(err)
	} else {
		s.Store.Secure = v
	}
	if v := r.getenv("LOG_LEVEL"); v != "" {
		if err := s.LogLevel.UnmarshalText([]byte(v)); err != nil {
			add(fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	if s.TrainRecipes != "all" && s.TrainRecipes != "seed" {
		add(fmt.Errorf("TRAIN_RECIPES=%q: want all or seed", s.TrainRecipes))
	}
	switch v := r.Env("TRAIN_THRESHOLD", "0.5"); v {
	case "0.5":
	case "mcc":
		s.TrainThresholdMCC = true
	default:
		add(fmt.Errorf("TRAIN_THRESHOLD=%q: want 0.5 or mcc", v))
	}
	if s.Socrata.Format != "csv" && s.Socrata.Format != "json" {
		add(fmt.Errorf("SOCRATA_FORMAT=%q: want csv or json", s.Socrata.Format))
	}
	if s.Store.Buckets.Data == s.Store.Buckets.Models {
		add(fmt.Errorf("DATA_BUCKET and MODELS_BUCKET are both %q", s.Store.Buckets.Data))
	}
	for name, dst := range map[string]*string{
		SecretMinIOAccessKey: &s.Store.AccessKey, SecretMinIOSecretKey: &s.Store.SecretKey,
		SecretDatabaseURL: &s.DatabaseURL, SecretSocrataToken: &s.Socrata.AppToken, SecretAlertWebhook: &s.AlertWebhook,
	} {
		v, err := r.optionalSecret(name)
		add(err)
		*dst = v
	}
	return s, errors.Join(errs...)
}

// Need reports the secrets among names that s was not given, as an error
// naming them and where they were looked for.
func (r Reader) Need(names ...string) error {
	var missing []string
	for _, n := range names {
		if v, err := r.Secret(n); err != nil || v == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("secrets %s not found in %s: %w", strings.Join(missing, ", "), r.Dir(), ErrNoSecret)
	}
	return nil
}
