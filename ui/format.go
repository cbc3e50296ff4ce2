package ui

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"almanac/catalog"
	"almanac/ui/markdown"
)

// datasetPath is the address of a dataset's page. The namespace is one
// path segment with its slashes escaped ("postgres:%2F%2Fdb:5432"); the
// name follows, segment by segment, so that a name with slashes (a file
// path) stays readable. A name whose segments the mux would clean away
// (empty, "." or "..") is escaped whole instead.
func datasetPath(k catalog.Key) string {
	segs := strings.Split(k.Name, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "/datasets/" + url.PathEscape(k.Namespace) + "/" + url.PathEscape(k.Name)
		}
		segs[i] = url.PathEscape(s)
	}
	return "/datasets/" + url.PathEscape(k.Namespace) + "/" + strings.Join(segs, "/")
}

// runPath is the address of a crawl run's page.
func runPath(id int64) string { return "/runs/" + strconv.FormatInt(id, 10) }

// summaryLen is the most runes of a description a listing shows.
const summaryLen = 140

// summary returns the first sentence of a description, its Markdown as
// plain text (markdown.Plain), cut to at most max runes at a word
// boundary, for listings.
func summary(s string, max int) string {
	s = markdown.Plain(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] // the first paragraph line
	}
	for i, r := range s {
		if r != '.' && r != '!' && r != '?' {
			continue
		}
		next := s[i+1:]
		if next == "" {
			break
		}
		if n, _ := utf8.DecodeRuneInString(next); unicode.IsSpace(n) {
			s = s[:i+1]
			break
		}
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	cut := []rune(s)[:max]
	if i := strings.LastIndexFunc(string(cut), unicode.IsSpace); i > max/2 {
		return strings.TrimRightFunc(string(cut)[:i], unicode.IsPunct) + "…"
	}
	return string(cut) + "…"
}

// humanBytes formats a size in binary units: "512 B", "1.5 KiB", "3.2 GiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%s %ciB", trimZero(float64(n)/float64(div)), "KMGTPE"[exp])
}

// humanCount formats a count compactly: "950", "12.3k", "4.1M", "2B".
func humanCount(n int64) string {
	switch {
	case n < 0:
		return "-" + humanCount(-n)
	case n < 1_000:
		return strconv.FormatInt(n, 10)
	case n < 1_000_000:
		return trimZero(float64(n)/1e3) + "k"
	case n < 1_000_000_000:
		return trimZero(float64(n)/1e6) + "M"
	case n < 1_000_000_000_000:
		return trimZero(float64(n)/1e9) + "B"
	}
	return trimZero(float64(n)/1e12) + "T"
}

// trimZero formats f with one decimal, dropping a trailing ".0".
func trimZero(f float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(f, 'f', 1, 64), ".0")
}

// moment is a point in time as pages show it: relative to now, with the
// exact time for a tooltip and a machine-readable form.
type moment struct {
	ISO      string // RFC 3339, for <time datetime>
	Exact    string // "2026-03-01 14:05 UTC"
	Relative string // "3 hours ago"
}

// IsZero reports whether the moment is unknown.
func (m moment) IsZero() bool { return m.ISO == "" }

// newMoment returns t as seen at now.
func newMoment(t, now time.Time) moment {
	if t.IsZero() {
		return moment{}
	}
	t = t.UTC()
	return moment{
		ISO:      t.Format(time.RFC3339),
		Exact:    t.Format("2006-01-02 15:04 MST"),
		Relative: relative(t, now),
	}
}

// relative says how long before now t was, at a precision a reader needs.
func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	case d < 60*24*time.Hour:
		s = plural(int(d/(24*time.Hour)), "day")
	default:
		return t.UTC().Format("Jan 2, 2006")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// plural returns "1 column", "2 columns".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// humanDuration formats a run's duration: "850ms", "12s", "3m 20s".
func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return trimZero(d.Seconds()) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// kindLabel is how a dataset kind reads on a page.
func kindLabel(k catalog.Kind) string {
	return strings.ReplaceAll(string(k), "_", " ")
}

// kinds lists the dataset kinds a listing can filter by.
var kinds = []catalog.Kind{
	catalog.KindTable, catalog.KindView, catalog.KindMaterializedView, catalog.KindPartitioned,
	catalog.KindForeign, catalog.KindModel, catalog.KindFile, catalog.KindSemanticModel, catalog.KindMetric,
}
