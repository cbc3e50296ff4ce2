package ui

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/errkind"
	"almanac/lineage/olapi"
)

// Handler returns every route of the server (see routes) wrapped, once,
// in the middleware every request goes through, outermost first:
//
//   - security headers, on every response: pages, JSON and refusals;
//   - the client's address, behind a trusted proxy, from X-Forwarded-For;
//   - request metrics and logging, by route pattern and status, and a
//     Retry-After on every 503;
//   - recovery from a handler's panic, as a logged 500;
//   - in an unauthenticated mode, the Host allow-list against DNS
//     rebinding;
//   - cross-origin protection of every state-changing request;
//   - the request body limit;
//   - the body a state-changing request may carry: JSON for the APIs,
//     HTML forms from the portal's own pages for the portal;
//   - a Bearer API token checked, a wrong one refused (Options.Tokens);
//   - who makes the request (Options.Authenticate), in its context;
//   - whether they may read at all (catalog.AuthorizeRead), once for
//     every route: pages, GraphQL, the Marquez reads and /metrics.
func (s *Server) Handler() http.Handler {
	mux := s.routes()
	var h http.Handler = mux
	h = s.readYourWrites(h)
	h = s.requireRead(h)
	h = auth.Middleware(s.authenticate, h)
	if s.tokens != nil {
		h = s.tokens.Guard(h, refuseToken)
	}
	h = writeBodies(mux, h)
	h = limitBody(h)
	h = s.refuseCrossOrigin(h)
	h = s.checkHost(h)
	h = s.recoverPanics(h)
	h = s.instrument(mux, h)
	h = s.forwardedFor(h)
	return securityHeaders(s.csp, h)
}

// contentSecurityPolicy allows the portal's own stylesheet, images and
// scripts (files only, never inline) and requests back to the portal.
// Every page works without JavaScript; scripts only add suggestions to
// the search box and pan, zoom and in-place updates to the lineage
// explorer. GraphiQL sets its own. Forms post to the portal only, and the
// sign-out form's redirect may go on to the identity provider's
// end-session endpoint, whose origin formOrigins adds (browsers apply
// form-action to a form's redirects too).
func contentSecurityPolicy(formOrigins ...string) string {
	return "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; " +
		"connect-src 'self'; form-action " + strings.Join(append([]string{"'self'"}, formOrigins...), " ") +
		"; base-uri 'none'; frame-ancestors 'none'"
}

// securityHeaders sets the headers every response carries, csp the
// Content-Security-Policy. A handler may replace them, as GraphiQL does
// its Content-Security-Policy.
func securityHeaders(csp string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// retryAfter is what a 503 tells clients to wait before trying again:
// long enough for a database failover, short enough for a person.
const retryAfter = "30"

// instrument records each request's latency by method, route pattern and
// status, and logs it at debug level. mux names the route of a request
// that middleware refused before the mux saw it.
func (s *Server) instrument(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		elapsed := time.Since(start)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		// The mux sets r.Pattern on the request it was handed, which
		// the middleware passes on unchanged.
		route := r.Pattern
		if route == "" {
			_, route = mux.Handler(r)
		}
		if route == "" {
			route = "unmatched"
		}
		s.requests.WithLabelValues(methodLabel(r.Method), route, strconv.Itoa(rec.status)).Observe(elapsed.Seconds())
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.DebugContext(r.Context(), "http request",
				"method", r.Method, "path", r.URL.Path, "route", route,
				"status", rec.status, "bytes", rec.bytes, "duration", elapsed)
		}
	})
}

// methodLabel bounds the method label to the methods HTTP defines, so that
// a client cannot grow the metric without limit.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// statusRecorder remembers the status and size of a response, and adds
// Retry-After to a 503 that has none.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader records the first final status.
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
		if h := r.Header(); code == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
			h.Set("Retry-After", retryAfter)
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and counts the bytes.
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// recoverPanics turns a handler's panic into a 500, logged with its
// stack, rather than a connection dropped without an answer. A response
// already under way is cut off instead, so that the client cannot take
// half of it for the whole.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // the handler's own way to cut a response off
			}
			s.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if rec, ok := w.(*statusRecorder); ok && rec.status != 0 {
				panic(http.ErrAbortHandler)
			}
			refuse(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request the middleware will not pass on, in plain
// text: it may be for a page or for an API.
func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, status)
}

// refuseToken answers a request the token Guard refused in the shape its
// route's clients read: a GraphQL error with its code for /graphql, the
// OpenLineage API's {"error": …} for /api/, plain text for the rest.
func refuseToken(w http.ResponseWriter, r *http.Request, status int, msg string) {
	var body any
	switch {
	case r.URL.Path == "/graphql":
		code := errkind.CodeUnauthenticated
		switch status {
		case http.StatusTooManyRequests:
			code = "TOO_MANY_REQUESTS"
		case http.StatusServiceUnavailable:
			code = errkind.CodeUnavailable
		}
		type gqlError struct {
			Message    string            `json:"message"`
			Extensions map[string]string `json:"extensions"`
		}
		body = map[string][]gqlError{"errors": {{msg, map[string]string{"code": code}}}}
	case strings.HasPrefix(r.URL.Path, "/api/"):
		body = map[string]string{"error": msg}
	default:
		refuse(w, status, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body) //nolint:errcheck // the client went away
}

// checkHost refuses, in an unauthenticated mode, a request addressed to
// a name other than a loopback one, an IP address or the public URL's
// host. A web page on a name its author controls can point that name at
// 127.0.0.1 (DNS rebinding) and then write to the server as if from the
// same origin; only the Host header tells such a request apart.
func (s *Server) checkHost(next http.Handler) http.Handler {
	if !s.unauthenticated {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			s.log.WarnContext(r.Context(), "request for another host refused", "host", r.Host, "method", r.Method, "path", r.URL.Path)
			refuse(w, http.StatusForbidden, "this server takes writes without a login, so it answers only requests "+
				"addressed to localhost or an IP address; set public_url to the address you reach it by")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether host, a Host header, names the server in a
// way no other site can take over: localhost (and its subdomains, which
// browsers resolve to loopback themselves), an IP address (no name to
// rebind), or the configured public URL's host.
func (s *Server) hostAllowed(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	switch {
	case host == "":
		return false
	case host == "localhost", strings.HasSuffix(host, ".localhost"):
		return true
	case net.ParseIP(host) != nil:
		return true
	}
	return host == s.publicHost
}

// refuseCrossOrigin refuses a state-changing request that a browser says
// comes from a page of another origin (Sec-Fetch-Site, else Origin
// against Host): a page the user visits must not write with the user's
// access. Requests from tools, which send neither header, pass.
func (s *Server) refuseCrossOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.crossOrigin.Check(r); err != nil {
			s.recordAuth(r.Context(), r, catalog.AuthEvent{Kind: catalog.AuthAccessDenied,
				Subject: r.Method + " " + r.URL.Path, Detail: "cross-origin request refused (origin " + r.Header.Get("Origin") + ")"})
			s.log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "err", err)
			refuse(w, http.StatusForbidden, "cross-origin request refused: a page of another site may not write here")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeBodies refuses a state-changing request whose body its route does
// not take. The APIs' writes (jsonRoutes: GraphQL, the OpenLineage
// endpoint) take JSON, which a browser never sends across origins without
// asking first. The portal's routes take the HTML forms (application/
// x-www-form-urlencoded) a browser posts from the portal's own pages.
//
// A form, unlike JSON, is what a page of another site can make a browser
// post. refuseCrossOrigin, before this, turns such posts away by the
// browser's Sec-Fetch-Site header (every current browser sends it), else
// by Origin against Host. A browser old enough to send neither (Firefox
// before 70, Safari before 12, Internet Explorer) would pass it, so a
// form must also carry one of the two: no browser the portal supports
// omits both, and tools write through GraphQL. With this and SameSite
// session cookies, forms need no token of their own, as Go's
// http.CrossOriginProtection documents.
func writeBodies(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		ct := r.Header.Get("Content-Type")
		if _, pattern := mux.Handler(r); jsonRoutes[pattern] {
			if !isJSON(ct) {
				w.Header().Set("Accept-Post", "application/json")
				refuse(w, http.StatusUnsupportedMediaType, fmt.Sprintf("request body must be JSON (Content-Type: application/json), not %q", ct))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		switch {
		case !isForm(ct):
			w.Header().Set("Accept-Post", "application/x-www-form-urlencoded")
			refuse(w, http.StatusUnsupportedMediaType, fmt.Sprintf("this address takes the portal's HTML forms (Content-Type: application/x-www-form-urlencoded), not %q; tools write through GraphQL", ct))
		case r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "":
			refuse(w, http.StatusForbidden, "form posted without the Sec-Fetch-Site or Origin header a browser sends: "+
				"use a current browser, or write through GraphQL")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// isForm reports whether a Content-Type is an HTML form's
// application/x-www-form-urlencoded.
func isForm(contentType string) bool {
	t, _, err := mime.ParseMediaType(contentType)
	return err == nil && t == "application/x-www-form-urlencoded"
}

// isJSON reports whether a Content-Type is JSON: application/json or a
// type with the +json suffix.
func isJSON(contentType string) bool {
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return t == "application/json" || strings.HasPrefix(t, "application/") && strings.HasSuffix(t, "+json")
}

// maxBodyBytes bounds every request body: the largest that any route
// takes, an OpenLineage batch. Routes bound their own further.
const maxBodyBytes = olapi.DefaultMaxBody

// limitBody refuses a body over maxBodyBytes: at once when its
// Content-Length says so, else when reading reaches the limit.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxBodyBytes))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}
