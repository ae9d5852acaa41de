package devstack

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

// CrimesFile is the export the local Socrata stand-in serves: SOCRATA_CRIMES
// (make demo CRIMES=FILE sets it), else the bundled 2017 year.
func CrimesFile(c *Config) string {
	return c.Get("SOCRATA_CRIMES", filepath.Join(c.Root, "data", "chicago", "crimes_2017.csv.gz"))
}

// DemoPlan is what the demo runs on an export.
type DemoPlan struct {
	Rows     int
	From, To time.Time   // the first and last crime's dates
	Month    chain.Month // the newest complete month: the second run's new one
	First    time.Time   // the first run's date (the 1st of Month: it learns from the 365 days before)
	Second   time.Time   // the second run's (the 1st after Month: it adds Month)
}

// PlanDemo reads an export (the portal's CSV, plain or gzipped, any years)
// for its date range. The newest month counts as complete unless the
// export stops more than a day before its end (then the month before is
// the newest).
func PlanDemo(path string) (DemoPlan, error) {
	rc, err := openExport(path)
	if err != nil {
		return DemoPlan{}, fmt.Errorf("demo data: %w", err)
	}
	defer rc.Close()
	r := csv.NewReader(rc)
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return DemoPlan{}, fmt.Errorf("demo data %s: header: %w", path, err)
	}
	col := -1
	for i, h := range header {
		if crime.SnakeCase(h) == crime.ColDate {
			col = i
		}
	}
	if col < 0 {
		return DemoPlan{}, fmt.Errorf("demo data %s: no Date column (want the portal's CSV export)", path)
	}
	var p DemoPlan
	var lo, hi int64
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return DemoPlan{}, fmt.Errorf("demo data %s: %w", path, err)
		}
		if col >= len(row) {
			continue
		}
		d, err := crime.ParseDate(row[col])
		if err != nil {
			continue // the stand-in refuses it too
		}
		if p.Rows == 0 || d < lo {
			lo = d
		}
		if p.Rows == 0 || d > hi {
			hi = d
		}
		p.Rows++
	}
	if p.Rows == 0 {
		return DemoPlan{}, fmt.Errorf("demo data %s: no crime with a date", path)
	}
	p.From, p.To = table.Wall(lo), table.Wall(hi)
	p.Month = chain.MonthOf(p.To)
	if p.Month.End().Sub(p.To) > 48*time.Hour {
		p.Month = p.Month.Prev()
	}
	if !chain.MonthOf(p.From).Before(p.Month) {
		return DemoPlan{}, fmt.Errorf("demo data %s: %s to %s: the demo needs a month before the newest complete one", path,
			p.From.Format(time.DateOnly), p.To.Format(time.DateOnly))
	}
	p.First, p.Second = p.Month.Time, p.Month.End()
	return p, nil
}

// openExport opens a CSV file, gunzipping it when it is gzipped (by its
// content, as the stand-in does).
func openExport(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(2)
	if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return struct {
			io.Reader
			io.Closer
		}{br, f}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// waitMonitor waits for the monitor's report on month m (the month the
// first champion never saw) and prints its verdict; a monitor that is not
// deployed or answers otherwise is noted, not an error.
func waitMonitor(ctx context.Context, cl *Client, o DemoOptions, out io.Writer, m chain.Month) json.RawMessage {
	wait := o.MonitorWait
	if wait <= 0 {
		wait = time.Minute
	}
	fmt.Fprintf(out, "\n== The monitor on %s, the month the first champion never saw (GET /function/monitor?month=%s)\n", m.Format("January 2006"), m)
	deadline := time.Now().Add(wait)
	for {
		ans, err := cl.Call(ctx, http.MethodGet, "monitor?month="+m.String(), nil)
		if err != nil {
			fmt.Fprintf(out, "monitor: %v\n", err)
			return nil
		}
		var body struct {
			Field  string          `json:"field"`
			Report json.RawMessage `json:"report"`
		}
		json.Unmarshal(ans.Body, &body)
		switch {
		case ans.Status == http.StatusOK && len(body.Report) > 0:
			printMonitor(out, body.Report)
			return body.Report
		case ans.Status == http.StatusNotFound && body.Field == "month" && time.Now().Before(deadline):
		default:
			fmt.Fprintf(out, "monitor answered %d: %s (make logs FN=monitor)\n", ans.Status, truncate(oneLine(ans.Body), 200))
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// printMonitor prints a report's verdict, realized ROC-AUC and alerts.
func printMonitor(out io.Writer, report json.RawMessage) {
	var r struct {
		Month, Verdict string
		Volume         int64
		Model          *struct{ Version int }
		TestROCAUC     *float64 `json:"test_roc_auc"`
		Realized       *struct {
			ROCAUC *float64 `json:"roc_auc"`
		}
		DriftedShare float64 `json:"drifted_share"`
		WorstField   string  `json:"worst_field"`
		Alerts       []struct{ Kind, Message string }
	}
	if err := json.Unmarshal(report, &r); err != nil {
		fmt.Fprintf(out, "monitor report: %v\n", err)
		return
	}
	var parts []string
	if r.Model != nil {
		parts = append(parts, fmt.Sprintf("model v%d", r.Model.Version))
	}
	parts = append(parts, fmt.Sprintf("%d records", r.Volume))
	if r.Realized != nil && r.Realized.ROCAUC != nil && r.TestROCAUC != nil {
		parts = append(parts, fmt.Sprintf("ROC-AUC %.4f on the month vs %.4f on its test set", *r.Realized.ROCAUC, *r.TestROCAUC))
	}
	parts = append(parts, fmt.Sprintf("%.0f%% of the fields drifted", 100*r.DriftedShare))
	if r.WorstField != "" {
		parts = append(parts, "worst "+r.WorstField)
	}
	fmt.Fprintf(out, "monitor %s: %s (%s)\n", r.Month, strings.ToUpper(r.Verdict), strings.Join(parts, ", "))
	for _, a := range r.Alerts {
		fmt.Fprintf(out, "  %s: %s\n", a.Kind, truncate(a.Message, 200))
	}
	if len(r.Alerts) == 0 {
		fmt.Fprintln(out, "  no alert")
	}
}
