package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arrestcast/arrestcast/internal/freeport"
)

// ProcRef names a process `up` started, by pid and start time, so `down`
// never signals a process that merely reused the pid.
type ProcRef struct {
	Pid        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks,omitempty"` // /proc/<pid>/stat field 22 (Linux)
}

// RefOf reads the start time of a running pid.
func RefOf(pid int) ProcRef {
	t, _ := startTicks(pid)
	return ProcRef{Pid: pid, StartTicks: t}
}

// startTicks reads a process's start time in clock ticks since boot; 0 where
// /proc is not available.
func startTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !procAvailable() {
			return 0, nil
		}
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	if f[0] == "Z" { // a zombie has exited
		return 0, fmt.Errorf("process %d exited", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

func procAvailable() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// Alive reports whether the referenced process still runs.
func (r ProcRef) Alive() bool {
	if r.Pid <= 0 {
		return false
	}
	if err := syscall.Kill(r.Pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	t, err := startTicks(r.Pid)
	if err != nil {
		return false
	}
	return r.StartTicks == 0 || t == 0 || t == r.StartTicks
}

// Stop sends SIGTERM, waits up to grace for the process to go, then SIGKILLs
// it. A process already gone is not an error.
func (r ProcRef) Stop(grace time.Duration) error {
	if !r.Alive() {
		return nil
	}
	if err := syscall.Kill(r.Pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("signal %d: %w", r.Pid, err)
	}
	if r.waitGone(grace) {
		return nil
	}
	if err := syscall.Kill(r.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %d: %w", r.Pid, err)
	}
	if !r.waitGone(5 * time.Second) {
		return fmt.Errorf("process %d survived SIGKILL", r.Pid)
	}
	return fmt.Errorf("process %d ignored SIGTERM for %s and was killed", r.Pid, grace)
}

func (r ProcRef) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !r.Alive() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !r.Alive()
}

// Detached is a service started in its own session, outliving its starter.
type Detached struct {
	Ref    ProcRef
	Exited chan error // receives the exit while the starter lives (it reaps it)
}

// StartDetached starts bin in its own session with stdout/stderr appended to
// logPath.
func StartDetached(logPath, dir string, env []string, cred *syscall.Credential, bin string, args ...string) (*Detached, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = detachedAttr()
	cmd.SysProcAttr.Credential = cred
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	d := &Detached{Ref: RefOf(cmd.Process.Pid), Exited: make(chan error, 1)}
	go func() { d.Exited <- cmd.Wait() }()
	return d, nil
}

// PortFree reports whether nothing listens on addr (host:port).
func PortFree(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err == nil {
		c.Close()
		return false
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// WaitPortsFree waits until every addr is free; it returns the busy ones.
func WaitPortsFree(addrs []string, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var busy []string
		for _, a := range addrs {
			if !PortFree(a) {
				busy = append(busy, a)
			}
		}
		if len(busy) == 0 || time.Now().After(deadline) {
			return busy
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// FreePort returns a free loopback port (see internal/freeport).
func FreePort() (int, error) { return freeport.Get() }

// writeJSONFile writes v to path atomically (temp file + rename).
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

// baseEnv is the host environment a service gets: PATH, HOME, TMPDIR, LANG.
func baseEnv(extra map[string]string) []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			if _, set := extra[k]; !set {
				out = append(out, k+"="+v)
			}
		}
	}
	for _, k := range sortedKeys(extra) {
		out = append(out, k+"="+extra[k])
	}
	return out
}
