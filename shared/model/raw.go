package model

import (
	"math"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

// RawReader reads the raw crime of each row of an enriched (or raw) crime
// table: the fields a prediction request carries, nothing enrichment added.
// Description and latitude/longitude are optional columns (the seed's split
// drops description; enrich drops latitude/longitude, its X/Y holding the
// projection). It does not allocate.
type RawReader struct {
	date                                 *table.Column
	iucr, ptype, loc, fbi, desc          *table.Column
	beat, district, ward, area, domestic *table.Column
	x, y, lat, lon                       *table.Column
}

// NewRawReader checks t's columns.
func NewRawReader(t *table.Table) (*RawReader, error) {
	rd := &RawReader{}
	var err error
	if rd.date, err = t.Lookup(crime.ColDate, table.Time); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		dst  **table.Column
	}{
		{crime.ColIUCR, &rd.iucr}, {crime.ColPrimaryType, &rd.ptype}, {crime.ColLocationDescription, &rd.loc},
		{crime.ColFBICode, &rd.fbi}, {crime.ColBeat, &rd.beat}, {crime.ColDistrict, &rd.district},
		{crime.ColWard, &rd.ward}, {crime.ColCommunityArea, &rd.area},
	} {
		if *c.dst, err = t.Lookup(c.name, table.Categorical); err != nil {
			return nil, err
		}
	}
	if c := t.Col(crime.ColDescription); c != nil {
		if rd.desc, err = t.Lookup(crime.ColDescription, table.Categorical); err != nil {
			return nil, err
		}
	}
	if rd.domestic, err = t.Lookup(crime.ColDomestic, table.Bool); err != nil {
		return nil, err
	}
	if rd.x, err = t.Lookup(crime.ColX, table.Numeric); err != nil {
		return nil, err
	}
	if rd.y, err = t.Lookup(crime.ColY, table.Numeric); err != nil {
		return nil, err
	}
	if c := t.Col(crime.ColLatitude); c != nil && c.Kind == table.Numeric {
		if d := t.Col(crime.ColLongitude); d != nil && d.Kind == table.Numeric {
			rd.lat, rd.lon = c, d
		}
	}
	return rd, nil
}

// Read fills r with row i.
func (rd *RawReader) Read(i int, r *Raw) {
	*r = Raw{
		Date: rd.date.Times[i], IUCR: rd.iucr.Str(i), PrimaryType: rd.ptype.Str(i), Location: rd.loc.Str(i),
		FBICode: rd.fbi.Str(i), Beat: rd.beat.Str(i), District: rd.district.Str(i), Ward: rd.ward.Str(i),
		CommunityArea: rd.area.Str(i), Domestic: rd.domestic.Bools[i] == 1,
		X: rd.x.Nums[i], Y: rd.y.Nums[i], Lat: math.NaN(), Lon: math.NaN(),
	}
	if rd.desc != nil {
		r.Description = rd.desc.Str(i)
	}
	if rd.lat != nil {
		r.Lat, r.Lon = rd.lat.Nums[i], rd.lon.Nums[i]
	}
}
