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
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/shared/config"
)

// FunctionState is one function as the daemon runs it.
type FunctionState struct {
	ProcState
	Deployed   bool   `json:"deployed"`             // built and started
	Problem    string `json:"problem,omitempty"`    // why it is not deployed
	URL        string `json:"url,omitempty"`        // its process, as the gateway reaches it
	Namespaced bool   `json:"namespaced,omitempty"` // Addr is inside its own network namespace
	Version    string `json:"version,omitempty"`    // the code version it runs (its binary's, or CODE_VERSION)
	pinned     bool   // Version is CODE_VERSION's, whatever the binary
}

// ServiceState is one of the stack's services as the daemon runs it.
type ServiceState struct {
	ProcState
	URL string `json:"url,omitempty"`
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
	Ready     bool            `json:"ready"` // every service and deployed function answered once
	Runtime   string          `json:"runtime"`
	Services  []ServiceState  `json:"services,omitempty"`
	Functions []FunctionState `json:"functions"`
	Cron      []CronState     `json:"cron"`
	Updated   time.Time       `json:"updated"`
}

// Down lists the services and deployed functions not serving now.
func (d *DaemonState) Down() []string {
	if d == nil {
		return nil
	}
	var out []string
	for _, s := range d.Services {
		if !s.Running || !s.Ready {
			out = append(out, s.Name)
		}
	}
	for _, f := range d.Functions {
		if f.Deployed && (!f.Running || !f.Ready) {
			out = append(out, f.Name)
		}
	}
	return out
}

// Deployment is a function prepared to run: its "container" folder with
// ./handler, secrets/ and tmp/, its environment and port.
type Deployment struct {
	Info       FunctionInfo
	Proc       Proc
	Namespaced bool   // Proc.Addr is inside the function's own network namespace
	Version    string // the code version it runs: CODE_VERSION, else its binary's (BinaryVersion)
}

// Deploy prepares function name as faasd would run it: the binary faasbuild
// left at build/<fn>/handler copied to dir/handler (the image's ./handler,
// so a rebuild does not pull it from under a running process), its secrets
// mounted in dir/secrets, its own dir/tmp, cwd dir, environment from
// FunctionEnv. With rt.Watchdog the process is of-watchdog (the image's CMD)
// in a network namespace of its own, reaching the host's services through
// forwards; else the handler alone on 127.0.0.1:port.
func Deploy(f *stackfile.File, name, buildDir, dir, secrets string, ep Endpoints, port int, logPath string, rt Runtime, forwards []string) (*Deployment, error) {
	fn, ok := f.Functions[name]
	if !ok {
		return nil, fmt.Errorf("no function %q in stack file", name)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
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
	env["TMPDIR"] = filepath.Join(dir, "tmp") // a container's /tmp is its own (of-watchdog keeps its lock file there)
	execTimeout, _ := parseDuration(env["exec_timeout"])
	grace := 15 * time.Second
	if wt, err := parseDuration(env["write_timeout"]); err == nil && wt > 0 {
		hc, _ := parseDuration(env["healthcheck_interval"])
		grace = hc + wt + 2*time.Second
	}
	d := &Deployment{
		Info: FunctionInfo{
			Name: name, Image: fn.Image, EnvProcess: env["fprocess"], EnvVars: env,
			Labels: fn.Labels, Annotations: fn.Annotations, Secrets: fn.Secrets, Limits: fn.Limits, Requests: fn.Requests,
			ExecTimeout: execTimeout, Deployed: true,
		},
		Proc:    Proc{Name: name, Path: bin, Dir: dir, Env: EnvList(env), Log: logPath, Addr: listen, StopGrace: grace},
		Version: env["CODE_VERSION"], // shared/config prefers it to the stamped one
	}
	if d.Version == "" {
		d.Version = BinaryVersion(bin)
	}
	if rt.Watchdog != "" {
		delete(env, "ARRESTCAST_LISTEN") // the handler listens where its image says: upstream_url
		if err := watchdogProc(d, rt.Watchdog, env, forwards); err != nil {
			return nil, err
		}
	}
	return d, nil
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
	// Services are supervised beside the functions (StackServices; none in
	// tests of the gateway and functions alone).
	Services     []ServiceSpec
	ServiceReady time.Duration // how long a service gets to serve at start (default 2 min)
	Runtime      *Runtime      // default ChooseRuntime
}

// RunDaemon is the devstack daemon: one supervisor whose children are the
// services (PostgreSQL, the Socrata stand-in, MinIO) and the function
// processes, the gateway on OPENFAAS_URL, and the cron-connector's schedule.
// It writes .dev/daemon.json and runs until ctx ends, then stops the cron,
// the async queue, every process and the gateway. SIGUSR1 restarts at once
// whatever waits out its restart backoff.
func RunDaemon(ctx context.Context, o DaemonOptions) error {
	o = o.withDefaults()
	c := o.Config
	rt := daemonRuntime(o)
	f, password, err := openStack(c)
	if err != nil {
		return err
	}
	ln, err := listenGateway(c)
	if err != nil {
		return err
	}
	defer ln.Close() // on an early return; Shutdown closes it otherwise

	d := newDaemon(o, rt)
	defer d.sup.Stop() // nothing outlives an early return (Stop is idempotent)
	redeploySig, stopSignals := d.catchSignals()
	defer stopSignals()
	stopWriting := d.startWriter()
	defer stopWriting()

	// Services the functions need (PostgreSQL, the stand-in) first.
	if err := d.startServices(ctx, false); err != nil {
		return err
	}
	infos, err := d.deployFunctions(f)
	if err != nil {
		return err
	}
	go d.redeployOn(redeploySig)
	gw, srv, served := d.serveGateway(ln, infos, password)
	cr, err := d.startCron(f)
	if err != nil {
		return err
	}
	// MinIO once the gateway serves its webhook targets' probes.
	if err := d.startServices(ctx, true); err != nil {
		d.shutdown(cr, gw, srv)
		return err
	}
	d.waitFunctionsReady(ctx)

	select {
	case <-ctx.Done():
	case err := <-served:
		d.log.Error("gateway stopped", "err", err)
	}
	d.shutdown(cr, gw, srv)
	stopWriting()
	d.removeState()
	return nil
}

// withDefaults fills in what the options leave unset, so the daemon's steps
// read one complete set.
func (o DaemonOptions) withDefaults() DaemonOptions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if o.BuildDir == "" {
		o.BuildDir = filepath.Join(o.Config.Root, "build")
	}
	if o.Ready <= 0 {
		o.Ready = 30 * time.Second
	}
	if o.ServiceReady <= 0 {
		o.ServiceReady = 2 * time.Minute
	}
	if o.GatewayReadTimeout <= 0 {
		o.GatewayReadTimeout = 60 * time.Second
	}
	if o.GatewayWriteTimeout <= 0 {
		o.GatewayWriteTimeout = 60 * time.Second
	}
	return o
}

// daemonRuntime is how the functions run: the options' Runtime, else what
// the machine allows (ChooseRuntime). It is logged, as it decides how a
// function's process looks.
func daemonRuntime(o DaemonOptions) Runtime {
	rt := ChooseRuntime(o.Config)
	if o.Runtime != nil {
		rt = *o.Runtime
	}
	o.Logger.Info("functions: "+rt.String(), "watchdog", rt.Watchdog)
	return rt
}

// openStack reads what the daemon needs before it starts anything: the
// stack file, the folders for logs and function copies, and the gateway's
// basic auth password, so a broken setup fails before any process runs.
func openStack(c *Config) (*stackfile.File, string, error) {
	f, err := stackfile.Load(c.StackFile, c.Lookup)
	if err != nil {
		return nil, "", err
	}
	for _, d := range []string{c.Path("logs"), c.Path("functions")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", err
		}
	}
	password, err := ReadSecret(c.Path("secrets"), SecretBasicAuthPassword)
	if err != nil {
		return nil, "", fmt.Errorf("gateway basic auth: %w", err)
	}
	return f, password, nil
}

// listenGateway takes the gateway's port first: a second daemon (or another
// program on OPENFAAS_URL) fails here, before it starts any service.
func listenGateway(c *Config) (net.Listener, error) {
	addr, err := c.GatewayAddr()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// daemon is what RunDaemon's steps share: the supervisor and the view of
// the functions, cron and readiness that daemon.json reports.
type daemon struct {
	c   *Config
	o   DaemonOptions
	log *slog.Logger
	rt  Runtime
	sup *Supervisor

	mu         sync.Mutex // daemon.json's writer reads the fields below
	ready      bool
	cronStates []CronState
	states     map[string]*FunctionState
	order      []string
}

func newDaemon(o DaemonOptions, rt Runtime) *daemon {
	return &daemon{c: o.Config, o: o, log: o.Logger, rt: rt, sup: NewSupervisor(o.Logger), states: map[string]*FunctionState{}}
}

// catchSignals has SIGUSR1 kick the supervisor from now on. SIGUSR2 (make
// dev after a rebuild) is handled once the functions are deployed
// (redeployOn); caught from the start so it never kills the daemon.
func (d *daemon) catchSignals() (redeploy <-chan os.Signal, stop func()) {
	kick := make(chan os.Signal, 1)
	signal.Notify(kick, syscall.SIGUSR1)
	go func() {
		for range kick {
			d.log.Info("SIGUSR1: restarting what is down now")
			d.sup.Kick()
		}
	}()
	redeploySig := make(chan os.Signal, 1)
	signal.Notify(redeploySig, syscall.SIGUSR2)
	return redeploySig, func() {
		signal.Stop(redeploySig)
		signal.Stop(kick)
	}
}

// redeployOn redeploys the functions built anew at each SIGUSR2.
func (d *daemon) redeployOn(sig <-chan os.Signal) {
	for range sig {
		d.log.Info("SIGUSR2: redeploying the functions built anew")
		redeployBuilt(d.c, d.o.BuildDir, d.sup, &d.mu, d.order, d.states, d.log)
		d.writeState()
	}
}

// startWriter has daemon.json follow every start, readiness and exit the
// supervisor reports. The returned stop waits for the last write; it may be
// called more than once.
func (d *daemon) startWriter() (stop func()) {
	changed := make(chan struct{}, 1)
	d.sup.OnChange = func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	writerDone := make(chan struct{})
	stopWriter := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			select {
			case <-changed:
				d.writeState()
			case <-stopWriter:
				return
			}
		}
	}()
	return sync.OnceFunc(func() {
		close(stopWriter)
		<-writerDone
	})
}

// writeState writes daemon.json: the supervisor's live view of each service
// and function over what the daemon knows of them.
func (d *daemon) writeState() {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := DaemonState{Pid: os.Getpid(), Gateway: d.c.GatewayURL, Ready: d.ready, Runtime: d.rt.String(), Cron: d.cronStates, Updated: time.Now().UTC()}
	for _, s := range d.o.Services {
		ss := ServiceState{ProcState: ProcState{Name: s.Proc.Name, Addr: s.Proc.Addr}, URL: s.URL}
		if p, ok := d.sup.State(s.Proc.Name); ok {
			ss.ProcState = p
		}
		st.Services = append(st.Services, ss)
	}
	for _, n := range d.order {
		fs := *d.states[n]
		if p, ok := d.sup.State(n); ok {
			fs.ProcState = p
		}
		st.Functions = append(st.Functions, fs)
	}
	if err := writeJSONFile(d.c.Path("daemon.json"), st); err != nil {
		d.log.Error("write daemon.json", "err", err.Error())
	}
}

// removeState removes daemon.json once everything stopped: its absence says
// no daemon runs.
func (d *daemon) removeState() {
	if err := os.Remove(d.c.Path("daemon.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.log.Warn("remove daemon.json", "err", err.Error())
	}
	d.log.Info("devstack stopped")
}

// startServices starts the services that come before the gateway (after
// false) or after it (after true) and waits until each serves, with its
// log's tail in the error of one that does not.
func (d *daemon) startServices(ctx context.Context, after bool) error {
	var started []string
	for _, s := range d.o.Services {
		if s.AfterGateway != after {
			continue
		}
		if err := d.sup.Start(s.Proc); err != nil {
			return err
		}
		started = append(started, s.Proc.Name)
	}
	sctx, cancel := context.WithTimeout(ctx, d.o.ServiceReady)
	defer cancel()
	for _, n := range started {
		if err := d.sup.WaitReady(sctx, n); err != nil {
			return fmt.Errorf("service %s: %w\n%s", n, err, Tail(d.c.Path("logs", n+".log"), 15))
		}
		d.log.Info("service ready", "service", n)
	}
	return nil
}

// deployFunctions deploys and starts each selected function of f in the
// stack file's order. One that cannot be deployed is listed with its
// problem and the others still run. It returns what the gateway lists.
func (d *daemon) deployFunctions(f *stackfile.File) ([]FunctionInfo, error) {
	ep := Endpoints{Gateway: d.c.GatewayURL, MinIO: d.c.MinIOAddress, Socrata: d.c.SocrataBaseURL()}
	forwards := forwardsFor(d.c)
	only := map[string]bool{}
	for _, n := range d.o.Only {
		only[n] = true
	}
	var infos []FunctionInfo
	d.mu.Lock() // daemon.json's writer reads order and states
	defer d.mu.Unlock()
	for _, name := range f.Names() {
		d.order = append(d.order, name)
		fs := &FunctionState{ProcState: ProcState{Name: name}}
		d.states[name] = fs
		info := listedInfo(f, name)
		if len(only) > 0 && !only[name] {
			fs.Problem = "not selected"
			infos = append(infos, info)
			continue
		}
		info, err := d.deployFunction(f, name, fs, info, ep, forwards)
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// listedInfo is how the gateway lists a function it does not run: what the
// stack file says of it.
func listedInfo(f *stackfile.File, name string) FunctionInfo {
	fn := f.Functions[name]
	info := FunctionInfo{Name: name, Image: fn.Image, Labels: fn.Labels, Annotations: fn.Annotations,
		Secrets: fn.Secrets, Limits: fn.Limits, Requests: fn.Requests}
	if env, err := ImageEnv(f, fn.Lang); err == nil {
		info.EnvProcess = env["fprocess"]
	}
	return info
}

// deployFunction deploys function name and starts it under the supervisor,
// filling in fs. A function that cannot be deployed keeps its listed info
// and its problem in fs; only a failure to start stops the daemon.
func (d *daemon) deployFunction(f *stackfile.File, name string, fs *FunctionState, listed FunctionInfo, ep Endpoints, forwards []string) (FunctionInfo, error) {
	port, err := FreePort()
	if err != nil {
		return FunctionInfo{}, err
	}
	dep, err := Deploy(f, name, d.o.BuildDir, d.c.Path("functions", name), d.c.Path("secrets"), ep, port, d.c.Path("logs", name+".log"), d.rt, forwards)
	if err != nil {
		fs.Problem = err.Error()
		d.log.Warn("function not deployed", "function", name, "err", err.Error())
		return listed, nil
	}
	fs.Deployed, fs.URL, fs.Addr, fs.Namespaced = true, "http://"+dep.Proc.Addr, dep.Proc.Addr, dep.Namespaced
	fs.Version, fs.pinned = dep.Version, dep.Info.EnvVars["CODE_VERSION"] != ""
	if err := d.sup.Start(dep.Proc); err != nil {
		return FunctionInfo{}, err
	}
	return dep.Info, nil
}

// serveGateway serves the gateway on ln, routing each function to its
// supervised process while it runs. served receives Serve's end.
func (d *daemon) serveGateway(ln net.Listener, infos []FunctionInfo, password string) (gw *Gateway, srv *http.Server, served <-chan error) {
	c, log := d.c, d.log
	gw = NewGateway(GatewayOptions{
		Functions: infos,
		Upstreams: UpstreamFunc(func(name string) (Replica, bool) {
			p, ok := d.sup.State(name)
			if !ok || !p.Running {
				return Replica{}, false
			}
			dial, _ := d.sup.Dialer(name)
			return Replica{Addr: p.Addr, Dial: dial, Started: p.Since}, true
		}),
		User: AdminUser, Password: password, UpstreamTimeout: d.o.UpstreamTimeout, Logger: log.With("component", "gateway"),
		Journal:    func(name string) string { return c.Path("logs", name+".log") },
		SecretsDir: c.Path("secrets"), Reserved: []string{SecretBasicAuthUser, SecretBasicAuthPassword},
		Provider: ProviderInfo{Name: "arrestcast-devstack", Orchestration: "local processes: " + d.rt.String()},
		Version:  codeVersion(c.Root),
	})
	srv = &http.Server{Handler: gw, ReadTimeout: d.o.GatewayReadTimeout, WriteTimeout: d.o.GatewayWriteTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("gateway listening", "url", c.GatewayURL)
	return gw, srv, done
}

// startCron starts the cron-connector on the stack file's schedules; one
// the connector would skip is logged and left out, the others still fire.
func (d *daemon) startCron(f *stackfile.File) (*Cron, error) {
	jobs, err := CronJobs(f, nil)
	if err != nil {
		d.log.Warn("cron", "err", err.Error())
	}
	cr, err := NewCron(jobs, CronOptions{Gateway: d.c.GatewayURL, Logger: d.log.With("component", "cron-connector")})
	if err != nil {
		return nil, err
	}
	next := NextRuns(jobs, nil, time.Now())
	d.mu.Lock()
	for _, j := range jobs {
		d.cronStates = append(d.cronStates, CronState{Function: j.Function, Schedule: j.Schedule, Next: next[j.Function]})
		d.log.Info("cron: added function", "function", j.Function, "schedule", j.Schedule, "next", next[j.Function])
	}
	d.mu.Unlock()
	cr.Start()
	return cr, nil
}

// waitFunctionsReady marks the daemon ready once every deployed function
// has answered, or the Ready wait is over: a function slow to start is
// logged, not fatal.
func (d *daemon) waitFunctionsReady(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, d.o.Ready)
	for _, n := range d.sup.Names() {
		if err := d.sup.WaitReady(rctx, n); err != nil {
			d.log.Warn("function not ready", "function", n, "err", err.Error())
		}
	}
	cancel()
	d.mu.Lock()
	d.ready = true
	d.mu.Unlock()
	d.writeState()
	d.log.Info("devstack ready", "functions", len(d.order), "services", len(d.o.Services))
}

// shutdown stops in the order that loses nothing: no new cron calls, the
// async call in flight finished, then the processes, the HTTP server last.
func (d *daemon) shutdown(cr *Cron, gw *Gateway, srv *http.Server) {
	d.log.Info("stopping: cron, async queue, functions, services, gateway")
	cr.Stop()
	gw.Close()
	d.sup.Stop()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv.Shutdown(sctx)
	scancel()
}

// NewerBuild reports whether function name's build (buildDir/<name>/handler)
// is newer than the copy it runs from (.dev/functions/<name>/handler, which
// Deploy writes after the build): it needs redeploying.
func NewerBuild(c *Config, buildDir, name string) bool {
	src, err := os.Stat(filepath.Join(buildDir, name, "handler"))
	if err != nil {
		return false
	}
	dst, err := os.Stat(c.Path("functions", name, "handler"))
	return err != nil || src.ModTime().After(dst.ModTime())
}

// redeployBuilt copies each deployed function's newer build (NewerBuild)
// over the copy it runs from and restarts it; its state takes the new
// binary's version. The others keep running.
func redeployBuilt(c *Config, buildDir string, sup *Supervisor, mu *sync.Mutex, order []string, states map[string]*FunctionState, log *slog.Logger) {
	mu.Lock()
	var names []string
	for _, n := range order {
		fs := states[n]
		if !fs.Deployed || !NewerBuild(c, buildDir, n) {
			continue
		}
		dst := c.Path("functions", n, "handler")
		if err := copyExecutable(filepath.Join(buildDir, n, "handler"), dst); err != nil {
			log.Error("redeploy", "function", n, "err", err.Error())
			continue
		}
		if !fs.pinned {
			fs.Version = BinaryVersion(dst)
		}
		log.Info("function redeployed", "function", n, "version", fs.Version)
		names = append(names, n)
	}
	mu.Unlock()
	for _, n := range names {
		if err := sup.Restart(n); err != nil {
			log.Error("restart", "function", n, "err", err.Error())
		}
	}
}

// codeVersion is the repository's commit (git), or config.Version.
func codeVersion(root string) VersionInfo {
	v := VersionInfo{Release: config.Version, SHA: config.Version}
	out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%H%n%s").Output()
	if err != nil {
		return v
	}
	sha, msg, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if sha != "" {
		v.SHA, v.CommitMessage = sha, msg
		if v.Release == "dev" {
			v.Release = "dev-" + sha[:min(12, len(sha))]
		}
	}
	return v
}

// ReadDaemonState reads .dev/daemon.json.
func ReadDaemonState(c *Config) (*DaemonState, error) {
	var st DaemonState
	if err := readJSONFile(c.Path("daemon.json"), &st); err != nil {
		return nil, err
	}
	return &st, nil
}
