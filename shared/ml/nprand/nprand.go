// Package nprand reproduces numpy's legacy np.random.RandomState(seed)
// stream: MT19937 seeded with init_genrand, 32-bit words, random_sample
// doubles, legacy_gauss normals, and the masked-rejection integers behind
// shuffle and permutation. With it the stratified split picks
// scikit-learn's very rows and mutual information adds scikit-learn's very
// noise for the same random_state.
package nprand

import "math"

const (
	n, mid       = 624, 397
	upper, lower = 0x80000000, 0x7fffffff
)

// RandomState is one numpy RandomState stream. Not safe for concurrent use.
type RandomState struct {
	mt       [n]uint32
	pos      int
	hasGauss bool
	gauss    float64
}

// New seeds a stream as RandomState(seed) does for an integer seed.
func New(seed uint32) *RandomState {
	r := &RandomState{pos: n}
	r.mt[0] = seed
	for i := 1; i < n; i++ {
		p := r.mt[i-1]
		r.mt[i] = 1812433253*(p^(p>>30)) + uint32(i)
	}
	return r
}

// Uint32 is the next tempered 32-bit word.
func (r *RandomState) Uint32() uint32 {
	if r.pos >= n {
		r.twist()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

func (r *RandomState) twist() {
	mag := [2]uint32{0, 0x9908b0df}
	mt := &r.mt
	i := 0
	for ; i < n-mid; i++ {
		y := mt[i]&upper | mt[i+1]&lower
		mt[i] = mt[i+mid] ^ y>>1 ^ mag[y&1]
	}
	for ; i < n-1; i++ {
		y := mt[i]&upper | mt[i+1]&lower
		mt[i] = mt[i+mid-n] ^ y>>1 ^ mag[y&1]
	}
	y := mt[n-1]&upper | mt[0]&lower
	mt[n-1] = mt[mid-1] ^ y>>1 ^ mag[y&1]
	r.pos = 0
}

// Float64 is random_sample: 53 random bits in [0, 1).
func (r *RandomState) Float64() float64 {
	a, b := r.Uint32()>>5, r.Uint32()>>6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// Normal is the legacy standard_normal (polar Box-Muller, one value cached).
func (r *RandomState) Normal() float64 {
	if r.hasGauss {
		r.hasGauss = false
		return r.gauss
	}
	var x1, x2, r2 float64
	for {
		x1 = 2*r.Float64() - 1
		x2 = 2*r.Float64() - 1
		r2 = x1*x1 + x2*x2
		if r2 < 1 && r2 != 0 {
			break
		}
	}
	f := math.Sqrt(-2 * math.Log(r2) / r2)
	r.gauss, r.hasGauss = f*x1, true
	return f * x2
}

// Interval is a uniform integer in [0, max] by masked rejection (numpy's
// legacy random_interval).
func (r *RandomState) Interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= mask >> 32
	if max <= 0xffffffff {
		for {
			if v := uint64(r.Uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		v := (uint64(r.Uint32())<<32 | uint64(r.Uint32())) & mask
		if v <= max {
			return v
		}
	}
}

// Shuffle permutes a in place as RandomState.shuffle does for a 1-d array
// (Fisher–Yates from the end).
func (r *RandomState) Shuffle(a []int) {
	for i := len(a) - 1; i >= 1; i-- {
		j := r.Interval(uint64(i))
		a[i], a[j] = a[j], a[i]
	}
}

// Permutation is RandomState.permutation(n).
func (r *RandomState) Permutation(k int) []int {
	p := make([]int, k)
	for i := range p {
		p[i] = i
	}
	r.Shuffle(p)
	return p
}
