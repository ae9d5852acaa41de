// Package chain is the one table that describes ArrestCast's monthly
// pipeline — which function runs each step, what starts it (the
// cron-connector, a MinIO bucket notification on the previous step's
// manifest, or a manual call), which objects it reads and writes by role —
// and the object layout every key is derived from (layout.go). stack.yml,
// faasd's and Kubernetes' MinIO webhook targets and the bucket notification
// rules that setup installs are all checked against it.
package chain

import (
	"fmt"
	"strings"
)

// Step names: the functions of stack.yml.
const (
	Setup     = "setup"
	Download  = "download"
	Merge     = "merge"
	Enrich    = "enrich"
	Split     = "split"
	Outliers  = "outliers"
	Encode    = "encode"
	Scale     = "scale"
	Balance   = "balance"
	Features  = "features"
	Train     = "train"
	Monitor   = "monitor"
	Predict   = "predict"
	Dashboard = "dashboard"
)

// Bucket roles. A deployment names its buckets (DATA_BUCKET, MODELS_BUCKET);
// the chain speaks of them by role, and these are also the default names.
const (
	DataBucket   = "data"
	ModelsBucket = "models"
)

// Roles name what an object is to the chain. A step asks the manifest that
// started it for its inputs by role, and every role it does not write
// itself travels on in its own manifest (see runner.Manifest.Forward).
const (
	RoleCrimes       = "crimes"         // one month of crimes as downloaded (CSV, one per month)
	RoleCrimeRejects = "crime_rejects"  // records of a month the decoder refused
	RoleStations     = "stations"       // the police stations as downloaded (CSV)
	RoleWindow       = "window"         // the 365-day window (CSV)
	RoleEnriched     = "enriched"       // the window with station and time features (CSV)
	RoleUnplaced     = "unplaced"       // records enrich could not place (no coordinates)
	RoleStationsUsed = "stations_used"  // the stations enrich placed crimes against (JSON), for the model
	RoleTrain        = "train"          // the training rows as this step leaves them
	RoleTest         = "test"           // the test rows as this step leaves them
	RoleTrainRecords = "train_records"  // the training rows as records, before encoding: the v2 recipe fits on them
	RoleTestRecords  = "test_records"   // the test rows as records, before encoding: train's replay check
	RoleRecipe       = "recipe"         // the preprocessing fitted so far (JSON, cumulative)
	RoleModel        = "model"          // the model artifact
	RoleProfile      = "profile"        // the reference profile of the model's data (JSON), for the monitor
	RoleReport       = "monitor_report" // the monitor's report on a month (JSON)
)

// Trigger says what starts a step.
type Trigger string

const (
	Manual Trigger = "manual" // only a direct call (setup)
	Cron   Trigger = "cron"   // the cron-connector's tick, or a manual call (download)
	Event  Trigger = "event"  // a MinIO notification on the previous step's manifest
	HTTP   Trigger = "http"   // serves requests (predict)
)

// Step is one function of the chain.
type Step struct {
	Name    string  // function name in stack.yml and MinIO webhook target ID
	Trigger Trigger // what starts it
	After   string  // the step whose manifest starts this one (Event only)
	Bucket  string  // role of the bucket the step writes to
	Output  string  // key prefix the step writes under
	Reads   []string
	Writes  []string
	// Observer marks a step that watches a run without being part of it
	// (the monitor, started on download's manifest beside merge): the run
	// does not wait for it, is not reopened by it, and does not fail with it.
	Observer bool
}

// Steps lists the chain in execution order.
var Steps = []Step{
	{Name: Setup, Trigger: Manual, Bucket: DataBucket},
	{Name: Download, Trigger: Cron, Bucket: DataBucket, Output: RawMonthsPrefix,
		Writes: []string{RoleCrimes, RoleCrimeRejects, RoleStations}},
	{Name: Merge, Trigger: Event, After: Download, Bucket: DataBucket, Output: WindowPrefix,
		Reads: []string{RoleCrimes}, Writes: []string{RoleWindow}},
	{Name: Enrich, Trigger: Event, After: Merge, Bucket: DataBucket, Output: EnrichedPrefix,
		Reads: []string{RoleWindow, RoleStations}, Writes: []string{RoleEnriched, RoleUnplaced, RoleStationsUsed}},
	{Name: Split, Trigger: Event, After: Enrich, Bucket: DataBucket, Output: TempPrefix + "split/",
		Reads: []string{RoleEnriched}, Writes: []string{RoleTrain, RoleTest, RoleRecipe}},
	{Name: Outliers, Trigger: Event, After: Split, Bucket: DataBucket, Output: TempPrefix + "outliers/",
		Reads: []string{RoleTrain, RoleTest, RoleRecipe}, Writes: []string{RoleTrain, RoleTest, RoleRecipe}},
	{Name: Encode, Trigger: Event, After: Outliers, Bucket: DataBucket, Output: TempPrefix + "encode/",
		Reads: []string{RoleTrain, RoleTest, RoleRecipe}, Writes: []string{RoleTrain, RoleTest, RoleRecipe, RoleTrainRecords, RoleTestRecords}},
	{Name: Scale, Trigger: Event, After: Encode, Bucket: DataBucket, Output: TempPrefix + "scale/",
		Reads: []string{RoleTrain, RoleTest, RoleRecipe}, Writes: []string{RoleTrain, RoleTest, RoleRecipe}},
	{Name: Balance, Trigger: Event, After: Scale, Bucket: DataBucket, Output: TempPrefix + "balance/",
		Reads: []string{RoleTrain}, Writes: []string{RoleTrain}},
	{Name: Features, Trigger: Event, After: Balance, Bucket: DataBucket, Output: MLReadyPrefix,
		Reads: []string{RoleTrain, RoleTest, RoleRecipe, RoleTrainRecords, RoleTestRecords}, Writes: []string{RoleTrain, RoleTest, RoleRecipe, RoleTrainRecords, RoleTestRecords}},
	{Name: Train, Trigger: Event, After: Features, Bucket: ModelsBucket, Output: ModelsPrefix,
		Reads: []string{RoleTrain, RoleTest, RoleRecipe, RoleStationsUsed, RoleTrainRecords, RoleTestRecords}, Writes: []string{RoleModel, RoleProfile}},
	// The monitor starts on download's manifest too (a second notification
	// rule with the same filter, to its own webhook target: MinIO fires
	// both), scores the month that just arrived with the champion that never
	// saw it and compares it with the champion's reference profile. Listed
	// last: it is no link of the chain (see Observer).
	{Name: Monitor, Trigger: Event, After: Download, Bucket: DataBucket, Output: MonitorPrefix, Observer: true,
		Reads: []string{RoleCrimes, RoleCrimeRejects}, Writes: []string{RoleReport}},
	{Name: Predict, Trigger: HTTP},
	{Name: Dashboard, Trigger: HTTP},
}

// Lookup returns the step called name.
func Lookup(name string) (Step, bool) {
	for _, s := range Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// MustLookup is Lookup for a name the program itself spells (a step
// package's own name): an unknown one is a bug.
func MustLookup(name string) Step {
	s, ok := Lookup(name)
	if !ok {
		panic("chain: no step " + name)
	}
	return s
}

// Cronned reports whether the cron-connector's tick may start s.
func (s Step) Cronned() bool { return s.Trigger == Cron }

// Reading reports whether s declares role among what it reads.
func (s Step) Reading(role string) bool { return contains(s.Reads, role) }

// Writing reports whether s declares role among what it writes.
func (s Step) Writing(role string) bool { return contains(s.Writes, role) }

// Listen is the notification filter that starts an Event step: the bucket
// (role) and key prefix/suffix of the previous step's manifest.
type Listen struct {
	Bucket, Prefix, Suffix string
}

// Listens returns the filter of an Event step; ok is false for other steps.
func (s Step) Listens() (Listen, bool) {
	if s.Trigger != Event {
		return Listen{}, false
	}
	prev, ok := Lookup(s.After)
	if !ok {
		panic(fmt.Sprintf("chain: step %q follows unknown step %q", s.Name, s.After))
	}
	return Listen{Bucket: prev.Bucket, Prefix: prev.Output, Suffix: ManifestSuffix}, true
}

// Matches reports whether an object created at key in the bucket of role
// bucketRole should start s.
func (s Step) Matches(bucketRole, key string) bool {
	l, ok := s.Listens()
	return ok && bucketRole == l.Bucket && strings.HasPrefix(key, l.Prefix) && strings.HasSuffix(key, l.Suffix) && Owns(bucketRole, key)
}

// TargetID is the MinIO webhook target ID of an Event step: the step name in
// upper case, the suffix of its MINIO_NOTIFY_WEBHOOK_*_<ID> variables.
func (s Step) TargetID() string { return strings.ToUpper(s.Name) }

// ARN is the MinIO webhook target ARN of an Event step.
func (s Step) ARN() string { return "arn:minio:sqs::" + s.TargetID() + ":webhook" }

// WebhookEnv is the MinIO server environment that declares one webhook target
// per Event step: endpoint on the gateway, bearer token, persistent queue dir
// (events survive a restart and are retried until a 2xx).
func WebhookEnv(gateway, token, queueDir string) map[string]string {
	env := map[string]string{}
	for _, s := range Evented() {
		id := s.TargetID()
		env["MINIO_NOTIFY_WEBHOOK_ENABLE_"+id] = "on"
		env["MINIO_NOTIFY_WEBHOOK_ENDPOINT_"+id] = strings.TrimRight(gateway, "/") + "/function/" + s.Name
		env["MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_"+id] = token
		env["MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_"+id] = queueDir + "/" + s.Name
	}
	return env
}

// Rule is one bucket notification rule: objects created in the bucket of
// role Bucket under Prefix ending in Suffix are sent to the webhook target ARN.
type Rule struct {
	Bucket, ARN, Prefix, Suffix string
}

// Rules lists the notification rules setup installs, one per Event step.
func Rules() []Rule {
	var out []Rule
	for _, s := range Evented() {
		l, _ := s.Listens()
		out = append(out, Rule{Bucket: l.Bucket, ARN: s.ARN(), Prefix: l.Prefix, Suffix: l.Suffix})
	}
	return out
}

// RunSteps returns the steps one monthly run goes through, in order: the
// cron-started one, then every evented step.
func RunSteps() []Step {
	var out []Step
	for _, s := range Steps {
		if s.Trigger == Cron || s.Trigger == Event {
			out = append(out, s)
		}
	}
	return out
}

// RunStepNames are the names of RunSteps.
func RunStepNames() []string {
	var out []string
	for _, s := range RunSteps() {
		out = append(out, s.Name)
	}
	return out
}

// Evented returns the steps started by MinIO notifications, in chain order.
func Evented() []Step {
	var out []Step
	for _, s := range Steps {
		if s.Trigger == Event {
			out = append(out, s)
		}
	}
	return out
}

// Final is the step whose success completes a run: the last evented step
// that is not an observer.
func Final() Step {
	ev := Evented()
	for i := len(ev) - 1; i >= 0; i-- {
		if !ev[i].Observer {
			return ev[i]
		}
	}
	panic("chain: every evented step is an observer")
}

// IsObserver reports whether the step called name is an observer.
func IsObserver(name string) bool {
	s, ok := Lookup(name)
	return ok && s.Observer
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Buckets are a deployment's bucket names (DATA_BUCKET, MODELS_BUCKET) for
// the chain's bucket roles.
type Buckets struct{ Data, Models string }

// DefaultBuckets names each bucket after its role.
var DefaultBuckets = Buckets{Data: DataBucket, Models: ModelsBucket}

// Name is the bucket of role ("" for an unknown role).
func (b Buckets) Name(role string) string {
	switch role {
	case DataBucket:
		return b.Data
	case ModelsBucket:
		return b.Models
	}
	return ""
}

// Role is the role of the bucket called name (false when it is none of the
// deployment's buckets).
func (b Buckets) Role(name string) (string, bool) {
	switch name {
	case b.Data:
		return DataBucket, true
	case b.Models:
		return ModelsBucket, true
	}
	return "", false
}
