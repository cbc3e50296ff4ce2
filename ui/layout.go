package ui

import (
	"strings"
	"unicode/utf8"

	"almanac/catalog"
)

// page is what the layout needs to know about the page inside it.
type page struct {
	// Title is the page's own title; the layout appends the product name.
	Title string
	// Section is the navigation entry to highlight: "datasets" or
	// "sources".
	Section string
	// Query fills the search box.
	Query string
}

// fullTitle is the document title.
func (p page) fullTitle() string {
	if p.Title == "" {
		return "Almanac"
	}
	return visible(p.Title) + " · Almanac"
}

// visible is catalog.Visible, for names where no markup can go:
// attributes and the page title.
func visible(s string) string { return catalog.Visible(s) }

// namePart is a run of a name as the name component shows it: plain
// text, or one hidden character written as its escape.
type namePart struct {
	text   string
	hidden bool
}

// nameParts splits s into plain runs and escaped hidden characters.
func nameParts(s string) []namePart {
	if strings.IndexFunc(s, catalog.Hidden) < 0 {
		return []namePart{{text: s}}
	}
	var parts []namePart
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if catalog.Hidden(r) {
			if i > start {
				parts = append(parts, namePart{text: s[start:i]})
			}
			parts = append(parts, namePart{text: catalog.Visible(s[i : i+n]), hidden: true})
			start = i + n
		}
		i += n
	}
	if start < len(s) {
		parts = append(parts, namePart{text: s[start:]})
	}
	return parts
}
