// Package testenv gives integration tests (build tag `integration`) real
// services: a MinIO server and a fresh PostgreSQL database per test.
//
// Services come from the environment when it names them (TEST_MINIO_ENDPOINT,
// DATABASE_URL), else from the machine (a PostgreSQL answering on
// 127.0.0.1:5432), else they are started here as child processes (the MinIO
// binary the Makefile builds into .bin/, the system's PostgreSQL binaries) and
// stopped when the test binary ends. A package whose tests use them declares
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// When a service cannot be had the test fails in CI (CI=true) and is skipped
// elsewhere, with one line saying what is missing and how to get it.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/freeport"
)

// InCI reports whether the tests run in CI (CI=true or 1), where a missing
// service fails a test instead of skipping it.
func InCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// Unavailable ends the test because a service or file it needs is missing:
// a failure in CI, a skip elsewhere. msg says what is missing and how to get it.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatal(msg)
	} else {
		t.Skip(msg)
	}
}

var (
	mainActive atomic.Bool
	exitMu     sync.Mutex
	exitSeq    int
	exitFuncs  = map[int]func(){} // servers to stop at exit, by registration order
)

// Main runs the tests, then stops every server this package started for the
// process (also on SIGINT/SIGTERM, when it stops the tests' own servers too).
// Use it as
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Main(m *testing.M) int {
	mainActive.Store(true)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		if s, ok := <-sig; ok {
			fmt.Fprintf(os.Stderr, "testenv: %v: stopping test servers\n", s)
			shutdown()
			os.Exit(2)
		}
	}()
	code := m.Run()
	signal.Stop(sig)
	close(sig)
	shutdown()
	return code
}

// atExit registers f to run at shutdown; untrack forgets it (the caller
// stopped the server itself).
func atExit(f func()) (untrack func()) {
	exitMu.Lock()
	defer exitMu.Unlock()
	exitSeq++
	id := exitSeq
	exitFuncs[id] = f
	return func() {
		exitMu.Lock()
		defer exitMu.Unlock()
		delete(exitFuncs, id)
	}
}

// shutdown stops the registered servers, the last started first.
func shutdown() {
	exitMu.Lock()
	ids := make([]int, 0, len(exitFuncs))
	for id := range exitFuncs {
		ids = append(ids, id)
	}
	fs := exitFuncs
	exitFuncs = map[int]func(){}
	exitMu.Unlock()
	slices.Sort(ids)
	for _, id := range slices.Backward(ids) {
		fs[id]()
	}
}

// tempDir makes a folder for a server under base ("" = os.TempDir()) and
// records the test process's pid in it, so a later run can remove it should
// this process die without cleaning up (SIGKILL, a crash).
func tempDir(base, pattern string) (string, error) {
	sweepOnce.Do(sweepStale)
	dir, err := os.MkdirTemp(base, pattern)
	if err != nil {
		return "", err
	}
	os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	return dir, nil
}

var sweepOnce sync.Once

// sweepStale removes server folders whose owning test process is gone.
func sweepStale() {
	var dirs []string
	for _, base := range []string{os.TempDir(), "/tmp"} {
		for _, p := range []string{"testenv-minio-*", "testenv-pg-*"} {
			m, _ := filepath.Glob(filepath.Join(base, p))
			dirs = append(dirs, m...)
		}
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// requireMain fails a test that would start a process-wide server without
// TestMain calling Main: nothing would stop it.
func requireMain(t testing.TB) {
	t.Helper()
	if !mainActive.Load() {
		t.Fatal("testenv: this package's tests need `func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }` so shared test servers are stopped")
	}
}

// randHex returns n random bytes in hex.
func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// slug turns a test name into lower-case letters, digits and sep, at most max long.
func slug(name string, sep byte, max int) string {
	var b strings.Builder
	last := sep
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			last = 0
		} else if last != sep {
			b.WriteByte(sep)
			last = sep
		}
		if b.Len() >= max {
			break
		}
	}
	return strings.Trim(b.String(), string(sep))
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) { return freeport.Get() }

// proc is a child process in its own process group, so that stopping it
// stops everything it started. Pdeathsig kills it if the test binary dies
// without running Main's shutdown (a panic, go test's timeout).
type proc struct {
	name     string
	cmd      *exec.Cmd
	logPath  string
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
}

func startProc(name, logPath string, cred *syscall.Credential, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process group, waits up to grace, then kills the
// group. Only the first call acts: later the group id may belong to others.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		if !p.exited() {
			syscall.Kill(-pgid, sig)
			select {
			case <-p.done:
			case <-time.After(grace):
			}
		}
		// Children of the leader (postgres backends) may outlive it: kill the group.
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	})
}

// logTail returns the last lines of the process's log, for error messages.
func (p *proc) logTail() string { return tail(p.logPath, 15) }

func tail(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 16<<10 {
		f.Seek(-16<<10, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// cleanEnv is the test process's environment without variables that would
// reconfigure a child server behind our back.
func cleanEnv(drop ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if slices.ContainsFunc(drop, func(p string) bool { return strings.HasPrefix(k, p) }) {
			continue
		}
		env = append(env, kv)
	}
	return env
}

var errNoBinary = errors.New("not found")
