package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Runtime is how the daemon runs functions: as their image does, the real
// of-watchdog (mode=http) in front of the handler, each function in a
// network namespace of its own as its container is; or, without the
// watchdog's binary or namespaces, the handler alone on a host port.
type Runtime struct {
	Watchdog string // of-watchdog's path; "" = the handler alone
	Reason   string // why the handler runs alone
}

func (r Runtime) String() string {
	if r.Watchdog != "" {
		return "behind of-watchdog (" + r.Watchdog + "), each in a network namespace of its own, as in their containers"
	}
	return "the handlers run directly, without of-watchdog: " + r.Reason
}

// ChooseRuntime picks the watchdog when its binary is found (FindTool) and
// network namespaces can be made: every of-watchdog binds :8081 for its
// metrics, so two cannot share one network. DEVSTACK_WATCHDOG=off runs the
// handlers alone.
func ChooseRuntime(c *Config) Runtime {
	if c.Get("DEVSTACK_WATCHDOG", "") == "off" {
		return Runtime{Reason: "DEVSTACK_WATCHDOG=off"}
	}
	wd, err := FindTool(c.Root, "OF_WATCHDOG", "of-watchdog", "fwatchdog")
	if err != nil {
		return Runtime{Reason: err.Error()}
	}
	if err := NetNSAvailable(); err != nil {
		return Runtime{Reason: fmt.Sprintf("of-watchdog (%s) needs a network namespace per function, as a container has "+
			"(each binds :8081 for its metrics), and this process cannot make one (run as root on Linux): %v", wd, err)}
	}
	return Runtime{Watchdog: wd}
}

// ToolsHint says where the real OpenFaaS tools come from.
const ToolsHint = "install faas-cli (curl -sLS https://cli.openfaas.com | sh) and of-watchdog (github.com/openfaas/of-watchdog releases), " +
	"or set FAAS_CLI / OF_WATCHDOG to their paths"

// FindTool finds an OpenFaaS tool: the path in the environment variable,
// else the first of names on PATH, else ../shared/bin/<names[0]> beside the
// repository (where this project's machines keep them).
func FindTool(root, variable string, names ...string) (string, error) {
	if p := os.Getenv(variable); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", variable, p, err)
		}
		return filepath.Abs(p)
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return filepath.Abs(p)
		}
	}
	p := filepath.Join(root, "..", "shared", "bin", names[0])
	if _, err := exec.LookPath(p); err == nil {
		return filepath.Abs(p)
	}
	return "", fmt.Errorf("%s not found (%s unset, not on PATH, no %s): %s", names[0], variable, p, ToolsHint)
}

// The ports of a function's container: of-watchdog's, its metrics' (fixed in
// of-watchdog) and the handler's (upstream_url).
const (
	watchdogPort        = 8080
	watchdogMetricsPort = 8081
)

// watchdogProc turns a function's deployment into of-watchdog in front of
// the handler, in a namespace of its own: port, upstream_url and the metrics
// port are the container's unless a forwarded service takes one of them.
func watchdogProc(d *Deployment, wd string, env map[string]string, forwards []string) error {
	taken := map[int]bool{}
	for _, a := range forwards {
		if _, p, err := net.SplitHostPort(a); err == nil {
			n, _ := strconv.Atoi(p)
			taken[n] = true
		}
	}
	if taken[watchdogMetricsPort] {
		return fmt.Errorf("function %s: a service of the stack is on port %d, of-watchdog's metrics port in the function's namespace: move it", d.Info.Name, watchdogMetricsPort)
	}
	port := watchdogPort
	for taken[port] || port == watchdogMetricsPort {
		port++
	}
	taken[port] = true
	up, err := url.Parse(env["upstream_url"])
	if err != nil || up.Host == "" {
		return fmt.Errorf("function %s: upstream_url %q: want http://127.0.0.1:PORT", d.Info.Name, env["upstream_url"])
	}
	upPort, _ := strconv.Atoi(up.Port())
	if taken[upPort] || upPort == watchdogMetricsPort {
		upPort = port + 1
		for taken[upPort] || upPort == watchdogMetricsPort {
			upPort++
		}
		up.Host = net.JoinHostPort(up.Hostname(), strconv.Itoa(upPort))
		env["ARRESTCAST_LISTEN"] = "127.0.0.1:" + strconv.Itoa(upPort)
	}
	env["upstream_url"] = up.String()
	env["port"] = strconv.Itoa(port)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	upstream := up.Host
	d.Proc.Path = wd
	d.Proc.Env = EnvList(env)
	d.Proc.Addr = addr
	d.Info.EnvVars = env
	d.Info.ExecTimeout = 0 // the watchdog enforces exec_timeout itself
	d.Namespaced = true
	d.Proc.Launch = func(cmd *exec.Cmd) (*Spawned, error) {
		ns, err := newNetNS()
		if err != nil {
			return nil, err
		}
		if err := ns.Forward(forwards, nil); err != nil {
			ns.Close()
			return nil, err
		}
		if err := ns.Start(cmd); err != nil {
			ns.Close()
			return nil, err
		}
		return &Spawned{Wait: func() error { defer ns.Close(); return cmd.Wait() }, Dial: ns.Dial}, nil
	}
	// Ready when the watchdog says so (/_/health) and the handler listens.
	d.Proc.Ready = func(ctx context.Context, dial DialFunc) error {
		if err := dialProbe(ctx, dial, upstream); err != nil {
			return fmt.Errorf("handler: %w", err)
		}
		cl := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dial(ctx, network, addr)
		}}, Timeout: 2 * time.Second}
		defer cl.CloseIdleConnections()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/_/health", nil)
		if err != nil {
			return err
		}
		res, err := cl.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return errors.New("of-watchdog /_/health: " + res.Status)
		}
		return nil
	}
	return nil
}

// forwardsFor lists the host addresses a function may reach from its
// namespace: the gateway, MinIO, PostgreSQL, the Socrata stand-in.
func forwardsFor(c *Config) []string {
	var out []string
	gw, _ := c.GatewayAddr()
	for _, a := range []string{gw, c.MinIOAddress, "127.0.0.1:" + strconv.Itoa(c.PostgresPort), c.SocrataAddress} {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
