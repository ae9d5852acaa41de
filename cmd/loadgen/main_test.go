package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/loadgen"
)

func TestRunPrintsJSONResult(t *testing.T) {
	var gotHeader string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader = r.Header.Get("X-Bench")
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"arrest_probability":0.1}`)
	}))
	defer srv.Close()
	bodies := filepath.Join(t.TempDir(), "bodies.jsonl")
	if err := os.WriteFile(bodies, []byte("{\"a\":1}\n{\"a\":2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(context.Background(), &out, srv.URL, "POST", 2, 5*time.Second, 50, 0, time.Second, bodies, "", "arrest_probability",
		[]string{"X-Bench: yes"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var res loadgen.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output is not a JSON result: %v\n%s", err, out.String())
	}
	if res.OK != 50 || res.Bodies != 2 || res.Connections != 2 || gotHeader != "yes" {
		t.Fatalf("result %+v, header %q", res, gotHeader)
	}
	if err := run(context.Background(), &out, "http://203.0.113.9/", "POST", 1, time.Second, 0, 0, time.Second, "", "{}", "", nil, false); err == nil {
		t.Fatal("non-loopback target accepted")
	}
}
