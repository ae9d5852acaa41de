//go:build integration

package devstack

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serviceState reads one service from daemon.json.
func serviceState(t *testing.T, c *Config, name string) ServiceState {
	t.Helper()
	ds, err := ReadDaemonState(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ds.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %s in daemon.json: %+v", name, ds.Services)
	return ServiceState{}
}

// TestServicesAreSupervised (issue 15, item 3): the daemon restarts a killed
// MinIO by itself; `make dev` (Up) on a stack with MinIO down brings it back
// before it returns; after PostgreSQL is restarted by hand (pg_ctl restart)
// `make status` reads the runs while it serves (the daemon adopts it); a
// MinIO restarted by hand is stopped by `make dev-down`, which frees every
// port.
func TestServicesAreSupervised(t *testing.T) {
	c, daemonBin, _ := scratchStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	_, err := Up(ctx, c, UpOptions{Out: &out, DaemonBin: daemonBin, NoBuild: true})
	t.Cleanup(func() {
		if err := Down(context.Background(), c, &out); err != nil {
			t.Errorf("cleanup down: %v", err)
		}
		if t.Failed() {
			t.Logf("output:\n%s\ndevstack.log:\n%s", out.String(), Tail(c.Path("logs", "devstack.log"), 30))
		}
	})
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out.String())
	}
	minioUp := func() bool { return ServiceHealth(ctx, c, ServiceMinIO) == nil }

	// 1. Killed, MinIO comes back by itself.
	m0 := serviceState(t, c, ServiceMinIO)
	if err := syscall.Kill(m0.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "minio restarted by the daemon", func() bool {
		s := serviceState(t, c, ServiceMinIO)
		return s.Ready && s.Pid != m0.Pid && s.Restarts == 1 && minioUp()
	})

	// 2. Killed again, `make dev` brings it back before returning.
	m1 := serviceState(t, c, ServiceMinIO)
	if err := syscall.Kill(m1.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "daemon.json to see minio down", func() bool { return !serviceState(t, c, ServiceMinIO).Ready })
	out.Reset()
	if _, err := Up(ctx, c, UpOptions{Out: &out, DaemonBin: daemonBin, NoBuild: true}); err != ErrAlreadyUp {
		t.Fatalf("up on a running stack: %v\n%s", err, out.String())
	}
	if !minioUp() || !strings.Contains(out.String(), "down: minio") {
		t.Fatalf("after make dev MinIO answers: %v; output:\n%s", minioUp(), out.String())
	}

	// 3. PostgreSQL restarted by hand: status works while it serves.
	pg, err := NewPostgres(c.Path("pg"), c.Path("logs", "postgres.log"), c.PostgresPort)
	if err != nil {
		t.Fatal(err)
	}
	p0 := serviceState(t, c, ServicePostgres)
	if o, err := pg.run(ctx, "pg_ctl", "-D", pg.DataDir(), "-l", filepath.Join(pg.Dir, "by-hand.log"), "-m", "fast", "-w", "restart"); err != nil {
		t.Fatalf("pg_ctl restart: %v\n%s", err, o)
	}
	handPid, err := pg.Pid()
	if err != nil || handPid == p0.Pid {
		t.Fatalf("after pg_ctl restart: pid %d (was %d) %v", handPid, p0.Pid, err)
	}
	var status bytes.Buffer
	if err := Status(ctx, c, &status, StatusOptions{}); err != nil {
		t.Fatalf("status after a PostgreSQL restart by hand: %v\n%s", err, status.String())
	}
	if !strings.Contains(status.String(), "no runs recorded yet") {
		t.Errorf("status:\n%s", status.String())
	}
	waitFor(t, 30*time.Second, "the hand-started postmaster adopted", func() bool {
		s := serviceState(t, c, ServicePostgres)
		return s.Adopted && s.Ready && s.Pid == handPid
	})

	// 4. MinIO restarted by hand: killed, and started again from the shell
	// with the stack's command line before the daemon's backoff is over.
	m2 := serviceState(t, c, ServiceMinIO)
	spec := minioProc(c)
	byHand := exec.Command(spec.Path, spec.Args...)
	byHand.Env = spec.Env
	byHand.SysProcAttr = detachedAttr()
	logf, err := os.Create(c.Path("logs", "minio-by-hand.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	byHand.Stdout, byHand.Stderr = logf, logf
	if err := syscall.Kill(m2.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "minio's port free", func() bool { return PortFree(c.MinIOAddress) })
	if err := byHand.Start(); err != nil {
		t.Fatal(err)
	}
	handExited := make(chan struct{})
	go func() { byHand.Wait(); close(handExited) }()
	waitFor(t, 60*time.Second, "a MinIO serving again", minioUp)
	owner, _ := ListenerPid(c.MinIOAddress)
	t.Logf("MinIO on %s is pid %d (by hand: %d)", c.MinIOAddress, owner, byHand.Process.Pid)

	out.Reset()
	if err := Down(ctx, c, &out); err != nil {
		t.Fatalf("down: %v\n%s", err, out.String())
	}
	ports := []string{c.MinIOAddress, c.MinIOConsoleAddress, "127.0.0.1:" + strconv.Itoa(c.PostgresPort)}
	if gw, _ := c.GatewayAddr(); gw != "" {
		ports = append(ports, gw)
	}
	if busy := WaitPortsFree(ports, time.Second); len(busy) > 0 {
		t.Errorf("ports in use after down: %v\n%s", busy, out.String())
	}
	select {
	case <-handExited:
	case <-time.After(10 * time.Second):
		t.Errorf("the MinIO started by hand (pid %d) survived down", byHand.Process.Pid)
	}
	if pg.Running() {
		t.Error("the postmaster started by hand survived down")
	}
}
