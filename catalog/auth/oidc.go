package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"almanac/catalog"
)

// OIDCConfig says how to sign people in with an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes asked for; empty means openid, profile and email. openid is
	// always asked for.
	Scopes []string
	// RedirectURL is the address of /auth/callback as the browser reaches
	// it, registered with the provider.
	RedirectURL string
	// The claims carrying a person's email (their login), display name
	// and groups; empty means email, name and groups.
	EmailClaim, NameClaim, GroupsClaim string
	// HTTPClient makes the requests to the provider; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
}

// OIDC signs people in with an OpenID Connect provider: the authorization
// code flow with PKCE, state and nonce, and the ID token verified for its
// issuer, audience, expiry and nonce.
type OIDC struct {
	cfg        OIDCConfig
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
}

// Identity is who the provider says signed in.
type Identity struct {
	Subject string
	// Login is the verified email, else the preferred username, else
	// the subject.
	Login  string
	Email  string
	Name   string
	Groups []string
}

// LoginError is a sign-in the provider's answer did not justify; Reason
// says why, in words fit for the security log.
type LoginError struct {
	Reason string
	Err    error
}

func (e *LoginError) Error() string {
	if e.Err == nil {
		return "sign-in refused: " + e.Reason
	}
	return "sign-in refused: " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *LoginError) Unwrap() error { return e.Err }

// Is makes a LoginError of the kind catalog.ErrUnauthenticated.
func (e *LoginError) Is(target error) bool { return target == catalog.ErrUnauthenticated }

// NewOIDC reads the provider's discovery document. ctx must outlive the
// OIDC: the provider's signing keys are fetched (and refetched as they
// rotate) with it.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, fmt.Errorf("oidc: issuer, client id and redirect URL are required: %w", catalog.ErrInvalid)
	}
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery at %s: %w", cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&extra); err != nil {
		return nil, fmt.Errorf("oidc: discovery document of %s: %w", cfg.Issuer, err)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{"profile", "email"}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	cfg.EmailClaim = orDefault(cfg.EmailClaim, "email")
	cfg.NameClaim = orDefault(cfg.NameClaim, "name")
	cfg.GroupsClaim = orDefault(cfg.GroupsClaim, "groups")
	return &OIDC{
		cfg:      cfg,
		provider: provider,
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     provider.Endpoint(),
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
		},
		endSession: extra.EndSession,
	}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AuthCodeURL is the provider's authorization endpoint asked to sign the
// browser in and come back with a code for state; nonce goes into the ID
// token, and verifier's S256 challenge binds the code to this sign-in.
func (o *OIDC) AuthCodeURL(state, nonce, verifier string) string {
	return o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
}

// Exchange trades code for tokens, verifies the ID token (signature,
// issuer, audience, expiry) and its nonce, and returns who signed in,
// asking the userinfo endpoint for what the ID token's claims lack.
func (o *OIDC) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	if o.cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, o.cfg.HTTPClient)
	}
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, &LoginError{Reason: "code exchange failed", Err: err}
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, &LoginError{Reason: "no id token in the provider's answer"}
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case errors.As(err, &expired):
			return Identity{}, &LoginError{Reason: "id token expired", Err: err}
		case strings.Contains(err.Error(), "issued by a different provider"):
			return Identity{}, &LoginError{Reason: "id token of another issuer", Err: err}
		case strings.Contains(err.Error(), "audience"):
			return Identity{}, &LoginError{Reason: "id token for another audience", Err: err}
		}
		return Identity{}, &LoginError{Reason: "id token invalid", Err: err}
	}
	if idt.Nonce != nonce {
		return Identity{}, &LoginError{Reason: "nonce mismatch"}
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, &LoginError{Reason: "id token claims unreadable", Err: err}
	}
	_, hasEmail := claims[o.cfg.EmailClaim]
	_, hasName := claims[o.cfg.NameClaim]
	_, hasGroups := claims[o.cfg.GroupsClaim]
	if (!hasEmail || !hasName || !hasGroups) && o.provider.UserInfoEndpoint() != "" {
		info, err := o.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return Identity{}, &LoginError{Reason: "userinfo request failed", Err: err}
		}
		if info.Subject != idt.Subject {
			return Identity{}, &LoginError{Reason: "userinfo of another subject"}
		}
		more := map[string]any{}
		if err := info.Claims(&more); err != nil {
			return Identity{}, &LoginError{Reason: "userinfo unreadable", Err: err}
		}
		for k, v := range more {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	return o.identity(idt.Subject, claims), nil
}

// identity reads who signed in from the claims.
func (o *OIDC) identity(subject string, claims map[string]any) Identity {
	id := Identity{Subject: subject}
	id.Email, _ = claims[o.cfg.EmailClaim].(string)
	if v, ok := claims["email_verified"].(bool); ok && !v {
		// An address the provider has not verified could be anyone's.
		id.Email = ""
	}
	id.Name, _ = claims[o.cfg.NameClaim].(string)
	username, _ := claims["preferred_username"].(string)
	if id.Name == "" {
		id.Name = username
	}
	switch g := claims[o.cfg.GroupsClaim].(type) {
	case string:
		id.Groups = []string{g}
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok && s != "" {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	switch {
	case id.Email != "":
		id.Login = id.Email
	case username != "":
		id.Login = username
	default:
		id.Login = subject
	}
	return id
}

// EndSessionURL is the provider's end_session_endpoint asking it to sign
// the browser out too and come back to returnTo; "" when the provider
// advertises none.
func (o *OIDC) EndSessionURL(returnTo string) string {
	if o.endSession == "" {
		return ""
	}
	u, err := url.Parse(o.endSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", o.cfg.ClientID)
	if returnTo != "" {
		q.Set("post_logout_redirect_uri", returnTo)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// EndSessionOrigin is the origin (scheme://host) of the provider's
// end_session_endpoint, which a sign-out form's redirect goes to; "" when
// the provider advertises none. The portal's Content-Security-Policy
// must allow it as a form action, or browsers stop the sign-out there.
func (o *OIDC) EndSessionOrigin() string {
	u, err := url.Parse(o.endSession)
	if o.endSession == "" || err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// SecureCookies reports whether the redirect URL is https, so cookies
// must be Secure; false only for a plain-HTTP loopback address, the one
// place plain HTTP is allowed.
func (o *OIDC) SecureCookies() bool { return SecureURL(o.cfg.RedirectURL) }

// SecureURL reports whether cookies set for the site of u must be
// Secure: every address but a plain-HTTP loopback one.
func SecureURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return true
	}
	return p.Scheme != "http" || !Loopback(p.Hostname())
}

// Loopback reports whether host is localhost or a loopback IP.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
