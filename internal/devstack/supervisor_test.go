package devstack

import (
	"net/http"
	"os"
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
