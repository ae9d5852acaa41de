package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// The provider API behind basic auth, in the shapes of faas-provider's types
// (the ones faas-cli decodes): FunctionStatus, logs.Message, Secret,
// ProviderInfo/VersionInfo and the gateway's GatewayInfo.

// FunctionStatus is one entry of /system/functions (faas-provider's FunctionStatus).
type FunctionStatus struct {
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	Namespace         string            `json:"namespace"`
	EnvProcess        string            `json:"envProcess"`
	EnvVars           map[string]string `json:"envVars,omitempty"`
	Secrets           []string          `json:"secrets,omitempty"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	Limits            *Resources        `json:"limits,omitempty"`
	Requests          *Resources        `json:"requests,omitempty"`
	InvocationCount   float64           `json:"invocationCount"`
	Replicas          uint64            `json:"replicas"`
	AvailableReplicas uint64            `json:"availableReplicas"`
	// CreatedAt is when the running replica started (zero: none runs).
	CreatedAt time.Time `json:"createdAt"`
}

// Resources are a function's limits or requests in /system/functions.
type Resources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

// ProviderInfo is the provider block of /system/info.
type ProviderInfo struct {
	Name          string       `json:"provider"`
	Version       *VersionInfo `json:"version"`
	Orchestration string       `json:"orchestration"`
}

// VersionInfo is a version block of /system/info.
type VersionInfo struct {
	CommitMessage string `json:"commit_message,omitempty"`
	SHA           string `json:"sha"`
	Release       string `json:"release"`
}

// GatewayInfo is /system/info.
type GatewayInfo struct {
	Provider *ProviderInfo `json:"provider"`
	Version  *VersionInfo  `json:"version"`
	Arch     string        `json:"arch"`
}

// Secret is one entry of /system/secrets (faas-provider's Secret); values
// are only ever read from requests, never answered.
type Secret struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
	RawValue  []byte `json:"rawValue,omitempty"`
}

// DefaultLogWindow is how far back /system/logs looks without since (faasd:
// the last 5 minutes).
const DefaultLogWindow = 5 * time.Minute

func resources(r *stackfile.Resources) *Resources {
	if r == nil {
		return nil
	}
	return &Resources{Memory: r.Memory, CPU: r.CPU}
}

func (g *Gateway) status(name string) FunctionStatus {
	f := g.fns[name]
	st := FunctionStatus{
		Name: f.Name, Image: f.Image, Namespace: Namespace, EnvProcess: f.EnvProcess, EnvVars: f.EnvVars,
		Secrets: f.Secrets, Labels: orEmpty(f.Labels), Annotations: orEmpty(f.Annotations),
		Limits: resources(f.Limits), Requests: resources(f.Requests), InvocationCount: float64(g.count[name].Load()),
	}
	if f.Deployed {
		st.Replicas = 1
	}
	if rep, ok := g.opts.Upstreams.Upstream(name); ok {
		st.AvailableReplicas = 1
		st.CreatedAt = rep.Started.UTC()
	}
	return st
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// namespaceOK accepts the one namespace of the local stack (or none given).
func namespaceOK(w http.ResponseWriter, ns string) bool {
	if ns == "" || ns == Namespace {
		return true
	}
	writeText(w, http.StatusBadRequest, fmt.Sprintf("namespace %q is not valid: the local stack has one, %s", ns, Namespace))
	return false
}

func (g *Gateway) system(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/system/functions":
		if r.Method != http.MethodGet {
			writeText(w, http.StatusMethodNotAllowed, "this local gateway cannot deploy: edit stack.yml and run make dev-down dev")
			return
		}
		if !namespaceOK(w, r.URL.Query().Get("namespace")) {
			return
		}
		out := make([]FunctionStatus, 0, len(g.names))
		for _, n := range g.names {
			out = append(out, g.status(n))
		}
		writeJSON(w, http.StatusOK, out)
	case strings.HasPrefix(p, "/system/function/"):
		name, ns, _ := strings.Cut(strings.TrimPrefix(p, "/system/function/"), ".")
		if ns == "" {
			ns = r.URL.Query().Get("namespace")
		}
		if !namespaceOK(w, ns) {
			return
		}
		if _, ok := g.fns[name]; !ok {
			writeText(w, http.StatusNotFound, fmt.Sprintf("function %s not found", name))
			return
		}
		writeJSON(w, http.StatusOK, g.status(name))
	case p == "/system/logs":
		g.logs(w, r)
	case p == "/system/secrets":
		g.secrets(w, r)
	case p == "/system/namespaces":
		writeJSON(w, http.StatusOK, []string{Namespace})
	case p == "/system/info":
		prov, ver := g.opts.Provider, g.opts.Version
		if prov.Version == nil {
			prov.Version = &ver
		}
		writeJSON(w, http.StatusOK, GatewayInfo{Provider: &prov, Version: &ver, Arch: runtime.GOARCH})
	default:
		http.NotFound(w, r)
	}
}

// logs is GET /system/logs as faas-provider's log handler serves it: one
// JSON message per line, flushed one by one; with follow until the client
// goes away.
func (g *Gateway) logs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	q := r.URL.Query()
	last := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	name, ns := last("name"), last("namespace")
	lq := LogQuery{Instance: last("instance")}
	if v := last("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeText(w, http.StatusUnprocessableEntity, "could not parse the log request: tail: "+err.Error())
			return
		}
		lq.Tail = n
	}
	lq.Follow, _ = strconv.ParseBool(last("follow")) // as the provider: anything else is false
	now := time.Now()
	lq.Since = now.Add(-DefaultLogWindow)
	if v := last("since"); v != "" {
		since, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeText(w, http.StatusUnprocessableEntity, "could not parse the log request: since: want RFC 3339")
			return
		}
		if since.Before(now) { // faasd: a since in the future means the default window
			lq.Since = since
		}
	}
	if !namespaceOK(w, ns) {
		return
	}
	if _, ok := g.fns[name]; !ok || g.opts.Journal == nil {
		writeText(w, http.StatusNotFound, fmt.Sprintf("function %s not found", name))
		return
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	err := ReadLogs(r.Context(), g.opts.Journal(name), name, Namespace, lq, func(m LogMessage) error {
		if err := enc.Encode(m); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		g.log.Warn("logs", "function", name, "err", err.Error())
	}
}

// secretName is what a secret may be called: one file name, no path.
var secretName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)

// secrets is /system/secrets over the secrets folder, as faasd keeps them:
// GET lists names, POST creates (409 when it exists), PUT replaces the value
// of an existing one in place (functions see it at once, as faasd's bind
// mounts do), DELETE removes.
func (g *Gateway) secrets(w http.ResponseWriter, r *http.Request) {
	dir := g.opts.SecretsDir
	if dir == "" {
		writeText(w, http.StatusNotImplemented, "this gateway keeps no secrets")
		return
	}
	if r.Method == http.MethodGet {
		if !namespaceOK(w, r.URL.Query().Get("namespace")) {
			return
		}
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			writeText(w, http.StatusInternalServerError, "list secrets: "+err.Error())
			return
		}
		out := []Secret{}
		for _, e := range entries {
			if e.Type().IsRegular() && secretName.MatchString(e.Name()) && !slices.Contains(g.opts.Reserved, e.Name()) {
				out = append(out, Secret{Name: e.Name(), Namespace: Namespace})
			}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodDelete {
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	var s Secret
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		writeText(w, http.StatusBadRequest, "read request: "+err.Error())
		return
	}
	if len(body) > 1<<20 {
		writeText(w, http.StatusRequestEntityTooLarge, "a secret is at most 1 MiB")
		return
	}
	if err := json.Unmarshal(body, &s); err != nil {
		writeText(w, http.StatusBadRequest, "want a JSON secret {name, value}: "+err.Error())
		return
	}
	ns := s.Namespace
	if ns == "" {
		ns = r.URL.Query().Get("namespace")
	}
	if !namespaceOK(w, ns) {
		return
	}
	switch {
	case !secretName.MatchString(s.Name):
		writeText(w, http.StatusBadRequest, fmt.Sprintf("name %q: want letters, digits, '.', '_' or '-' (no path)", s.Name))
		return
	case slices.Contains(g.opts.Reserved, s.Name):
		writeText(w, http.StatusBadRequest, fmt.Sprintf("name %q is the local gateway's own credential, not a function secret", s.Name))
		return
	}
	path := filepath.Join(dir, s.Name)
	value := s.RawValue
	if len(value) == 0 {
		value = []byte(s.Value)
	}
	switch r.Method {
	case http.MethodPost:
		if err := writeSecretFile(path, value, os.O_CREATE|os.O_EXCL); errors.Is(err, fs.ErrExist) {
			writeText(w, http.StatusConflict, fmt.Sprintf("secret %s already exists", s.Name))
			return
		} else if err != nil {
			writeText(w, http.StatusInternalServerError, "create secret "+s.Name+": "+err.Error())
			return
		}
		g.log.Info("secret created", "secret", s.Name)
		w.WriteHeader(http.StatusCreated)
	case http.MethodPut:
		if err := writeSecretFile(path, value, 0); errors.Is(err, fs.ErrNotExist) {
			writeText(w, http.StatusNotFound, fmt.Sprintf("secret %s not found", s.Name))
			return
		} else if err != nil {
			writeText(w, http.StatusInternalServerError, "update secret "+s.Name+": "+err.Error())
			return
		}
		g.log.Info("secret updated", "secret", s.Name)
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
			writeText(w, http.StatusNotFound, fmt.Sprintf("secret %s not found", s.Name))
			return
		} else if err != nil {
			writeText(w, http.StatusInternalServerError, "remove secret "+s.Name+": "+err.Error())
			return
		}
		g.log.Info("secret removed", "secret", s.Name)
		w.WriteHeader(http.StatusOK)
	}
}

// writeSecretFile writes a secret's value into its file in place: a
// function's mount is a hard link to it (faasd bind-mounts the file), so it
// sees the new value without a restart.
func writeSecretFile(path string, value []byte, flags int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|flags, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(value); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
