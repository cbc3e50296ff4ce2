package auth

import (
	"net/http"

	"almanac/catalog"
)

// Chain returns an Authenticator that asks each of authns in turn, nil ones
// skipped, and takes the first principal found.
func Chain(authns ...Authenticator) Authenticator {
	return func(r *http.Request) (catalog.Principal, bool) {
		for _, a := range authns {
			if a == nil {
				continue
			}
			if p, ok := a(r); ok {
				return p, true
			}
		}
		return catalog.Principal{}, false
	}
}
