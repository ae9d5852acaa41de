// Package chain is the one table that describes ArrestCast's monthly pipeline:
// which function runs each step, what starts it (the cron-connector, a MinIO
// bucket notification on the previous step's manifest, or a manual call) and
// where it writes. stack.yml, faasd's MinIO webhook targets and the bucket
// notification rules that `setup` installs are all checked against it.
package chain

import (
	"fmt"
	"strings"
	"time"
)

// Buckets used by the chain.
const (
	DataBucket   = "data"
	ModelsBucket = "models"
)

// ManifestSuffix ends every manifest key: a step writes its manifest last, and
// the next step's notification rule filters on it, so a multi-file output
// starts the next step exactly once.
const ManifestSuffix = "manifest.json"

// TempPrefix holds intermediate outputs that expire after TempExpiryDays.
const (
	TempPrefix     = "2-processed-data/"
	TempExpiryDays = 60
)

// Trigger says what starts a step.
type Trigger string

const (
	Manual Trigger = "manual" // only a direct call (setup)
	Cron   Trigger = "cron"   // the cron-connector, monthly (download)
	Event  Trigger = "event"  // a MinIO notification on the previous step's manifest
	HTTP   Trigger = "http"   // serves requests (predict)
)

// Step is one function of the chain.
type Step struct {
	Name    string  // function name in stack.yml and MinIO webhook target ID
	Trigger Trigger // what starts it
	After   string  // the step whose manifest starts this one (Event only)
	Bucket  string  // bucket the step writes to
	Output  string  // key prefix the step writes under
}

// Steps lists the chain in execution order.
var Steps = []Step{
	{Name: "setup", Trigger: Manual, Bucket: DataBucket},
	{Name: "download", Trigger: Cron, Bucket: DataBucket, Output: "0-raw-data/monthly-data/"},
	{Name: "merge", Trigger: Event, After: "download", Bucket: DataBucket, Output: "0-raw-data/data/"},
	{Name: "enrich", Trigger: Event, After: "merge", Bucket: DataBucket, Output: "1-enriched-data/"},
	{Name: "split", Trigger: Event, After: "enrich", Bucket: DataBucket, Output: TempPrefix + "split/"},
	{Name: "outliers", Trigger: Event, After: "split", Bucket: DataBucket, Output: TempPrefix + "outliers/"},
	{Name: "encode", Trigger: Event, After: "outliers", Bucket: DataBucket, Output: TempPrefix + "encode/"},
	{Name: "scale", Trigger: Event, After: "encode", Bucket: DataBucket, Output: TempPrefix + "scale/"},
	{Name: "balance", Trigger: Event, After: "scale", Bucket: DataBucket, Output: TempPrefix + "balance/"},
	{Name: "features", Trigger: Event, After: "balance", Bucket: DataBucket, Output: "ml-ready-data/"},
	{Name: "train", Trigger: Event, After: "features", Bucket: ModelsBucket, Output: "arrest/"},
	{Name: "predict", Trigger: HTTP},
	{Name: "dashboard", Trigger: HTTP},
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

// Listen is the notification filter that starts an Event step: the bucket and
// key prefix/suffix of the previous step's manifest.
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

// Matches reports whether an object created in bucket at key should start s.
func (s Step) Matches(bucket, key string) bool {
	l, ok := s.Listens()
	return ok && bucket == l.Bucket && strings.HasPrefix(key, l.Prefix) && strings.HasSuffix(key, l.Suffix)
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

// Rule is one bucket notification rule: objects created in Bucket under
// Prefix ending in Suffix are sent to the webhook target ARN.
type Rule struct {
	Bucket, ARN, Prefix, Suffix string
}

// Rules lists the notification rules `setup` installs, one per Event step.
func Rules() []Rule {
	var out []Rule
	for _, s := range Evented() {
		l, _ := s.Listens()
		out = append(out, Rule{Bucket: l.Bucket, ARN: s.ARN(), Prefix: l.Prefix, Suffix: l.Suffix})
	}
	return out
}

// RunSteps returns the names of the steps one monthly run goes through, in
// order: download, then every evented step.
func RunSteps() []string {
	var out []string
	for _, s := range Steps {
		if s.Trigger == Cron || s.Trigger == Event {
			out = append(out, s.Name)
		}
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

// Owns reports whether key lies under one of the chain's output prefixes in
// bucket: no key outside them is read or written on a caller's say-so.
func Owns(bucket, key string) bool {
	if strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return false
	}
	for _, s := range Steps {
		if s.Output != "" && s.Bucket == bucket && strings.HasPrefix(key, s.Output) {
			return true
		}
	}
	return false
}

// DateLayout is the run-date form used in keys (crimes_12m_2018-01-01.csv).
const DateLayout = "2006-01-02"

// MonthLayout is the month form used in keys (monthly-data/2017-12/).
const MonthLayout = "2006-01"

// RunDate normalises t to the first instant of its day, in UTC: run dates are
// calendar dates, carried without a zone.
func RunDate(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ParseRunDate parses a YYYY-MM-DD run date.
func ParseRunDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("run date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}
