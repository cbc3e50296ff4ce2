package postgres

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// redactor removes a connection's password from messages before they leave
// the crawler. pgx masks passwords in its own parse errors, but errors it
// wraps (net/url's among them) and messages from the server can still carry
// the connection string, so every message goes through here.
type redactor struct {
	secrets []string
}

const mask = "xxxxx"

var (
	// urlPassword is the password part of anything that looks like a
	// postgres URL inside a message.
	urlPassword = regexp.MustCompile(`(?i)(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@`)
	// kvPassword is a password=… setting of a keyword/value connection
	// string, quoted or not.
	kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)`)
)

// newRedactor collects the password of connString however it is written
// (URL userinfo, a password query parameter, keyword/value), together with
// the password pgx resolved from the environment or a passfile.
func newRedactor(connString, resolved string) *redactor {
	r := &redactor{}
	r.add(resolved)
	if rest, ok := cutScheme(connString); ok {
		// The userinfo ends at the last '@' before the path, but a broken
		// URL may hold more '@'s: take every candidate.
		authority := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 && strings.LastIndex(rest, "@") < i {
			authority = rest[:i]
		}
		for i := range len(authority) {
			if authority[i] != '@' {
				continue
			}
			if _, pw, ok := strings.Cut(authority[:i], ":"); ok {
				r.add(pw)
			}
		}
		if u, err := url.Parse(connString); err == nil {
			if pw, ok := u.User.Password(); ok {
				r.add(pw)
			}
			r.add(u.Query().Get("password"))
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(connString, -1) {
		pw := m[2]
		if len(pw) >= 2 && pw[0] == '\'' && pw[len(pw)-1] == '\'' {
			pw = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(pw[1 : len(pw)-1])
		}
		r.add(pw)
	}
	return r
}

func cutScheme(s string) (string, bool) {
	for _, p := range []string{"postgres://", "postgresql://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):], true
		}
	}
	return "", false
}

// add records a secret in the forms it may be printed: as is, decoded from
// a URL, and encoded for one.
func (r *redactor) add(secret string) {
	if secret == "" {
		return
	}
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	if dec, err := url.PathUnescape(secret); err == nil {
		forms = append(forms, dec)
	}
	for _, f := range forms {
		if f != "" && f != mask {
			r.secrets = append(r.secrets, f)
		}
	}
}

// redact returns msg with every known secret and every password-looking
// setting masked.
func (r *redactor) redact(msg string) string {
	msg = urlPassword.ReplaceAllString(msg, "${1}"+mask+"@")
	msg = kvPassword.ReplaceAllString(msg, "${1}"+mask)
	// Longest first, so that a secret containing another is masked whole.
	for _, s := range longestFirst(r.secrets) {
		msg = strings.ReplaceAll(msg, s, mask)
	}
	return msg
}

func longestFirst(ss []string) []string {
	out := slices.Clone(ss)
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return out
}
