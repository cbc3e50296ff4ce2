package ui

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
	return p.Title + " · Almanac"
}
