package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"almanac/catalog"
	"almanac/catalog/store"
)

// API tokens are sent as "Authorization: Bearer alm_…". A secret is
// TokenPrefix, 34 random base62 characters (202 bits) and a 6-character
// base62 CRC-32 of them, so that secret scanners (GitHub's, gitleaks) can
// match the format and a mistyped token is refused without a database
// read. Only the SHA-256 hash of a secret is stored.

// TokenPrefix starts every API token's secret.
const TokenPrefix = "alm_"

const (
	tokenRandomLen   = 34
	tokenChecksumLen = 6
	// TokenLength is the length of a secret, prefix included.
	TokenLength = len(TokenPrefix) + tokenRandomLen + tokenChecksumLen
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// NewTokenSecret returns a new random secret.
func NewTokenSecret() (string, error) {
	b := make([]byte, tokenRandomLen)
	max := big.NewInt(int64(len(base62)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("token secret: %w", err)
		}
		b[i] = base62[n.Int64()]
	}
	return TokenPrefix + string(b) + tokenChecksum(string(b)), nil
}

// tokenChecksum is the base62 CRC-32 of a secret's random part, padded to
// tokenChecksumLen.
func tokenChecksum(random string) string {
	n := uint64(crc32.ChecksumIEEE([]byte(random)))
	out := make([]byte, tokenChecksumLen)
	for i := tokenChecksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// WellFormedToken reports whether s has the form of a secret, checksum
// included.
func WellFormedToken(s string) bool {
	if len(s) != TokenLength || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	body := s[len(TokenPrefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	random := body[:tokenRandomLen]
	return subtle.ConstantTimeCompare([]byte(body[tokenRandomLen:]), []byte(tokenChecksum(random))) == 1
}

// HashToken is what the store keeps of a secret.
func HashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Defaults of TokenOptions.
const (
	DefaultMaxTokenLifetime = 365 * 24 * time.Hour
	// A client address may fail DefaultFailureBurst times in a row, then
	// once every DefaultFailureEvery; past that it gets 429.
	DefaultFailureBurst = 10
	DefaultFailureEvery = 6 * time.Second
)

// TokenOptions configure Tokens.
type TokenOptions struct {
	// MaxLifetime bounds how far ahead a token's expiry may be;
	// DefaultMaxTokenLifetime when zero.
	MaxLifetime time.Duration
	// LegacyToken is the shared OpenLineage token (openlineage.token,
	// deprecated): a Bearer credential equal to it is no API token, and
	// is passed on for the OpenLineage endpoint to check.
	LegacyToken string
	// FailureBurst and FailureEvery rate-limit failed token attempts by
	// client address; the defaults when zero.
	FailureBurst int
	FailureEvery time.Duration
	// Logger receives what could not be recorded. Nil discards.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Tokens issues, checks and revokes API tokens. Its Authenticate is the
// Authenticator of requests with a Bearer token; its Guard refuses a
// request whose Bearer token is wrong, revoked or expired (401), rather
// than serve it as anonymous, and a client that failed too often (429).
type Tokens struct {
	store *store.Store
	opts  TokenOptions

	mu       sync.Mutex
	limiters map[string]*failures
}

// failures is the rate of one client address's failed attempts.
type failures struct {
	lim  *rate.Limiter
	last time.Time
}

// NewTokens returns Tokens over st.
func NewTokens(st *store.Store, opts TokenOptions) *Tokens {
	if opts.MaxLifetime <= 0 {
		opts.MaxLifetime = DefaultMaxTokenLifetime
	}
	if opts.FailureBurst <= 0 {
		opts.FailureBurst = DefaultFailureBurst
	}
	if opts.FailureEvery <= 0 {
		opts.FailureEvery = DefaultFailureEvery
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Tokens{store: st, opts: opts, limiters: map[string]*failures{}}
}

// MaxLifetime is the longest a new token may live.
func (t *Tokens) MaxLifetime() time.Duration { return t.opts.MaxLifetime }

// Create creates the token req asks for as p (catalog.AuthorizeTokenCreate
// decides), records it in the security log, and returns it with its
// secret: the only time the secret is seen.
func (t *Tokens) Create(ctx context.Context, p catalog.Principal, req catalog.TokenRequest) (catalog.APIToken, string, error) {
	now := t.opts.Now().Truncate(time.Microsecond)
	tok, err := catalog.AuthorizeTokenCreate(p, req, now, t.opts.MaxLifetime)
	if err != nil {
		return catalog.APIToken{}, "", err
	}
	secret, err := NewTokenSecret()
	if err != nil {
		return catalog.APIToken{}, "", err
	}
	ev := catalog.AuthEvent{
		Actor:      p.Login,
		Subject:    tok.Principal().Login + " " + tok.Name,
		Detail:     fmt.Sprintf("scopes %s; expires %s", scopeText(tok.Scopes), tok.ExpiresAt.UTC().Format(time.RFC3339)),
		RemoteAddr: catalog.RemoteAddrFrom(ctx),
	}
	tok, err = t.store.CreateToken(ctx, tok, HashToken(secret), ev)
	if err != nil {
		return catalog.APIToken{}, "", err
	}
	return tok, secret, nil
}

// Revoke revokes the token id as p: its owner or an admin.
func (t *Tokens) Revoke(ctx context.Context, p catalog.Principal, id int64) (catalog.APIToken, error) {
	ev := catalog.AuthEvent{RemoteAddr: catalog.RemoteAddrFrom(ctx)}
	return t.store.RevokeToken(ctx, p, id, t.opts.Now().Truncate(time.Microsecond), ev)
}

// List lists the tokens p may manage, newest first: their own, or for an
// admin with all, every token.
func (t *Tokens) List(ctx context.Context, p catalog.Principal, all bool) ([]catalog.APIToken, error) {
	if p.Anonymous() {
		return nil, fmt.Errorf("listing tokens needs a login: %w", catalog.ErrUnauthenticated)
	}
	if all {
		if err := catalog.AuthorizeAdminister(p, "every API token"); err != nil {
			return nil, err
		}
		return t.store.Tokens(ctx, store.TokenFilter{})
	}
	return t.store.Tokens(ctx, store.TokenFilter{Owner: p.Login})
}

func scopeText(scopes []catalog.TokenScope) string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ",")
}

// verdict is what the Guard found of a request's Bearer credential.
type verdict struct {
	p      catalog.Principal
	ok     bool // p is the token's principal
	name   string
	status int // a refusal: 401, 429 or 503; 0 for none
	msg    string
}

type verdictKey struct{}

// Authenticate is the Authenticator of requests with an API token: the
// token's principal (its owner's login and role, its scopes) when the
// request carries a valid one. It takes the Guard's verdict when the Guard
// saw the request, and otherwise checks the token itself; only the Guard
// can refuse a wrong token, so mount it in front of the middleware that
// calls Authenticate.
func (t *Tokens) Authenticate(r *http.Request) (catalog.Principal, bool) {
	v, seen := r.Context().Value(verdictKey{}).(verdict)
	if !seen {
		v = t.check(r)
	}
	return v.p, v.ok
}

// Refuse writes a refusal of the Guard in the shape the route's clients
// read (a GraphQL error, the OpenLineage API's JSON, plain text); the
// Guard has set its headers.
type Refuse func(w http.ResponseWriter, r *http.Request, status int, msg string)

// Guard checks the Bearer credential of every request before next sees
// it: a valid token's principal goes into the request's context for
// Authenticate; a wrong, revoked or expired one is refused 401, and a
// client address that failed too often 429, each recorded in the security
// log and written by refuse (plain text when nil). Requests without a
// Bearer credential, and with the shared OpenLineage token, pass
// unchanged. Guard also puts the client address, and the token's name, in
// the context, for the security log.
func (t *Tokens) Guard(next http.Handler, refuse Refuse) http.Handler {
	if refuse == nil {
		refuse = func(w http.ResponseWriter, _ *http.Request, status int, msg string) { http.Error(w, msg, status) }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := catalog.WithRemoteAddr(r.Context(), clientIP(r))
		r = r.WithContext(ctx)
		v := t.check(r)
		if v.status != 0 {
			h := w.Header()
			h.Set("Cache-Control", "no-store")
			switch v.status {
			case http.StatusUnauthorized:
				h.Set("WWW-Authenticate", `Bearer realm="almanac", error="invalid_token"`)
			case http.StatusTooManyRequests:
				h.Set("Retry-After", fmt.Sprint(int(t.opts.FailureEvery.Seconds()+0.999)))
			}
			refuse(w, r, v.status, v.msg)
			return
		}
		ctx = context.WithValue(ctx, verdictKey{}, v)
		if v.ok {
			ctx = catalog.WithTokenName(ctx, v.name)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// bearer returns the credential of an "Authorization: Bearer" header, and
// whether there is one.
func bearer(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", false
	}
	// The scheme is case-insensitive (RFC 9110 §11.1).
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(cred), true
}

// check is the verdict on r's Bearer credential.
func (t *Tokens) check(r *http.Request) verdict {
	cred, ok := bearer(r)
	if !ok {
		return verdict{}
	}
	if t.opts.LegacyToken != "" && subtle.ConstantTimeCompare([]byte(cred), []byte(t.opts.LegacyToken)) == 1 {
		return verdict{}
	}
	ctx := r.Context()
	ip := clientIP(r)
	if t.blocked(ip) {
		return verdict{status: http.StatusTooManyRequests, msg: "too many failed token attempts from this address: try again later"}
	}
	now := t.opts.Now()
	fail := func(actor, subject, detail string) verdict {
		t.failed(ip)
		// Never the credential itself: it may be a real secret mistyped
		// or sent to the wrong server.
		ev := catalog.AuthEvent{At: now, Kind: catalog.AuthTokenUsed, Actor: actor, Subject: subject, Detail: detail, RemoteAddr: ip}
		if err := t.store.RecordAuthEvent(context.WithoutCancel(ctx), ev); err != nil {
			t.opts.Logger.ErrorContext(ctx, "record refused token", "detail", detail, "err", err)
		}
		return verdict{status: http.StatusUnauthorized, msg: "invalid API token: " + detail}
	}
	if !WellFormedToken(cred) {
		return fail("", "", "not an Almanac API token (they start with "+TokenPrefix+")")
	}
	tok, err := t.store.TokenByHash(ctx, HashToken(cred))
	if errors.Is(err, catalog.ErrNotFound) {
		return fail("", "", "unknown token")
	}
	if err != nil {
		t.opts.Logger.WarnContext(ctx, "check API token", "err", err)
		return verdict{status: http.StatusServiceUnavailable, msg: "cannot check the API token now: catalog database unavailable"}
	}
	p := tok.Principal()
	switch tok.Status(now) {
	case catalog.TokenRevoked:
		return fail(p.Login, tok.Name, "token revoked")
	case catalog.TokenExpired:
		return fail(p.Login, tok.Name, "token expired "+tok.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if now.Sub(tok.LastUsedAt) < time.Minute {
		// Noted within the minute: a busy producer writes nothing more.
		return verdict{p: p, ok: true, name: tok.Name}
	}
	first, err := t.store.TouchToken(ctx, tok.ID, now.Truncate(time.Microsecond))
	if err != nil {
		t.opts.Logger.WarnContext(ctx, "note API token use", "token", tok.ID, "err", err)
	} else if first {
		ev := catalog.AuthEvent{At: now, Kind: catalog.AuthTokenUsed, Success: true, Actor: p.Login, Subject: tok.Name, Detail: "first use in an hour", RemoteAddr: ip}
		if err := t.store.RecordAuthEvent(context.WithoutCancel(ctx), ev); err != nil {
			t.opts.Logger.ErrorContext(ctx, "record token use", "token", tok.ID, "err", err)
		}
	}
	return verdict{p: p, ok: true, name: tok.Name}
}

// maxLimiters bounds the client addresses whose failures are remembered.
const maxLimiters = 100_000

// blocked reports whether ip has no failed attempt left.
func (t *Tokens) blocked(ip string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.limiters[ip]
	return f != nil && f.lim.TokensAt(t.opts.Now()) < 1
}

// failed counts a failed attempt of ip.
func (t *Tokens) failed(ip string) {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.limiters[ip]
	if f == nil {
		if len(t.limiters) >= maxLimiters {
			t.sweep(now)
		}
		f = &failures{lim: rate.NewLimiter(rate.Every(t.opts.FailureEvery), t.opts.FailureBurst)}
		t.limiters[ip] = f
	}
	f.last = now
	f.lim.AllowN(now, 1)
}

// sweep forgets addresses whose limiter has refilled; if all are busy, it
// forgets them all rather than grow without bound.
func (t *Tokens) sweep(now time.Time) {
	full := time.Duration(t.opts.FailureBurst) * t.opts.FailureEvery
	for ip, f := range t.limiters {
		if now.Sub(f.last) > full {
			delete(t.limiters, ip)
		}
	}
	if len(t.limiters) >= maxLimiters {
		clear(t.limiters)
	}
}

// clientIP is the address of the client, without its port. Behind a
// proxy it is the proxy's.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
