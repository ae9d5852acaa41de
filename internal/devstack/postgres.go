package devstack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is the stack's private PostgreSQL cluster, run with the system's
// binaries (initdb, pg_ctl) as an unprivileged user when we are root.
type Postgres struct {
	BinDir   string // holds initdb and pg_ctl
	Dir      string // .dev/pg: data/ and run/ (sockets)
	Log      string // server log
	Port     int
	User     string // database superuser (arrestcast)
	Database string // created once (arrestcast)
	RunAs    string // OS user the server runs as ("" = ourselves)
	cred     *syscall.Credential
}

// NewPostgres finds the binaries and the user to run them as.
func NewPostgres(dir, logPath string, port int) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{BinDir: bin, Dir: dir, Log: logPath, Port: port, User: "arrestcast", Database: "arrestcast"}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		for _, name := range []string{"postgres", "nobody"} {
			u, err := user.Lookup(name)
			if err != nil {
				continue
			}
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			p.RunAs = name
			p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
			break
		}
		if p.cred == nil {
			return nil, errors.New("postgres: running as root and there is no user postgres or nobody to run the server as")
		}
	}
	return p, nil
}

// PostgresBinDir finds initdb and pg_ctl: $PG_BINDIR, the newest
// /usr/lib/postgresql/*/bin, else PATH.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("postgres: no initdb found (/usr/lib/postgresql/*/bin or PATH): install PostgreSQL (make postgres does)")
}

func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// DataDir is the cluster's data folder.
func (p *Postgres) DataDir() string { return filepath.Join(p.Dir, "data") }

// SocketDir holds the server's Unix socket (kept out of /var/run).
func (p *Postgres) SocketDir() string { return filepath.Join(p.Dir, "run") }

// URL is the connection URL for database db over TCP with password.
func (p *Postgres) URL(password, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(p.User, password), Host: "127.0.0.1:" + strconv.Itoa(p.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// Initialized reports whether the data folder holds a cluster.
func (p *Postgres) Initialized() bool {
	_, err := os.Stat(filepath.Join(p.DataDir(), "PG_VERSION"))
	return err == nil
}

// Init creates the cluster with superuser p.User and the given password
// (password authentication over TCP, as the faasd service has).
func (p *Postgres) Init(ctx context.Context, password string) error {
	if err := p.prepareDirs(); err != nil {
		return err
	}
	pwfile := filepath.Join(p.Dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("postgres: write password file: %w", err)
	}
	defer os.Remove(pwfile)
	if err := p.chown(pwfile); err != nil {
		return err
	}
	out, err := p.run(ctx, "initdb", "-D", p.DataDir(), "-U", p.User, "--pwfile="+pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale")
	if err != nil {
		return fmt.Errorf("postgres: initdb: %w\n%s", err, out)
	}
	return nil
}

// prepareDirs makes .dev/pg owned by the server's user and checks that user
// can reach it (a repository under /root cannot be reached by postgres).
func (p *Postgres) prepareDirs() error {
	for _, d := range []string{p.Dir, p.SocketDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p.Log), 0o755); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("postgres: log: %w", err)
	}
	f.Close()
	if p.cred == nil {
		return nil
	}
	if err := filepath.WalkDir(p.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return p.chown(path)
	}); err != nil {
		return fmt.Errorf("postgres: chown %s to %s: %w", p.Dir, p.RunAs, err)
	}
	if err := p.chown(p.Log); err != nil {
		return err
	}
	for d := filepath.Dir(p.Dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("postgres: user %s cannot enter %s (mode %s): put the repository where other users can reach it, or chmod o+x %s",
				p.RunAs, d, fi.Mode().Perm(), d)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return nil
}

func (p *Postgres) chown(path string) error {
	if p.cred == nil {
		return nil
	}
	if err := os.Lchown(path, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
		return fmt.Errorf("postgres: chown %s: %w", path, err)
	}
	return nil
}

// run runs one of the cluster's binaries as the server's user.
func (p *Postgres) run(ctx context.Context, tool string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(p.BinDir, tool), args...)
	cmd.Dir = p.Dir
	cmd.Env = baseEnv(map[string]string{"LC_ALL": "C", "HOME": p.Dir})
	cmd.SysProcAttr = detachedAttr() // the server pg_ctl leaves behind is not in our session
	cmd.SysProcAttr.Credential = p.cred
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Prepare makes the cluster's folders, owned by the server's user.
func (p *Postgres) Prepare() error { return p.prepareDirs() }

// Pid reads the postmaster's pid from postmaster.pid.
func (p *Postgres) Pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(p.DataDir(), "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("postgres: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("postgres: postmaster.pid: %w", err)
	}
	return pid, nil
}

// Running reports whether the cluster's server runs.
func (p *Postgres) Running() bool {
	pid, err := p.Pid()
	return err == nil && RefOf(pid).Alive()
}

// Stop stops the server (pg_ctl stop -m fast): sessions are cut, the data is
// consistent.
func (p *Postgres) Stop(ctx context.Context) error {
	pid, err := p.Pid()
	if err != nil || !RefOf(pid).Alive() {
		return nil
	}
	ref := RefOf(pid)
	out, err := p.run(ctx, "pg_ctl", "-D", p.DataDir(), "-m", "fast", "-w", "-t", "60", "stop")
	if err != nil {
		return fmt.Errorf("postgres: pg_ctl stop: %w\n%s", err, out)
	}
	// pg_ctl returns once postmaster.pid is gone, a moment before the process.
	if !ref.waitGone(10 * time.Second) {
		return fmt.Errorf("postgres: postmaster %d still running after pg_ctl stop", pid)
	}
	return nil
}

// EnsureDatabase creates p.Database if missing, connecting with password.
func (p *Postgres) EnsureDatabase(ctx context.Context, password string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.URL(password, "postgres"))
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer c.Close(context.Background())
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", p.Database).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: look for database %s: %w", p.Database, err)
	}
	if exists {
		return nil
	}
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{p.Database}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: create database %s: %w", p.Database, err)
	}
	return nil
}

// pingPostgres connects to url and asks one question.
func pingPostgres(ctx context.Context, url string) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer c.Close(context.Background())
	return c.Ping(ctx)
}

// passwordOf returns the password of a connection URL.
func passwordOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return "", false
	}
	pw, ok := u.User.Password()
	return pw, ok && pw != ""
}
