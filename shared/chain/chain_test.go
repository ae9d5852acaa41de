package chain

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"go.yaml.in/yaml/v3"

	"github.com/arrestcast/arrestcast/internal/stackfile"
)

// TestStackAgrees: every step of the chain is a function in stack.yml and
// every function in stack.yml is a step; only download carries a schedule.
func TestStackAgrees(t *testing.T) {
	f, err := stackfile.Load(repo.Path("stack.yml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range Steps {
		want = append(want, s.Name)
	}
	sort.Strings(want)
	if got := f.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("stack.yml functions %v, chain steps %v", got, want)
	}
	for _, s := range Steps {
		fn := f.Functions[s.Name]
		_, cron := fn.Schedule()
		if cron != (s.Trigger == Cron) {
			t.Errorf("%s: cron schedule in stack.yml = %v, chain trigger %s", s.Name, cron, s.Trigger)
		}
		if fn.Lang != "golang-http" {
			t.Errorf("%s: lang %q", s.Name, fn.Lang)
		}
		if s.Trigger == Event && !contains(fn.Secrets, "arrestcast-pipeline-token") {
			t.Errorf("%s: chained step without the pipeline token secret", s.Name)
		}
	}
}

// TestFaasdWebhooksAgree: faasd's MinIO declares exactly one webhook target
// per evented step, at the step's function, with token and queue dir.
func TestFaasdWebhooksAgree(t *testing.T) {
	raw, err := os.ReadFile(repo.Path("faasd/docker-compose.services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The file is a fragment of faasd's `services:` map: parse it as one.
	var doc struct {
		Services map[string]struct {
			Environment []string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(append([]byte("services:\n"), raw...), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range doc.Services["minio"].Environment {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MINIO_NOTIFY_WEBHOOK_") {
			got[k] = v
		}
	}
	want := WebhookEnv("http://gateway:8080", "__PIPELINE_TOKEN__", "/events")
	if len(got) != len(want) {
		t.Errorf("faasd declares %d webhook variables, the chain wants %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q in faasd, want %q", k, got[k], v)
		}
	}
}

// TestRules: one rule per evented step, listening on the previous step's
// manifests. Rules of steps that follow the same step share their filter
// (merge and the monitor on download's manifest: MinIO takes two rules with
// one filter to two targets and fires both, see the monitor's integration
// test TestTwoRulesOneManifest); any other two have disjoint prefixes.
func TestRules(t *testing.T) {
	rules := Rules()
	if len(rules) != len(Evented()) {
		t.Fatalf("%d rules for %d evented steps", len(rules), len(Evented()))
	}
	for i, a := range rules {
		if a.Suffix != ManifestSuffix || a.Prefix == "" {
			t.Errorf("rule %d: %+v", i, a)
		}
		for j, b := range rules {
			same := a.Prefix == b.Prefix && a.Suffix == b.Suffix && a.ARN != b.ARN
			if i != j && a.Bucket == b.Bucket && !same && (strings.HasPrefix(a.Prefix, b.Prefix) || strings.HasPrefix(b.Prefix, a.Prefix)) {
				t.Errorf("rules %s and %s overlap", a.ARN, b.ARN)
			}
		}
	}
	merge := MustLookup(Merge)
	if !merge.Matches(DataBucket, "0-raw-data/monthly-data/2017-12/manifest.json") {
		t.Error("merge does not listen to download's manifest")
	}
	if merge.Matches(DataBucket, "0-raw-data/monthly-data/2017-12/crimes.csv") {
		t.Error("merge would start on a data file, not the manifest")
	}
	if merge.Matches(ModelsBucket, "0-raw-data/monthly-data/2017-12/manifest.json") {
		t.Error("merge listens on the wrong bucket")
	}
	mon := MustLookup(Monitor)
	if !mon.Matches(DataBucket, "0-raw-data/monthly-data/2017-12/manifest.json") || mon.Matches(DataBucket, MonitorReportKey(MonthOf(date(2017, 12, 1)), 3)) {
		t.Error("the monitor does not start on download's manifest alone")
	}
}

// The monitor watches runs: train stays the step that completes one.
func TestObserver(t *testing.T) {
	if Final().Name != Train {
		t.Errorf("final step %s, want train", Final().Name)
	}
	if !IsObserver(Monitor) || IsObserver(Merge) || IsObserver("nope") {
		t.Error("IsObserver")
	}
	for _, s := range RunSteps() {
		if s.Observer && s.Name != Monitor {
			t.Errorf("%s is an observer", s.Name)
		}
	}
}

func TestOwns(t *testing.T) {
	for key, want := range map[string]bool{
		"1-enriched-data/crimes_enriched_2018-01-01.csv": true,
		"2-processed-data/split/2018-01-01/train.csv":    true,
		"ml-ready-data/2018-01-01/train.csv":             true,
		"secrets/passwd":                                 false,
		"1-enriched-data/../../etc":                      false,
		"/0-raw-data/data/x":                             false,
	} {
		if Owns(DataBucket, key) != want {
			t.Errorf("Owns(%q) = %v", key, !want)
		}
	}
}

// Every role a step reads was written by an earlier step of the chain
// (which hands it on), and every role written is read by a later step or
// kept for people (the rejects).
func TestRolesFlow(t *testing.T) {
	written := map[string]string{}
	read := map[string]bool{}
	for _, s := range RunSteps() {
		for _, r := range s.Reads {
			if written[r] == "" {
				t.Errorf("%s reads %s, which no earlier step writes", s.Name, r)
			}
			read[r] = true
		}
		for _, w := range s.Writes {
			written[w] = s.Name
		}
	}
	for role, by := range written {
		// Kept for people and other readers: the rejects, the model (predict,
		// through the registry), the profile (the monitor, through the
		// registry's link) and the monitor's reports (the dashboard).
		if !read[role] && role != RoleCrimeRejects && role != RoleUnplaced && role != RoleModel && role != RoleProfile && role != RoleReport {
			t.Errorf("%s writes %s, which no later step reads", by, role)
		}
	}
}
