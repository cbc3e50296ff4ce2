package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
)

// The account page shows who you are signed in as (name, role, groups)
// and your live sessions, each with a button that ends it; the admin's
// sessions page lists everyone's. Ending a session is a form post, so it
// goes through the cross-origin protection every form does.

// maxSessionsListed bounds the sessions a page lists.
const maxSessionsListed = 500

// sessionView is a session as a page lists it.
type sessionView struct {
	catalog.Session
	Created, LastSeen, Expires moment
	// Current marks the session of the request.
	Current bool
	// State is live, or why the session no longer signs anyone in.
	State catalog.SessionState
	// End is where its end button posts.
	End string
}

// accountView is the account page.
type accountView struct {
	Page      page
	Principal catalog.Principal
	Sessions  []sessionView
	// Admin links the admin's sessions page.
	Admin bool
	// Follows are what the person follows; nil without notification
	// channels.
	Follows *followsSection
}

// sessionsView is the admin's sessions page.
type sessionsView struct {
	Page     page
	Who      string
	Sessions []sessionView
}

func (s *Server) sessionViews(r *http.Request, sessions []catalog.Session, dbNow time.Time) []sessionView {
	cur, _ := s.sessions.Current(r)
	now := s.now()
	out := make([]sessionView, len(sessions))
	for i, sess := range sessions {
		out[i] = sessionView{
			Session: sess, Created: newMoment(sess.CreatedAt, now), LastSeen: newMoment(sess.LastSeen, now),
			Expires: newMoment(sess.ExpiresAt, now), Current: sess.ID == cur.ID,
			State: sess.State(dbNow, s.sessions.Idle()),
			End:   "/account/sessions/" + strconv.FormatInt(sess.ID, 10) + "/end",
		}
	}
	return out
}

// serveAccount shows the signed-in person and their sessions.
func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	if p.Anonymous() {
		return fmt.Errorf("the account page needs a login: %w", catalog.ErrUnauthenticated)
	}
	v := accountView{Page: page{Title: "Your account"}, Principal: p, Admin: catalog.MayAdminister(p)}
	if s.sessions != nil {
		sessions, dbNow, err := s.store.LiveSessions(ctx, p.Login, maxSessionsListed)
		if err != nil {
			return err
		}
		v.Sessions = s.sessionViews(r, sessions, dbNow)
	}
	var err error
	if v.Follows, err = s.followsOf(r, p); err != nil {
		return err
	}
	return s.render(w, r, accountPage(v))
}

// serveAdminSessions lists everyone's live sessions, for admins; "who"
// narrows them to one login.
func (s *Server) serveAdminSessions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := catalog.AuthorizeAdminister(auth.PrincipalFrom(ctx), "the sessions page"); err != nil {
		return withMessage(err, refusalMessage(err))
	}
	who := r.URL.Query().Get("who")
	sessions, dbNow, err := s.store.LiveSessions(ctx, who, maxSessionsListed)
	if err != nil {
		return err
	}
	v := sessionsView{Page: page{Title: "Sessions", Section: "audit"}, Who: who, Sessions: s.sessionViews(r, sessions, dbNow)}
	return s.render(w, r, sessionsPage(v))
}

// postEndSession ends a session: one of your own, or anyone's for an
// admin (catalog.AuthorizeEndSession). Every replica refuses it from then
// on, as they read sessions from the database.
func (s *Server) postEndSession(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return notFound("There is no such session.")
	}
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		return withMessage(err, "There is no such session.")
	}
	if err := catalog.AuthorizeEndSession(p, sess.Login); err != nil {
		s.recordAuth(ctx, r, catalog.AuthEvent{Kind: catalog.AuthAccessDenied, Actor: p.Login, Subject: sess.Login, Detail: fmt.Sprintf("end session %d: %v", id, err)})
		return withMessage(err, refusalMessage(err))
	}
	if err := s.store.RevokeSession(ctx, id); err != nil {
		return err
	}
	subject := ""
	if sess.Login != p.Login {
		subject = sess.Login
	}
	s.recordAuth(ctx, r, catalog.AuthEvent{Kind: catalog.AuthSessionRevoked, Success: true, Actor: p.Login, Subject: subject, Detail: fmt.Sprintf("session %d", id)})
	back := accountURL
	if r.PostFormValue("back") == "admin" && catalog.MayAdminister(p) {
		back = "/admin/sessions"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
