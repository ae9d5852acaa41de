package devstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/faasbuild"
)

// gitRepo makes c.Root a git repository holding everything but .dev and
// build, committed.
func gitRepo(t *testing.T, c *Config) {
	t.Helper()
	t.Setenv("GIT_AUTHOR_NAME", "test")
	t.Setenv("GIT_AUTHOR_EMAIL", "test@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "test")
	t.Setenv("GIT_COMMITTER_EMAIL", "test@example.com")
	write(t, filepath.Join(c.Root, ".gitignore"), ".dev/\nbuild/\n.env\n")
	git(t, c.Root, "init", "-q")
	commitAll(t, c.Root, "first")
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func commitAll(t *testing.T, dir, msg string) {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", msg)
}

// TestOutdatedFunctionsFollowTheCodeVersion: on a running stack, a function
// running another version than the repository's is rebuilt when its build
// inputs changed since the commit it was built from (committed or not), and
// only then; a dirty or unknown version counts as changed. The builds are
// newer than every source here, so the modification times alone would
// rebuild nothing.
func TestOutdatedFunctionsFollowTheCodeVersion(t *testing.T) {
	c := testRoot(t)
	write(t, c.StackFile, `version: 1.0
provider: {name: openfaas, gateway: "http://127.0.0.1:8080"}
functions:
  alpha: {lang: golang-http, handler: ./functions/alpha, image: alpha:latest}
  beta: {lang: golang-http, handler: ./functions/beta, image: beta:latest}
`)
	for _, n := range []string{"alpha", "beta"} {
		write(t, filepath.Join(c.Root, "functions", n, "handler.go"), "package function\n")
	}
	gitRepo(t, c)
	f := loadStack(t, c)
	future := time.Now().Add(time.Hour)
	for _, n := range []string{"alpha", "beta"} {
		bin := filepath.Join(c.Root, "build", n, "handler")
		write(t, bin, "binary")
		if err := os.Chtimes(bin, future, future); err != nil {
			t.Fatal(err)
		}
	}
	version := func() string {
		v, err := faasbuild.CodeVersion(t.Context(), c.Root)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	outdated := func(running map[string]string) []string {
		t.Helper()
		got, err := OutdatedFunctions(t.Context(), c, f, running)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	v1 := version()
	if got := outdated(map[string]string{"alpha": v1, "beta": v1}); len(got) != 0 {
		t.Errorf("at the commit they were built from: %v", got)
	}

	write(t, filepath.Join(c.Root, "functions", "beta", "handler.go"), "package function\n\n// changed\n")
	commitAll(t, c.Root, "beta changes")
	v2 := version()
	if got := outdated(map[string]string{"alpha": v1, "beta": v1}); !slices.Equal(got, []string{"beta"}) {
		t.Errorf("a new commit changing beta: %v, want [beta]", got)
	}
	if got := outdated(map[string]string{"alpha": v1, "beta": v2}); len(got) != 0 {
		t.Errorf("beta rebuilt at %s, alpha unchanged since %s: %v", v2, v1, got)
	}

	write(t, filepath.Join(c.Root, "functions", "alpha", "handler.go"), "package function\n\n// edited, not committed\n")
	if v := version(); v != v2+"-dirty" {
		t.Fatalf("version %q, want %s-dirty", v, v2)
	}
	if got := outdated(map[string]string{"alpha": v2, "beta": v2}); !slices.Equal(got, []string{"alpha"}) {
		t.Errorf("alpha edited in the work tree: %v, want [alpha]", got)
	}
	dirty := v2 + "-dirty"
	if got := outdated(map[string]string{"alpha": dirty, "beta": dirty}); len(got) != 0 {
		t.Errorf("built from this dirty tree: %v", got)
	}
	if got := outdated(map[string]string{"alpha": "0000000", "beta": v1 + "-dirty"}); !slices.Equal(got, []string{"alpha", "beta"}) {
		t.Errorf("an unknown commit and another dirty tree: %v, want both", got)
	}
}

// TestDaemonRedeploysNewBuilds: SIGUSR2 (what make dev sends a running
// stack after a rebuild) has the daemon copy a function's newer build over
// the copy it runs and restart it; daemon.json gives the new version.
func TestDaemonRedeploysNewBuilds(t *testing.T) {
	c := testRoot(t)
	cancel, _, ds := runDaemon(t, DaemonOptions{Config: c, Ready: 10 * time.Second, Runtime: &Runtime{Reason: "this test runs the handler alone"}})
	defer cancel()
	before := ds.Functions[0]
	if before.Name != "echo" || !before.Ready || before.Version != "" {
		t.Fatalf("echo %+v", before)
	}
	rebuildFake(t, filepath.Join(c.Root, "build", "echo", "handler"), "abc1234")
	if !NewerBuild(c, filepath.Join(c.Root, "build"), "echo") {
		t.Fatal("the new build is not newer than the deployed copy")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	var after FunctionState
	waitFor(t, 30*time.Second, "echo restarted with the new build", func() bool {
		ds, err := ReadDaemonState(c)
		if err != nil {
			return false
		}
		after = ds.Functions[0]
		return after.Ready && after.Pid != before.Pid && after.Version == "abc1234"
	})
	if NewerBuild(c, filepath.Join(c.Root, "build"), "echo") {
		t.Error("the build is still newer than the deployed copy")
	}
	if res, _ := get(t, c.GatewayURL+"/function/echo/env"); res.StatusCode != 200 {
		t.Errorf("echo after the restart: %d", res.StatusCode)
	}
}

// rebuildFake builds the fake function stamped with version, as the
// template's Dockerfile stamps a function, and puts it at bin.
func rebuildFake(t *testing.T, bin, version string) {
	t.Helper()
	tmp := bin + ".new"
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-ldflags", "-X "+versionVar+"="+version, "-o", tmp, "./testdata/fakefn")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
}
