package crime

import (
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

func TestParseDate(t *testing.T) {
	want := func(y int, mo time.Month, d, h, mi, s int) int64 {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC).Unix()
	}
	for in, w := range map[string]int64{
		"01/02/2017 03:04:05 PM":  want(2017, 1, 2, 15, 4, 5),
		"01/01/2017 12:01:00 AM":  want(2017, 1, 1, 0, 1, 0),  // 12 AM is midnight
		"01/01/2017 12:00:00 PM":  want(2017, 1, 1, 12, 0, 0), // 12 PM is noon
		"12/31/2017 11:59:59 PM":  want(2017, 12, 31, 23, 59, 59),
		"02/29/2016 01:00:00 am":  want(2016, 2, 29, 1, 0, 0),
		"2017-01-02T15:04:05":     want(2017, 1, 2, 15, 4, 5),
		"2017-01-01T00:01:00.000": want(2017, 1, 1, 0, 1, 0),
		"2017-12-31 23:59:59":     want(2017, 12, 31, 23, 59, 59),
		"2000-02-29T00:00:00.0":   want(2000, 2, 29, 0, 0, 0),
	} {
		got, err := ParseDate(in)
		if err != nil || got != w {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", in, table.Wall(got), err, table.Wall(w))
		}
		if got2, _ := ParseDate([]byte(in)); got2 != got {
			t.Errorf("string and []byte disagree on %q", in)
		}
	}
	for _, in := range []string{
		"", "01/02/2017", "13/02/2017 03:04:05 PM", "02/30/2017 03:04:05 PM", "02/29/2017 03:04:05 PM",
		"01/02/2017 13:04:05 PM", "01/02/2017 00:04:05 AM", "01/02/2017 03:60:05 PM", "01/02/2017 03:04:05 XM",
		"01/02/2017 03:04:05PM ", "2017-01-02T24:00:00", "2017-01-02T15:04:05.001", "2017-01-02T15:04:05.",
		"2017-01-02T15:04:05Z", "2017-1-02T15:04:05", "2017-01-02T15:04:5x", "1900-02-29T00:00:00",
	} {
		if _, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) accepted", in)
		}
	}
}

func TestParseDateDoesNotAllocate(t *testing.T) {
	b := []byte("01/02/2017 03:04:05 PM")
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseDate(b) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestAppendISOInvertsParseDate(t *testing.T) {
	for _, s := range []string{"2017-01-02T15:04:05", "1969-12-31T23:59:59", "2000-02-29T00:00:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59"} {
		v, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendISO(nil, v)); got != s {
			t.Errorf("appendISO(ParseDate(%q)) = %q", s, got)
		}
	}
}
