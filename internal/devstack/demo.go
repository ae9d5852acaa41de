package devstack

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/config"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// DemoOptions configure Demo.
type DemoOptions struct {
	Out       io.Writer
	Runs      RunStatus     // default: RunsStatus on the stack's database
	RunWait   time.Duration // how long one monthly run may take (default 20 min)
	DaemonBin string        // see UpOptions
	Poll      time.Duration // run-status poll interval (default 2 s)
	// Until is the last step to wait for (default train). While functions
	// are missing the demo runs the chain as far as it is deployed, then stops.
	Until string
	// MonitorWait bounds the wait for the monitor's report on the month the
	// first model never saw (default 60 s).
	MonitorWait time.Duration
}

// The demo's two monthly runs on the bundled 2017 export: the first learns
// from January–November 2017, the second adds December 2017 (the only new
// month) and pits a challenger against the champion. On another export
// (make demo CRIMES=FILE) they are the same two runs around its newest
// complete month (PlanDemo).
const (
	DemoFirstRun  = "2017-12-01"
	DemoSecondRun = "2018-01-01"
)

// DemoSummary is what the demo prints at the end, also written to
// .dev/demo-summary.json.
type DemoSummary struct {
	Gateway     string           `json:"gateway"`
	Runs        []Run            `json:"runs"`
	Decision    DemoDecision     `json:"decision"`
	Model       json.RawMessage  `json:"model"`             // GET /function/predict
	Monitor     json.RawMessage  `json:"monitor,omitempty"` // GET /function/monitor?month=… on the newest month
	Predictions []DemoPrediction `json:"predictions"`
	Finished    time.Time        `json:"finished"`
}

// DemoDecision is the second run's champion/challenger outcome as predict sees it.
type DemoDecision struct {
	ChampionBefore string   `json:"champion_before"`
	ChampionAfter  string   `json:"champion_after"`
	Promoted       bool     `json:"promoted"`
	TrainLog       []string `json:"train_log,omitempty"` // train's log lines about the decision
}

// DemoPrediction is one example: a real 2017 record, the model's answer, the truth.
type DemoPrediction struct {
	ID          string          `json:"id"`
	Date        string          `json:"date"`
	PrimaryType string          `json:"primary_type"`
	Location    string          `json:"location_description"`
	Request     map[string]any  `json:"request"`
	Status      int             `json:"status"`
	Response    json.RawMessage `json:"response"`
	Probability *float64        `json:"probability,omitempty"`
	Arrested    bool            `json:"arrested"` // the truth
}

// Demo runs the whole system on the bundled 2017 data (make demo): reset and
// start the stack, build the functions, setup, the first monthly run as the
// cron would fire it on 2017-12-01, the next one on 2018-01-01, then a
// summary of every step, the model and three predictions on real records.
// It leaves the stack running.
func Demo(ctx context.Context, c *Config, o DemoOptions) error {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.RunWait <= 0 {
		o.RunWait = 20 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	fmt.Fprintln(out, "ArrestCast demo: the monthly pipeline and the model on the bundled 2017 Chicago data.")
	fmt.Fprintln(out, "(The Makefile built MinIO into .bin/ first: the first build takes a few minutes.)")

	if dirty(c) {
		fmt.Fprintln(out, "\n== Resetting the local data from a previous run (dev-down, wipe .dev data, up)")
		if err := Down(ctx, c, out); err != nil {
			return err
		}
		if err := WipeData(c); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "\n== Starting the local stack (functions are built with faasbuild when their sources changed)")
	st, err := Up(ctx, c, UpOptions{Out: out, DaemonBin: o.DaemonBin})
	if err != nil {
		return err
	}
	running := map[string]bool{}
	var missing []string
	for _, f := range st.Functions {
		if f.Deployed && f.Ready {
			running[f.Name] = true
		} else {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(out, "\nnot running: %s (make status says why)\n", strings.Join(missing, ", "))
		if !running["setup"] || !running["download"] {
			return errors.New("the demo needs at least setup and download; the stack stays up")
		}
		o.Until = "download"
		for _, s := range chain.Evented() {
			if !running[s.Name] {
				break
			}
			o.Until = s.Name
		}
		fmt.Fprintf(out, "the demo runs the chain as far as it is deployed: up to %s\n", o.Until)
	}
	if o.Runs == nil {
		url, err := ReadSecret(c.Path("secrets"), config.SecretDatabaseURL)
		if err != nil {
			return err
		}
		o.Runs = RunsStatus{URL: url}
	}
	sum, err := RunDemo(ctx, NewClient(c), o, DemoFiles{
		TrainLog: c.Path("logs", "train.log"),
		Crimes:   CrimesFile(c),
		Summary:  c.Path("demo-summary.json"),
	})
	if err != nil {
		return err
	}
	if len(sum.Predictions) == 0 {
		return errors.New("no prediction came back")
	}
	example, _ := json.Marshal(sum.Predictions[0].Request)
	shellQuoted := strings.ReplaceAll(string(example), "'", `'\''`)
	next := ""
	if len(sum.Runs) == 2 {
		if d, err := chain.ParseRunDate(sum.Runs[1].RunDate); err == nil {
			next = chain.Day(d.AddDate(0, 1, 0))
		}
	}
	fmt.Fprintf(out, `
The summary is in %s. The stack keeps running:
  curl -s %[2]s/function/predict                  # the champion: version, training date, metrics, features
  curl -s %[2]s/function/predict -H 'Content-Type: application/json' -d '%[4]s'
  curl -s %[2]s/function/monitor                  # the monitor's history, newest month first (?month=YYYY-MM: one report)
  curl -s %[2]s/system/functions -u admin:$(cat %[3]s)
  make invoke FN=download AS_OF=%[5]s         # the next monthly run (any run date, e.g. a backfilled month)
  make status                                     # every run's steps, the monitor's newest verdict
  make logs FN=train                              # a function's log
  make dev-down                                   # stop everything
`, c.Path("demo-summary.json"), c.GatewayURL, c.Path("secrets", SecretBasicAuthPassword), shellQuoted, next)
	return nil
}

// DemoFiles are the files the demo reads and writes.
type DemoFiles struct {
	TrainLog string // train's log, for its champion/challenger lines
	Crimes   string // the bundled 2017 export, for the example records
	Summary  string // where the summary JSON goes
}

// RunDemo is the demo past start-up, through the gateway only (the HTTP
// contracts) and the run-tracking tables: setup, the two monthly runs, the
// champion/challenger decision, three predictions and the summary.
func RunDemo(ctx context.Context, cl *Client, o DemoOptions, files DemoFiles) (*DemoSummary, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	o = o.withRunDefaults()
	sum := &DemoSummary{Gateway: cl.Gateway}
	plan, err := PlanDemo(files.Crimes)
	if err != nil {
		return nil, err
	}
	first, second := chain.Day(plan.First), chain.Day(plan.Second)
	fmt.Fprintf(out, "\n== The data: %s, %d crimes from %s to %s; the runs of %s and %s\n", files.Crimes, plan.Rows,
		plan.From.Format(time.DateOnly), plan.To.Format(time.DateOnly), first, second)

	run1, err := demoFirstRun(ctx, cl, o, out, first)
	if err != nil {
		return nil, err
	}
	if o.Until != "train" {
		sum.Runs = []Run{run1}
		printSummary(out, sum)
		return sum, fmt.Errorf("the first run reached %s; the rest of the demo needs every function running (make status)", o.Until)
	}
	before, err := waitChampion(ctx, cl, out, "", o.RunWait)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "champion registered: %s\n", describeModel(before))

	run2, after, trainLog, err := demoSecondRun(ctx, cl, o, out, files.TrainLog, second, plan.Month, before)
	if err != nil {
		return nil, err
	}
	sum.Runs = []Run{run1, run2}
	recordDecision(out, sum, before, after, trainLog)

	sum.Monitor = waitMonitor(ctx, cl, o, out, plan.Month)
	if sum.Predictions, err = demoPredictions(ctx, cl, out, files.Crimes, plan.Month); err != nil {
		return nil, err
	}
	sum.Finished = time.Now().UTC()
	printSummary(out, sum)
	if err := writeJSONFile(files.Summary, sum); err != nil {
		return nil, fmt.Errorf("write %s: %w", files.Summary, err)
	}
	return sum, nil
}

// withRunDefaults fills in the waits RunDemo's steps read, and runs the
// whole chain unless told how far it is deployed.
func (o DemoOptions) withRunDefaults() DemoOptions {
	if o.RunWait <= 0 {
		o.RunWait = 20 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Until == "" {
		o.Until = "train"
	}
	return o
}

// demoFirstRun sets up the buckets and notifications, then fires the first
// monthly run as the cron would and waits for it to finish.
func demoFirstRun(ctx context.Context, cl *Client, o DemoOptions, out io.Writer, first string) (Run, error) {
	fmt.Fprintln(out, "\n== setup: buckets, lifecycle rule, bucket notifications (POST /function/setup)")
	if _, err := mustCall(ctx, cl, out, http.MethodPost, "setup", nil); err != nil {
		return Run{}, err
	}

	fmt.Fprintf(out, "\n== First monthly run, as the cron would fire it on %s: the 365 days before (POST /function/download {\"as_of\":%q})\n", first, first)
	if _, err := mustCall(ctx, cl, out, http.MethodPost, "download", []byte(fmt.Sprintf(`{"as_of":%q}`, first))); err != nil {
		return Run{}, err
	}
	return waitRun(ctx, o, out, first)
}

// demoSecondRun fires the next monthly run, on which only month m is new,
// and waits for it and for predict to see its champion. trainLog is what
// train logged of its decision during the run.
func demoSecondRun(ctx context.Context, cl *Client, o DemoOptions, out io.Writer, trainLogPath, second string, m chain.Month, before json.RawMessage) (run Run, after json.RawMessage, trainLog []string, err error) {
	fmt.Fprintf(out, "\n== Next monthly run on %s: only %s is new (POST /function/download {\"as_of\":%q})\n", second, m.Format("January 2006"), second)
	mark := logSize(trainLogPath)
	if _, err := mustCall(ctx, cl, out, http.MethodPost, "download", []byte(fmt.Sprintf(`{"as_of":%q}`, second))); err != nil {
		return Run{}, nil, nil, err
	}
	run, err = waitRun(ctx, o, out, second)
	if err != nil {
		return Run{}, nil, nil, err
	}
	after = waitPromotion(ctx, cl, before)
	return run, after, decisionLines(trainLogPath, mark), nil
}

// waitPromotion is the champion after the second run: predict re-reads the
// registry every CHAMPION_POLL, so a promotion gets that long to show.
func waitPromotion(ctx context.Context, cl *Client, before json.RawMessage) json.RawMessage {
	after := before
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, err := getModel(ctx, cl)
		if err == nil {
			after = m
			if modelVersion(m) != modelVersion(before) {
				break
			}
		}
		time.Sleep(2 * time.Second)
	}
	return after
}

// recordDecision puts the champion/challenger decision in sum and tells it,
// with train's own lines about it.
func recordDecision(out io.Writer, sum *DemoSummary, before, after json.RawMessage, trainLog []string) {
	sum.Decision = DemoDecision{ChampionBefore: modelVersion(before), ChampionAfter: modelVersion(after),
		Promoted: modelVersion(after) != modelVersion(before), TrainLog: trainLog}
	sum.Model = after
	if sum.Decision.Promoted {
		fmt.Fprintf(out, "decision: the challenger beat the champion and was promoted: %s -> %s\n", sum.Decision.ChampionBefore, sum.Decision.ChampionAfter)
	} else {
		fmt.Fprintf(out, "decision: the champion %s stays (the challenger did not beat it)\n", sum.Decision.ChampionBefore)
	}
	for _, l := range sum.Decision.TrainLog {
		fmt.Fprintf(out, "  train: %s\n", l)
	}
}

// demoPredictions asks predict about real records of month m, the way the
// portal's form posts them.
func demoPredictions(ctx context.Context, cl *Client, out io.Writer, crimes string, m chain.Month) ([]DemoPrediction, error) {
	fmt.Fprintf(out, "\n== Three predictions on real records of %s (POST /function/predict, the portal's JSON form)\n", m.Format("January 2006"))
	records, err := DemoRecordsIn(crimes, m)
	if err != nil {
		return nil, err
	}
	var preds []DemoPrediction
	for _, rec := range records {
		p, err := predict(ctx, cl, rec)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return preds, nil
}

// dirty reports whether .dev holds a previous stack's data.
func dirty(c *Config) bool {
	for _, p := range []string{"stack.json", "minio", "pg", "demo-summary.json"} {
		if _, err := os.Stat(c.Path(p)); err == nil {
			return true
		}
	}
	return false
}

// WipeData removes the local stack's data (MinIO, PostgreSQL, logs, function
// folders, secrets), keeping only .dev/bin. The stack must be down.
func WipeData(c *Config) error {
	entries, err := os.ReadDir(c.Dev)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "bin" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(c.Dev, e.Name())); err != nil {
			return fmt.Errorf("wipe %s: %w", e.Name(), err)
		}
	}
	return nil
}

func mustCall(ctx context.Context, cl *Client, out io.Writer, method, name string, body []byte) (*Answer, error) {
	start := time.Now()
	ans, err := cl.Call(ctx, method, name, body)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%s answered %d in %.1fs: %s\n", name, ans.Status, time.Since(start).Seconds(), truncate(oneLine(ans.Body), 300))
	if ans.Status >= 300 {
		return nil, fmt.Errorf("%s answered %d (make logs FN=%s)", name, ans.Status, name)
	}
	return ans, nil
}

func oneLine(b []byte) string {
	return strings.Join(strings.Fields(string(b)), " ")
}

// waitRun polls the run-tracking tables until the run's train step is done,
// printing each step as it finishes; a run that stalled or failed for good
// (runStopped) ends the wait at once instead of at RunWait.
func waitRun(ctx context.Context, o DemoOptions, out io.Writer, date string) (Run, error) {
	deadline := time.Now().Add(o.RunWait)
	printed := map[string]bool{}
	failures := map[string]int{} // attempts already reported as failed, per step
	lastNote := time.Now()
	var last Run
	for {
		latest, err := o.Runs.Status(ctx, 12)
		if err != nil {
			fmt.Fprintf(out, "  (run status: %v)\n", err)
		}
		for _, r := range latest {
			if r.RunDate != date {
				continue
			}
			last = r
			for _, s := range r.Steps {
				if printed[s.Step] {
					continue
				}
				switch s.Status {
				case "done":
					printed[s.Step] = true
					fmt.Fprintf(out, "  %-9s done    rows %9d -> %-9d %6.1fs\n", s.Step, s.RowsIn, s.RowsOut, s.Seconds)
				case "failed":
					if failures[s.Step] != s.Attempts {
						failures[s.Step] = s.Attempts
						fmt.Fprintf(out, "  %-9s failed (attempt %d, MinIO redelivers the event): %s\n", s.Step, s.Attempts, truncate(s.Error, 120))
					}
				}
			}
			until := o.Until
			if until == "" {
				until = "train"
			}
			if s, ok := r.Step(until); ok && s.Status == "done" {
				return r, nil
			}
			if err := runStopped(r, time.Now()); err != nil {
				return r, err
			}
		}
		if time.Since(lastNote) > 30*time.Second {
			lastNote = time.Now()
			fmt.Fprintf(out, "  ... waiting for %s (%s)\n", nextStep(last), time.Until(deadline).Round(time.Second))
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("run %s did not finish in %s: waiting for %s (make status, make logs FN=%s)", date, o.RunWait, nextStep(last), nextStep(last))
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// Failed attempts a run gets before the demo gives up on it, and how long
// after a transient failure MinIO's redelivery (seconds, normally) may take
// to start the step again.
const (
	demoMaxAttempts = 5
	redeliveryGrace = 2 * time.Minute
)

// runStopped says why waiting for run r is pointless, naming the run and
// the step: the tracker calls it stalled (no step runs and the next one
// never started), or a step of it failed for good: permanently, on its
// demoMaxAttempts-th attempt, or transiently with no redelivery within
// redeliveryGrace of now. nil: the run may still finish.
func runStopped(r Run, now time.Time) error {
	if r.Status == string(runs.Stalled) {
		step := r.StoppedAt
		if step == "" {
			step = nextStep(r)
		}
		return fmt.Errorf("run %s stalled: step %s never started: %s (make status, make logs FN=%s)", r.RunDate, step, r.Reason, step)
	}
	for _, s := range r.Steps {
		if s.Status != string(runs.Failed) {
			continue
		}
		// A transient failure fails the run too, until the redelivered
		// event starts the step again.
		forGood := s.Permanent || s.Attempts >= demoMaxAttempts ||
			r.Status == string(runs.Failed) && !s.Finished.IsZero() && now.Sub(s.Finished) > redeliveryGrace
		if !forGood {
			continue
		}
		why := "permanently"
		switch {
		case s.Permanent:
		case s.Attempts >= demoMaxAttempts:
			why = fmt.Sprintf("%d times", s.Attempts)
		default:
			why = fmt.Sprintf("and was not retried for %s", now.Sub(s.Finished).Round(time.Second))
		}
		return fmt.Errorf("step %s of run %s failed %s: %s (make logs FN=%s)", s.Step, r.RunDate, why, s.Error, s.Step)
	}
	return nil
}

// nextStep is the first chain step the run has not finished.
func nextStep(r Run) string {
	done := stepsDone(r)
	for _, s := range chain.Steps {
		if s.Trigger == chain.Event || s.Trigger == chain.Cron {
			if !slices.Contains(done, s.Name) {
				return s.Name
			}
		}
	}
	return "train"
}

// waitChampion waits until GET /function/predict names a champion other than `not`.
func waitChampion(ctx context.Context, cl *Client, out io.Writer, not string, d time.Duration) (json.RawMessage, error) {
	deadline := time.Now().Add(d)
	for {
		m, err := getModel(ctx, cl)
		if err == nil && modelVersion(m) != "" && modelVersion(m) != not {
			return m, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("predict names no champion after %s (last: %v; make logs FN=predict)", d, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func getModel(ctx context.Context, cl *Client) (json.RawMessage, error) {
	ans, err := cl.Call(ctx, http.MethodGet, "predict", nil)
	if err != nil {
		return nil, err
	}
	if ans.Status != http.StatusOK {
		return nil, fmt.Errorf("GET predict answered %d: %s", ans.Status, truncate(oneLine(ans.Body), 200))
	}
	if !json.Valid(ans.Body) {
		return nil, fmt.Errorf("GET predict answered non-JSON: %s", truncate(oneLine(ans.Body), 200))
	}
	return json.RawMessage(ans.Body), nil
}

// modelVersion finds the champion's version in predict's GET answer
// ("version", or "model_version", at the top or under "model"/"champion").
func modelVersion(m json.RawMessage) string {
	var doc map[string]any
	if json.Unmarshal(m, &doc) != nil {
		return ""
	}
	for _, scope := range []map[string]any{doc, asMap(doc["model"]), asMap(doc["champion"])} {
		for _, k := range []string{"version", "model_version", "id"} {
			if v, ok := scope[k]; ok && v != nil {
				return fmt.Sprint(v)
			}
		}
	}
	return ""
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// describeModel is a one-line account of predict's GET answer.
func describeModel(m json.RawMessage) string {
	var doc map[string]any
	if json.Unmarshal(m, &doc) != nil {
		return string(m)
	}
	parts := []string{"version " + modelVersion(m)}
	for _, scope := range []map[string]any{doc, asMap(doc["model"]), asMap(doc["champion"])} {
		for _, k := range []string{"trained_at", "training_date", "run_date"} {
			if v, ok := scope[k]; ok {
				parts = append(parts, fmt.Sprintf("%s %v", k, v))
			}
		}
		if mm := asMap(scope["metrics"]); mm != nil {
			for _, k := range sortedKeys(mm) {
				if f, ok := mm[k].(float64); ok {
					parts = append(parts, fmt.Sprintf("%s %.3f", k, f))
				}
			}
		}
	}
	return strings.Join(parts, ", ")
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// decisionLines returns train's log messages about champion and challenger
// written after offset.
func decisionLines(path string, offset int64) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if _, _, text, ok := parseJournalLine(line); ok {
			line = text
		}
		low := strings.ToLower(line)
		if !strings.Contains(low, "champion") && !strings.Contains(low, "challenger") && !strings.Contains(low, "promot") {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			delete(rec, "time")
			delete(rec, "level")
			msg := fmt.Sprint(rec["msg"])
			delete(rec, "msg")
			var kv []string
			for _, k := range sortedKeys(rec) {
				kv = append(kv, fmt.Sprintf("%s=%v", k, rec[k]))
			}
			line = strings.TrimSpace(msg + " " + strings.Join(kv, " "))
		}
		out = append(out, truncate(line, 300))
	}
	if len(out) > 10 {
		out = out[len(out)-10:]
	}
	return out
}

// DemoRecord is one real record of the bundled CSV in the portal's JSON form.
type DemoRecord struct {
	Fields   map[string]any // snake_case, strings but arrest/domestic (booleans); arrest left out
	Arrested bool
}

// DemoRecords picks three real records with coordinates of the newest
// complete month of an export (December 2017 in the bundled one), in the
// portal's snake_case JSON form: a narcotics case (usually an arrest), a
// theft without arrest, and a domestic battery.
func DemoRecords(path string) ([]DemoRecord, error) {
	plan, err := PlanDemo(path)
	if err != nil {
		return nil, err
	}
	return DemoRecordsIn(path, plan.Month)
}

// DemoRecordsIn is DemoRecords from month m.
func DemoRecordsIn(path string, m chain.Month) ([]DemoRecord, error) {
	rc, err := openExport(path)
	if err != nil {
		return nil, fmt.Errorf("demo records: %w", err)
	}
	defer rc.Close()
	r := csv.NewReader(rc)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("demo records: header: %w", err)
	}
	names := make([]string, len(header))
	col := map[string]int{}
	for i, h := range header {
		names[i] = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", "_"))
		col[names[i]] = i
	}
	for _, need := range []string{"date", "arrest", "domestic", "x_coordinate", "primary_type"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("demo records: no %s column", need)
		}
	}
	want := []func(kind string, arrest, domestic bool) bool{
		func(k string, a, d bool) bool { return k == "NARCOTICS" && a },
		func(k string, a, d bool) bool { return k == "THEFT" && !a && !d },
		func(k string, a, d bool) bool { return k == "BATTERY" && d },
	}
	picked := make([]*DemoRecord, len(want))
	left := len(want)
	for left > 0 {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("demo records: %w", err)
		}
		if d, err := crime.ParseDate(row[col["date"]]); err != nil || chain.MonthOf(table.Wall(d)) != m || row[col["x_coordinate"]] == "" {
			continue
		}
		arrest, domestic := row[col["arrest"]] == "true", row[col["domestic"]] == "true"
		for i, ok := range want {
			if picked[i] != nil || !ok(row[col["primary_type"]], arrest, domestic) {
				continue
			}
			rec := portalJSON(names, row)
			picked[i] = &DemoRecord{Fields: rec, Arrested: arrest}
			left--
			break
		}
	}
	var out []DemoRecord
	for _, p := range picked {
		if p != nil {
			out = append(out, *p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("demo records: no record of %s with coordinates", m)
	}
	return out, nil
}

// portalJSON renders a CSV row as the portal's SODA JSON: snake_case names,
// strings (zero padding kept) except arrest and domestic (booleans), dates
// as 2017-12-01T13:05:00.000, empty fields left out; arrest (the answer) is
// dropped.
func portalJSON(names, row []string) map[string]any {
	rec := map[string]any{}
	for i, v := range row {
		name := names[i]
		if v == "" || name == "arrest" {
			continue
		}
		switch name {
		case "domestic":
			rec[name] = v == "true"
		case "date", "updated_on":
			if t, err := time.Parse("01/02/2006 03:04:05 PM", v); err == nil {
				rec[name] = t.Format("2006-01-02T15:04:05.000")
				if name == "date" {
					rec["year"] = t.Format("2006")
				}
			} else {
				rec[name] = v
			}
		default:
			rec[name] = v
		}
	}
	return rec
}

func predict(ctx context.Context, cl *Client, rec DemoRecord) (DemoPrediction, error) {
	body, err := json.Marshal(rec.Fields)
	if err != nil {
		return DemoPrediction{}, err
	}
	ans, err := cl.Call(ctx, http.MethodPost, "predict", body)
	if err != nil {
		return DemoPrediction{}, err
	}
	p := DemoPrediction{
		ID: fmt.Sprint(rec.Fields["id"]), Date: fmt.Sprint(rec.Fields["date"]), PrimaryType: fmt.Sprint(rec.Fields["primary_type"]),
		Location: fmt.Sprint(rec.Fields["location_description"]), Request: rec.Fields, Status: ans.Status, Arrested: rec.Arrested,
	}
	if json.Valid(ans.Body) {
		p.Response = json.RawMessage(ans.Body)
	} else {
		p.Response, _ = json.Marshal(string(ans.Body))
	}
	if ans.Status != http.StatusOK {
		return p, fmt.Errorf("POST predict answered %d: %s", ans.Status, truncate(oneLine(ans.Body), 300))
	}
	p.Probability = findProbability(ans.Body)
	return p, nil
}

// findProbability looks for "probability" at the top of the answer or in
// its first prediction.
func findProbability(b []byte) *float64 {
	var doc any
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	var look func(v any) *float64
	look = func(v any) *float64 {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range []string{"probability", "arrest_probability", "p"} {
				if f, ok := t[k].(float64); ok {
					return &f
				}
			}
			for _, k := range []string{"prediction", "predictions", "results"} {
				if p := look(t[k]); p != nil {
					return p
				}
			}
		case []any:
			if len(t) > 0 {
				return look(t[0])
			}
		}
		return nil
	}
	return look(doc)
}

func printSummary(out io.Writer, s *DemoSummary) {
	fmt.Fprintln(out, "\n== Summary")
	for _, r := range s.Runs {
		fmt.Fprintf(out, "run %s (%s)\n", r.RunDate, r.Status)
		total := 0.0
		for _, st := range r.Steps {
			fmt.Fprintf(out, "  %-9s %-7s rows in %9d  out %9d  %6.1fs\n", st.Step, st.Status, st.RowsIn, st.RowsOut, st.Seconds)
			total += st.Seconds
		}
		fmt.Fprintf(out, "  %-9s %-7s %38.1fs\n", "total", "", total)
	}
	if len(s.Model) == 0 {
		return
	}
	fmt.Fprintf(out, "model (GET /function/predict): %s\n", describeModel(s.Model))
	second := s.Runs[len(s.Runs)-1].RunDate
	if s.Decision.Promoted {
		fmt.Fprintf(out, "decision on %s: challenger promoted (%s -> %s)\n", second, s.Decision.ChampionBefore, s.Decision.ChampionAfter)
	} else {
		fmt.Fprintf(out, "decision on %s: champion %s kept\n", second, s.Decision.ChampionBefore)
	}
	for _, p := range s.Predictions {
		prob := "?"
		if p.Probability != nil {
			prob = fmt.Sprintf("%.3f", *p.Probability)
		}
		truth := "no arrest"
		if p.Arrested {
			truth = "arrest"
		}
		fmt.Fprintf(out, "  crime %s %s, %s at %s: P(arrest) = %s; truth: %s\n", p.ID, p.Date, p.PrimaryType, p.Location, prob, truth)
	}
}
