package faasbuild

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// CommitVar is the variable stack.yml's build_args take the code version
// from (GIT_COMMIT: ${GIT_COMMIT:-dev}); the template's Dockerfile stamps it
// into config.Version.
const CommitVar = "GIT_COMMIT"

// CodeVersion is the short commit of the git repository holding dir, with
// "-dirty" when tracked files differ from it (as `git describe --dirty`
// counts: untracked files such as .bin or .dev do not make a build dirty).
func CodeVersion(ctx context.Context, dir string) (string, error) {
	git := func(args ...string) (string, error) {
		// --no-optional-locks: reading the version must not take index.lock
		// from a git command running at the same time.
		cmd := exec.CommandContext(ctx, "git", append([]string{"--no-optional-locks", "-C", dir}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(string(ee.Stderr)))
			}
			return "", fmt.Errorf("git %s in %s: %w", strings.Join(args, " "), dir, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	commit, err := git("rev-parse", "--short", "HEAD")
	if err != nil {
		return "", err
	}
	changes, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", err
	}
	if changes != "" {
		commit += "-dirty"
	}
	return commit, nil
}

// StackLookup is the variable lookup to load a stack file with: env's
// values, except that an unset or empty GIT_COMMIT is CodeVersion(dir), so
// a local build is stamped as `GIT_COMMIT=$(git rev-parse --short HEAD)
// faas-cli build` would stamp it. Outside a git repository GIT_COMMIT stays
// unset and the stack file's default applies; notice, when not nil, hears why.
func StackLookup(ctx context.Context, dir string, env func(string) (string, bool), notice func(error)) func(string) (string, bool) {
	var (
		resolved bool
		commit   string
	)
	return func(name string) (string, bool) {
		if v, ok := env(name); name != CommitVar || ok && v != "" {
			return v, ok
		}
		if !resolved {
			resolved = true
			v, err := CodeVersion(ctx, dir)
			if err != nil && notice != nil {
				notice(fmt.Errorf("%s unset and no commit to default it to: %w", CommitVar, err))
			}
			commit = v
		}
		return commit, commit != ""
	}
}

// Build does for function name what `faas-cli build` does, without a
// container runtime: its build context shrinkwrapped to out/<name>, then the
// "build" stage of the context's Dockerfile run in it, with the function's
// build_args of the stack file (opt.BuildArgs win, as --build-arg does).
// It returns the context's folder; the binary is <folder>/handler.
func Build(ctx context.Context, f *stackfile.File, name, templates, out string, opt BuildOptions) (string, error) {
	dir, err := Shrinkwrap(f, name, templates, out)
	if err != nil {
		return "", err
	}
	args := map[string]string{}
	for k, v := range f.Functions[name].BuildArgs {
		args[k] = v
	}
	for k, v := range opt.BuildArgs {
		args[k] = v
	}
	opt.BuildArgs = args
	if opt.Stage == "" {
		opt.Stage = "build"
	}
	if err := RunBuildStage(ctx, dir, opt); err != nil {
		return dir, fmt.Errorf("build %s: %w", name, err)
	}
	return dir, nil
}
