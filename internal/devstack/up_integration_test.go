//go:build integration

package devstack

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"

	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
)

// TestUpDownWithRealServices brings the whole local stack up in a scratch
// repository (real PostgreSQL cluster, real MinIO with the chain's webhook
// targets, the daemon binary built from cmd/devstack, a fake merge function),
// checks that a MinIO bucket notification reaches the function through the
// gateway with the pipeline token, then brings it down: every process gone,
// every port free.
// scratchStack lays out a repository with one fake function (merge, which
// records its calls) for Up with the real services: MinIO, PostgreSQL, the
// daemon built from cmd/devstack. It returns the config, the daemon binary
// and merge's record file.
func scratchStack(t *testing.T) (*Config, string, string) {
	t.Helper()
	minioBin, err := testenv.MinIOBinary()
	if err != nil {
		testenv.Unavailable(t, err.Error())
	}
	if _, err := PostgresBinDir(); err != nil {
		testenv.Unavailable(t, err.Error())
	}
	root := t.TempDir()
	// The server runs as postgres when we are root: it must reach .dev/pg.
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	record := filepath.Join(root, "merge-calls.jsonl")
	copyTemplate(t, root)
	write(t, filepath.Join(root, "stack.yml"), `version: 1.0
provider: {name: openfaas}
functions:
  merge:
    lang: golang-http
    handler: ./functions/merge
    image: ghcr.io/arrestcast/merge:latest
    environment: {FAKEFN_RECORD: `+record+`, write_timeout: 5s}
    secrets: [arrestcast-pipeline-token]
`)
	write(t, filepath.Join(root, ".env"), "PIPELINE_TOKEN=integration-token\n")
	for k, v := range map[string]string{
		"OPENFAAS_URL": "http://" + freeAddr(t), "MINIO_ADDRESS": freeAddr(t), "MINIO_CONSOLE_ADDRESS": freeAddr(t),
		"SOCRATA_ADDRESS": freeAddr(t), "MINIO_BIN": minioBin, "PIPELINE_TOKEN": "",
	} {
		t.Setenv(k, v)
	}
	pgPort, _ := FreePort()
	t.Setenv("POSTGRES_PORT", strconv.Itoa(pgPort))
	if err := os.MkdirAll(filepath.Join(root, "build", "merge"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyExecutable(fakeFn(t), filepath.Join(root, "build", "merge", "handler")); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	return c, daemonBinary(t), record
}

func TestUpDownWithRealServices(t *testing.T) {
	c, daemonBin, record := scratchStack(t)
	pgPort := c.PostgresPort
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	st, err := Up(ctx, c, UpOptions{Out: &out, DaemonBin: daemonBin, NoBuild: true})
	t.Cleanup(func() {
		if err := Down(context.Background(), c, &out); err != nil {
			t.Errorf("cleanup down: %v", err)
		}
		t.Logf("output:\n%s", out.String())
	})
	if err != nil {
		t.Fatalf("up: %v\n%s\n%s", err, out.String(), Tail(c.Path("logs", "devstack.log"), 20))
	}
	if !strings.Contains(out.String(), "socrata stand-in: not started") {
		t.Errorf("no note about the missing stand-in:\n%s", out.String())
	}
	if _, err := Up(ctx, c, UpOptions{Out: &out, DaemonBin: daemonBin, NoBuild: true}); !errors.Is(err, ErrAlreadyUp) {
		t.Errorf("second up: %v, want ErrAlreadyUp", err)
	}
	if len(st.Functions) != 1 || !st.Functions[0].Ready {
		t.Fatalf("functions %+v", st.Functions)
	}
	fnPid := st.Functions[0].Pid
	procs := map[string]ProcRef{"daemon": st.Daemon.ProcRef, "minio": st.MinIO.ProcRef, "postgres": st.Postgres.ProcRef, "merge": RefOf(fnPid)}
	for name, p := range procs {
		if !p.Alive() {
			t.Errorf("%s (pid %d) is not running", name, p.Pid)
		}
	}

	// PostgreSQL: the database the secret names answers.
	dbURL, err := ReadSecret(c.Path("secrets"), config.SecretDatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect %s: %v", redactURL(dbURL), err)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "arrestcast" {
		t.Errorf("database %q %v", db, err)
	}
	conn.Close(ctx)

	// MinIO: a manifest under download's output starts merge, through the gateway, with the token.
	mc, err := minio.New(c.MinIOAddress, &minio.Options{Creds: credentials.NewStaticV4(c.MinIOUser, c.MinIOPassword, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, chain.DataBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	merge, _ := chain.Lookup("merge")
	l, _ := merge.Listens()
	arn, err := notification.NewArnFromString(merge.ARN())
	if err != nil {
		t.Fatal(err)
	}
	q := notification.NewConfig(arn)
	q.AddEvents(notification.ObjectCreatedPut)
	q.AddFilterPrefix(l.Prefix)
	q.AddFilterSuffix(l.Suffix)
	cfg := notification.Configuration{}
	cfg.AddQueue(q)
	if err := mc.SetBucketNotification(ctx, chain.DataBucket, cfg); err != nil {
		t.Fatalf("set notification (is the MERGE target configured?): %v\n%s", err, Tail(c.Path("logs", "minio.log"), 20))
	}
	key := l.Prefix + "2017-11/manifest.json"
	manifest := `{"step":"download"}`
	if _, err := mc.PutObject(ctx, chain.DataBucket, key, strings.NewReader(manifest), int64(len(manifest)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(record)
		if bytes.Contains(b, []byte("s3:ObjectCreated:Put")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no webhook call at merge after 30s; merge saw:\n%s\ngateway:\n%s\nminio:\n%s", b,
				Tail(c.Path("logs", "devstack.log"), 15), Tail(c.Path("logs", "minio.log"), 15))
		}
		time.Sleep(100 * time.Millisecond)
	}
	calls, _ := os.ReadFile(record)
	var post string
	for _, line := range strings.Split(string(calls), "\n") {
		if strings.Contains(line, "s3:ObjectCreated:Put") {
			post = line
		}
	}
	for _, want := range []string{`"method":"POST"`, `"Bearer integration-token"`, "2017-11", "manifest.json"} {
		if !strings.Contains(post, want) {
			t.Errorf("webhook call lacks %s: %s", want, post)
		}
	}

	// make dev again after merge was rebuilt (another version): the daemon
	// redeploys and restarts merge alone, and the stack stays up.
	rebuildFake(t, filepath.Join(c.Root, "build", "merge", "handler"), "abc1234")
	out.Reset()
	if _, err := Up(ctx, c, UpOptions{Out: &out, DaemonBin: daemonBin, NoBuild: true}); !errors.Is(err, ErrAlreadyUp) {
		t.Errorf("up after a rebuild: %v, want ErrAlreadyUp", err)
	}
	if !strings.Contains(out.String(), "redeploying merge (new builds)") || !strings.Contains(out.String(), "restarted: merge (version abc1234)") {
		t.Errorf("up after a rebuild said:\n%s", out.String())
	}
	ds, err := ReadDaemonState(c)
	if err != nil || len(ds.Functions) != 1 || ds.Functions[0].Pid == fnPid || !ds.Functions[0].Ready || ds.Functions[0].Version != "abc1234" {
		t.Errorf("merge after the redeploy: %+v %v (was pid %d)", ds, err, fnPid)
	} else {
		procs["merge"] = RefOf(ds.Functions[0].Pid)
	}
	for _, name := range []string{"daemon", "minio", "postgres"} {
		if !procs[name].Alive() {
			t.Errorf("%s (pid %d) did not survive the redeploy", name, procs[name].Pid)
		}
	}

	// Down: everything stops, every port is free, stack.json is gone.
	if err := Down(ctx, c, &out); err != nil {
		t.Fatalf("down: %v", err)
	}
	for name, p := range procs {
		if p.Alive() {
			t.Errorf("%s (pid %d) survived down", name, p.Pid)
		}
	}
	gw, _ := c.GatewayAddr()
	if busy := WaitPortsFree([]string{gw, c.MinIOAddress, c.MinIOConsoleAddress, "127.0.0.1:" + strconv.Itoa(pgPort), st.Functions[0].Addr}, time.Second); len(busy) > 0 {
		t.Errorf("ports in use after down: %v", busy)
	}
	if _, err := os.Stat(c.Path("stack.json")); !os.IsNotExist(err) {
		t.Errorf("stack.json left: %v", err)
	}
	// The watchdog logs its drain and exit after the signal (and, some
	// runs, errors reading the pipes it closed): look past them.
	if !strings.Contains(Tail(c.Path("logs", "merge.log"), 20), "SIGTERM received") {
		t.Errorf("merge.log:\n%s", Tail(c.Path("logs", "merge.log"), 20))
	}
}
