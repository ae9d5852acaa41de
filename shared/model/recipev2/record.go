package recipev2

import (
	"fmt"
	"math"
	"strconv"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/model/recipe"
)

// Record is one enriched crime as v2 sees it: the seed's record, the
// description, and the clock time of the report.
type Record struct {
	recipe.Record
	Description string
	Hour        int // 0–23 of the report's wall-clock time
	Minute      int // 0–59
}

// SetDate sets the record's clock from a table.Time value (wall seconds).
func (r *Record) SetDate(wall int64) {
	s := wall % 86400
	if s < 0 {
		s += 86400
	}
	r.Hour, r.Minute = int(s/3600), int(s%3600/60)
}

// Reader reads Records out of an enriched table, row by row, without
// allocating: the table path of the per-record code predict runs.
type Reader struct {
	seed       *recipe.Reader
	desc, date *table.Column
}

// NewReader checks an enriched table's columns and returns a Reader over it.
func NewReader(t *table.Table) (*Reader, error) {
	seed, err := recipe.NewReader(t)
	if err != nil {
		return nil, fmt.Errorf("recipe v2: %w", err)
	}
	rd := &Reader{seed: seed}
	if rd.desc, err = t.Lookup(crime.ColDescription, table.Categorical); err != nil {
		return nil, fmt.Errorf("recipe v2: %w", err)
	}
	if rd.date, err = t.Lookup(crime.ColDate, table.Time); err != nil {
		return nil, fmt.Errorf("recipe v2: %w", err)
	}
	return rd, nil
}

// Read fills r with row i.
func (rd *Reader) Read(i int, r *Record) {
	rd.seed.Read(i, &r.Record)
	r.Description = rd.desc.Str(i)
	r.SetDate(rd.date.Times[i])
}

// Fields a target encoding can key on (alone or crossed).
const (
	FieldIUCR            = crime.ColIUCR
	FieldPrimaryType     = crime.ColPrimaryType
	FieldDescription     = crime.ColDescription
	FieldLocation        = crime.ColLocationDescription
	FieldFBICode         = crime.ColFBICode
	FieldBeat            = crime.ColBeat
	FieldDistrict        = crime.ColDistrict
	FieldWard            = crime.ColWard
	FieldCommunityArea   = crime.ColCommunityArea
	FieldStationDistrict = crime.ColStationDistrict
	FieldSeason          = crime.ColSeason
	FieldDayTime         = crime.ColDayTime
	FieldDomestic        = crime.ColDomestic
	FieldRoundHour       = "round_hour" // the report's minute is 0
	FieldHour            = "hour"
	FieldDayOfWeek       = crime.ColDayOfWeek
	FieldXY              = "xy"               // the place: x and y rounded to the foot, as the portal gives it (moved within its block)
	FieldRoundness       = "minute_roundness" // see Roundness
)

type field uint8

const (
	fIUCR field = iota
	fPrimaryType
	fDescription
	fLocation
	fFBICode
	fBeat
	fDistrict
	fWard
	fCommunityArea
	fStationDistrict
	fSeason
	fDayTime
	fDomestic
	fRoundHour
	fHour
	fDayOfWeek
	fXY
	fRoundness
)

var fieldByName = map[string]field{
	FieldIUCR: fIUCR, FieldPrimaryType: fPrimaryType, FieldDescription: fDescription, FieldLocation: fLocation,
	FieldFBICode: fFBICode, FieldBeat: fBeat, FieldDistrict: fDistrict, FieldWard: fWard,
	FieldCommunityArea: fCommunityArea, FieldStationDistrict: fStationDistrict, FieldSeason: fSeason,
	FieldDayTime: fDayTime, FieldDomestic: fDomestic, FieldRoundHour: fRoundHour, FieldHour: fHour,
	FieldDayOfWeek: fDayOfWeek, FieldXY: fXY, FieldRoundness: fRoundness,
}

// keySep separates the fields of a crossed key (never in the data).
const keySep = 0x1f

// appendField appends a field's value to a key ("" = missing).
func appendField(b []byte, r *Record, f field) []byte {
	switch f {
	case fIUCR:
		return append(b, r.IUCR...)
	case fPrimaryType:
		return append(b, r.PrimaryType...)
	case fDescription:
		return append(b, r.Description...)
	case fLocation:
		return append(b, r.Location...)
	case fFBICode:
		return append(b, r.FBICode...)
	case fBeat:
		return append(b, r.Beat...)
	case fDistrict:
		return append(b, r.District...)
	case fWard:
		return append(b, r.Ward...)
	case fCommunityArea:
		return append(b, r.CommunityArea...)
	case fStationDistrict:
		return append(b, r.StationDistrict...)
	case fSeason:
		return append(b, r.Season...)
	case fDayTime:
		return append(b, r.DayTime...)
	case fDomestic:
		if r.Domestic {
			return append(b, '1')
		}
		return append(b, '0')
	case fRoundHour:
		if r.Minute == 0 {
			return append(b, '1')
		}
		return append(b, '0')
	case fHour:
		return appendSmall(b, r.Hour)
	case fDayOfWeek:
		return appendSmall(b, r.DayOfWeek)
	case fXY:
		if math.IsNaN(r.X) || math.IsNaN(r.Y) {
			return b
		}
		b = strconv.AppendInt(b, int64(math.Round(r.X)), 10)
		b = append(b, ':')
		return strconv.AppendInt(b, int64(math.Round(r.Y)), 10)
	case fRoundness:
		return appendSmall(b, Roundness(r.Minute))
	}
	return b
}

// Roundness is the largest of 60, 30, 15, 10 and 5 that divides a minute
// past the hour, 1 when none does: reports written after the fact carry
// round times (2017: arrests in 7 % of the reports at minute 0, 11 % at 30,
// 19 % at 15 and 45, about 25 % at 10, 20, 40, 50, 29 % at the other fives,
// 40 % elsewhere).
func Roundness(minute int) int {
	for _, d := range [...]int{60, 30, 15, 10, 5} {
		if minute%d == 0 {
			return d
		}
	}
	return 1
}

// appendSmall appends a small non-negative number in decimal ("" if negative).
func appendSmall(b []byte, v int) []byte {
	if v < 0 {
		return b
	}
	if v >= 10 {
		b = appendSmall(b, v/10)
	}
	return append(b, byte('0'+v%10))
}

// appendKey appends the key of fields: their values joined by keySep.
func appendKey(b []byte, r *Record, fs []field) []byte {
	for k, f := range fs {
		if k > 0 {
			b = append(b, keySep)
		}
		b = appendField(b, r, f)
	}
	return b
}

// Numeric features v2 takes as they are.
const (
	NumX         = crime.ColX
	NumY         = crime.ColY
	NumDistance  = crime.ColDistance
	NumDayOfWeek = crime.ColDayOfWeek // 0 = Monday
	NumHour      = "hour"
	NumMinute    = "minute"
	NumRoundHour = "round_hour" // 1 when the report's minute is 0
	NumRoundness = "minute_roundness"
	NumDomestic  = recipe.ColIsDomestic
)

type numeric uint8

const (
	nX numeric = iota
	nY
	nDistance
	nDayOfWeek
	nHour
	nMinute
	nRoundHour
	nDomestic
	nRoundness
)

var numericByName = map[string]numeric{
	NumX: nX, NumY: nY, NumDistance: nDistance, NumDayOfWeek: nDayOfWeek, NumHour: nHour,
	NumMinute: nMinute, NumRoundHour: nRoundHour, NumDomestic: nDomestic, NumRoundness: nRoundness,
}

func numericValue(r *Record, n numeric) float64 {
	switch n {
	case nX:
		return r.X
	case nY:
		return r.Y
	case nDistance:
		return r.Distance
	case nDayOfWeek:
		return float64(r.DayOfWeek)
	case nHour:
		return float64(r.Hour)
	case nMinute:
		return float64(r.Minute)
	case nRoundHour:
		if r.Minute == 0 {
			return 1
		}
		return 0
	case nDomestic:
		if r.Domestic {
			return 1
		}
		return 0
	case nRoundness:
		return float64(Roundness(r.Minute))
	}
	panic("recipe v2: unknown numeric feature")
}
