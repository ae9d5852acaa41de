package enrich

import (
	"time"

	"github.com/arrestcast/arrestcast/shared/data/crime"
)

// Season of the year; the value is the code in the season column's
// dictionary (crime.Vocab[crime.ColSeason]).
type Season uint8

// Seasons by month: Dec–Feb, Mar–May, Jun–Aug, Sep–Nov.
const (
	Winter Season = iota
	Spring
	Summer
	Autumn
)

func (s Season) String() string { return crime.Vocab[crime.ColSeason][s] }

// SeasonOf returns the season of a month.
func SeasonOf(m time.Month) Season { return Season(int(m) % 12 / 3) }

// DayTime is the part of the day; the value is the code in the day_time
// column's dictionary (crime.Vocab[crime.ColDayTime]).
type DayTime uint8

// Parts of the day by hour: 0–5, 6–11, 12–17, 18–23.
const (
	EarlyMorning DayTime = iota
	Morning
	Afternoon
	Night
)

func (d DayTime) String() string { return crime.Vocab[crime.ColDayTime][d] }

// DayTimeOf returns the part of the day of an hour (0–23).
func DayTimeOf(hour int) DayTime { return DayTime(hour / 6) }

// DayOfWeek returns the day number with Monday = 0 … Sunday = 6 (pandas'
// dayofweek, as the seed).
func DayOfWeek(d time.Weekday) int { return (int(d) + 6) % 7 }

// TimeFeatures are the features taken from a crime's date.
type TimeFeatures struct {
	Season    Season
	DayOfWeek int // Monday = 0
	DayTime   DayTime
	Hour      int
}

// TimeOf returns the time features of a table.Time value (wall clock).
func TimeOf(wall int64) TimeFeatures {
	t := time.Unix(wall, 0).UTC() // UTC fields are the wall clock
	h := t.Hour()
	return TimeFeatures{Season: SeasonOf(t.Month()), DayOfWeek: DayOfWeek(t.Weekday()), DayTime: DayTimeOf(h), Hour: h}
}
