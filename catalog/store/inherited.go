package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// InheritedDescriptions returns, for the datasets keys, the descriptions
// that their columns no source describes inherit from the upstream
// columns they copy unchanged (catalog.CopiedColumn), by dataset and
// column name; a column whose copied column is undescribed too looks
// further up, at most catalog.MaxInheritHops copies. Each hop reads the
// column lineage into the columns still looking and the datasets they
// copy from: two statements and a batch a hop, for any number of keys.
func (s *Store) InheritedDescriptions(ctx context.Context, keys []catalog.Key) (map[catalog.Key]map[string]catalog.InheritedDescription, error) {
	ds, err := s.readByKeys(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("inherited descriptions: %w", err)
	}
	return s.InheritedDescriptionsOf(ctx, ds)
}

// readByKeys reads the datasets keys, leaving out keys of none.
func (s *Store) readByKeys(ctx context.Context, keys []catalog.Key) ([]catalog.Dataset, error) {
	ids, err := s.DatasetIDs(ctx, keys)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	list := make([]int64, 0, len(ids))
	for _, id := range ids {
		list = append(list, id)
	}
	return s.DatasetsByIDs(ctx, list)
}

// InheritedDescriptionsOf is InheritedDescriptions of datasets already
// read, as a page that shows them has.
func (s *Store) InheritedDescriptionsOf(ctx context.Context, ds []catalog.Dataset) (map[catalog.Key]map[string]catalog.InheritedDescription, error) {
	type ref struct {
		key catalog.Key
		col string
	}
	out := map[catalog.Key]map[string]catalog.InheritedDescription{}
	// looking maps each column still looking for a description to the
	// columns of keys it answers for.
	looking := map[ref][]ref{}
	for _, d := range ds {
		for _, c := range d.Columns {
			if strings.TrimSpace(c.Description) == "" {
				r := ref{d.Key, c.Name}
				looking[r] = []ref{r}
			}
		}
	}
	for hop := 0; hop < catalog.MaxInheritHops && len(looking) > 0; hop++ {
		var outs []catalog.Key
		have := map[catalog.Key]bool{}
		for r := range looking {
			if !have[r.key] {
				have[r.key] = true
				outs = append(outs, r.key)
			}
		}
		lineage, err := s.lineageInto(ctx, outs)
		if err != nil {
			return nil, err
		}
		next := map[ref][]ref{}
		var ups []catalog.Key
		upHave := map[catalog.Key]bool{}
		for r, origins := range looking {
			k, col, ok := catalog.CopiedColumn(lineage[r.key], r.col)
			up := ref{k, col}
			// A cycle of copies ends with the hops.
			if !ok {
				continue
			}
			next[up] = append(next[up], origins...)
			if !upHave[k] {
				upHave[k] = true
				ups = append(ups, k)
			}
		}
		if len(next) == 0 {
			break
		}
		upstream, err := s.readByKeys(ctx, ups)
		if err != nil {
			return nil, fmt.Errorf("inherited descriptions: %w", err)
		}
		for _, u := range upstream {
			for _, c := range u.Columns {
				up := ref{u.Key, c.Name}
				origins, ok := next[up]
				if !ok || strings.TrimSpace(c.Description) == "" {
					continue
				}
				for _, o := range origins {
					if out[o.key] == nil {
						out[o.key] = map[string]catalog.InheritedDescription{}
					}
					out[o.key][o.col] = catalog.InheritedDescription{Text: c.Description, Source: c.DescriptionSource, From: u.Key, Column: c.Name}
				}
				delete(next, up)
			}
		}
		looking = next
	}
	return out, nil
}

// lineageInto reads the live column lineage into the columns of the
// datasets keys, by output dataset.
func (s *Store) lineageInto(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.ColumnLineage, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT c.namespace, c.name, c.column_name, c.input_namespace, c.input_name, c.input_column,
		       c.transformation_type, c.transformation_subtype
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN column_lineage c ON c.namespace = k.namespace AND c.name = k.name
		WHERE NOT `+columnLineageRemoved, nss, names)
	if err != nil {
		return nil, fmt.Errorf("read column lineage: %w", err)
	}
	out := map[catalog.Key][]catalog.ColumnLineage{}
	var l catalog.ColumnLineage
	_, err = pgx.ForEachRow(rows, []any{&l.Output.Namespace, &l.Output.Name, &l.Column, &l.Input.Namespace, &l.Input.Name, &l.InputColumn, &l.Type, &l.Subtype}, func() error {
		out[l.Output] = append(out[l.Output], l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read column lineage: %w", err)
	}
	return out, nil
}
