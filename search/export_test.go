package search

// PopularReread returns how many documents x has re-read because their
// popularity changed.
func PopularReread(x *Index) int {
	x.applyMu.Lock()
	defer x.applyMu.Unlock()
	return x.popular.reread
}

// SetPopularityInternal writes b as the index's popularity time, as
// damage might.
func SetPopularityInternal(x *Index, b []byte) error {
	return x.idx.SetInternal(keyPopularity, b)
}

// FacetSegmentsRead returns how many of x's segments have their facet
// values read.
func FacetSegmentsRead(x *Index) int {
	x.mu.RLock()
	t := x.facets
	x.mu.RUnlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.segs)
}
