// Command faasbuild does, without containers, what `faas-cli build` does with
// stack.yml and the template: `shrinkwrap` writes each function's build context
// to build/<fn>/, `verify` also runs the template Dockerfile's build stage in it
// (gofmt check, go test, go build) with the local Go toolchain, offline from
// the module cache. The binary it leaves at build/<fn>/handler is what the
// local stack runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"github.com/arrestcast/arrestcast/internal/faasbuild"
	"github.com/arrestcast/arrestcast/internal/stackfile"
)

func main() {
	stackFile := flag.String("f", "stack.yml", "stack file")
	templates := flag.String("templates", "template", "templates folder")
	out := flag.String("o", "build", "output folder for build contexts")
	online := flag.Bool("online", false, "let go reach the module proxy (default: offline, module cache only)")
	verbose := flag.Bool("v", false, "print every step's output")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: faasbuild [flags] shrinkwrap|verify [function ...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, flag.Arg(0), flag.Args()[1:], *stackFile, *templates, *out, *online, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "faasbuild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, only []string, stackFile, templates, out string, online, verbose bool) error {
	// GIT_COMMIT, unset, is the repository's commit: the binaries are stamped
	// with the code they were built from (config.Version).
	lookup := faasbuild.StackLookup(ctx, filepath.Dir(stackFile), os.LookupEnv, func(err error) {
		fmt.Fprintln(os.Stderr, "faasbuild:", err)
	})
	f, err := stackfile.Load(stackFile, lookup)
	if err != nil {
		return err
	}
	names := f.Names()
	if len(only) > 0 {
		for _, n := range only {
			if !slices.Contains(names, n) {
				return fmt.Errorf("no function %q in %s", n, stackFile)
			}
		}
		names = only
	}
	env := map[string]string{"GOWORK": ""}
	if !online {
		env["GOPROXY"] = "off"
		if cmd == "verify" {
			if err := faasbuild.FillModuleCache(ctx, filepath.Dir(stackFile)); err != nil {
				return err
			}
		}
	}
	var failed []string
	for _, name := range names {
		start := time.Now()
		if cmd == "shrinkwrap" {
			dir, err := faasbuild.Shrinkwrap(f, name, templates, out)
			if err != nil {
				return err
			}
			fmt.Printf("%-10s %s\n", name, dir)
			continue
		}
		if cmd != "verify" {
			return fmt.Errorf("unknown command %q (shrinkwrap or verify)", cmd)
		}
		var log []string
		dir, err := faasbuild.Build(ctx, f, name, templates, out, faasbuild.BuildOptions{
			Env: env,
			Log: func(format string, args ...any) {
				line := fmt.Sprintf(format, args...)
				log = append(log, line)
				if verbose {
					fmt.Println("  " + line)
				}
			},
		})
		if err != nil {
			failed = append(failed, name)
			fmt.Printf("FAIL %-10s %v\n", name, err)
			if !verbose {
				for _, l := range log {
					fmt.Println("  " + l)
				}
			}
			slog.Debug("build failed", "function", name)
			continue
		}
		stamp := ""
		if v, ok := f.Functions[name].BuildArgs[faasbuild.CommitVar]; ok {
			stamp = ", " + faasbuild.CommitVar + "=" + v
		}
		fmt.Printf("ok   %-10s %s (%.1fs%s)\n", name, filepath.Join(dir, "handler"), time.Since(start).Seconds(), stamp)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d functions failed: %v", len(failed), len(names), failed)
	}
	return nil
}
