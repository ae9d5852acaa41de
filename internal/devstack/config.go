// Package devstack is ArrestCast's local stack: the same functions faasd
// would run, each as its own process (behind the real of-watchdog when it is
// found, in a network namespace of its own as in its container), behind a
// gateway that speaks the OpenFaaS gateway's and faas-provider's API, with the
// cron-connector's schedule, a real MinIO (with the chain's webhook targets)
// and a private PostgreSQL cluster; one daemon supervises every process.
// `make dev`, `make dev-down`, `make status`, `make demo` drive it through
// cmd/devstack; an end-to-end test can drive it through this package.
//
// Layout of the state folder (.dev/):
//
//	stack.json             what `up` started: addresses, URLs, the daemon's pid
//	daemon.json            the daemon's live view: services' and functions' pids, readiness, restarts
//	logs/<name>.log        each process's journal ("<time> <pid> <line>"), with the supervisor's lines
//	logs/devstack.log      the daemon's own log
//	secrets/<name>         every secret, as faasd keeps them (`faas-cli secret create` writes here)
//	functions/<fn>/        a function's "container": ./handler, secrets/ (hard links to its own), tmp/, cwd
//	minio/data, minio/events (webhook queue dirs), pg/ (the private cluster)
package devstack

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is the local stack's settings: .env overridden by the process
// environment (as docker compose and faas-cli read them), and the folders.
type Config struct {
	Root      string // repository root (holds stack.yml, .env, build/, .bin/)
	Dev       string // state folder, Root/.dev
	StackFile string // Root/stack.yml

	GatewayURL          string // OPENFAAS_URL
	MinIOAddress        string // MINIO_ADDRESS
	MinIOConsoleAddress string // MINIO_CONSOLE_ADDRESS, default MinIO port + 1
	MinIOUser           string // MINIO_ROOT_USER
	MinIOPassword       string // MINIO_ROOT_PASSWORD
	PostgresPort        int    // POSTGRES_PORT
	SocrataAddress      string // SOCRATA_ADDRESS (the local Socrata stand-in)
	PipelineToken       string // PIPELINE_TOKEN
	MinIOBin            string // MINIO_BIN, default Root/.bin/minio

	vars map[string]string // .env
}

// LoadConfig reads Root/.env (absent is fine) and the process environment.
func LoadConfig(root string) (*Config, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	vars, err := ReadDotEnv(filepath.Join(abs, ".env"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	c := &Config{Root: abs, Dev: filepath.Join(abs, ".dev"), StackFile: filepath.Join(abs, "stack.yml"), vars: vars}
	// DEVSTACK_DIR moves the state folder (the end-to-end test runs a stack
	// of its own beside a developer's); the daemon inherits it.
	if d := c.Get("DEVSTACK_DIR", ""); d != "" {
		if c.Dev, err = filepath.Abs(d); err != nil {
			return nil, fmt.Errorf("DEVSTACK_DIR: %w", err)
		}
	}
	c.GatewayURL = strings.TrimRight(c.Get("OPENFAAS_URL", "http://127.0.0.1:8080"), "/")
	c.MinIOAddress = c.Get("MINIO_ADDRESS", "127.0.0.1:9000")
	c.MinIOUser = c.Get("MINIO_ROOT_USER", "minio")
	c.MinIOPassword = c.Get("MINIO_ROOT_PASSWORD", "minio123")
	c.SocrataAddress = c.Get("SOCRATA_ADDRESS", "127.0.0.1:8091")
	c.PipelineToken = c.Get("PIPELINE_TOKEN", "")
	c.MinIOBin = c.Get("MINIO_BIN", filepath.Join(abs, ".bin", "minio"))
	if c.PipelineToken == "" {
		return nil, errors.New("PIPELINE_TOKEN is empty: set it in .env")
	}
	if c.PostgresPort, err = strconv.Atoi(c.Get("POSTGRES_PORT", "5433")); err != nil {
		return nil, fmt.Errorf("POSTGRES_PORT: %w", err)
	}
	host, port, err := net.SplitHostPort(c.MinIOAddress)
	if err != nil {
		return nil, fmt.Errorf("MINIO_ADDRESS %q: %w", c.MinIOAddress, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("MINIO_ADDRESS %q: port: %w", c.MinIOAddress, err)
	}
	c.MinIOConsoleAddress = c.Get("MINIO_CONSOLE_ADDRESS", net.JoinHostPort(host, strconv.Itoa(p+1)))
	if _, err := c.GatewayAddr(); err != nil {
		return nil, err
	}
	return c, nil
}

// Get returns the process environment's value, else .env's, else fallback.
func (c *Config) Get(name, fallback string) string {
	if v, ok := c.Lookup(name); ok && v != "" {
		return v
	}
	return fallback
}

// Lookup is the variable lookup for stack.yml's substitution: the process
// environment first (when not empty), then .env.
func (c *Config) Lookup(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v, true
	}
	v, ok := c.vars[name]
	return v, ok
}

// GatewayAddr is the host:port the gateway listens on (from OPENFAAS_URL).
func (c *Config) GatewayAddr() (string, error) {
	u, err := url.Parse(c.GatewayURL)
	if err != nil || u.Host == "" || u.Scheme != "http" {
		return "", fmt.Errorf("OPENFAAS_URL %q: want http://host:port", c.GatewayURL)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "80"), nil
	}
	return u.Host, nil
}

// SocrataBaseURL is what functions get as SOCRATA_BASE_URL locally.
func (c *Config) SocrataBaseURL() string { return "http://" + c.SocrataAddress }

// Path joins elements under the state folder.
func (c *Config) Path(elem ...string) string {
	return filepath.Join(append([]string{c.Dev}, elem...)...)
}

// ReadDotEnv parses a .env file: KEY=VALUE lines, # comments, optional
// `export `, values optionally in single or double quotes.
func ReadDotEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return vars, nil
}
