package faasbuild

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/freeport"
	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// The probe function (testdata/probe) built once per test binary, as
// cmd/faasbuild builds every function: a repository laid out like this one
// (go.mod, go.sum, shared/, the stack file), shrinkwrapped with the
// project's template/golang-http and its Dockerfile's build stage run
// offline. The repository is a git repository and GIT_COMMIT is left unset,
// so the binary carries the commit faasbuild defaults it to.
var probe struct {
	once   sync.Once
	tmp    string
	bin    string
	commit string // HEAD of the probe's repository
	err    error
}

const probeStack = `version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:8080
configuration:
  copy:
    - ./go.mod
    - ./go.sum
    - ./shared
functions:
  probe:
    lang: golang-http
    handler: ./functions/probe
    image: probe:latest
    build_args:
      GIT_COMMIT: ${GIT_COMMIT:-dev}
`

func TestMain(m *testing.M) {
	code := m.Run()
	if probe.tmp != "" {
		os.RemoveAll(probe.tmp)
	}
	os.Exit(code)
}

// probeBinary returns the built probe's binary and its repository's commit.
func probeBinary(tb testing.TB) (bin, commit string) {
	tb.Helper()
	probe.once.Do(func() {
		if probe.err = FillModuleCache(context.Background(), repo.Path(".")); probe.err != nil {
			return
		}
		probe.tmp, probe.err = os.MkdirTemp("", "faasbuild-probe-")
		if probe.err != nil {
			return
		}
		probe.bin, probe.commit, probe.err = buildProbe(filepath.Join(probe.tmp, "repo"), filepath.Join(probe.tmp, "build"))
	})
	if probe.err != nil {
		tb.Fatalf("build the probe function: %v", probe.err)
	}
	return probe.bin, probe.commit
}

// probeRepo lays out dir as a repository holding the probe function.
func probeRepo(dir string) error {
	for _, p := range []string{"go.mod", "go.sum", "shared"} {
		if err := copyTree(repo.Path(p), filepath.Join(dir, p)); err != nil {
			return err
		}
	}
	if err := copyTree(repo.Path("internal/faasbuild/testdata/probe"), filepath.Join(dir, "functions", "probe")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "stack.yml"), []byte(probeStack), 0o644)
}

func gitRun(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=probe", "-c", "user.email=probe@example.invalid"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func buildProbe(dir, out string) (bin, commit string, err error) {
	if err := probeRepo(dir); err != nil {
		return "", "", err
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "probe"}} {
		if _, err := gitRun(dir, args...); err != nil {
			return "", "", err
		}
	}
	if commit, err = gitRun(dir, "rev-parse", "--short", "HEAD"); err != nil {
		return "", "", err
	}
	ctx := context.Background()
	noCommit := func(k string) (string, bool) {
		if k == CommitVar {
			return "", false
		}
		return os.LookupEnv(k)
	}
	f, err := stackfile.Load(filepath.Join(dir, "stack.yml"), StackLookup(ctx, dir, noCommit, nil))
	if err != nil {
		return "", "", err
	}
	var log strings.Builder
	ctxDir, err := Build(ctx, f, "probe", repo.Path("template"), out, BuildOptions{
		Env: map[string]string{"GOWORK": "", "GOPROXY": "off", "GOFLAGS": "-buildvcs=false"},
		Log: func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) },
	})
	if err != nil {
		return "", "", fmt.Errorf("%w\n%s", err, log.String())
	}
	return filepath.Join(ctxDir, "handler"), commit, nil
}

// fnProc is a running function process (the template's main).
type fnProc struct {
	cmd       *exec.Cmd
	addr      string         // host:port it serves
	listening map[string]any // its "listening" log line
	done      chan struct{}  // closed when it exited
	logs      *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startFunction runs bin as the watchdog would (its port through
// ARRESTCAST_LISTEN, as the local stack does) with env added, and waits
// for its "listening" log line. The process is killed when tb ends.
func startFunction(tb testing.TB, bin string, env map[string]string) *fnProc {
	tb.Helper()
	p, err := launch(bin, env)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.stop)
	return p
}

func launch(bin string, env map[string]string) (*fnProc, error) {
	port, err := freeport.Get()
	if err != nil {
		return nil, err
	}
	p := &fnProc{addr: fmt.Sprintf("127.0.0.1:%d", port), done: make(chan struct{}), logs: &syncBuffer{}}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), "ARRESTCAST_LISTEN="+p.addr, "healthcheck_interval=0s")
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	up := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.logs.WriteString(line + "\n")
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "listening" {
				select {
				case up <- rec:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = p.cmd.Wait()
		close(p.done)
	}()
	select {
	case p.listening = <-up:
		// The line may come just before the port is bound.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			c, err := net.Dial("tcp", p.addr)
			if err == nil {
				c.Close()
				return p, nil
			}
			if time.Now().After(deadline) {
				p.stop()
				return nil, fmt.Errorf("%s logged listening but %s refuses connections: %w", bin, p.addr, err)
			}
		}
	case <-p.done:
		return nil, fmt.Errorf("%s exited before listening (%v):\n%s", bin, p.cmd.ProcessState, p.logs.String())
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s did not log listening in 30 s:\n%s", bin, p.logs.String())
	}
}

func (p *fnProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// exited runs bin with env and returns its output and exit error, for a
// configuration the template must refuse at start.
func exited(tb testing.TB, bin string, env map[string]string) (string, error) {
	tb.Helper()
	port, err := freeport.Get()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), fmt.Sprintf("ARRESTCAST_LISTEN=127.0.0.1:%d", port))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
