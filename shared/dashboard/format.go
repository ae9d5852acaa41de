package dashboard

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/arrestcast/arrestcast/shared/chain"
)

// Date is a calendar date (a run date): JSON "2006-01-02".
type Date time.Time

func (d Date) Time() time.Time                { return time.Time(d) }
func (d Date) String() string                 { return time.Time(d).Format(chain.DateLayout) }
func (d Date) MarshalJSON() ([]byte, error)   { return json.Marshal(d.String()) }
func (d Date) Before(o Date) bool             { return time.Time(d).Before(time.Time(o)) }
func (d Date) Equal(o Date) bool              { return time.Time(d).Equal(time.Time(o)) }
func (m Month) Time() time.Time               { return time.Time(m) }
func (m Month) String() string                { return time.Time(m).Format(chain.MonthLayout) }
func (m Month) MarshalJSON() ([]byte, error)  { return json.Marshal(m.String()) }
func (m *Month) UnmarshalJSON(b []byte) error { return m.parse(b) }

// Month is a calendar month (a monitor report's): JSON "2006-01".
type Month time.Time

func (m *Month) parse(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(chain.MonthLayout, s)
	*m = Month(t)
	return err
}

// seconds formats a duration in seconds the way an operator reads it.
func seconds(ms int64) string {
	s := float64(ms) / 1000
	switch {
	case s < 10:
		return strconv.FormatFloat(s, 'f', 2, 64) + " s"
	case s < 120:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 7200:
		return fmt.Sprintf("%d min %02d s", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%d h %02d min", int(s)/3600, int(s)%3600/60)
}

// count formats an integer with thousands separators: 268,042.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// num formats a metric with 4 decimals ("–" for NaN).
func num(v float64) string { return fixed(v, 4) }

func fixed(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.HasPrefix(s, "-") && strings.Trim(s, "-0.") == "" {
		return s[1:] // no "-0.000"
	}
	return s
}

// sig formats a value of any size readably: thousands grouped above 1,000,
// else 4 significant decimals.
func sig(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case a >= 1000:
		return count(int64(math.Round(v)))
	case a >= 10:
		return fixed(v, 1)
	case a >= 1:
		return fixed(v, 2)
	}
	return fixed(v, 4)
}

func pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fixed(100*v, 1) + "%"
}

// stamp formats an instant in UTC to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// ago says how long before now t was, coarsely: "3 days ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d.Hours()))
	default:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

var (
	// An absolute filesystem path (/var/openfaas/secrets/…): after a
	// separator, a slash and a path character.
	pathLike = regexp.MustCompile(`(^|[\s"'(=:,\[])(/[A-Za-z0-9._~-]+)+/?`)
	// A URL with credentials (scheme://user:password@host/…): all of it.
	credLike = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]*@([^\s"']*[^\s"':,.;)])?`)
	// A secret given as a key=value pair.
	secretPair = regexp.MustCompile(`(?i)((password|secret|token|access.?key)\s*[=:]\s*)\S+`)
)

// redact removes from a stored message (a step's error) what a page must not
// show: filesystem paths, credentials in URLs, key=secret pairs. Object keys
// (relative, "0-raw-data/…") stay: they are what the operator looks for.
func redact(s string) string {
	s = credLike.ReplaceAllString(s, "$1…")
	s = secretPair.ReplaceAllString(s, "$1…")
	s = pathLike.ReplaceAllString(s, "$1…")
	return s
}
