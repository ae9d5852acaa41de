package devstack

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// startFunction runs the fake function as a supervised process and returns
// the supervisor and the process's address.
func startFunction(t *testing.T, name string, extraEnv ...string) (*Supervisor, string) {
	t.Helper()
	sup := NewSupervisor(nil)
	sup.Backoff = Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond, Reset: time.Minute}
	addr := freeAddr(t)
	dir := t.TempDir()
	env := append([]string{"ARRESTCAST_LISTEN=" + addr, "healthcheck_interval=100ms"}, extraEnv...)
	if err := sup.Start(Proc{Name: name, Path: fakeFn(t), Dir: dir, Env: env, Log: dir + "/" + name + ".log", Addr: addr, StopGrace: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sup.Stop)
	ctx, cancel := contextTimeout(10 * time.Second)
	defer cancel()
	if err := sup.WaitReady(ctx, name); err != nil {
		t.Fatal(err)
	}
	return sup, addr
}

func supUpstreams(sup *Supervisor) Upstreams {
	return UpstreamFunc(func(name string) (Replica, bool) {
		p, ok := sup.State(name)
		return Replica{Addr: p.Addr, Started: p.Since}, ok && p.Running
	})
}

// addrUpstreams serves each function from the address f gives, on the host.
func addrUpstreams(f func(name string) (string, bool)) Upstreams {
	return UpstreamFunc(func(name string) (Replica, bool) {
		a, ok := f(name)
		return Replica{Addr: a}, ok
	})
}

func newTestGateway(t *testing.T, up Upstreams, fns ...string) (*Gateway, *httptest.Server) {
	t.Helper()
	var infos []FunctionInfo
	for _, f := range fns {
		infos = append(infos, FunctionInfo{Name: f, Image: "ghcr.io/arrestcast/" + f + ":latest", EnvProcess: "./handler", Deployed: true,
			Labels: map[string]string{"com.openfaas.scale.min": "1"}, Limits: &stackfile.Resources{Memory: "64Mi"}, Annotations: map[string]string{"topic": "cron-function", "schedule": "0 12 1 * *"}})
	}
	g := NewGateway(GatewayOptions{Functions: infos, Upstreams: up, User: "admin", Password: "s3cret", UpstreamTimeout: 5 * time.Second})
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close() })
	return g, srv
}

func TestGatewayProxiesToFunctionProcess(t *testing.T) {
	sup, _ := startFunction(t, "echo")
	_, srv := newTestGateway(t, supUpstreams(sup), "echo", "down")

	// Method, path suffix, query, headers and body reach the process.
	h := http.Header{"X-Custom": {"a", "b"}, "Authorization": {"Bearer tok"}, "Content-Type": {"application/json"}}
	res, b := do(t, http.MethodPut, srv.URL+"/function/echo/some/path?x=1&y=%20z", strings.NewReader(`{"as_of":"2017-12-01"}`), h)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	e := decodeEcho(t, b)
	if e.Method != http.MethodPut || e.Path != "/some/path" || e.Query != "x=1&y=%20z" || e.Body != `{"as_of":"2017-12-01"}` {
		t.Fatalf("function received %+v", e)
	}
	if got := e.Header["X-Custom"]; len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("X-Custom reached the function as %v", got)
	}
	if e.Header["Authorization"][0] != "Bearer tok" || e.Header["X-Call-Id"] == nil || e.Header["X-Forwarded-For"] == nil {
		t.Errorf("headers at the function: %v", e.Header)
	}
	if res.Header.Get("X-Call-Id") == "" || res.Header.Get("X-Call-Id") != e.Header["X-Call-Id"][0] {
		t.Errorf("X-Call-Id answered %q, sent %v", res.Header.Get("X-Call-Id"), e.Header["X-Call-Id"])
	}
	st, _ := sup.State("echo")
	if e.Pid != st.Pid {
		t.Errorf("answered by pid %d, the supervised process is %d", e.Pid, st.Pid)
	}

	// Bare name: path "/"; the namespace suffix (as the cron-connector calls) is the same function.
	for _, p := range []string{"/function/echo", "/function/echo/", "/function/echo.openfaas-fn"} {
		res, b := do(t, http.MethodPost, srv.URL+p, strings.NewReader("x"), nil)
		if e := decodeEcho(t, b); res.StatusCode != 200 || e.Path != "/" || e.Method != http.MethodPost {
			t.Errorf("%s: %d %+v", p, res.StatusCode, e)
		}
	}

	// The function's status, headers and body come back as they are.
	res, b = get(t, srv.URL+"/function/echo/status/418")
	if res.StatusCode != 418 || string(b) != "status 418" || res.Header.Get("X-Fake") != "yes" {
		t.Errorf("got %d %q %v", res.StatusCode, b, res.Header)
	}

	// Unknown function: 404 as the gateway; deployed but no process: 502.
	res, b = get(t, srv.URL+"/function/nope")
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "Cannot find service: nope.") {
		t.Errorf("unknown function: %d %q", res.StatusCode, b)
	}
	res, b = get(t, srv.URL+"/function/nope.other-namespace")
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("other namespace: %d %q", res.StatusCode, b)
	}
	res, b = get(t, srv.URL+"/function/down")
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "Can't reach service for: down.") {
		t.Errorf("function down: %d %q", res.StatusCode, b)
	}
	res, _ = get(t, srv.URL+"/healthz")
	if res.StatusCode != 200 {
		t.Errorf("/healthz: %d", res.StatusCode)
	}
}

func TestGatewayFunctionCrashAnswers502ThenRecovers(t *testing.T) {
	sup, _ := startFunction(t, "echo")
	_, srv := newTestGateway(t, supUpstreams(sup), "echo")
	first, _ := sup.State("echo")
	res, _ := get(t, srv.URL+"/function/echo/crash")
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("a call during which the function died: %d, want 502", res.StatusCode)
	}
	waitFor(t, 10*time.Second, "the function back up", func() bool {
		st, _ := sup.State("echo")
		return st.Ready && st.Pid != first.Pid
	})
	res, b := get(t, srv.URL+"/function/echo/after")
	if res.StatusCode != 200 || decodeEcho(t, b).Path != "/after" {
		t.Errorf("after restart: %d %s", res.StatusCode, b)
	}
}

func TestGatewayExecTimeoutAnswers504(t *testing.T) {
	sup, _ := startFunction(t, "slow")
	g := NewGateway(GatewayOptions{Functions: []FunctionInfo{{Name: "slow", ExecTimeout: 300 * time.Millisecond}}, Upstreams: supUpstreams(sup)})
	defer g.Close()
	srv := httptest.NewServer(g)
	defer srv.Close()
	if res, b := get(t, srv.URL+"/function/slow/sleep/50ms"); res.StatusCode != 200 || string(b) != "slept" {
		t.Errorf("within exec_timeout: %d %q", res.StatusCode, b)
	}
	start := time.Now()
	res, _ := get(t, srv.URL+"/function/slow/sleep/3s")
	if res.StatusCode != http.StatusGatewayTimeout || time.Since(start) > 2*time.Second {
		t.Errorf("past exec_timeout: %d after %s, want 504 at once", res.StatusCode, time.Since(start))
	}
}

func TestGatewaySystemBasicAuth(t *testing.T) {
	up := addrUpstreams(func(name string) (string, bool) { return "127.0.0.1:1", name == "a" })
	g, srv := newTestGateway(t, up, "a", "b")
	for _, c := range []struct {
		user, pass string
		set        bool
	}{{set: false}, {"admin", "wrong", true}, {"root", "s3cret", true}} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/system/functions", nil)
		if c.set {
			req.SetBasicAuth(c.user, c.pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Basic realm="Restricted"` || string(b) != "invalid credentials" {
			t.Errorf("%+v: %d %q %v", c, res.StatusCode, b, res.Header)
		}
	}
	// Invocations are not behind basic auth (faasd's gateway): a 502 here, not 401.
	if res, _ := get(t, srv.URL+"/function/a"); res.StatusCode == http.StatusUnauthorized {
		t.Error("/function is behind basic auth")
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/system/functions", nil)
	req.SetBasicAuth("admin", "s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list []map[string]any
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(list) != 2 {
		t.Fatalf("%d %v", res.StatusCode, list)
	}
	a := list[0]
	for _, k := range []string{"name", "image", "replicas", "availableReplicas", "invocationCount", "envProcess", "labels", "annotations", "namespace"} {
		if _, ok := a[k]; !ok {
			t.Errorf("/system/functions entry lacks %s: %v", k, a)
		}
	}
	if a["name"] != "a" || a["invocationCount"].(float64) != 1 || a["availableReplicas"].(float64) != 1 || list[1]["availableReplicas"].(float64) != 0 ||
		a["envProcess"] != "./handler" || a["annotations"].(map[string]any)["topic"] != "cron-function" {
		t.Errorf("entries: %v", list)
	}
	if lim, _ := a["limits"].(map[string]any); lim == nil || lim["memory"] != "64Mi" {
		t.Errorf("limits %v, want {memory: 64Mi} as faas-provider writes it", a["limits"])
	}
	if g.InvocationCount("a") != 1 {
		t.Errorf("invocation count %d", g.InvocationCount("a"))
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/system/function/b", nil)
	req.SetBasicAuth("admin", "s3cret")
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != 200 {
		t.Errorf("/system/function/b: %d", res2.StatusCode)
	}
}

func TestGatewayAsyncWithCallback(t *testing.T) {
	// The function: slow, and records overlapping calls (queue-worker max_inflight 1).
	var inflight, maxInflight atomic.Int32
	release := make(chan struct{})
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			m := maxInflight.Load()
			if n <= m || maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-From-Function", r.URL.Path+"?"+r.URL.RawQuery)
		w.WriteHeader(http.StatusCreated)
		w.Write(append([]byte("done:"), b...))
	}))
	defer fn.Close()
	type callback struct {
		header http.Header
		body   string
	}
	got := make(chan callback, 4)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- callback{r.Header.Clone(), string(b)}
	}))
	defer cb.Close()
	_, srv := newTestGateway(t, addrUpstreams(func(string) (string, bool) { return strings.TrimPrefix(fn.URL, "http://"), true }), "slow")

	var ids []string
	for i, body := range []string{"one", "two"} {
		start := time.Now()
		res, _ := do(t, http.MethodPost, srv.URL+"/async-function/slow/sub?n="+body, strings.NewReader(body), http.Header{"X-Callback-Url": {cb.URL + "/cb"}})
		if res.StatusCode != http.StatusAccepted || res.Header.Get("X-Call-Id") == "" {
			t.Fatalf("call %d: %d %v", i, res.StatusCode, res.Header)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("202 came after %s: not at once", time.Since(start))
		}
		ids = append(ids, res.Header.Get("X-Call-Id"))
	}
	time.Sleep(300 * time.Millisecond) // let a second worker, if any, start the second call
	close(release)
	for i, want := range []string{"one", "two"} {
		select {
		case c := <-got:
			if c.body != "done:"+want || c.header.Get("X-Call-Id") != ids[i] || c.header.Get("X-Function-Status") != "201" ||
				c.header.Get("X-Function-Name") != "slow" || c.header.Get("X-Duration-Seconds") == "" || c.header.Get("X-From-Function") != "/sub?n="+want {
				t.Errorf("callback %d: %q %v", i, c.body, c.header)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no callback %d", i)
		}
	}
	if m := maxInflight.Load(); m != 1 {
		t.Errorf("%d async calls ran at once, want 1 (max_inflight 1)", m)
	}
	if res, _ := get(t, srv.URL+"/async-function/slow"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /async-function: %d", res.StatusCode)
	}
}

func TestGatewayAsyncCallbackReportsFailure(t *testing.T) {
	got := make(chan http.Header, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer cb.Close()
	_, srv := newTestGateway(t, addrUpstreams(func(string) (string, bool) { return "", false }), "down")
	res, _ := do(t, http.MethodPost, srv.URL+"/async-function/down", nil, http.Header{"X-Callback-Url": {cb.URL}})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("%d", res.StatusCode)
	}
	select {
	case h := <-got:
		if h.Get("X-Function-Status") != "502" {
			t.Errorf("X-Function-Status %q, want 502", h.Get("X-Function-Status"))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
	}
}
