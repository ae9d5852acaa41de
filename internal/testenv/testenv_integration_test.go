//go:build integration

package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/notification"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestMinIOShared(t *testing.T) {
	s := MinIO(t)
	if s != MinIO(t) {
		t.Fatal("MinIO returned two servers in one process")
	}
	b1, b2 := s.NewBucket(t), s.NewBucket(t)
	if b1 == b2 {
		t.Fatalf("two buckets named %s", b1)
	}
	c := s.Client(t)
	ctx := context.Background()
	if _, err := c.PutObject(ctx, b1, "k", strings.NewReader("v"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err == nil {
		t.Error("Stop of the shared server was allowed")
	}
}

func TestStartMinIOStopRestart(t *testing.T) {
	s := StartMinIO(t, MinIOOptions{})
	if s == MinIO(t) {
		t.Fatal("StartMinIO returned the shared server")
	}
	b := s.NewBucket(t)
	c := s.Client(t)
	ctx := context.Background()
	if _, err := c.PutObject(ctx, b, "keep/me", strings.NewReader("data"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Error("Running after Kill")
	}
	_, err := c.StatObject(ctx, b, "keep/me", minio.StatObjectOptions{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("stat with the server down: %v, want connection refused", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	info, err := c.StatObject(ctx, b, "keep/me", minio.StatObjectOptions{})
	if err != nil || info.Size != 4 {
		t.Fatalf("after restart: %+v %v", info, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
}

// TestMinIOWebhookEnv proves extra server environment reaches MinIO: a
// webhook target configured through it receives the event, with the token.
func TestMinIOWebhookEnv(t *testing.T) {
	type hit struct {
		method, auth string
		body         []byte
	}
	hits := make(chan hit, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hits <- hit{r.Method, r.Header.Get("Authorization"), b}
	}))
	defer hook.Close()
	s := StartMinIO(t, MinIOOptions{Env: map[string]string{
		"MINIO_NOTIFY_WEBHOOK_ENABLE_MERGE":     "on",
		"MINIO_NOTIFY_WEBHOOK_ENDPOINT_MERGE":   hook.URL,
		"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_MERGE": "sekret",
		"MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_MERGE":  t.TempDir(),
	}})
	b := s.NewBucket(t)
	c := s.Client(t)
	ctx := context.Background()
	arn, _ := notification.NewArnFromString("arn:minio:sqs::MERGE:webhook")
	qc := notification.NewConfig(arn)
	qc.AddEvents(notification.ObjectCreatedAll)
	qc.AddFilterSuffix("manifest.json")
	var cfg notification.Configuration
	cfg.AddQueue(qc)
	// No waiting here: StartMinIO returns once the targets are loaded.
	if err := c.SetBucketNotification(ctx, b, cfg); err != nil {
		t.Fatalf("set notification (target from env): %v\n%s", err, s.Logs())
	}
	if _, err := c.PutObject(ctx, b, "x/manifest.json", bytes.NewReader([]byte("{}")), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case h := <-hits:
			if h.method != http.MethodPost {
				continue // MinIO's start-up HEAD probe
			}
			if h.auth != "Bearer sekret" {
				t.Errorf("Authorization %q, want Bearer sekret", h.auth)
			}
			var ev struct{ EventName, Key string }
			if err := json.Unmarshal(h.body, &ev); err != nil || ev.Key != b+"/x/manifest.json" || !strings.HasPrefix(ev.EventName, "s3:ObjectCreated:") {
				t.Errorf("event %s (%v)", h.body, err)
			}
			return
		case <-deadline:
			t.Fatalf("no webhook call in 30s\n%s", s.Logs())
		}
	}
}

func TestPostgresFreshDatabases(t *testing.T) {
	a, b := Postgres(t), Postgres(t)
	if a.Database == b.Database || a.URL == b.URL {
		t.Fatalf("two tests' databases are the same: %s", a.Database)
	}
	t.Logf("PostgreSQL source: %s", a.Source)
	ctx := context.Background()
	ca := a.Conn(t)
	if _, err := ca.Exec(ctx, "CREATE TABLE x (id int)"); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := ca.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil || name != a.Database {
		t.Fatalf("connected to %q (%v), want %q", name, err, a.Database)
	}
	var n int
	if err := b.Conn(t).QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'x'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("second database sees the first one's table: %d %v", n, err)
	}

	// The database is dropped when its test ends.
	var inner *PG
	t.Run("inner", func(t *testing.T) { inner = Postgres(t) })
	var exists bool
	if err := ca.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", inner.Database).Scan(&exists); err != nil || exists {
		t.Fatalf("database %s still exists after its test (%v)", inner.Database, err)
	}
}

// TestPrivateCluster always exercises the private-cluster path, whatever
// server the other tests use: initdb and postgres from the system's binaries,
// as an unprivileged user when the tests run as root, nothing left behind.
func TestPrivateCluster(t *testing.T) {
	c := StartCluster(t)
	ctx := context.Background()
	if err := ping(c.URL); err != nil {
		t.Fatal(err)
	}
	pid := c.proc.cmd.Process.Pid
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && os.Geteuid() == 0 && strings.Fields(line)[1] == "0" {
			t.Errorf("postgres runs as root: %s", line)
		}
	}
	srv := pgServer{adminURL: c.URL, source: "private"}
	var db *PG
	t.Run("database", func(t *testing.T) {
		db = createDatabase(t, srv)
		var one int
		if err := db.Conn(t).QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("query: %d %v", one, err)
		}
	})
	c.stop()
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes of the cluster's group survive stop: kill -0 = %v", err)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("cluster folder %s survives stop", c.Dir)
	}
}

// TestFindPostgres covers how the server is chosen, including the private
// path forced with TESTENV_PG=private (whatever this machine offers).
func TestFindPostgres(t *testing.T) {
	t.Setenv("TESTENV_PG", "bogus")
	if _, err := findPostgres(t); err == nil || !strings.Contains(err.Error(), "want url, local or private") {
		t.Errorf("TESTENV_PG=bogus: %v", err)
	}
	t.Setenv("TESTENV_PG", "url")
	t.Setenv("DATABASE_URL", "")
	if _, err := findPostgres(t); err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
		t.Errorf("TESTENV_PG=url without DATABASE_URL: %v", err)
	}
	t.Setenv("TESTENV_PG", "")
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if _, err := findPostgres(t); err == nil || !strings.Contains(err.Error(), "DATABASE_URL does not answer") {
		t.Errorf("dead DATABASE_URL: %v", err)
	}
	t.Setenv("DATABASE_URL", "")
	t.Setenv("TESTENV_PG", "private")
	srv, err := findPostgres(t) // stopped by Main
	if err != nil {
		Unavailable(t, err.Error())
	}
	if srv.source != "private" {
		t.Fatalf("TESTENV_PG=private gave %s", srv.source)
	}
	t.Run("database", func(t *testing.T) {
		db := createDatabase(t, srv)
		var v string
		if err := db.Conn(t).QueryRow(context.Background(), "SHOW server_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		t.Logf("private cluster: PostgreSQL %s", v)
	})
}

// rerun runs this test binary again with extra environment, in dir, limited
// to the tests matching run, and returns its verbose output.
func rerun(t *testing.T, dir, run string, env ...string) (string, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+run+"$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestExternalServices runs the shared-service tests again in a child
// process pointed at servers by TEST_MINIO_ENDPOINT and DATABASE_URL.
func TestExternalServices(t *testing.T) {
	srv := StartMinIO(t, MinIOOptions{})
	db := Postgres(t)
	out, err := rerun(t, "", "(TestMinIOShared|TestPostgresFreshDatabases)",
		"TEST_MINIO_ENDPOINT="+srv.Endpoint, "TEST_MINIO_ACCESS_KEY="+srv.AccessKey, "TEST_MINIO_SECRET_KEY="+srv.SecretKey,
		"DATABASE_URL="+db.URL, "TESTENV_PG=")
	if err != nil || !strings.Contains(out, "--- PASS: TestMinIOShared") || !strings.Contains(out, "PostgreSQL source: DATABASE_URL") {
		t.Fatalf("child run against external services (%v):\n%s", err, out)
	}
	// The child's buckets were removed from the server it borrowed (MinIO
	// may list a bucket for a while after removing it — seen past 10 s, with
	// a zero creation date, while every package's tests load the machine).
	var buckets []minio.BucketInfo
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		buckets, err = srv.Client(t).ListBuckets(context.Background())
		if err == nil && len(buckets) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(buckets) != 0 {
		t.Errorf("buckets left on the external server: %v %v\nchild output:\n%s", buckets, err, out)
	}
}

// TestMissingMinIO: with no MinIO to be had, a test fails in CI and skips
// elsewhere, with the same one line saying how to get it.
func TestMissingMinIO(t *testing.T) {
	env := []string{"MINIO_BIN=", "TEST_MINIO_ENDPOINT=", "PATH=/usr/bin:/bin"}
	dir := t.TempDir() // outside the repository: no .bin/minio to find
	out, err := rerun(t, dir, "TestMinIOShared", append(env, "CI=true")...)
	if err == nil || !strings.Contains(out, "--- FAIL: TestMinIOShared") || !strings.Contains(out, "run `make minio`") {
		t.Errorf("in CI (%v):\n%s", err, out)
	}
	out, err = rerun(t, dir, "TestMinIOShared", append(env, "CI=")...)
	if err != nil || !strings.Contains(out, "--- SKIP: TestMinIOShared") || !strings.Contains(out, "run `make minio`") {
		t.Errorf("outside CI (%v):\n%s", err, out)
	}
}
