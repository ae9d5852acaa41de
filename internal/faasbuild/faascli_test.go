package faasbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
)

// The real faas-cli builds stack.yml's functions with --build-arg
// GIT_COMMIT=<the variable's value>, or dev when it is unset: a docker stand-in
// on PATH records the command faas-cli runs. Needs faas-cli (FAAS_CLI or on
// PATH; never `faas-cli version`, which reaches for the internet).
func TestFaasCLIPassesGitCommit(t *testing.T) {
	cli := os.Getenv("FAAS_CLI")
	if cli == "" {
		var err error
		if cli, err = exec.LookPath("faas-cli"); err != nil {
			t.Skip("faas-cli not found: set FAAS_CLI to run this conformance test")
		}
	}
	dir := t.TempDir()
	for _, p := range []string{"stack.yml", "template", "functions/setup", "go.mod", "go.sum", "shared"} {
		if err := copyTree(repo.Path(p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	shims := t.TempDir()
	argv := filepath.Join(dir, "docker.argv")
	docker := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + argv + "'\n"
	if err := os.WriteFile(filepath.Join(shims, "docker"), []byte(docker), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ commit, want string }{{"abc1234", "--build-arg GIT_COMMIT=abc1234 "}, {"", "--build-arg GIT_COMMIT=dev "}} {
		_ = os.Remove(argv)
		cmd := exec.Command(cli, "build", "-f", "stack.yml", "--filter", "setup")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+shims+string(os.PathListSeparator)+os.Getenv("PATH"), CommitVar+"="+tc.commit)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("faas-cli build: %v\n%s", err, out)
		}
		b, err := os.ReadFile(argv)
		if err != nil {
			t.Fatalf("faas-cli ran no docker: %v", err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("GIT_COMMIT=%q: docker %s, want %q", tc.commit, b, tc.want)
		}
	}
}
