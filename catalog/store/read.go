package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Namespaces lists namespaces with their number of live datasets.
func (s *Store) Namespaces(ctx context.Context) ([]NamespaceCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT namespace, count(*) FROM datasets WHERE removed_at IS NULL GROUP BY namespace ORDER BY namespace`)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[NamespaceCount])
}

// NamespaceCount is a namespace and how many live datasets it holds.
type NamespaceCount struct {
	Namespace string
	Datasets  int
}
