package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Proc is one supervised process: a function's handler.
type Proc struct {
	Name string
	Path string   // executable
	Args []string // after the executable
	Dir  string   // working directory
	Env  []string // complete environment
	Log  string   // stdout and stderr are appended here, with the supervisor's exit lines
	Addr string   // host:port it serves on: ready once it accepts a connection
	// StopGrace is how long it may take to exit after SIGTERM before SIGKILL
	// (the template waits healthcheck_interval, then drains up to write_timeout).
	StopGrace time.Duration
}

// Backoff is the restart delay: Min after the first crash, doubling up to Max;
// a run that lasted Reset or more starts again from Min.
type Backoff struct {
	Min, Max, Reset time.Duration
}

// DefaultBackoff restarts quickly at first and at most every 30 s.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, Reset: time.Minute}

// ProcState is a supervised process as seen now.
type ProcState struct {
	Name     string    `json:"name"`
	Pid      int       `json:"pid,omitempty"`
	Addr     string    `json:"addr"`
	Running  bool      `json:"running"` // the process exists
	Ready    bool      `json:"ready"`   // it accepted a connection since it started
	Restarts int       `json:"restarts"`
	LastExit string    `json:"last_exit,omitempty"`
	Since    time.Time `json:"since,omitzero"`
}

// Supervisor runs processes as its children: each one crashing is logged and
// restarted with backoff without touching the others; Stop ends them all.
type Supervisor struct {
	Backoff  Backoff
	Logger   *slog.Logger
	OnChange func() // called after a process starts, becomes ready or exits; set before Start

	mu      sync.Mutex
	procs   map[string]*managed
	order   []string
	stopped bool
	wg      sync.WaitGroup
}

type managed struct {
	spec  Proc
	state ProcState
	proc  *os.Process
	ready chan struct{} // closed when first ready (per start)
	stop  chan struct{} // closed by Stop
}

// NewSupervisor returns an empty supervisor.
func NewSupervisor(logger *slog.Logger) *Supervisor {
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	return &Supervisor{Backoff: DefaultBackoff, Logger: logger, procs: map[string]*managed{}}
}

// Start launches p and keeps it running until Stop.
func (s *Supervisor) Start(p Proc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("supervisor stopped")
	}
	if _, dup := s.procs[p.Name]; dup {
		return fmt.Errorf("process %s already supervised", p.Name)
	}
	if p.StopGrace <= 0 {
		p.StopGrace = 15 * time.Second
	}
	m := &managed{spec: p, state: ProcState{Name: p.Name, Addr: p.Addr}, stop: make(chan struct{}), ready: make(chan struct{})}
	s.procs[p.Name] = m
	s.order = append(s.order, p.Name)
	s.wg.Add(1)
	go s.loop(m)
	return nil
}

// States returns every process's state, in start order.
func (s *Supervisor) States() []ProcState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ProcState, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.procs[n].state)
	}
	return out
}

// State returns one process's state.
func (s *Supervisor) State(name string) (ProcState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.procs[name]
	if !ok {
		return ProcState{}, false
	}
	return m.state, true
}

// WaitReady waits until the named process accepts connections.
func (s *Supervisor) WaitReady(ctx context.Context, name string) error {
	for {
		s.mu.Lock()
		m, ok := s.procs[name]
		var ready chan struct{}
		if ok {
			ready = m.ready
		}
		s.mu.Unlock()
		if !ok {
			return fmt.Errorf("no process %s", name)
		}
		select {
		case <-ready:
			return nil
		case <-ctx.Done():
			st, _ := s.State(name)
			if st.LastExit != "" {
				return fmt.Errorf("%s not ready (last exit: %s): %w", name, st.LastExit, ctx.Err())
			}
			return fmt.Errorf("%s not ready: %w", name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
			// m.ready is replaced on each restart: look again
		}
	}
}

// Stop sends SIGTERM to every process, waits for each up to its StopGrace,
// then SIGKILLs what is left, and returns once all have exited.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		for _, m := range s.procs {
			close(m.stop)
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Supervisor) changed() {
	if s.OnChange != nil {
		s.OnChange()
	}
}

func (s *Supervisor) loop(m *managed) {
	defer s.wg.Done()
	delay := s.Backoff.Min
	for {
		started := time.Now()
		exited, err := s.spawn(m)
		if err != nil {
			s.logExit(m, fmt.Sprintf("start failed: %v", err), 0, delay)
		} else {
			var exitErr error
			select {
			case exitErr = <-exited:
			case <-m.stop:
				s.terminate(m, exited)
				return
			}
			status := "exited 0"
			if exitErr != nil {
				status = exitErr.Error()
			}
			if time.Since(started) >= s.Backoff.Reset {
				delay = s.Backoff.Min
			}
			s.logExit(m, status, time.Since(started), delay)
		}
		select {
		case <-m.stop:
			return
		case <-time.After(delay):
		}
		delay *= 2
		if delay > s.Backoff.Max {
			delay = s.Backoff.Max
		}
		s.mu.Lock()
		m.state.Restarts++
		s.mu.Unlock()
	}
}

// spawn starts the process once; exited receives its Wait result.
func (s *Supervisor) spawn(m *managed) (<-chan error, error) {
	p := m.spec
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Dir = p.Dir
	cmd.Env = p.Env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = childAttr()
	err = cmd.Start()
	logf.Close() // the child holds its own copy
	if err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	s.mu.Lock()
	m.proc = cmd.Process
	m.ready = ready
	m.state.Pid = cmd.Process.Pid
	m.state.Running = true
	m.state.Ready = false
	m.state.Since = time.Now().UTC()
	s.mu.Unlock()
	s.Logger.Info("function started", "function", p.Name, "pid", cmd.Process.Pid, "addr", p.Addr)
	s.changed()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	go s.watchReady(m, cmd.Process.Pid, ready)
	return exited, nil
}

// watchReady marks the process ready once its address accepts a connection.
func (s *Supervisor) watchReady(m *managed, pid int, ready chan struct{}) {
	if m.spec.Addr == "" {
		return
	}
	for {
		s.mu.Lock()
		same := m.state.Pid == pid && m.state.Running
		s.mu.Unlock()
		if !same {
			return
		}
		c, err := net.DialTimeout("tcp", m.spec.Addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			s.mu.Lock()
			if m.state.Pid == pid && m.state.Running {
				m.state.Ready = true
				close(ready)
			}
			s.mu.Unlock()
			s.changed()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// terminate stops a running process: SIGTERM, then SIGKILL after StopGrace.
func (s *Supervisor) terminate(m *managed, exited <-chan error) {
	s.mu.Lock()
	p := m.proc
	s.mu.Unlock()
	_ = p.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-exited:
	case <-time.After(m.spec.StopGrace):
		s.Logger.Warn("function did not stop in time, killing", "function", m.spec.Name, "pid", p.Pid, "grace", m.spec.StopGrace.String())
		_ = p.Kill()
		err = <-exited
	}
	status := "exited 0"
	if err != nil {
		status = err.Error()
	}
	s.mu.Lock()
	m.state.Running, m.state.Ready, m.state.LastExit = false, false, status
	s.mu.Unlock()
	s.appendLog(m, slog.LevelInfo, "function stopped", "pid", p.Pid, "exit", status)
	s.Logger.Info("function stopped", "function", m.spec.Name, "pid", p.Pid, "exit", status)
	s.changed()
}

func (s *Supervisor) logExit(m *managed, status string, ran, restartIn time.Duration) {
	s.mu.Lock()
	pid := m.state.Pid
	m.state.Running, m.state.Ready, m.state.LastExit = false, false, status
	s.mu.Unlock()
	s.appendLog(m, slog.LevelError, "function exited, restarting", "pid", pid, "exit", status,
		"ran", ran.Round(time.Millisecond).String(), "restart_in", restartIn.String())
	s.Logger.Error("function exited, restarting", "function", m.spec.Name, "pid", pid, "exit", status,
		"ran", ran.Round(time.Millisecond).String(), "restart_in", restartIn.String())
	s.changed()
}

// appendLog writes one JSON line to the function's own log, so `make logs`
// shows why it went away next to what it printed.
func (s *Supervisor) appendLog(m *managed, level slog.Level, msg string, args ...any) {
	f, err := os.OpenFile(m.spec.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	l := slog.New(slog.NewJSONHandler(f, nil)).With("source", "devstack", "function", m.spec.Name)
	l.Log(context.Background(), level, msg, args...)
}

// Names returns the supervised names, sorted.
func (s *Supervisor) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.order...)
	sort.Strings(out)
	return out
}
