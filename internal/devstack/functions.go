package devstack

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/arrestcast/arrestcast/internal/faasbuild"
	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/shared/config"
)

// Endpoints are where a function reaches the services on this machine, in
// place of faasd's service names (minio:9000, gateway:8080, the live portal).
type Endpoints struct {
	Gateway string // OPENFAAS_URL, e.g. http://127.0.0.1:8080
	MinIO   string // MINIO_ENDPOINT, host:port
	Socrata string // SOCRATA_BASE_URL, e.g. http://127.0.0.1:8091
}

// HealthcheckInterval is how long a function keeps serving after SIGTERM
// locally when stack.yml does not say (the template waits 10 s by default,
// of-watchdog its write_timeout): `make dev-down` should not take a minute.
const HealthcheckInterval = "1s"

// FunctionEnv is the environment a function process gets, without the host's
// PATH/HOME: the image's ENV (from the template's Dockerfile), then stack.yml's
// environment_file and environment (stackfile.File.Env), with the service
// endpoints rewritten for local, plus SECRETS_DIR (its own secrets folder),
// ARRESTCAST_LISTEN (its port) and healthcheck_interval unless stack.yml
// sets it.
func FunctionEnv(f *stackfile.File, name string, ep Endpoints, secretsDir, listen string) (map[string]string, error) {
	fn, ok := f.Functions[name]
	if !ok {
		return nil, fmt.Errorf("no function %q in stack file", name)
	}
	env, err := ImageEnv(f, fn.Lang)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	stackEnv, err := f.Env(name)
	if err != nil {
		return nil, err
	}
	for k, v := range stackEnv {
		env[k] = v
	}
	env["MINIO_ENDPOINT"] = ep.MinIO
	env["OPENFAAS_URL"] = ep.Gateway
	env["SOCRATA_BASE_URL"] = ep.Socrata
	env["SECRETS_DIR"] = secretsDir
	env["ARRESTCAST_LISTEN"] = listen
	if _, set := env["healthcheck_interval"]; !set {
		env["healthcheck_interval"] = HealthcheckInterval
	}
	return env, nil
}

// ImageEnv is the ENV of the last stage of the template's Dockerfile (what the
// image hands the watchdog and so the handler: fprocess, mode, ...).
func ImageEnv(f *stackfile.File, lang string) (map[string]string, error) {
	path := f.Path(filepath.Join("template", lang, "Dockerfile"))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template Dockerfile: %w", err)
	}
	stages, err := faasbuild.ParseDockerfile(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	env := map[string]string{}
	if len(stages) == 0 {
		return env, nil
	}
	for _, in := range stages[len(stages)-1].Instructions {
		if in.Op != "ENV" {
			continue
		}
		k, v, ok := strings.Cut(in.Args, "=")
		if !ok {
			k, v, _ = strings.Cut(in.Args, " ")
		}
		env[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return env, nil
}

// EnvList turns env into KEY=VALUE pairs after the host's PATH, HOME and
// TMPDIR (a container has those and nothing else of the host), sorted.
func EnvList(env map[string]string) []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			if _, set := env[k]; !set {
				out = append(out, k+"="+v)
			}
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// Secret names the gateway's basic auth reads (faasd's own).
const (
	SecretBasicAuthUser     = "basic-auth-user"
	SecretBasicAuthPassword = "basic-auth-password"
	AdminUser               = "admin"
)

// SecretValues are the local values of the project's secrets.
func SecretValues(c *Config, databaseURL string) map[string]string {
	return map[string]string{
		config.SecretMinIOAccessKey: c.MinIOUser,
		config.SecretMinIOSecretKey: c.MinIOPassword,
		config.SecretDatabaseURL:    databaseURL,
		config.SecretPipelineToken:  c.PipelineToken,
		config.SecretSocrataToken:   "",                             // the stand-in needs none
		config.SecretAlertWebhook:   c.Get("ALERT_WEBHOOK_URL", ""), // empty: no alerts
		SecretBasicAuthUser:         AdminUser,
	}
}

// WriteSecrets writes each secret as dir/<name> (mode 0600), as `faas-cli
// secret create` keeps them, in place (functions' mounts are hard links); a
// secret the stack has no value for (empty: the Socrata app token) is only
// created, so what `faas-cli secret update` set stays. It makes
// basic-auth-password once (random, kept across restarts).
func WriteSecrets(dir string, values map[string]string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secrets dir: %w", err)
	}
	for name, v := range values {
		flags := 0
		if v == "" {
			flags = os.O_CREATE | os.O_EXCL
		}
		err := writeSecretFile(filepath.Join(dir, name), []byte(v), flags)
		if errors.Is(err, fs.ErrNotExist) {
			err = writeSecretFile(filepath.Join(dir, name), []byte(v), os.O_CREATE)
		}
		if err != nil && !(v == "" && errors.Is(err, fs.ErrExist)) {
			return fmt.Errorf("write secret %s: %w", name, err)
		}
	}
	pw := filepath.Join(dir, SecretBasicAuthPassword)
	if _, err := os.Stat(pw); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(pw, []byte(randomHex(20)), 0o600); err != nil {
			return fmt.Errorf("write secret %s: %w", SecretBasicAuthPassword, err)
		}
	}
	return nil
}

// ReadSecret reads dir/<name>, trimmed.
func ReadSecret(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// MountSecrets lays out a function's secrets in dst as OpenFaaS mounts them at
// /var/openfaas/secrets: only the names the function lists in stack.yml. Each
// is a hard link to the secret's file, as faasd bind-mounts it: an update
// (written in place) is seen at once, a removal leaves the function the value
// it had. A listed secret that does not exist fails, as a faasd deploy does.
func MountSecrets(src, dst string, names []string) error {
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("clear %s: %w", dst, err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return fmt.Errorf("secrets mount: %w", err)
	}
	for _, n := range names {
		from, to := filepath.Join(src, n), filepath.Join(dst, n)
		if err := os.Link(from, to); err == nil {
			continue
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return fmt.Errorf("secret %s not found in %s: %w", n, src, err)
		}
		if err := os.WriteFile(to, b, 0o400); err != nil { // another file system: a copy
			return fmt.Errorf("mount secret %s: %w", n, err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
