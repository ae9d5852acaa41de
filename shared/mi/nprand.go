package mi

import "math"

// mt19937 reproduces numpy's legacy RandomState(seed) stream: MT19937 seeded
// with init_genrand, doubles from two 32-bit words (random_sample), normals
// from the polar Box-Muller method with one cached value (legacy_gauss). With
// it the tie-breaking noise is, value for value, scikit-learn's for the same
// random_state.
type mt19937 struct {
	mt       [624]uint32
	pos      int
	hasGauss bool
	gauss    float64
}

func newMT19937(seed uint32) *mt19937 {
	r := &mt19937{pos: 624}
	r.mt[0] = seed
	for i := 1; i < 624; i++ {
		prev := r.mt[i-1]
		r.mt[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	return r
}

func (r *mt19937) uint32() uint32 {
	if r.pos >= 624 {
		r.refill()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

func (r *mt19937) refill() {
	mt := &r.mt
	twist := func(a, b, c uint32) uint32 {
		y := (a & 0x80000000) | (b & 0x7fffffff)
		return c ^ (y >> 1) ^ (-(y & 1) & 0x9908b0df)
	}
	i := 0
	for ; i < 624-397; i++ {
		mt[i] = twist(mt[i], mt[i+1], mt[i+397])
	}
	for ; i < 623; i++ {
		mt[i] = twist(mt[i], mt[i+1], mt[i+397-624])
	}
	mt[623] = twist(mt[623], mt[0], mt[396])
	r.pos = 0
}

// float64 is numpy's random_sample: 53 random bits in [0, 1).
func (r *mt19937) float64() float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// normal is numpy's legacy standard_normal.
func (r *mt19937) normal() float64 {
	if r.hasGauss {
		r.hasGauss = false
		return r.gauss
	}
	var x1, x2, r2 float64
	for {
		x1 = 2*r.float64() - 1
		x2 = 2*r.float64() - 1
		r2 = x1*x1 + x2*x2
		if r2 < 1 && r2 != 0 {
			break
		}
	}
	f := math.Sqrt(-2 * math.Log(r2) / r2)
	r.gauss, r.hasGauss = f*x1, true
	return f * x2
}
