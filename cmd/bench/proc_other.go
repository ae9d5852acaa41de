//go:build !unix

package main

import (
	"context"
	"errors"
	"os/exec"
	"time"
)

// The bench measures processes through Unix process groups and rusage.
var errUnsupported = errors.New("the bench runs on Linux (or another Unix)")

func (b *bench) run(ctx context.Context, name, prog string, args, env []string, timeout time.Duration) ([]byte, Proc, error) {
	return nil, Proc{}, errUnsupported
}

type server struct {
	name  string
	cmd   *exec.Cmd
	done  chan struct{}
	err   error
	start time.Time
}

func (b *bench) startServer(name, prog string, args, env []string) (*server, error) {
	return nil, errUnsupported
}

func (s *server) exited() bool { return true }

func (s *server) stop() Proc { return Proc{} }
