package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/slo"
)

// People declare SLOs on a dataset as they edit its documentation: each
// create, change and delete is an edit (see edit), authorized by
// catalog.AuthorizeEdit, recorded in the audit log (field "slo", before
// and after as the declaration's JSON) and in the change log. The SLO is
// kept as the declaration written (table dataset_slos), evaluated with
// the configuration's and the harvested ones by DatasetSLOs, with the
// source "user:<login>" of who wrote it last.

// PeopleSLOOrigin is the origin of the SLOs people declare.
const PeopleSLOOrigin = "declared in Almanac"

// CreateSLO declares the SLO d on a dataset on p's behalf. A name that
// one of the dataset's people's SLOs already has is a conflict.
func (s *Store) CreateSLO(ctx context.Context, p catalog.Principal, datasetID int64, d slo.Declaration) (*catalog.AuditEntry, error) {
	return s.putSLO(ctx, "create slo", p, datasetID, d, true)
}

// UpdateSLO replaces the declaration of the dataset's people's SLO named
// d.Name with d; the SLO's source becomes p's. An SLO of that name that
// does not exist is not found.
func (s *Store) UpdateSLO(ctx context.Context, p catalog.Principal, datasetID int64, d slo.Declaration) (*catalog.AuditEntry, error) {
	return s.putSLO(ctx, "update slo", p, datasetID, d, false)
}

func (s *Store) putSLO(ctx context.Context, op string, p catalog.Principal, datasetID int64, d slo.Declaration, create bool) (*catalog.AuditEntry, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("%s %q on dataset %d: %w", op, d.Name, datasetID, err)
	}
	text, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	after := string(text)
	return s.edit(ctx, op, p, datasetID, func(ctx context.Context, tx pgx.Tx, ds catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		before, found, err := peopleSLO(ctx, tx, ds.ID, d.Name)
		switch {
		case err != nil:
			return nil, err
		case create && found:
			return nil, fmt.Errorf("%s already has an SLO named %q; update it instead: %w", ds.Key, d.Name, catalog.ErrConflict)
		case !create && !found:
			return nil, fmt.Errorf("%s has no SLO named %q that people declared: %w", ds.Key, d.Name, catalog.ErrNotFound)
		case before == after:
			return nil, nil // unchanged
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO dataset_slos (dataset_id, name, source, declaration, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (dataset_id, name) DO UPDATE
			SET source = EXCLUDED.source, declaration = EXCLUDED.declaration, updated_at = EXCLUDED.updated_at`,
			ds.ID, d.Name, source, after, now); err != nil {
			return nil, err
		}
		return &catalog.AuditEntry{Field: catalog.FieldSLO, Before: optional(before), After: &after}, nil
	})
}

// DeleteSLO deletes the dataset's people's SLO named name. SLOs of the
// configuration or of a crawled source are removed where they are
// declared.
func (s *Store) DeleteSLO(ctx context.Context, p catalog.Principal, datasetID int64, name string) (*catalog.AuditEntry, error) {
	return s.edit(ctx, "delete slo", p, datasetID, func(ctx context.Context, tx pgx.Tx, ds catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		before, found, err := peopleSLO(ctx, tx, ds.ID, name)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%s has no SLO named %q that people declared (SLOs of the configuration and of sources are removed there): %w", ds.Key, name, catalog.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dataset_slos WHERE dataset_id = $1 AND name = $2`, ds.ID, name); err != nil {
			return nil, err
		}
		return &catalog.AuditEntry{Field: catalog.FieldSLO, Before: &before}, nil
	})
}

// peopleSLO returns the declaration (JSON) of the people's SLO of a
// dataset named name, and whether there is one.
func peopleSLO(ctx context.Context, tx pgx.Tx, datasetID int64, name string) (string, bool, error) {
	var text string
	err := tx.QueryRow(ctx, `SELECT declaration::text FROM dataset_slos WHERE dataset_id = $1 AND name = $2`, datasetID, name).Scan(&text)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	// jsonb reorders keys: give the text as Go writes it, so that the
	// audit entry's before and after compare key by key.
	var d slo.Declaration
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		return "", false, fmt.Errorf("stored slo %q: %w", name, err)
	}
	b, err := json.Marshal(d)
	return string(b), true, err
}
