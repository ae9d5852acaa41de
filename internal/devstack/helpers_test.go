package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/internal/testenv"
)

var fake struct {
	once sync.Once
	path string
	err  error
	dir  string
}

func TestMain(m *testing.M) {
	code := testenv.Main(m) // stops the servers integration tests borrowed

	for _, d := range []string{fake.dir, devstackBin.dir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

// fakeFn builds testdata/fakefn once: a small function process serving on
// ARRESTCAST_LISTEN as the template's main.go does.
func fakeFn(t testing.TB) string {
	t.Helper()
	fake.once.Do(func() {
		fake.dir, fake.err = os.MkdirTemp("", "devstack-fakefn-")
		if fake.err != nil {
			return
		}
		fake.path = filepath.Join(fake.dir, "handler")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(goBin, "build", "-o", fake.path, "./testdata/fakefn")
		out, err := cmd.CombinedOutput()
		if err != nil {
			fake.err = errors.New("build fakefn: " + err.Error() + "\n" + string(out))
		}
	})
	if fake.err != nil {
		t.Fatal(fake.err)
	}
	return fake.path
}

var devstackBin struct {
	once      sync.Once
	dir, path string
	err       error
}

// daemonBinary builds cmd/devstack (the daemon Up starts) once per test binary.
func daemonBinary(t *testing.T) string {
	t.Helper()
	devstackBin.once.Do(func() {
		devstackBin.dir, devstackBin.err = os.MkdirTemp("", "devstack-bin-")
		if devstackBin.err != nil {
			return
		}
		devstackBin.path = filepath.Join(devstackBin.dir, "devstack")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if out, err := exec.Command(goBin, "build", "-o", devstackBin.path, repo.Path("cmd/devstack")).CombinedOutput(); err != nil {
			devstackBin.err = errors.New("build cmd/devstack: " + err.Error() + "\n" + string(out))
		}
	})
	if devstackBin.err != nil {
		t.Fatal(devstackBin.err)
	}
	return devstackBin.path
}

func freeAddr(t testing.TB) string {
	t.Helper()
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(p)
}

// gone reports whether pid no longer exists (a reaped child or never ours).
func gone(pid int) bool {
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type echo struct {
	Method string              `json:"method"`
	Path   string              `json:"path"`
	Query  string              `json:"query"`
	Header map[string][]string `json:"header"`
	Body   string              `json:"body"`
	Pid    int                 `json:"pid"`
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, url, nil, nil)
}

func do(t *testing.T, method, url string, body io.Reader, header http.Header) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func decodeEcho(t *testing.T, b []byte) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("decode echo %q: %v", b, err)
	}
	return e
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func loadStack(t *testing.T, c *Config) *stackfile.File {
	t.Helper()
	f, err := stackfile.Load(c.StackFile, c.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// testLogger sends a component's JSON log lines to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewJSONHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
