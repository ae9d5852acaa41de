package crime

import (
	"math"
	"strconv"
)

// fracDigits[e] is, for |v| in [2^(e-bias), 2^(e-bias+1)), the most
// fractional digits d for which 10^d·ulp(v) ≤ 1/4: at that spacing at most
// one d-digit decimal lies within half an ulp of v, and v·10^d computed in
// floating point rounds to it.
var fracDigits = func() (t [64]int8) {
	for i := range t {
		e := i - fracBias
		d := int8(-1)
		for k := 0; k <= 15; k++ {
			if math.Pow(10, float64(k)) <= math.Ldexp(1, 50-e) {
				d = int8(k)
			}
		}
		t[i] = d
	}
	return t
}()

const fracBias = 14 // fracDigits[0] is for [2^-14, 2^-13): 1e-4 is above

// appendShortF appends v in the shortest form that parses back to v,
// without an exponent, exactly as strconv.AppendFloat(dst, v, 'f', -1, 64),
// when v has at most fracDigits fractional digits in that form (as data
// written with a fixed number of decimals does: coordinates); ok is false
// otherwise, and dst is unchanged. |v| must be in [1e-4, 1e15) and not an
// integer.
//
// If some decimal with d ≤ dmax fractional digits parses back to v, it is
// the only multiple of 10^-dmax within half an ulp of v, so it is
// round(v·10^dmax)·10^-dmax with its trailing zeros dropped; m/10^dmax with
// both exact is rounded once, as parsing the decimal is.
func appendShortF(dst []byte, v float64) ([]byte, bool) {
	a := math.Abs(v)
	_, exp := math.Frexp(a) // a in [2^(exp-1), 2^exp)
	i := exp - 1 + fracBias
	if i < 0 || i >= len(fracDigits) || fracDigits[i] < 1 {
		return dst, false
	}
	d := int(fracDigits[i])
	s := pow10[d]
	m := math.Round(a * s)
	if m/s != a {
		return dst, false
	}
	u := uint64(m)
	for d > 0 && u%10 == 0 {
		u /= 10
		d--
	}
	var tmp [24]byte
	digits := strconv.AppendUint(tmp[:0], u, 10)
	if v < 0 {
		dst = append(dst, '-')
	}
	if len(digits) <= d {
		dst = append(dst, '0', '.')
		for range d - len(digits) {
			dst = append(dst, '0')
		}
		return append(dst, digits...), true
	}
	dst = append(dst, digits[:len(digits)-d]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-d:]...), true
}
