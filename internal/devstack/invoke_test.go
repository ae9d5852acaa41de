package devstack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestInvokeFiresTheCronTickOrAPlainPost(t *testing.T) {
	c := testRoot(t) // echo is scheduled (@monthly), later is not
	srv, got := recorder(t)
	c.GatewayURL = srv.URL
	var out bytes.Buffer
	ans, err := Invoke(t.Context(), c, "echo", "", nil, &out)
	if err != nil || ans.Status != 200 {
		t.Fatalf("%v %v", ans, err)
	}
	assertCronRequest(t, <-got, "/function/echo.openfaas-fn")
	if !strings.Contains(out.String(), "as the cron-connector") || !strings.Contains(out.String(), "200 OK\nok\n") {
		t.Errorf("output %q", out.String())
	}
	// With a body (a manual run date): POST with the token and JSON.
	if _, err := Invoke(t.Context(), c, "echo", "", []byte(`{"as_of":"2017-12-01"}`), &out); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.method != "POST" || r.path != "/function/echo" || string(r.body) != `{"as_of":"2017-12-01"}` ||
		r.header.Get("Authorization") != "Bearer tok" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("manual call %+v", r)
	}
	// Unscheduled function, no body: a plain POST with the token.
	if _, err := Invoke(t.Context(), c, "later", "", nil, &out); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.path != "/function/later" || r.header.Get("Authorization") != "Bearer tok" || r.header.Get("X-Connector") != "" {
		t.Errorf("plain call %+v", r)
	}
	if _, err := Invoke(t.Context(), c, "nope", "", nil, &out); err == nil || !strings.Contains(err.Error(), "echo, later") {
		t.Errorf("unknown function: %v", err)
	}
}

func TestLogsTailAndFollow(t *testing.T) {
	c := &Config{Dev: t.TempDir()}
	var lines []string
	for i := 1; i <= 300; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	write(t, c.Path("logs", "train.log"), strings.Join(lines, "\n")+"\n")
	var out bytes.Buffer
	if err := Logs(t.Context(), c, "train", 200, false, &out); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(got) != 200 || got[0] != "line 101" || got[199] != "line 300" {
		t.Errorf("%d lines, first %q last %q", len(got), got[0], got[len(got)-1])
	}
	ctx, cancel := context.WithCancel(t.Context())
	var follow syncBuffer
	done := make(chan error, 1)
	go func() { done <- Logs(ctx, c, "train", 1, true, &follow) }()
	waitFor(t, 5*time.Second, "the tail", func() bool { return follow.String() == "line 300\n" })
	f, err := os.OpenFile(c.Path("logs", "train.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("line 301\n")
	f.Close()
	waitFor(t, 5*time.Second, "the appended line", func() bool { return strings.Contains(follow.String(), "line 301") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := follow.String(); !strings.HasPrefix(s, "line 300\n") {
		t.Errorf("follow output %q", s)
	}
	if err := Logs(t.Context(), c, "nope", 10, false, &out); err == nil {
		t.Error("missing log accepted")
	}
}
