package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// SearchDoc is what the search index needs of one dataset: the dataset
// merged across sources (with each source's facts, so that every source's
// description can be indexed), without definitions and foreign keys, and
// how many other datasets point at it.
type SearchDoc struct {
	catalog.Dataset
	// Consumers counts the live datasets whose foreign keys reference this
	// one: a first signal of how much it is used, until lineage counts
	// downstream jobs too.
	Consumers int
	// Popularity is the dataset's popularity score (see
	// catalog.Popularity), 0 when nobody reads it.
	Popularity float64
}

// SearchDocs returns the datasets with the given ids as the search index
// needs them, in the order of ids; ids of no dataset are left out. It runs
// six statements in one round trip however many ids there are.
//
// It reads the facts as DatasetsByIDs does (queueFacts), but less of
// them: what the index does not use (see factRead.full) would slow a
// rebuild of the whole catalog.
func (s *Store) SearchDocs(ctx context.Context, ids []int64) ([]SearchDoc, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	consumers := make(map[int64]int, len(ids))
	b := &pgx.Batch{}
	set := queueFacts(b, ids, factRead{})
	b.Queue(`
		SELECT t.id, count(DISTINCT fk.dataset_id)
		FROM datasets t
		JOIN foreign_keys fk ON fk.target_namespace = t.namespace AND fk.target_name = t.name AND fk.dataset_id <> t.id
		JOIN dataset_facts df ON df.dataset_id = fk.dataset_id AND df.source = fk.source AND df.removed_at IS NULL
		WHERE t.id = ANY($1)
		GROUP BY t.id`, ids).Query(func(rows pgx.Rows) error {
		var (
			id int64
			n  int
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
			consumers[id] = n
			return nil
		})
		return err
	})
	popularity := make(map[int64]float64, len(ids))
	b.Queue(`SELECT dataset_id, score FROM dataset_popularity WHERE dataset_id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		var (
			id    int64
			score float64
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &score}, func() error {
			popularity[id] = score
			return nil
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load %d datasets for search: %w", len(ids), err)
	}
	ds := set.merged(ids)
	out := make([]SearchDoc, len(ds))
	for i, d := range ds {
		out[i] = SearchDoc{Dataset: d, Consumers: consumers[d.ID], Popularity: popularity[d.ID]}
	}
	return out, nil
}

// DatasetIDsAfter returns at most limit dataset ids greater than after, in
// order, removed datasets included: the search index pages through the
// whole catalog with it when it rebuilds.
func (s *Store) DatasetIDsAfter(ctx context.Context, after int64, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM datasets WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list dataset ids after %d: %w", after, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list dataset ids after %d: %w", after, err)
	}
	return ids, nil
}

// The kinds of text CatalogTexts reads.
const (
	// TextName is a dataset's qualified name.
	TextName = iota
	// TextIdentifier is the name of a column, a tag or an owner.
	TextIdentifier
	// TextProse is a description.
	TextProse
)

// CatalogTexts calls f with every distinct name and description of the
// catalog, removed datasets included, and n, how often it comes: what the
// search index learns its vocabulary from, without reading every dataset
// whole as SearchDocs does. They are each dataset's qualified name (n is
// 1), its distinct tags, owners and descriptions (n counts the datasets),
// and its columns' names and descriptions as each source gives them (n
// counts the columns: a column that two sources report counts twice,
// where SearchDocs merges it). PostgreSQL counts them: column names and
// descriptions repeat from table to table, and counting them there took
// a quarter less time than streaming every column here.
func (s *Store) CatalogTexts(ctx context.Context, f func(kind int, text string, n int) error) error {
	rows, err := s.pool.Query(ctx, `
		SELECT $1::int, name, 1 FROM datasets
		UNION ALL SELECT $2, name, count(*) FROM columns GROUP BY name
		UNION ALL SELECT $3, description, count(*) FROM columns WHERE description <> '' GROUP BY description
		UNION ALL SELECT $2, tag, count(*) FROM (SELECT DISTINCT dataset_id, tag FROM tags) t GROUP BY tag
		UNION ALL SELECT $2, owner, count(*) FROM (SELECT DISTINCT dataset_id, owner FROM owners) o GROUP BY owner
		UNION ALL SELECT $3, description, count(*) FROM (
			SELECT DISTINCT dataset_id, description FROM dataset_facts WHERE description <> '') d GROUP BY description`,
		TextName, TextIdentifier, TextProse)
	if err != nil {
		return fmt.Errorf("read the catalog's names: %w", err)
	}
	defer rows.Close()
	var (
		kind, n int
		text    string
	)
	for rows.Next() {
		if err := rows.Scan(&kind, &text, &n); err != nil {
			return fmt.Errorf("read the catalog's names: %w", err)
		}
		if text == "" {
			continue
		}
		if err := f(kind, text, n); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the catalog's names: %w", err)
	}
	return nil
}
