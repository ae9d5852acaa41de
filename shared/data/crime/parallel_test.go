package crime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// sameTable fails unless a and b hold the same columns bit for bit:
// values, categorical codes and dictionaries (in order), kinds and names.
func sameTable(t *testing.T, what string, a, b *table.Table) {
	t.Helper()
	if !reflect.DeepEqual(a.Names(), b.Names()) || a.Len() != b.Len() {
		t.Fatalf("%s: columns %v (%d rows) vs %v (%d rows)", what, a.Names(), a.Len(), b.Names(), b.Len())
	}
	for j, ca := range a.Columns() {
		cb := b.Columns()[j]
		if ca.Kind != cb.Kind {
			t.Fatalf("%s: %s is %s vs %s", what, ca.Name, ca.Kind, cb.Kind)
		}
		var same bool
		switch ca.Kind {
		case table.Numeric:
			same = len(ca.Nums) == len(cb.Nums)
			for i := 0; same && i < len(ca.Nums); i++ {
				same = math.Float64bits(ca.Nums[i]) == math.Float64bits(cb.Nums[i])
			}
		case table.Categorical:
			same = reflect.DeepEqual(ca.Codes, cb.Codes) && reflect.DeepEqual(ca.Dict, cb.Dict)
		case table.Bool:
			same = reflect.DeepEqual(ca.Bools, cb.Bools)
		case table.Time:
			same = reflect.DeepEqual(ca.Times, cb.Times)
		case table.Text:
			same = reflect.DeepEqual(ca.Strs, cb.Strs)
		}
		if !same {
			t.Fatalf("%s: column %s differs", what, ca.Name)
		}
	}
}

func sameRejects(t *testing.T, what string, a, b []Reject) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d rejects vs %d", what, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s: reject %d: %+v vs %+v", what, i, a[i], b[i])
		}
	}
}

// both runs read sequentially, then in pieces of every size in sizes (with
// the input arriving whole and one byte at a time), and checks every
// parallel result is the sequential one.
func both[T any](t *testing.T, in string, read func(io.Reader) (T, error), check func(what string, seq, par T), sizes ...int) {
	t.Helper()
	sequential = true
	seq, seqErr := read(strings.NewReader(in))
	sequential = false
	defer func(n int) { pieceSize = n }(pieceSize)
	for _, n := range sizes {
		pieceSize = n
		for _, slow := range []bool{false, true} {
			var r io.Reader = strings.NewReader(in)
			if slow {
				r = iotest.OneByteReader(r)
			}
			par, err := read(r)
			what := fmt.Sprintf("pieces of %d bytes, one-byte reads %v", n, slow)
			if (err == nil) != (seqErr == nil) || (err != nil && err.Error() != seqErr.Error()) {
				t.Fatalf("%s: error %v, sequential %v", what, err, seqErr)
			}
			if err == nil {
				check(what, seq, par)
			}
		}
	}
}

// randomCSV makes a project CSV whose fields exercise the scanner: quoted
// fields with commas, newlines and doubled quotes, CRLF and LF, empty
// lines, bad values (rejects) and, with malformed, broken quoting.
func randomCSV(rng *rand.Rand, rows int, malformed bool) string {
	var sb strings.Builder
	sb.WriteString("id,date,arrest,primary_type,case_number,free,num\n")
	words := []string{"THEFT", "BATTERY", "a,b", "say \"hi\"", "two\nlines", "x\r\ny", "", "NARCOTICS", "Ω"}
	for range rows {
		switch rng.IntN(40) {
		case 0:
			sb.WriteString("\n") // empty line
			continue
		case 1:
			sb.WriteString("1,2\n") // wrong field count
			continue
		}
		field := func(s string) string {
			if strings.ContainsAny(s, ",\"\r\n") || rng.IntN(5) == 0 {
				return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
			}
			return s
		}
		id := fmt.Sprint(rng.IntN(1e6))
		if rng.IntN(50) == 0 {
			id = "x" + id // bad number: a reject
		}
		date := fmt.Sprintf("2017-%02d-%02dT%02d:00:00", 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24))
		arrest := []string{"true", "false", "", "maybe"}[rng.IntN(4)]
		free := words[rng.IntN(len(words))]
		if rng.IntN(3) == 0 {
			free = fmt.Sprint(rng.Float64())
		}
		num := fmt.Sprint(rng.NormFloat64() * 1e3)
		cols := []string{id, date, arrest, field(words[rng.IntN(len(words))]), field(fmt.Sprintf("JA%06d", rng.IntN(1e6))), field(free), num}
		line := strings.Join(cols, ",")
		if malformed {
			switch rng.IntN(30) {
			case 0:
				line += `,"unterminated` // runs on into the next lines
			case 1:
				line = `"ab"c` + line // text after a closing quote
			case 2:
				line += `"`
			}
		}
		sb.WriteString(line)
		if rng.IntN(4) == 0 {
			sb.WriteString("\r\n")
		} else {
			sb.WriteString("\n")
		}
	}
	if rng.IntN(2) == 0 { // no line end after the last record
		return strings.TrimRight(sb.String(), "\r\n")
	}
	return sb.String()
}

func readCSVResult(r io.Reader) (*ReadResult, error) { return ReadCSV(context.Background(), r) }

func sameResult(t *testing.T) func(string, *ReadResult, *ReadResult) {
	return func(what string, a, b *ReadResult) {
		t.Helper()
		sameTable(t, what, a.Table, b.Table)
		sameRejects(t, what, a.Rejects, b.Rejects)
	}
}

// Reading in pieces gives the sequential parser's table, codes and rejects,
// on well-formed and malformed quoting, cut at every kind of place.
func TestParallelReadIsSequential(t *testing.T) {
	for seed := range uint64(24) {
		rng := rand.New(rand.NewPCG(seed, 7))
		in := randomCSV(rng, 1+rng.IntN(400), seed%2 == 1)
		both(t, in, readCSVResult, sameResult(t), 1, 7, 64, 333, 4096, 1<<20)
	}
}

// A column inferred numeric in early pieces and not in a later one is
// categorical, as when read in one go; an inferred numeric column stays so.
func TestParallelInferredKinds(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("a,b\n")
	for i := range 500 {
		a := fmt.Sprint(i)
		if i == 444 {
			a = "late text"
		}
		fmt.Fprintf(&sb, "%s,%d.5\n", a, i)
	}
	both(t, sb.String(), readCSVResult, func(what string, seq, par *ReadResult) {
		sameResult(t)(what, seq, par)
		if par.Table.Col("a").Kind != table.Categorical || par.Table.Col("b").Kind != table.Numeric {
			t.Fatalf("%s: kinds %s %s", what, par.Table.Col("a").Kind, par.Table.Col("b").Kind)
		}
	}, 16, 100)
}

// The portal reader too, with the portal's quoted fields.
func TestParallelPortalIsSequential(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(portalHeader + "\r\n")
	rows := []string{row1, row2, `10805379,JA104279,01/01/2017 02:00:00 AM,"046XX S ""V"" AVE",0281,CRIM SEXUAL ASSAULT,"NON,AGG","RESI` + "\n" + `DENCE",false,true,0221,002,3,38,02,1180398,1874151,02/10/2018 03:50:01 PM,41.80993288,-87.613843427`,
		"bad,row"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		sb.WriteString(rows[rng.IntN(len(rows))] + "\r\n")
	}
	read := func(r io.Reader) (*ReadResult, error) { return ReadPortalCSV(context.Background(), r) }
	both(t, sb.String(), read, sameResult(t), 1, 50, 999)
}

// Several sources read as one: codes and reject lines as read in one go.
func TestParallelReadCSVsIsSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	parts := []string{randomCSV(rng, 300, false), randomCSV(rng, 1, false), randomCSV(rng, 200, true)}
	type result struct {
		t       *table.Table
		rejects [][]Reject
	}
	read := func(io.Reader) (result, error) {
		tb, rej, err := ReadCSVsAs(context.Background(), len(parts), func(i int) (io.Reader, func(), error) {
			return strings.NewReader(parts[i]), func() {}, nil
		}, nil)
		return result{tb, rej}, err
	}
	both(t, "", read, func(what string, a, b result) {
		sameTable(t, what, a.t, b.t)
		for i := range a.rejects {
			sameRejects(t, what, a.rejects[i], b.rejects[i])
		}
	}, 1, 100, 5000)
}

// The real year: identical whether read in pieces or not.
func TestParallelRealYear(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the real year")
	}
	data := realCSV(t)
	sequential = true
	seq, err := ReadPortalCSV(context.Background(), bytes.NewReader(data))
	sequential = false
	if err != nil {
		t.Fatal(err)
	}
	par, err := ReadPortalCSV(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sameTable(t, "real year", seq.Table, par.Table)
	sameRejects(t, "real year", seq.Rejects, par.Rejects)
	if runtime.GOMAXPROCS(0) < 2 {
		t.Log("one core: the pieces were parsed one after another")
	}
}

// A read error ends the read with the sequential reader's error.
func TestParallelReadError(t *testing.T) {
	in := randomCSV(rand.New(rand.NewPCG(5, 6)), 2000, false)
	for _, seq := range []bool{true, false} {
		sequential = seq
		r := io.MultiReader(strings.NewReader(in), iotest.ErrReader(io.ErrUnexpectedEOF))
		_, err := ReadCSV(context.Background(), r)
		if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
			t.Fatalf("sequential %v: %v", seq, err)
		}
	}
	sequential = false
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadCSV(ctx, strings.NewReader(in)); err == nil {
		t.Fatal("read with a done context")
	}
}
