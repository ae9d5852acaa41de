package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DialFunc dials addr where a process serves (its own network namespace, for
// a function behind of-watchdog).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Spawned is one started instance of a process.
type Spawned struct {
	Wait func() error // waits for it to exit
	Dial DialFunc     // reaches its Addr; nil: the host's network
}

// Proc is one supervised process: a function's handler (or its watchdog), or
// a service of the stack (MinIO, PostgreSQL, the Socrata stand-in).
type Proc struct {
	Name string
	Kind string   // "function" (default) or "service", in log lines
	Path string   // executable
	Args []string // after the executable
	Dir  string   // working directory
	Env  []string // complete environment
	// Log is the process's journal: each line of its stdout and stderr with
	// its time and pid, and the supervisor's own lines about it.
	Log  string
	Addr string // host:port it serves on
	// StopGrace is how long it may take to exit after StopSignal before SIGKILL
	// (the template waits healthcheck_interval, then drains up to write_timeout).
	StopGrace  time.Duration
	StopSignal syscall.Signal      // default SIGTERM (PostgreSQL: SIGINT, its fast shutdown)
	Credential *syscall.Credential // run as this user (PostgreSQL refuses to run as root)
	// Ready reports whether a started instance serves; default: Addr accepts
	// a TCP connection. dial reaches the instance's network.
	Ready func(ctx context.Context, dial DialFunc) error
	// Adopt finds an instance serving already (started by hand, say with
	// pg_ctl): the supervisor watches it and stops it with the others
	// instead of starting a second one that could not bind.
	Adopt func() (pid int, ok bool)
	// Launch starts cmd (default: cmd.Start on the host); the watchdog mode
	// starts it in a network namespace of its own.
	Launch func(cmd *exec.Cmd) (*Spawned, error)
}

func (p Proc) kind() string {
	if p.Kind == "" {
		return "function"
	}
	return p.Kind
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
	Running  bool      `json:"running"`           // the process exists
	Ready    bool      `json:"ready"`             // it answered since it started
	Adopted  bool      `json:"adopted,omitempty"` // started outside the stack, watched and stopped by it
	Restarts int       `json:"restarts"`
	LastExit string    `json:"last_exit,omitempty"`
	Since    time.Time `json:"since,omitzero"` // when the running instance started (or was adopted)
}

// Supervisor runs processes as its children: each one exiting is logged and
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
	spec    Proc
	journal *journal
	state   ProcState
	ref     ProcRef       // the running instance
	dial    DialFunc      // reaches the running instance
	ready   chan struct{} // closed when first ready (per start)
	stop    chan struct{} // closed by Stop
	kick    chan struct{} // cuts a backoff wait short (Kick)
	restart chan struct{} // stops the running instance and starts a new one (Restart)
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
	if p.StopSignal == 0 {
		p.StopSignal = syscall.SIGTERM
	}
	m := &managed{spec: p, journal: &journal{path: p.Log}, state: ProcState{Name: p.Name, Addr: p.Addr},
		stop: make(chan struct{}), ready: make(chan struct{}), kick: make(chan struct{}, 1), restart: make(chan struct{}, 1)}
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

// Dialer returns how to reach the running instance of name (nil: the host's
// network) and whether one runs.
func (s *Supervisor) Dialer(name string) (DialFunc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.procs[name]
	if !ok || !m.state.Running {
		return nil, false
	}
	return m.dial, true
}

// Kick restarts at once every process waiting out its backoff (`make dev`
// on a stack with something down); one that runs is left alone.
func (s *Supervisor) Kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.procs {
		if m.state.Running {
			continue
		}
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
}

// Restart stops the running instance of name (its stop signal and grace,
// as Stop) and starts it again at once, from the same spec: a new binary at
// its Path (a redeploy) runs. One waiting out its backoff starts at once.
// A deliberate restart is not counted in Restarts.
func (s *Supervisor) Restart(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.procs[name]
	if !ok {
		return fmt.Errorf("no process %s", name)
	}
	select {
	case m.restart <- struct{}{}:
	default: // one is pending already
	}
	return nil
}

// WaitReady waits until the named process serves.
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

// Stop sends every process its stop signal, waits for each up to its
// StopGrace, then SIGKILLs what is left, and returns once all have exited.
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
		var exited <-chan error
		var err error
		if pid, ok := s.adopt(m); ok {
			exited = s.watchAdopted(m, pid)
		} else {
			exited, err = s.spawn(m)
		}
		if err != nil {
			s.logExit(m, fmt.Sprintf("start failed: %v", err), 0, delay)
		} else {
			var exitErr error
			select {
			case exitErr = <-exited:
			case <-m.stop:
				s.terminate(m, exited)
				return
			case <-m.restart:
				s.terminate(m, exited)
				s.Logger.Info(m.spec.kind()+" restarting on request", m.spec.kind(), m.spec.Name)
				delay = s.Backoff.Min
				continue
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
		case <-m.kick:
			delay = s.Backoff.Min
		case <-m.restart:
			delay = s.Backoff.Min
		case <-time.After(delay):
			delay *= 2
			if delay > s.Backoff.Max {
				delay = s.Backoff.Max
			}
			select { // a kick that came too late is not for the next exit
			case <-m.kick:
			default:
			}
		}
		s.mu.Lock()
		m.state.Restarts++
		s.mu.Unlock()
	}
}

// adopt looks for an instance started outside the supervisor.
func (s *Supervisor) adopt(m *managed) (int, bool) {
	if m.spec.Adopt == nil {
		return 0, false
	}
	pid, ok := m.spec.Adopt()
	return pid, ok && pid > 0
}

// watchAdopted follows a process that is not our child until it is gone.
func (s *Supervisor) watchAdopted(m *managed, pid int) <-chan error {
	ref := RefOf(pid)
	ready := make(chan struct{})
	s.mu.Lock()
	m.ref, m.dial, m.ready = ref, nil, ready
	m.state.Pid, m.state.Running, m.state.Ready, m.state.Adopted = pid, true, false, true
	m.state.Since = time.Now().UTC()
	s.mu.Unlock()
	s.appendLog(m, slog.LevelWarn, m.spec.kind()+" adopted: it was started outside the stack; watched and stopped with it", "pid", pid)
	s.Logger.Warn(m.spec.kind()+" adopted", m.spec.kind(), m.spec.Name, "pid", pid)
	s.changed()
	go s.watchReady(m, pid, ready, nil)
	exited := make(chan error, 1)
	go func() {
		for ref.Alive() {
			select {
			case <-m.stop:
				// terminate signals it and waits for this to report.
				for ref.Alive() {
					time.Sleep(50 * time.Millisecond)
				}
				exited <- nil
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
		exited <- errors.New("adopted process exited")
	}()
	return exited
}

// spawn starts the process once; exited receives its Wait result once its
// output is in the journal.
func (s *Supervisor) spawn(m *managed) (<-chan error, error) {
	p := m.spec
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Dir = p.Dir
	cmd.Env = p.Env
	cmd.Stdout = pw
	cmd.Stderr = pw
	cmd.SysProcAttr = childAttr(p.StopSignal)
	cmd.SysProcAttr.Credential = p.Credential
	launch := p.Launch
	if launch == nil {
		launch = func(cmd *exec.Cmd) (*Spawned, error) {
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			return &Spawned{Wait: cmd.Wait}, nil
		}
	}
	sp, err := launch(cmd)
	pw.Close() // the child holds its own copy
	if err != nil {
		pr.Close()
		return nil, err
	}
	pid := cmd.Process.Pid
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		defer pr.Close()
		m.journal.copyLines(pr, pid)
	}()
	ready := make(chan struct{})
	s.mu.Lock()
	m.ref, m.dial, m.ready = RefOf(pid), sp.Dial, ready
	m.state.Pid, m.state.Running, m.state.Ready, m.state.Adopted = pid, true, false, false
	m.state.Since = time.Now().UTC()
	s.mu.Unlock()
	s.Logger.Info(p.kind()+" started", p.kind(), p.Name, "pid", pid, "addr", p.Addr)
	s.changed()

	exited := make(chan error, 1)
	go func() {
		err := sp.Wait()
		// A grandchild may hold the pipe open: do not wait for it long.
		select {
		case <-drained:
		case <-time.After(time.Second):
		}
		exited <- err
	}()
	go s.watchReady(m, pid, ready, sp.Dial)
	return exited, nil
}

// watchReady marks the instance ready once its probe passes.
func (s *Supervisor) watchReady(m *managed, pid int, ready chan struct{}, dial DialFunc) {
	probe := m.spec.Ready
	if probe == nil {
		if m.spec.Addr == "" {
			return
		}
		probe = func(ctx context.Context, dial DialFunc) error { return dialProbe(ctx, dial, m.spec.Addr) }
	}
	for {
		s.mu.Lock()
		same := m.state.Pid == pid && m.state.Running
		s.mu.Unlock()
		if !same {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := probe(ctx, dial)
		cancel()
		if err == nil {
			s.mu.Lock()
			if m.state.Pid == pid && m.state.Running {
				m.state.Ready = true
				close(ready)
			}
			s.mu.Unlock()
			s.changed()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialProbe succeeds once addr accepts a TCP connection.
func dialProbe(ctx context.Context, dial DialFunc, addr string) error {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 500 * time.Millisecond}).DialContext
	}
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// terminate stops a running instance: its stop signal, then SIGKILL after
// StopGrace.
func (s *Supervisor) terminate(m *managed, exited <-chan error) {
	s.mu.Lock()
	ref := m.ref
	s.mu.Unlock()
	_ = syscall.Kill(ref.Pid, m.spec.StopSignal)
	var err error
	select {
	case err = <-exited:
	case <-time.After(m.spec.StopGrace):
		s.Logger.Warn(m.spec.kind()+" did not stop in time, killing", m.spec.kind(), m.spec.Name, "pid", ref.Pid, "grace", m.spec.StopGrace.String())
		if ref.Alive() {
			_ = syscall.Kill(ref.Pid, syscall.SIGKILL)
		}
		err = <-exited
		if err == nil {
			err = errors.New("killed after the stop grace")
		}
	}
	status := "exited 0"
	if err != nil {
		status = err.Error()
	}
	s.mu.Lock()
	m.state.Running, m.state.Ready, m.state.LastExit = false, false, status
	s.mu.Unlock()
	s.appendLog(m, slog.LevelInfo, m.spec.kind()+" stopped", "pid", ref.Pid, "exit", status)
	s.Logger.Info(m.spec.kind()+" stopped", m.spec.kind(), m.spec.Name, "pid", ref.Pid, "exit", status)
	s.changed()
}

func (s *Supervisor) logExit(m *managed, status string, ran, restartIn time.Duration) {
	s.mu.Lock()
	pid := m.state.Pid
	m.state.Running, m.state.Ready, m.state.Adopted, m.state.LastExit = false, false, false, status
	s.mu.Unlock()
	msg := m.spec.kind() + " exited, restarting"
	s.appendLog(m, slog.LevelError, msg, "pid", pid, "exit", status,
		"ran", ran.Round(time.Millisecond).String(), "restart_in", restartIn.String())
	s.Logger.Error(msg, m.spec.kind(), m.spec.Name, "pid", pid, "exit", status,
		"ran", ran.Round(time.Millisecond).String(), "restart_in", restartIn.String())
	s.changed()
}

// appendLog writes one JSON line to the process's own journal, so `make
// logs` and `faas-cli logs` show why it went away next to what it printed.
func (s *Supervisor) appendLog(m *managed, level slog.Level, msg string, args ...any) {
	var b bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&b, nil)).With("source", "devstack", m.spec.kind(), m.spec.Name)
	l.Log(context.Background(), level, msg, args...)
	m.journal.write(os.Getpid(), strings.TrimRight(b.String(), "\n"))
}

// Names returns the supervised names, sorted.
func (s *Supervisor) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.order...)
	sort.Strings(out)
	return out
}
