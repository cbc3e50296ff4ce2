package search

import (
	"context"

	"almanac/catalog"
)

// Matches reports which of keys the saved search query finds: the query,
// narrowed to each key's namespace, among its first MaxLimit hits. It
// runs one search per namespace, however many of its datasets are asked.
// A nil index (one not open yet) matches nothing.
func (x *Index) Matches(ctx context.Context, query string, keys []catalog.Key) (map[catalog.Key]bool, error) {
	out := map[catalog.Key]bool{}
	if x == nil {
		return out, nil
	}
	q, err := Parse(query)
	if err != nil {
		return nil, err
	}
	wanted := map[string]map[catalog.Key]bool{}
	for _, k := range keys {
		if wanted[k.Namespace] == nil {
			wanted[k.Namespace] = map[catalog.Key]bool{}
		}
		wanted[k.Namespace][k] = true
	}
	for ns, ks := range wanted {
		res, err := x.Search(ctx, Request{Query: q.WithFilter(Filter{Key: "namespace", Value: ns}), Limit: MaxLimit})
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			if ks[h.Key] {
				out[h.Key] = true
			}
		}
	}
	return out, nil
}
