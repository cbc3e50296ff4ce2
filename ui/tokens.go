package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
)

// API tokens: at /account/tokens a signed-in person lists their tokens,
// creates one (a name, scopes, an expiry) and sees its secret once, on the
// page that answers the form, and revokes them; at /admin/tokens an admin
// lists every token, creates service tokens for producers and revokes any.
// Plain forms, no script. Package catalog/auth issues and checks the
// tokens; package catalog decides who may do what with them.

// Where the token pages are.
const (
	accountTokensPath = "/account/tokens"
	adminTokensPath   = "/admin/tokens"
)

// tokensView is the page of one's own tokens, or the admin's of all.
type tokensView struct {
	Page page
	// Admin says the page is the admin's: every token, service tokens
	// created.
	Admin bool
	// Action is where the create form posts.
	Action string
	Rows   []tokenRowView
	// Created is the token just created, with its secret: shown once.
	Created *createdTokenView
	// Form is the create form as posted back, with Error saying why it
	// was refused.
	Form  tokenForm
	Error string
	// Expiries are the lifetimes the form offers.
	Expiries []expiryOption
}

// tokenForm is what the create form holds.
type tokenForm struct {
	Name   string
	Scopes []catalog.TokenScope
	Days   int
}

// has reports whether the form has scope s ticked.
func (f tokenForm) has(s catalog.TokenScope) bool { return slices.Contains(f.Scopes, s) }

// createdTokenView is a token just created and its secret.
type createdTokenView struct {
	Name, Secret, Login, Expires string
}

// tokenRowView is a token as the list shows it.
type tokenRowView struct {
	Name     string
	Who      string // the login the token acts as
	Service  bool
	Scopes   string
	Created  string
	Expires  string
	LastUsed string
	Status   string
	// Revoke is where its revoke button posts; "" when it is revoked.
	Revoke string
}

// expiryOption is a lifetime the form offers, in days.
type expiryOption struct {
	Days  int
	Label string
}

// expiryDays are the lifetimes offered, those within the longest allowed.
var expiryDays = []int{7, 30, 90, 180, 365}

func (s *Server) expiryOptions() []expiryOption {
	longest := int(s.tokens.MaxLifetime() / (24 * time.Hour))
	var opts []expiryOption
	for _, d := range expiryDays {
		if d <= longest {
			opts = append(opts, expiryOption{d, fmt.Sprintf("%d days", d)})
		}
	}
	if len(opts) == 0 || opts[len(opts)-1].Days < longest {
		opts = append(opts, expiryOption{longest, fmt.Sprintf("%d days (the longest allowed)", longest)})
	}
	return opts
}

// defaultExpiryDays is the lifetime the form proposes.
const defaultExpiryDays = 90

// serveAccountTokens lists the reader's tokens.
func (s *Server) serveAccountTokens(w http.ResponseWriter, r *http.Request) error {
	return s.serveTokens(w, r, false, http.StatusOK, nil, tokenForm{}, "")
}

// serveAdminTokens lists every token, for admins.
func (s *Server) serveAdminTokens(w http.ResponseWriter, r *http.Request) error {
	return s.serveTokens(w, r, true, http.StatusOK, nil, tokenForm{}, "")
}

// serveTokens renders a token page with status, the token just created
// or the form refused.
func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request, admin bool, status int, created *createdTokenView, form tokenForm, formErr string) error {
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	if admin {
		if err := catalog.AuthorizeAdminister(p, "the API tokens page"); err != nil {
			return withMessage(err, refusalMessage(err))
		}
	} else if p.Anonymous() {
		return withMessage(fmt.Errorf("tokens page: %w", catalog.ErrUnauthenticated), "Your API tokens need a login.")
	}
	tokens, err := s.tokens.List(ctx, p, admin)
	if err != nil {
		return withMessage(err, refusalMessage(err))
	}
	now := s.now()
	v := tokensView{
		Page:     page{Title: "API tokens", Section: "tokens"},
		Admin:    admin,
		Action:   accountTokensPath,
		Created:  created,
		Form:     form,
		Error:    formErr,
		Expiries: s.expiryOptions(),
	}
	if admin {
		v.Action = adminTokensPath
	}
	if v.Form.Days == 0 {
		v.Form.Days = min(defaultExpiryDays, v.Expiries[len(v.Expiries)-1].Days)
	}
	for _, t := range tokens {
		row := tokenRowView{
			Name:     t.Name,
			Who:      t.Principal().Login,
			Service:  t.Service(),
			Scopes:   scopeNames(t.Scopes),
			Created:  t.CreatedAt.UTC().Format("2006-01-02 15:04") + " by " + t.CreatedBy,
			Expires:  t.ExpiresAt.UTC().Format("2006-01-02 15:04"),
			LastUsed: "never",
			Status:   string(t.Status(now)),
		}
		if !t.LastUsedAt.IsZero() {
			row.LastUsed = relative(t.LastUsedAt, now)
		}
		if t.Status(now) == catalog.TokenRevoked {
			row.Status += " by " + t.RevokedBy
		} else {
			row.Revoke = v.Action + "/" + strconv.FormatInt(t.ID, 10) + "/revoke"
		}
		v.Rows = append(v.Rows, row)
	}
	// The page may hold a secret: no cache keeps it.
	w.Header().Set("Cache-Control", "no-store")
	return s.renderStatus(w, r, status, tokensPage(v))
}

func scopeNames(scopes []catalog.TokenScope) string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}

// postAccountToken creates a personal token.
func (s *Server) postAccountToken(w http.ResponseWriter, r *http.Request) error {
	return s.postToken(w, r, false)
}

// postAdminToken creates a service token.
func (s *Server) postAdminToken(w http.ResponseWriter, r *http.Request) error {
	return s.postToken(w, r, true)
}

// postToken creates a token from the form and shows its secret, once; a
// refused form comes back with what was typed and why.
func (s *Server) postToken(w http.ResponseWriter, r *http.Request, service bool) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return invalid("The form could not be read.")
	}
	form := tokenForm{Name: strings.TrimSpace(r.PostForm.Get("name"))}
	for _, v := range r.PostForm["scope"] {
		sc, err := catalog.ParseScope(v)
		if err != nil {
			return s.serveTokens(w, r, service, statusOf(err), nil, form, refusalMessage(err))
		}
		form.Scopes = append(form.Scopes, sc)
	}
	days, err := strconv.Atoi(r.PostForm.Get("days"))
	if err != nil || days <= 0 {
		return s.serveTokens(w, r, service, http.StatusBadRequest, nil, form, "Choose when the token expires.")
	}
	form.Days = days
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	if p.Anonymous() {
		return withMessage(fmt.Errorf("create token: %w", catalog.ErrUnauthenticated), "Creating a token needs a login.")
	}
	req := catalog.TokenRequest{Name: form.Name, Scopes: form.Scopes, ExpiresAt: s.now().Add(time.Duration(days) * 24 * time.Hour), Service: service}
	t, secret, err := s.tokens.Create(ctx, p, req)
	if err != nil {
		if statusOf(err) >= 500 {
			return err
		}
		return s.serveTokens(w, r, service, statusOf(err), nil, form, refusalMessage(err))
	}
	created := &createdTokenView{Name: t.Name, Secret: secret, Login: t.Principal().Login, Expires: t.ExpiresAt.UTC().Format("2006-01-02 15:04")}
	return s.serveTokens(w, r, service, http.StatusCreated, created, tokenForm{}, "")
}

// postRevokeToken revokes a token and goes back to the page it was
// listed on.
func (s *Server) postRevokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return notFound("There is no such token.")
	}
	if _, err := s.tokens.Revoke(r.Context(), auth.PrincipalFrom(r.Context()), id); err != nil {
		return withMessage(err, refusalMessage(err))
	}
	back := accountTokensPath
	if strings.HasPrefix(r.URL.Path, adminTokensPath) {
		back = adminTokensPath
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
