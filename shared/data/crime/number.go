package crime

import (
	"errors"
	"math"
	"strconv"
	"unsafe"
)

var (
	errBadNumber = errors.New("bad number")
	errBadBool   = errors.New("bad boolean")
)

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber parses a decimal float exactly as strconv.ParseFloat does
// (correctly rounded), without allocating. Plain decimals of up to 15-16
// significant digits take the exact fast path (an integer below 2^53 times or
// divided by an exact power of ten, one IEEE rounding); the rest goes to
// strconv.
func parseNumber(b []byte) (float64, error) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	var mant uint64
	exp, nd, sawDigit := 0, 0, false
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		sawDigit = true
		if mant == 0 && b[i] == '0' {
			continue
		}
		mant = mant*10 + uint64(b[i]-'0')
		nd++
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i]-'0' <= 9; i++ {
			sawDigit = true
			exp--
			if mant == 0 && b[i] == '0' {
				continue
			}
			mant = mant*10 + uint64(b[i]-'0')
			nd++
		}
	}
	if i < len(b) && (b[i]|0x20) == 'e' && sawDigit {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		e, ed := 0, 0
		for ; i < len(b) && b[i]-'0' <= 9 && e < 10000; i++ {
			e = e*10 + int(b[i]-'0')
			ed++
		}
		if ed == 0 {
			return slowNumber(b)
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(b) || !sawDigit || nd > 19 || mant > 1<<53 || exp < -22 || exp > 22 {
		return slowNumber(b)
	}
	f := float64(mant)
	if exp < 0 {
		f /= pow10[-exp]
	} else {
		f *= pow10[exp]
	}
	if neg {
		f = -f
	}
	return f, nil
}

// slowNumber is strconv.ParseFloat without copying b (the string does not
// outlive the call: on error we return our own sentinel).
func slowNumber(b []byte) (float64, error) {
	if len(b) == 0 {
		return 0, errBadNumber
	}
	f, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil // ±Inf or 0, as strconv rounds it
		}
		return 0, errBadNumber
	}
	return f, nil
}

// parseBool accepts true/false in any letter case.
func parseBool(b []byte) (int8, error) {
	switch len(b) {
	case 4:
		if b[0]|0x20 == 't' && b[1]|0x20 == 'r' && b[2]|0x20 == 'u' && b[3]|0x20 == 'e' {
			return 1, nil
		}
	case 5:
		if b[0]|0x20 == 'f' && b[1]|0x20 == 'a' && b[2]|0x20 == 'l' && b[3]|0x20 == 's' && b[4]|0x20 == 'e' {
			return 0, nil
		}
	}
	return 0, errBadBool
}

// appendNumber writes v so it parses back to the same float64: integers as
// integers, other values in the shortest decimal form, 'f' or 'g' style.
func appendNumber(dst []byte, v float64) []byte {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e15:
		if v == 0 && math.Signbit(v) {
			return append(dst, "-0"...)
		}
		return strconv.AppendInt(dst, int64(v), 10)
	case a >= 1e-4 && a < 1e15:
		if out, ok := appendShortF(dst, v); ok {
			return out
		}
		return strconv.AppendFloat(dst, v, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}
