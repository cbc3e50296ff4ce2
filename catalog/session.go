package catalog

import (
	"fmt"
	"time"
)

// Session is one sign-in of a person: what the identity provider said of
// them when they signed in, and how long the sign-in lasts. The secret
// that the browser presents is never part of it; the store keeps only its
// hash.
type Session struct {
	ID         int64
	Login      string
	Name       string
	Email      string
	Groups     []string
	Role       Role
	CreatedAt  time.Time
	LastSeen   time.Time
	ExpiresAt  time.Time  // the absolute end, whatever the activity
	RevokedAt  *time.Time // when signed out or ended; nil while live
	UserAgent  string
	RemoteAddr string
}

// Principal is who makes the requests of s.
func (s Session) Principal() Principal {
	return Principal{Login: s.Login, Role: s.Role, Name: s.Name, Groups: s.Groups}
}

// SessionState is whether a session still signs its holder in, and if not
// why not.
type SessionState string

// States of a session.
const (
	SessionLive        SessionState = "live"
	SessionRevoked     SessionState = "revoked"
	SessionIdleExpired SessionState = "idle timeout"
	SessionExpired     SessionState = "absolute timeout"
)

// State says whether s is live at now with the idle timeout idle.
func (s Session) State(now time.Time, idle time.Duration) SessionState {
	switch {
	case s.RevokedAt != nil:
		return SessionRevoked
	case !now.Before(s.ExpiresAt):
		return SessionExpired
	case idle > 0 && !now.Before(s.LastSeen.Add(idle)):
		return SessionIdleExpired
	}
	return SessionLive
}

// AuthorizeEndSession returns nil if p may end a session of owner: their
// own, or anyone's for an admin.
func AuthorizeEndSession(p Principal, owner string) error {
	if p.Anonymous() {
		return fmt.Errorf("ending a session needs a login: %w", ErrUnauthenticated)
	}
	if p.Login == owner || MayAdminister(p) {
		return nil
	}
	return fmt.Errorf("%s may not end a session of %s: only its owner or an admin may: %w", p.Login, owner, ErrForbidden)
}
