package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PG is a fresh PostgreSQL database made for one test and dropped after it.
type PG struct {
	URL      string // connection string for the database: give it to code under test as DATABASE_URL
	Database string
	Source   string // where the server came from: DATABASE_URL, local or private
}

// Conn opens a connection to the test's database, closed when the test ends.
func (p *PG) Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		t.Fatalf("testenv: connect to %s: %v", p.Database, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// pgServer is where test databases are created.
type pgServer struct {
	adminURL string // connects to the maintenance database as a superuser
	source   string
}

var pgShared struct {
	once sync.Once
	srv  pgServer
	err  error
}

// Postgres creates a fresh, empty database for the test on the first server
// it can have, and drops it when the test ends:
//
//   - DATABASE_URL, if set;
//   - else a server answering on 127.0.0.1:5432 as user postgres without a
//     password (trust authentication, as on many development machines);
//   - else a private cluster started from the system's PostgreSQL binaries,
//     stopped by Main.
//
// TESTENV_PG=url|local|private forces one of them.
func Postgres(t testing.TB) *PG {
	t.Helper()
	pgShared.once.Do(func() { pgShared.srv, pgShared.err = findPostgres(t) })
	if pgShared.err != nil {
		Unavailable(t, pgShared.err.Error())
	}
	return createDatabase(t, pgShared.srv)
}

const localPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=3"

func findPostgres(t testing.TB) (pgServer, error) {
	mode := os.Getenv("TESTENV_PG")
	switch mode {
	case "", "url", "local", "private":
	default:
		return pgServer{}, fmt.Errorf("testenv: TESTENV_PG=%q: want url, local or private", mode)
	}
	if mode == "" || mode == "url" {
		if u := os.Getenv("DATABASE_URL"); u != "" {
			if err := ping(u); err != nil {
				return pgServer{}, fmt.Errorf("testenv: PostgreSQL at DATABASE_URL does not answer (%v): start it or unset DATABASE_URL", err)
			}
			return pgServer{adminURL: u, source: "DATABASE_URL"}, nil
		}
		if mode == "url" {
			return pgServer{}, errors.New("testenv: TESTENV_PG=url but DATABASE_URL is not set")
		}
	}
	if mode == "" || mode == "local" {
		err := ping(localPostgres)
		if err == nil {
			return pgServer{adminURL: localPostgres, source: "local"}, nil
		}
		if mode == "local" {
			return pgServer{}, fmt.Errorf("testenv: TESTENV_PG=local but no PostgreSQL accepts user postgres on 127.0.0.1:5432 (%v)", err)
		}
	}
	requireMain(t)
	c, err := startCluster()
	if err != nil {
		return pgServer{}, err
	}
	atExit(c.stop)
	return pgServer{adminURL: c.URL, source: "private"}, nil
}

func ping(connString string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.Ping(ctx)
}

// withDatabase returns connString pointing at database db. It handles URLs
// and keyword/value strings (where a later dbname wins).
func withDatabase(connString, db string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse connection URL: %w", err)
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	return connString + " dbname=" + db, nil
}

func createDatabase(t testing.TB, srv pgServer) *PG {
	t.Helper()
	name := "t_" + slug(t.Name(), '_', 40) + "_" + randHex(4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, srv.adminURL)
	if err != nil {
		t.Fatalf("testenv: connect to PostgreSQL (%s): %v", srv.source, err)
	}
	defer admin.Close(context.Background())
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	dbURL, err := withDatabase(srv.adminURL, name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, srv.adminURL)
		if err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
			return
		}
		defer admin.Close(context.Background())
		// FORCE (PostgreSQL 13+) ends sessions a test left open.
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
		}
	})
	return &PG{URL: dbURL, Database: name, Source: srv.source}
}

// Cluster is a private PostgreSQL cluster in a temporary folder.
type Cluster struct {
	URL  string // superuser postgres, maintenance database, over TCP on loopback
	Dir  string
	Port int
	proc *proc
}

// PostgresBinDir finds the PostgreSQL server binaries (initdb, postgres):
// $PG_BINDIR, the newest /usr/lib/postgresql/*/bin, `pg_config --bindir`, or PATH.
func PostgresBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("PG_BINDIR"); d != "" && has(d) {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { // newest major version first
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("testenv: PostgreSQL server binaries %w (initdb and postgres; looked at $PG_BINDIR, /usr/lib/postgresql/*/bin, pg_config --bindir, PATH): install them (apt-get install postgresql) or set DATABASE_URL", errNoBinary)
}

// runAs returns the credential to run PostgreSQL with: none when not root;
// as root (which initdb and postgres refuse) the postgres user, else nobody.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil && uid != 0 {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
		}
	}
	return nil, errors.New("testenv: running as root, and neither user postgres nor nobody exists to run PostgreSQL as (initdb refuses root)")
}

// StartCluster starts a private PostgreSQL cluster for this test alone,
// stopped and removed when the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := startCluster()
	if err != nil {
		Unavailable(t, err.Error())
	}
	untrack := atExit(c.stop) // in case the run is interrupted
	t.Cleanup(func() { untrack(); c.stop() })
	return c
}

func startCluster() (*Cluster, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	// /tmp rather than $TMPDIR: the unprivileged user must reach the folder,
	// and the unix socket path must stay short.
	base := ""
	if cred != nil {
		base = "/tmp"
	}
	dir, err := tempDir(base, "testenv-pg-*")
	if err != nil {
		return nil, fmt.Errorf("testenv: PostgreSQL temp dir: %w", err)
	}
	fail := func(err error) (*Cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("testenv: chown PostgreSQL dir: %w", err))
		}
	}
	data := filepath.Join(dir, "data")
	env := append(cleanEnv("PG", "LC_", "LANG"), "LC_ALL=C", "LANG=C")
	// Logs are opened here and inherited, so the unprivileged child can write them.
	initdb, err := startProc("initdb", filepath.Join(dir, "initdb.log"), cred, env, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return fail(fmt.Errorf("testenv: %w", err))
	}
	select {
	case <-initdb.done:
	case <-time.After(2 * time.Minute):
		initdb.stop(syscall.SIGKILL, 0)
	}
	if initdb.waitErr != nil || !initdb.cmd.ProcessState.Success() {
		return fail(fmt.Errorf("testenv: initdb failed (%v):\n%s", initdb.waitErr, initdb.logTail()))
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return fail(fmt.Errorf("testenv: %w", err))
		}
		c := &Cluster{Dir: dir, Port: port,
			URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
		c.proc, err = startProc("postgres", filepath.Join(dir, "postgres.log"), cred, env, filepath.Join(bin, "postgres"),
			"-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
			// Throwaway data: durability off for speed.
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "max_connections=200", "-c", "shared_buffers=32MB")
		if err != nil {
			return fail(fmt.Errorf("testenv: %w", err))
		}
		if err = c.waitReady(); err == nil {
			return c, nil
		}
		log := c.proc.logTail()
		c.proc.stop(syscall.SIGKILL, 0)
		if attempt == 2 || !strings.Contains(log, "in use") {
			return fail(fmt.Errorf("testenv: private PostgreSQL did not start: %v\n%s", err, log))
		}
	}
}

func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c.proc.exited() {
			return fmt.Errorf("postgres exited (%v)", c.proc.waitErr)
		}
		err := ping(c.URL)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop shuts the cluster down (fast shutdown, then SIGKILL) and removes it.
func (c *Cluster) stop() {
	c.proc.stop(syscall.SIGINT, 10*time.Second)
	os.RemoveAll(c.Dir)
}
