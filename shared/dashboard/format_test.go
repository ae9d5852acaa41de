package dashboard

import (
	"math"
	"strings"
	"testing"
)

// A stored message loses its filesystem paths, URLs with credentials and
// secret pairs; object keys and the rest of the message stay.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"secret arrestcast-database-url in /var/openfaas/secrets: secret not found": "secret arrestcast-database-url in …: secret not found",
		"dial postgres://dash:hunter2@db:5432/x?sslmode=disable: refused":           "dial postgres://…: refused",
		"open /tmp/build-1/crimes.csv: no such file":                                "open …: no such file",
		"read data/0-raw-data/data/crimes_12m_2018-01-01.csv: checksum mismatch":    "read data/0-raw-data/data/crimes_12m_2018-01-01.csv: checksum mismatch",
		"minio: access key=AKIA123 rejected":                                        "minio: access key=… rejected",
		"token: abc.def.ghi expired":                                                "token: … expired",
		"no crimes in 2018-01..2018-01":                                             "no crimes in 2018-01..2018-01",
		"GET http://minio:9000/data/x: 503":                                         "GET http://minio:9000/data/x: 503",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 268042: "268,042", -1234567: "-1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q", n, got)
		}
	}
	for ms, want := range map[int64]string{60: "0.06 s", 38200: "38.2 s", 125000: "2 min 05 s", 7300000: "2 h 01 min"} {
		if got := seconds(ms); got != want {
			t.Errorf("seconds(%d) = %q", ms, got)
		}
	}
	if got := fixed(-0.00001, 3); got != "0.000" {
		t.Errorf("fixed(-0.00001, 3) = %q", got)
	}
	if got := sig(91742.98); got != "91,743" {
		t.Errorf("sig = %q", got)
	}
}

// The axis always encloses the data, on round ticks.
func TestAxisTicks(t *testing.T) {
	for _, c := range [][2]float64{{0.869, 0.8767}, {0, 3.61}, {3.6, 3.61}, {0.84, 0.87}, {0, 0}, {5, 5}, {-0.2, 0.7}, {0, 268042}} {
		ticks := axisTicks(c[0], c[1], 4)
		if ticks[0] > c[0] || ticks[len(ticks)-1] < c[1] || len(ticks) < 2 || len(ticks) > 9 {
			t.Errorf("axisTicks(%v, %v) = %v", c[0], c[1], ticks)
		}
		for _, v := range ticks {
			if s := tickLabel(v); strings.Contains(s, "e") || strings.HasPrefix(s, "-0") && math.Abs(v) < 1e-12 {
				t.Errorf("tick %v reads %q", v, s)
			}
		}
	}
}
