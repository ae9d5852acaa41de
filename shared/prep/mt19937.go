package prep

// mt19937 is the Mersenne Twister as numpy's legacy np.random.RandomState
// drives it: seeded with init_genrand (an integer seed), 32-bit outputs.
// Only what the stratified split consumes is implemented.
type mt19937 struct {
	mt  [624]uint32
	pos int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{pos: 624}
	m.mt[0] = seed
	for i := 1; i < 624; i++ {
		p := m.mt[i-1]
		m.mt[i] = 1812433253*(p^(p>>30)) + uint32(i)
	}
	return m
}

func (m *mt19937) next32() uint32 {
	if m.pos >= 624 {
		m.twist()
	}
	y := m.mt[m.pos]
	m.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

func (m *mt19937) twist() {
	const n, mid, upper, lower = 624, 397, 0x80000000, 0x7fffffff
	mag := [2]uint32{0, 0x9908b0df}
	mt := &m.mt
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
	m.pos = 0
}

// interval returns a uniform integer in [0, max] by masked rejection, numpy's
// legacy random_interval (the draw behind RandomState.shuffle/permutation).
func (m *mt19937) interval(max uint64) uint64 {
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
			if v := uint64(m.next32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		v := (uint64(m.next32())<<32 | uint64(m.next32())) & mask
		if v <= max {
			return v
		}
	}
}

// shuffle permutes a in place as RandomState.shuffle does for a 1-d array
// (Fisher–Yates from the end).
func (m *mt19937) shuffle(a []int) {
	for i := len(a) - 1; i >= 1; i-- {
		j := m.interval(uint64(i))
		a[i], a[j] = a[j], a[i]
	}
}

// permutation returns RandomState.permutation(n).
func (m *mt19937) permutation(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	m.shuffle(p)
	return p
}
