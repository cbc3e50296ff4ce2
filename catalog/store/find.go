package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// DatasetFilter selects datasets; empty fields select everything.
type DatasetFilter struct {
	Namespace string
	// Prefix of the dataset name, e.g. "warehouse.marts."
	Prefix string
	Kind   catalog.Kind
	// Source selects datasets a source reports (or reported, when removed).
	Source string
	// Owner and Tag select datasets a live source says are owned by or
	// tagged with them.
	Owner          string
	Tag            string
	IncludeRemoved bool
}

// DatasetPage is a page of datasets ordered by namespace and name.
type DatasetPage struct {
	IDs []int64
	// Total is the number of datasets matching the filter, or -1 when not
	// asked for.
	Total int
}

// Paging asks for one page of a listing ordered by namespace and name: at
// most Limit items after the key After (from the start when nil), of
// which the first Offset are skipped. Keyset pagination (After) costs the
// same on the last page as on the first; Offset serves pages numbered in
// links. Total asks for the number of every match too.
type Paging struct {
	After  *catalog.Key
	Offset int
	Limit  int
	Total  bool
}

// FindDatasets returns the ids of the page p of the datasets matching f,
// in one statement. DatasetsByIDs reads them.
func (s *Store) FindDatasets(ctx context.Context, f DatasetFilter, p Paging) (DatasetPage, error) {
	// Only the filters in use become conditions, so that the planner sees
	// plain semi-joins it can drive from the owner or tag index rather
	// than an OR it must test on every dataset.
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Namespace != "" {
		where = append(where, "d.namespace = "+arg(f.Namespace))
	}
	if f.Prefix != "" {
		where = append(where, "d.name LIKE "+arg(escapeLike(f.Prefix)+"%"))
	}
	if !f.IncludeRemoved {
		where = append(where, "d.removed_at IS NULL")
	}
	if f.Source != "" {
		where = append(where, "d.id IN (SELECT dataset_id FROM dataset_facts WHERE source = "+arg(f.Source)+")")
	}
	if f.Kind != "" {
		where = append(where, "d.id IN (SELECT dataset_id FROM dataset_facts WHERE kind = "+arg(string(f.Kind))+" AND removed_at IS NULL)")
	}
	if f.Owner != "" {
		where = append(where, `d.id IN (
			SELECT o.dataset_id FROM owners o JOIN dataset_facts f ON f.dataset_id = o.dataset_id AND f.source = o.source
			WHERE o.owner = `+arg(f.Owner)+` AND f.removed_at IS NULL)`)
	}
	if f.Tag != "" {
		where = append(where, `d.id IN (
			SELECT t.dataset_id FROM tags t JOIN dataset_facts f ON f.dataset_id = t.dataset_id AND f.source = t.source
			WHERE t.tag = `+arg(f.Tag)+` AND f.removed_at IS NULL)`)
	}
	cond := "true"
	if len(where) > 0 {
		cond = strings.Join(where, "\n\t\t\t  AND ")
	}
	page := "true"
	if p.After != nil {
		page = "(namespace, name) > (" + arg(p.After.Namespace) + ", " + arg(p.After.Name) + ")"
	}
	total := "NULL::bigint"
	if p.Total {
		total = "(SELECT count(*) FROM matching)"
	}
	sql := `
		WITH matching AS NOT MATERIALIZED (
			SELECT d.id, d.namespace, d.name FROM datasets d
			WHERE ` + cond + `
		)
		SELECT array(SELECT id FROM matching WHERE ` + page + ` ORDER BY namespace, name LIMIT ` + arg(p.Limit) + ` OFFSET ` + arg(p.Offset) + `), ` + total
	var (
		res DatasetPage
		n   *int
	)
	if err := s.pool.QueryRow(ctx, sql, args...).Scan(&res.IDs, &n); err != nil {
		return res, fmt.Errorf("find datasets: %w", translate(err))
	}
	res.Total = -1
	if n != nil {
		res.Total = *n
	}
	return res, nil
}

// OwnerCount is an owner and how many live datasets it owns.
type OwnerCount struct {
	Owner    catalog.Owner // without Type: an owner counts once whatever its ownership types
	Datasets int
}

// Owners lists the distinct owners of live datasets (as live sources say)
// ordered by name and kind, at most limit of them after the owner after.
func (s *Store) Owners(ctx context.Context, after *catalog.Owner, limit int) ([]OwnerCount, error) {
	var afterName, afterKind *string
	if after != nil {
		afterName, afterKind = &after.Name, (*string)(&after.Kind)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT o.owner, o.owner_kind, count(DISTINCT o.dataset_id)
		FROM owners o
		JOIN dataset_facts f ON f.dataset_id = o.dataset_id AND f.source = o.source AND f.removed_at IS NULL
		JOIN datasets d ON d.id = o.dataset_id AND d.removed_at IS NULL
		WHERE $1::text IS NULL OR (o.owner, o.owner_kind) > ($1, $2::text)
		GROUP BY o.owner, o.owner_kind
		ORDER BY o.owner, o.owner_kind LIMIT $3`, afterName, afterKind, limit)
	if err != nil {
		return nil, fmt.Errorf("list owners: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (OwnerCount, error) {
		var c OwnerCount
		err := row.Scan(&c.Owner.Name, &c.Owner.Kind, &c.Datasets)
		return c, err
	})
}

// TagCount is a tag and how many live datasets carry it.
type TagCount struct {
	Tag      string
	Datasets int
}

// Tags lists the distinct tags of live datasets (as live sources say)
// ordered by name, at most limit of them after the tag after ("" for the
// start).
func (s *Store) Tags(ctx context.Context, after string, limit int) ([]TagCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT t.tag, count(DISTINCT t.dataset_id)
		FROM tags t
		JOIN dataset_facts f ON f.dataset_id = t.dataset_id AND f.source = t.source AND f.removed_at IS NULL
		JOIN datasets d ON d.id = t.dataset_id AND d.removed_at IS NULL
		WHERE t.tag > $1
		GROUP BY t.tag ORDER BY t.tag LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[TagCount])
}

// CrawlRuns lists at most limit runs of a source ("" for every source),
// newest first by start (then id), after the run before (0 for the
// newest): the portal's list of runs and the API's pages of them.
func (s *Store) CrawlRuns(ctx context.Context, source string, before int64, limit int) ([]catalog.CrawlRun, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, source, started_at, finished_at, status, counts, errors
		FROM crawl_runs
		WHERE ($1 = '' OR source = $1)
		  AND ($2 = 0 OR (started_at, id) < (SELECT started_at, id FROM crawl_runs WHERE id = $2))
		ORDER BY started_at DESC, id DESC LIMIT $3`, source, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list crawl runs: %w", err)
	}
	return pgx.CollectRows(rows, scanRun)
}
