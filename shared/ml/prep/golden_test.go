package prep

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/arrestcast/arrestcast/internal/repo"

	"github.com/arrestcast/arrestcast/shared/ml/nprand"
)

// The golden file is written by bench/reference/golden_prep_metrics.py from
// scikit-learn 1.2, pandas 1.5 and numpy 1.24.
var goldenPath = repo.Path("internal/testdata/prep/golden_prep.json")

// floats decodes a JSON array of numbers where null stands for NaN.
type floats []float64

func (f *floats) UnmarshalJSON(b []byte) error {
	var raw []*float64
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*f = make([]float64, len(raw))
	for i, p := range raw {
		if p == nil {
			(*f)[i] = math.NaN()
		} else {
			(*f)[i] = *p
		}
	}
	return nil
}

type codedCol struct {
	Dict  []string `json:"dict"`
	Codes []int32  `json:"codes"`
}

func (c codedCol) strings() []string {
	out := make([]string, len(c.Codes))
	for i, k := range c.Codes {
		out[i] = category(k, c.Dict)
	}
	return out
}

type golden struct {
	Split []struct {
		Name        string  `json:"name"`
		N           int     `json:"n"`
		TestSize    float64 `json:"test_size"`
		Seed        uint64  `json:"seed"`
		Classes     []uint8 `json:"classes"`
		TrainCounts []int   `json:"train_counts"`
		TestCounts  []int   `json:"test_counts"`
		TrainSHA    string  `json:"train_sha256"`
		TestSHA     string  `json:"test_sha256"`
		TrainHead   []int   `json:"train_head"`
		TestHead    []int   `json:"test_head"`
		Y           []uint8 `json:"y"`
		YPacked     string  `json:"y_packed_bits_le_b64"`
		Train       []int   `json:"train"`
		Test        []int   `json:"test"`
	} `json:"split"`
	SplitErrors []struct {
		Name     string  `json:"name"`
		Y        []uint8 `json:"y"`
		TestSize float64 `json:"test_size"`
		Seed     uint64  `json:"seed"`
		Error    string  `json:"sklearn_error"`
	} `json:"split_errors"`
	ApproximateMode []struct {
		ClassCounts []int  `json:"class_counts"`
		Draws       int    `json:"draws"`
		Seed        uint32 `json:"seed"`
		Result      []int  `json:"result"`
	} `json:"approximate_mode"`
	Outlier []struct {
		Name          string           `json:"name"`
		X             floats           `json:"x"`
		Gen           *struct{ N int } `json:"gen"`
		NRows         int              `json:"n_rows"`
		K             float64          `json:"k"`
		N             int              `json:"n"`
		Mean          float64          `json:"mean"`
		Std           float64          `json:"std"`
		StdBottleneck float64          `json:"std_bottleneck"`
		Lower         float64          `json:"lower"`
		Upper         float64          `json:"upper"`
		Kept          int              `json:"kept"`
		DroppedRows   []int            `json:"dropped_rows"`
	} `json:"outlier"`
	Log1p struct {
		X floats `json:"x"`
		Y floats `json:"y"`
	} `json:"log1p"`
	Cyclical []struct {
		Period float64 `json:"period"`
		V      floats  `json:"v"`
		Sin    floats  `json:"sin"`
		Cos    floats  `json:"cos"`
	} `json:"cyclical"`
	DayOfWeek struct {
		Monday0 []int  `json:"monday0"`
		Sunday1 []int  `json:"sunday1"`
		Sin     floats `json:"sin"`
	} `json:"day_of_week"`
	OneHot []struct {
		Feature    string   `json:"feature"`
		Train      codedCol `json:"train"`
		Test       codedCol `json:"test"`
		Categories []string `json:"categories"`
		Names      []string `json:"names"`
		Hot        []int    `json:"hot"`
	} `json:"onehot"`
	Freq []struct {
		Feature string             `json:"feature"`
		Train   codedCol           `json:"train"`
		Test    codedCol           `json:"test"`
		Counts  map[string]int     `json:"counts"`
		Freq    map[string]float64 `json:"freq"`
		Out     floats             `json:"out"`
	} `json:"freq"`
	Scaler []struct {
		Name     string           `json:"name"`
		Features []string         `json:"features"`
		N        []int            `json:"n"`
		Mean     floats           `json:"mean"`
		Var      floats           `json:"var"`
		Scale    floats           `json:"scale"`
		Probe    []floats         `json:"probe"`
		Out      []floats         `json:"out"`
		Train    []floats         `json:"train"`
		Gen      *struct{ N int } `json:"gen"`
	} `json:"scaler"`
}

var (
	goldenOnce sync.Once
	goldenData golden
	goldenErr  error
)

func loadGolden(t testing.TB) *golden {
	t.Helper()
	goldenOnce.Do(func() {
		b, err := os.ReadFile(goldenPath)
		if err != nil {
			goldenErr = err
			return
		}
		goldenErr = json.Unmarshal(b, &goldenData)
	})
	if goldenErr != nil {
		t.Fatalf("read %s: %v", goldenPath, goldenErr)
	}
	return &goldenData
}

// uniform is the golden generator shared with the Python script:
// u[i] = (splitmix64(seed + (i+1)·γ) >> 11)·2⁻⁵³.
func uniform(seed uint64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		z := seed + uint64(i+1)*0x9E3779B97F4A7C15
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		out[i] = float64(z>>11) * 0x1p-53
	}
	return out
}

func shaIndices(idx []int) string {
	b := make([]byte, 8*len(idx))
	for i, v := range idx {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func unpackBits(t *testing.T, b64 string, n int) []uint8 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]uint8, n)
	for i := range y {
		y[i] = raw[i/8] >> (i % 8) & 1
	}
	return y
}

func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// close12 is the tolerance for transcendental functions (libm vs Go).
func close12(a, b float64) bool {
	if sameBits(a, b) {
		return true
	}
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b))
}

func TestStratifiedSplitGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Split {
		t.Run(c.Name, func(t *testing.T) {
			y := c.Y
			if c.YPacked != "" {
				y = unpackBits(t, c.YPacked, c.N)
			}
			if len(y) != c.N {
				t.Fatalf("y has %d rows, golden n = %d", len(y), c.N)
			}
			train, test, err := StratifiedSplit(y, c.TestSize, c.Seed)
			if err != nil {
				t.Fatal(err)
			}
			for k, cl := range c.Classes {
				tr, te := 0, 0
				for _, i := range train {
					if y[i] == cl {
						tr++
					}
				}
				for _, i := range test {
					if y[i] == cl {
						te++
					}
				}
				if tr != c.TrainCounts[k] || te != c.TestCounts[k] {
					t.Errorf("class %d: train/test %d/%d, sklearn %d/%d", cl, tr, te, c.TrainCounts[k], c.TestCounts[k])
				}
			}
			if got := shaIndices(train); got != c.TrainSHA {
				t.Errorf("train indices differ from sklearn's (head %v, sklearn %v)", train[:min(20, len(train))], c.TrainHead)
			}
			if got := shaIndices(test); got != c.TestSHA {
				t.Errorf("test indices differ from sklearn's (head %v, sklearn %v)", test[:min(20, len(test))], c.TestHead)
			}
			if c.Train != nil && shaIndices(c.Train) != c.TrainSHA {
				t.Fatal("golden file inconsistent")
			}
		})
	}
}

func TestStratifiedSplitErrors(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.SplitErrors {
		if _, _, err := StratifiedSplit(c.Y, c.TestSize, c.Seed); err == nil {
			t.Errorf("%s: no error; sklearn says %q", c.Name, c.Error)
		} else {
			t.Logf("%s: %v (sklearn: %s)", c.Name, err, c.Error)
		}
	}
	y := []uint8{0, 1, 0, 1, 0, 1, 0, 1}
	for _, ts := range []float64{0, 1, -0.2, 1.5, math.NaN()} {
		if _, _, err := StratifiedSplit(y, ts, 42); err == nil {
			t.Errorf("test size %v accepted", ts)
		}
	}
	if _, _, err := StratifiedSplit(y, 0.5, 1<<32); err == nil {
		t.Error("seed 2^32 accepted (numpy's RandomState refuses it)")
	}
	if _, _, err := StratifiedSplit(nil, 0.2, 42); err == nil {
		t.Error("empty y accepted")
	}
}

func TestApproximateModeGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.ApproximateMode {
		got := approximateMode(c.ClassCounts, c.Draws, nprand.New(c.Seed))
		for i := range got {
			if got[i] != c.Result[i] {
				t.Errorf("counts %v draws %d seed %d: %v, sklearn %v", c.ClassCounts, c.Draws, c.Seed, got, c.Result)
				break
			}
		}
	}
}

func TestStratifiedSplitDeterministic(t *testing.T) {
	y := make([]uint8, 5000)
	for i, u := range uniform(5, len(y)) {
		if u < 0.2 {
			y[i] = 1
		}
	}
	a, b, err := StratifiedSplit(y, 0.2, 42)
	if err != nil {
		t.Fatal(err)
	}
	a2, b2, _ := StratifiedSplit(y, 0.2, 42)
	if shaIndices(a) != shaIndices(a2) || shaIndices(b) != shaIndices(b2) {
		t.Fatal("same seed, different split")
	}
	a3, _, _ := StratifiedSplit(y, 0.2, 43)
	if shaIndices(a) == shaIndices(a3) {
		t.Fatal("different seeds, same split")
	}
	seen := make([]bool, len(y))
	for _, i := range append(append([]int{}, a...), b...) {
		if seen[i] {
			t.Fatalf("row %d in both splits or twice", i)
		}
		seen[i] = true
	}
	if len(a)+len(b) != len(y) {
		t.Fatalf("%d + %d rows of %d", len(a), len(b), len(y))
	}
}
