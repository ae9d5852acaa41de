package devstack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAsyncRefusesBodiesOverTheFunctionsLimit: /async-function/<name> holds a
// body in its queue, so it refuses one over the function's max_request_body
// (its environment, read as its template reads it) with the template's 413
// JSON, without waiting for the rest of it: on its Content-Length, or once a
// chunked body passes the limit. A body within the limit is queued and
// reaches the function whole.
func TestAsyncRefusesBodiesOverTheFunctionsLimit(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer fn.Close()
	fnAddr := strings.TrimPrefix(fn.URL, "http://")
	g := NewGateway(GatewayOptions{
		Functions: []FunctionInfo{{Name: "train", Deployed: true, EnvVars: map[string]string{"max_request_body": "1KiB"}}},
		Upstreams: addrUpstreams(func(string) (string, bool) { return fnAddr, true }),
		User:      "admin", Password: "s3cret", UpstreamTimeout: 5 * time.Second,
	})
	srv := httptest.NewServer(g)
	defer srv.Close()
	defer g.Close()

	// raw sends head and the start of a body and reads the answer, leaving
	// the rest unsent: a gateway reading the body whole never answers.
	raw := func(head, partial string) (int, map[string]any) {
		t.Helper()
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "POST /async-function/train HTTP/1.1\r\nHost: gateway\r\n%s\r\n%s", head, partial)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: no answer: %v", head, err)
		}
		defer res.Body.Close()
		var out map[string]any
		b, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(b, &out); err != nil {
			t.Errorf("%s: %d, body %q is not JSON", head, res.StatusCode, b)
		}
		return res.StatusCode, out
	}
	check := func(what string, status int, out map[string]any) {
		t.Helper()
		msg, _ := out["error"].(string)
		if status != http.StatusRequestEntityTooLarge || out["max_request_body"] != float64(1024) || out["field"] != "body" ||
			!strings.Contains(msg, "max_request_body (1024 bytes)") {
			t.Errorf("%s: %d %v, want 413 with the limit", what, status, out)
		}
	}
	status, out := raw("Content-Length: 10485760\r\n", strings.Repeat("x", 100))
	check("Content-Length over the limit", status, out)
	chunk := fmt.Sprintf("%x\r\n%s\r\n", 700, strings.Repeat("y", 700))
	status, out = raw("Transfer-Encoding: chunked\r\n", chunk+chunk) // 1400 bytes so far, no last chunk
	check("chunked over the limit", status, out)

	res, err := http.Post(srv.URL+"/async-function/train", "text/plain", strings.NewReader(strings.Repeat("z", 1024)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("a body at the limit: %d, want 202", res.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != strings.Repeat("z", 1024) {
		t.Errorf("the function received %d bodies (%d bytes first), want only the one within the limit", len(got), len(firstOr(got)))
	}
}

func firstOr(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}
