package gbt

import (
	"math"
	"testing"
)

func TestExpFastAccuracy(t *testing.T) {
	worst := 0.0
	for x := -700.0; x <= 700; x += 0.0137 {
		got, want := expFast(x), math.Exp(x)
		if want == 0 || math.IsInf(want, 0) {
			continue
		}
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 2e-7 {
		t.Fatalf("expFast worst relative error %.3g, want < 2e-7", worst)
	}
	t.Logf("expFast worst relative error %.3g", worst)
	if v := sigmoidFast(-1e300); v != 0 && v > 1e-300 {
		t.Fatalf("sigmoidFast(-1e300) = %v", v)
	}
	if v := sigmoidFast(1e300); v != 1 {
		t.Fatalf("sigmoidFast(1e300) = %v", v)
	}
}
