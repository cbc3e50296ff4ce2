package store

import (
	"context"
	"fmt"
	"time"

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
}

// SearchDocs returns the datasets with the given ids as the search index
// needs them, in the order of ids; ids of no dataset are left out. It runs
// six statements in one round trip however many ids there are.
func (s *Store) SearchDocs(ctx context.Context, ids []int64) ([]SearchDoc, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	type loaded struct {
		key       catalog.Key
		created   time.Time
		removed   *time.Time
		facts     []catalog.SourceFacts
		bySource  map[string]int
		consumers int
	}
	byID := make(map[int64]*loaded, len(ids))
	facts := func(id int64, source string) *catalog.DatasetFacts {
		l := byID[id]
		if l == nil {
			return &catalog.DatasetFacts{} // the dataset went between statements
		}
		i, ok := l.bySource[source]
		if !ok {
			i = len(l.facts)
			l.facts = append(l.facts, catalog.SourceFacts{Source: source, DatasetFacts: catalog.DatasetFacts{Key: l.key}})
			l.bySource[source] = i
		}
		return &l.facts[i].DatasetFacts
	}

	b := &pgx.Batch{}
	b.Queue(`SELECT id, namespace, name, created_at, removed_at FROM datasets WHERE id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		var (
			id int64
			l  loaded
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &l.key.Namespace, &l.key.Name, &l.created, &l.removed}, func() error {
			c := l
			if l.removed != nil {
				at := *l.removed
				c.removed = &at
			}
			c.bySource = map[string]int{}
			byID[id] = &c
			return nil
		})
		return err
	})
	b.Queue(`
		SELECT dataset_id, source, platform, kind, description, updated_at, removed_at
		FROM dataset_facts WHERE dataset_id = ANY($1) ORDER BY dataset_id, source`, ids).Query(func(rows pgx.Rows) error {
		var (
			id int64
			f  catalog.SourceFacts
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &f.Source, &f.Platform, &f.Kind, &f.Description, &f.UpdatedAt, &f.RemovedAt}, func() error {
			l := byID[id]
			if l == nil {
				return nil
			}
			g := f
			g.Key = l.key
			if f.RemovedAt != nil {
				at := *f.RemovedAt
				g.RemovedAt = &at
			}
			l.bySource[f.Source] = len(l.facts)
			l.facts = append(l.facts, g)
			return nil
		})
		return err
	})
	b.Queue(`
		SELECT dataset_id, source, name, ordinal, data_type, description
		FROM columns WHERE dataset_id = ANY($1) ORDER BY dataset_id, source, ordinal, name`, ids).Query(func(rows pgx.Rows) error {
		var (
			id  int64
			src string
			c   catalog.Column
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &src, &c.Name, &c.Ordinal, &c.Type, &c.Description}, func() error {
			f := facts(id, src)
			f.Columns = append(f.Columns, c)
			return nil
		})
		return err
	})
	queueOwnersAndTags(b, ids, facts)
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
			if l := byID[id]; l != nil {
				l.consumers = n
			}
			return nil
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load %d datasets for search: %w", len(ids), err)
	}
	out := make([]SearchDoc, 0, len(byID))
	for _, id := range ids {
		l := byID[id]
		if l == nil {
			continue
		}
		out = append(out, SearchDoc{Dataset: catalog.Merge(id, l.key, l.created, l.removed, l.facts), Consumers: l.consumers})
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

// LastChangeSeq returns the sequence of the newest committed change log
// entry, or 0 when the log is empty. A reader that copies the catalog after
// calling it and then applies the changes after that sequence misses
// nothing.
func (s *Store) LastChangeSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read last change sequence: %w", err)
	}
	return seq, nil
}
