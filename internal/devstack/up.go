package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arrestcast/arrestcast/internal/faasbuild"
	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
)

// Service is one of the stack's processes.
type Service struct {
	ProcRef        // as `up` saw it; daemon.json has the live one
	Addr    string `json:"addr,omitempty"`
	URL     string `json:"url,omitempty"`
	Log     string `json:"log,omitempty"`
}

// PostgresService is the private cluster.
type PostgresService struct {
	Service
	Data     string `json:"data"`
	Database string `json:"database"`
	RunAs    string `json:"run_as,omitempty"`
}

// StackState is .dev/stack.json: what `up` started, for `down`, `status`,
// `logs`, `invoke` and an end-to-end test. The daemon supervises every
// process; its live view (pids after restarts, readiness) is daemon.json.
type StackState struct {
	Started   time.Time        `json:"started"`
	Root      string           `json:"root"`
	Gateway   Service          `json:"gateway"` // served by the daemon
	Auth      GatewayAuth      `json:"gateway_auth"`
	Daemon    *Service         `json:"daemon,omitempty"`
	MinIO     *Service         `json:"minio,omitempty"`
	Console   string           `json:"minio_console,omitempty"`
	Postgres  *PostgresService `json:"postgres,omitempty"`
	Socrata   *Service         `json:"socrata,omitempty"`
	Functions []FunctionState  `json:"functions"`
	Cron      []CronState      `json:"cron"`
	Secrets   string           `json:"secrets"`
	Runtime   string           `json:"runtime"` // how functions run (of-watchdog or the handler alone)
}

// GatewayAuth says where the gateway's basic auth credentials are.
type GatewayAuth struct {
	User         string `json:"user"`
	PasswordFile string `json:"password_file"`
}

// ErrAlreadyUp is returned by Up when the stack already runs (after it
// brought back whatever was down).
var ErrAlreadyUp = errors.New("the local stack is already up")

// ReadStackState reads .dev/stack.json.
func ReadStackState(c *Config) (*StackState, error) {
	var st StackState
	if err := readJSONFile(c.Path("stack.json"), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// UpOptions configure Up.
type UpOptions struct {
	Out io.Writer
	// DaemonBin is an executable that runs RunDaemon for `daemon -root DIR`
	// (cmd/devstack); default: the running executable. It is copied to
	// .dev/bin/devstack first (go run deletes its own binary on exit).
	DaemonBin string
	NoBuild   bool          // do not build stale functions first
	Wait      time.Duration // how long the daemon may take to be ready (default 3 min)
}

// Up starts the stack in the background: it prepares PostgreSQL's cluster,
// the secrets, the functions' builds and the Socrata stand-in, then starts
// the daemon, which supervises everything: PostgreSQL, the stand-in, the
// gateway and functions, the cron, then MinIO (it probes its webhook targets
// on the gateway as it starts). On a stack already up it has the daemon
// rebuild the functions whose code changed (refresh) and restart them, and
// restart at once whatever is down, waits until everything serves, and
// returns ErrAlreadyUp.
func Up(ctx context.Context, c *Config, o UpOptions) (*StackState, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.Wait <= 0 {
		o.Wait = 3 * time.Minute
	}
	if st, running, err := upAgain(ctx, c, out, o); running || err != nil {
		return st, err
	}
	f, err := stackfile.Load(c.StackFile, c.Lookup)
	if err != nil {
		return nil, err
	}
	gwAddr, err := checkPortsFree(c)
	if err != nil {
		return nil, err
	}
	pg, pgPassword, err := prepareServices(ctx, c, out)
	if err != nil {
		return nil, err
	}
	if !o.NoBuild {
		if err := BuildFunctions(ctx, c, f, out); err != nil {
			return nil, err
		}
	}

	// The daemon: every service, the gateway, the functions, the cron.
	d, err := startDaemon(ctx, c, o.DaemonBin)
	if err != nil {
		return nil, err
	}
	ds, err := waitDaemon(ctx, c, d, o.Wait)
	if err != nil {
		_ = d.Ref.Stop(90 * time.Second)
		return nil, err
	}
	st := upState(c, d, ds, gwAddr, pg, pgPassword, out)
	if err := writeJSONFile(c.Path("stack.json"), st); err != nil {
		_ = d.Ref.Stop(90 * time.Second)
		return nil, fmt.Errorf("write stack.json: %w", err)
	}
	return st, nil
}

// upAgain is Up where stack.json names an earlier stack. One still running
// is refreshed and revived (running, with revive's ErrAlreadyUp); a dead
// one's leftovers are cleaned up so that Up starts afresh.
func upAgain(ctx context.Context, c *Config, out io.Writer, o UpOptions) (st *StackState, running bool, err error) {
	st, err = ReadStackState(c)
	if err != nil {
		return nil, false, nil // no earlier stack
	}
	if st.Daemon != nil && st.Daemon.Alive() {
		if err := refresh(ctx, c, st, out, o); err != nil {
			return st, true, err
		}
		return st, true, revive(ctx, c, st, out, o.Wait)
	}
	fmt.Fprintln(out, "stack.json names a stack that no longer runs: cleaning it up first")
	if err := Down(ctx, c, out); err != nil {
		return nil, false, fmt.Errorf("clean up the previous stack: %w", err)
	}
	return nil, false, nil
}

// checkPortsFree fails, naming the setting to change, when a port the stack
// needs is taken: better now than a service failing inside the daemon. It
// returns the gateway's address.
func checkPortsFree(c *Config) (gwAddr string, err error) {
	gwAddr, _ = c.GatewayAddr()
	ports := map[string]string{"gateway (OPENFAAS_URL)": gwAddr, "MinIO (MINIO_ADDRESS)": c.MinIOAddress,
		"MinIO console (MINIO_CONSOLE_ADDRESS)": c.MinIOConsoleAddress, "PostgreSQL (POSTGRES_PORT)": "127.0.0.1:" + strconv.Itoa(c.PostgresPort)}
	if StandinAvailable(c) {
		ports["Socrata stand-in (SOCRATA_ADDRESS)"] = c.SocrataAddress
	}
	for _, what := range sortedKeys(ports) {
		if !PortFree(ports[what]) {
			return "", fmt.Errorf("%s: %s is already in use by another program: stop it or change the port in .env", what, ports[what])
		}
	}
	return gwAddr, nil
}

// prepareServices readies on disk what the daemon's services start from,
// so the daemon only starts processes: the .dev folders, PostgreSQL's
// cluster and the secrets (preparePostgres), MinIO's folders and the
// Socrata stand-in's binary when its data is there.
func prepareServices(ctx context.Context, c *Config, out io.Writer) (*Postgres, string, error) {
	for _, d := range []string{c.Dev, c.Path("logs"), c.Path("functions"), c.Path("bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", err
		}
	}
	pg, pgPassword, err := preparePostgres(ctx, c, out)
	if err != nil {
		return nil, "", err
	}
	if err := PrepareMinIO(c); err != nil {
		return nil, "", err
	}
	if StandinAvailable(c) {
		if err := BuildStandin(ctx, c); err != nil {
			return nil, "", err
		}
	} else {
		fmt.Fprintf(out, "socrata stand-in: not started: %s does not exist yet, so download cannot fetch data\n", StandinSource(c))
	}
	return pg, pgPassword, nil
}

// preparePostgres writes the secrets (DATABASE_URL needs the cluster's
// password), creates PostgreSQL's cluster on the first Up and makes its
// folders, so the daemon only starts the server.
func preparePostgres(ctx context.Context, c *Config, out io.Writer) (*Postgres, string, error) {
	pg, err := NewPostgres(c.Path("pg"), c.Path("logs", "postgres.log"), c.PostgresPort)
	if err != nil {
		return nil, "", err
	}
	pgPassword, err := postgresPassword(c, pg)
	if err != nil {
		return nil, "", err
	}
	if err := WriteSecrets(c.Path("secrets"), SecretValues(c, pg.URL(pgPassword, pg.Database))); err != nil {
		return nil, "", err
	}
	if !pg.Initialized() {
		fmt.Fprintf(out, "postgres: creating the cluster in %s (as user %s)\n", pg.DataDir(), orSelf(pg.RunAs))
		if err := pg.Init(ctx, pgPassword); err != nil {
			return nil, "", err
		}
	}
	if err := pg.Prepare(); err != nil {
		return nil, "", err
	}
	return pg, pgPassword, nil
}

// upState is stack.json for the daemon d now ready (ds), and it tells out
// where each service serves. The database URL is redacted: the secret holds it.
func upState(c *Config, d *Detached, ds *DaemonState, gwAddr string, pg *Postgres, pgPassword string, out io.Writer) *StackState {
	st := &StackState{
		Started: time.Now().UTC(), Root: c.Root,
		Gateway: Service{ProcRef: d.Ref, Addr: gwAddr, URL: c.GatewayURL, Log: c.Path("logs", "devstack.log")},
		Auth:    GatewayAuth{User: AdminUser, PasswordFile: c.Path("secrets", SecretBasicAuthPassword)},
		Daemon:  &Service{ProcRef: d.Ref, Addr: gwAddr, URL: c.GatewayURL, Log: c.Path("logs", "devstack.log")},
		Secrets: c.Path("secrets"), Functions: ds.Functions, Cron: ds.Cron, Runtime: ds.Runtime,
	}
	for _, s := range ds.Services {
		svc := &Service{ProcRef: RefOf(s.Pid), Addr: s.Addr, URL: s.URL, Log: c.Path("logs", s.Name+".log")}
		switch s.Name {
		case ServicePostgres:
			svc.URL = redactURL(pg.URL(pgPassword, pg.Database))
			st.Postgres = &PostgresService{Service: *svc, Data: pg.DataDir(), Database: pg.Database, RunAs: pg.RunAs}
			fmt.Fprintf(out, "postgres: %s (database %s; the full URL is the secret %s)\n", s.Addr, pg.Database, config.SecretDatabaseURL)
		case ServiceSocrata:
			st.Socrata = svc
			fmt.Fprintf(out, "socrata stand-in: %s (2017 crimes, police stations)\n", s.URL)
		case ServiceMinIO:
			st.MinIO = svc
			st.Console = "http://" + c.MinIOConsoleAddress
			fmt.Fprintf(out, "minio: %s (console %s), webhook targets for %d chained functions\n", s.URL, st.Console, len(chain.Evented()))
		}
	}
	fmt.Fprintf(out, "functions: %s\n", ds.Runtime)
	return st
}

// refresh is Up on a running stack whose functions' code changed: the
// functions OutdatedFunctions names are rebuilt (unless NoBuild), then every
// deployed function with a build newer than the copy it runs from is
// redeployed and restarted by the daemon (SIGUSR2), and waited for.
func refresh(ctx context.Context, c *Config, st *StackState, out io.Writer, o UpOptions) error {
	ds, err := ReadDaemonState(c)
	if err != nil {
		return nil // revive says what is wrong
	}
	if !o.NoBuild {
		f, err := stackfile.Load(c.StackFile, c.Lookup)
		if err != nil {
			return err
		}
		names, err := OutdatedFunctions(ctx, c, f, RunningVersions(ds))
		if err != nil {
			return err
		}
		if len(names) > 0 {
			fmt.Fprintf(out, "the stack is up, but the code of %s changed: rebuilding\n", strings.Join(names, ", "))
			if err := buildNamed(ctx, c, names, out); err != nil {
				return err
			}
		}
	}
	buildDir := filepath.Join(c.Root, "build")
	var fresh []string
	for _, fn := range ds.Functions {
		switch {
		case fn.Deployed && NewerBuild(c, buildDir, fn.Name):
			fresh = append(fresh, fn.Name)
		case !fn.Deployed && fn.Problem != "not selected" && NewerBuild(c, buildDir, fn.Name):
			fmt.Fprintf(out, "%s is built now but was not deployed at start: make dev-down dev deploys it\n", fn.Name)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	fmt.Fprintf(out, "redeploying %s (new builds): restarting them\n", strings.Join(fresh, ", "))
	signaled := time.Now()
	if err := syscall.Kill(st.Daemon.Pid, syscall.SIGUSR2); err != nil {
		return fmt.Errorf("have the daemon (pid %d) redeploy: %w", st.Daemon.Pid, err)
	}
	deadline := time.Now().Add(o.Wait)
	for {
		ds, err := ReadDaemonState(c)
		var waiting []string
		versions := map[string]string{}
		for _, n := range fresh {
			var fs *FunctionState
			if err == nil {
				for i := range ds.Functions {
					if ds.Functions[i].Name == n {
						fs = &ds.Functions[i]
					}
				}
			}
			if fs == nil || !fs.Ready || !fs.Since.After(signaled) {
				waiting = append(waiting, n)
				continue
			}
			versions[n] = fs.Version
		}
		if len(waiting) == 0 {
			for _, n := range fresh {
				fmt.Fprintf(out, "restarted: %s (version %s)\n", n, orDash(ShortVersion(versions[n])))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not back after the redeploy in %s: %s (make logs FN=<name> says why)", o.Wait, strings.Join(waiting, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// revive is Up on a running stack: whatever is down is restarted now
// (SIGUSR1 cuts the daemon's backoff short) and waited for.
func revive(ctx context.Context, c *Config, st *StackState, out io.Writer, wait time.Duration) error {
	ds, err := ReadDaemonState(c)
	if err != nil {
		return fmt.Errorf("read daemon.json: %w", err)
	}
	down := ds.Down()
	if len(down) == 0 {
		return ErrAlreadyUp
	}
	fmt.Fprintf(out, "down: %s: restarting now\n", strings.Join(down, ", "))
	if err := syscall.Kill(st.Daemon.Pid, syscall.SIGUSR1); err != nil {
		return fmt.Errorf("wake the daemon (pid %d): %w", st.Daemon.Pid, err)
	}
	deadline := time.Now().Add(wait)
	for {
		if ds, err := ReadDaemonState(c); err == nil && len(ds.Down()) == 0 {
			fmt.Fprintf(out, "back: %s\n", strings.Join(down, ", "))
			return ErrAlreadyUp
		}
		if time.Now().After(deadline) {
			ds, _ := ReadDaemonState(c)
			return fmt.Errorf("still down after %s: %s (make logs FN=<name> says why)", wait, strings.Join(ds.Down(), ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func orSelf(u string) string {
	if u == "" {
		return "the current user"
	}
	return u
}

// postgresPassword is the cluster's password: the one in the existing
// database-URL secret for an existing cluster, a new one for a new cluster.
func postgresPassword(c *Config, pg *Postgres) (string, error) {
	if !pg.Initialized() {
		return randomHex(16), nil
	}
	if pw, err := postgresSecretPassword(c); err == nil {
		return pw, nil
	}
	return "", fmt.Errorf("postgres: the cluster in %s exists but its password (secret %s) is gone: remove %s to start afresh",
		pg.DataDir(), config.SecretDatabaseURL, pg.Dir)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Redacted()
}

func startDaemon(ctx context.Context, c *Config, bin string) (*Detached, error) {
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("daemon: %w", err)
		}
		bin = exe
	}
	dst := c.Path("bin", "devstack")
	if abs, _ := filepath.Abs(bin); abs != dst {
		if err := copyExecutable(bin, dst); err != nil {
			return nil, fmt.Errorf("daemon: copy %s: %w", bin, err)
		}
	}
	_ = os.Remove(c.Path("daemon.json"))
	// The daemon reads .env and this environment itself (so OPENFAAS_URL=...
	// make dev works); the functions get only what stack.yml gives them.
	d, err := StartDetached(c.Path("logs", "devstack.log"), c.Root, os.Environ(), nil, dst, "daemon", "-root", c.Root)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return d, nil
}

func waitDaemon(ctx context.Context, c *Config, d *Detached, timeout time.Duration) (*DaemonState, error) {
	deadline := time.Now().Add(timeout)
	for {
		if ds, err := ReadDaemonState(c); err == nil && ds.Ready && ds.Pid == d.Ref.Pid {
			return ds, nil
		}
		select {
		case err := <-d.Exited:
			return nil, fmt.Errorf("daemon exited at start: %v\n%s", err, Tail(c.Path("logs", "devstack.log"), 15))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("daemon not ready after %s (log: %s)", timeout, c.Path("logs", "devstack.log"))
		}
	}
}

// Down stops the stack: the daemon, which stops what it supervises
// (functions after healthcheck_interval, MinIO, the stand-in, PostgreSQL with
// its fast shutdown), and adopted ones too; then whatever of this stack still
// holds one of its ports (a service restarted by hand the daemon had not
// adopted yet, a PostgreSQL left by a crash) is stopped; every port must be
// free. It removes stack.json and daemon.json.
func Down(ctx context.Context, c *Config, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	st, stErr := ReadStackState(c)
	ds, _ := ReadDaemonState(c)
	if stErr != nil && !errors.Is(stErr, fs.ErrNotExist) {
		return stErr
	}
	var problems []string
	gwAddr, _ := c.GatewayAddr()
	ports := []string{gwAddr, c.MinIOAddress, c.MinIOConsoleAddress, "127.0.0.1:" + strconv.Itoa(c.PostgresPort)}
	if StandinAvailable(c) {
		ports = append(ports, c.SocrataAddress)
	}
	if ds != nil {
		for _, fn := range ds.Functions {
			if fn.Addr != "" && !fn.Namespaced {
				ports = append(ports, fn.Addr)
			}
		}
	}

	// The daemon, from stack.json or, after a crash of `up`, daemon.json.
	var daemon *ProcRef
	switch {
	case st != nil && st.Daemon != nil:
		daemon = &st.Daemon.ProcRef
	case ds != nil && cmdlineHas(ds.Pid, "daemon"):
		r := RefOf(ds.Pid)
		daemon = &r
	}
	if daemon != nil && daemon.Alive() {
		fmt.Fprintf(out, "stopping the daemon (pid %d): functions, gateway, cron, minio, the stand-in, postgres\n", daemon.Pid)
		if err := daemon.Stop(120 * time.Second); err != nil {
			problems = append(problems, "daemon: "+err.Error())
		}
	}
	if pg, err := NewPostgres(c.Path("pg"), c.Path("logs", "postgres.log"), c.PostgresPort); err == nil && pg.Running() {
		fmt.Fprintln(out, "stopping postgres left running (pg_ctl stop -m fast)")
		if err := pg.Stop(ctx); err != nil {
			problems = append(problems, err.Error())
		}
	}
	// The stack's programs the daemon did not stop: started by hand, or left
	// by a crash.
	pgBin := ""
	if pg, err := NewPostgres(c.Path("pg"), c.Path("logs", "postgres.log"), c.PostgresPort); err == nil {
		pgBin = filepath.Join(pg.BinDir, "postgres")
	}
	for _, pid := range StrayProcesses(c.Dev, absPath(c.MinIOBin), pgBin) {
		fmt.Fprintf(out, "stopping pid %d (%s), of this stack but not the daemon's\n", pid, procName(pid))
		if err := RefOf(pid).Stop(20 * time.Second); err != nil {
			problems = append(problems, fmt.Sprintf("pid %d: %v", pid, err))
		}
	}
	for _, a := range dedupe(ports) {
		if PortFree(a) {
			continue
		}
		pid, ok := ListenerPid(a)
		if !ok || !processMentions(pid, c.Dev) {
			continue // not ours: reported below
		}
		fmt.Fprintf(out, "stopping pid %d, still on %s (started outside the daemon)\n", pid, a)
		if err := RefOf(pid).Stop(20 * time.Second); err != nil {
			problems = append(problems, fmt.Sprintf("pid %d on %s: %v", pid, a, err))
		}
	}
	if busy := WaitPortsFree(ports, 15*time.Second); len(busy) > 0 {
		problems = append(problems, "ports still in use: "+strings.Join(busy, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("down: %s", strings.Join(problems, "; "))
	}
	for _, p := range []string{c.Path("stack.json"), c.Path("daemon.json")} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if st == nil && daemon == nil {
		fmt.Fprintln(out, "the local stack was not running")
	} else {
		fmt.Fprintln(out, "stopped; ports free:", strings.Join(dedupe(ports), " "))
	}
	return nil
}

func absPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// procName is a process's command name, for messages.
func procName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// cmdlineHas reports whether a live process's command line holds s.
func cmdlineHas(pid int, s string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), s)
}

// Tail returns the last n lines of a file ("" if unreadable).
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// BuildFunctions builds, with cmd/faasbuild (the template's Dockerfile build
// stage: gofmt, go test, go build), every function whose handler folder
// exists and whose binary is older than its sources. Functions not written
// yet are reported and skipped; a failed build is reported and the others go on.
func BuildFunctions(ctx context.Context, c *Config, f *stackfile.File, out io.Writer) error {
	stale, missing, err := StaleFunctions(c, f)
	if err != nil {
		return err
	}
	for _, n := range missing {
		fmt.Fprintf(out, "build: %s has no handler folder yet (%s): not deployed\n", n, f.Functions[n].Handler)
	}
	if len(stale) == 0 {
		fmt.Fprintln(out, "build: every function is up to date")
		return nil
	}
	return buildNamed(ctx, c, stale, out)
}

// buildNamed builds the named functions with cmd/faasbuild; a failed build
// is reported, not an error (the function stays as it was).
func buildNamed(ctx context.Context, c *Config, names []string, out io.Writer) error {
	fmt.Fprintf(out, "build: faasbuild verify %s (gofmt, go test, go build per function)\n", strings.Join(names, " "))
	cmd := exec.CommandContext(ctx, "go", append([]string{"run", "./cmd/faasbuild", "-f", c.StackFile, "verify"}, names...)...)
	cmd.Dir = c.Root
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(out, "build: some functions failed (%v): they are not deployed; the others are\n", err)
	}
	return nil
}

// buildInputs are the files and folders function name is built from: its
// handler folder, its template, the stack file and configuration.copy.
func buildInputs(c *Config, f *stackfile.File, name string) []string {
	fn := f.Functions[name]
	inputs := []string{f.Path(fn.Handler), f.Path(filepath.Join("template", fn.Lang)), c.StackFile}
	for _, p := range f.Configuration.Copy {
		inputs = append(inputs, f.Path(p))
	}
	return inputs
}

// StaleFunctions lists the functions to (re)build: handler folder present and
// build/<fn>/handler missing or older than anything it is built from.
func StaleFunctions(c *Config, f *stackfile.File) (stale, missing []string, err error) {
	for _, name := range f.Names() {
		if _, err := os.Stat(f.Path(f.Functions[name].Handler)); err != nil {
			missing = append(missing, name)
			continue
		}
		bin, err := os.Stat(filepath.Join(c.Root, "build", name, "handler"))
		if err != nil {
			stale = append(stale, name)
			continue
		}
		newest, err := newestMod(buildInputs(c, f, name))
		if err != nil {
			return nil, nil, err
		}
		if newest.After(bin.ModTime()) {
			stale = append(stale, name)
		}
	}
	return stale, missing, nil
}

// OutdatedFunctions lists the functions a running stack must rebuild: those
// StaleFunctions names, and each running one (running: function -> the
// code version it runs) whose version is not the repository's now
// (faasbuild.CodeVersion) and whose build inputs differ between the commit
// it was built from and the work tree. A dirty or unknown commit counts as
// changed: what it held cannot be told. Outside git only StaleFunctions counts.
func OutdatedFunctions(ctx context.Context, c *Config, f *stackfile.File, running map[string]string) ([]string, error) {
	stale, _, err := StaleFunctions(c, f)
	if err != nil {
		return nil, err
	}
	now, err := faasbuild.CodeVersion(ctx, c.Root)
	if err != nil {
		return stale, nil
	}
	out := slices.Clone(stale)
	for _, name := range f.Names() {
		v, ok := running[name]
		if !ok || v == now || slices.Contains(out, name) {
			continue
		}
		if changedSince(ctx, c.Root, v, buildInputs(c, f, name)) {
			out = append(out, name)
		}
	}
	return out, nil
}

// changedSince reports whether paths differ between the commit a version
// names and the work tree (tracked files, as CodeVersion counts them).
func changedSince(ctx context.Context, root, version string, paths []string) bool {
	commit, dirty := strings.CutSuffix(version, "-dirty")
	if dirty || commit == "" {
		return true
	}
	args := append([]string{"--no-optional-locks", "-C", root, "diff", "--quiet", commit, "--"}, paths...)
	// Exit 0: no difference; 1: a difference; else (an unknown commit): cannot tell.
	return exec.CommandContext(ctx, "git", args...).Run() != nil
}

func newestMod(paths []string) (time.Time, error) {
	var newest time.Time
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			if info.ModTime().After(newest) {
				newest = info.ModTime()
			}
			return nil
		})
		if err != nil {
			return newest, err
		}
	}
	return newest, nil
}
