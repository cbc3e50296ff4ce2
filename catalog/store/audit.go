package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// An edit is a person's change to a dataset's documentation, tags or
// owners. Each one runs in one transaction that locks the dataset, reads
// it, asks catalog.AuthorizeEdit whether the principal may edit it, writes
// the principal's facts (source "user:<login>", which no crawl replaces),
// records the audit entry and appends to the change log. An edit that
// changes nothing writes nothing and returns no entry.

// editFunc applies one edit inside the transaction and says what changed:
// nil when nothing did.
type editFunc func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error)

func (s *Store) edit(ctx context.Context, op string, p catalog.Principal, datasetID int64, do editFunc) (*catalog.AuditEntry, error) {
	var (
		entry   *catalog.AuditEntry
		refused error
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Lock the dataset so that concurrent edits see each other's
		// "before" values.
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM datasets WHERE id = $1 FOR UPDATE`, datasetID).Scan(&id); err != nil {
			return fmt.Errorf("dataset %d: %w", datasetID, translate(err))
		}
		ds, err := datasetsByIDs(ctx, tx, []int64{id})
		if err != nil {
			return err
		}
		d := ds[0]
		if err := catalog.AuthorizeEdit(p, d); err != nil {
			refused = err
			return err
		}
		now := s.now()
		source := p.Source()
		e, err := do(ctx, tx, d, source, now)
		if err != nil || e == nil {
			return err
		}
		e.At, e.Actor, e.DatasetID, e.Dataset = now, p.Login, id, d.Key
		err = tx.QueryRow(ctx, `
			INSERT INTO audit_log (at, actor, dataset_id, field, column_name, before, after)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			e.At, e.Actor, e.DatasetID, string(e.Field), e.Column, e.Before, e.After).Scan(&e.ID)
		if err != nil {
			return fmt.Errorf("record audit entry: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE datasets SET updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		entry = e
		detail := catalog.FieldChange{Field: e.Field, Column: e.Column, Before: e.Before, After: e.After}
		return appendChanges(ctx, tx, [][]any{changeRowDetails(id, d.Key, catalog.ChangeUpdated, source, now, []catalog.FieldChange{detail})})
	})
	if refused != nil && p.ViaToken() {
		// A token refused a write is a token event: recorded outside the
		// edit's transaction, which rolls back.
		ev := catalog.AuthEvent{Kind: catalog.AuthTokenUsed, Actor: p.Login, Subject: catalog.TokenNameFrom(ctx), Detail: refused.Error(), RemoteAddr: catalog.RemoteAddrFrom(ctx)}
		if rerr := s.RecordAuthEvent(context.WithoutCancel(ctx), ev); rerr != nil {
			return nil, fmt.Errorf("%s of dataset %d: %w (and recording the refusal: %v)", op, datasetID, translate(err), rerr)
		}
	}
	if err != nil {
		if errors.Is(err, catalog.ErrForbidden) || errors.Is(err, catalog.ErrUnauthenticated) {
			// A refused edit is a security event as well as an error:
			// the portal and GraphQL both come through here.
			e := catalog.AuthEvent{Kind: catalog.AuthAccessDenied, Actor: p.Login,
				Subject: fmt.Sprintf("dataset %d", datasetID), Detail: op + ": " + err.Error(), RemoteAddr: RemoteAddrFrom(ctx)}
			if rerr := s.RecordAuthEvent(context.WithoutCancel(ctx), e); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return nil, fmt.Errorf("%s of dataset %d: %w", op, datasetID, translate(err))
	}
	return entry, nil
}

type remoteAddrKey struct{}

// WithRemoteAddr returns ctx carrying addr, the client address of the
// request it serves, for the security events recorded under it.
func WithRemoteAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteAddrKey{}, addr)
}

// RemoteAddrFrom returns the client address WithRemoteAddr put in ctx.
func RemoteAddrFrom(ctx context.Context) string {
	s, _ := ctx.Value(remoteAddrKey{}).(string)
	return s
}

// userFacts makes sure the principal's facts row exists and carries the
// time of their latest edit. Its hash is never compared, as no crawl writes
// this source.
func userFacts(ctx context.Context, tx pgx.Tx, id int64, source string, now time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO dataset_facts (dataset_id, source, content_hash, updated_at) VALUES ($1, $2, '\x00', $3)
		ON CONFLICT (dataset_id, source) DO UPDATE SET updated_at = EXCLUDED.updated_at`, id, source, now)
	return err
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ownFacts returns what source asserts about d.
func ownFacts(d catalog.Dataset, source string) (catalog.SourceFacts, bool) {
	i := slices.IndexFunc(d.Sources, func(f catalog.SourceFacts) bool { return f.Source == source })
	if i < 0 {
		return catalog.SourceFacts{}, false
	}
	return d.Sources[i], true
}

// SetDatasetDescription records p's description of a dataset; "" withdraws
// it, so that the description of the next source shows again. The audit
// entry's Before is the description shown before, After what p wrote.
func (s *Store) SetDatasetDescription(ctx context.Context, p catalog.Principal, datasetID int64, text string) (*catalog.AuditEntry, error) {
	if err := validText(text); err != nil {
		return nil, err
	}
	return s.edit(ctx, "set description", p, datasetID, func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		if own, _ := ownFacts(d, source); own.Description == text {
			return nil, nil
		}
		if err := userFacts(ctx, tx, d.ID, source, now); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE dataset_facts SET description = $3 WHERE dataset_id = $1 AND source = $2`, d.ID, source, text); err != nil {
			return nil, err
		}
		return &catalog.AuditEntry{Field: catalog.FieldDescription, Before: optional(d.Description), After: optional(text)}, nil
	})
}

// SetColumnDescription records p's description of a column of a dataset;
// "" withdraws it.
func (s *Store) SetColumnDescription(ctx context.Context, p catalog.Principal, datasetID int64, column, text string) (*catalog.AuditEntry, error) {
	if err := validText(text); err != nil {
		return nil, err
	}
	if err := catalog.ValidName("column", column); err != nil {
		return nil, err
	}
	return s.edit(ctx, "set column description", p, datasetID, func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		i := slices.IndexFunc(d.Columns, func(c catalog.DatasetColumn) bool { return c.Name == column })
		if i < 0 {
			return nil, fmt.Errorf("%s has no column %q: %w", d.Key, column, catalog.ErrNotFound)
		}
		c := d.Columns[i]
		own, _ := ownFacts(d, source)
		if j := slices.IndexFunc(own.Columns, func(c catalog.Column) bool { return c.Name == column }); (j >= 0 && own.Columns[j].Description == text) || (j < 0 && text == "") {
			return nil, nil
		}
		if err := userFacts(ctx, tx, d.ID, source, now); err != nil {
			return nil, err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO columns (dataset_id, source, name, description) VALUES ($1, $2, $3, $4)
			ON CONFLICT (dataset_id, source, name) DO UPDATE SET description = EXCLUDED.description`,
			d.ID, source, column, text)
		if err != nil {
			return nil, err
		}
		return &catalog.AuditEntry{Field: catalog.FieldColumnDescription, Column: column, Before: optional(c.Description), After: optional(text)}, nil
	})
}

// AddTag tags a dataset on p's behalf. A tag the dataset already has is
// left as it is.
func (s *Store) AddTag(ctx context.Context, p catalog.Principal, datasetID int64, tag string) (*catalog.AuditEntry, error) {
	if err := catalog.ValidateTag(tag); err != nil {
		return nil, fmt.Errorf("add tag to dataset %d: %w", datasetID, err)
	}
	return s.edit(ctx, "add tag", p, datasetID, func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		if slices.ContainsFunc(d.Tags, func(t catalog.Sourced[string]) bool { return t.Value == tag }) {
			return nil, nil
		}
		if err := userFacts(ctx, tx, d.ID, source, now); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tags (dataset_id, source, tag) VALUES ($1, $2, $3)`, d.ID, source, tag); err != nil {
			return nil, err
		}
		return &catalog.AuditEntry{Field: catalog.FieldTag, After: &tag}, nil
	})
}

// RemoveTag removes a tag that people gave a dataset. A tag a crawled
// source asserts cannot be removed here: the next crawl would bring it
// back, so it must be removed at the source.
func (s *Store) RemoveTag(ctx context.Context, p catalog.Principal, datasetID int64, tag string) (*catalog.AuditEntry, error) {
	return s.edit(ctx, "remove tag", p, datasetID, func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		if !slices.ContainsFunc(d.Tags, func(t catalog.Sourced[string]) bool { return t.Value == tag }) {
			return nil, fmt.Errorf("%s has no tag %q: %w", d.Key, tag, catalog.ErrNotFound)
		}
		for _, f := range d.Sources {
			if !catalog.IsUserSource(f.Source) && f.RemovedAt == nil && slices.Contains(f.Tags, tag) {
				return nil, fmt.Errorf("tag %q of %s comes from %s; remove it there: %w", tag, d.Key, f.Source, catalog.ErrInvalid)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tags WHERE dataset_id = $1 AND source LIKE 'user:%' AND tag = $2`, d.ID, tag); err != nil {
			return nil, err
		}
		return &catalog.AuditEntry{Field: catalog.FieldTag, Before: &tag}, nil
	})
}

// AddOwner records an owner of a dataset on p's behalf. An owner the
// dataset already has (same name, kind and type) is left as it is.
func (s *Store) AddOwner(ctx context.Context, p catalog.Principal, datasetID int64, o catalog.Owner) (*catalog.AuditEntry, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("add owner to dataset %d: %w", datasetID, err)
	}
	return s.edit(ctx, "add owner", p, datasetID, func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		if slices.ContainsFunc(d.Owners, func(x catalog.Sourced[catalog.Owner]) bool { return x.Value == o }) {
			return nil, nil
		}
		if err := userFacts(ctx, tx, d.ID, source, now); err != nil {
			return nil, err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO owners (dataset_id, source, owner, owner_kind, ownership_type) VALUES ($1, $2, $3, $4, $5)`,
			d.ID, source, o.Name, string(o.Kind), o.Type)
		if err != nil {
			return nil, err
		}
		after := o.String()
		return &catalog.AuditEntry{Field: catalog.FieldOwner, After: &after}, nil
	})
}

// RemoveOwner removes an owner that people gave a dataset; like tags,
// owners a crawled source asserts must be removed at the source.
func (s *Store) RemoveOwner(ctx context.Context, p catalog.Principal, datasetID int64, o catalog.Owner) (*catalog.AuditEntry, error) {
	return s.edit(ctx, "remove owner", p, datasetID, func(ctx context.Context, tx pgx.Tx, d catalog.Dataset, source string, now time.Time) (*catalog.AuditEntry, error) {
		if !slices.ContainsFunc(d.Owners, func(x catalog.Sourced[catalog.Owner]) bool { return x.Value == o }) {
			return nil, fmt.Errorf("%s has no owner %s: %w", d.Key, o, catalog.ErrNotFound)
		}
		for _, f := range d.Sources {
			if !catalog.IsUserSource(f.Source) && f.RemovedAt == nil && slices.Contains(f.Owners, o) {
				return nil, fmt.Errorf("owner %s of %s comes from %s; remove it there: %w", o, d.Key, f.Source, catalog.ErrInvalid)
			}
		}
		_, err := tx.Exec(ctx, `
			DELETE FROM owners WHERE dataset_id = $1 AND source LIKE 'user:%' AND owner = $2 AND owner_kind = $3 AND ownership_type = $4`,
			d.ID, o.Name, string(o.Kind), o.Type)
		if err != nil {
			return nil, err
		}
		before := o.String()
		return &catalog.AuditEntry{Field: catalog.FieldOwner, Before: &before}, nil
	})
}

// AuditFilter selects entries of the audit log. Its zero value selects
// every entry.
type AuditFilter struct {
	// DatasetID is one dataset's id; 0 for every dataset.
	DatasetID int64
	// Dataset is part of a dataset's name, in any case: "orders" selects
	// warehouse.marts.fct_orders.
	Dataset string
	// Actor is the login of who made the edits, in any case.
	Actor string
	// Fields are the fields the edits changed; none for every field.
	Fields []catalog.EditField
	// Since and Until bound when the edits were made: Since <= at <
	// Until. A zero time leaves that end open.
	Since, Until time.Time
	// After continues a listing past the entry it names, in the log's
	// order (newest first, then by id); the zero cursor starts at the
	// newest.
	After AuditCursor
}

// AuditCursor is a place in the audit log: the time and id of an entry.
// A cursor of an instant with id 0 comes after every entry of that
// instant; one with the largest id, before them all.
type AuditCursor struct {
	At time.Time
	ID int64
}

// AuditLog lists at most limit entries of the audit log that f selects,
// newest first (by time, then by id), each with its dataset's key.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter, limit int) ([]catalog.AuditEntry, error) {
	fields := make([]string, len(f.Fields))
	for i, x := range f.Fields {
		fields[i] = string(x)
	}
	var since, until, after *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	if !f.Until.IsZero() {
		until = &f.Until
	}
	if !f.After.At.IsZero() {
		after = &f.After.At
	}
	rows, err := s.pool.Query(ctx, `
		SELECT a.id, a.at, a.actor, a.dataset_id, d.namespace, d.name, a.field, a.column_name, a.before, a.after
		FROM audit_log AS a JOIN datasets AS d ON d.id = a.dataset_id
		WHERE ($1 = 0 OR a.dataset_id = $1)
		  AND ($2 = '' OR d.name ILIKE '%' || $2 || '%')
		  AND ($3 = '' OR lower(a.actor) = lower($3))
		  AND (cardinality($4::text[]) = 0 OR a.field = ANY($4))
		  AND ($5::timestamptz IS NULL OR a.at >= $5)
		  AND ($6::timestamptz IS NULL OR a.at < $6)
		  AND ($7::timestamptz IS NULL OR (a.at, a.id) < ($7, $8))
		ORDER BY a.at DESC, a.id DESC
		LIMIT $9`,
		f.DatasetID, escapeLike(f.Dataset), f.Actor, fields, since, until, after, f.After.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", translate(err))
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.AuditEntry, error) {
		var e catalog.AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Actor, &e.DatasetID, &e.Dataset.Namespace, &e.Dataset.Name, &e.Field, &e.Column, &e.Before, &e.After)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", translate(err))
	}
	return entries, nil
}

// validText refuses a description PostgreSQL cannot store as text.
func validText(text string) error {
	if strings.ContainsRune(text, 0) {
		return fmt.Errorf("description contains a NUL character: %w", catalog.ErrInvalid)
	}
	if !utf8.ValidString(text) {
		return fmt.Errorf("description is not valid UTF-8: %w", catalog.ErrInvalid)
	}
	return nil
}
