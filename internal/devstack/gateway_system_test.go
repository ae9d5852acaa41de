package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// systemGateway is a gateway over one function "fn" with a journal and a
// secrets folder; its log goes to the returned buffer.
func systemGateway(t *testing.T, started time.Time) (*httptest.Server, string, string, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	journal := filepath.Join(dir, "fn.log")
	secrets := filepath.Join(dir, "secrets")
	var logBuf syncBuffer
	g := NewGateway(GatewayOptions{
		Functions: []FunctionInfo{{Name: "fn", Image: "ghcr.io/arrestcast/fn:latest", EnvProcess: "./handler", Deployed: true,
			Secrets: []string{"arrestcast-database-url"}, Limits: &stackfile.Resources{Memory: "256Mi"},
			Labels: map[string]string{"com.openfaas.scale.max": "10"}}},
		Upstreams: UpstreamFunc(func(string) (Replica, bool) { return Replica{Addr: "127.0.0.1:1", Started: started}, true }),
		User:      "admin", Password: "s3cret",
		Logger:     slog.New(slog.NewJSONHandler(&logBuf, nil)),
		Journal:    func(name string) string { return filepath.Join(dir, name+".log") },
		SecretsDir: secrets, Reserved: []string{SecretBasicAuthPassword},
		Provider: ProviderInfo{Name: "arrestcast-devstack", Orchestration: "local processes"},
		Version:  VersionInfo{Release: "dev-abc", SHA: "abc"},
	})
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close() })
	return srv, journal, secrets, &logBuf
}

func adminDo(t *testing.T, method, u string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func decodeMessages(t *testing.T, b []byte) []LogMessage {
	t.Helper()
	var out []LogMessage
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("not one JSON message per line: %q: %v", line, err)
		}
		for _, k := range []string{"name", "namespace", "instance", "timestamp", "text"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("message lacks %s: %s", k, line)
			}
		}
		var m LogMessage
		_ = json.Unmarshal([]byte(line), &m)
		out = append(out, m)
	}
	return out
}

func texts(ms []LogMessage) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Text)
	}
	return strings.Join(s, ",")
}

// TestGatewayLogs: GET /system/logs as faas-provider serves it: ndjson,
// faasd's default window of 5 minutes, since, tail (-1 = all), instance.
func TestGatewayLogs(t *testing.T) {
	srv, journal, _, _ := systemGateway(t, time.Now())
	now := time.Now()
	var b strings.Builder
	b.WriteString(formatJournalLine(now.Add(-time.Hour), 10, "an hour ago"))
	b.WriteString("a line from before the journal\n")
	b.WriteString(formatJournalLine(now.Add(-3*time.Minute), 10, "three minutes ago"))
	b.WriteString(formatJournalLine(now.Add(-2*time.Minute), 11, `{"msg":"restarted"}`))
	b.WriteString(formatJournalLine(now.Add(-time.Minute), 11, "a minute ago"))
	write(t, journal, b.String())

	logs := func(q url.Values) []LogMessage {
		t.Helper()
		res, body := adminDo(t, http.MethodGet, srv.URL+"/system/logs?"+q.Encode(), "")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("%v: %d %q %s", q, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		return decodeMessages(t, body)
	}
	got := logs(url.Values{"name": {"fn"}, "follow": {"false"}})
	if texts(got) != `three minutes ago,{"msg":"restarted"},a minute ago` {
		t.Errorf("default window: %s", texts(got))
	}
	if m := got[0]; m.Name != "fn" || m.Namespace != Namespace || m.Instance != "10" || !m.Timestamp.Equal(now.Add(-3*time.Minute).UTC()) {
		t.Errorf("message %+v", m)
	}
	since := now.Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	if got := logs(url.Values{"name": {"fn"}, "since": {since}, "tail": {"-1"}}); len(got) != 4 || got[0].Text != "an hour ago" {
		t.Errorf("since 2 h, tail -1: %s", texts(got))
	}
	if got := logs(url.Values{"name": {"fn"}, "since": {since}, "tail": {"2"}}); texts(got) != `{"msg":"restarted"},a minute ago` {
		t.Errorf("tail 2: %s", texts(got))
	}
	if got := logs(url.Values{"name": {"fn"}, "since": {since}, "instance": {"10"}}); texts(got) != "an hour ago,three minutes ago" {
		t.Errorf("instance 10: %s", texts(got))
	}
	future := now.Add(time.Hour).UTC().Format(time.RFC3339)
	if got := logs(url.Values{"name": {"fn"}, "since": {future}}); len(got) != 3 {
		t.Errorf("since in the future (faasd: the default window): %s", texts(got))
	}

	for q, want := range map[string]int{
		"name=fn&since=yesterday":       http.StatusUnprocessableEntity,
		"name=fn&tail=many":             http.StatusUnprocessableEntity,
		"name=nope":                     http.StatusNotFound,
		"name=fn&namespace=kube-system": http.StatusBadRequest,
	} {
		if res, body := adminDo(t, http.MethodGet, srv.URL+"/system/logs?"+q, ""); res.StatusCode != want {
			t.Errorf("%s: %d %s, want %d", q, res.StatusCode, body, want)
		}
	}
	if res, _ := get(t, srv.URL+"/system/logs?name=fn"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("logs without basic auth: %d", res.StatusCode)
	}
}

// TestGatewayLogsFollow: with follow the stream stays open, sends a line
// written after it started (flushed at once), and ends when the client goes.
func TestGatewayLogsFollow(t *testing.T) {
	srv, journal, _, _ := systemGateway(t, time.Now())
	write(t, journal, formatJournalLine(time.Now(), 7, "before"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/system/logs?name=fn&follow=true&tail=-1", nil)
	req.SetBasicAuth("admin", "s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() LogMessage {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			return decodeMessages(t, []byte(l))[0]
		case <-time.After(5 * time.Second):
			t.Fatal("no line within 5 s")
		}
		return LogMessage{}
	}
	if m := next(); m.Text != "before" {
		t.Errorf("first %+v", m)
	}
	f, err := os.OpenFile(journal, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(formatJournalLine(time.Now(), 7, "after"))
	f.Close()
	if m := next(); m.Text != "after" || m.Instance != "7" {
		t.Errorf("followed %+v", m)
	}
	cancel()
	res.Body.Close()
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }() // waits for the handler to return
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the follow handler did not end when the client went away")
	}
}

// TestGatewaySecrets: /system/secrets over the folder: create (409 when it
// exists), list (names only, the gateway's own hidden), update in place (a
// function's hard-linked mount sees it), remove; values never answered nor
// logged.
func TestGatewaySecrets(t *testing.T) {
	srv, _, dir, logBuf := systemGateway(t, time.Now())
	write(t, filepath.Join(dir, SecretBasicAuthPassword), "gateway-pw")
	u := srv.URL + "/system/secrets"
	if res, b := adminDo(t, http.MethodPost, u, `{"name":"api-key","value":"first-value-123"}`); res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", res.StatusCode, b)
	}
	if res, b := adminDo(t, http.MethodPost, u, `{"name":"api-key","value":"other"}`); res.StatusCode != http.StatusConflict {
		t.Errorf("create again: %d %s, want 409", res.StatusCode, b)
	}
	if res, b := adminDo(t, http.MethodPost, u, `{"name":"raw","rawValue":"AAEC"}`); res.StatusCode != http.StatusCreated {
		t.Errorf("create raw: %d %s", res.StatusCode, b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "raw")); !bytes.Equal(b, []byte{0, 1, 2}) {
		t.Errorf("rawValue written as %v", b)
	}
	mount := filepath.Join(t.TempDir(), "secrets")
	if err := MountSecrets(dir, mount, []string{"api-key"}); err != nil {
		t.Fatal(err)
	}
	res, b := adminDo(t, http.MethodGet, u, "")
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil || res.StatusCode != 200 {
		t.Fatalf("list: %d %s", res.StatusCode, b)
	}
	if len(list) != 2 || list[0]["name"] != "api-key" || list[1]["name"] != "raw" || list[0]["namespace"] != Namespace {
		t.Errorf("list %s", b)
	}
	if bytes.Contains(b, []byte("first-value")) || bytes.Contains(b, []byte("gateway-pw")) {
		t.Errorf("list answers values: %s", b)
	}
	if res, b := adminDo(t, http.MethodPut, u, `{"name":"api-key","value":"second-value-456"}`); res.StatusCode != http.StatusOK {
		t.Errorf("update: %d %s", res.StatusCode, b)
	}
	if got, _ := os.ReadFile(filepath.Join(mount, "api-key")); string(got) != "second-value-456" {
		t.Errorf("the function's mount reads %q after the update", got)
	}
	if res, _ := adminDo(t, http.MethodPut, u, `{"name":"missing","value":"x"}`); res.StatusCode != http.StatusNotFound {
		t.Errorf("update of a missing secret: %d, want 404", res.StatusCode)
	}
	for _, body := range []string{`{"name":"../etc/passwd","value":"x"}`, `{"name":"","value":"x"}`, `{"name":"` + SecretBasicAuthPassword + `","value":"x"}`, `not json`} {
		if res, b := adminDo(t, http.MethodPost, u, body); res.StatusCode != http.StatusBadRequest {
			t.Errorf("create %s: %d %s, want 400", body, res.StatusCode, b)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, SecretBasicAuthPassword)); string(got) != "gateway-pw" {
		t.Error("the gateway's own credential was changed")
	}
	if res, b := adminDo(t, http.MethodDelete, u, `{"name":"api-key"}`); res.StatusCode != http.StatusOK {
		t.Errorf("remove: %d %s", res.StatusCode, b)
	}
	if _, err := os.Stat(filepath.Join(dir, "api-key")); !os.IsNotExist(err) {
		t.Errorf("removed secret still there: %v", err)
	}
	if res, _ := adminDo(t, http.MethodDelete, u, `{"name":"api-key"}`); res.StatusCode != http.StatusNotFound {
		t.Errorf("remove again: %d, want 404", res.StatusCode)
	}
	if res, _ := adminDo(t, http.MethodGet, u+"?namespace=other", ""); res.StatusCode != http.StatusBadRequest {
		t.Errorf("another namespace: %d, want 400", res.StatusCode)
	}
	if res, _ := get(t, u); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("secrets without basic auth: %d", res.StatusCode)
	}
	logged := logBuf.String()
	if !strings.Contains(logged, `"secret":"api-key"`) || strings.Contains(logged, "first-value") || strings.Contains(logged, "second-value") {
		t.Errorf("gateway log:\n%s", logged)
	}
}

// TestGatewayFunctionsNamespacesInfo: the shapes faas-cli decodes.
func TestGatewayFunctionsNamespacesInfo(t *testing.T) {
	started := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	srv, _, _, _ := systemGateway(t, started)
	_, b := adminDo(t, http.MethodGet, srv.URL+"/system/function/fn.openfaas-fn", "")
	var fn FunctionStatus
	if err := json.Unmarshal(b, &fn); err != nil {
		t.Fatal(err)
	}
	if !fn.CreatedAt.Equal(started) || fn.Replicas != 1 || fn.AvailableReplicas != 1 || fn.Limits == nil || fn.Limits.Memory != "256Mi" ||
		len(fn.Secrets) != 1 || fn.Labels["com.openfaas.scale.max"] != "10" || fn.Annotations == nil {
		t.Errorf("function %s", b)
	}
	if res, _ := adminDo(t, http.MethodGet, srv.URL+"/system/functions?namespace=other", ""); res.StatusCode != http.StatusBadRequest {
		t.Errorf("functions in another namespace: %d", res.StatusCode)
	}
	_, b = adminDo(t, http.MethodGet, srv.URL+"/system/namespaces", "")
	if string(b) != `["openfaas-fn"]` {
		t.Errorf("namespaces %s", b)
	}
	_, b = adminDo(t, http.MethodGet, srv.URL+"/system/info", "")
	var info struct {
		Provider *struct {
			Name    string `json:"provider"`
			Orch    string `json:"orchestration"`
			Version *struct{ SHA, Release string }
		}
		Version *struct{ SHA, Release string }
		Arch    string
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	// faas-cli reads both version blocks without nil checks.
	if info.Provider == nil || info.Provider.Version == nil || info.Version == nil || info.Provider.Name != "arrestcast-devstack" ||
		info.Version.SHA != "abc" || info.Provider.Version.Release != "dev-abc" || info.Arch == "" {
		t.Errorf("info %s", b)
	}
	for _, p := range []string{"/system/namespaces", "/system/info", "/system/function/fn"} {
		if res, _ := get(t, srv.URL+p); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without basic auth: %d", p, res.StatusCode)
		}
	}
}
