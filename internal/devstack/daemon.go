package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// FunctionState is one function as the daemon runs it.
type FunctionState struct {
	ProcState
	Deployed bool   `json:"deployed"`          // built and started
	Problem  string `json:"problem,omitempty"` // why it is not deployed
	URL      string `json:"url,omitempty"`
}

// CronState is one scheduled function.
type CronState struct {
	Function string    `json:"function"`
	Schedule string    `json:"schedule"`
	Next     time.Time `json:"next"`
}

// DaemonState is .dev/daemon.json: the daemon's live view.
type DaemonState struct {
	Pid       int             `json:"pid"`
	Gateway   string          `json:"gateway"`
	Ready     bool            `json:"ready"` // every deployed function answered once
	Functions []FunctionState `json:"functions"`
	Cron      []CronState     `json:"cron"`
	Updated   time.Time       `json:"updated"`
}

// Deployment is a function prepared to run: its "container" folder with
// ./handler and secrets/, its environment and port.
type Deployment struct {
	Info FunctionInfo
	Proc Proc
	Port int
}

// Deploy prepares function name as faasd would run it: the binary faasbuild
// left at build/<fn>/handler copied to dir/handler (the image's ./handler,
// so a rebuild does not pull it from under a running process), its secrets
// mounted in dir/secrets, cwd dir, environment from FunctionEnv.
func Deploy(f *stackfile.File, name, buildDir, dir, secrets string, ep Endpoints, port int, logPath string) (*Deployment, error) {
	fn, ok := f.Functions[name]
	if !ok {
		return nil, fmt.Errorf("no function %q in stack file", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "handler")
	if err := copyExecutable(filepath.Join(buildDir, name, "handler"), bin); err != nil {
		return nil, fmt.Errorf("function %s not built (go run ./cmd/faasbuild verify %s): %w", name, name, err)
	}
	mount := filepath.Join(dir, "secrets")
	if err := MountSecrets(secrets, mount, fn.Secrets); err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	env, err := FunctionEnv(f, name, ep, mount, listen)
	if err != nil {
		return nil, err
	}
	exec, _ := parseDuration(env["exec_timeout"])
	grace := 15 * time.Second
	if wt, err := parseDuration(env["write_timeout"]); err == nil && wt > 0 {
		hc, _ := parseDuration(HealthcheckInterval)
		grace = hc + wt + 2*time.Second
	}
	return &Deployment{
		Info: FunctionInfo{
			Name: name, Image: fn.Image, EnvProcess: env["fprocess"], EnvVars: env,
			Labels: fn.Labels, Annotations: fn.Annotations, Secrets: fn.Secrets, Limits: fn.Limits, Requests: fn.Requests,
			ExecTimeout: exec,
		},
		Proc: Proc{Name: name, Path: bin, Dir: dir, Env: EnvList(env), Log: logPath, Addr: listen, StopGrace: grace},
		Port: port,
	}, nil
}

// parseDuration reads seconds ("60") or a Go duration ("1m5s"), as the template does.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".new"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// DaemonOptions configure RunDaemon.
type DaemonOptions struct {
	Config   *Config
	Logger   *slog.Logger
	BuildDir string        // default Root/build
	Ready    time.Duration // how long functions get to answer at start (default 30 s)
	// GatewayReadTimeout / GatewayWriteTimeout are faasd's gateway
	// read_timeout / write_timeout (60 s): a call longer than that fails here too.
	GatewayReadTimeout, GatewayWriteTimeout time.Duration
	UpstreamTimeout                         time.Duration // faasd: upstream_timeout 65 s
	Only                                    []string      // run only these functions (default: every built one)
}

// RunDaemon is the devstack daemon: one supervisor whose children are the
// function processes, the gateway on OPENFAAS_URL, and the cron-connector's
// schedule. It writes .dev/daemon.json and runs until ctx ends, then stops
// the cron, the async queue, the functions (SIGTERM) and the gateway.
func RunDaemon(ctx context.Context, o DaemonOptions) error {
	c := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if o.BuildDir == "" {
		o.BuildDir = filepath.Join(c.Root, "build")
	}
	if o.Ready <= 0 {
		o.Ready = 30 * time.Second
	}
	if o.GatewayReadTimeout <= 0 {
		o.GatewayReadTimeout = 60 * time.Second
	}
	if o.GatewayWriteTimeout <= 0 {
		o.GatewayWriteTimeout = 60 * time.Second
	}
	f, err := stackfile.Load(c.StackFile, c.Lookup)
	if err != nil {
		return err
	}
	for _, d := range []string{c.Path("logs"), c.Path("functions")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	secrets := c.Path("secrets")
	password, err := ReadSecret(secrets, SecretBasicAuthPassword)
	if err != nil {
		return fmt.Errorf("gateway basic auth: %w", err)
	}
	addr, err := c.GatewayAddr()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s: %w", addr, err)
	}
	defer ln.Close() // on an early return; Shutdown closes it otherwise

	ep := Endpoints{Gateway: c.GatewayURL, MinIO: c.MinIOAddress, Socrata: c.SocrataBaseURL()}
	sup := NewSupervisor(log)
	defer sup.Stop() // no function outlives an early return (Stop is idempotent)
	// daemon.json follows every start, readiness and exit (written below).
	changed := make(chan struct{}, 1)
	sup.OnChange = func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	states := map[string]*FunctionState{}
	var infos []FunctionInfo
	var order []string
	only := map[string]bool{}
	for _, n := range o.Only {
		only[n] = true
	}
	for _, name := range f.Names() {
		order = append(order, name)
		fs := &FunctionState{ProcState: ProcState{Name: name}}
		states[name] = fs
		fn := f.Functions[name]
		info := FunctionInfo{Name: name, Image: fn.Image, Labels: fn.Labels, Annotations: fn.Annotations,
			Secrets: fn.Secrets, Limits: fn.Limits, Requests: fn.Requests}
		if env, err := ImageEnv(f, fn.Lang); err == nil {
			info.EnvProcess = env["fprocess"]
		}
		if len(only) > 0 && !only[name] {
			fs.Problem = "not selected"
			infos = append(infos, info)
			continue
		}
		port, err := FreePort()
		if err != nil {
			return err
		}
		d, err := Deploy(f, name, o.BuildDir, c.Path("functions", name), secrets, ep, port, c.Path("logs", name+".log"))
		if err != nil {
			fs.Problem = err.Error()
			log.Warn("function not deployed", "function", name, "err", err.Error())
			infos = append(infos, info)
			continue
		}
		infos = append(infos, d.Info)
		fs.Deployed, fs.URL, fs.Addr = true, "http://"+d.Proc.Addr, d.Proc.Addr
		if err := sup.Start(d.Proc); err != nil {
			return err
		}
	}

	var mu sync.Mutex
	ready := false
	var cronStates []CronState
	write := func() {
		mu.Lock()
		defer mu.Unlock()
		st := DaemonState{Pid: os.Getpid(), Gateway: c.GatewayURL, Ready: ready, Cron: cronStates, Updated: time.Now().UTC()}
		for _, n := range order {
			fs := *states[n]
			if p, ok := sup.State(n); ok {
				fs.ProcState = p
			}
			st.Functions = append(st.Functions, fs)
		}
		if err := writeJSONFile(c.Path("daemon.json"), st); err != nil {
			log.Error("write daemon.json", "err", err.Error())
		}
	}
	writerDone := make(chan struct{})
	stopWriter := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			select {
			case <-changed:
				write()
			case <-stopWriter:
				return
			}
		}
	}()

	gw := NewGateway(GatewayOptions{
		Functions: infos,
		Upstreams: UpstreamFunc(func(name string) (string, bool) {
			p, ok := sup.State(name)
			return p.Addr, ok && p.Running
		}),
		User: AdminUser, Password: password, UpstreamTimeout: o.UpstreamTimeout, Logger: log.With("component", "gateway"),
	})
	srv := &http.Server{Handler: gw, ReadTimeout: o.GatewayReadTimeout, WriteTimeout: o.GatewayWriteTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("gateway listening", "url", c.GatewayURL)

	jobs, err := CronJobs(f, nil)
	if err != nil {
		log.Warn("cron", "err", err.Error())
	}
	cr, err := NewCron(jobs, CronOptions{Gateway: c.GatewayURL, Logger: log.With("component", "cron-connector")})
	if err != nil {
		return err
	}
	next := NextRuns(jobs, nil, time.Now())
	mu.Lock()
	for _, j := range jobs {
		cronStates = append(cronStates, CronState{Function: j.Function, Schedule: j.Schedule, Next: next[j.Function]})
		log.Info("cron: added function", "function", j.Function, "schedule", j.Schedule, "next", next[j.Function])
	}
	mu.Unlock()
	cr.Start()

	// Ready once every deployed function has answered (or the wait is over).
	rctx, cancel := context.WithTimeout(ctx, o.Ready)
	for _, n := range sup.Names() {
		if err := sup.WaitReady(rctx, n); err != nil {
			log.Warn("function not ready", "function", n, "err", err.Error())
		}
	}
	cancel()
	mu.Lock()
	ready = true
	mu.Unlock()
	write()
	log.Info("devstack ready", "functions", len(sup.Names()))

	select {
	case <-ctx.Done():
	case err := <-served:
		log.Error("gateway stopped", "err", err)
	}
	log.Info("stopping: cron, async queue, functions, gateway")
	cr.Stop()
	gw.Close()
	sup.Stop()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(sctx)
	scancel()
	close(stopWriter)
	<-writerDone
	if err := os.Remove(c.Path("daemon.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("remove daemon.json", "err", err.Error())
	}
	log.Info("devstack stopped")
	return nil
}

// ReadDaemonState reads .dev/daemon.json.
func ReadDaemonState(c *Config) (*DaemonState, error) {
	var st DaemonState
	if err := readJSONFile(c.Path("daemon.json"), &st); err != nil {
		return nil, err
	}
	return &st, nil
}
