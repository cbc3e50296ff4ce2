package search

// PopularReread returns how many documents x has re-read because their
// popularity changed.
func PopularReread(x *Index) int {
	x.applyMu.Lock()
	defer x.applyMu.Unlock()
	return x.popular.reread
}
