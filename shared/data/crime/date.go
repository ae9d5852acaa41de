package crime

import (
	"errors"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// ErrBadDate is returned by ParseDate for text in neither portal format.
var ErrBadDate = errors.New("bad date")

// ParseDate parses a portal date into a table.Time value (wall-clock seconds,
// see package table). It accepts the CSV export's "01/02/2017 03:04:05 PM"
// and the API's "2017-01-02T15:04:05" with an optional all-zero fraction
// (".000"); a space may stand for the T. It does not allocate.
func ParseDate[S ~string | ~[]byte](s S) (int64, error) {
	switch {
	case len(s) == 22 && s[2] == '/' && s[5] == '/' && s[10] == ' ' && s[13] == ':' && s[16] == ':' && s[19] == ' ':
		return parseUS(s)
	case len(s) >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') && s[13] == ':' && s[16] == ':':
		return parseISO(s)
	}
	return 0, ErrBadDate
}

// parseUS parses "MM/DD/YYYY hh:mm:ss AM" (separators already checked).
func parseUS[S ~string | ~[]byte](s S) (int64, error) {
	mo, ok1 := digits2(s[0], s[1])
	d, ok2 := digits2(s[3], s[4])
	yh, ok3 := digits2(s[6], s[7])
	yl, ok4 := digits2(s[8], s[9])
	h, ok5 := digits2(s[11], s[12])
	mi, ok6 := digits2(s[14], s[15])
	sec, ok7 := digits2(s[17], s[18])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || s[21]|0x20 != 'm' || h < 1 || h > 12 {
		return 0, ErrBadDate
	}
	switch s[20] | 0x20 {
	case 'a':
		if h == 12 {
			h = 0
		}
	case 'p':
		if h != 12 {
			h += 12
		}
	default:
		return 0, ErrBadDate
	}
	return civil(yh*100+yl, mo, d, h, mi, sec)
}

// parseISO parses "YYYY-MM-DDThh:mm:ss[.000]" (separators already checked).
func parseISO[S ~string | ~[]byte](s S) (int64, error) {
	yh, ok1 := digits2(s[0], s[1])
	yl, ok2 := digits2(s[2], s[3])
	mo, ok3 := digits2(s[5], s[6])
	d, ok4 := digits2(s[8], s[9])
	h, ok5 := digits2(s[11], s[12])
	mi, ok6 := digits2(s[14], s[15])
	sec, ok7 := digits2(s[17], s[18])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || h > 23 {
		return 0, ErrBadDate
	}
	if len(s) > 19 {
		// Only a zero fraction: a value with sub-second precision cannot be
		// stored exactly, so refuse it rather than truncate.
		if s[19] != '.' || len(s) == 20 {
			return 0, ErrBadDate
		}
		for i := 20; i < len(s); i++ {
			if s[i] != '0' {
				return 0, ErrBadDate
			}
		}
	}
	return civil(yh*100+yl, mo, d, h, mi, sec)
}

func civil(y, mo, d, h, mi, sec int) (int64, error) {
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || mi > 59 || sec > 59 {
		return 0, ErrBadDate
	}
	return table.WallClock(y, mo, d, h, mi, sec), nil
}

func daysIn(y, mo int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func digits2(a, b byte) (int, bool) {
	a -= '0'
	b -= '0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

// appendISO appends the Time value s as "2006-01-02T15:04:05".
func appendISO(dst []byte, s int64) []byte {
	days := s / 86400
	rem := s % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	y, mo, d := civilFromDays(days)
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, mo)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, int(rem/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(rem/60%60))
	dst = append(dst, ':')
	return append2(dst, int(rem%60))
}

// civilFromDays is the inverse of table.WallClock's day count (H. Hinnant).
func civilFromDays(z int64) (year, month, day int) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

func append4(dst []byte, v int) []byte {
	if v < 0 || v > 9999 {
		return append(dst, "????"...) // outside any portal date; ParseDate refuses it back
	}
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
