package faasbuild

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Instruction is one Dockerfile instruction of a stage.
type Instruction struct {
	Op   string // upper-case: RUN, WORKDIR, ARG, ENV, COPY, ...
	Args string
}

// Stage is one FROM ... AS name stage.
type Stage struct {
	Name         string
	From         string
	Instructions []Instruction
}

// ParseDockerfile reads the stages of a Dockerfile (line continuations and
// comments handled; enough of the syntax for the template's own file).
func ParseDockerfile(data []byte) ([]Stage, error) {
	var stages []Stage
	var logical strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	flush := func() error {
		line := strings.TrimSpace(logical.String())
		logical.Reset()
		if line == "" {
			return nil
		}
		op, args, _ := strings.Cut(line, " ")
		op = strings.ToUpper(op)
		args = strings.TrimSpace(args)
		if op == "FROM" {
			fields := strings.Fields(args)
			st := Stage{}
			for i := 0; i < len(fields); i++ {
				switch {
				case strings.HasPrefix(fields[i], "--"):
				case strings.EqualFold(fields[i], "AS") && i+1 < len(fields):
					st.Name = fields[i+1]
					i++
				default:
					st.From = fields[i]
				}
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			if op == "ARG" {
				return nil // global ARG before the first FROM
			}
			return fmt.Errorf("dockerfile: %s before FROM", op)
		}
		last := &stages[len(stages)-1]
		last.Instructions = append(last.Instructions, Instruction{Op: op, Args: args})
		return nil
	}
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if logical.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			continue // comment inside a continued instruction
		}
		if strings.HasSuffix(trimmed, "\\") {
			logical.WriteString(strings.TrimSuffix(trimmed, "\\"))
			logical.WriteString(" ")
			continue
		}
		logical.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return stages, nil
}

// BuildOptions control RunBuildStage and Build.
type BuildOptions struct {
	Stage   string            // stage to run ("build")
	Workdir string            // the image path the build context is copied to (the stage's first WORKDIR before COPY . .)
	Env     map[string]string // extra environment (GOPROXY=off, GOFLAGS=-mod=mod, ...)
	// BuildArgs are docker build's --build-arg: each sets the stage's ARG of
	// that name (its default otherwise); one the stage does not declare is
	// reported and unused, as docker does.
	BuildArgs map[string]string
	Log       func(format string, args ...any)
}

// RunBuildStage runs the RUN steps of a stage of the context's Dockerfile on
// this machine, with the context folder standing for the image path where
// `COPY . .` put it. Steps that need another stage's files (the watchdog) are
// skipped and reported.
func RunBuildStage(ctx context.Context, contextDir string, opt BuildOptions) error {
	data, err := os.ReadFile(filepath.Join(contextDir, "Dockerfile"))
	if err != nil {
		return fmt.Errorf("read Dockerfile: %w", err)
	}
	stages, err := ParseDockerfile(data)
	if err != nil {
		return err
	}
	var st *Stage
	for i := range stages {
		if stages[i].Name == opt.Stage {
			st = &stages[i]
		}
	}
	if st == nil {
		return fmt.Errorf("dockerfile has no stage %q", opt.Stage)
	}
	logf := opt.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	env := map[string]string{}
	consumed := map[string]bool{}
	root := "" // image path that maps to contextDir (set by COPY . .)
	workdir := "/"
	for _, in := range st.Instructions {
		switch in.Op {
		case "ARG":
			k, v, _ := strings.Cut(in.Args, "=")
			if a, ok := opt.BuildArgs[k]; ok {
				env[k] = a
				consumed[k] = true
			} else if _, set := env[k]; !set {
				env[k] = strings.Trim(v, `"`)
			}
		case "ENV":
			k, v, ok := strings.Cut(in.Args, "=")
			if !ok {
				k, v, _ = strings.Cut(in.Args, " ")
			}
			env[k] = expand(strings.Trim(v, `"`), env)
		case "WORKDIR":
			if filepath.IsAbs(in.Args) {
				workdir = in.Args
			} else {
				workdir = filepath.Join(workdir, in.Args)
			}
		case "COPY":
			if strings.TrimSpace(in.Args) == ". ." {
				root = workdir
			}
		case "RUN":
			if root == "" || strings.Contains(in.Args, "fwatchdog") {
				logf("skip (needs the image): RUN %s", in.Args)
				continue
			}
			rel, err := filepath.Rel(root, workdir)
			if err != nil || strings.HasPrefix(rel, "..") {
				return fmt.Errorf("RUN in %s is outside the build context %s", workdir, root)
			}
			dir := filepath.Join(contextDir, rel)
			logf("RUN %s  (in %s)", in.Args, dir)
			cmd := exec.CommandContext(ctx, "sh", "-c", in.Args)
			cmd.Dir = dir
			cmd.Env = os.Environ()
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			for k, v := range opt.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			if len(out) > 0 {
				logf("%s", strings.TrimRight(string(out), "\n"))
			}
			if err != nil {
				return fmt.Errorf("RUN %s: %w", in.Args, err)
			}
		}
	}
	if root == "" {
		return fmt.Errorf("stage %q never copies the build context (COPY . .)", opt.Stage)
	}
	for k := range opt.BuildArgs {
		if !consumed[k] {
			logf("build arg %s is not an ARG of stage %q: not used", k, opt.Stage)
		}
	}
	return nil
}

func expand(s string, env map[string]string) string {
	return os.Expand(s, func(k string) string { return env[k] })
}
