package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// SetDescription records a person's description of a dataset (column "")
// or of one of its columns, as facts of the source "user:<user>". Crawls
// never touch such facts; the merged view prefers them.
func (s *Store) SetDescription(ctx context.Context, key catalog.Key, column, user, text string) error {
	user = strings.TrimSpace(user)
	if user == "" {
		return fmt.Errorf("set description of %s: no user: %w", key, catalog.ErrForbidden)
	}
	source := "user:" + user
	now := s.now()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM datasets WHERE namespace = $1 AND name = $2`, key.Namespace, key.Name).Scan(&id)
		if err != nil {
			return translate(err)
		}
		if column != "" {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM columns WHERE dataset_id = $1 AND name = $2`, id, column).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("no column %q: %w", column, catalog.ErrNotFound)
			}
		}
		// The user's facts row carries only what people edit; its hash is
		// never compared, as no crawl writes this source.
		desc := text
		if column != "" {
			desc = ""
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO dataset_facts (dataset_id, source, description, content_hash, updated_at)
			VALUES ($1, $2, $3, '\x00', $4)
			ON CONFLICT (dataset_id, source) DO UPDATE
			SET description = CASE WHEN $5 THEN dataset_facts.description ELSE EXCLUDED.description END,
			    updated_at = EXCLUDED.updated_at`,
			id, source, desc, now, column != "")
		if err != nil {
			return err
		}
		if column != "" {
			_, err = tx.Exec(ctx, `
				INSERT INTO columns (dataset_id, source, name, description) VALUES ($1, $2, $3, $4)
				ON CONFLICT (dataset_id, source, name) DO UPDATE SET description = EXCLUDED.description`,
				id, source, column, text)
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE datasets SET updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		return appendChanges(ctx, tx, [][]any{changeRow(id, key, catalog.ChangeUpdated, source, now)})
	})
	if err != nil {
		return fmt.Errorf("set description of %s: %w", key, err)
	}
	return nil
}
