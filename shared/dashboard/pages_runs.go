package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/arrestcast/arrestcast/shared/chain"
)

// paramError is a page's query parameter refused (400).
type paramError struct{ Field, Message string }

func (e *paramError) Error() string { return e.Field + ": " + e.Message }

// Cell is one step of a run in chain order; Row is nil when the step has
// not started.
type Cell struct {
	Step string   `json:"step"`
	Row  *StepRow `json:"attempt"`
}

// RunLine is a run with the latest attempt of each step.
type RunLine struct {
	Run   RunRow `json:"run"`
	Cells []Cell `json:"steps"`
}

// Seconds is the run's wall time so far (to now when unfinished).
func (l RunLine) Seconds(now time.Time) float64 {
	end := now
	if l.Run.FinishedAt != nil {
		end = *l.Run.FinishedAt
	}
	return end.Sub(l.Run.StartedAt).Seconds()
}

// runSteps are the steps a monthly run goes through, in chain order.
func runSteps() []string { return chain.RunStepNames() }

func stepIndex(step string) int {
	if i := slices.Index(runSteps(), step); i >= 0 {
		return i
	}
	return len(runSteps())
}

// lines puts the latest attempts under their runs, in chain order; a step
// outside the chain (renamed, or added later) is kept after the others.
func lines(rs []RunRow, latest []StepRow) []RunLine {
	by := map[time.Time][]StepRow{}
	for _, s := range latest {
		by[s.RunDate.Time()] = append(by[s.RunDate.Time()], s)
	}
	out := make([]RunLine, len(rs))
	for i, r := range rs {
		out[i].Run = r
		steps := by[r.RunDate.Time()]
		for _, name := range runSteps() {
			c := Cell{Step: name}
			for j := range steps {
				if steps[j].Step == name {
					c.Row = &steps[j]
				}
			}
			out[i].Cells = append(out[i].Cells, c)
		}
		for j := range steps {
			if stepIndex(steps[j].Step) == len(runSteps()) {
				out[i].Cells = append(out[i].Cells, Cell{Step: steps[j].Step, Row: &steps[j]})
			}
		}
	}
	return out
}

// attention orders statuses: failed and unfinished runs first.
func attention(status string) int {
	switch status {
	case "failed":
		return 0
	case "stalled":
		return 1
	case "running":
		return 2
	case "done":
		return 4
	}
	return 3
}

func dates(rs []RunRow) []time.Time {
	out := make([]time.Time, len(rs))
	for i, r := range rs {
		out[i] = r.RunDate.Time()
	}
	return out
}

// --- Overview ----------------------------------------------------------

// OverviewPage is the front page.
type OverviewPage struct {
	Now       time.Time      `json:"now"`
	Champion  *ModelRow      `json:"champion"`
	LatestRun *RunLine       `json:"latest_run"`
	Recent    []RunRow       `json:"recent_runs"` // the runs before it, newest first
	Runs      RunCounts      `json:"runs"`
	Models    int            `json:"models"`
	Monitor   MonitorState   `json:"monitor"`
	Predict   *PredictHealth `json:"predict,omitempty"`
	Schedule  string         `json:"schedule,omitempty"`
	NextTick  *time.Time     `json:"next_tick,omitempty"`
	Failures  []StepRow      `json:"recent_failures"`
}

// MonitorState is whether the monitor has reported, and its latest report.
type MonitorState struct {
	Table  bool           `json:"table"` // the monitor's table exists
	Latest *MonitorReport `json:"latest,omitempty"`
}

func (d *Dashboard) overview(ctx context.Context, q Querier) (*OverviewPage, error) {
	p := &OverviewPage{Now: d.now(), Schedule: d.o.Schedule, Failures: []StepRow{}}
	champ, err := queryChampion(ctx, q)
	switch {
	case err == nil:
		p.Champion = &champ
	case err != errNotFound:
		return nil, err
	}
	rs, err := queryRuns(ctx, q, 7)
	if err != nil {
		return nil, err
	}
	p.Recent = []RunRow{}
	if len(rs) > 0 {
		latest, err := queryLatestSteps(ctx, q, dates(rs[:1]))
		if err != nil {
			return nil, err
		}
		p.LatestRun = &lines(rs[:1], latest)[0]
		p.Recent = rs[1:]
	}
	if p.Runs, err = queryRunCounts(ctx, q); err != nil {
		return nil, err
	}
	if p.Models, err = queryModelCount(ctx, q); err != nil {
		return nil, err
	}
	if f, err := queryRecentFailures(ctx, q, 5); err != nil {
		return nil, err
	} else if f != nil {
		p.Failures = f
	}
	if p.Monitor.Table, err = monitorExists(ctx, q); err != nil {
		return nil, err
	}
	if p.Monitor.Table {
		reps, err := queryMonitor(ctx, q, 1)
		if err != nil {
			return nil, err
		}
		if len(reps) > 0 {
			p.Monitor.Latest = &reps[0]
		}
	}
	if d.o.Schedule != "" {
		if s, err := cronParser.Parse(d.o.Schedule); err == nil {
			next := s.Next(p.Now.UTC())
			p.NextTick = &next
		}
	}
	return p, nil
}

// cronParser reads download's schedule as the cron-connector does
// (robfig/cron v3: five fields or a descriptor), in UTC.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// --- Runs grid ---------------------------------------------------------

// RunsPage is the runs × steps grid.
type RunsPage struct {
	Steps []string  `json:"steps"`
	Runs  []RunLine `json:"runs"`
}

func (d *Dashboard) runsGrid(ctx context.Context, q Querier) (*RunsPage, error) {
	rs, err := queryRuns(ctx, q, d.o.Limit)
	if err != nil {
		return nil, err
	}
	latest, err := queryLatestSteps(ctx, q, dates(rs))
	if err != nil {
		return nil, err
	}
	p := &RunsPage{Steps: runSteps(), Runs: lines(rs, latest)}
	for _, l := range p.Runs {
		for _, c := range l.Cells[len(runSteps()):] {
			p.Steps = append(p.Steps, c.Step) // a step outside the chain, shown last
		}
	}
	p.Steps = slices.Compact(p.Steps)
	sort.SliceStable(p.Runs, func(i, j int) bool {
		return attention(p.Runs[i].Run.Status) < attention(p.Runs[j].Run.Status)
	})
	for i := range p.Runs { // every line has a cell per column
		for _, s := range p.Steps[len(runSteps()):] {
			if !slices.ContainsFunc(p.Runs[i].Cells, func(c Cell) bool { return c.Step == s }) {
				p.Runs[i].Cells = append(p.Runs[i].Cells, Cell{Step: s})
			}
		}
	}
	return p, nil
}

// --- Run detail --------------------------------------------------------

// RunPage is one run in full.
type RunPage struct {
	Run      RunRow        `json:"run"`
	Steps    []StepView    `json:"steps"`    // latest attempt per step, chain order
	Attempts []StepView    `json:"attempts"` // every attempt, oldest first
	Funnel   []FunnelRow   `json:"funnel"`
	Gantt    template.HTML `json:"-"`
	Chart    template.HTML `json:"-"`
}

// StepView is an attempt with the command that shows its logs.
type StepView struct {
	StepRow
	Started bool   `json:"started"`
	Logs    string `json:"logs_command,omitempty"`
}

// FunnelRow is a step's rows in, out and rejected.
type FunnelRow struct {
	Step    string `json:"step"`
	RowsIn  int64  `json:"rows_in"`
	RowsOut int64  `json:"rows_out"`
	Rejects int64  `json:"rejects"`
	Dropped int64  `json:"dropped"` // in − out − rejects: rows a step leaves out by design (outliers, balance)
}

// logsCommand is how to read an attempt's logs on OpenFaaS: from its start,
// without following.
func logsCommand(s StepRow) string {
	return fmt.Sprintf("faas-cli logs %s --tail=false --since-time %s", s.Step, s.StartedAt.UTC().Format(time.RFC3339))
}

func (d *Dashboard) run(ctx context.Context, q Querier, date string) (*RunPage, error) {
	day, err := chain.ParseRunDate(date)
	if err != nil {
		return nil, &paramError{"date", "want a run date YYYY-MM-DD"}
	}
	r, err := queryRun(ctx, q, day)
	if err != nil {
		return nil, err
	}
	all, err := queryAttempts(ctx, q, day)
	if err != nil {
		return nil, err
	}
	p := &RunPage{Run: r, Steps: []StepView{}, Attempts: []StepView{}, Funnel: []FunnelRow{}}
	latest := map[string]StepRow{}
	for _, a := range all {
		p.Attempts = append(p.Attempts, StepView{StepRow: a, Started: true, Logs: logsCommand(a)})
		latest[a.Step] = a // oldest first: the last one wins
	}
	names := runSteps()
	for s := range latest {
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	for _, s := range names {
		a, ok := latest[s]
		if !ok {
			p.Steps = append(p.Steps, StepView{StepRow: StepRow{Step: s, RunDate: r.RunDate}})
			continue
		}
		a.Attempts = 0
		for _, x := range all {
			if x.Step == s {
				a.Attempts++
			}
		}
		p.Steps = append(p.Steps, StepView{StepRow: a, Started: true, Logs: logsCommand(a)})
		if a.RowsIn != nil || a.RowsOut != nil {
			f := FunnelRow{Step: s, RowsIn: deref(a.RowsIn), RowsOut: deref(a.RowsOut), Rejects: deref(a.Rejects)}
			f.Dropped = max(f.RowsIn-f.RowsOut-f.Rejects, 0)
			p.Funnel = append(p.Funnel, f)
		}
	}
	// The time line: every attempt, a row per step, from the run's first start.
	start := r.StartedAt
	for _, a := range all {
		if a.StartedAt.Before(start) {
			start = a.StartedAt
		}
	}
	var rows []string
	var bars []ganttBar
	for _, s := range p.Steps {
		if !s.Started {
			continue
		}
		rows = append(rows, s.Step)
		for _, a := range all {
			if a.Step != s.Step {
				continue
			}
			end, open := d.now(), a.FinishedAt == nil
			if !open {
				end = *a.FinishedAt
			}
			bars = append(bars, ganttBar{Row: len(rows) - 1, From: a.StartedAt.Sub(start).Seconds(), To: end.Sub(start).Seconds(),
				Status: a.Status, Unfinished: open,
				Title: fmt.Sprintf("%s attempt %d: %s, %s", a.Step, a.Attempt, a.Status, seconds(end.Sub(a.StartedAt).Milliseconds()))})
		}
	}
	p.Gantt = ganttChart(rows, bars)
	if len(p.Funnel) > 0 {
		var names []string
		var in, out, rej []float64
		for _, f := range p.Funnel {
			names = append(names, f.Step)
			in, out, rej = append(in, float64(f.RowsIn)), append(out, float64(f.RowsOut)), append(rej, float64(f.Rejects))
		}
		p.Chart = funnelChart(names, in, out, rej)
	}
	return p, nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// --- Step trends -------------------------------------------------------

// StepsPage is each step across runs.
type StepsPage struct {
	Steps    []StepTrend   `json:"steps"`
	Step     string        `json:"step,omitempty"` // the step shown in full
	Rows     []StepRow     `json:"rows,omitempty"` // its latest attempt per run, oldest run first
	Duration template.HTML `json:"-"`
	Volume   template.HTML `json:"-"`
}

// StepTrend summarises one step over the runs.
type StepTrend struct {
	Step     string        `json:"step"`
	Runs     int           `json:"runs"`
	Failed   int           `json:"failed"`
	LatestMS int64         `json:"latest_ms"`
	MedianMS int64         `json:"median_ms"`
	MaxMS    int64         `json:"max_ms"`
	RowsOut  int64         `json:"latest_rows_out"`
	Rejects  int64         `json:"rejects"` // over all runs
	Spark    template.HTML `json:"-"`
}

func (d *Dashboard) steps(ctx context.Context, q Querier, step string) (*StepsPage, error) {
	if step != "" && !slices.Contains(runSteps(), step) {
		return nil, &paramError{"step", "not a step of the chain: one of " + strings.Join(runSteps(), ", ")}
	}
	rs, err := queryRuns(ctx, q, d.o.Limit)
	if err != nil {
		return nil, err
	}
	slices.Reverse(rs) // oldest first: time runs left to right
	latest, err := queryLatestSteps(ctx, q, dates(rs))
	if err != nil {
		return nil, err
	}
	ls := lines(rs, latest)
	p := &StepsPage{Step: step}
	for k, name := range runSteps() {
		t := StepTrend{Step: name}
		var durs []int64
		var spark []float64
		for _, l := range ls {
			c := l.Cells[k]
			if c.Row == nil || c.Row.DurationMS == nil {
				spark = append(spark, math.NaN())
				continue
			}
			t.Runs++
			if c.Row.Status == "failed" {
				t.Failed++
			}
			durs = append(durs, *c.Row.DurationMS)
			spark = append(spark, float64(*c.Row.DurationMS)/1000)
			t.LatestMS, t.RowsOut = *c.Row.DurationMS, deref(c.Row.RowsOut)
			t.Rejects += deref(c.Row.Rejects)
		}
		if len(durs) > 0 {
			slices.Sort(durs)
			t.MedianMS, t.MaxMS = durs[len(durs)/2], durs[len(durs)-1]
			if len(durs)%2 == 0 {
				t.MedianMS = (durs[len(durs)/2-1] + durs[len(durs)/2]) / 2
			}
		}
		t.Spark = sparkline("spark-"+name, spark)
		p.Steps = append(p.Steps, t)
		if name != step {
			continue
		}
		var cats []string
		var dur, in, out, rej []float64
		for _, l := range ls {
			c := l.Cells[k]
			if c.Row == nil {
				continue
			}
			p.Rows = append(p.Rows, *c.Row)
			cats = append(cats, l.Run.RunDate.String())
			v := math.NaN()
			if c.Row.DurationMS != nil {
				v = float64(*c.Row.DurationMS) / 1000
			}
			dur = append(dur, v)
			in = append(in, nullNaN(c.Row.RowsIn))
			out = append(out, nullNaN(c.Row.RowsOut))
			rej = append(rej, nullNaN(c.Row.Rejects))
		}
		p.Duration = seriesChart(chartSpec{key: "duration", label: name + ": seconds per run", cats: cats, yTitle: "seconds",
			format: tickLabel, zero: true, w: 650, h: 260}, series{name: "seconds", class: "c1", values: dur})
		p.Volume = seriesChart(chartSpec{key: "rows", label: name + ": rows per run", cats: cats, yTitle: "rows",
			format: tickLabel, zero: true, w: 650, h: 260},
			series{name: "rows in", class: "c3", values: in}, series{name: "rows out", class: "c1", values: out},
			series{name: "rejects", class: "bad", values: rej})
	}
	return p, nil
}

func nullNaN(p *int64) float64 {
	if p == nil {
		return math.NaN()
	}
	return float64(*p)
}
