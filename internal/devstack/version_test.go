package devstack

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBinaryVersionReadsTheStampedVersion: the version the template's
// Dockerfile stamps (-X shared/config.Version=$GIT_COMMIT) is read back
// from the binary; one built without it has none.
func TestBinaryVersionReadsTheStampedVersion(t *testing.T) {
	dir := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, c := range []struct{ name, ldflags, want string }{
		{"stamped", "-s -w -X " + versionVar + "=89f30c9-dirty", "89f30c9-dirty"},
		{"plain", "-s -w", ""},
	} {
		bin := filepath.Join(dir, c.name)
		cmd := exec.Command(goBin, "build", "-ldflags", c.ldflags, "-o", bin, "./testdata/fakefn")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		if got := BinaryVersion(bin); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := BinaryVersion(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("no file: %q", got)
	}
}

func TestShortVersion(t *testing.T) {
	for in, want := range map[string]string{
		"89f30c9a1b2c3d4e5f60718293a4b5c6d7e8f901": "89f30c9", "89f30c9a1b2c-dirty": "89f30c9-dirty",
		"89f30c9": "89f30c9", "dev": "dev", "integration": "integration", "": "",
	} {
		if got := ShortVersion(in); got != want {
			t.Errorf("ShortVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStatusShowsEachStepsVersion: make status has a VERSION column (the
// runs table's code_version, short), and marks the step runs made by
// another version than the one their function runs now (daemon.json).
func TestStatusShowsEachStepsVersion(t *testing.T) {
	c := &Config{Dev: t.TempDir(), PostgresPort: 5433}
	if err := writeJSONFile(c.Path("stack.json"), StackState{Started: time.Now(), Runtime: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONFile(c.Path("daemon.json"), DaemonState{Functions: []FunctionState{
		{ProcState: ProcState{Name: "download"}, Deployed: true, Version: "1111111"},
		{ProcState: ProcState{Name: "merge"}, Deployed: true, Version: "2222222-dirty"},
	}}); err != nil {
		t.Fatal(err)
	}
	all := fakeRuns{{RunDate: "2018-01-01", Status: "done", Steps: []StepRun{
		{Step: "download", Status: "done", CodeVersion: "1111111"},
		{Step: "merge", Status: "done", CodeVersion: "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"},
		{Step: "train", Status: "done", CodeVersion: "3333333"}, // train not deployed: nothing to compare with
	}}}
	var out bytes.Buffer
	if err := Status(t.Context(), c, &out, StatusOptions{Tracker: all}); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	if !strings.Contains(lines["STEP"], "VERSION") {
		t.Errorf("no VERSION column:\n%s", out.String())
	}
	if l := lines["download"]; !strings.Contains(l, " 1111111") || strings.Contains(l, "(now") {
		t.Errorf("download, run by the version running now: %q", l)
	}
	if l := lines["merge"]; !strings.Contains(l, " 0f0f0f0 (now 2222222-dirty)") || strings.Contains(l, "0f0f0f0f") {
		t.Errorf("merge, run by another version: %q", l)
	}
	if l := lines["train"]; !strings.Contains(l, " 3333333") || strings.Contains(l, "(now") {
		t.Errorf("train: %q", l)
	}
}
