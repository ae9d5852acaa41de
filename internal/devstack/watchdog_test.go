package devstack

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/testenv"
)

// watchdogRuntime is the runtime with the real of-watchdog, or the test ends
// (a failure in CI) saying what is missing.
func watchdogRuntime(t *testing.T) Runtime {
	t.Helper()
	wd, err := FindTool(repo.Root(), "OF_WATCHDOG", "of-watchdog", "fwatchdog")
	if err != nil {
		testenv.Unavailable(t, err.Error())
	}
	if err := NetNSAvailable(); err != nil {
		testenv.Unavailable(t, "functions behind of-watchdog need network namespaces (root on Linux): "+err.Error())
	}
	return Runtime{Watchdog: wd}
}

// TestDaemonRunsFunctionsBehindTheRealWatchdog: two functions, each the real
// of-watchdog (mode=http) in front of the handler in a network namespace of
// its own, with the container's environment, ports and /tmp; exec_timeout is
// the watchdog's 504; the handler reaches the host's services through the
// forwards; a crashed handler takes its watchdog down and both come back.
func TestDaemonRunsFunctionsBehindTheRealWatchdog(t *testing.T) {
	rt := watchdogRuntime(t)
	c := testRoot(t)
	write(t, c.StackFile, `version: 1.0
provider: {name: openfaas}
functions:
  echo:
    lang: golang-http
    handler: ./functions/echo
    image: ghcr.io/arrestcast/echo:latest
    environment: {exec_timeout: 1s, read_timeout: 5s, write_timeout: 5s, max_inflight: 4}
    secrets: [arrestcast-database-url]
  other:
    lang: golang-http
    handler: ./functions/other
    image: ghcr.io/arrestcast/other:latest
    environment: {write_timeout: 5s}
`)
	if err := os.MkdirAll(filepath.Join(c.Root, "build", "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyExecutable(fakeFn(t), filepath.Join(c.Root, "build", "other", "handler")); err != nil {
		t.Fatal(err)
	}
	cancel, done, ds := runDaemon(t, DaemonOptions{Config: c, Ready: 20 * time.Second, Runtime: &rt})
	if !strings.Contains(ds.Runtime, "of-watchdog") {
		t.Errorf("runtime %q", ds.Runtime)
	}
	for _, f := range ds.Functions {
		if !f.Deployed || !f.Ready || !f.Namespaced || f.Addr != "127.0.0.1:8080" {
			t.Errorf("function %+v: want ready behind the watchdog on 8080 in its namespace", f)
		}
	}

	// The environment is the container's: the image's ENV, stack.yml's,
	// the watchdog's port, the handler on upstream_url's port, its own /tmp.
	res, b := get(t, c.GatewayURL+"/function/echo/env")
	if res.StatusCode != 200 || res.Header.Get("X-Duration-Seconds") == "" {
		t.Fatalf("through the watchdog: %d %v %s", res.StatusCode, res.Header, b)
	}
	var env map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	fnDir := c.Path("functions", "echo")
	for k, want := range map[string]string{
		"fprocess": "./handler", "mode": "http", "upstream_url": "http://127.0.0.1:8082", "port": "8080",
		"exec_timeout": "1s", "read_timeout": "5s", "write_timeout": "5s", "max_inflight": "4", "prefix_logs": "false",
		"healthcheck_interval": HealthcheckInterval, "TMPDIR": filepath.Join(fnDir, "tmp"), "_CWD": fnDir,
		"SECRETS_DIR": filepath.Join(fnDir, "secrets"),
	} {
		if env[k] != want {
			t.Errorf("env %s=%q, want %q", k, env[k], want)
		}
	}
	if v, ok := env["ARRESTCAST_LISTEN"]; ok {
		t.Errorf("ARRESTCAST_LISTEN=%q: the handler should listen where its image says", v)
	}
	if res, b := get(t, c.GatewayURL+"/function/other/x"); res.StatusCode != 200 || res.Header.Get("X-Duration-Seconds") == "" {
		t.Errorf("the second watchdog: %d %s", res.StatusCode, b)
	}
	// exec_timeout: the watchdog's own 504.
	res, _ = get(t, c.GatewayURL+"/function/echo/sleep/3s")
	if res.StatusCode != http.StatusGatewayTimeout || res.Header.Get("X-OpenFaaS-Internal") != "of-watchdog" {
		t.Errorf("past exec_timeout: %d %v, want of-watchdog's 504", res.StatusCode, res.Header)
	}
	// The handler reaches the host's gateway from its namespace.
	res, b = get(t, c.GatewayURL+"/function/echo/fetch?url="+url.QueryEscape(c.GatewayURL+"/healthz"))
	if res.StatusCode != 200 || string(b) != "200 OK" {
		t.Errorf("the host's gateway from the function: %d %q", res.StatusCode, b)
	}
	// The watchdog's and the handler's lines are in the function's journal.
	log, _ := os.ReadFile(c.Path("logs", "echo.log"))
	for _, want := range []string{"Watchdog mode: http", "listening on :8082"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("echo.log lacks %q:\n%s", want, log)
		}
	}

	// A crashed handler ends its watchdog (log.Fatal); the supervisor brings both back.
	pid := ds.Functions[0].Pid
	get(t, c.GatewayURL+"/function/echo/crash")
	waitFor(t, 20*time.Second, "echo back behind a new watchdog", func() bool {
		s, err := ReadDaemonState(c)
		return err == nil && s.Functions[0].Ready && s.Functions[0].Pid != pid
	})
	if res, _ := get(t, c.GatewayURL+"/function/echo/x"); res.StatusCode != 200 {
		t.Errorf("after the restart: %d", res.StatusCode)
	}
	ds, _ = ReadDaemonState(c)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop")
	}
	for _, f := range ds.Functions {
		if !gone(f.Pid) {
			t.Errorf("watchdog of %s (pid %d) left behind", f.Name, f.Pid)
		}
	}
}

// BenchmarkGatewayCall: one call through the gateway to a function that
// answers at once, with the handler alone on a host port and behind
// of-watchdog in its network namespace (the watchdog's hop and the dial
// into the namespace). go test -run '^$' -bench GatewayCall ./internal/devstack/
func BenchmarkGatewayCall(b *testing.B) {
	for _, mode := range []string{"direct", "watchdog"} {
		b.Run(mode, func(b *testing.B) {
			rt := Runtime{Reason: "benchmark"}
			if mode == "watchdog" {
				wd, err := FindTool(repo.Root(), "OF_WATCHDOG", "of-watchdog", "fwatchdog")
				if err != nil {
					b.Skip(err)
				}
				if err := NetNSAvailable(); err != nil {
					b.Skip(err)
				}
				rt = Runtime{Watchdog: wd}
			}
			c := testRoot(b)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- RunDaemon(ctx, DaemonOptions{Config: c, Runtime: &rt, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
			}()
			defer func() { cancel(); <-done }()
			deadline := time.Now().Add(30 * time.Second)
			for {
				if s, err := ReadDaemonState(c); err == nil && s.Ready {
					break
				}
				if time.Now().After(deadline) {
					b.Fatal("daemon not ready")
				}
				time.Sleep(50 * time.Millisecond)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			u := c.GatewayURL + "/function/echo/status/200"
			b.ResetTimer()
			for range b.N {
				res, err := client.Get(u)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
