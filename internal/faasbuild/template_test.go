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
