package loadgen

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []int64, q float64) int64 {
	r := int(math.Ceil(q * float64(len(sorted))))
	r = max(r, 1)
	return sorted[r-1]
}

func TestHistogramQuantilesWithinBucketError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]int64, 200_000)
	for i := range vals {
		// Log-normal around 1.5 ms with a long tail, like request latencies.
		v := int64(math.Exp(rng.NormFloat64()*0.8) * 1.5e6)
		vals[i] = v
		h.Record(time.Duration(v))
	}
	slices.Sort(vals)
	if h.Count() != uint64(len(vals)) {
		t.Fatalf("count %d, want %d", h.Count(), len(vals))
	}
	if h.Min() != time.Duration(vals[0]) || h.Max() != time.Duration(vals[len(vals)-1]) {
		t.Fatalf("min/max %v/%v, want %v/%v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
	for _, q := range []float64{0.01, 0.1, 0.5, 0.9, 0.99, 0.999} {
		want := float64(exactQuantile(vals, q))
		got := float64(h.Quantile(q))
		// The bucket's highest value is at most one bucket width above.
		if got < want || got > want*(1+1.0/subCount)+1 {
			t.Errorf("q%.3f: %.0f ns, exact %.0f ns (allowed [exact, exact·(1+1/%d)])", q, got, want, subCount)
		}
	}
	var sum float64
	for _, v := range vals {
		sum += float64(v)
	}
	if mean := sum / float64(len(vals)); math.Abs(float64(h.Mean())-mean) > 1 {
		t.Errorf("mean %v, want %.0f", h.Mean(), mean)
	}
}

func TestHistogramSmallValuesExact(t *testing.T) {
	var h Histogram
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	// Below 2·subCount ns every value has its own bucket.
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.9, 90}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestBucketBoundsRoundTrip(t *testing.T) {
	for i := 0; i < numBuckets; i++ {
		lo, hi := bucketBounds(i)
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: bounds [%d, %d] map to %d and %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if i > 0 {
			_, prevHi := bucketBounds(i - 1)
			if prevHi+1 != lo {
				t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
			}
		}
	}
	if bucketOf(math.MaxInt64) != numBuckets-1 {
		t.Fatalf("huge value not in the last bucket")
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all Histogram
	for v := 1; v <= 1000; v++ {
		d := time.Duration(v) * time.Microsecond
		all.Record(d)
		if v%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Fatalf("merged %d/%v/%v/%v, want %d/%v/%v/%v", a.Count(), a.Min(), a.Max(), a.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v: merged %v, whole %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
}

// countingServer answers 200 with a JSON body, counting connections and the
// bodies it received.
type countingServer struct {
	*httptest.Server
	conns  atomic.Int64
	mu     sync.Mutex
	bodies map[string]int
}

func newCountingServer(t *testing.T, h func(w http.ResponseWriter, body []byte)) *countingServer {
	s := &countingServer{bodies: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies[string(b)]++
		s.mu.Unlock()
		h(w, b)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestRunCountCyclesBodiesOverKeptAliveConnections(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"arrest_probability":0.25}`)
	})
	bodies := [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`), []byte(`{"a":4}`)}
	res, err := Run(context.Background(), Config{
		URL: srv.URL, Bodies: bodies, Connections: 4, Requests: 400, Duration: 20 * time.Second,
		Expect: []byte("arrest_probability"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 400 || res.Errors != 0 || res.Requests != 400 {
		t.Fatalf("ok %d errors %d requests %d, want 400/0/400 (%+v)", res.OK, res.Errors, res.Requests, res.ErrorsByKind)
	}
	if res.Status["200"] != 400 {
		t.Fatalf("status counts %v", res.Status)
	}
	for _, b := range bodies {
		if n := srv.bodies[string(b)]; n != 100 {
			t.Errorf("body %s sent %d times, want 100 (cycled evenly)", b, n)
		}
	}
	if c := srv.conns.Load(); c < 1 || c > 4 {
		t.Errorf("%d connections opened for 4 workers: keep-alive is not working", c)
	}
	if res.RequestsPerSec <= 0 || res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
		t.Errorf("implausible summary: %+v", res)
	}
}

func TestRunDurationWithWarmup(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, _ []byte) {
		time.Sleep(2 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	start := time.Now()
	res, err := Run(context.Background(), Config{
		URL: srv.URL, Method: http.MethodGet, Connections: 2, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	if el < 400*time.Millisecond || el > 2*time.Second {
		t.Errorf("run took %v, want about 400 ms", el)
	}
	if res.DurationSeconds < 0.29 || res.DurationSeconds > 0.5 {
		t.Errorf("measured window %.3f s, want about 0.3", res.DurationSeconds)
	}
	srv.mu.Lock()
	total := 0
	for _, n := range srv.bodies {
		total += n
	}
	srv.mu.Unlock()
	if res.Requests == 0 || int64(total) <= res.Requests {
		t.Errorf("server saw %d requests, measured %d: warm-up requests should be sent but not counted", total, res.Requests)
	}
	// 2 connections, ≥ 2 ms each: at most about 1000 requests/s.
	if res.RequestsPerSec > 1100 || res.RequestsPerSec < 100 {
		t.Errorf("%.0f requests/s against a 2 ms server on 2 connections", res.RequestsPerSec)
	}
	if res.Latency.P50 < 2 {
		t.Errorf("p50 %.3f ms below the server's 2 ms sleep", res.Latency.P50)
	}
}

func TestRunCountsErrorsByKind(t *testing.T) {
	var n atomic.Int64
	srv := newCountingServer(t, func(w http.ResponseWriter, _ []byte) {
		switch n.Add(1) % 4 {
		case 0:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 1:
			io.WriteString(w, `{"error":"no model"}`)
		default:
			io.WriteString(w, `{"probability":0.5}`)
		}
	})
	res, err := Run(context.Background(), Config{
		URL: srv.URL, Bodies: [][]byte{[]byte(`{}`)}, Requests: 100, Duration: 20 * time.Second, Expect: []byte("probability"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 50 || res.ErrorsByKind["status_503"] != 25 || res.ErrorsByKind["unexpected_body"] != 25 {
		t.Fatalf("ok %d, errors %v; want 50 ok, 25 status_503, 25 unexpected_body", res.OK, res.ErrorsByKind)
	}
	if res.Status["503"] != 25 || res.Status["200"] != 75 {
		t.Fatalf("status counts %v", res.Status)
	}
}

func TestRunRefusedTarget(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	res, err := Run(context.Background(), Config{URL: "http://" + addr + "/", Requests: 5, Duration: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 0 || res.ErrorsByKind["refused"] != 5 {
		t.Fatalf("ok %d errors %v, want 5 refused", res.OK, res.ErrorsByKind)
	}
}

func TestOnlyLoopbackTargets(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1:8080/", "http://[::1]:80/x", "http://localhost:1/"} {
		if _, err := CheckLoopback(ctx, u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://8.8.8.8/", "https://127.0.0.1/", "http://10.0.0.1:8080/", "ftp://127.0.0.1/", "http:///x"} {
		if _, err := CheckLoopback(ctx, u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if _, err := Run(ctx, Config{URL: "http://192.0.2.1/", Requests: 1}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("run against a remote address: %v", err)
	}
}

func TestConfigBounds(t *testing.T) {
	for _, c := range []Config{
		{URL: "http://127.0.0.1/"}, // neither duration nor count
		{URL: "http://127.0.0.1/", Requests: 1, Connections: MaxConnections + 1},
		{URL: "http://127.0.0.1/", Duration: MaxDuration + time.Second},
		{URL: "http://127.0.0.1/", Requests: MaxRequests + 1},
		{URL: "http://127.0.0.1/", Requests: 1, Bodies: [][]byte{nil}},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestBodiesRoundTrip(t *testing.T) {
	in := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":"x y"}`)}
	var buf bytes.Buffer
	if err := WriteBodies(&buf, in); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("\n  \n")
	out, err := ReadBodies(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || !bytes.Equal(out[0], in[0]) || !bytes.Equal(out[1], in[1]) {
		t.Fatalf("read %q", out)
	}
	if err := WriteBodies(io.Discard, [][]byte{[]byte("a\nb")}); err == nil {
		t.Fatal("multi-line body accepted")
	}
	if _, err := ReadBodies(strings.NewReader("\n")); err == nil {
		t.Fatal("empty file accepted")
	}
}
