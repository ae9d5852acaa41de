//go:build integration

package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/faasbuild"
	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/internal/testenv"
)

// faasCLI finds the real faas-cli (FAAS_CLI, PATH, ../shared/bin), or the
// test ends saying how to get it (a failure in CI).
func faasCLI(t *testing.T) string {
	t.Helper()
	p, err := FindTool(repo.Root(), "FAAS_CLI", "faas-cli")
	if err != nil {
		testenv.Unavailable(t, err.Error())
	}
	return p
}

// cli runs the real faas-cli in its own empty folder with its own HOME
// (where `login` keeps the credentials), never with `version`.
type cli struct {
	t    *testing.T
	bin  string
	dir  string
	home string
	gw   string
}

func (c *cli) cmd(ctx context.Context, stdin string, args ...string) *exec.Cmd {
	for _, a := range args {
		if a == "version" {
			c.t.Fatal("faas-cli version reaches for the internet")
		}
	}
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"HOME=" + c.home, "PATH=" + os.Getenv("PATH"), "OPENFAAS_URL=" + c.gw, "NO_COLOR=1"}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return cmd
}

// run runs faas-cli to its end and returns what it printed (stdout and stderr).
func (c *cli) run(stdin string, args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.cmd(ctx, stdin, args...).CombinedOutput()
	return string(out), err
}

func (c *cli) must(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("faas-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// jsonLogs parses `faas-cli logs --output=json` lines.
func jsonLogs(t *testing.T, out string) []LogMessage {
	t.Helper()
	var ms []LogMessage
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m LogMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("faas-cli logs line %q: %v", line, err)
		}
		ms = append(ms, m)
	}
	return ms
}

// TestFaasCLIAgainstTheLocalStack drives the real faas-cli against a running
// local stack (real MinIO and PostgreSQL, the daemon, one function; behind
// the real of-watchdog when it is available): login, list, describe, invoke
// (sync and async), logs (--since, --lines, --tail=false, and a follow that
// sees a line written after it started), ready, secret
// list/create/update/remove, namespace list.
func TestFaasCLIAgainstTheLocalStack(t *testing.T) {
	bin := faasCLI(t)
	c, daemonBin, record := scratchStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	st, err := Up(ctx, c, UpOptions{Out: &out, DaemonBin: daemonBin, NoBuild: true})
	t.Cleanup(func() {
		if err := Down(context.Background(), c, &out); err != nil {
			t.Errorf("down: %v", err)
		}
		if t.Failed() {
			t.Logf("stack output:\n%s\ndevstack.log:\n%s\nmerge.log:\n%s", out.String(),
				Tail(c.Path("logs", "devstack.log"), 20), Tail(c.Path("logs", "merge.log"), 20))
		}
	})
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out.String())
	}
	t.Logf("functions: %s", st.Runtime)
	fc := &cli{t: t, bin: bin, dir: t.TempDir(), home: t.TempDir(), gw: c.GatewayURL}
	gw := "--gateway=" + c.GatewayURL
	password, err := ReadSecret(c.Path("secrets"), SecretBasicAuthPassword)
	if err != nil {
		t.Fatal(err)
	}

	// Before login the provider API is refused.
	if o, err := fc.run("", "list", gw); err == nil || !strings.Contains(strings.ToLower(o), "unauthorized") {
		t.Errorf("list before login: %v\n%s", err, o)
	}
	if o := fc.must(password, "login", gw, "--username=admin", "--password-stdin"); !strings.Contains(o, "credentials saved for admin") {
		t.Errorf("login:\n%s", o)
	}

	// list, list -v (a real CreatedAt), describe, ready.
	if o := fc.must("", "list", gw); !strings.Contains(o, "merge") {
		t.Errorf("list:\n%s", o)
	}
	if o := fc.must("", "list", gw, "-v"); !strings.Contains(o, "ghcr.io/arrestcast/merge:latest") || strings.Contains(o, "0001-01-01") ||
		!strings.Contains(o, time.Now().UTC().Format("2006-01-02")) {
		t.Errorf("list -v (CreatedAt is the replica's start):\n%s", o)
	}
	o := fc.must("", "describe", "merge", gw)
	for _, want := range []string{"Status:", "Ready", "Replicas:", "Available Replicas:", "1", "ghcr.io/arrestcast/merge:latest", "arrestcast-pipeline-token", "URL:"} {
		if !strings.Contains(o, want) {
			t.Errorf("describe lacks %q:\n%s", want, o)
		}
	}
	if o := fc.must("", "ready", "merge", gw, "--attempts=10"); !strings.Contains(o, "Function merge is ready") {
		t.Errorf("ready merge:\n%s", o)
	}
	if o := fc.must("", "ready", gw, "--attempts=10"); !strings.Contains(o, "OpenFaaS gateway is ready") {
		t.Errorf("ready:\n%s", o)
	}

	// invoke, sync: the function's answer; async: accepted, run by the queue.
	o = fc.must("sync-body-1", "invoke", "merge", gw)
	if e := decodeEcho(t, []byte(o[strings.Index(o, "{"):])); e.Body != "sync-body-1" || e.Method != http.MethodPost {
		t.Errorf("invoke: %+v", e)
	}
	if o := fc.must("async-body-2", "invoke", "merge", gw, "--async"); !strings.Contains(o, "Function submitted asynchronously") {
		t.Errorf("invoke --async:\n%s", o)
	}
	waitFor(t, 20*time.Second, "the async call to reach merge", func() bool {
		b, _ := os.ReadFile(record)
		return bytes.Contains(b, []byte("async-body-2"))
	})
	if o := fc.must("", "describe", "merge", gw); !strings.Contains(o, "Invocations:") {
		t.Errorf("describe:\n%s", o)
	}

	// logs: lines the function prints, with faasd's query semantics.
	say := func(text string) {
		t.Helper()
		res, b := get(t, c.GatewayURL+"/function/merge/log?text="+url.QueryEscape(text))
		if res.StatusCode != 200 {
			t.Fatalf("log %q: %d %s", text, res.StatusCode, b)
		}
	}
	say("conformance-old")
	time.Sleep(3 * time.Second)
	say("conformance-a")
	say("conformance-b")
	// Only the handler's lines (of-watchdog logs each request beside them).
	ours := func(ms []LogMessage) string {
		var s []string
		for _, m := range ms {
			if strings.HasPrefix(m.Text, "conformance-") {
				s = append(s, m.Text)
			}
		}
		return strings.Join(s, ",")
	}
	all := jsonLogs(t, fc.must("", "logs", "merge", gw, "--tail=false", "--output=json"))
	if ours(all) != "conformance-old,conformance-a,conformance-b" {
		t.Errorf("logs --tail=false: %s", texts(all))
	}
	for _, m := range all {
		if m.Name != "merge" || m.Namespace != Namespace || m.Instance == "" || m.Timestamp.IsZero() {
			t.Errorf("message %+v", m)
		}
	}
	if got := ours(jsonLogs(t, fc.must("", "logs", "merge", gw, "--tail=false", "--since=10m", "--output=json"))); got != "conformance-old,conformance-a,conformance-b" {
		t.Errorf("logs --since=10m: %s", got)
	}
	if got := ours(jsonLogs(t, fc.must("", "logs", "merge", gw, "--tail=false", "--since=2s", "--output=json"))); got != "conformance-a,conformance-b" {
		t.Errorf("logs --since=2s: %s", got)
	}
	if got := jsonLogs(t, fc.must("", "logs", "merge", gw, "--tail=false", "--lines=2", "--output=json")); len(got) != 2 ||
		texts(got) != texts(all[len(all)-2:]) {
		t.Errorf("logs --lines=2: %s, the journal ends with %s", texts(got), texts(all[len(all)-2:]))
	}
	if o := fc.must("", "logs", "merge", gw, "--tail=false"); !strings.Contains(o, "conformance-b") {
		t.Errorf("logs (plain):\n%s", o)
	}
	// Follow (the default): a line written after it started arrives.
	fctx, fcancel := context.WithCancel(ctx)
	follow := fc.cmd(fctx, "", "logs", "merge", gw, "--output=json")
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			seen = append(seen, sc.Text())
			mu.Unlock()
		}
	}()
	has := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(seen, "\n"), s)
	}
	waitFor(t, 20*time.Second, "faas-cli logs to print what is there", func() bool { return has("conformance-b") })
	say("conformance-after-follow")
	waitFor(t, 20*time.Second, "faas-cli logs to follow a new line", func() bool { return has("conformance-after-follow") })
	fcancel()
	_ = follow.Wait()

	// secrets: names only, create (twice: refused), update seen by the
	// function at once, remove; values never printed.
	if o := fc.must("", "secret", "list", gw); !strings.Contains(o, "arrestcast-pipeline-token") || strings.Contains(o, SecretBasicAuthPassword) ||
		strings.Contains(o, "integration-token") {
		t.Errorf("secret list:\n%s", o)
	}
	if o := fc.must("conformance-value-1", "secret", "create", "conformance-secret", gw); !strings.Contains(o, "Created") {
		t.Errorf("secret create:\n%s", o)
	}
	if o, _ := fc.run("other", "secret", "create", "conformance-secret", gw); !strings.Contains(o, "already exists") {
		t.Errorf("secret create again:\n%s", o)
	}
	if o := fc.must("", "secret", "list", gw); !strings.Contains(o, "conformance-secret") || strings.Contains(o, "conformance-value") {
		t.Errorf("secret list after create:\n%s", o)
	}
	if o := fc.must("rotated-token-3", "secret", "update", "arrestcast-pipeline-token", gw); !strings.Contains(o, "Updated") {
		t.Errorf("secret update:\n%s", o)
	}
	if res, b := get(t, c.GatewayURL+"/function/merge/secret/arrestcast-pipeline-token"); res.StatusCode != 200 || string(b) != "rotated-token-3" {
		t.Errorf("the function reads its secret as %d %q after the update", res.StatusCode, b)
	}
	if o := fc.must("", "secret", "remove", "conformance-secret", gw); strings.Contains(o, "unable") {
		t.Errorf("secret remove:\n%s", o)
	}
	if o := fc.must("", "secret", "list", gw); strings.Contains(o, "conformance-secret") {
		t.Errorf("secret list after remove:\n%s", o)
	}
	if log, _ := os.ReadFile(c.Path("logs", "devstack.log")); bytes.Contains(log, []byte("conformance-value-1")) || bytes.Contains(log, []byte("rotated-token-3")) {
		t.Error("a secret's value is in the daemon's log")
	}

	// namespaces
	if o := fc.must("", "namespace", "list", gw); !strings.Contains(o, "- openfaas-fn") {
		t.Errorf("namespace list:\n%s", o)
	}
}

// TestFaasCLIShrinkwrapMatchesFaasbuild: `faas-cli build --shrinkwrap -f
// stack.yml` writes the same build contexts, byte for byte, as faasbuild
// (what `make verify-functions` builds), for whatever stack.yml names:
// handlers, configuration.copy, templates, environment files.
func TestFaasCLIShrinkwrapMatchesFaasbuild(t *testing.T) {
	bin := faasCLI(t)
	root := repo.Root()
	work := t.TempDir()
	noEnv := func(string) (string, bool) { return "", false }
	f, err := stackfile.Load(filepath.Join(root, "stack.yml"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	paths := append([]string{"stack.yml"}, f.Configuration.Copy...)
	for _, name := range f.Names() {
		fn := f.Functions[name]
		paths = append(paths, fn.Handler, filepath.Join("template", fn.Lang))
		paths = append(paths, fn.EnvironmentFile...)
	}
	slices.Sort(paths)
	for _, p := range slices.Compact(paths) {
		copyInto(t, filepath.Join(root, p), filepath.Join(work, p))
	}
	cmd := exec.Command(bin, "build", "--shrinkwrap", "-f", "stack.yml")
	cmd.Dir = work
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "NO_COLOR=1"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("faas-cli build --shrinkwrap: %v\n%s", err, out)
	}
	ours := t.TempDir()
	wf, err := stackfile.Load(filepath.Join(work, "stack.yml"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range wf.Names() {
		if _, err := faasbuild.Shrinkwrap(wf, name, filepath.Join(work, "template"), ours); err != nil {
			t.Fatal(err)
		}
	}
	theirs := treeOf(t, filepath.Join(work, "build"))
	mine := treeOf(t, ours)
	if len(theirs) == 0 {
		t.Fatal("faas-cli wrote nothing")
	}
	for p, b := range theirs {
		if m, ok := mine[p]; !ok {
			t.Errorf("faasbuild lacks %s", p)
		} else if m != b {
			t.Errorf("%s differs (mode and bytes): faas-cli %q..., faasbuild %q...", p, head(b), head(m))
		}
	}
	for p := range mine {
		if _, ok := theirs[p]; !ok {
			t.Errorf("faasbuild writes %s, faas-cli does not", p)
		}
	}
	t.Logf("%d files in %d build contexts identical", len(theirs), len(wf.Names()))
}

func head(s string) string { return s[:min(len(s), 40)] }

// treeOf maps every path under dir to its kind, file mode and bytes (folders
// by path only: faas-cli makes the context folders 0700).
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.IsDir() {
			out[rel+"/"] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = fi.Mode().Perm().String() + " " + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// copyInto copies a file or a folder.
func copyInto(t *testing.T, src, dst string) {
	t.Helper()
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}
