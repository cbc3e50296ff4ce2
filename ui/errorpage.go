package ui

import "net/http"

// errorView is the page shown instead of the one requested.
type errorView struct {
	Page    page // its Title is the status text
	Status  int
	Message string
	// Login is where to log in, for a page that needs a login (401).
	Login string
}

// newErrorView builds the error page for a status. A message is shown
// only when it is safe and useful to the reader; otherwise each status
// has a generic one, so that an internal error never reaches the page.
func newErrorView(status int, msg string) errorView {
	if msg == "" {
		switch status {
		case http.StatusNotFound:
			msg = "There is nothing at this address."
		case http.StatusBadRequest:
			msg = "The request was not understood."
		case http.StatusForbidden:
			msg = "You are not allowed to see this page."
		case http.StatusServiceUnavailable:
			msg = "The catalog is unavailable at the moment. Please try again in a minute."
		case http.StatusGatewayTimeout:
			msg = "This page took too long to prepare. Please try again."
		default:
			msg = "Something went wrong on our side. It has been logged; please try again later."
		}
	}
	return errorView{Page: page{Title: http.StatusText(status)}, Status: status, Message: msg}
}
