package devstack

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/config"
)

// testRoot lays out a repository with a two-function stack.yml: echo (built:
// the fake function at build/echo/handler) and later (not built).
func testRoot(t testing.TB) *Config {
	t.Helper()
	root := t.TempDir()
	copyTemplate(t, root)
	write(t, filepath.Join(root, "faasd", "functions.yml"), "environment:\n  MINIO_ENDPOINT: minio:9000\n  OPENFAAS_URL: http://gateway:8080\n  LOG_LEVEL: info\n")
	write(t, filepath.Join(root, "stack.yml"), `version: 1.0
provider: {name: openfaas, gateway: "${OPENFAAS_URL:-http://127.0.0.1:8080}"}
functions:
  echo:
    lang: golang-http
    handler: ./functions/echo
    image: ${REGISTRY:-ghcr.io/arrestcast}/echo:latest
    environment_file: [faasd/functions.yml]
    environment: {write_timeout: 5s, GREETING: "${GREETING:-hello}"}
    secrets: [arrestcast-minio-access-key, arrestcast-database-url]
    annotations: {topic: cron-function, schedule: "@monthly"}
  later:
    lang: golang-http
    handler: ./functions/later
    image: ghcr.io/arrestcast/later:latest
`)
	write(t, filepath.Join(root, ".env"), "OPENFAAS_URL=http://"+freeAddr(t)+"\nPIPELINE_TOKEN=tok\nGREETING=from-dotenv\nMINIO_ADDRESS=127.0.0.1:19000\n")
	if err := os.MkdirAll(filepath.Join(root, "build", "echo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyExecutable(fakeFn(t), filepath.Join(root, "build", "echo", "handler")); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSecrets(c.Path("secrets"), SecretValues(c, "postgres://arrestcast:pw@127.0.0.1:5433/arrestcast")); err != nil {
		t.Fatal(err)
	}
	return c
}

// runDaemon runs RunDaemon until the test ends (or cancel), and waits until
// daemon.json says it is ready.
func runDaemon(t *testing.T, o DaemonOptions) (context.CancelFunc, <-chan error, *DaemonState) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- RunDaemon(ctx, o) }()
	var ds *DaemonState
	waitFor(t, 30*time.Second, "daemon.json ready", func() bool {
		select {
		case err := <-done:
			t.Fatalf("daemon returned: %v", err)
		default:
		}
		s, err := ReadDaemonState(o.Config)
		if err == nil && s.Ready {
			ds = s
			return true
		}
		return false
	})
	return cancel, done, ds
}

func TestDaemonRunsFunctionsBehindTheGatewayAndStopsClean(t *testing.T) {
	t.Setenv("DEVSTACK_TEST_HOST_ONLY", "leak")
	c := testRoot(t)
	cancel, done, ds := runDaemon(t, DaemonOptions{Config: c, Ready: 10 * time.Second, Runtime: &Runtime{Reason: "this test runs the handler alone"}})
	defer cancel()
	if len(ds.Functions) != 2 || ds.Functions[0].Name != "echo" || !ds.Functions[0].Ready || ds.Functions[1].Deployed ||
		!strings.Contains(ds.Functions[1].Problem, "not built") || len(ds.Cron) != 1 || ds.Cron[0].Function != "echo" {
		t.Fatalf("daemon.json %+v", ds)
	}
	echoPid := ds.Functions[0].Pid

	// The function process: its env, cwd and secrets, as a container would have them.
	res, b := get(t, c.GatewayURL+"/function/echo/env")
	if res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, b)
	}
	var env map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	fnDir := c.Path("functions", "echo")
	for k, want := range map[string]string{
		"SECRETS_DIR": filepath.Join(fnDir, "secrets"), "_CWD": fnDir, "ARRESTCAST_LISTEN": ds.Functions[0].Addr,
		"healthcheck_interval": "1s", "MINIO_ENDPOINT": "127.0.0.1:19000", "OPENFAAS_URL": c.GatewayURL,
		"SOCRATA_BASE_URL": "http://127.0.0.1:8091", "GREETING": "from-dotenv", "LOG_LEVEL": "info", "fprocess": "./handler",
	} {
		if env[k] != want {
			t.Errorf("function env %s=%q, want %q", k, env[k], want)
		}
	}
	if _, ok := env["DEVSTACK_TEST_HOST_ONLY"]; ok {
		t.Error("the host environment leaked into the function")
	}
	if res, b := get(t, c.GatewayURL+"/function/echo/secret/"+config.SecretDatabaseURL); res.StatusCode != 200 || string(b) != "postgres://arrestcast:pw@127.0.0.1:5433/arrestcast" {
		t.Errorf("database secret: %d %q", res.StatusCode, b)
	}
	if res, _ := get(t, c.GatewayURL+"/function/echo/secret/"+config.SecretPipelineToken); res.StatusCode != 404 {
		t.Errorf("a secret the function does not list is readable: %d", res.StatusCode)
	}
	if res, _ := get(t, c.GatewayURL+"/function/later"); res.StatusCode != http.StatusBadGateway {
		t.Errorf("unbuilt function: %d, want 502", res.StatusCode)
	}
	pw, _ := ReadSecret(c.Path("secrets"), SecretBasicAuthPassword)
	req, _ := http.NewRequest(http.MethodGet, c.GatewayURL+"/system/functions", nil)
	req.SetBasicAuth("admin", pw)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Errorf("/system/functions with the generated password: %v %v", r, err)
	} else {
		r.Body.Close()
	}

	// A crash through the gateway: the daemon restarts it, daemon.json follows.
	get(t, c.GatewayURL+"/function/echo/crash")
	waitFor(t, 10*time.Second, "echo restarted", func() bool {
		s, err := ReadDaemonState(c)
		return err == nil && s.Functions[0].Ready && s.Functions[0].Pid != echoPid && s.Functions[0].Restarts == 1
	})
	ds, _ = ReadDaemonState(c)
	newPid := ds.Functions[0].Pid
	if log, _ := os.ReadFile(c.Path("logs", "echo.log")); !strings.Contains(string(log), "function exited, restarting") {
		t.Errorf("echo.log:\n%s", log)
	}

	// Stop: SIGTERM to the function (it waits healthcheck_interval, 1 s), gateway closed.
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop")
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("stopped in %s: the function did not wait healthcheck_interval", took)
	}
	for _, pid := range []int{echoPid, newPid} {
		if !gone(pid) {
			t.Errorf("function pid %d left behind", pid)
		}
	}
	gw, _ := c.GatewayAddr()
	if busy := WaitPortsFree([]string{gw, ds.Functions[0].Addr}, 5*time.Second); len(busy) > 0 {
		t.Errorf("ports still in use: %v", busy)
	}
	if _, err := os.Stat(c.Path("daemon.json")); !os.IsNotExist(err) {
		t.Errorf("daemon.json left: %v", err)
	}
	if log, _ := os.ReadFile(c.Path("logs", "echo.log")); !strings.Contains(string(log), "SIGTERM received, exiting after 1s") {
		t.Errorf("echo.log:\n%s", log)
	}
}

func TestStaleFunctions(t *testing.T) {
	c := testRoot(t)
	write(t, filepath.Join(c.Root, "functions", "echo", "handler.go"), "package function\n")
	bin := filepath.Join(c.Root, "build", "echo", "handler")
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(bin, future, future); err != nil {
		t.Fatal(err)
	}
	f := loadStack(t, c)
	stale, missing, err := StaleFunctions(c, f)
	if err != nil || len(stale) != 0 || len(missing) != 1 || missing[0] != "later" {
		t.Fatalf("stale %v missing %v err %v", stale, missing, err)
	}
	later := future.Add(time.Minute)
	if err := os.Chtimes(filepath.Join(c.Root, "functions", "echo", "handler.go"), later, later); err != nil {
		t.Fatal(err)
	}
	if stale, _, _ := StaleFunctions(c, f); len(stale) != 1 || stale[0] != "echo" {
		t.Errorf("after editing the handler: stale %v", stale)
	}
}
