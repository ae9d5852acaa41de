// Command devstack runs ArrestCast's local stack: the functions of stack.yml
// as faasd would run them, each its own process, behind a local OpenFaaS-style
// gateway with the cron-connector's schedule, a real MinIO and a private
// PostgreSQL. The Makefile's dev, dev-down, status, logs, invoke and demo
// targets call it.
//
//	devstack up [-no-build]          build changed functions, start everything in the background (state in .dev/)
//	devstack down                    stop everything, check the ports are free
//	devstack status [-runs 5]        processes, services, functions; every unfinished or failed run, then the newest finished ones
//	devstack tools                   where the real faas-cli and of-watchdog are (FAAS_CLI, OF_WATCHDOG, PATH, ../shared/bin)
//	devstack kubernetes              regenerate deploy/kubernetes/functions.yml with faas-cli generate
//	devstack logs [-f] [-n 200] FN   a function's log (or minio, postgres, socrata, devstack)
//	devstack invoke [-X M] FN        the cron tick for download, else POST with BODY=... or stdin
//	devstack demo                    the whole system on the bundled 2017 data
//	devstack daemon                  (internal) the supervisor, gateway and cron `up` starts
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/arrestcast/arrestcast/internal/devstack"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: devstack up|down|demo|tools|kubernetes
       devstack status [-runs N]
       devstack logs [-f] [-n LINES] FUNCTION
       devstack invoke [-X METHOD] FUNCTION   (body from $BODY or stdin)`)
}

func run(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	root := fs.String("root", ".", "repository root (holds stack.yml and .env)")
	var (
		follow  *bool
		lines   *int
		method  *string
		noBuild *bool
		nRuns   *int
		require *bool
	)
	switch cmd {
	case "up":
		noBuild = fs.Bool("no-build", false, "start with the functions already built (skip faasbuild)")
	case "logs":
		follow = fs.Bool("f", os.Getenv("FOLLOW") != "", "follow the log")
		lines = fs.Int("n", 200, "lines to show")
	case "invoke":
		method = fs.String("X", "", "HTTP method (default POST)")
	case "tools":
		require = fs.Bool("require", false, "fail when a tool is missing")
	case "status":
		nRuns = fs.Int("runs", 5, "newest finished runs to show (every unfinished or failed one is shown first)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch cmd {
	case "tools":
		return tools(*root, *require, os.Stdout)
	case "kubernetes":
		abs, err := filepath.Abs(*root)
		if err != nil {
			return err
		}
		cli, err := devstack.FindTool(abs, "FAAS_CLI", "faas-cli")
		if err != nil {
			return err
		}
		if err := devstack.WriteKubernetesFunctions(ctx, abs, cli); err != nil {
			return err
		}
		fmt.Println("wrote", devstack.KubernetesFunctionsFile)
		return nil
	}
	c, err := devstack.LoadConfig(*root)
	if err != nil {
		return err
	}
	out := os.Stdout
	switch cmd {
	case "up":
		st, err := devstack.Up(ctx, c, devstack.UpOptions{Out: out, NoBuild: *noBuild})
		if errors.Is(err, devstack.ErrAlreadyUp) {
			fmt.Fprintf(out, "the local stack is up (daemon pid %d, gateway %s): make status, or make dev-down to stop it\n", st.Daemon.Pid, st.Gateway.URL)
			return nil
		}
		if err != nil {
			return err
		}
		printUp(out, c, st)
		return nil
	case "down":
		return devstack.Down(ctx, c, out)
	case "status":
		return devstack.Status(ctx, c, out, devstack.StatusOptions{Runs: *nRuns})
	case "logs":
		if fs.NArg() != 1 {
			return errors.New("usage: devstack logs [-f] [-n LINES] FUNCTION")
		}
		return devstack.Logs(ctx, c, fs.Arg(0), *lines, *follow, out)
	case "invoke":
		if fs.NArg() != 1 {
			return errors.New("usage: devstack invoke [-X METHOD] FUNCTION (body from BODY=... or stdin)")
		}
		body, err := invokeBody()
		if err != nil {
			return err
		}
		ans, err := devstack.Invoke(ctx, c, fs.Arg(0), strings.ToUpper(*method), body, out)
		if err != nil {
			return err
		}
		if ans.Status >= 400 {
			return fmt.Errorf("%s answered %d", fs.Arg(0), ans.Status)
		}
		return nil
	case "demo":
		return devstack.Demo(ctx, c, devstack.DemoOptions{Out: out}) // reads runs after its reset and up
	case "daemon":
		logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
		services, err := devstack.StackServices(c)
		if err != nil {
			return err
		}
		return devstack.RunDaemon(ctx, devstack.DaemonOptions{Config: c, Logger: logger, Services: services})
	default:
		usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// invokeBody is BODY=... (make invoke FN=x BODY='{...}') or stdin when it is
// not a terminal.
func invokeBody() ([]byte, error) {
	if b, ok := os.LookupEnv("BODY"); ok {
		return []byte(b), nil
	}
	fi, err := os.Stdin.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice != 0 {
		return nil, nil
	}
	return io.ReadAll(os.Stdin)
}

// tools prints where the real OpenFaaS tools are, as the conformance tests
// and the local stack find them, or one line saying how to get them.
func tools(root string, require bool, out io.Writer) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	cli, cliErr := devstack.FindTool(abs, "FAAS_CLI", "faas-cli")
	wd, wdErr := devstack.FindTool(abs, "OF_WATCHDOG", "of-watchdog", "fwatchdog")
	if cliErr != nil || wdErr != nil {
		fmt.Fprintln(out, "the OpenFaaS conformance tests (the real faas-cli against the local stack, functions behind the real of-watchdog) do not run: "+devstack.ToolsHint)
		if require {
			for _, err := range []error{cliErr, wdErr} {
				if err != nil {
					fmt.Fprintln(out, "  "+strings.SplitN(err.Error(), ":", 2)[0])
				}
			}
			return errors.New("the OpenFaaS tools are missing")
		}
		return nil
	}
	fmt.Fprintf(out, "OpenFaaS conformance tests: faas-cli %s, of-watchdog %s\n", cli, wd)
	return nil
}

func printUp(out io.Writer, c *devstack.Config, st *devstack.StackState) {
	pw := filepath.Join(st.Secrets, devstack.SecretBasicAuthPassword)
	fmt.Fprintf(out, `
ArrestCast local stack is up (state in %s)
  gateway   %s   (basic auth on /system: admin / $(cat %s))
  minio     %s   console %s   (user %s)
  postgres  %s
`, c.Dev, st.Gateway.URL, rel(c, pw), st.MinIO.URL, st.Console, c.MinIOUser, st.Postgres.URL)
	if st.Socrata != nil {
		fmt.Fprintf(out, "  socrata   %s\n", st.Socrata.URL)
	}
	var up, down []string
	for _, f := range st.Functions {
		if f.Deployed && f.Ready {
			up = append(up, f.Name)
		} else {
			down = append(down, f.Name)
		}
	}
	fmt.Fprintf(out, "  functions ready: %s\n  (%s)\n", strings.Join(up, " "), st.Runtime)
	if len(down) > 0 {
		fmt.Fprintf(out, "  not running: %s (make status says why)\n", strings.Join(down, " "))
	}
	for _, cr := range st.Cron {
		fmt.Fprintf(out, "  cron      %s on %q (next %s UTC)\n", cr.Function, cr.Schedule, cr.Next.UTC().Format("2006-01-02 15:04"))
	}
	fmt.Fprintf(out, `
  curl -s %[1]s/system/functions -u admin:$(cat %[2]s)
  make invoke FN=download        # the monthly tick, as the cron-connector sends it
  make logs FN=download          # a function's log
  make status                    # processes and the runs' steps
  make dev-down                  # stop everything
`, st.Gateway.URL, rel(c, pw))
}

func rel(c *devstack.Config, p string) string {
	if r, err := filepath.Rel(c.Root, p); err == nil {
		return r
	}
	return p
}
