package enrich

import (
	"testing"
	"time"

	"github.com/arrestcast/arrestcast/shared/data/crime"
	"github.com/arrestcast/arrestcast/shared/data/table"
)

func wall(y int, mo time.Month, d, h, mi, s int) int64 {
	return table.WallClock(y, int(mo), d, h, mi, s)
}

func TestTimeFeaturesAtBoundaries(t *testing.T) {
	for _, c := range []struct {
		at      int64
		season  Season
		dow     int
		daytime DayTime
		hour    int
	}{
		{wall(2017, 1, 1, 0, 0, 0), Winter, 6, EarlyMorning, 0}, // a Sunday
		{wall(2017, 1, 2, 5, 59, 59), Winter, 0, EarlyMorning, 5},
		{wall(2017, 1, 2, 6, 0, 0), Winter, 0, Morning, 6},
		{wall(2017, 2, 28, 11, 59, 59), Winter, 1, Morning, 11},
		{wall(2016, 2, 29, 12, 0, 0), Winter, 0, Afternoon, 12},
		{wall(2017, 3, 1, 0, 0, 0), Spring, 2, EarlyMorning, 0},
		{wall(2017, 5, 31, 17, 59, 59), Spring, 2, Afternoon, 17},
		{wall(2017, 6, 1, 18, 0, 0), Summer, 3, Night, 18},
		{wall(2017, 8, 31, 23, 59, 59), Summer, 3, Night, 23},
		{wall(2017, 9, 1, 0, 0, 0), Autumn, 4, EarlyMorning, 0},
		{wall(2017, 11, 30, 23, 59, 59), Autumn, 3, Night, 23},
		{wall(2017, 12, 1, 0, 0, 0), Winter, 4, EarlyMorning, 0},
		{wall(2017, 12, 31, 23, 59, 0), Winter, 6, Night, 23},
		{wall(1969, 12, 31, 23, 0, 0), Winter, 2, Night, 23}, // before the epoch
		// No daylight-saving shift: the wall clock is taken as given.
		{wall(2017, 3, 12, 2, 30, 0), Spring, 6, EarlyMorning, 2},
		{wall(2017, 11, 5, 1, 30, 0), Autumn, 6, EarlyMorning, 1},
	} {
		got := TimeOf(c.at)
		want := TimeFeatures{Season: c.season, DayOfWeek: c.dow, DayTime: c.daytime, Hour: c.hour}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", table.Wall(c.at), got, want)
		}
	}
}

func TestVocabularyMatchesEnums(t *testing.T) {
	for i, s := range crime.Vocab[crime.ColSeason] {
		if Season(i).String() != s {
			t.Errorf("season %d", i)
		}
	}
	if Winter.String() != "Winter" || Autumn.String() != "Autumn" || EarlyMorning.String() != "Early Morning" || Night.String() != "Night" {
		t.Error("names")
	}
	for m := time.January; m <= time.December; m++ {
		want := map[time.Month]Season{12: Winter, 1: Winter, 2: Winter, 3: Spring, 4: Spring, 5: Spring,
			6: Summer, 7: Summer, 8: Summer, 9: Autumn, 10: Autumn, 11: Autumn}[m]
		if SeasonOf(m) != want {
			t.Errorf("%s: %s", m, SeasonOf(m))
		}
	}
	for h := range 24 {
		want := []DayTime{EarlyMorning, Morning, Afternoon, Night}[h/6]
		if DayTimeOf(h) != want {
			t.Errorf("hour %d: %s", h, DayTimeOf(h))
		}
	}
}
