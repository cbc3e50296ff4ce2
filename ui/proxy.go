package ui

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// forwardedFor puts the client's address in r.RemoteAddr for a request
// that came through a trusted proxy (Options.TrustedProxies), read from
// X-Forwarded-For: right to left, the first address that is not a trusted
// proxy's. Sign-in rate limits count by it and the security log records
// it; a request straight from a client keeps its peer address, whatever
// X-Forwarded-For it sends.
func (s *Server) forwardedFor(next http.Handler) http.Handler {
	if len(s.trustedProxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, ok := clientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.trustedProxies); ok {
			r = r.WithContext(r.Context()) // a copy, not the caller's request
			r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddr returns the client's address of a request from peer with
// the X-Forwarded-For values xff, and false when peer is no trusted
// proxy or names no client.
func clientAddr(peer string, xff []string, trusted []netip.Prefix) (netip.Addr, bool) {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		host = peer
	}
	p, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(p) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, v := range xff {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a hop a client wrote: trust nothing to its left
		}
		last = a.Unmap()
		if !isTrusted(a) {
			return last, true
		}
	}
	return last, last.IsValid()
}
