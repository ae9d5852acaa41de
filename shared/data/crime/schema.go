package crime

import (
	"strings"

	"github.com/arrestcast/arrestcast/shared/data/table"
)

// Column names of a crime table (the seed's snake_case names).
const (
	ColID                  = "id"
	ColCaseNumber          = "case_number"
	ColDate                = "date"
	ColBlock               = "block"
	ColIUCR                = "iucr"
	ColPrimaryType         = "primary_type"
	ColDescription         = "description"
	ColLocationDescription = "location_description"
	ColArrest              = "arrest"
	ColDomestic            = "domestic"
	ColBeat                = "beat"
	ColDistrict            = "district"
	ColWard                = "ward"
	ColCommunityArea       = "community_area"
	ColFBICode             = "fbi_code"
	ColX                   = "x_coordinate"
	ColY                   = "y_coordinate"
	ColUpdatedOn           = "updated_on"
	ColLatitude            = "latitude"
	ColLongitude           = "longitude"

	// Added by enrichment.
	ColStationDistrict = "nearest_police_station_district"
	ColStationName     = "nearest_police_station_district_name"
	ColDistance        = "distance_crime_to_police_station"
	ColSeason          = "season"
	ColDayOfWeek       = "day_of_week"
	ColDayTime         = "day_time"
)

// Columns are the columns of a raw crime table, in the order the portal
// readers produce them. The portal's Year and Location are not kept: both are
// derived from Date and Latitude/Longitude.
var Columns = []string{
	ColID, ColCaseNumber, ColDate, ColBlock, ColIUCR, ColPrimaryType, ColDescription,
	ColLocationDescription, ColArrest, ColDomestic, ColBeat, ColDistrict, ColWard,
	ColCommunityArea, ColFBICode, ColX, ColY, ColUpdatedOn, ColLatitude, ColLongitude,
}

// Kinds is the fixed kind of every known column. Codes (iucr, beat,
// district, ...) are categorical so zero padding is kept as given.
var Kinds = map[string]table.Kind{
	ColID:                  table.Numeric,
	ColCaseNumber:          table.Text, // near-unique: no dictionary
	ColDate:                table.Time,
	ColBlock:               table.Categorical,
	ColIUCR:                table.Categorical,
	ColPrimaryType:         table.Categorical,
	ColDescription:         table.Categorical,
	ColLocationDescription: table.Categorical,
	ColArrest:              table.Bool,
	ColDomestic:            table.Bool,
	ColBeat:                table.Categorical,
	ColDistrict:            table.Categorical,
	ColWard:                table.Categorical,
	ColCommunityArea:       table.Categorical,
	ColFBICode:             table.Categorical,
	ColX:                   table.Numeric,
	ColY:                   table.Numeric,
	ColUpdatedOn:           table.Time,
	ColLatitude:            table.Numeric,
	ColLongitude:           table.Numeric,

	ColStationDistrict: table.Categorical,
	ColStationName:     table.Categorical,
	ColDistance:        table.Numeric,
	ColSeason:          table.Categorical,
	ColDayOfWeek:       table.Numeric,
	ColDayTime:         table.Categorical,
}

// Vocab holds the fixed vocabularies: readers seed these columns'
// dictionaries with them so codes are the same in every table (the code of a
// season is its index here).
var Vocab = map[string][]string{
	ColSeason:  {"Winter", "Spring", "Summer", "Autumn"},
	ColDayTime: {"Early Morning", "Morning", "Afternoon", "Night"},
}

// SnakeCase turns a portal header ("Case Number", "X COORDINATE") into the
// column name ("case_number", "x_coordinate").
func SnakeCase(header string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(header)), " ", "_")
}
