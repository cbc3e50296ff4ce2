package catalog

import (
	"errors"
	"testing"
	"time"
)

func TestAuthorizeRead(t *testing.T) {
	for _, tc := range []struct {
		p         Principal
		anonymous bool
		want      error
	}{
		{Principal{}, false, ErrUnauthenticated},
		{Principal{Login: "  "}, false, ErrUnauthenticated},
		{Principal{}, true, nil},
		{Principal{Login: "vic@corp", Role: RoleViewer}, false, nil},
		{Principal{Login: "vic@corp"}, false, nil}, // any principal reads
		{Principal{Login: "vic@corp", Scopes: []TokenScope{ScopeRead}}, false, nil},
		{Principal{Login: "vic@corp", Scopes: []TokenScope{ScopeWrite}}, false, nil},
		{Principal{Login: "token:airflow", Role: RoleEditor, Scopes: []TokenScope{ScopeLineageWrite}}, false, ErrForbidden},
		{Principal{Login: "token:airflow", Role: RoleEditor, Scopes: []TokenScope{ScopeLineageWrite}}, true, ErrForbidden},
	} {
		err := AuthorizeRead(tc.p, tc.anonymous)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("AuthorizeRead(%+v, %v) = %v, want %v", tc.p, tc.anonymous, err, tc.want)
		}
	}
}

func TestSessionState(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	revoked := now.Add(-time.Minute)
	for _, tc := range []struct {
		name string
		s    Session
		want SessionState
	}{
		{"live", Session{LastSeen: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}, SessionLive},
		{"idle", Session{LastSeen: now.Add(-8 * time.Hour), ExpiresAt: now.Add(time.Hour)}, SessionIdleExpired},
		{"absolute", Session{LastSeen: now, ExpiresAt: now}, SessionExpired},
		{"revoked", Session{LastSeen: now, ExpiresAt: now.Add(time.Hour), RevokedAt: &revoked}, SessionRevoked},
	} {
		if got := tc.s.State(now, 8*time.Hour); got != tc.want {
			t.Errorf("%s: State = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestAuthorizeEndSession(t *testing.T) {
	for _, tc := range []struct {
		p     Principal
		owner string
		want  error
	}{
		{Principal{}, "alice@corp", ErrUnauthenticated},
		{Principal{Login: "alice@corp", Role: RoleViewer}, "alice@corp", nil},
		{Principal{Login: "bob@corp", Role: RoleEditor}, "alice@corp", ErrForbidden},
		{Principal{Login: "root@corp", Role: RoleAdmin}, "alice@corp", nil},
	} {
		err := AuthorizeEndSession(tc.p, tc.owner)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("AuthorizeEndSession(%+v, %s) = %v, want %v", tc.p, tc.owner, err, tc.want)
		}
	}
}
