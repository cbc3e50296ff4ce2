package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// API tokens (package catalog/auth issues and checks them): the store
// keeps each token's SHA-256 hash, never its secret, and records its
// creation and revocation in the security log in the same transaction.

const tokenColumns = `id, name, owner, role, scopes, created_by, created_at, expires_at, last_used_at, revoked_at, revoked_by`

func scanToken(row pgx.CollectableRow) (catalog.APIToken, error) {
	var (
		t                   catalog.APIToken
		scopes              []string
		lastUsed, revokedAt *time.Time
	)
	err := row.Scan(&t.ID, &t.Name, &t.Owner, &t.Role, &scopes, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &lastUsed, &revokedAt, &t.RevokedBy)
	if err != nil {
		return t, err
	}
	if lastUsed != nil {
		t.LastUsedAt = *lastUsed
	}
	if revokedAt != nil {
		t.RevokedAt = *revokedAt
	}
	for _, s := range scopes {
		t.Scopes = append(t.Scopes, catalog.TokenScope(s))
	}
	return t, nil
}

func scopeStrings(scopes []catalog.TokenScope) []string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return s
}

// CreateToken stores t (as catalog.AuthorizeTokenCreate returned it) under
// the SHA-256 hash of its secret, and records its creation as ev says (the
// kind and outcome are set here). It returns t with its ID. A live token
// of the same owner and name is an ErrConflict.
func (s *Store) CreateToken(ctx context.Context, t catalog.APIToken, hash []byte, ev catalog.AuthEvent) (catalog.APIToken, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO api_tokens (hash, name, owner, role, scopes, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			hash, t.Name, t.Owner, string(t.Role), scopeStrings(t.Scopes), t.CreatedBy, t.CreatedAt, t.ExpiresAt).Scan(&t.ID)
		if err != nil {
			return err
		}
		ev.Kind, ev.Success, ev.At = catalog.AuthTokenCreated, true, t.CreatedAt
		return recordAuthEvent(ctx, tx, ev)
	})
	if err != nil {
		err = translate(err)
		if errors.Is(err, catalog.ErrConflict) {
			return catalog.APIToken{}, fmt.Errorf("create token %q: a live token of that name exists: revoke it or choose another name: %w", t.Name, catalog.ErrConflict)
		}
		return catalog.APIToken{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return t, nil
}

// TokenByHash returns the token whose secret hashes to hash, revoked or
// expired as it may be; ErrNotFound when none does.
//
// The role of a personal token is capped by its owner's role at their
// newest sign-in: roles come from the identity provider's groups at each
// sign-in, so a person removed from the admins' group loses admin through
// their old tokens too, from their next sign-in on. (A token never gains
// a role its owner's sign-in gains.)
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (catalog.APIToken, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT t.id, t.name, t.owner,
			CASE WHEN s.role IS NOT NULL AND `+roleRank("s.role")+` < `+roleRank("t.role")+` THEN s.role ELSE t.role END,
			t.scopes, t.created_by, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, t.revoked_by
		FROM api_tokens t
		LEFT JOIN LATERAL (
			SELECT role FROM sessions
			WHERE t.owner <> '' AND lower(login) = lower(t.owner)
			ORDER BY created_at DESC, id DESC LIMIT 1
		) s ON true
		WHERE t.hash = $1`, hash)
	if err != nil {
		return catalog.APIToken{}, fmt.Errorf("look up token: %w", translate(err))
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if err != nil {
		return catalog.APIToken{}, fmt.Errorf("look up token: %w", translate(err))
	}
	return t, nil
}

// roleRank orders roles in SQL, least privileged first.
func roleRank(col string) string {
	return "(CASE " + col + " WHEN 'viewer' THEN 0 WHEN 'editor' THEN 1 ELSE 2 END)"
}

// Token returns the token with the id; ErrNotFound when none has it.
func (s *Store) Token(ctx context.Context, id int64) (catalog.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id)
	if err != nil {
		return catalog.APIToken{}, fmt.Errorf("token %d: %w", id, translate(err))
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if err != nil {
		return catalog.APIToken{}, fmt.Errorf("token %d: %w", id, translate(err))
	}
	return t, nil
}

// TokenFilter selects tokens. Its zero value selects every token.
type TokenFilter struct {
	// Owner selects the personal tokens of one login, when not "".
	Owner string
	// Service selects the service tokens only.
	Service bool
}

// Tokens lists the tokens f selects, newest first.
func (s *Store) Tokens(ctx context.Context, f TokenFilter) ([]catalog.APIToken, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+tokenColumns+` FROM api_tokens
		WHERE ($1 = '' OR owner = $1) AND (NOT $2 OR owner = '')
		ORDER BY created_at DESC, id DESC`, f.Owner, f.Service)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", translate(err))
	}
	ts, err := pgx.CollectRows(rows, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", translate(err))
	}
	return ts, nil
}

// RevokeToken revokes the token id as p, if catalog.AuthorizeTokenRevoke
// lets p, at now, and records it as ev says. Revoking a revoked token
// changes nothing and records nothing. It returns the token as it is
// afterwards.
func (s *Store) RevokeToken(ctx context.Context, p catalog.Principal, id int64, now time.Time, ev catalog.AuthEvent) (catalog.APIToken, error) {
	var t catalog.APIToken
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if t, err = pgx.CollectExactlyOneRow(rows, scanToken); err != nil {
			return err
		}
		if err := catalog.AuthorizeTokenRevoke(p, t); err != nil {
			return err
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2, revoked_by = $3 WHERE id = $1`, id, now, p.Login); err != nil {
			return err
		}
		t.RevokedAt, t.RevokedBy = now, p.Login
		ev.Kind, ev.Success, ev.At, ev.Actor, ev.Subject = catalog.AuthTokenRevoked, true, now, p.Login, t.Principal().Login+" "+t.Name
		return recordAuthEvent(ctx, tx, ev)
	})
	if err != nil {
		return catalog.APIToken{}, fmt.Errorf("revoke token %d: %w", id, translate(err))
	}
	return t, nil
}

// TouchToken notes that the token id authenticated a request at now: its
// last use, written at most once a minute. It reports whether the token
// had not been used for an hour (or ever), so that the caller records the
// use in the security log then and not on every request.
func (s *Store) TouchToken(ctx context.Context, id int64, now time.Time) (firstInAWhile bool, err error) {
	var prev *time.Time
	err = s.pool.QueryRow(ctx, `
		WITH old AS (SELECT id, last_used_at FROM api_tokens WHERE id = $1 FOR UPDATE)
		UPDATE api_tokens t SET last_used_at = $2::timestamptz FROM old
		WHERE t.id = old.id AND (old.last_used_at IS NULL OR old.last_used_at < $2::timestamptz - interval '1 minute')
		RETURNING old.last_used_at`, id, now).Scan(&prev)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // used within the minute, or gone
	}
	if err != nil {
		return false, fmt.Errorf("note use of token %d: %w", id, translate(err))
	}
	return prev == nil || now.Sub(*prev) >= time.Hour, nil
}
