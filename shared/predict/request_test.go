package predict_test

import (
	"testing"

	"github.com/arrestcast/arrestcast/shared/data/table"
	"github.com/arrestcast/arrestcast/shared/predict"
)

// A request carries the description (trimmed, upper-cased, like the other
// free-text fields) and the date to the second: recipe v2 reads both.
func TestRequestDescriptionAndMinute(t *testing.T) {
	recs, _, err := predict.ParseRequest([]byte(`{"date":"2017-11-05T13:47:00.000","iucr":486,"description":" domestic battery simple ",
		"x_coordinate":1180398,"y_coordinate":1874151}`))
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	if r.Description != "DOMESTIC BATTERY SIMPLE" || r.Date != table.WallClock(2017, 11, 5, 13, 47, 0) || r.IUCR != "0486" {
		t.Errorf("%+v", r)
	}
	recs, _, err = predict.ParseRequest([]byte(`[{"date":"2017-11-05T13:47:00","x_coordinate":1180398,"y_coordinate":1874151,"description":null}]`))
	if err != nil || recs[0].Description != "" {
		t.Errorf("no description: %+v %v", recs, err)
	}
	_, _, err = predict.ParseRequest([]byte(`{"date":"2017-11-05T13:47:00","x_coordinate":1180398,"y_coordinate":1874151,"description":7}`))
	if ie, ok := err.(*predict.InputError); !ok || ie.Field != "description" {
		t.Errorf("a number as description: %v", err)
	}
}
