package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// TestSessions creates, reads, touches, lists and ends sessions by the
// hash of their secret, judging time by the database's clock.
func TestSessions(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	alice, err := st.CreateSession(ctx, hash("alice-secret"), catalog.Session{
		Login: "alice@corp", Name: "Alice", Email: "alice@corp", Groups: []string{"data-platform"}, Role: catalog.RoleEditor,
		UserAgent: "Firefox", RemoteAddr: "192.0.2.1",
	}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSession(ctx, hash("bob-secret"), catalog.Session{Login: "bob@corp", Role: catalog.RoleViewer}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSession(ctx, hash("alice-secret"), catalog.Session{Login: "mallory@corp", Role: catalog.RoleAdmin}, time.Hour); !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("second session with the same secret: %v, want ErrConflict", err)
	}
	if _, err := st.CreateSession(ctx, hash("x"), catalog.Session{Login: "x@corp", Role: "owner"}, time.Hour); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("unknown role: %v, want ErrInvalid", err)
	}
	got, now, err := st.SessionByToken(ctx, hash("alice-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != alice.ID || got.Name != "Alice" || len(got.Groups) != 1 || got.State(now, time.Hour) != catalog.SessionLive ||
		got.ExpiresAt.Sub(got.CreatedAt) != 24*time.Hour {
		t.Errorf("session read back: %+v", got)
	}
	if _, _, err := st.SessionByToken(ctx, hash("guess")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown secret: %v, want ErrNotFound", err)
	}
	var stored []byte
	if err := pool.QueryRow(ctx, `SELECT token_hash FROM sessions WHERE id = $1`, alice.ID).Scan(&stored); err != nil || bytes.Contains(stored, []byte("alice-secret")) {
		t.Errorf("stored %x, %v", stored, err)
	}

	// Touched at most once a minute.
	if _, err := pool.Exec(ctx, `UPDATE sessions SET last_seen = now() - interval '30 seconds' WHERE id = $1`, alice.ID); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Session(ctx, alice.ID)
	if err := st.TouchSession(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if after, _ := st.Session(ctx, alice.ID); !after.LastSeen.Equal(before.LastSeen) {
		t.Errorf("touched within the minute: %v → %v", before.LastSeen, after.LastSeen)
	}
	if _, err := pool.Exec(ctx, `UPDATE sessions SET last_seen = now() - interval '2 minutes' WHERE id = $1`, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchSession(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if after, _ := st.Session(ctx, alice.ID); time.Since(after.LastSeen) > time.Minute {
		t.Errorf("not touched after two minutes: %v", after.LastSeen)
	}

	live, _, err := st.LiveSessions(ctx, "ALICE@corp", 10)
	if err != nil || len(live) != 1 || live[0].ID != alice.ID {
		t.Errorf("alice's sessions: %+v, %v", live, err)
	}
	if all, _, err := st.LiveSessions(ctx, "", 10); err != nil || len(all) != 2 {
		t.Errorf("everyone's sessions: %d, %v", len(all), err)
	}
	if err := st.RevokeSession(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeSession(ctx, alice.ID); err != nil {
		t.Errorf("ending an ended session: %v", err)
	}
	if err := st.RevokeSession(ctx, 999999); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("ending no session: %v, want ErrNotFound", err)
	}
	got, now, _ = st.SessionByToken(ctx, hash("alice-secret"))
	if got.State(now, time.Hour) != catalog.SessionRevoked {
		t.Errorf("after revoking: %s", got.State(now, time.Hour))
	}
	if live, _, _ := st.LiveSessions(ctx, "alice@corp", 10); len(live) != 0 {
		t.Errorf("revoked session still listed: %+v", live)
	}
	// Bob signs in again, now in the admins' group: a role change in the
	// security log; signing in again as admin is none.
	for i, secret := range []string{"bob-2", "bob-3"} {
		if _, err := st.CreateSession(ctx, hash(secret), catalog.Session{Login: "Bob@corp", Groups: []string{"catalog-admins"}, Role: catalog.RoleAdmin, RemoteAddr: "192.0.2.7"}, time.Hour); err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
	}
	changes, err := st.AuthEvents(ctx, store.AuthEventFilter{Kinds: []catalog.AuthEventKind{catalog.AuthRoleChanged}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Actor != "Bob@corp" || changes[0].Detail != "role viewer → admin at sign-in, by the identity provider's groups catalog-admins" || changes[0].RemoteAddr != "192.0.2.7" {
		t.Errorf("role changes: %+v, want one, viewer → admin", changes)
	}
}

// TestLoginAttempts takes each sign-in once, and never after its time.
func TestLoginAttempts(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	a := store.LoginAttempt{Nonce: "n", Verifier: "v", ReturnTo: "/datasets/x"}
	if err := st.SaveLoginAttempt(ctx, hash("state"), a, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveLoginAttempt(ctx, hash("old"), a, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE login_attempts SET expires_at = now() - interval '1 second' WHERE state_hash = $1`, hash("old")); err != nil {
		t.Fatal(err)
	}
	got, err := st.TakeLoginAttempt(ctx, hash("state"))
	if err != nil || got != a {
		t.Errorf("take: %+v, %v", got, err)
	}
	if _, err := st.TakeLoginAttempt(ctx, hash("state")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("second take: %v, want ErrNotFound", err)
	}
	if _, err := st.TakeLoginAttempt(ctx, hash("old")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("expired take: %v, want ErrNotFound", err)
	}
	// Saving drops the attempts past their time.
	if err := st.SaveLoginAttempt(ctx, hash("new"), a, time.Minute); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM login_attempts`).Scan(&n); err != nil || n != 1 {
		t.Errorf("attempts left: %d, %v", n, err)
	}
}
