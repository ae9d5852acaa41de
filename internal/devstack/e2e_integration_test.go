//go:build integration

package devstack

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/config"
)

// TestEndToEnd runs ArrestCast as `make demo` does, on a slice small enough
// for CI: the real function binaries (built from the template, as images
// would be) behind the local gateway, a real MinIO whose webhooks drive every
// step, a real PostgreSQL, and the Socrata stand-in serving every 3rd crime of
// October–December 2017; in CI each function behind the real of-watchdog, as
// in its container. Two monthly runs (2017-12-01, then 2018-01-01); in
// the second a function process is killed mid-chain, and the chain still
// completes once the supervisor has it back (MinIO's queue retries), with no
// step done twice.
func TestEndToEnd(t *testing.T) {
	minioBin, err := testenv.MinIOBinary()
	if err != nil {
		testenv.Unavailable(t, err.Error())
	}
	if _, err := PostgresBinDir(); err != nil {
		testenv.Unavailable(t, err.Error())
	}
	root := repo.Root()
	dev := t.TempDir()
	for _, d := range []string{filepath.Dir(dev), dev} {
		if err := os.Chmod(d, 0o755); err != nil { // the PostgreSQL server may run as postgres
			t.Fatal(err)
		}
	}
	slice := filepath.Join(dev, "crimes-q4.csv")
	writeSlice(t, filepath.Join(root, "data", "chicago", "crimes_2017.csv.gz"), slice, 3)
	pgPort, _ := FreePort()
	for k, v := range map[string]string{
		"OPENFAAS_URL": "http://" + freeAddr(t), "MINIO_ADDRESS": freeAddr(t), "MINIO_CONSOLE_ADDRESS": freeAddr(t),
		"SOCRATA_ADDRESS": freeAddr(t), "MINIO_BIN": minioBin, "POSTGRES_PORT": strconv.Itoa(pgPort),
		"SOCRATA_CRIMES": slice, "TRAIN_BUDGET": "2s", "PIPELINE_TOKEN": "e2e-token", "DEVSTACK_DIR": dev,
	} {
		t.Setenv(k, v)
	}
	c, err := LoadConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	daemonBin := daemonBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	var out bytes.Buffer
	st, err := Up(ctx, c, UpOptions{Out: &out, DaemonBin: daemonBin})
	t.Cleanup(func() {
		if err := Down(context.Background(), c, &out); err != nil {
			t.Errorf("down: %v", err)
		}
		if t.Failed() {
			for _, fn := range []string{"download", "merge", "encode", "train", "predict"} {
				t.Logf("== %s log\n%s", fn, Tail(c.Path("logs", fn+".log"), 15))
			}
			t.Logf("== stack output\n%s", out.String())
		}
	})
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out.String())
	}
	// In CI the functions run as their containers do: behind the real
	// of-watchdog, each in a network namespace of its own.
	if rt := ChooseRuntime(c); rt.Watchdog == "" {
		if testenv.InCI() {
			t.Fatalf("CI runs the functions behind of-watchdog: %s", rt.Reason)
		}
		t.Logf("functions run without of-watchdog: %s", rt.Reason)
	} else if !strings.Contains(st.Runtime, "of-watchdog") {
		t.Errorf("of-watchdog is available but the stack runs %q", st.Runtime)
	}
	cl := NewClient(c)
	dbURL, err := ReadSecret(c.Path("secrets"), config.SecretDatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	status := RunsStatus{URL: dbURL}

	call := func(name, body string) *Answer {
		t.Helper()
		a, err := cl.Call(ctx, http.MethodPost, name, []byte(body))
		if err != nil || a.Status != http.StatusOK {
			t.Fatalf("%s %s: %v %+v", name, body, err, a)
		}
		return a
	}
	call("setup", "{}")

	// Run 1: the first run downloads the 365 days before 2017-12-01.
	call("download", `{"as_of":"2017-12-01"}`)
	waitTrained(ctx, t, status, "2017-12-01")
	v1 := waitModel(ctx, t, cl, 0)

	// Run 2: kill encode's process before the chain reaches it. MinIO's queue
	// keeps the event; the supervisor restarts the function; the chain ends.
	call("download", `{"as_of":"2018-01-01"}`)
	killed := killFunction(t, c, "encode")
	t.Logf("killed encode (pid %d) mid-chain", killed)
	waitTrained(ctx, t, status, "2018-01-01")

	runs, err := status.Status(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		done := map[string]int{}
		for _, s := range r.Steps {
			if s.Status == "done" {
				done[s.Step]++
			}
		}
		for _, step := range []string{"download", "merge", "enrich", "split", "outliers", "encode", "scale", "balance", "features", "train"} {
			if done[step] != 1 {
				t.Errorf("run %s: %s done %d times, want exactly once", r.RunDate, step, done[step])
			}
		}
	}
	// The monitor, started by MinIO on each download manifest beside merge,
	// reported December 2017 with v1 (which never saw it), once; the run is
	// done however the monitor fares.
	var report struct {
		Report struct {
			Month, Verdict string
			Model          struct{ Version int }
			Scored         int64
			Realized       *struct {
				ROCAUC *float64 `json:"roc_auc"`
			}
		}
		Revisions []json.RawMessage
	}
	waitFor(t, 2*time.Minute, "the monitor's report on 2017-12", func() bool {
		a, err := cl.Call(ctx, http.MethodGet, "monitor?month=2017-12", nil)
		return err == nil && a.Status == 200 && json.Unmarshal(a.Body, &report) == nil
	})
	if r := report.Report; r.Month != "2017-12" || r.Model.Version != v1 || r.Scored == 0 || r.Realized == nil || r.Realized.ROCAUC == nil || len(report.Revisions) != 1 {
		t.Errorf("monitor's report: %+v (%d revisions)", r, len(report.Revisions))
	}
	after, err := status.Status(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range after {
		if st, ok := r.Step("monitor"); !ok || st.Status != "done" || r.Status != "done" {
			t.Errorf("run %s (%s): monitor %+v", r.RunDate, r.Status, st)
		}
	}

	// Every manifest of both runs is in the bucket (checked through the tracker's outputs above) and
	// predict serves the champion on a raw record.
	a := call("predict", `{"date":"2017-12-04T13:00:00","primary_type":"NARCOTICS","iucr":"2027",
		"location_description":"STREET","domestic":false,"beat":"1123","district":"011","ward":"28",
		"community_area":"26","fbi_code":"18","x_coordinate":1149421,"y_coordinate":1903366}`)
	var pred struct {
		P       *float64 `json:"arrest_probability"`
		Version int      `json:"model_version"`
	}
	if err := json.Unmarshal(a.Body, &pred); err != nil || pred.P == nil || *pred.P < 0 || *pred.P > 1 || pred.Version < v1 {
		t.Errorf("predict: %s", a.Body)
	}
	info, err := cl.Call(ctx, http.MethodGet, "predict", nil)
	if err != nil || info.Status != 200 || !bytes.Contains(info.Body, []byte(`"roc_auc"`)) {
		t.Errorf("GET predict: %v %+v", err, info)
	}

	// The Socrata stand-in is supervised like the rest: killed, it is back.
	ds, err := ReadDaemonState(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ds.Services {
		if s.Name != ServiceSocrata {
			continue
		}
		if err := syscall.Kill(s.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "the stand-in restarted", func() bool {
			now, err := ReadDaemonState(c)
			if err != nil {
				return false
			}
			for _, n := range now.Services {
				if n.Name == ServiceSocrata {
					return n.Ready && n.Pid != s.Pid && ServiceHealth(ctx, c, ServiceSocrata) == nil
				}
			}
			return false
		})
	}
}

// waitTrained waits until the run's train step is done.
func waitTrained(ctx context.Context, t *testing.T, s RunsStatus, date string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	var last error
	for time.Now().Before(deadline) {
		runs, err := s.Status(ctx, 10)
		last = err
		if err == nil {
			for _, r := range runs {
				for _, st := range r.Steps {
					if r.RunDate == date && st.Step == "train" && st.Status == "done" {
						return
					}
					if r.RunDate == date && st.Status == "failed" && st.Permanent {
						t.Fatalf("run %s: %s failed: %s", date, st.Step, st.Error)
					}
				}
			}
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("run %s did not reach train in 10 minutes (last status error: %v)", date, last)
}

// waitModel waits until predict serves a model newer than `than`.
func waitModel(ctx context.Context, t *testing.T, cl *Client, than int) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		a, err := cl.Call(ctx, http.MethodGet, "predict", nil)
		if err == nil && a.Status == 200 {
			var info struct {
				Version int `json:"model_version"`
			}
			if json.Unmarshal(a.Body, &info) == nil && info.Version > than {
				return info.Version
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatal("predict never served a champion")
	return 0
}

// killFunction SIGKILLs the process running function name's binary.
func killFunction(t *testing.T, c *Config, name string) int {
	t.Helper()
	bin := c.Path("functions", name, "handler")
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		if exe, err := os.Readlink(p); err == nil && exe == bin {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill %d: %v", pid, err)
			}
			return pid
		}
	}
	t.Fatalf("no process runs %s", bin)
	return 0
}

// writeSlice writes the header and every k-th crime of October–December 2017.
func writeSlice(t *testing.T, src, dst string, k int) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for i := 0; sc.Scan(); i++ {
		line := sc.Text()
		// Date is the third field: MM/DD/YYYY; the file has no quoted field before it.
		if i > 0 {
			f := strings.SplitN(line, ",", 4)
			if len(f) < 4 || !(strings.HasPrefix(f[2], "10/") || strings.HasPrefix(f[2], "11/") || strings.HasPrefix(f[2], "12/")) {
				continue
			}
			if n++; n%k != 0 {
				continue
			}
		}
		fmt.Fprintln(w, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
