package devstack

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/shared/config"
)

func TestFunctionEnvFromRepositoryStack(t *testing.T) {
	vars := map[string]string{"TRAIN_BUDGET": "7s", "REGISTRY": "localhost:5000/ac"}
	f, err := stackfile.Load(repo.Path("stack.yml"), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	ep := Endpoints{Gateway: "http://127.0.0.1:8080", MinIO: "127.0.0.1:9000", Socrata: "http://127.0.0.1:8091"}
	env, err := FunctionEnv(f, "train", ep, "/x/.dev/functions/train/secrets", "127.0.0.1:41000")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		// stack.yml environment, substituted
		"TRAIN_BUDGET": "7s", "write_timeout": "58s", "exec_timeout": "58s",
		// environment_file (faasd/functions.yml), kept where not a service endpoint
		"LOG_LEVEL": "info", "DATA_BUCKET": "data", "MINIO_SECURE": "false",
		// endpoints rewritten for local
		"MINIO_ENDPOINT": "127.0.0.1:9000", "OPENFAAS_URL": "http://127.0.0.1:8080", "SOCRATA_BASE_URL": "http://127.0.0.1:8091",
		// the local stack's own
		"SECRETS_DIR": "/x/.dev/functions/train/secrets", "ARRESTCAST_LISTEN": "127.0.0.1:41000", "healthcheck_interval": "1s",
		// the image's ENV (template Dockerfile)
		"fprocess": "./handler", "mode": "http",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["DATABASE_URL"]; ok {
		t.Error("a secret leaked into the environment")
	}
	list := EnvList(env)
	if !slices.Contains(list, "TRAIN_BUDGET=7s") || !slices.IsSorted(list[len(list)-len(env):]) {
		t.Errorf("EnvList %v", list)
	}
	for _, kv := range list {
		if strings.HasPrefix(kv, "GOFLAGS=") || strings.HasPrefix(kv, "PIPELINE_TOKEN=") {
			t.Errorf("host variable %s passed to the function", kv)
		}
	}
	if _, err := FunctionEnv(f, "nope", ep, "", ""); err == nil {
		t.Error("unknown function accepted")
	}
}

func TestFunctionEnvFileOrderAndSubstitution(t *testing.T) {
	root := t.TempDir()
	copyTemplate(t, root)
	write(t, filepath.Join(root, "env.yml"), "environment:\n  A: from-file\n  B: from-file\n  MINIO_ENDPOINT: minio:9000\n")
	write(t, filepath.Join(root, "stack.yml"), `version: 1.0
provider: {name: openfaas}
functions:
  fn:
    lang: golang-http
    handler: ./fn
    environment_file: [env.yml]
    environment: {B: "${B_VALUE:-default-b}", C: plain}
`)
	f, err := stackfile.Load(filepath.Join(root, "stack.yml"), func(k string) (string, bool) {
		if k == "B_VALUE" {
			return "from-dotenv", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := FunctionEnv(f, "fn", Endpoints{MinIO: "127.0.0.1:9999"}, "s", "l")
	if err != nil {
		t.Fatal(err)
	}
	if env["A"] != "from-file" || env["B"] != "from-dotenv" || env["C"] != "plain" || env["MINIO_ENDPOINT"] != "127.0.0.1:9999" {
		t.Errorf("env %v", env)
	}
}

func TestSecretsWrittenAndMountedPerFunction(t *testing.T) {
	dir := t.TempDir()
	c := &Config{MinIOUser: "minio", MinIOPassword: "minio123", PipelineToken: "tok"}
	vals := SecretValues(c, "postgres://u:p@127.0.0.1:5433/arrestcast")
	if err := WriteSecrets(dir, vals); err != nil {
		t.Fatal(err)
	}
	pw, err := ReadSecret(dir, SecretBasicAuthPassword)
	if err != nil || len(pw) < 20 {
		t.Fatalf("basic-auth-password %q %v", pw, err)
	}
	if err := WriteSecrets(dir, vals); err != nil {
		t.Fatal(err)
	}
	if again, _ := ReadSecret(dir, SecretBasicAuthPassword); again != pw {
		t.Error("the admin password changed on a second up")
	}
	// A value set with faas-cli secret update stays where the stack has none.
	write(t, filepath.Join(dir, config.SecretSocrataToken), "app-token-set-by-hand")
	if err := WriteSecrets(dir, vals); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadSecret(dir, config.SecretSocrataToken); got != "app-token-set-by-hand" {
		t.Errorf("the Socrata token set by hand became %q on up", got)
	}
	write(t, filepath.Join(dir, config.SecretSocrataToken), "")
	for name, want := range map[string]string{
		config.SecretMinIOAccessKey: "minio", config.SecretMinIOSecretKey: "minio123", config.SecretPipelineToken: "tok",
		config.SecretDatabaseURL: "postgres://u:p@127.0.0.1:5433/arrestcast", config.SecretSocrataToken: "", SecretBasicAuthUser: "admin",
	} {
		if got, err := ReadSecret(dir, name); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
	// predict lists three secrets: its folder holds those three and nothing else.
	mount := filepath.Join(t.TempDir(), "secrets")
	names := []string{config.SecretMinIOAccessKey, config.SecretMinIOSecretKey, config.SecretDatabaseURL}
	if err := MountSecrets(dir, mount, names); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(mount)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("mounted %v, want %v", got, names)
	}
	// config reads them there, as a function does.
	t.Setenv("SECRETS_DIR", mount)
	if v, err := config.Environment().Secret(config.SecretDatabaseURL); err != nil || v != "postgres://u:p@127.0.0.1:5433/arrestcast" {
		t.Errorf("config.Secret: %q %v", v, err)
	}
	if _, err := config.Environment().Secret(config.SecretPipelineToken); err == nil {
		t.Error("predict can read the pipeline token, which stack.yml does not give it")
	}
	if err := MountSecrets(dir, mount, []string{"no-such-secret"}); err == nil {
		t.Error("a missing secret mounted without error (faasd refuses the deploy)")
	}
}

func TestReadDotEnvAndConfig(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, ".env"), `# comment
OPENFAAS_URL=http://127.0.0.1:18080/
export MINIO_ADDRESS=127.0.0.1:19000
PIPELINE_TOKEN="quoted token"
DOWNLOAD_SCHEDULE=0 12 1 * *
POSTGRES_PORT=15433
`)
	t.Setenv("POSTGRES_PORT", "25433") // the process environment wins over .env
	c, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if c.GatewayURL != "http://127.0.0.1:18080" || c.MinIOAddress != "127.0.0.1:19000" || c.MinIOConsoleAddress != "127.0.0.1:19001" ||
		c.PipelineToken != "quoted token" || c.PostgresPort != 25433 || c.Dev != filepath.Join(root, ".dev") {
		t.Errorf("config %+v", c)
	}
	if v, ok := c.Lookup("DOWNLOAD_SCHEDULE"); !ok || v != "0 12 1 * *" {
		t.Errorf("DOWNLOAD_SCHEDULE %q", v)
	}
	if a, _ := c.GatewayAddr(); a != "127.0.0.1:18080" {
		t.Errorf("gateway addr %q", a)
	}
	write(t, filepath.Join(root, ".env"), "BROKEN\n")
	if _, err := LoadConfig(root); err == nil {
		t.Error("a line without = accepted")
	}
}

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTemplate copies the repository's template Dockerfile (the image ENV).
func copyTemplate(t testing.TB, root string) {
	t.Helper()
	b, err := os.ReadFile(repo.Path("template/golang-http/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "template", "golang-http", "Dockerfile"), string(b))
}
