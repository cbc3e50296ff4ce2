package ui

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog/store"
)

// writtenCookie carries, to the browser that wrote, the primary's WAL
// position after its last write: until the read replica has replayed
// it, that browser's reads go to the primary (read-your-writes), whichever
// replica of Almanac serves them.
const writtenCookie = "almanac_written"

// writtenMaxAge bounds how long a write keeps its browser on the primary
// when the replica stays behind.
const writtenMaxAge = 300 // seconds

// lsnPattern is what a pg_lsn looks like as text.
var lsnPattern = regexp.MustCompile(`^[0-9A-F]{1,8}/[0-9A-F]{1,8}$`)

// readYourWrites sends the reads of GET and HEAD requests (but sign-in's)
// to the read replica, if the store has one, unless the request carries the WAL
// position of a write (writtenCookie) that the replica has not replayed.
// Every other request reads and writes on the primary, and a successful
// one sets writtenCookie to the primary's position after it. API clients
// without cookies get the same by sending the cookie back, or by reading
// with POST (GraphQL), which always reads the primary.
func (s *Server) readYourWrites(next http.Handler) http.Handler {
	if !s.store.HasReadReplica() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Sign-in's callback is a GET that writes (it consumes the login
		// attempt): it stays on the primary, like every other method.
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !strings.HasPrefix(r.URL.Path, "/auth/") {
			if c, err := r.Cookie(writtenCookie); err == nil && lsnPattern.MatchString(c.Value) {
				if ok, err := s.store.ReplicaHas(r.Context(), c.Value); err != nil || !ok {
					next.ServeHTTP(w, r) // on the primary
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(store.FromReplica(r.Context())))
			return
		}
		next.ServeHTTP(&wroteWriter{ResponseWriter: w, s: s, r: r}, r)
	})
}

// wroteWriter sets writtenCookie when a request that may have written
// answers with success: the write has committed by then, as pages and the
// API answer only once their work is done.
type wroteWriter struct {
	http.ResponseWriter
	s    *Server
	r    *http.Request
	done bool
}

func (w *wroteWriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		if code < 400 {
			if lsn, err := w.s.store.WriteLSN(w.r.Context()); err == nil {
				http.SetCookie(w.ResponseWriter, &http.Cookie{Name: writtenCookie, Value: lsn, Path: "/", MaxAge: writtenMaxAge,
					HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.r.TLS != nil})
			} else {
				w.s.log.WarnContext(w.r.Context(), "read-your-writes: read WAL position", "err", err)
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *wroteWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *wroteWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// replicaCollector exports the read replica's lag, read when scraped.
type replicaCollector struct {
	store       *store.Store
	bytes, secs *prometheus.Desc
}

func newReplicaCollector(st *store.Store) *replicaCollector {
	return &replicaCollector{
		store: st,
		bytes: prometheus.NewDesc("almanac_read_replica_lag_bytes", "WAL bytes the read replica (database.read_url) has not replayed yet.", nil, nil),
		secs:  prometheus.NewDesc("almanac_read_replica_lag_seconds", "Time since the last transaction the read replica replayed was committed on the primary (grows while the primary is idle).", nil, nil),
	}
}

func (c *replicaCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.bytes; ch <- c.secs }

func (c *replicaCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	bytes, age, err := c.store.ReplicaLag(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.bytes, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(bytes))
	ch <- prometheus.MustNewConstMetric(c.secs, prometheus.GaugeValue, age.Seconds())
}
