// Package monitor is the chain's observer: every month, on download's
// manifest (beside merge, never delaying the chain), it scores the month
// that just arrived with the champion that never saw it (the champion as it
// stood when the month began: registry.ChampionBefore), through the
// model's own artifact exactly as predict serves it, and compares the month
// with the reference profile train stored with that model:
//
//   - realized performance against the month's arrest labels (ROC-AUC,
//     average precision, log loss, Brier, calibration as mean predicted vs
//     observed, MCC at the artifact's threshold), against the model's own
//     test ROC-AUC;
//   - drift of every raw report-time field, every derived field and every
//     model input (PSI, KS, missing share, categories halved or doubled),
//     of the predicted probabilities, and of the arrest rate;
//   - volume against the trailing months and the decoder's rejects.
//
// The report goes next to the month in MinIO (chain.MonitorReportKey) and
// a row into monitor_reports (one per month, model and input: a backfill
// that re-fetches the month adds one, the history keeps both); its alerts
// go to the operator's webhook (shared/platform/alert), never failing the
// step. Thresholds come from the environment (Thresholds).
package monitor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/profile"
	"github.com/arrestcast/arrestcast/shared/platform/alert"
	"github.com/arrestcast/arrestcast/shared/platform/registry"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// Champions finds the model that scores a month (*registry.Registry).
type Champions interface {
	ChampionBefore(ctx context.Context, d time.Time) (*registry.Model, error)
}

// Options are what the monitor works with; the zero value measures volume
// only (no model, no history, no alerts: cmd/pipeline).
type Options struct {
	Champions  Champions
	Reports    *Reports        // the history (nil: not recorded)
	Alerts     *alert.Notifier // nil: no alerts
	Thresholds Thresholds      // zero: DefaultThresholds
}

// New is the monitor step.
func New(o Options) runner.Step {
	return runner.Step{Name: chain.Monitor, Run: func(ctx context.Context, r *runner.Run) error { return run(ctx, r, o) }}
}

func run(ctx context.Context, r *runner.Run, o Options) error {
	th := o.Thresholds.orDefault()
	m := chain.MonthOf(r.Date).Prev() // the month download just stored (a run date is a 1st)
	crimes, err := r.Inputs(chain.RoleCrimes)
	if err != nil {
		return err
	}
	monthRef, ok := find(crimes, chain.MonthCrimesKey(m))
	if !ok {
		return runner.Permanentf("download's manifest offers no crimes of %s", m)
	}
	rep := &Report{Format: Format, Month: m.String(), RunDate: chain.Day(r.Date),
		Input: monthRef.Ref, Thresholds: th}
	t, err := r.GetTable(ctx, monthRef)
	if err != nil {
		return err
	}
	rep.Volume = int64(t.Len())
	if rej, ok := find(r.Prev.Offers(chain.RoleCrimeRejects), chain.MonthRejectsKey(m)); ok {
		rep.Rejects = rej.Rows // optional: a month without rejects has no file
	}
	if err := trailing(ctx, o.Reports, m, crimes, rep, th); err != nil {
		return err
	}
	champ, err := champion(ctx, o.Champions, m)
	if err != nil {
		return err
	}
	version := 0
	if champ == nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("no model trained on a run date up to %s has been champion: nothing scored the month", chain.Day(m.Time)))
	} else {
		version = champ.Version
		if err := scoreMonth(ctx, r, champ, t, rep, th); err != nil {
			return err
		}
	}
	rep.judge(th)
	ref, err := r.PutJSON(ctx, chain.RoleReport, chain.MonitorReportKey(m, version), rep)
	if err != nil {
		return err
	}
	r.Count(rep.Volume, rep.Scored, 0)
	r.Note("month", rep.Month)
	r.Note("verdict", rep.Verdict)
	r.Note("model_version", version)
	r.Note("refused", rep.Refused)
	kinds := make([]string, len(rep.Alerts))
	for i, a := range rep.Alerts {
		kinds[i] = a.Kind
	}
	r.Note("alerts", kinds)
	if o.Reports != nil && champ != nil {
		inserted, err := o.Reports.Insert(ctx, rep, ref.Ref)
		if err != nil {
			return err
		}
		r.Note("recorded", inserted)
	}
	notify(ctx, r, o.Alerts, m, rep, ref.Ref)
	return nil
}

func find(refs []runner.Ref, key string) (runner.Ref, bool) {
	for _, ref := range refs {
		if ref.Key == key {
			return ref, true
		}
	}
	return runner.Ref{}, false
}

// champion is the model that never saw month m, or nil.
func champion(ctx context.Context, c Champions, m chain.Month) (*registry.Model, error) {
	if c == nil {
		return nil, nil
	}
	champ, err := c.ChampionBefore(ctx, m.Time)
	if errors.Is(err, registry.ErrNoChampion) {
		return nil, nil
	}
	return champ, err
}

// trailing sets the usual volume: the median of the TrailingMonths months
// before m, from download's manifest (its rows) where it offers them, else
// from the newest earlier report of the month.
func trailing(ctx context.Context, reports *Reports, m chain.Month, crimes []runner.Ref, rep *Report, th Thresholds) error {
	from := m
	for range th.TrailingMonths {
		from = from.Prev()
	}
	got := map[string]MonthRows{}
	for _, ref := range crimes {
		// Rows 0 is a month download handed on without reading it (it
		// stored it earlier): unknown here, so the history tells.
		if mm, ok := chain.MonthOfKey(ref.Key); ok && ref.Rows > 0 && !mm.Before(from) && mm.Before(m) {
			got[mm.String()] = MonthRows{Month: mm.String(), Rows: ref.Rows, Source: "manifest"}
		}
	}
	if reports != nil && len(got) < th.TrailingMonths {
		vols, err := reports.Volumes(ctx, from, m.Prev())
		if err != nil {
			return err
		}
		for mm, v := range vols {
			if _, ok := got[mm]; !ok {
				got[mm] = MonthRows{Month: mm, Rows: v, Source: "history"}
			}
		}
	}
	var vals []float64
	for _, mr := range got {
		rep.Trailing = append(rep.Trailing, mr)
		vals = append(vals, float64(mr.Rows))
	}
	sort.Slice(rep.Trailing, func(i, j int) bool { return rep.Trailing[i].Month > rep.Trailing[j].Month })
	if len(vals) > 0 {
		rep.UsualVolume = ptr(median(vals))
	} else {
		rep.Notes = append(rep.Notes, "no trailing month to compare the volume with")
	}
	return nil
}

// scoreMonth scores the month with champ and compares it with champ's
// profile.
func scoreMonth(ctx context.Context, r *runner.Run, champ *registry.Model, t *table.Table, rep *Report, th Thresholds) error {
	b, err := r.Get(ctx, runner.Ref{Role: chain.RoleModel, Ref: champ.Artifact})
	if err != nil {
		return readErr(err, "read the champion's artifact")
	}
	pred, err := model.Load(b)
	if err != nil {
		return runner.Permanentf("champion v%d: %w", champ.Version, err)
	}
	rep.Model = &ModelRef{Version: champ.Version, RunDate: chain.Day(champ.RunDate), Artifact: champ.Artifact, Profile: champ.Profile}
	if champ.Metrics != nil {
		rep.TestROCAUC = ptr(champ.Metrics.ROCAUC)
	}
	var prof *profile.Profile
	switch {
	case champ.Profile == nil:
		rep.Notes = append(rep.Notes, fmt.Sprintf("model v%d was registered without a reference profile: no drift", champ.Version))
	default:
		var p profile.Profile
		if err := r.GetJSON(ctx, runner.Ref{Role: chain.RoleProfile, Ref: *champ.Profile}, &p); err != nil {
			return readErr(err, "read the champion's profile")
		}
		if p.Format != profile.Format || p.Artifact != champ.Artifact.ETag {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the profile at %s is not model v%d's (format %q, artifact %q): no drift",
				champ.Profile.Key, champ.Version, p.Format, p.Artifact))
		} else {
			prof = &p
		}
	}
	return evaluate(ctx, t, pred, prof, rep, th)
}

// evaluate scores the month t with pred and compares it with prof (nil:
// no drift), filling rep.
func evaluate(ctx context.Context, t *table.Table, pred *model.Predictor, prof *profile.Profile, rep *Report, th Thresholds) error {
	sc, err := score(ctx, t, pred)
	if err != nil {
		return err
	}
	rep.Scored, rep.Refused = sc.scored, sc.refused
	if sc.refused > 0 {
		rep.RefusedBy = sc.refusedBy
	}
	rep.ArrestRate = ptr(sc.sample.ArrestRate())
	if rep.Realized, err = realized(sc.y, sc.p, pred.A.Threshold); err != nil {
		return runner.Permanentf("realized metrics: %w", err)
	}
	if prof == nil {
		return nil
	}
	rep.ReferenceArrestRate = ptr(prof.ArrestRate)
	for _, c := range prof.Compare(sc.sample, th.ShareRatio, th.ShareMin) {
		rep.Fields = append(rep.Fields, fieldDrift(c, th))
	}
	pc := prof.Prediction.Compare(sc.sample.Predictions())
	pf := fieldDrift(profile.Compared{Name: "arrest_probability", Kind: profile.Numeric, Input: profile.Model,
		Comparison: pc, Ref: prof.Prediction.Shares, RefMissing: prof.Prediction.Missing, Labels: prof.Prediction.Labels()}, th)
	rep.Prediction, rep.PredictionPSI = &pf, pf.PSI
	return nil
}

// readErr keeps a transient store failure transient (MinIO retries) and
// makes any other one permanent.
func readErr(err error, doing string) error {
	if store.IsTransient(err) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return runner.Permanentf("%s: %w", doing, err)
}

// notify sends the report's alerts; a failure is logged, never the step's.
func notify(ctx context.Context, r *runner.Run, n *alert.Notifier, m chain.Month, rep *Report, at store.Ref) {
	if !n.Enabled() {
		return
	}
	log := r.Env.Logger().With("step", chain.Monitor, "month", rep.Month)
	details := map[string]any{"verdict": rep.Verdict, "run_date": rep.RunDate, "report": at.Key, "volume": rep.Volume}
	if rep.Model != nil {
		details["model_version"] = rep.Model.Version
	}
	for _, a := range rep.Alerts {
		o, err := n.Notify(ctx, alert.Alert{Kind: a.Kind, Month: m.Time, Severity: alert.SeverityAlert, Message: a.Message, Details: details})
		if err != nil {
			log.Warn("alert not delivered; it is tried again later", "kind", a.Kind, "outcome", string(o), "err", err)
		}
	}
}
