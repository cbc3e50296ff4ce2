package ui

import (
	"fmt"
	"math"
	"slices"
	"time"

	"almanac/catalog/store"
)

// anomalyLimit is how many anomalies the dataset page lists; the API
// gives them all.
const anomalyLimit = 10

// anomalyView is one anomaly in words: what was observed, when, and the
// range that was expected.
type anomalyView struct {
	What     string // "Rows written", "Wait between updates", "Time since the last update"
	At       moment
	Observed string
	Expected string // "900 – 1.1k (most likely 1k)"
	Side     string // "above" or "below"
	Method   string
}

// anomaliesView is the dataset page's list of anomalies.
type anomaliesView struct {
	Items []anomalyView
	// More counts those left out of Items.
	More int
	// Methods say how the ranges were learned, each once.
	Methods []string
}

func newAnomaliesView(list []store.Anomaly, now time.Time) anomaliesView {
	var v anomaliesView
	for i, a := range list {
		if i == anomalyLimit {
			v.More = len(list) - i
			break
		}
		it := anomalyView{At: newMoment(a.At, now), Side: "below", Method: a.Method}
		if a.Above {
			it.Side = "above"
		}
		switch a.Metric {
		case store.MetricRowCount:
			it.What = "Rows written"
			it.Observed = humanCount(int64(math.Round(a.Value)))
			it.Expected = fmt.Sprintf("%s – %s (most likely %s)", humanCount(int64(math.Round(a.Lo))), humanCount(int64(math.Round(a.Hi))), humanCount(int64(math.Round(a.Expected))))
		default:
			it.What = "Wait between updates"
			if a.Metric == store.MetricSinceUpdate {
				it.What = "Time since the last update"
			}
			it.Observed = hours(a.Value)
			it.Expected = fmt.Sprintf("up to %s (most likely %s)", hours(a.Hi), hours(a.Expected))
		}
		v.Items = append(v.Items, it)
		if !slices.Contains(v.Methods, a.Method) {
			v.Methods = append(v.Methods, a.Method)
		}
	}
	return v
}

// hours says a number of hours in words: "26 hours", "3.5 days".
func hours(h float64) string {
	if h >= 72 {
		return trimZero(h/24) + " days"
	}
	if h < 1 {
		return plural(int(math.Round(h*60)), "minute")
	}
	return trimZero(h) + " hours"
}

// addAnomalies adds a line for the anomalies of the last weeks to the
// summary: needing attention, as an anomaly is a question, not a
// failure.
func (h *healthView) addAnomalies(a anomaliesView) {
	n := len(a.Items) + a.More
	if n == 0 {
		return
	}
	it := healthItem{What: "Anomalies", Link: "#anomaly-heading", Level: healthWarn,
		Text: fmt.Sprintf("%s in the last %d days, newest: %s %s the expected range", plural(n, "observation"), int(store.AnomalyWindow.Hours()/24),
			a.Items[0].What, a.Items[0].Side)}
	h.Items = append(h.Items, it)
	if healthRank(it.Level) > healthRank(h.Level) {
		h.Level = it.Level
		h.Label = healthLabels[h.Level]
	}
}
