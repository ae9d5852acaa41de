package metrics

import (
	"cmp"
	"slices"
	"testing"
)

// The test split of the 2017 year has 52,245 rows after the outlier filter
// (seed-pipeline.md); scores are generated (continuous, and quantised to
// 1/1000 for heavy ties) since no model is trained here.
const benchRows = 52245

func BenchmarkReport(b *testing.B) {
	for _, q := range []struct {
		name  string
		quant float64
	}{{"distinct", 0}, {"ties1000", 1000}} {
		y, s := genScores(43, benchRows, q.quant)
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewReport(y, s, 0.5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkROCAUC(b *testing.B) {
	y, s := genScores(43, benchRows, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ROCAUC(y, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSort compares the radix sort with a comparison sort of the same
// (score, label) pairs, the choice behind sortDesc.
func BenchmarkSort(b *testing.B) {
	y, s := genScores(43, benchRows, 0)
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			sortDesc(y, s)
		}
	})
	b.Run("slices.SortFunc", func(b *testing.B) {
		type pair struct {
			s float64
			y uint8
		}
		p := make([]pair, len(s))
		for b.Loop() {
			for i := range p {
				p[i] = pair{s[i], y[i]}
			}
			slices.SortFunc(p, func(a, c pair) int { return cmp.Compare(c.s, a.s) })
		}
	})
}
