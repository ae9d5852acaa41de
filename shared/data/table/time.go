package table

import (
	"math"
	"time"
)

// WallClock returns the Time value of a wall-clock date and time. Fields are
// not range-checked; month is 1–12.
func WallClock(year, month, day, hour, min, sec int) int64 {
	// Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
	// days_from_civil), exact for any year, no time package on the hot path.
	y := int64(year)
	m := int64(month)
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe - 719468
	return days*86400 + int64(hour)*3600 + int64(min)*60 + int64(sec)
}

// Wall returns the Time value as a time.Time in UTC whose fields are the wall
// clock. The result for NoTime is meaningless: check first.
func Wall(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// WallSeconds returns the Time value of t's wall clock in t's own location
// (sub-second part dropped).
func WallSeconds(t time.Time) int64 {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return WallClock(y, int(mo), d, h, mi, s)
}

// RowsDated returns the rows of a Time column dated in [from, to) (wall
// clock; the zero to means no end), in order: missing dates are in no range.
func RowsDated(c *Column, from, to time.Time) []int {
	lo, hi := WallSeconds(from), int64(math.MaxInt64)
	if !to.IsZero() {
		hi = WallSeconds(to)
	}
	in := func(d int64) bool { return d != NoTime && d >= lo && d < hi }
	n := 0
	for _, d := range c.Times {
		if in(d) {
			n++
		}
	}
	rows := make([]int, 0, n) // counted first: sized once, a month of a year is small
	for i, d := range c.Times {
		if in(d) {
			rows = append(rows, i)
		}
	}
	return rows
}
