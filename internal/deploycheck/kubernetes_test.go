package deploycheck

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/arrestcast/arrestcast/internal/devstack"
	"github.com/arrestcast/arrestcast/internal/repo"
	"github.com/arrestcast/arrestcast/internal/stackfile"
	"github.com/arrestcast/arrestcast/internal/testenv"
	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
)

const (
	dir          = "deploy/kubernetes"
	fnNamespace  = "openfaas-fn"
	gatewayInK8s = "http://gateway.openfaas:8080"
)

// manifest is the part of a Kubernetes object these tests read.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Spec struct {
		// Function
		Name        string            `yaml:"name"`
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		Secrets     []string          `yaml:"secrets"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
		// Service
		Ports []struct {
			Name string `yaml:"name"`
			Port int    `yaml:"port"`
		} `yaml:"ports"`
		// Deployment, StatefulSet
		Template struct {
			Spec struct {
				Containers []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Name string `yaml:"name"`
	Env  []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	VolumeMounts []struct {
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// env maps a container's variables to their value, or "secret:<name>/<key>".
func (c container) env() map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			v = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
		out[e.Name] = v
	}
	return out
}

func readManifests(t *testing.T, file string) []manifest {
	t.Helper()
	raw, err := os.ReadFile(repo.Path(filepath.Join(dir, file)))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var out []manifest
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if m.Kind != "" {
			out = append(out, m)
		}
	}
	return out
}

func find(t *testing.T, ms []manifest, kind, name string) manifest {
	t.Helper()
	for _, m := range ms {
		if m.Kind == kind && m.Metadata.Name == name {
			return m
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return manifest{}
}

func stack(t *testing.T) *stackfile.File {
	t.Helper()
	f, err := stackfile.Load(repo.Path("stack.yml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFunctionsGeneratedFromStack regenerates the Function resources with
// the real faas-cli from stack.yml: functions.yml must be its output.
func TestFunctionsGeneratedFromStack(t *testing.T) {
	cli, err := devstack.FindTool(repo.Root(), "FAAS_CLI", "faas-cli")
	if err != nil {
		testenv.Unavailable(t, err.Error())
	}
	want, err := devstack.KubernetesFunctions(t.Context(), repo.Root(), cli)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(repo.Path(devstack.KubernetesFunctionsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, want) {
		t.Errorf("%s drifted from stack.yml: make kubernetes regenerates it; faas-cli generates:\n%s", devstack.KubernetesFunctionsFile, want)
	}
}

// TestFunctionsMatchTheChain: one Function per chain step in openfaas-fn,
// each with the secrets stack.yml lists; the cron step carries the
// cron-connector's annotations.
func TestFunctionsMatchTheChain(t *testing.T) {
	fns := readManifests(t, "functions.yml")
	f := stack(t)
	if len(fns) != len(chain.Steps) {
		t.Fatalf("%d Function resources, %d chain steps", len(fns), len(chain.Steps))
	}
	for _, s := range chain.Steps {
		m := find(t, fns, "Function", s.Name)
		if m.APIVersion != "openfaas.com/v1" || m.Metadata.Namespace != fnNamespace || m.Spec.Name != s.Name {
			t.Errorf("%s: %s %s in %q", s.Name, m.APIVersion, m.Spec.Name, m.Metadata.Namespace)
		}
		if !slices.Equal(m.Spec.Secrets, f.Functions[s.Name].Secrets) {
			t.Errorf("%s: secrets %v, stack.yml %v", s.Name, m.Spec.Secrets, f.Functions[s.Name].Secrets)
		}
		if s.Trigger == chain.Cron && (m.Spec.Annotations["topic"] != "cron-function" || m.Spec.Annotations["schedule"] == "") {
			t.Errorf("%s: annotations %v, the cron-connector looks for topic cron-function and a schedule", s.Name, m.Spec.Annotations)
		}
	}
}

// TestMinIOWebhooksAgree: MinIO declares exactly one webhook target per
// evented step, at the step's function on the OpenFaaS gateway, with the
// pipeline token from its secret and a queue dir on its volume; as faasd's.
func TestMinIOWebhooksAgree(t *testing.T) {
	ms := readManifests(t, "minio.yml")
	dep := find(t, ms, "Deployment", "minio")
	if dep.Metadata.Namespace != fnNamespace || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("minio deployment %+v", dep.Metadata)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	got := map[string]string{}
	for k, v := range c.env() {
		if strings.HasPrefix(k, "MINIO_NOTIFY_WEBHOOK_") {
			got[k] = v
		}
	}
	const token = "__PIPELINE_TOKEN__"
	want := chain.WebhookEnv(gatewayInK8s, token, "/events")
	for k, v := range want {
		if v == token {
			v = "secret:" + config.SecretPipelineToken + "/" + config.SecretPipelineToken
		}
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("minio declares %d webhook variables, the chain wants %d", len(got), len(want))
	}
	env := c.env()
	if env["MINIO_ROOT_USER"] != "secret:"+config.SecretMinIOAccessKey+"/"+config.SecretMinIOAccessKey ||
		env["MINIO_ROOT_PASSWORD"] != "secret:"+config.SecretMinIOSecretKey+"/"+config.SecretMinIOSecretKey {
		t.Errorf("MinIO's root credentials are not the functions' MinIO secrets: %q %q", env["MINIO_ROOT_USER"], env["MINIO_ROOT_PASSWORD"])
	}
	var mounts []string
	for _, v := range c.VolumeMounts {
		mounts = append(mounts, v.MountPath)
	}
	if !slices.Contains(mounts, "/events") || !slices.Contains(mounts, "/data") {
		t.Errorf("minio mounts %v: the queue dirs (/events) and the data must persist", mounts)
	}
}

// TestServicesWhereFunctionsLookForThem: the functions' MINIO_ENDPOINT and
// the database URL install.sh writes name Services in the functions'
// namespace, on their ports.
func TestServicesWhereFunctionsLookForThem(t *testing.T) {
	services := map[string]int{}
	for _, file := range []string{"minio.yml", "postgres.yml"} {
		for _, m := range readManifests(t, file) {
			if m.Kind != "Service" {
				continue
			}
			if m.Metadata.Namespace != fnNamespace {
				t.Errorf("service %s in %q, the functions are in %s", m.Metadata.Name, m.Metadata.Namespace, fnNamespace)
			}
			for _, p := range m.Spec.Ports {
				services[net.JoinHostPort(m.Metadata.Name, strconv.Itoa(p.Port))]++
			}
		}
	}
	for _, fn := range readManifests(t, "functions.yml") {
		if ep := fn.Spec.Environment["MINIO_ENDPOINT"]; services[ep] == 0 {
			t.Errorf("%s: MINIO_ENDPOINT %q is no Service (have %v)", fn.Metadata.Name, ep, services)
		}
	}
	script, err := os.ReadFile(repo.Path(filepath.Join(dir, "install.sh")))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(script, []byte("postgres://"))
	if i < 0 {
		t.Fatal("install.sh writes no database URL")
	}
	line, _, _ := strings.Cut(string(script[i:]), "'")
	u, err := url.Parse(strings.ReplaceAll(line, "%s", "pw"))
	if err != nil || services[u.Host] == 0 || u.Path != "/arrestcast" || u.User.Username() != "arrestcast" {
		t.Errorf("database URL %q: host %q is no Service %v", line, u.Host, services)
	}
	pg := find(t, readManifests(t, "postgres.yml"), "StatefulSet", "postgres").Spec.Template.Spec.Containers[0].env()
	if pg["POSTGRES_USER"] != "arrestcast" || pg["POSTGRES_DB"] != "arrestcast" ||
		pg["POSTGRES_PASSWORD"] != "secret:arrestcast-postgres-password/arrestcast-postgres-password" {
		t.Errorf("postgres env %v", pg)
	}
}

// TestSecretsCoverEverything: kustomization.yaml makes every secret a
// function lists (as faas-cli secret create: one key named like it) and
// every secret MinIO and PostgreSQL read, in the functions' namespace.
func TestSecretsCoverEverything(t *testing.T) {
	raw, err := os.ReadFile(repo.Path(filepath.Join(dir, "kustomization.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources       []string `yaml:"resources"`
		SecretGenerator []struct {
			Name      string   `yaml:"name"`
			Namespace string   `yaml:"namespace"`
			Files     []string `yaml:"files"`
		} `yaml:"secretGenerator"`
		GeneratorOptions struct {
			DisableNameSuffixHash bool `yaml:"disableNameSuffixHash"`
		} `yaml:"generatorOptions"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	if !k.GeneratorOptions.DisableNameSuffixHash {
		t.Error("generated secrets get a hash suffix: functions would not find them by name")
	}
	made := map[string]bool{}
	for _, g := range k.SecretGenerator {
		if g.Namespace != fnNamespace || len(g.Files) != 1 || g.Files[0] != g.Name+"=secrets/"+g.Name {
			t.Errorf("secret %s: namespace %q, files %v: want one key %s from secrets/%s", g.Name, g.Namespace, g.Files, g.Name, g.Name)
		}
		made[g.Name] = true
	}
	need := map[string]string{}
	for name, fn := range stack(t).Functions {
		for _, s := range fn.Secrets {
			need[s] = "function " + name
		}
	}
	for _, file := range k.Resources {
		for _, m := range readManifests(t, file) {
			for _, c := range m.Spec.Template.Spec.Containers {
				for _, v := range c.env() {
					if name, ok := strings.CutPrefix(v, "secret:"); ok {
						n, key, _ := strings.Cut(name, "/")
						if key != n {
							t.Errorf("%s reads key %q of secret %s: the key is the secret's name", file, key, n)
						}
						need[n] = file
					}
				}
			}
		}
	}
	for s, who := range need {
		if !made[s] {
			t.Errorf("secret %s (used by %s) is not made by kustomization.yaml", s, who)
		}
	}
	for _, s := range []string{"minio.yml", "postgres.yml"} {
		if !slices.Contains(k.Resources, s) {
			t.Errorf("kustomization.yaml does not apply %s", s)
		}
	}
}

// TestGatewayAndCronConnectorValues: the gateway waits longer than any
// function may run (exec_timeout), in the namespace the functions are in;
// the cron-connector calls that gateway with its basic auth.
func TestGatewayAndCronConnectorValues(t *testing.T) {
	var of struct {
		FunctionNamespace string `yaml:"functionNamespace"`
		BasicAuth         bool   `yaml:"basic_auth"`
		Gateway           struct {
			UpstreamTimeout string `yaml:"upstreamTimeout"`
			ReadTimeout     string `yaml:"readTimeout"`
			WriteTimeout    string `yaml:"writeTimeout"`
		} `yaml:"gateway"`
	}
	readYAML(t, "openfaas-values.yaml", &of)
	if of.FunctionNamespace != fnNamespace || !of.BasicAuth {
		t.Errorf("openfaas values: namespace %q basic_auth %v", of.FunctionNamespace, of.BasicAuth)
	}
	upstream := duration(t, of.Gateway.UpstreamTimeout)
	if duration(t, of.Gateway.ReadTimeout) <= upstream || duration(t, of.Gateway.WriteTimeout) <= upstream {
		t.Errorf("gateway read/write timeouts must exceed the upstream timeout: %+v", of.Gateway)
	}
	for name, fn := range stack(t).Functions {
		if d := duration(t, fn.Environment["exec_timeout"]); d >= upstream {
			t.Errorf("%s: exec_timeout %s, the gateway's upstream timeout %s cuts it", name, d, upstream)
		}
	}
	var cc struct {
		GatewayURL string `yaml:"gatewayURL"`
		BasicAuth  bool   `yaml:"basicAuth"`
		Async      bool   `yaml:"asyncInvocation"`
	}
	readYAML(t, "cron-connector-values.yaml", &cc)
	if cc.GatewayURL != gatewayInK8s || !cc.BasicAuth || cc.Async {
		t.Errorf("cron-connector values %+v: want the gateway %s, basic auth, synchronous calls (as on faasd)", cc, gatewayInK8s)
	}
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	raw, err := os.ReadFile(repo.Path(filepath.Join(dir, file)))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func duration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}
