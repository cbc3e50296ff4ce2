package lineage

import "strings"

// NodeFacts are what a dataset's node says under its name, on a second,
// smaller line: where the dataset lives, whose it is and how it is
// doing. The health is in words with a marker; its colour only adds to
// them.
type NodeFacts struct {
	// Platform says where the dataset lives, e.g. "postgres · table".
	Platform string
	// Owner is its first owner, with "+N" when there are more.
	Owner string
	// Health says how it is doing in words ("failing", "stale",
	// "incident"…); "" says nothing.
	Health string
	// Level is how bad Health is: HealthBad, HealthWarn or HealthGood.
	Level string
	// Incident marks Health as an open incident: ⚠ rather than ●.
	Incident bool
}

// Health levels of NodeFacts, for the marker's colour.
const (
	HealthGood = "good"
	HealthWarn = "warn"
	HealthBad  = "bad"
)

// healthColors are the health's colours, dark enough to read on white
// and on the start's blue.
var healthColors = map[string]string{HealthGood: "#15803d", HealthWarn: "#92400e", HealthBad: "#b91c1c"}

// Marker is the health's sign: ⚠ for an incident, else ●; "" without
// health.
func (f NodeFacts) Marker() string {
	switch {
	case f.Health == "":
		return ""
	case f.Incident:
		return "⚠"
	}
	return "●"
}

// Text is the facts as one line of plain text, e.g.
// "postgres · table · alice +1 · ● failing".
func (f NodeFacts) Text() string {
	parts := f.about()
	if f.Health != "" {
		parts = append(parts, f.Marker()+" "+f.Health)
	}
	return strings.Join(parts, " · ")
}

func (f NodeFacts) about() []string {
	var parts []string
	for _, p := range []string{f.Platform, f.Owner} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

// factsPointSize is the size of the facts' line: that of the jobs'
// names, which the explorer keeps readable.
const factsPointSize = "9"

// html is the facts as the content of an HTML-like label's cell, the
// health coloured by level; "" without facts.
func (f NodeFacts) html() string {
	about := strings.Join(f.about(), " · ")
	if about == "" && f.Health == "" {
		return ""
	}
	var h strings.Builder
	h.WriteString(`<FONT POINT-SIZE="` + factsPointSize + `" COLOR="#374151">` + htmlText(about))
	if f.Health != "" {
		if about != "" {
			h.WriteString(" · ")
		}
		// Marker and word in one run of text: Graphviz places each run
		// by its own estimate of the widths, which leaves gaps.
		health := f.Marker() + " " + htmlText(f.Health)
		if c := healthColors[f.Level]; c != "" {
			health = `<FONT COLOR="` + c + `">` + health + `</FONT>`
		}
		h.WriteString(health)
	}
	h.WriteString(`</FONT>`)
	return h.String()
}

// factsRow is the table row of a node's facts, or "" without any.
func factsRow(f NodeFacts, bg string) string {
	h := f.html()
	if h == "" {
		return ""
	}
	return `<TR><TD ALIGN="LEFT"` + htmlAttr("BGCOLOR", bg) + `>` + h + `</TD></TR>`
}
