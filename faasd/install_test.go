// Package faasd holds the faasd deployment's files; its test runs install.sh.
package faasd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/internal/repo"
)

// The test binary doubles as a stand-in faas-cli (when no real one is
// given): it runs fakeFaasCLI instead of the tests when this is set.
const fakeCLIEnv = "ARRESTCAST_FAKE_FAAS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(fakeCLIEnv) == "1" {
		os.Exit(fakeFaasCLI(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// gateway stands in for faasd's gateway and provider: basic auth as faasd
// checks it, /system/secrets as faasd's provider keeps them (rawValue, else
// value), and the setup function's calls.
type gateway struct {
	user, password string

	mu      sync.Mutex
	secrets map[string]string
	setup   []*http.Request
	bodies  []string
}

type secretReq struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	RawValue []byte `json:"rawValue"`
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.URL.Path == "/function/setup" {
		b, _ := io.ReadAll(r.Body)
		g.setup = append(g.setup, r)
		g.bodies = append(g.bodies, string(b))
		_, _ = io.WriteString(w, `{"ok":true}`)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != g.user || p != g.password {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case r.URL.Path == "/system/functions" && r.Method == http.MethodGet:
		_, _ = io.WriteString(w, "[]")
	case r.URL.Path == "/system/secrets" && r.Method == http.MethodGet:
		names := []map[string]string{}
		for n := range g.secrets {
			names = append(names, map[string]string{"name": n})
		}
		_ = json.NewEncoder(w).Encode(names)
	case r.URL.Path == "/system/secrets" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		var s secretReq
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil || s.Name == "" {
			http.Error(w, "bad secret", http.StatusBadRequest)
			return
		}
		_, exists := g.secrets[s.Name]
		if r.Method == http.MethodPost && exists {
			http.Error(w, "exists", http.StatusConflict)
			return
		}
		if r.Method == http.MethodPut && !exists {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		v := string(s.RawValue)
		if v == "" {
			v = s.Value
		}
		g.secrets[s.Name] = v
		w.WriteHeader(http.StatusCreated)
	default:
		http.NotFound(w, r)
	}
}

// install runs faasd/install.sh with PATH holding only shims: each records
// its argv (and faas-cli's stdin) in records/ and runs the real program, but
// id (root), faasd (installed), systemctl and chown (no-ops), and `faas-cli
// up` (records GIT_COMMIT). Any other program the script runs is not found,
// so every process it starts is recorded.
type install struct {
	t       *testing.T
	dir     string // FAASD_DIR
	shims   string
	records string
	env     []string
}

func newInstall(t *testing.T, gw *httptest.Server, adminPassword string) *install {
	tmp := t.TempDir()
	in := &install{t: t, dir: filepath.Join(tmp, "faasd"), shims: filepath.Join(tmp, "bin"), records: filepath.Join(tmp, "records")}
	for _, d := range []string{filepath.Join(in.dir, "secrets"), in.shims, in.records, filepath.Join(tmp, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, data string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(in.dir, "docker-compose.yaml"), "version: \"3.7\"\nservices:\n  gateway:\n    image: ghcr.io/openfaas/gateway:0.27.12\n", 0o644)
	write(filepath.Join(in.dir, "secrets", "basic-auth-password"), adminPassword, 0o600)

	record := `n=0; while [ -e "$RECORDS/argv.$$.$n" ]; do n=$((n+1)); done; printf '%s\0' "$0" "$@" > "$RECORDS/argv.$$.$n"` + "\n"
	for _, name := range []string{"dirname", "install", "head", "base64", "tr", "cat", "grep", "cp", "date", "chmod", "curl", "git"} {
		real, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("install.sh needs %s: %v", name, err)
		}
		write(filepath.Join(in.shims, name), "#!/bin/sh\n"+record+"exec '"+real+"' \"$@\"\n", 0o755)
	}
	write(filepath.Join(in.shims, "id"), "#!/bin/sh\n"+record+"echo 0\n", 0o755)
	for _, name := range []string{"faasd", "systemctl", "chown"} {
		write(filepath.Join(in.shims, name), "#!/bin/sh\n"+record+"exit 0\n", 0o755)
	}
	cli, fake := os.Getenv("FAAS_CLI"), ""
	if cli == "" {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cli, fake = self, "export "+fakeCLIEnv+"=1\n"
	}
	write(filepath.Join(in.shims, "faas-cli"), "#!/bin/sh\n"+record+
		`if [ "$1" = up ]; then printf '%s' "$GIT_COMMIT" > "$RECORDS/up.GIT_COMMIT"; exit 0; fi`+"\n"+
		fake+"exec '"+cli+"' \"$@\"\n", 0o755)

	in.env = []string{
		"PATH=" + in.shims,
		"HOME=" + filepath.Join(tmp, "home"),
		"RECORDS=" + in.records,
		"FAASD_DIR=" + in.dir,
		"OPENFAAS_URL=" + gw.URL,
		"REGISTRY=registry.example/arrestcast",
	}
	return in
}

func (in *install) run(extraEnv ...string) string {
	in.t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		in.t.Skip("install.sh needs bash")
	}
	cmd := exec.Command(bash, repo.Need(in.t, "faasd/install.sh"))
	cmd.Env = append(append([]string{}, in.env...), extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		in.t.Fatalf("install.sh: %v\n%s", err, out)
	}
	return string(out)
}

// argvs returns every recorded command line.
func (in *install) argvs() [][]string {
	in.t.Helper()
	files, err := filepath.Glob(filepath.Join(in.records, "argv.*"))
	if err != nil {
		in.t.Fatal(err)
	}
	var out [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			in.t.Fatal(err)
		}
		out = append(out, strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
	}
	return out
}

func (in *install) state(name string) string {
	in.t.Helper()
	b, err := os.ReadFile(filepath.Join(in.dir, "arrestcast", name))
	if err != nil || len(b) == 0 {
		in.t.Fatalf("state %s: %q %v", name, b, err)
	}
	return string(b)
}

// install.sh, run twice as on a real faasd host, sets every secret and
// calls setup with the pipeline token while no secret value is ever on a
// command line (ps shows argv to every user), and fills the services into
// faasd's compose file (0600) once.
func TestInstallKeepsSecretsOffCommandLines(t *testing.T) {
	const admin = "admin-Pw-7f3k"
	gw := &gateway{user: "admin", password: admin, secrets: map[string]string{}}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	in := newInstall(t, srv, admin)

	// A MinIO password with the characters sed's s||| and bash >= 5.2's
	// ${x//p/r} (an unquoted &) would garble; install.sh generates alphanumeric ones.
	if err := os.MkdirAll(filepath.Join(in.dir, "arrestcast"), 0o700); err != nil {
		t.Fatal(err)
	}
	minioPass := `Pa&ss|wo/rd\1`
	if err := os.WriteFile(filepath.Join(in.dir, "arrestcast", "minio-password"), []byte(minioPass), 0o600); err != nil {
		t.Fatal(err)
	}
	const socrata = "socrata-Tk-92x"
	const hook = "https://hooks.example/services/T0/B0/alert-xyz"
	in.run("SOCRATA_APP_TOKEN="+socrata, "ALERT_WEBHOOK_URL="+hook)

	pgPass, token := in.state("postgres-password"), in.state("pipeline-token")
	dbURL := "postgres://arrestcast:" + pgPass + "@postgres:5432/arrestcast?sslmode=disable"
	want := map[string]string{
		"arrestcast-minio-access-key":  "arrestcast",
		"arrestcast-minio-secret-key":  minioPass,
		"arrestcast-database-url":      dbURL,
		"arrestcast-pipeline-token":    token,
		"arrestcast-socrata-app-token": socrata,
		"arrestcast-alert-webhook-url": hook,
	}
	checkSecrets := func(run string) {
		t.Helper()
		gw.mu.Lock()
		defer gw.mu.Unlock()
		for name, v := range want {
			if got, ok := gw.secrets[name]; !ok || got != v {
				t.Errorf("%s: secret %s = %q (set %v), want %q", run, name, got, ok, v)
			}
		}
	}
	checkSecrets("first run")
	secretValues := []string{admin, minioPass, pgPass, token, socrata, dbURL, hook}
	checkArgv := func(run string) {
		t.Helper()
		argvs := in.argvs()
		if len(argvs) < 10 {
			t.Fatalf("%s: only %d commands recorded", run, len(argvs))
		}
		for _, argv := range argvs {
			line := strings.Join(argv, " ")
			for _, v := range secretValues {
				if strings.Contains(line, v) {
					t.Errorf("%s: a secret is on a command line: %s", run, line)
				}
			}
		}
	}
	checkArgv("first run")

	gw.mu.Lock()
	if len(gw.setup) != 1 || gw.setup[0].Header.Get("Authorization") != "Bearer "+token ||
		!strings.Contains(gw.bodies[0], `"as_of":"`+time.Now().UTC().Format("2006-01-02")+`"`) {
		t.Errorf("setup calls: %d, %v %q", len(gw.setup), gw.setup, gw.bodies)
	}
	gw.mu.Unlock()
	if b, err := os.ReadFile(filepath.Join(in.records, "up.GIT_COMMIT")); err != nil || len(b) == 0 {
		t.Errorf("faas-cli up ran without GIT_COMMIT: %q %v", b, err)
	}

	composePath := filepath.Join(in.dir, "docker-compose.yaml")
	compose, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"MINIO_ROOT_USER=arrestcast\n", "MINIO_ROOT_PASSWORD=" + minioPass + "\n",
		"POSTGRES_PASSWORD=" + pgPass + "\n", "MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_TRAIN=" + token + "\n", "  gateway:\n"} {
		if !bytes.Contains(compose, []byte(s)) {
			t.Errorf("compose file lacks %q", s)
		}
	}
	if bytes.Contains(compose, []byte("__")) || bytes.Contains(compose, []byte("\n# Services ArrestCast adds")) {
		t.Errorf("compose file has placeholders or the services file's header:\n%s", compose)
	}
	if fi, err := os.Stat(composePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("compose file mode %v %v", fi.Mode(), err)
	}

	// Second run, the Socrata token in its state file instead of the
	// environment; third, no token at all: the secret is set again to nothing
	// (a newline the functions trim away). The services are appended once.
	const socrata2 = "socrata-from-file-55q"
	tokenFile := filepath.Join(in.dir, "arrestcast", "socrata-app-token")
	if err := os.WriteFile(tokenFile, []byte(socrata2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secretValues = append(secretValues, socrata2)
	for _, run := range []struct{ name, socrata string }{{"second run", socrata2}, {"third run", "\n"}} {
		if err := os.RemoveAll(in.records); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(in.records, 0o755); err != nil {
			t.Fatal(err)
		}
		in.run()
		want["arrestcast-socrata-app-token"] = run.socrata
		want["arrestcast-alert-webhook-url"] = "\n" // not given again: set to nothing
		checkSecrets(run.name)
		checkArgv(run.name)
		if err := os.Remove(tokenFile); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	compose2, _ := os.ReadFile(composePath)
	if n := bytes.Count(compose2, []byte("\n  minio:\n")); n != 1 {
		t.Errorf("after three runs: %d minio services in the compose file", n)
	}
}

// fakeFaasCLI does what install.sh asks of faas-cli 0.18 (read from its
// sources, commands/login.go and secret_create.go) against the gateway at
// OPENFAAS_URL: login --password-stdin checks the credentials on
// /system/functions and keeps them; secret create takes the value from
// --from-literal, --from-file or stdin, trims it unless --trim=false,
// refuses an empty one, and with --replace updates an existing secret
// (exiting 0 whatever the gateway answered); secret list prints the names.
func fakeFaasCLI(args []string) int {
	gw := os.Getenv("OPENFAAS_URL")
	authFile := filepath.Join(os.Getenv("HOME"), "fake-faas-cli-auth")
	do := func(method, path string, body io.Reader) (*http.Response, error) {
		req, err := http.NewRequest(method, gw+path, body)
		if err != nil {
			return nil, err
		}
		if b, err := os.ReadFile(authFile); err == nil {
			u, p, _ := strings.Cut(string(b), "\n")
			req.SetBasicAuth(u, p)
		}
		return http.DefaultClient.Do(req)
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "fake faas-cli: "+format+"\n", a...)
		return 1
	}
	switch {
	case len(args) >= 1 && args[0] == "login":
		fs := flag.NewFlagSet("login", flag.ContinueOnError)
		user := fs.String("username", "admin", "")
		stdin := fs.Bool("password-stdin", false, "")
		if err := fs.Parse(args[1:]); err != nil || !*stdin {
			return fail("login: want --password-stdin: %v", err)
		}
		pw, _ := io.ReadAll(os.Stdin)
		req, _ := http.NewRequest(http.MethodGet, gw+"/system/functions", nil)
		req.SetBasicAuth(*user, strings.TrimSpace(string(pw)))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			return fail("login refused: %v %v", err, res)
		}
		if err := os.WriteFile(authFile, []byte(*user+"\n"+strings.TrimSpace(string(pw))), 0o600); err != nil {
			return fail("%v", err)
		}
		return 0
	case len(args) >= 3 && args[0] == "secret" && args[1] == "create":
		fs := flag.NewFlagSet("create", flag.ContinueOnError)
		literal := fs.String("from-literal", "", "")
		file := fs.String("from-file", "", "")
		trim := fs.Bool("trim", true, "")
		replace := fs.Bool("replace", false, "")
		name := args[2]
		if err := fs.Parse(args[3:]); err != nil {
			return fail("secret create: %v", err)
		}
		var value string
		switch {
		case *literal != "":
			value = *literal
		case *file != "":
			b, err := os.ReadFile(*file)
			if err != nil {
				return fail("%v", err)
			}
			value = string(b)
		default:
			b, _ := io.ReadAll(bufio.NewReader(os.Stdin))
			value = string(b)
		}
		if *trim {
			value = strings.TrimSpace(value)
		}
		if value == "" {
			return fail("must provide a non empty secret via --from-literal, --from-file or STDIN")
		}
		body, _ := json.Marshal(map[string]string{"name": name, "value": value})
		res, err := do(http.MethodPost, "/system/secrets", bytes.NewReader(body))
		if err != nil {
			return fail("%v", err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusConflict && *replace {
			if res, err = do(http.MethodPut, "/system/secrets", bytes.NewReader(body)); err == nil {
				res.Body.Close()
			}
		}
		fmt.Printf("Creating secret: %s.\n%s\n", name, res.Status)
		return 0
	case len(args) == 2 && args[0] == "secret" && args[1] == "list":
		res, err := do(http.MethodGet, "/system/secrets", nil)
		if err != nil {
			return fail("%v", err)
		}
		defer res.Body.Close()
		var list []struct{ Name string }
		if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
			return fail("secret list: %v", err)
		}
		names := make([]string, 0, len(list))
		for _, s := range list {
			names = append(names, s.Name)
		}
		sort.Strings(names)
		fmt.Printf("\nNAME\n%s\n\n", strings.Join(names, "\n"))
		return 0
	}
	return fail("unexpected command %q", args)
}
