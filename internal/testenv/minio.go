package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
)

// MinIOModule is the MinIO server the Makefile builds into .bin/.
const MinIOModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// Credentials of the servers started here.
const (
	minioUser     = "testenv"
	minioPassword = "testenv-secret-key"
)

// MinIOServer is a MinIO server for tests: the shared one (MinIO), one of
// the test's own (StartMinIO) or the one TEST_MINIO_ENDPOINT names.
type MinIOServer struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	DataDir   string // the server's drive; "" for an external server

	started     bool // started here (not external)
	stoppable   bool // started by StartMinIO: tests may stop and restart it
	bin         string
	home        string
	env         []string
	consolePort int

	mu   sync.Mutex
	proc *proc // nil while stopped or external
}

// MinIOOptions configure a server of a test's own.
type MinIOOptions struct {
	// Env is extra server environment, e.g. webhook targets:
	// MINIO_NOTIFY_WEBHOOK_ENABLE_<ID>=on, MINIO_NOTIFY_WEBHOOK_ENDPOINT_<ID>=url,
	// MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_<ID>, MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_<ID>.
	Env map[string]string
}

var shared struct {
	once sync.Once
	srv  *MinIOServer
	err  error
}

// MinIO returns the MinIO server shared by the tests of this process: the one
// TEST_MINIO_ENDPOINT (with TEST_MINIO_ACCESS_KEY, TEST_MINIO_SECRET_KEY)
// names, else one started on first use and stopped by Main. Give each test
// its own bucket (NewBucket) and do not stop this server: tests that need to
// stop MinIO start their own with StartMinIO.
func MinIO(t testing.TB) *MinIOServer {
	t.Helper()
	if ep := os.Getenv("TEST_MINIO_ENDPOINT"); ep != "" {
		shared.once.Do(func() {
			s := &MinIOServer{Endpoint: ep, AccessKey: os.Getenv("TEST_MINIO_ACCESS_KEY"), SecretKey: os.Getenv("TEST_MINIO_SECRET_KEY")}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.waitReady(ctx, nil); err != nil {
				shared.err = fmt.Errorf("testenv: MinIO at TEST_MINIO_ENDPOINT=%s does not answer (%v): start it or unset TEST_MINIO_ENDPOINT", ep, err)
				return
			}
			shared.srv = s
		})
	} else {
		requireMain(t)
		shared.once.Do(func() {
			shared.srv, shared.err = startMinIO(MinIOOptions{})
			if shared.err == nil {
				srv := shared.srv
				atExit(srv.shutdown)
			}
		})
	}
	if shared.err != nil {
		Unavailable(t, shared.err.Error())
	}
	return shared.srv
}

// StartMinIO starts a MinIO server for this test alone, with opts' extra
// environment; it is stopped and its drive removed when the test ends. It
// needs the MinIO binary even when TEST_MINIO_ENDPOINT is set.
func StartMinIO(t testing.TB, opts MinIOOptions) *MinIOServer {
	t.Helper()
	s, err := startMinIO(opts)
	if err != nil {
		Unavailable(t, err.Error())
	}
	s.stoppable = true
	untrack := atExit(s.shutdown) // in case the run is interrupted
	t.Cleanup(func() { untrack(); s.shutdown() })
	return s
}

// MinIOBinary finds the MinIO server: $MINIO_BIN, <repo>/.bin/minio, or
// minio on PATH.
func MinIOBinary() (string, error) {
	if p := os.Getenv("MINIO_BIN"); p != "" {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	var root string
	func() {
		defer func() { recover() }()
		root = repo.Root()
	}()
	if root != "" {
		p := filepath.Join(root, ".bin", "minio")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("testenv: MinIO server %w (looked at $MINIO_BIN, %s, PATH): run `make minio` (GOBIN=.bin go install %s) or set TEST_MINIO_ENDPOINT",
		errNoBinary, filepath.Join(root, ".bin", "minio"), MinIOModule)
}

func startMinIO(opts MinIOOptions) (*MinIOServer, error) {
	bin, err := MinIOBinary()
	if err != nil {
		return nil, err
	}
	home, err := tempDir("", "testenv-minio-*")
	if err != nil {
		return nil, fmt.Errorf("testenv: MinIO temp dir: %w", err)
	}
	s := &MinIOServer{
		AccessKey: minioUser,
		SecretKey: minioPassword,
		DataDir:   filepath.Join(home, "data"),
		started:   true,
		bin:       bin,
		home:      home,
	}
	// HOME points into the temp dir so MinIO's ~/.minio (certs) stays there.
	s.env = append(cleanEnv("MINIO_"), "HOME="+home,
		"MINIO_ROOT_USER="+minioUser, "MINIO_ROOT_PASSWORD="+minioPassword,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	for k, v := range opts.Env {
		s.env = append(s.env, k+"="+v)
	}
	// A port found free can be taken before MinIO binds it: try a few.
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err == nil {
			s.consolePort, err = freePort()
		}
		if err != nil {
			os.RemoveAll(home)
			return nil, fmt.Errorf("testenv: %w", err)
		}
		s.Endpoint = fmt.Sprintf("127.0.0.1:%d", port)
		err = s.start()
		if err == nil {
			return s, nil
		}
		if attempt == 2 || !strings.Contains(err.Error(), "in use") {
			os.RemoveAll(home)
			return nil, err
		}
	}
}

// start runs the server on s.Endpoint and waits until it serves requests.
func (s *MinIOServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil && !s.proc.exited() {
		return nil
	}
	p, err := startProc("minio", filepath.Join(s.home, "minio.log"), nil, s.env, s.bin,
		"server", "--quiet", "--address", s.Endpoint, "--certs-dir", filepath.Join(s.home, "certs"),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", s.consolePort), s.DataDir)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.waitReady(ctx, p); err != nil {
		p.stop(syscall.SIGKILL, 0)
		return fmt.Errorf("testenv: MinIO on %s did not start: %v\n%s", s.Endpoint, err, p.logTail())
	}
	if err := s.waitTargets(ctx, p); err != nil {
		p.stop(syscall.SIGKILL, 0)
		return fmt.Errorf("testenv: MinIO on %s: %v\n%s", s.Endpoint, err, p.logTail())
	}
	s.proc = p
	return nil
}

// webhookARNs lists the ARNs of the webhook targets the server's environment enables.
func (s *MinIOServer) webhookARNs() []string {
	const enable = "MINIO_NOTIFY_WEBHOOK_ENABLE_"
	var arns []string
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		if id, ok := strings.CutPrefix(k, enable); ok && id != "" && (v == "on" || v == "true") {
			arns = append(arns, "arn:minio:sqs::"+id+":webhook")
		}
	}
	sort.Strings(arns)
	return arns
}

// waitTargets waits until the server accepts notification rules for every
// webhook target of its environment: MinIO serves S3 requests a moment
// before it has loaded its targets, and a rule set in between is refused
// with "ARN not found". It probes with a scratch bucket.
func (s *MinIOServer) waitTargets(ctx context.Context, p *proc) error {
	arns := s.webhookARNs()
	if len(arns) == 0 {
		return nil
	}
	c, err := s.newClient()
	if err != nil {
		return err
	}
	probe := "testenv-probe-" + randHex(4)
	if err := c.MakeBucket(ctx, probe, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("probe bucket: %w", err)
	}
	defer c.RemoveBucket(context.Background(), probe)
	var cfg notification.Configuration
	for _, a := range arns {
		arn, err := notification.NewArnFromString(a)
		if err != nil {
			return err
		}
		qc := notification.NewConfig(arn)
		qc.AddEvents(notification.ObjectCreatedAll)
		cfg.AddQueue(qc)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.SetBucketNotification(ctx, probe, cfg)
		if err == nil {
			return c.RemoveAllBucketNotification(ctx, probe)
		}
		if p.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("webhook targets %v not loaded: %w", arns, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReady polls /minio/health/live, then a bucket listing, until both
// answer; p (if not nil) exiting ends the wait.
func (s *MinIOServer) waitReady(ctx context.Context, p *proc) error {
	c, err := s.newClient()
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		if p != nil && p.exited() {
			return fmt.Errorf("server exited (%v)", p.waitErr)
		}
		resp, err := hc.Get(s.URL() + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("health: %s", resp.Status)
			}
		}
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = c.ListBuckets(rctx)
			cancel()
		}
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// URL is the server's base URL.
func (s *MinIOServer) URL() string { return "http://" + s.Endpoint }

func (s *MinIOServer) newClient() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:     "us-east-1",
		MaxRetries: 1,
	})
}

// Client returns a minio-go client for the server (no retries of its own).
func (s *MinIOServer) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := s.newClient()
	if err != nil {
		t.Fatalf("testenv: minio client: %v", err)
	}
	return c
}

// BucketName returns a bucket name unique to this test and run.
func BucketName(t testing.TB) string {
	return "t-" + slug(t.Name(), '-', 40) + "-" + randHex(4)
}

// NewBucket creates a fresh bucket for the test and removes it, with its
// objects, when the test ends (if the server is up then).
func (s *MinIOServer) NewBucket(t testing.TB) string {
	t.Helper()
	c := s.Client(t)
	name := BucketName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("testenv: make bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		if !s.Running() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		objs := c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true})
		for e := range c.RemoveObjects(ctx, name, objs, minio.RemoveObjectsOptions{}) {
			t.Logf("testenv: remove %s/%s: %v", name, e.ObjectName, e.Err)
		}
		// MinIO may still be finishing the object deletions ("bucket not
		// empty" for a moment): retry briefly before giving up.
		var err error
		for wait := 50 * time.Millisecond; ctx.Err() == nil; wait = min(2*wait, time.Second) {
			if err = c.RemoveBucket(ctx, name); err == nil {
				return
			}
			time.Sleep(wait) // up to the 30 s of ctx: a loaded machine needs more than 2 s
		}
		t.Logf("testenv: remove bucket %s: %v", name, err)
	})
	return name
}

// Running reports whether the server is up (always true for an external one).
func (s *MinIOServer) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.started || s.proc != nil && !s.proc.exited()
}

var errNotDedicated = errors.New("testenv: only a server from StartMinIO can be stopped or restarted")

// Stop shuts the server down (SIGTERM, then SIGKILL after 5s); its data stays
// for Restart. Use it to make the store go away under a running step.
func (s *MinIOServer) Stop() error {
	if !s.stoppable {
		return errNotDedicated
	}
	s.halt(syscall.SIGTERM, 5*time.Second)
	return nil
}

// Kill stops the server at once with SIGKILL, as a crash would.
func (s *MinIOServer) Kill() error {
	if !s.stoppable {
		return errNotDedicated
	}
	s.halt(syscall.SIGKILL, 0)
	return nil
}

func (s *MinIOServer) halt(sig syscall.Signal, grace time.Duration) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop(sig, grace)
	}
}

// Restart starts a stopped server again (or stops and starts a running one)
// on the same address with the same data, and waits until it serves.
func (s *MinIOServer) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start()
}

// Logs returns the end of the server's log.
func (s *MinIOServer) Logs() string {
	if s.home == "" {
		return ""
	}
	return tail(filepath.Join(s.home, "minio.log"), 40)
}

func (s *MinIOServer) shutdown() {
	s.halt(syscall.SIGTERM, 5*time.Second)
	if s.home != "" {
		os.RemoveAll(s.home)
	}
}
