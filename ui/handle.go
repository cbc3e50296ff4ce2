package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"almanac/catalog"
	"almanac/catalog/errkind"
)

// handlerFunc is a page handler. It either writes a complete response and
// returns nil, or writes nothing and returns an error for handle to show.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a page handler to http.Handler: it maps the catalog's error
// kinds to status codes and shows the error page. It is the one place
// where errors become responses (pkgsite's errorHandler).
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.serveError(w, r, err)
		}
	})
}

// pageError is an error with a message that is safe to show to the
// person who made the request. Only 4xx errors show it: a 5xx shows a
// generic message and the error goes to the log.
type pageError struct {
	msg string
	err error
}

// Error returns the message and the cause, for the log.
func (e *pageError) Error() string { return e.msg + ": " + e.err.Error() }

// Unwrap returns the cause, whose kind sets the status.
func (e *pageError) Unwrap() error { return e.err }

// notFound returns an ErrNotFound that shows msg.
func notFound(msg string) error {
	return &pageError{msg: msg, err: catalog.ErrNotFound}
}

// invalid returns an ErrInvalid that shows msg.
func invalid(msg string) error {
	return &pageError{msg: msg, err: catalog.ErrInvalid}
}

// withMessage attaches a message to show to err when err is of a kind the
// person can act on (not found, invalid, forbidden). Other errors are
// returned as they are: their page says only that something went wrong,
// and the log keeps the cause undisguised.
func withMessage(err error, msg string) error {
	if statusOf(err) >= 500 {
		return err
	}
	return &pageError{msg: msg, err: err}
}

// statusClientClosed is the status recorded (never seen by anyone) when
// the client went away before the response was ready; nginx's convention.
const statusClientClosed = 499

// statusOf maps an error to the HTTP status the portal answers with: the
// one errkind's table gives its kind.
func statusOf(err error) int { return errkind.Status(err) }

// serveError writes the error page for err.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// Nobody is left to read a page.
		s.log.DebugContext(ctx, "request abandoned", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(statusClientClosed)
		return
	}
	status := statusOf(err)
	msg := ""
	switch {
	case status == http.StatusServiceUnavailable:
		what := "catalog database unavailable"
		if errors.Is(err, catalog.ErrIndexRebuilding) {
			what = "search index being rebuilt"
		}
		s.log.WarnContext(ctx, what, "method", r.Method, "path", r.URL.Path, "route", r.Pattern, "err", err, s.store.OutageAttr(err))
	case status >= 500:
		s.log.ErrorContext(ctx, "request failed", "method", r.Method, "path", r.URL.Path, "route", r.Pattern, "status", status, "err", err)
	default:
		s.log.DebugContext(ctx, "request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		if pe, ok := errors.AsType[*pageError](err); ok {
			msg = pe.msg
		}
	}
	v := newErrorView(status, msg)
	if status == http.StatusUnauthorized {
		v.Login = s.loginLink(returnPath(r))
	}
	var buf bytes.Buffer
	if err := errorPage(v).Render(ctx, &buf); err != nil {
		s.log.ErrorContext(ctx, "render error page", "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
		return
	}
	writePage(w, status, &buf)
}

// render renders a page into a buffer and writes it, so that a failed
// render leaves the response untouched for the error page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, c templ.Component) error {
	return s.renderStatus(w, r, http.StatusOK, c)
}

// renderStatus is render with a status other than 200.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		return fmt.Errorf("render %s: %w", r.URL.Path, err)
	}
	writePage(w, status, &buf)
	return nil
}

func writePage(w http.ResponseWriter, status int, buf *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(status)
	// A failed write means the client went away; there is nobody to tell.
	_, _ = buf.WriteTo(w)
}

// returnPath is the page to come back to after logging in: the page
// asked for, or for a form posted from a dataset's page, that page.
func returnPath(r *http.Request) string {
	if key := (catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}); key.Validate() == nil {
		return datasetPath(key)
	}
	if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/auth/") {
		return r.URL.RequestURI()
	}
	return "/"
}
