package table

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// CatBuilder builds a categorical column one value at a time. The zero value
// is ready to use. The empty string is stored as missing.
//
// It has its own open-addressing hash index instead of a map[string]int32:
// loading a year of crimes does millions of lookups, and this index does
// them faster (the hash is in the slot, so the dictionary is read only on a
// likely match), in a third of the memory, and keeps new strings in shared
// chunks instead of one allocation each.
type CatBuilder struct {
	dict  []string
	slots []uint64 // hash<<32 | code+1 per slot, 0 empty; a power of two, at most half full
	codes []int32
	chunk []byte // backing bytes of new dictionary strings (append-only)
}

// seed makes slot positions unpredictable from outside the process, so
// crafted input cannot make every string collide.
var seed = rand.Uint64() | 1

// hash is a fast seeded hash for short strings (codes, names): 8-byte words
// mixed with 128-bit multiplies, as wyhash does.
func hash(s []byte) uint32 {
	h := seed ^ uint64(len(s))*0x9E3779B97F4A7C15
	var v uint64
	switch {
	case len(s) >= 8:
		for p := s; len(p) > 8; p = p[8:] {
			hi, lo := bits.Mul64(h^binary.LittleEndian.Uint64(p), 0xbf58476d1ce4e5b9)
			h = hi ^ lo
		}
		v = binary.LittleEndian.Uint64(s[len(s)-8:]) // last word, overlapping
	case len(s) >= 4:
		v = uint64(binary.LittleEndian.Uint32(s))<<32 | uint64(binary.LittleEndian.Uint32(s[len(s)-4:]))
	case len(s) > 0:
		v = uint64(s[0])<<16 | uint64(s[len(s)/2])<<8 | uint64(s[len(s)-1])
	}
	hi, lo := bits.Mul64(h^v, 0x94d049bb133111eb)
	return uint32(hi ^ lo)
}

// NewCatBuilder returns a builder whose dictionary starts with vocab (in that
// order), so fixed vocabularies get fixed codes. Empty or repeated strings are
// skipped.
func NewCatBuilder(vocab ...string) *CatBuilder {
	b := &CatBuilder{}
	for _, s := range vocab {
		b.Code(s)
	}
	return b
}

// Grow makes room for n more values.
func (b *CatBuilder) Grow(n int) {
	if cap(b.codes)-len(b.codes) < n {
		c := make([]int32, len(b.codes), len(b.codes)+n)
		copy(c, b.codes)
		b.codes = c
	}
}

// Code returns the code of s, adding s to the dictionary if new; Missing for
// "". It does not append a row.
func (b *CatBuilder) Code(s string) int32 {
	if s == "" {
		return Missing
	}
	return b.CodeBytes(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// CodeBytes is Code for a byte slice; it never keeps s.
func (b *CatBuilder) CodeBytes(s []byte) int32 {
	if len(s) == 0 {
		return Missing
	}
	h := hash(s)
	mask := len(b.slots) - 1
	for i := int(h) & mask; len(b.slots) > 0; i = (i + 1) & mask {
		e := b.slots[i]
		if e == 0 {
			break
		}
		if uint32(e>>32) == h && b.dict[uint32(e)-1] == string(s) {
			return int32(uint32(e)) - 1
		}
	}
	return b.insert(s, h)
}

func (b *CatBuilder) insert(s []byte, h uint32) int32 {
	k := int32(len(b.dict))
	if len(b.dict) == cap(b.dict) { // double: append's 1.25x copies far more
		d := make([]string, len(b.dict), max(16, 2*cap(b.dict)))
		copy(d, b.dict)
		b.dict = d
	}
	b.dict = append(b.dict, b.keep(s))
	if 2*len(b.dict) > len(b.slots) {
		b.rehash()
	} else {
		b.place(uint64(h)<<32 | uint64(k+1))
	}
	return k
}

// keep copies s into the chunk and returns it as a string. Chunk bytes are
// never written twice, so the string is immutable.
func (b *CatBuilder) keep(s []byte) string {
	if cap(b.chunk)-len(b.chunk) < len(s) {
		b.chunk = make([]byte, 0, max(len(s), min(64<<10, 2*cap(b.chunk)), 256))
	}
	at := len(b.chunk)
	b.chunk = append(b.chunk, s...)
	return unsafe.String(&b.chunk[at], len(s))
}

// rehash grows the index to 4x the dictionary (load at most 1/2).
func (b *CatBuilder) rehash() {
	n := 16
	for n < 4*len(b.dict) {
		n *= 2
	}
	b.slots = make([]uint64, n)
	for k, s := range b.dict {
		h := hash(unsafe.Slice(unsafe.StringData(s), len(s)))
		b.place(uint64(h)<<32 | uint64(k+1))
	}
}

func (b *CatBuilder) place(e uint64) {
	mask := len(b.slots) - 1
	i := int(e>>32) & mask
	for b.slots[i] != 0 {
		i = (i + 1) & mask
	}
	b.slots[i] = e
}

// Add appends s ("" is missing).
func (b *CatBuilder) Add(s string) { b.codes = append(b.codes, b.Code(s)) }

// AddBytes appends s (empty is missing).
func (b *CatBuilder) AddBytes(s []byte) { b.codes = append(b.codes, b.CodeBytes(s)) }

// AddCode appends a code obtained from Code/CodeBytes of this builder.
func (b *CatBuilder) AddCode(k int32) { b.codes = append(b.codes, k) }

// AddMissing appends a missing value.
func (b *CatBuilder) AddMissing() { b.codes = append(b.codes, Missing) }

// Len returns the number of values appended.
func (b *CatBuilder) Len() int { return len(b.codes) }

// Dict returns the dictionary so far (do not modify).
func (b *CatBuilder) Dict() []string { return b.dict }

// Column returns the built column. The builder must not be used afterwards.
func (b *CatBuilder) Column(name string) *Column {
	c := NewCategorical(name, b.codes, b.dict[:len(b.dict):len(b.dict)])
	*b = CatBuilder{}
	return c
}

// AddFrom appends the values of p, another builder, recoded into this
// one's dictionary: p's strings new here are added in the order of p's
// dictionary, so appending the builders of consecutive parts of an input
// gives the dictionary and codes of building it in one go. p is left as it
// is; the strings are copied.
func (b *CatBuilder) AddFrom(p *CatBuilder) {
	to := make([]int32, len(p.dict))
	for k, s := range p.dict {
		to[k] = b.Code(s)
	}
	for _, k := range p.codes {
		if k >= 0 {
			k = to[k]
		}
		b.codes = append(b.codes, k)
	}
}

// Reset empties b for reuse, keeping its memory; its dictionary starts with
// vocab again. Strings of the old dictionary must no longer be in use.
func (b *CatBuilder) Reset(vocab ...string) {
	b.dict, b.codes, b.chunk = b.dict[:0], b.codes[:0], b.chunk[:0]
	clear(b.slots)
	for _, s := range vocab {
		b.Code(s)
	}
}
