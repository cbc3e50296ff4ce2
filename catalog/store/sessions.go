package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// CreateSession stores s as a new session whose cookie secret hashes to
// tokenHash (SHA-256), lasting ttl from now by the database's clock, which
// every replica judges sessions by; its ID, CreatedAt, LastSeen and
// ExpiresAt are the store's.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, sess catalog.Session, ttl time.Duration) (catalog.Session, error) {
	groups := sess.Groups
	if groups == nil {
		groups = []string{}
	}
	// A role unlike that of the person's previous session (their groups
	// at the identity provider, or the mapping, changed) is a role change
	// for the security log, written with the session.
	err := s.pool.QueryRow(ctx, `
		WITH prev AS (
			SELECT role FROM sessions WHERE lower(login) = lower($2) ORDER BY created_at DESC, id DESC LIMIT 1
		), created AS (
			INSERT INTO sessions (token_hash, login, name, email, groups, role, expires_at, user_agent, remote_addr)
			VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $8, $9)
			RETURNING id, created_at, last_seen, expires_at
		), changed AS (
			INSERT INTO auth_events (kind, outcome, actor, subject, detail, remote_addr)
			SELECT 'role_changed', 'success', $2, $2,
				'role ' || prev.role || ' → ' || $6::text || ' at sign-in, by the identity provider''s groups ' || array_to_string($5::text[], ', '), $9
			FROM prev, created WHERE prev.role <> $6::text
		)
		SELECT id, created_at, last_seen, expires_at FROM created`,
		tokenHash, sess.Login, clip(sess.Name), clip(sess.Email), groups, sess.Role, ttl.Seconds(),
		clip(sess.UserAgent), sess.RemoteAddr).Scan(&sess.ID, &sess.CreatedAt, &sess.LastSeen, &sess.ExpiresAt)
	if err != nil {
		return sess, fmt.Errorf("create session of %s: %w", sess.Login, translate(err))
	}
	return sess, nil
}

// clip bounds a text the identity provider or the browser chose.
func clip(s string) string {
	if len(s) > 1000 {
		return s[:1000]
	}
	return s
}

const sessionColumns = `id, login, name, email, groups, role, created_at, last_seen, expires_at, revoked_at, user_agent, remote_addr`

func scanSession(row pgx.Row, extra ...any) (catalog.Session, error) {
	var sess catalog.Session
	dest := append([]any{&sess.ID, &sess.Login, &sess.Name, &sess.Email, &sess.Groups, &sess.Role,
		&sess.CreatedAt, &sess.LastSeen, &sess.ExpiresAt, &sess.RevokedAt, &sess.UserAgent, &sess.RemoteAddr}, extra...)
	err := row.Scan(dest...)
	return sess, err
}

// SessionByToken returns the session whose cookie secret hashes to
// tokenHash, live or not, and the database's clock, which every replica
// judges timeouts by; ErrNotFound when there is none.
func (s *Store) SessionByToken(ctx context.Context, tokenHash []byte) (catalog.Session, time.Time, error) {
	var now time.Time
	sess, err := scanSession(s.pool.QueryRow(ctx, `
		SELECT `+sessionColumns+`, now() FROM sessions WHERE token_hash = $1`, tokenHash), &now)
	if err != nil {
		return sess, now, fmt.Errorf("read session: %w", translate(err))
	}
	return sess, now, nil
}

// TouchSession records that session id was used now, unless it was within
// the last minute: a session read on every request is written at most
// once a minute.
func (s *Store) TouchSession(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE sessions SET last_seen = now()
		WHERE id = $1 AND last_seen < now() - interval '1 minute' AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("touch session %d: %w", id, translate(err))
	}
	return nil
}

// Session returns session id, live or not.
func (s *Store) Session(ctx context.Context, id int64) (catalog.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return sess, fmt.Errorf("read session %d: %w", id, translate(err))
	}
	return sess, nil
}

// RevokeSession ends session id at once, for every replica; ending an
// ended session changes nothing. It returns ErrNotFound when there is no
// such session.
func (s *Store) RevokeSession(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("end session %d: %w", id, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("end session %d: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// LiveSessions lists the sessions neither revoked nor past their absolute
// expiry, newest first: of login when it is not "", else of everyone; at
// most limit. Sessions idle too long are listed too, for an admin to see
// (their State says so).
func (s *Store) LiveSessions(ctx context.Context, login string, limit int) ([]catalog.Session, time.Time, error) {
	var now time.Time
	rows, err := s.pool.Query(ctx, `
		SELECT `+sessionColumns+`, now() FROM sessions
		WHERE revoked_at IS NULL AND expires_at > now()
		  AND ($1 = '' OR lower(login) = lower($1))
		ORDER BY created_at DESC, id DESC
		LIMIT $2`, login, limit)
	if err != nil {
		return nil, now, fmt.Errorf("list sessions: %w", translate(err))
	}
	sessions, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Session, error) {
		return scanSession(row, &now)
	})
	if err != nil {
		return nil, now, fmt.Errorf("list sessions: %w", translate(err))
	}
	return sessions, now, nil
}

// LoginAttempt is a sign-in under way: what the callback needs to check
// the identity provider's answer.
type LoginAttempt struct {
	Nonce    string
	Verifier string // the PKCE code verifier
	ReturnTo string // the page to go back to
}

// SaveLoginAttempt stores a as the sign-in whose state hashes to
// stateHash, for ttl; it also drops attempts past their time, so that
// abandoned sign-ins do not pile up.
func (s *Store) SaveLoginAttempt(ctx context.Context, stateHash []byte, a LoginAttempt, ttl time.Duration) error {
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM login_attempts WHERE expires_at < now()`)
	batch.Queue(`INSERT INTO login_attempts (state_hash, nonce, verifier, return_to, expires_at)
		VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
		stateHash, a.Nonce, a.Verifier, a.ReturnTo, ttl.Seconds())
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("save sign-in attempt: %w", translate(err))
	}
	return nil
}

// TakeLoginAttempt returns and deletes the sign-in whose state hashes to
// stateHash: a state is good once, on any replica. It returns ErrNotFound
// for an unknown, used or expired state.
func (s *Store) TakeLoginAttempt(ctx context.Context, stateHash []byte) (LoginAttempt, error) {
	var a LoginAttempt
	err := s.pool.QueryRow(ctx, `
		DELETE FROM login_attempts WHERE state_hash = $1 AND expires_at > now()
		RETURNING nonce, verifier, return_to`, stateHash).Scan(&a.Nonce, &a.Verifier, &a.ReturnTo)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("no sign-in under way for this state: %w", catalog.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("take sign-in attempt: %w", translate(err))
	}
	return a, nil
}
