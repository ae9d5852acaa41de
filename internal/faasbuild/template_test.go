package faasbuild

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/shared/predict"
)

// exchange writes raw to the function, closes its side for writing (the
// body ends there, whatever the headers promised) and reads the answer.
func exchange(t *testing.T, addr, raw string) (int, map[string]any) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("status %d, body %q is not JSON: %v", res.StatusCode, b, err)
	}
	return res.StatusCode, out
}

func post(headers, body string) string {
	return "POST / HTTP/1.1\r\nHost: function\r\nAuthorization: Bearer the-token\r\n" + headers + "\r\n" + body
}

func chunk(n int) string { return fmt.Sprintf("%x\r\n%s\r\n", n, strings.Repeat("x", n)) }

const probeLimit = 1024

func startProbe(t *testing.T) *fnProc {
	bin, _ := probeBinary(t)
	return startFunction(t, bin, map[string]string{"max_request_body": "1KiB", "PROBE_TOKEN": "the-token"})
}

// A body up to max_request_body reaches the handler whole, with a
// Content-Length or chunked.
func TestBodyWithinLimit(t *testing.T) {
	p := startProbe(t)
	for name, raw := range map[string]string{
		"content-length": post(fmt.Sprintf("Content-Length: %d\r\n", probeLimit), strings.Repeat("x", probeLimit)),
		"chunked":        post("Transfer-Encoding: chunked\r\n", chunk(probeLimit/2)+chunk(probeLimit/2)+"0\r\n\r\n"),
		"empty":          post("Content-Length: 0\r\n", ""),
	} {
		want := float64(probeLimit)
		if name == "empty" {
			want = 0
		}
		if status, out := exchange(t, p.addr, raw); status != http.StatusOK || out["body_bytes"] != want {
			t.Errorf("%s: %d %v, want 200 with body_bytes %v", name, status, out, want)
		}
	}
}

// A Content-Length over the limit is refused from the headers alone: the
// request here sends no body at all (a server reading it would see it end
// early and answer 400), and the answer is 413 naming the limit.
func TestContentLengthOverLimitRefusedUnread(t *testing.T) {
	p := startProbe(t)
	for _, length := range []int64{probeLimit + 1, 2 << 30} {
		status, out := exchange(t, p.addr, post(fmt.Sprintf("Content-Length: %d\r\n", length), ""))
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("Content-Length %d: %d %v, want 413", length, status, out)
		}
		msg, _ := out["error"].(string)
		if !strings.Contains(msg, "max_request_body") || !strings.Contains(msg, "1024 bytes") || out["max_request_body"] != float64(probeLimit) || out["field"] != "body" {
			t.Errorf("Content-Length %d: error %v does not name the limit", length, out)
		}
	}
}

// A chunked body (what of-watchdog forwards) is refused once limit+1 bytes
// are in: the request sends exactly that many and never ends its chunked
// body, so an answer of 413 (not a 400 for the cut-off body) shows the
// template stopped reading there. A bad token makes no difference: the
// template refuses before the handler checks it.
func TestChunkedBodyReadToLimitPlusOne(t *testing.T) {
	p := startProbe(t)
	for _, auth := range []string{"Bearer the-token", "Bearer wrong"} {
		raw := strings.Replace(post("Transfer-Encoding: chunked\r\n", chunk(probeLimit)+chunk(1)), "Bearer the-token", auth, 1)
		status, out := exchange(t, p.addr, raw)
		if status != http.StatusRequestEntityTooLarge || out["max_request_body"] != float64(probeLimit) {
			t.Errorf("%s: %d %v, want 413 naming the limit", auth, status, out)
		}
	}
	// One byte less is a body the handler gets (and refuses for its token).
	raw := strings.Replace(post("Transfer-Encoding: chunked\r\n", chunk(probeLimit)+"0\r\n\r\n"), "Bearer the-token", "Bearer wrong", 1)
	if status, out := exchange(t, p.addr, raw); status != http.StatusUnauthorized || out["body_bytes"] != float64(probeLimit) {
		t.Errorf("bad token, body at the limit: %d %v, want the handler's 401", status, out)
	}
}

// A body that ends before its framing says (a chunked body without its last
// chunk, a Content-Length not reached) is refused with 400: the handler never
// gets a shorter body than was sent.
func TestCutOffBodyRefused(t *testing.T) {
	p := startProbe(t)
	for name, raw := range map[string]string{
		"chunked":        post("Transfer-Encoding: chunked\r\n", chunk(10)+chunk(600)),
		"content-length": post("Content-Length: 1000\r\n", strings.Repeat("x", 610)),
	} {
		status, out := exchange(t, p.addr, raw)
		if msg, _ := out["error"].(string); status != http.StatusBadRequest || !strings.HasPrefix(msg, "read request body") {
			t.Errorf("%s cut off: %d %v, want 400", name, status, out)
		}
	}
}

// max_request_body takes bytes or binary units; unset it is 1 MiB; a value
// the template cannot read stops it at start, naming the variable.
func TestMaxRequestBodyValues(t *testing.T) {
	bin, _ := probeBinary(t)
	for v, want := range map[string]float64{"": 1 << 20, "65536": 65536, "64KiB": 64 << 10, "9MiB": 9 << 20, "9Mi": 9 << 20, "1Gi": 1 << 30, "512B": 512} {
		p := startFunction(t, bin, map[string]string{"max_request_body": v})
		if got := p.listening["max_request_body"]; got != want {
			t.Errorf("max_request_body=%q: %v bytes, want %v", v, got, want)
		}
		p.stop()
	}
	for _, v := range []string{"12MB", "0", "-1", "lots", "1.5MiB", "99999999999GiB"} {
		out, err := exited(t, bin, map[string]string{"max_request_body": v})
		if err == nil || !strings.Contains(out, "bad max_request_body") {
			t.Errorf("max_request_body=%q: exit %v, output %s", v, err, out)
		}
	}
}

// Every function of stack.yml sets max_request_body, in a form the template
// reads: predict above its own 8 MiB cap (predict answers the margin itself,
// naming the field), each step at least 16 KiB (a MinIO event is ~2 KB, a
// manual call less) and under the 1 MiB default.
func TestStackBodyLimits(t *testing.T) {
	bin, _ := probeBinary(t)
	f, err := stackfile.Load(repo.Need(t, "stack.yml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range f.Names() {
		env, err := f.Env(name)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := env["max_request_body"]
		if !ok {
			t.Errorf("%s: no max_request_body", name)
			continue
		}
		p := startFunction(t, bin, map[string]string{"max_request_body": v})
		limit, _ := p.listening["max_request_body"].(float64)
		p.stop()
		lo, hi := float64(16<<10), float64(1<<20)
		if name == "predict" {
			lo, hi = predict.MaxBody+1, 2*predict.MaxBody
		}
		if limit < lo || limit > hi {
			t.Errorf("%s: max_request_body %q = %.0f bytes, want %.0f..%.0f", name, v, limit, lo, hi)
		}
	}
}

// A function built by faasbuild with GIT_COMMIT unset carries its
// repository's commit in config.Version: the handler reports it and the
// template logs it at start.
func TestBuildStampsCommit(t *testing.T) {
	bin, commit := probeBinary(t)
	p := startFunction(t, bin, nil)
	if p.listening["version"] != commit {
		t.Errorf("listening line version %v, want %s", p.listening["version"], commit)
	}
	status, out := exchange(t, p.addr, "GET / HTTP/1.1\r\nHost: function\r\n\r\n")
	if status != http.StatusOK || out["version"] != commit {
		t.Errorf("GET: %d %v, want version %s", status, out, commit)
	}
}

// A GIT_COMMIT that cannot be a version fails the build, naming it (and
// passed as --build-arg, it overrides the stack file's build_args).
func TestBuildRefusesBadCommit(t *testing.T) {
	probeBinary(t)
	dir := filepath.Join(probe.tmp, "repo")
	f, err := stackfile.Load(filepath.Join(dir, "stack.yml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	_, err = Build(context.Background(), f, "probe", repo.Path("template"), t.TempDir(), BuildOptions{
		Env:       map[string]string{"GOWORK": "", "GOPROXY": "off", "GOFLAGS": "-buildvcs=false"},
		BuildArgs: map[string]string{CommitVar: "abc def"},
		Log:       func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) },
	})
	if err == nil || !strings.Contains(log.String(), `GIT_COMMIT must be a commit or version (letters, digits, . _ + -), got "abc def"`) {
		t.Fatalf("build with GIT_COMMIT=%q: %v\n%s", "abc def", err, log.String())
	}
}

func TestCodeVersion(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-q", "-m", "a"}} {
		if _, err := gitRun(dir, args...); err != nil {
			t.Fatal(err)
		}
	}
	head, err := gitRun(dir, "rev-parse", "--short", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(what, want string) {
		t.Helper()
		if got, err := CodeVersion(ctx, dir); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", what, got, err, want)
		}
	}
	check("clean", head)
	if err := os.WriteFile(filepath.Join(dir, "untracked.txt"), []byte("u"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("untracked file", head)
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("tracked change", head+"-dirty")

	if _, err := CodeVersion(ctx, t.TempDir()); err == nil {
		t.Error("no error outside a git repository")
	}

	// StackLookup: the environment's GIT_COMMIT wins; unset or empty, the commit.
	env := map[string]string{"TAG": "v1"}
	lookup := StackLookup(ctx, dir, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if v, _ := lookup(CommitVar); v != head+"-dirty" {
		t.Errorf("GIT_COMMIT unset: %q", v)
	}
	if v, _ := lookup("TAG"); v != "v1" {
		t.Errorf("TAG: %q", v)
	}
	env[CommitVar] = "release-7"
	lookup = StackLookup(ctx, dir, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if v, _ := lookup(CommitVar); v != "release-7" {
		t.Errorf("GIT_COMMIT set: %q", v)
	}
	var notice error
	outside := StackLookup(ctx, t.TempDir(), func(string) (string, bool) { return "", false }, func(err error) { notice = err })
	if v, ok := outside(CommitVar); ok || v != "" || notice == nil {
		t.Errorf("outside a repository: %q %v, notice %v", v, ok, notice)
	}
}

// Every function of stack.yml takes GIT_COMMIT as a build arg, "dev" when
// the variable is unset (faas-cli substitutes the whole file).
func TestStackBuildArgs(t *testing.T) {
	path := repo.Need(t, "stack.yml")
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{{map[string]string{CommitVar: "1234567"}, "1234567"}, {nil, "dev"}} {
		f, err := stackfile.Load(path, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range f.Names() {
			if got := f.Functions[name].BuildArgs[CommitVar]; got != tc.want {
				t.Errorf("%s: build_args %s = %q, want %q", name, CommitVar, got, tc.want)
			}
		}
	}
}

// RunBuildStage gives each ARG its --build-arg value, else its default, and
// reports a build arg the stage does not declare.
func TestRunBuildStageBuildArgs(t *testing.T) {
	dir := t.TempDir()
	df := "FROM golang AS build\nARG A=default\nARG B=\"b default\"\nARG C\nWORKDIR /src\nCOPY . .\nRUN printf '%s|%s|%s' \"$A\" \"$B\" \"$C\" > out\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	err := RunBuildStage(context.Background(), dir, BuildOptions{
		Stage:     "build",
		BuildArgs: map[string]string{"A": "given", "C": "c given", "UNUSED": "x"},
		Log:       func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "given|b default|c given" {
		t.Errorf("ARGs: %q", b)
	}
	if !strings.Contains(log.String(), "build arg UNUSED is not an ARG") {
		t.Errorf("unused build arg not reported:\n%s", log.String())
	}
}
