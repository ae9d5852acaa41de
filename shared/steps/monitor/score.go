package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/model"
	"github.com/arrestcast/arrestcast/shared/model/profile"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
	"github.com/arrestcast/arrestcast/shared/predict"
)

// scored is a month through the champion's artifact.
type scored struct {
	sample    *profile.Sample
	y         []uint8   // labels of the scored rows that have one
	p         []float64 // their probabilities
	scored    int64
	refused   int64
	refusedBy map[string]int64 // by the field predict names
}

// score scores every record of the month t exactly as predict would serve
// it: the record in the portal's JSON form through predict's request
// parser (its checks and normalisation), then the artifact's enrichment
// (its stations), recipe and model. A record predict refuses is counted by
// the field it names and left out of the model's side of the sample; the
// raw fields of every record are in it.
func score(ctx context.Context, t *table.Table, pred *model.Predictor) (*scored, error) {
	features := pred.A.Features()
	all := make([]int, t.Len())
	for i := range all {
		all[i] = i
	}
	sc := &scored{sample: profile.NewSample(t, all, features), refusedBy: map[string]int64{}}
	labels := sc.sample.Labels()
	soda := newSODA(t)
	x := make([]float64, len(features))
	var rec recipe.Record
	for i := range all {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		recs, _, err := predict.ParseRequest(soda.record(i))
		if err != nil {
			var ie *predict.InputError
			field := "body"
			if errors.As(err, &ie) {
				field = ie.Field
			}
			sc.refused++
			sc.refusedBy[field]++
			continue
		}
		p, err := pred.Score(&recs[0], &rec, x)
		if err != nil || math.IsNaN(p) {
			sc.refused++
			sc.refusedBy["x_coordinate"]++ // predict: "cannot place this record"
			continue
		}
		sc.sample.Add(&rec, x, p)
		sc.scored++
		if y := labels[i]; y >= 0 {
			sc.y = append(sc.y, uint8(y))
			sc.p = append(sc.p, p)
		}
	}
	return sc, nil
}

// soda renders rows of a crime table as the portal API's JSON records, the
// fields predict reads: strings for codes and text, numbers for
// coordinates, a boolean for domestic, the date as 2017-12-01T13:05:00;
// missing values left out.
type soda struct {
	t   *table.Table
	buf bytes.Buffer
}

func newSODA(t *table.Table) *soda { return &soda{t: t} }

var sodaText = []string{crime.ColIUCR, crime.ColPrimaryType, crime.ColDescription, crime.ColLocationDescription, crime.ColBeat,
	crime.ColDistrict, crime.ColWard, crime.ColCommunityArea, crime.ColFBICode}

var sodaNumbers = []string{crime.ColX, crime.ColY, crime.ColLatitude, crime.ColLongitude}

// record is row i as one JSON object (valid until the next call).
func (s *soda) record(i int) []byte {
	b := &s.buf
	b.Reset()
	b.WriteByte('{')
	field := func(name string) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(name)) // our own ASCII names
		b.WriteByte(':')
	}
	if c := s.t.Col(crime.ColDate); c != nil && c.Kind == table.Time && c.Times[i] != table.NoTime {
		field(crime.ColDate)
		b.WriteByte('"')
		b.WriteString(table.Wall(c.Times[i]).Format("2006-01-02T15:04:05"))
		b.WriteByte('"')
	}
	for _, name := range sodaText {
		c := s.t.Col(name)
		if c == nil || (c.Kind != table.Categorical && c.Kind != table.Text) || c.IsMissing(i) {
			continue
		}
		field(name)
		v, _ := json.Marshal(c.Str(i))
		b.Write(v)
	}
	if c := s.t.Col(crime.ColDomestic); c != nil && c.Kind == table.Bool && c.Bools[i] >= 0 {
		field(crime.ColDomestic)
		b.WriteString(strconv.FormatBool(c.Bools[i] == 1))
	}
	for _, name := range sodaNumbers {
		c := s.t.Col(name)
		if c == nil || c.Kind != table.Numeric || math.IsNaN(c.Nums[i]) {
			continue
		}
		field(name)
		b.WriteString(strconv.FormatFloat(c.Nums[i], 'g', -1, 64))
	}
	b.WriteByte('}')
	return b.Bytes()
}
