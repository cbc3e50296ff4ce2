package ui

import (
	"context"
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

// siteInfo is what the layout shows of the server and the request beside
// the page: the demo's banner, and the way to sign in or out.
type siteInfo struct {
	// Demo is the login every request is made as, in `almanac demo`.
	Demo string
	// Sessions says people sign in with sessions: they have an account
	// page and sign out.
	Sessions bool
	// Login is the sign-in link, back to the page shown; "" when nobody
	// can sign in.
	Login string
	// GraphQL says the server has the GraphQL API, whose GraphiQL the
	// navigation links.
	GraphQL bool
}

type siteKey struct{}

func withSite(ctx context.Context, s siteInfo) context.Context {
	return context.WithValue(ctx, siteKey{}, s)
}

// siteFrom returns the siteInfo of the request ctx belongs to.
func siteFrom(ctx context.Context) siteInfo {
	s, _ := ctx.Value(siteKey{}).(siteInfo)
	return s
}
