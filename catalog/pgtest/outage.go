package pgtest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Outage is a TCP proxy in front of the test server, for tests of what
// happens when the catalog database goes away: code connects through
// URL, and Cut takes the database away as a network outage would,
// refusing new connections and breaking the open ones. The database
// itself is real and untouched.
type Outage struct {
	url string
	ln  net.Listener

	mu    sync.Mutex
	conns map[net.Conn]bool
	cut   bool
}

// NewOutage starts a proxy to the database at dbURL and returns it; its
// URL is dbURL through the proxy. It stops when the test ends.
func NewOutage(t testing.TB, dbURL string) *Outage {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("pgtest: outage: %v", redact(err.Error()))
	}
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: outage: %v", err)
	}
	u.Host = ln.Addr().String()
	o := &Outage{url: u.String(), ln: ln, conns: map[net.Conn]bool{}}
	go o.accept(target)
	t.Cleanup(o.Cut)
	return o
}

// URL returns the database's URL through the proxy.
func (o *Outage) URL() string { return o.url }

// Cut closes the proxy and every connection through it: from now on
// connecting to URL is refused, and a query on a connection opened
// before fails.
func (o *Outage) Cut() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cut {
		return
	}
	o.cut = true
	o.ln.Close()
	for c := range o.conns {
		c.Close()
	}
}

func (o *Outage) accept(target string) {
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return // cut
		}
		go o.pipe(c, target)
	}
}

// pipe copies between a client and the server until either side closes
// or the outage cuts them.
func (o *Outage) pipe(client net.Conn, target string) {
	server, err := net.Dial("tcp", target)
	if err != nil {
		client.Close()
		return
	}
	if !o.track(client, server) {
		return
	}
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		// An error is one side going away, or the cut: either ends both.
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go cp(server, client)
	go cp(client, server)
	<-done
	<-done
	o.mu.Lock()
	delete(o.conns, client)
	delete(o.conns, server)
	o.mu.Unlock()
}

// track records a pair of connections for Cut, or closes them if the
// outage has begun.
func (o *Outage) track(conns ...net.Conn) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cut {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		o.conns[c] = true
	}
	return true
}
