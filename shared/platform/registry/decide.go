package registry

import (
	"fmt"
	"math"
	"strconv"
)

// Scores are the metrics the champion/challenger rule compares. Both models
// must be scored on the same rows: the new run's test set.
type Scores struct {
	ROCAUC           float64 `json:"roc_auc"`
	AveragePrecision float64 `json:"average_precision"`
}

// NoChampion is the champion's Scores when there is none: the zero Scores.
// A real model cannot score it, as its average precision is at least about
// the share of positives.
var NoChampion = Scores{}

func (s Scores) valid() bool {
	ok := func(v float64) bool { return v >= 0 && v <= 1 } // false for NaN
	return ok(s.ROCAUC) && ok(s.AveragePrecision)
}

// Decide is the champion/challenger rule. The challenger becomes champion
// when its ROC-AUC is not lower than the champion's; on an exact ROC-AUC tie
// the average precision decides, the challenger again winning a tie. With no
// champion (NoChampion) the challenger always becomes champion. Scores that
// are not in [0, 1] (NaN: a scoring bug) never dethrone a champion.
func Decide(challenger, champion Scores) (promote bool, reason string) {
	if champion == NoChampion {
		return true, "no champion: the first model becomes champion"
	}
	if !challenger.valid() || !champion.valid() {
		return false, fmt.Sprintf("invalid scores (challenger %s, champion %s): the champion stays",
			challenger, champion)
	}
	c, h := challenger.ROCAUC, champion.ROCAUC
	switch {
	case c > h:
		a, b := pair(c, h)
		return true, fmt.Sprintf("ROC-AUC %s > champion's %s", a, b)
	case c < h:
		a, b := pair(c, h)
		return false, fmt.Sprintf("ROC-AUC %s < champion's %s", a, b)
	}
	ap, hp := challenger.AveragePrecision, champion.AveragePrecision
	a, b := pair(ap, hp)
	if ap >= hp {
		rel := ">"
		if ap == hp {
			rel = "="
		}
		return true, fmt.Sprintf("ROC-AUC tie at %s; average precision %s %s champion's %s", fmtScore(c, 4), a, rel, b)
	}
	return false, fmt.Sprintf("ROC-AUC tie at %s; average precision %s < champion's %s", fmtScore(c, 4), a, b)
}

func (s Scores) String() string {
	return fmt.Sprintf("roc_auc=%s average_precision=%s", fmtScore(s.ROCAUC, -1), fmtScore(s.AveragePrecision, -1))
}

// pair formats two scores with 4 decimals, or with as many more as it takes
// for different values to read differently.
func pair(a, b float64) (string, string) {
	for prec := 4; prec < 17; prec++ {
		x, y := fmtScore(a, prec), fmtScore(b, prec)
		if x != y || a == b {
			return x, y
		}
	}
	return fmtScore(a, -1), fmtScore(b, -1)
}

func fmtScore(v float64, prec int) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// Decision is what the registry keeps in a model's decision column: the
// comparison that gave it its role.
type Decision struct {
	Promote    bool    `json:"promote"`
	Reason     string  `json:"reason"`
	Challenger Scores  `json:"challenger"`
	Champion   *Scores `json:"champion,omitempty"` // nil: there was no champion
	// ChampionVersion is the champion the challenger was compared with, 0
	// for none: give it to PromoteIfChampion.
	ChampionVersion int `json:"champion_version,omitempty"`
	// TestSet names the rows both were scored on (e.g. the test split's key),
	// for the record; the caller fills it in.
	TestSet string `json:"test_set,omitempty"`
	// Candidates are the models the run trained, scored on the same rows:
	// the challenger is the best of them.
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Candidate is one model a run trained, and its scores on the rows the
// run's candidates were compared on.
type Candidate struct {
	Recipe    string  `json:"recipe"`
	Algorithm string  `json:"algorithm"`
	Scores            // on the comparison rows
	Brier     float64 `json:"brier"`
	LogLoss   float64 `json:"log_loss"`
	Chosen    bool    `json:"chosen,omitempty"`
}

// Judge applies Decide and records the comparison: championVersion is the
// champion's version (0 when there is none, champion then ignored) and
// champion its scores on the challenger's test set. A champion version
// without scores is a caller's bug and never promotes.
func Judge(challenger Scores, championVersion int, champion Scores) Decision {
	d := Decision{Challenger: challenger, ChampionVersion: championVersion}
	switch {
	case championVersion <= 0:
		d.ChampionVersion = 0
		d.Promote, d.Reason = Decide(challenger, NoChampion)
	case champion == NoChampion:
		d.Champion = &champion
		d.Reason = fmt.Sprintf("champion v%d was not scored: the champion stays", championVersion)
	default:
		d.Champion = &champion
		d.Promote, d.Reason = Decide(challenger, champion)
		d.Reason = fmt.Sprintf("%s (champion v%d)", d.Reason, championVersion)
	}
	return d
}
