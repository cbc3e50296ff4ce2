package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"almanac/catalog/store"
)

// A team health report is a team's figures over the last complete week
// (Monday to Monday, UTC) or calendar month, beside those of the period
// before, as data teams review them in their reliability meetings: as a
// page, CSV or JSON. What happened in a period (incidents, check results)
// and the size at its end come from the catalog's history; the figures
// without history of their own (documentation coverage, SLOs met) from
// the snapshot the incident detector recorded on the period's last day,
// and are null when none was.

// reportPeriods are the period reported on and the one before it, for
// the kind of period ("week" or "month") at now.
func reportPeriods(kind string, now time.Time) (cur, prev [2]time.Time, err error) {
	day := now.UTC().Truncate(24 * time.Hour)
	switch kind {
	case "", "week":
		start := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)) // Monday
		cur = [2]time.Time{start.AddDate(0, 0, -7), start}
		prev = [2]time.Time{start.AddDate(0, 0, -14), start.AddDate(0, 0, -7)}
	case "month":
		start := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
		cur = [2]time.Time{start.AddDate(0, -1, 0), start}
		prev = [2]time.Time{start.AddDate(0, -2, 0), start.AddDate(0, -1, 0)}
	default:
		return cur, prev, invalid(fmt.Sprintf("Parameter period must be week or month, not %.40q.", kind))
	}
	return cur, prev, nil
}

// reportFigure is one figure of a report, in the period and the one
// before; nil where it was not recorded. Change is Current − Previous.
type reportFigure struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	Unit     string   `json:"unit"`
	Current  *float64 `json:"current"`
	Previous *float64 `json:"previous"`
	Change   *float64 `json:"change"`
}

// reportPeriod is a period's bounds, From included, To excluded.
type reportPeriod struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// teamReport is a team health report, as JSON writes it.
type teamReport struct {
	Team     string         `json:"team"`
	Period   string         `json:"period"`
	Current  reportPeriod   `json:"current"`
	Previous reportPeriod   `json:"previous"`
	Figures  []reportFigure `json:"figures"`
}

// reportFigures lists a report's figures, each of the periods cur and
// prev.
func reportFigures(cur, prev store.TeamPeriod) []reportFigure {
	num := func(v float64) *float64 { return &v }
	share := func(n, total int) *float64 {
		if total == 0 {
			return nil
		}
		return num(math100(n, total))
	}
	snap := func(p store.TeamPeriod, f func(*store.TeamSnapshot) *float64) *float64 {
		if p.Snapshot == nil {
			return nil
		}
		return f(p.Snapshot)
	}
	failRate := func(p store.TeamPeriod) *float64 { return share(p.CheckFailures, p.CheckResults) }
	type def struct {
		key, label, unit string
		of               func(store.TeamPeriod) *float64
	}
	defs := []def{
		{"datasets", "Datasets owned", "datasets", func(p store.TeamPeriod) *float64 {
			return snap(p, func(s *store.TeamSnapshot) *float64 { return num(float64(s.Datasets)) })
		}},
		{"datasets_described", "Datasets described", "%", func(p store.TeamPeriod) *float64 {
			return snap(p, func(s *store.TeamSnapshot) *float64 { return share(s.Described, s.Datasets) })
		}},
		{"columns_described", "Columns described", "%", func(p store.TeamPeriod) *float64 {
			return snap(p, func(s *store.TeamSnapshot) *float64 { return share(s.DescribedColumns, s.Columns) })
		}},
		{"slo_attainment", "SLOs met", "%", func(p store.TeamPeriod) *float64 {
			return snap(p, func(s *store.TeamSnapshot) *float64 { return share(s.SLOsMet, s.SLOs) })
		}},
		{"incidents_opened", "Incidents opened", "incidents", func(p store.TeamPeriod) *float64 { return num(float64(p.IncidentsOpened)) }},
		{"incidents_resolved", "Incidents resolved", "incidents", func(p store.TeamPeriod) *float64 { return num(float64(p.IncidentsResolved)) }},
		{"incidents_open_at_end", "Incidents open at the end", "incidents", func(p store.TeamPeriod) *float64 { return num(float64(p.OpenAtEnd)) }},
		{"slo_breaches", "SLO breaches", "incidents", func(p store.TeamPeriod) *float64 { return num(float64(p.SLOBreaches)) }},
		{"check_results", "Check results", "results", func(p store.TeamPeriod) *float64 { return num(float64(p.CheckResults)) }},
		{"check_failures", "Checks failed", "results", func(p store.TeamPeriod) *float64 { return num(float64(p.CheckFailures)) }},
		{"check_failure_rate", "Check failure rate", "%", failRate},
		{"row_count", "Rows at the end", "rows", func(p store.TeamPeriod) *float64 { return num(float64(p.RowCount)) }},
		{"bytes", "Storage at the end", "bytes", func(p store.TeamPeriod) *float64 { return num(float64(p.Bytes)) }},
	}
	out := make([]reportFigure, len(defs))
	for i, d := range defs {
		f := reportFigure{Key: d.key, Label: d.label, Unit: d.unit, Current: d.of(cur), Previous: d.of(prev)}
		if f.Current != nil && f.Previous != nil {
			f.Change = num(round2(*f.Current - *f.Previous))
		}
		out[i] = f
	}
	return out
}

// math100 is n of total in percent, to two decimals.
func math100(n, total int) float64 { return round2(float64(n) * 100 / float64(total)) }

func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

// reportValue says a figure's value for a page or a CSV cell: "" when not
// recorded.
func reportValue(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// reportView is the report as a page.
type reportView struct {
	Page   page
	Report teamReport
	Links  teamLinks
	Kind   string // "week" or "month"
	Other  string // the link to the report of the other kind
	Rows   []reportRow
}

// reportRow is a figure as the page shows it.
type reportRow struct {
	Label, Current, Previous, Change string
	ChangeClass                      string
}

func formatFigure(v *float64, unit string) string {
	switch {
	case v == nil:
		return "not recorded"
	case unit == "%":
		return strconv.FormatFloat(*v, 'f', -1, 64) + " %"
	case unit == "bytes":
		if *v < 0 {
			return "−" + humanBytes(int64(-*v))
		}
		return humanBytes(int64(*v))
	case unit == "rows":
		return humanCount(int64(*v))
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// serveTeamReport serves /teams/{team}/report?period=week|month, as a
// page or, with format=csv or json, a download.
func (s *Server) serveTeamReport(w http.ResponseWriter, r *http.Request) error {
	team, err := teamParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	kind := q.Get("period")
	cur, prev, err := reportPeriods(kind, s.now())
	if err != nil {
		return err
	}
	if kind == "" {
		kind = "week"
	}
	format := q.Get("format")
	if format != "" && format != "html" && format != "csv" && format != "json" {
		return invalid(fmt.Sprintf("Format must be html, csv or json, not %.40q.", format))
	}
	ctx := r.Context()
	if err := s.teamExists(ctx, team); err != nil {
		return err
	}
	ps, err := s.store.TeamPeriods(ctx, team, [][2]time.Time{cur, prev})
	if err != nil {
		return err
	}
	rep := teamReport{Team: team, Period: kind,
		Current:  reportPeriod{From: cur[0].Format(time.DateOnly), To: cur[1].Format(time.DateOnly)},
		Previous: reportPeriod{From: prev[0].Format(time.DateOnly), To: prev[1].Format(time.DateOnly)},
		Figures:  reportFigures(ps[0], ps[1])}
	filename := fmt.Sprintf("%s-%s-%s", safeFilename(team), kind, rep.Current.From)
	switch format {
	case "csv":
		var rows [][]string
		for _, f := range rep.Figures {
			rows = append(rows, []string{f.Key, f.Label, f.Unit, reportValue(f.Current), reportValue(f.Previous), reportValue(f.Change)})
		}
		return writeCSV(w, filename+".csv", []string{"figure", "label", "unit", "current", "previous", "change"}, rows)
	case "json":
		return writeJSON(w, filename+".json", rep)
	}
	links := newTeamLinks(team)
	v := reportView{Page: page{Title: fmt.Sprintf("Team %s: %sly report", team, kind), Section: "teams"}, Report: rep, Links: links, Kind: kind}
	v.Other = links.Month
	if kind == "month" {
		v.Other = links.Week
	}
	for _, f := range rep.Figures {
		row := reportRow{Label: f.Label, Current: formatFigure(f.Current, f.Unit), Previous: formatFigure(f.Previous, f.Unit), Change: "–"}
		if f.Change != nil {
			row.Change = formatFigure(f.Change, f.Unit)
			if f.Unit == "%" {
				// A change of a share is in percentage points.
				row.Change = strconv.FormatFloat(*f.Change, 'f', -1, 64) + " points"
			}
			if *f.Change > 0 {
				row.Change = "+" + row.Change
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return s.render(w, r, teamReportPage(v))
}

// safeFilename keeps the letters, digits, dots, dashes and underscores of
// s for a download's name.
func safeFilename(s string) string {
	b := []byte{}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	if len(b) == 0 {
		return "team"
	}
	return string(b)
}
