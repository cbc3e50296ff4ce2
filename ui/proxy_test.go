package ui

import (
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	for _, tc := range []struct {
		peer string
		xff  []string
		want string // "" for the peer's own
	}{
		{"203.0.113.5:4000", []string{"198.51.100.1"}, ""},                              // not from a proxy: the header is the client's own
		{"10.1.2.3:4000", []string{"198.51.100.1"}, "198.51.100.1"},                     // through the load balancer
		{"10.1.2.3:4000", []string{"6.6.6.6, 198.51.100.1, 192.0.2.7"}, "198.51.100.1"}, // a forged hop left of the real client
		{"10.1.2.3:4000", []string{"6.6.6.6", "198.51.100.1"}, "198.51.100.1"},          // several header lines
		{"10.1.2.3:4000", []string{"garbage, 10.0.0.9"}, "10.0.0.9"},                    // all trusted to the garbage: the leftmost good
		{"10.1.2.3:4000", nil, ""},                                                      // no header
		{"[::ffff:10.1.2.3]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
	} {
		got, ok := clientAddr(tc.peer, tc.xff, trusted)
		if (tc.want == "") == ok || (ok && got.String() != tc.want) {
			t.Errorf("clientAddr(%s, %q) = %v %v, want %q", tc.peer, tc.xff, got, ok, tc.want)
		}
	}
}
