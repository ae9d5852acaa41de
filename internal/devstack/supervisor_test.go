package devstack

import (
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSupervisorRestartsACrashedFunctionAlone(t *testing.T) {
	sup := NewSupervisor(nil)
	sup.Backoff = Backoff{Min: 100 * time.Millisecond, Max: time.Second, Reset: time.Minute}
	dir := t.TempDir()
	addrs := map[string]string{}
	for _, name := range []string{"a", "b"} {
		addrs[name] = freeAddr(t)
		if err := sup.Start(Proc{Name: name, Path: fakeFn(t), Dir: dir, Env: []string{"ARRESTCAST_LISTEN=" + addrs[name], "healthcheck_interval=50ms"},
			Log: dir + "/" + name + ".log", Addr: addrs[name], StopGrace: 3 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	defer sup.Stop()
	ctx, cancel := contextTimeout(10 * time.Second)
	defer cancel()
	for _, n := range []string{"a", "b"} {
		if err := sup.WaitReady(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	a0, _ := sup.State("a")
	b0, _ := sup.State("b")

	// a crashes twice: each time it comes back with a new pid, b never moves.
	for i := 1; i <= 2; i++ {
		prev, _ := sup.State("a")
		_, _ = http.Get("http://" + addrs["a"] + "/crash")
		waitFor(t, 10*time.Second, "a restarted", func() bool {
			st, _ := sup.State("a")
			return st.Ready && st.Pid != prev.Pid && st.Restarts == i
		})
	}
	a2, _ := sup.State("a")
	if !gone(a0.Pid) || a2.Pid == a0.Pid || !strings.Contains(a2.LastExit, "exit status 3") {
		t.Errorf("a: first pid %d gone=%v, now %+v", a0.Pid, gone(a0.Pid), a2)
	}
	b1, _ := sup.State("b")
	if b1.Pid != b0.Pid || b1.Restarts != 0 || !b1.Ready {
		t.Errorf("b was disturbed: %+v -> %+v", b0, b1)
	}
	res, b := get(t, "http://"+addrs["a"]+"/x")
	if res.StatusCode != 200 || decodeEcho(t, b).Pid != a2.Pid {
		t.Errorf("a after restart: %d %s", res.StatusCode, b)
	}
	// The exit is logged in a's own log, after what a printed.
	log, err := os.ReadFile(dir + "/a.log")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"crashing on purpose", `"msg":"function exited, restarting"`, `"exit":"exit status 3"`, `"restart_in":"200ms"`} {
		if !strings.Contains(string(log), want) {
			t.Errorf("a.log lacks %s:\n%s", want, log)
		}
	}
}

func TestSupervisorStopLeavesNoChild(t *testing.T) {
	sup := NewSupervisor(nil)
	dir := t.TempDir()
	var pids []int
	for _, c := range []struct {
		name   string
		ignore bool
	}{{"polite", false}, {"stubborn", true}} {
		addr := freeAddr(t)
		env := []string{"ARRESTCAST_LISTEN=" + addr, "healthcheck_interval=200ms"}
		if c.ignore {
			env = append(env, "FAKEFN_IGNORE_TERM=1")
		}
		if err := sup.Start(Proc{Name: c.name, Path: fakeFn(t), Dir: dir, Env: env, Log: dir + "/" + c.name + ".log", Addr: addr, StopGrace: time.Second}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := contextTimeout(10 * time.Second)
		if err := sup.WaitReady(ctx, c.name); err != nil {
			t.Fatal(err)
		}
		cancel()
		st, _ := sup.State(c.name)
		pids = append(pids, st.Pid)
	}
	start := time.Now()
	sup.Stop()
	took := time.Since(start)
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("pid %d still exists after Stop", pid)
		}
	}
	// polite waited its healthcheck_interval after SIGTERM; stubborn was killed after its grace.
	if took < time.Second || took > 5*time.Second {
		t.Errorf("Stop took %s, want about the 1 s grace", took)
	}
	polite, _ := sup.State("polite")
	stubborn, _ := sup.State("stubborn")
	if polite.LastExit != "exited 0" || !strings.Contains(stubborn.LastExit, "killed") || polite.Running || stubborn.Running {
		t.Errorf("polite %+v, stubborn %+v", polite, stubborn)
	}
	log, _ := os.ReadFile(dir + "/polite.log")
	if !strings.Contains(string(log), "SIGTERM received, exiting after 200ms") {
		t.Errorf("polite.log:\n%s", log)
	}
	if err := sup.Start(Proc{Name: "late"}); err == nil {
		t.Error("Start after Stop succeeded")
	}
}

func TestSupervisorRetriesAProcessThatCannotStart(t *testing.T) {
	sup := NewSupervisor(nil)
	sup.Backoff = Backoff{Min: 20 * time.Millisecond, Max: 40 * time.Millisecond, Reset: time.Minute}
	dir := t.TempDir()
	if err := sup.Start(Proc{Name: "missing", Path: dir + "/nope", Dir: dir, Log: dir + "/missing.log"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "retries", func() bool {
		st, _ := sup.State("missing")
		return st.Restarts >= 2 && strings.Contains(st.LastExit, "start failed")
	})
	sup.Stop()
}

// TestSupervisorJournalsEachLine: what a process prints lands in its journal
// one line at a time with the time and its pid, as journald keeps a faasd
// function's output; the supervisor's own lines sit beside them.
func TestSupervisorJournalsEachLine(t *testing.T) {
	sup, addr := startFunction(t, "talker")
	st, _ := sup.State("talker")
	before := time.Now()
	if res, b := get(t, "http://"+addr+"/log?text=hello%20journal"); res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, b)
	}
	sup.Stop()
	var found bool
	log := sup.procs["talker"].spec.Log
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		ts, inst, text, ok := parseJournalLine(line)
		if !ok {
			t.Errorf("not a journal line: %q", line)
			continue
		}
		if text == "hello journal" {
			found = true
			if inst != strconv.Itoa(st.Pid) || ts.Before(before.Add(-time.Second)) || ts.After(time.Now()) {
				t.Errorf("line %q: instance %s (pid %d), time %s", line, inst, st.Pid, ts)
			}
		}
	}
	if !found || !strings.Contains(string(b), `"msg":"function stopped"`) {
		t.Errorf("journal:\n%s", b)
	}
}

// TestSupervisorKickRestartsAtOnce: a process waiting out a long backoff is
// restarted at once on Kick (`make dev` on a stack with something down).
func TestSupervisorKickRestartsAtOnce(t *testing.T) {
	sup := NewSupervisor(nil)
	sup.Backoff = Backoff{Min: time.Minute, Max: time.Minute, Reset: time.Hour}
	dir := t.TempDir()
	addr := freeAddr(t)
	if err := sup.Start(Proc{Name: "k", Path: fakeFn(t), Dir: dir, Env: []string{"ARRESTCAST_LISTEN=" + addr, "healthcheck_interval=50ms"},
		Log: dir + "/k.log", Addr: addr, StopGrace: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	defer sup.Stop()
	ctx, cancel := contextTimeout(10 * time.Second)
	defer cancel()
	if err := sup.WaitReady(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	first, _ := sup.State("k")
	_, _ = http.Get("http://" + addr + "/crash")
	waitFor(t, 5*time.Second, "k down", func() bool { st, _ := sup.State("k"); return !st.Running })
	time.Sleep(200 * time.Millisecond)
	if st, _ := sup.State("k"); st.Running {
		t.Fatal("restarted before the backoff")
	}
	sup.Kick()
	waitFor(t, 5*time.Second, "k back after Kick", func() bool {
		st, _ := sup.State("k")
		return st.Ready && st.Pid != first.Pid
	})
}

// TestSupervisorAdoptsAnInstanceStartedByHand: a service already serving
// (started outside the stack) is watched instead of started twice; when it
// goes, the supervisor starts its own; Stop stops an adopted one too.
func TestSupervisorAdoptsAnInstanceStartedByHand(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	env := []string{"ARRESTCAST_LISTEN=" + addr, "healthcheck_interval=50ms"}
	byHand := exec.Command(fakeFn(t))
	byHand.Env = env
	if err := byHand.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { byHand.Wait(); close(reaped) }()
	defer byHand.Process.Kill()
	waitFor(t, 5*time.Second, "the hand-started one listening", func() bool { return !PortFree(addr) })

	sup := NewSupervisor(nil)
	sup.Backoff = Backoff{Min: 50 * time.Millisecond, Max: 100 * time.Millisecond, Reset: time.Minute}
	adopt := func() (int, bool) { return ListenerPid(addr) }
	if err := sup.Start(Proc{Name: "svc", Kind: "service", Path: fakeFn(t), Dir: dir, Env: env, Log: dir + "/svc.log", Addr: addr,
		StopGrace: 3 * time.Second, Adopt: adopt}); err != nil {
		t.Fatal(err)
	}
	defer sup.Stop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, _ := sup.State("svc")
		if st.Adopted && st.Ready && st.Pid == byHand.Process.Pid {
			break
		}
		if time.Now().After(deadline) {
			pid, ok := ListenerPid(addr)
			log, _ := os.ReadFile(dir + "/svc.log")
			t.Fatalf("not adopted: state %+v, hand-started pid %d, listener %d %v\n%s", st, byHand.Process.Pid, pid, ok, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// It goes: the supervisor starts its own.
	byHand.Process.Kill()
	<-reaped
	waitFor(t, 10*time.Second, "its own instance", func() bool {
		st, _ := sup.State("svc")
		return !st.Adopted && st.Ready && st.Pid != byHand.Process.Pid && st.Restarts == 1
	})
	if log, _ := os.ReadFile(dir + "/svc.log"); !strings.Contains(string(log), "service adopted") {
		t.Errorf("svc.log:\n%s", log)
	}

	// Stop stops an adopted instance as well.
	sup2 := NewSupervisor(nil)
	addr2 := freeAddr(t)
	other := exec.Command(fakeFn(t))
	other.Env = []string{"ARRESTCAST_LISTEN=" + addr2, "healthcheck_interval=50ms"}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	go other.Wait()
	waitFor(t, 5*time.Second, "listening", func() bool { return !PortFree(addr2) })
	if err := sup2.Start(Proc{Name: "svc2", Kind: "service", Path: fakeFn(t), Dir: dir, Log: dir + "/svc2.log", Addr: addr2,
		StopGrace: 3 * time.Second, Adopt: func() (int, bool) { return ListenerPid(addr2) }}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "adopted", func() bool { st, _ := sup2.State("svc2"); return st.Adopted })
	sup2.Stop()
	waitFor(t, 5*time.Second, "the adopted one stopped", func() bool { return gone(other.Process.Pid) || PortFree(addr2) })
}
