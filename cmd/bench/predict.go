package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/internal/loadgen"
	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// target is one server to load.
type target struct {
	name, description string
	prog              string
	args, env         []string
	url               string // where requests go
	health            string // GET until 200 before sending bodies ("" to skip)
	bodies            [][]byte
	expect            string // text a good answer contains
	ready             time.Duration
}

// predict loads our predict function (raw records, the whole preprocessing
// in the request path) and the seed-shaped FastAPI server (pre-encoded
// floats), one after the other, never at the same time.
func (b *bench) predict(ctx context.Context) *PredictPart {
	p := &PredictPart{MeasuredAt: time.Now().UTC(), DurationSeconds: b.cfg.PredictDuration.Seconds(),
		WarmupSeconds: b.cfg.PredictWarmup.Seconds(), Bodies: b.cfg.Bodies}
	var targets []target
	var notes []string
	if t, err := b.goPredictTarget(ctx); err != nil {
		notes = append(notes, "our predict: "+err.Error())
	} else {
		targets = append(targets, t)
	}
	if t, err := b.fastapiTarget(ctx); err != nil {
		notes = append(notes, "FastAPI: "+err.Error())
	} else {
		targets = append(targets, t)
	}
	for _, t := range targets {
		p.Servers = append(p.Servers, b.loadServer(ctx, t))
		if ctx.Err() != nil {
			break
		}
	}
	for _, n := range notes {
		p.Servers = append(p.Servers, ServerResult{Name: strings.SplitN(n, ":", 2)[0], Error: n})
	}
	if len(targets) == 0 {
		p.Skipped = strings.Join(notes, "; ")
	}
	p.Compare = comparePredict(p.Servers, b.cfg.Conns)
	return p
}

// comparePredict lines up our predict against FastAPI per connection count.
func comparePredict(servers []ServerResult, conns []int) []PredictCompare {
	find := func(name string, c int) *loadgen.Result {
		for _, s := range servers {
			if s.Name != name {
				continue
			}
			for _, l := range s.Levels {
				if l.Connections == c && l.Loadgen != nil {
					return l.Loadgen
				}
			}
		}
		return nil
	}
	var out []PredictCompare
	for _, c := range conns {
		g, py := find(goPredictName, c), find(fastapiName, c)
		pc := PredictCompare{Connections: c, GoRPS: NaN, PyRPS: NaN, GoP50ms: NaN, PyP50ms: NaN, GoP99ms: NaN, PyP99ms: NaN}
		if g != nil && g.OK > 0 {
			pc.GoRPS, pc.GoP50ms, pc.GoP99ms = Num(g.RequestsPerSec), Num(g.Latency.P50), Num(g.Latency.P99)
		}
		if py != nil && py.OK > 0 {
			pc.PyRPS, pc.PyP50ms, pc.PyP99ms = Num(py.RequestsPerSec), Num(py.Latency.P50), Num(py.Latency.P99)
		}
		pc.Speedup = ratio(float64(pc.GoRPS), float64(pc.PyRPS))
		out = append(out, pc)
	}
	return out
}

const (
	goPredictName = "predict (Go)"
	fastapiName   = "FastAPI (Python)"
)

// goPredictTarget builds the predict function as faas-cli would and points
// it at a model artifact from the Go chain (trained now if the chain part
// left none).
func (b *bench) goPredictTarget(ctx context.Context) (target, error) {
	if !fileExists(filepath.Join(b.cfg.Root, "functions", "predict")) {
		return target{}, fmt.Errorf("functions/predict does not exist yet")
	}
	if !fileExists(b.artifactPath()) {
		if !b.goOK {
			return target{}, fmt.Errorf("no model artifact and cmd/pipeline cannot run: %s", b.whyNot())
		}
		slog.Info("predict: training a model with cmd/pipeline")
		r, dir, err := b.runGoPipeline(ctx, b.cfg.Crimes, "predict-model")
		if err != nil {
			return target{}, fmt.Errorf("train a model for predict: %w", err)
		}
		b.keepArtifact(r, dir)
		os.RemoveAll(dir)
		if !fileExists(b.artifactPath()) {
			return target{}, fmt.Errorf("cmd/pipeline left no artifact (said %q)", r.Artifact)
		}
	}
	slog.Info("predict: building the function (faasbuild verify predict)")
	if _, _, err := b.run(ctx, "faasbuild-predict", "go", []string{"run", "./cmd/faasbuild", "verify", "predict"}, nil, 20*time.Minute); err != nil {
		return target{}, fmt.Errorf("build predict: %w", err)
	}
	handler := filepath.Join(b.cfg.Root, "build", "predict", "handler")
	if !fileExists(handler) {
		return target{}, fmt.Errorf("faasbuild left no %s", handler)
	}
	bodies, err := crimeBodies(ctx, b.cfg.Crimes, b.cfg.Bodies)
	if err != nil {
		return target{}, err
	}
	b.saveBodies("predict", bodies)
	port, err := freePort()
	if err != nil {
		return target{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// The deployed function's environment (GOGC, timeouts), then the local
	// listener and the model file in place of the registry.
	sf, err := stackfile.Load(filepath.Join(b.cfg.Root, "stack.yml"), nil)
	if err != nil {
		return target{}, err
	}
	fnEnv, err := sf.Env("predict")
	if err != nil {
		return target{}, err
	}
	var env []string
	for _, k := range slices.Sorted(maps.Keys(fnEnv)) {
		env = append(env, k+"="+fnEnv[k])
	}
	env = append(env, "ARRESTCAST_LISTEN="+addr, "MODEL_FILE="+b.artifactPath())
	return target{
		name:        goPredictName,
		description: "functions/predict built by faasbuild (the template's main + handler), MODEL_FILE artifact from cmd/pipeline; raw portal records in, the whole preprocessing per request",
		prog:        handler,
		env:         env,
		url:         "http://" + addr + "/",
		bodies:      bodies,
		expect:      "arrest_probability",
		ready:       2 * time.Minute,
	}, nil
}

// fastapiTarget starts bench/reference/fastapi_server.py on the ml-ready data
// of a seed_recipe.py run (made now if the chain part left none).
func (b *bench) fastapiTarget(ctx context.Context) (target, error) {
	if !b.pyOK {
		return target{}, fmt.Errorf("the Python reference cannot run: %s", b.whyNot())
	}
	dir := b.mlReadyDir()
	if !fileExists(filepath.Join(dir, "train.csv")) {
		slog.Info("predict: making ml-ready data with seed_recipe.py")
		_, out, err := b.runPython(ctx, "predict-data")
		if err != nil {
			return target{}, fmt.Errorf("ml-ready data for FastAPI: %w", err)
		}
		b.keepMLReady(out)
	}
	model := filepath.Join(b.work, "predict", "xgb_serving.json")
	// A model older than the data it should come from is trained again.
	if mi, err := os.Stat(model); err == nil {
		if ti, err := os.Stat(filepath.Join(dir, "train.csv")); err == nil && ti.ModTime().After(mi.ModTime()) {
			os.Remove(model)
		}
	}
	bodies, err := featureBodies(filepath.Join(dir, "test.csv"), b.cfg.Bodies)
	if err != nil {
		return target{}, err
	}
	b.saveBodies("fastapi", bodies)
	port, err := freePort()
	if err != nil {
		return target{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return target{
		name:        fastapiName,
		description: "bench/reference/fastapi_server.py: FastAPI + uvicorn, 1 worker, XGBoost 200 trees depth 8 hist, " + b.cfg.FastAPIInput + " per request; pre-encoded floats in",
		prog:        b.cfg.Python,
		args: []string{filepath.Join(b.cfg.Root, "bench", "reference", "fastapi_server.py"), "--train", filepath.Join(dir, "train.csv"),
			"--model", model, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--input", b.cfg.FastAPIInput},
		url:    "http://" + addr + "/predict",
		health: "http://" + addr + "/health",
		bodies: bodies,
		expect: "probability",
		ready:  10 * time.Minute, // it may train its model first
	}, nil
}

// saveBodies leaves the bodies in the work directory for cmd/loadgen -bodies.
func (b *bench) saveBodies(name string, bodies [][]byte) {
	path := filepath.Join(b.work, "predict", name+"-bodies.jsonl")
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	loadgen.WriteBodies(f, bodies)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// loadServer starts one server, waits until it answers a real request, runs
// each load level, then stops it and reads its peak memory.
func (b *bench) loadServer(ctx context.Context, t target) (sr ServerResult) {
	sr = ServerResult{Name: t.name, Description: t.description, Command: strings.TrimSpace(strings.Join(append(append(append([]string{}, t.env...), b.rel(t.prog)), t.args...), " "))}
	srv, err := b.startServer(logName(t.name), t.prog, t.args, t.env)
	if err != nil {
		sr.Error = err.Error()
		return sr
	}
	defer func() {
		proc := srv.stop()
		sr.MaxRSSMB = proc.MaxRSSMB
	}()
	resp, err := waitReady(ctx, srv, t)
	if err != nil {
		sr.Error = err.Error() + tailOf(filepath.Join(b.work, "logs", logName(t.name)+".log"))
		return sr
	}
	sr.StartupSeconds = time.Since(srv.start).Seconds()
	sr.SampleRequest, sr.SampleResponse = string(t.bodies[0]), strings.TrimSpace(resp)
	slog.Info("server ready", "name", t.name, "startup_seconds", sr.StartupSeconds, "sample", sr.SampleResponse)
	for _, c := range b.cfg.Conns {
		lv := Level{Connections: c}
		slog.Info("load", "server", t.name, "connections", c, "seconds", b.cfg.PredictDuration.Seconds())
		res, err := loadgen.Run(ctx, loadgen.Config{
			URL: t.url, Bodies: t.bodies, Connections: c, Duration: b.cfg.PredictDuration, Warmup: b.cfg.PredictWarmup,
			Timeout: 30 * time.Second, Expect: []byte(t.expect),
		})
		lv.Loadgen = res
		if err != nil {
			lv.Error = err.Error()
		} else {
			slog.Info("load done", "server", t.name, "connections", c, "rps", res.RequestsPerSec, "p99_ms", res.Latency.P99, "errors", res.Errors)
		}
		if b.cfg.Wrk && ctx.Err() == nil {
			if w, err := b.wrk(ctx, t, c); err == nil {
				lv.Wrk = w
			} else if err != errNoWrk {
				slog.Warn("wrk cross-check failed", "err", err)
			}
		}
		sr.Levels = append(sr.Levels, lv)
		if srv.exited() {
			sr.Error = "the server exited during the load test" + tailOf(filepath.Join(b.work, "logs", logName(t.name)+".log"))
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	return sr
}

func logName(name string) string {
	return "server-" + strings.Trim(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// waitReady polls until the server answers a real body with its expected
// answer; it gives up when the server exits or t.ready passes.
func waitReady(ctx context.Context, srv *server, t target) (string, error) {
	deadline := time.Now().Add(t.ready)
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		if srv.exited() {
			return "", fmt.Errorf("%s exited before it was ready: %v", t.name, srv.err)
		}
		resp, status, err := probe(client, t)
		switch {
		case err != nil:
			last = err.Error()
		case status == http.StatusOK && strings.Contains(resp, t.expect):
			return resp, nil
		case status >= 400 && status < 500:
			// The server is up and refuses a real body: waiting will not help.
			return "", fmt.Errorf("%s refuses a real request: %d %s", t.name, status, resp)
		default:
			last = fmt.Sprintf("%d %s", status, resp)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-srv.done:
		case <-time.After(200 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("%s not ready after %s (last: %s)", t.name, t.ready, last)
}

// probe asks the health path (when there is one) and then sends one body.
func probe(client *http.Client, t target) (string, int, error) {
	if t.health != "" {
		r, err := client.Get(t.health)
		if err != nil {
			return "", 0, err
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			return "", 0, fmt.Errorf("health: %s", r.Status)
		}
	}
	r, err := client.Post(t.url, "application/json", bytes.NewReader(t.bodies[0]))
	if err != nil {
		return "", 0, err
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	return string(bytes.TrimSpace(body)), r.StatusCode, nil
}

var errNoWrk = fmt.Errorf("wrk not installed")

// wrk runs the same level with wrk, cycling the same bodies from a Lua
// script, as a cross-check of loadgen.
func (b *bench) wrk(ctx context.Context, t target, conns int) (*WrkResult, error) {
	prog, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errNoWrk
	}
	script := filepath.Join(b.work, "predict", logName(t.name)+".lua")
	if err := os.WriteFile(script, []byte(wrkScript(t.bodies)), 0o644); err != nil {
		return nil, err
	}
	threads := min(conns, 2)
	secs := max(1, int(b.cfg.PredictDuration.Seconds()))
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", strconv.Itoa(secs) + "s", "--latency", "--timeout", "30s", "-s", script, t.url}
	out, _, err := b.run(ctx, logName(t.name)+"-wrk-"+strconv.Itoa(conns), prog, args, nil, b.cfg.PredictDuration+time.Minute)
	if err != nil {
		return nil, err
	}
	w, err := parseWrk(out)
	if err != nil {
		return nil, err
	}
	w.Threads, w.Connections = threads, conns
	return w, nil
}

// wrkScript is a wrk Lua script that POSTs the bodies in turn.
func wrkScript(bodies [][]byte) string {
	var sb strings.Builder
	sb.WriteString("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nlocal bodies = {\n")
	for _, body := range bodies {
		// Long brackets need no escaping; the level is chosen so the body cannot close them.
		eq := "="
		for strings.Contains(string(body), "]"+eq+"]") {
			eq += "="
		}
		fmt.Fprintf(&sb, "  [%s[%s]%s],\n", eq, body, eq)
	}
	sb.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n")
	return sb.String()
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal    = regexp.MustCompile(`(\d+) requests in`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|75|90|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocketEr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk --latency output.
func parseWrk(out []byte) (*WrkResult, error) {
	s := string(out)
	m := wrkRPS.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("wrk output without Requests/sec: %q", s)
	}
	w := &WrkResult{}
	w.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkTotal.FindStringSubmatch(s); m != nil {
		w.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	for _, m := range wrkPct.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		switch m[1] {
		case "50":
			w.P50ms = v
		case "90":
			w.P90ms = v
		case "99":
			w.P99ms = v
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(s); m != nil {
		w.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSocketEr.FindStringSubmatch(s); m != nil {
		for _, x := range m[1:] {
			n, _ := strconv.ParseInt(x, 10, 64)
			w.SocketErrs += n
		}
	}
	return w, nil
}
