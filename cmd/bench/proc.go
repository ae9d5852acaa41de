//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// run starts a program in the repository root, waits for it and returns its
// stdout and what the kernel measured. stderr goes to work/logs/<name>.log;
// a failure quotes its last lines. The process gets its own process group so
// a timeout ends its children too.
func (b *bench) run(ctx context.Context, name, prog string, args, env []string, timeout time.Duration) ([]byte, Proc, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	logPath := filepath.Join(b.work, "logs", name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, Proc{}, fmt.Errorf("create log: %w", err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = b.cfg.Root
	cmd.Env = append(os.Environ(), env...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	proc := procOf(cmd.ProcessState, time.Since(start))
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s", timeout)
		}
		return stdout.Bytes(), proc, fmt.Errorf("%s %s: %w%s", filepath.Base(prog), strings.Join(shortArgs(args), " "), err, tailOf(logPath))
	}
	return stdout.Bytes(), proc, nil
}

// procOf reads wall time, CPU time and peak RSS of a finished process.
func procOf(ps *os.ProcessState, wall time.Duration) Proc {
	p := Proc{WallSeconds: wall.Seconds()}
	if ps == nil {
		return p
	}
	p.UserSeconds = ps.UserTime().Seconds()
	p.SysSeconds = ps.SystemTime().Seconds()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		p.MaxRSSMB = float64(ru.Maxrss) / 1024 // Linux: kilobytes
	}
	return p
}

// server is a long-running process under test.
type server struct {
	name  string
	cmd   *exec.Cmd
	done  chan struct{}
	err   error
	start time.Time
}

// startServer starts a server in its own process group, output to a log.
func (b *bench) startServer(name, prog string, args, env []string) (*server, error) {
	logf, err := os.Create(filepath.Join(b.work, "logs", name+".log"))
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	cmd := exec.Command(prog, args...)
	cmd.Dir = b.cfg.Root
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, cmd: cmd, done: make(chan struct{}), start: time.Now()}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	slog.Info("server started", "name", name, "pid", cmd.Process.Pid)
	return s, nil
}

// exited reports whether the server has stopped on its own.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 10 s) and returns what
// the kernel measured of it.
func (s *server) stop() Proc {
	if !s.exited() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
	return procOf(s.cmd.ProcessState, time.Since(s.start))
}
