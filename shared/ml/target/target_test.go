package target

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"
)

// The golden file is written by bench/reference/golden_target_calibrate.py:
// scikit-learn's KFold folds and the encodings computed in numpy.
type golden struct {
	Cases []struct {
		Name      string             `json:"name"`
		K         int                `json:"k"`
		FoldSeed  uint32             `json:"fold_seed"`
		Smoothing float64            `json:"smoothing"`
		Dict      []string           `json:"dict"`
		Codes     []int32            `json:"codes"`
		Y         []uint8            `json:"y"`
		Folds     []int              `json:"folds"`
		OOF       []float64          `json:"oof"`
		Prior     float64            `json:"prior"`
		Full      map[string]float64 `json:"full"`
		Unseen    int                `json:"unseen_in_some_fold"`
	} `json:"cases"`
	Folds []struct {
		N      int    `json:"n"`
		K      int    `json:"k"`
		Seed   uint32 `json:"seed"`
		Head   []int  `json:"head"`
		SHA256 string `json:"sha256"`
	} `json:"folds"`
}

func readGolden(t *testing.T) *golden {
	t.Helper()
	b, err := os.ReadFile(repo.Need(t, "internal/testdata/target/golden_target.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// Folds are scikit-learn's KFold(shuffle=True) folds, row for row.
func TestFoldsMatchScikitLearn(t *testing.T) {
	g := readGolden(t)
	for _, c := range g.Cases {
		got, err := Folds(len(c.Codes), c.K, c.FoldSeed)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != c.Folds[i] {
				t.Fatalf("%s: row %d in fold %d, sklearn %d", c.Name, i, got[i], c.Folds[i])
			}
		}
	}
	for _, c := range g.Folds {
		got, err := Folds(c.N, c.K, c.Seed)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		var b [8]byte
		for _, f := range got {
			binary.LittleEndian.PutUint64(b[:], uint64(f))
			h.Write(b[:])
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != c.SHA256 {
			t.Errorf("KFold(%d) of %d rows, seed %d: sha256 %s, sklearn %s (head %v, sklearn %v)", c.K, c.N, c.Seed, sum, c.SHA256, got[:10], c.Head[:10])
		}
	}
	if _, err := Folds(5, 6, 0); err == nil {
		t.Error("more folds than rows accepted")
	}
}

// Out-of-fold and full-fit encodings equal the numpy reference exactly.
func TestEncodingsMatchReference(t *testing.T) {
	g := readGolden(t)
	for _, c := range g.Cases {
		oof, full, err := OutOfFold(c.Codes, c.Dict, c.Y, c.Folds, c.K, c.Smoothing, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range oof {
			if v != c.OOF[i] {
				t.Fatalf("%s: row %d out of fold %v, numpy %v", c.Name, i, v, c.OOF[i])
			}
		}
		if full.Prior() != c.Prior {
			t.Errorf("%s: prior %v, numpy %v", c.Name, full.Prior(), c.Prior)
		}
		if len(full.Counts) != len(c.Full) {
			t.Errorf("%s: %d categories, numpy %d", c.Name, len(full.Counts), len(c.Full))
		}
		for cat, want := range c.Full {
			if v := full.Value(cat); v != want {
				t.Errorf("%s: category %q encodes to %v, numpy %v", c.Name, cat, v, want)
			}
		}
		if v := full.Value("never seen"); v != c.Prior {
			t.Errorf("%s: unseen category %v, want the prior %v", c.Name, v, c.Prior)
		}
		// Fit is OutOfFold's full encoder.
		f, err := Fit(c.Codes, c.Dict, c.Y, c.Smoothing)
		if err != nil {
			t.Fatal(err)
		}
		for cat, want := range c.Full {
			if f.Value(cat) != want || f.ValueBytes([]byte(cat)) != want {
				t.Errorf("%s: Fit encodes %q to %v", c.Name, cat, f.Value(cat))
			}
		}
		if c.Name == "rare_categories" && c.Unseen == 0 {
			t.Error("the rare-category case never leaves a category out of a fold")
		}
	}
}

// A training row's out-of-fold value does not depend on its own label:
// flipping it changes the values of other folds' rows only.
func TestOutOfFoldIgnoresOwnLabel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, k := 400, 4
	codes := make([]int32, n)
	y := make([]uint8, n)
	for i := range codes {
		codes[i] = int32(rng.IntN(9)) - 1
		y[i] = uint8(rng.IntN(2))
	}
	dict := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	folds, err := Folds(n, k, 5)
	if err != nil {
		t.Fatal(err)
	}
	base, _, err := OutOfFold(codes, dict, y, folds, k, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 17, 399} {
		y[i] ^= 1
		got, _, err := OutOfFold(codes, dict, y, folds, k, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		y[i] ^= 1
		for j := range got {
			if folds[j] == folds[i] && got[j] != base[j] {
				t.Fatalf("flipping row %d's label moved row %d (same fold) from %v to %v", i, j, base[j], got[j])
			}
		}
		if got[i] != base[i] {
			t.Fatalf("row %d's own value moved with its label", i)
		}
	}
}

func TestEncoderJSONAndErrors(t *testing.T) {
	codes := []int32{0, 0, 1, -1, 2, 2, 2}
	y := []uint8{1, 0, 1, 0, 0, 0, 1}
	e, err := Fit(codes, []string{"x", "y", "z"}, y, 2)
	if err != nil {
		t.Fatal(err)
	}
	// (pos + m·prior) / (n + m) with prior 3/7.
	prior := 3.0 / 7
	for cat, want := range map[string]float64{"x": (1 + 2*prior) / 4, "y": (1 + 2*prior) / 3, "": (0 + 2*prior) / 3, "z": (1 + 2*prior) / 5, "w": prior} {
		if got := e.Value(cat); math.Abs(got-want) > 1e-15 {
			t.Errorf("%q: %v, want %v", cat, got, want)
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"counts":{"":[1,0],"x":[2,1],"y":[1,1],"z":[3,1]}`; !strings.Contains(string(b), want) {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var back Encoder
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, cat := range []string{"x", "y", "z", "", "w"} {
		if back.Value(cat) != e.Value(cat) {
			t.Errorf("%q after JSON: %v, was %v", cat, back.Value(cat), e.Value(cat))
		}
	}
	key := []byte("z")
	if n := testing.AllocsPerRun(100, func() { _ = back.ValueBytes(key) }); n != 0 {
		t.Errorf("ValueBytes allocates %v times", n)
	}
	for _, bad := range []string{
		`{"smoothing":1,"rows":3,"positives":1,"counts":{"a":[2,1]}}`, // counts do not add up
		`{"smoothing":-1,"rows":1,"positives":1,"counts":{"a":[1,1]}}`,
		`{"smoothing":1,"rows":1,"positives":2,"counts":{"a":[1,2]}}`,
		`{"smoothing":1,"rows":0,"positives":0,"counts":{}}`,
		`{"smoothing":1,"rows":1,"positives":0,"counts":{"a":[1]}}`,
		`{"smoothing":1,"rows":1,"positives":0,"counts":{"a":[1,0,0]}}`,
		`{"smoothing":1,"rows":1,"positives":1,"counts":{"a":{"n":1,"pos":1}}}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("loaded %s", bad)
		}
	}
	if _, err := Fit([]int32{0, 3}, []string{"a"}, []uint8{0, 1}, 1); err == nil {
		t.Error("code outside the dictionary accepted")
	}
	if _, err := Fit([]int32{0, 1}, []string{"a", "a"}, []uint8{0, 1}, 1); err == nil {
		t.Error("a dictionary repeating a category accepted")
	}
	if _, err := Fit([]int32{0}, []string{"a"}, []uint8{2}, 1); err == nil {
		t.Error("label 2 accepted")
	}
	if _, _, err := OutOfFold(codes, []string{"x", "y", "z"}, y, []int{0, 1, 0, 1, 0, 1, 2}, 2, 1, nil); err == nil {
		t.Error("fold outside [0, k) accepted")
	}
}
