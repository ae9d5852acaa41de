package download

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/faas"
	"github.com/arrestcast/arrestcast/shared/platform/store"
	"github.com/arrestcast/arrestcast/shared/runner"
)

// Backfill is what a backfill did.
type Backfill struct {
	From, To  string
	Changed   []string  `json:"changed"`   // months written again: their records differ from the stored version
	Unchanged []string  `json:"unchanged"` // months fetched that hold the same records as before
	Runs      []Rebuilt `json:"runs"`      // the runs whose window holds a changed month, each brought up to date
}

// Rebuilt is one run a backfill began a new generation of.
type Rebuilt struct {
	RunDate string `json:"run_date"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// batch answers {"from": "YYYY-MM", "to": "YYYY-MM"}: those months are
// fetched again, whole; a month whose records differ from its stored
// version is written as a new version of its file (the old one stays, for
// the models trained on it), one that holds the same records is left as it
// is. Then every run whose window holds a changed month begins a new
// generation — its download manifest lists the current version of each of
// its twelve months, so merge rebuilds its window from all of them, and the
// chain trains and registers a new model — while runs whose months did not
// change stay as they are. The same backfill asked again (nothing changed
// since) changes nothing.
func (d *download) batch(ctx context.Context, env *runner.Env, inv runner.Invocation) (runner.Result, bool) {
	if inv.From == "" {
		return runner.Result{}, false
	}
	res := runner.Result{Step: chain.Download}
	rep, err := d.backfill(ctx, env, inv.From, inv.To)
	var refused *runner.Refused
	switch {
	case errors.As(err, &refused):
		res.Status, res.Outcome, res.Reason, res.Field = http.StatusBadRequest, "refused", refused.Message, refused.Field
	case runner.IsPermanent(err):
		res.Status, res.Outcome, res.Reason = http.StatusOK, "failed", err.Error()
	case err != nil:
		env.Logger().Error("backfill failed; will be retried", "err", err)
		res.Status, res.Outcome, res.Reason = http.StatusServiceUnavailable, "retry", "backfill failed; will be retried"
	default:
		res.Status, res.Outcome, res.Detail = http.StatusOK, "done", rep
		res.Reason = fmt.Sprintf("%d month(s) changed, %d unchanged; %d run(s) brought up to date", len(rep.Changed), len(rep.Unchanged), len(rep.Runs))
	}
	return res, true
}

func (d *download) backfill(ctx context.Context, env *runner.Env, fromS, toS string) (*Backfill, error) {
	from, to, err := d.backfillRange(env, fromS, toS)
	if err != nil {
		return nil, err
	}
	rep := &Backfill{From: from.String(), To: to.String()}
	changed := map[string]store.Object{}
	for m := from; !to.Before(m); m = m.Next() {
		obj, did, err := d.refetch(ctx, env, m)
		if err != nil {
			return nil, err
		}
		if did {
			rep.Changed = append(rep.Changed, m.String())
			changed[m.String()] = obj
		} else {
			rep.Unchanged = append(rep.Unchanged, m.String())
		}
	}
	env.Logger().Info("backfill fetched", "from", rep.From, "to", rep.To, "changed", rep.Changed)
	if len(changed) == 0 {
		return rep, nil
	}
	dates, err := d.affected(ctx, env, changed)
	if err != nil {
		return nil, err
	}
	id := changeID(changed)
	for _, date := range dates {
		step := runner.Step{Name: chain.Download, Run: d.run, Plan: func(context.Context, *runner.Env, runner.Invocation) (runner.Plan, error) {
			return runner.Plan{Date: date, Months: d.window(date), Input: store.Ref{Key: "rebuild:" + chain.Day(date) + ":" + id}}, nil
		}}
		r := runner.Execute(ctx, env, step, runner.Invocation{Kind: faas.Manual, Date: date})
		rep.Runs = append(rep.Runs, Rebuilt{RunDate: chain.Day(date), Outcome: r.Outcome, Reason: r.Reason})
		if r.Status == http.StatusServiceUnavailable {
			// Months are written; asking again finds them unchanged, so the
			// runs left would not be rebuilt: fail the whole call to retry it.
			return nil, fmt.Errorf("rebuild %s: %s", chain.Day(date), r.Reason)
		}
	}
	return rep, nil
}

// backfillRange checks a backfill's months: from the data's first month to
// the last complete one.
func (d *download) backfillRange(env *runner.Env, fromS, toS string) (chain.Month, chain.Month, error) {
	from, err := chain.ParseMonth(fromS)
	if err != nil {
		return chain.Month{}, chain.Month{}, &runner.Refused{Field: "from", Message: err.Error()}
	}
	to, err := chain.ParseMonth(toS)
	if err != nil {
		return chain.Month{}, chain.Month{}, &runner.Refused{Field: "to", Message: err.Error()}
	}
	last := chain.MonthOf(env.Now().UTC()).Prev()
	allowed := fmt.Sprintf("backfills go from %s (the data begins) to %s (the last complete month)", d.o.FirstMonth, last)
	switch {
	case from.Before(d.o.FirstMonth):
		return chain.Month{}, chain.Month{}, &runner.Refused{Field: "from", Message: allowed}
	case last.Before(to):
		return chain.Month{}, chain.Month{}, &runner.Refused{Field: "to", Message: allowed}
	case to.Before(from):
		return chain.Month{}, chain.Month{}, &runner.Refused{Field: "to", Message: "must not be before from"}
	}
	return from, to, nil
}

// refetch fetches month m whole and writes it when its records differ from
// the stored version (by content: the MD5 that is also the object's ETag);
// changed reports whether it wrote.
func (d *download) refetch(ctx context.Context, env *runner.Env, m chain.Month) (store.Object, bool, error) {
	res, err := d.src.Crimes(ctx, m.Time, m.End())
	if err != nil {
		return store.Object{}, false, fmt.Errorf("month %s: %w", m, err)
	}
	if res.Table.Len() == 0 {
		// Not one crime in a month of Chicago: the portal answered nothing,
		// and the stored month (if any) is kept.
		return store.Object{}, false, runner.Permanentf("no crimes in %s", m)
	}
	body, err := crime.NewBody(ctx, res.Table)
	if err != nil {
		return store.Object{}, false, fmt.Errorf("encode month %s: %w", m, err)
	}
	h := md5.New()
	if _, err := io.Copy(h, body); err != nil {
		return store.Object{}, false, fmt.Errorf("encode month %s: %w", m, err)
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return store.Object{}, false, err
	}
	bucket, key := env.Buckets.Data, chain.MonthCrimesKey(m)
	old, err := env.Store.Stat(ctx, bucket, key)
	switch {
	case err == nil && old.ETag == hex.EncodeToString(h.Sum(nil)):
		return old, false, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.Object{}, false, err
	}
	// The rejects first, as a run writes them: a month's file, once there,
	// has its rejects beside it.
	var buf bytes.Buffer
	if err := crime.WriteRejects(ctx, &buf, res.Rejects); err != nil {
		return store.Object{}, false, err
	}
	if _, err := store.PutBytes(ctx, env.Store, bucket, chain.MonthRejectsKey(m), buf.Bytes(), "text/csv"); err != nil {
		return store.Object{}, false, err
	}
	obj, err := env.Store.Put(ctx, bucket, key, body, body.Size(), "text/csv")
	if err != nil {
		return store.Object{}, false, err
	}
	// The runs this backfill rebuilds find the twin beside the new version
	// (download's reuse).
	if _, err := runner.PutTwin(ctx, runner.StorePutter(env.Store, bucket), obj.Ref(), res.Table); err != nil {
		return store.Object{}, false, err
	}
	return obj, true, nil
}

// affected lists, oldest first, the run dates that have run (their
// download manifest exists) and whose window holds a changed month.
func (d *download) affected(ctx context.Context, env *runner.Env, changed map[string]store.Object) ([]time.Time, error) {
	objs, err := env.Store.List(ctx, env.Buckets.Data, chain.RawMonthsPrefix)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var dates []time.Time
	for _, o := range objs {
		date, ok := chain.DownloadRunDate(o.Key)
		if !ok {
			continue
		}
		for _, m := range d.window(date) {
			if _, hit := changed[m.String()]; hit {
				dates = append(dates, date)
				break
			}
		}
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	return dates, nil
}

// changeID names what a backfill changed by content (the months and the
// ETags of their new versions), so the runs it rebuilds have an identity
// of their own.
func changeID(changed map[string]store.Object) string {
	var parts []string
	for m, o := range changed {
		parts = append(parts, m+"="+o.ETag)
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	return hex.EncodeToString(sum[:6])
}
