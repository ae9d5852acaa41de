package dashboard

import (
	"html/template"
	"math"
	"strconv"
	"time"

	"github.com/arrestcast/arrestcast/shared/ml/metrics"
	"github.com/arrestcast/arrestcast/shared/platform/runs"
)

// funcs are the templates' formatting helpers.
var funcs = template.FuncMap{
	"secs": func(ms *int64) string {
		if ms == nil {
			return "–"
		}
		return seconds(*ms)
	},
	"ms":    seconds,
	"count": func(n int64) string { return count(n) },
	"countp": func(n *int64) string {
		if n == nil {
			return "–"
		}
		return count(*n)
	},
	"counti": func(n int) string { return count(int64(n)) },
	"countf": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return count(int64(math.Round(*v)))
	},
	"num": num,
	"nump": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return num(*v)
	},
	"fixed": fixed,
	"fixedp": func(v *float64, prec int) string {
		if v == nil {
			return "–"
		}
		return fixed(*v, prec)
	},
	"pct": pct,
	"pctp": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return pct(*v)
	},
	"share": func(a, total int) string {
		if total == 0 {
			return "–"
		}
		return pct(float64(a) / float64(total))
	},
	"stamp": stamp,
	"stampp": func(t *time.Time) string {
		if t == nil {
			return "–"
		}
		return stamp(*t)
	},
	"ago": ago,
	"agop": func(now time.Time, t *time.Time) string {
		if t == nil {
			return ""
		}
		return ago(now, *t)
	},
	"st":     statusClass,
	"metric": func(r *metrics.Report, name string) string { return num(metric(r, name)) },
	"label":  func(name string) string { return metricLabels[name] },
	"itoa":   strconv.Itoa,
	"sig":    sig,
	// ref names an object: bucket/key, or the key alone (a source, not a bucket).
	"ref": func(r runs.Ref) string {
		if r.Bucket == "" {
			return r.Key
		}
		return r.Bucket + "/" + r.Key
	},
	"add": func(a, b int) int { return a + b },
	"runSeconds": func(l RunLine, now time.Time) string {
		return seconds(int64(l.Seconds(now) * 1000))
	},
	"sum": func(xs ...int) int {
		t := 0
		for _, x := range xs {
			t += x
		}
		return t
	},
}
