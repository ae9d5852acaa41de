package table

import "time"

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
