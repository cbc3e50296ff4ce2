package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps the external links of datasets (dataset_links): where
// their work is tracked or documented elsewhere. Adding and removing one
// is an edit (see audit.go): authorized as one, audited, and in the
// change log.

// maxLinks bounds the links of one dataset, so that a page stays a page.
const maxLinks = 50

// DatasetLinks returns the external links of the datasets ids, by
// dataset, oldest first, in one statement.
func (s *Store) DatasetLinks(ctx context.Context, ids []int64) (map[int64][]catalog.Link, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT dataset_id, id, title, url, added_by, added_at FROM dataset_links
		WHERE dataset_id = ANY($1) ORDER BY dataset_id, added_at, id`, ids)
	if err != nil {
		return nil, fmt.Errorf("links of %d datasets: %w", len(ids), translate(err))
	}
	out := make(map[int64][]catalog.Link, len(ids))
	var (
		id int64
		l  catalog.Link
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &l.ID, &l.Title, &l.URL, &l.AddedBy, &l.AddedAt}, func() error {
		out[id] = append(out[id], l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("links of %d datasets: %w", len(ids), translate(err))
	}
	return out, nil
}

// AddDatasetLink adds an external link to a dataset on p's behalf: title
// and an http(s) URL (catalog.ValidateLink). A link to a URL the dataset
// has already is retitled.
func (s *Store) AddDatasetLink(ctx context.Context, p catalog.Principal, datasetID int64, title, url string) (*catalog.AuditEntry, error) {
	if err := catalog.ValidateLink(title, url); err != nil {
		return nil, fmt.Errorf("add link to dataset %d: %w", datasetID, err)
	}
	return s.edit(ctx, "add link", p, datasetID, func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		var (
			n      int
			before *string
		)
		err := tx.QueryRow(ctx, `
			SELECT count(*), max(title || ' <' || url || '>') FILTER (WHERE url = $2)
			FROM dataset_links WHERE dataset_id = $1`, d.ID, url).Scan(&n, &before)
		if err != nil {
			return nil, err
		}
		after := catalog.Link{Title: title, URL: url}.String()
		switch {
		case before != nil && *before == after:
			return nil, nil
		case before == nil && n >= maxLinks:
			return nil, fmt.Errorf("%s has %d links already, the most a dataset may have: %w", d.Key, maxLinks, catalog.ErrInvalid)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO dataset_links (dataset_id, title, url, added_by, added_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (dataset_id, url) DO UPDATE SET title = EXCLUDED.title, added_by = EXCLUDED.added_by, added_at = EXCLUDED.added_at`,
			d.ID, title, url, p.Login, now)
		if err != nil {
			return nil, err
		}
		return &catalog.AuditEntry{Field: catalog.FieldLink, Before: before, After: &after}, nil
	})
}

// RemoveDatasetLink removes the external link to url from a dataset on
// p's behalf.
func (s *Store) RemoveDatasetLink(ctx context.Context, p catalog.Principal, datasetID int64, url string) (*catalog.AuditEntry, error) {
	return s.edit(ctx, "remove link", p, datasetID, func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		var before string
		err := tx.QueryRow(ctx, `
			DELETE FROM dataset_links WHERE dataset_id = $1 AND url = $2 RETURNING title || ' <' || url || '>'`, d.ID, url).Scan(&before)
		if err != nil {
			return nil, fmt.Errorf("%s has no link to %q: %w", d.Key, url, translate(err))
		}
		return &catalog.AuditEntry{Field: catalog.FieldLink, Before: &before}, nil
	})
}
