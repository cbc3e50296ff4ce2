package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/crawl/sqllineage"
)

// readQueryStats reads the statement statistics of pg_stat_statements, when
// the extension is installed in the database, and attributes each
// statement to the crawled datasets it reads (see catalog.QueryStats).
// Statements reading nothing crawled are left out, and so are those that
// are not DML (their text is not normalized: it may hold secrets).
//
// The extension is optional: without it the result is nil and nothing is
// said. When it is installed but cannot be read (not in
// shared_preload_libraries), or when the role may see only its own
// statements (it is neither superuser nor a member of pg_read_all_stats),
// or when statements do not parse, the crawl goes on and says so in a
// warning.
func (r *reader) readQueryStats(ctx context.Context, datasets []catalog.DatasetFacts) (*catalog.QueryStats, []catalog.CrawlError) {
	var schema string
	err := r.query(ctx, `
		SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
		WHERE e.extname = 'pg_stat_statements'`, nil, func(rows pgx.Rows) error { return rows.Scan(&schema) })
	if err != nil || schema == "" {
		return nil, nil
	}
	warn := func(msg string) []catalog.CrawlError {
		return []catalog.CrawlError{{Object: r.db + ".pg_stat_statements", Message: "usage: " + r.red.redact(msg)}}
	}
	var errs []catalog.CrawlError
	var allStats bool
	if err := r.query(ctx, `
		SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')
		FROM pg_roles WHERE rolname = current_user`, nil, func(rows pgx.Rows) error { return rows.Scan(&allStats) }); err != nil {
		return nil, warn("check privileges: " + err.Error())
	}
	if !allStats {
		errs = warn("the crawling role is neither superuser nor a member of pg_read_all_stats: only its own statements are counted")
	}
	ext := pgx.Identifier{schema}.Sanitize()
	qs := &catalog.QueryStats{Namespace: r.ns, Database: r.db}
	if r.version >= 140000 {
		var reset *time.Time
		if err := r.query(ctx, `SELECT stats_reset FROM `+ext+`.pg_stat_statements_info`, nil,
			func(rows pgx.Rows) error { return rows.Scan(&reset) }); err != nil {
			return nil, append(errs, warn("read pg_stat_statements_info: "+err.Error())...)
		}
		if reset != nil {
			qs.StatsReset = reset.UTC()
		}
	}
	toplevel := "true"
	if r.version >= 140000 {
		toplevel = "s.toplevel"
	}
	type row struct {
		queryID int64
		role    string
		query   string
		calls   int64
	}
	var stmts []row
	err = r.query(ctx, `
		SELECT s.queryid, coalesce(a.rolname, s.userid::text), s.query, sum(s.calls)::bigint
		FROM `+ext+`.pg_stat_statements s
		LEFT JOIN pg_roles a ON a.oid = s.userid
		WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND s.queryid IS NOT NULL AND `+toplevel+`
		GROUP BY 1, 2, 3`, nil, func(rows pgx.Rows) error {
		var s row
		if err := rows.Scan(&s.queryID, &s.role, &s.query, &s.calls); err != nil {
			return err
		}
		stmts = append(stmts, s)
		return nil
	})
	if err != nil {
		return nil, append(errs, warn("read pg_stat_statements: "+err.Error())...)
	}

	// What an unqualified name may stand for: the database's default
	// search_path, after the role's own schema, then public.
	path := splitPath(r.displayPath)
	known := make(map[catalog.Key]catalog.Key, len(datasets))
	for _, d := range datasets {
		known[d.Key] = d.Key
		for _, p := range d.Partitions {
			known[catalog.Key{Namespace: d.Key.Namespace, Name: p.Name}] = d.Key
		}
	}
	// The extension's own views are read by this crawl: not usage.
	for _, v := range []string{"pg_stat_statements", "pg_stat_statements_info"} {
		delete(known, catalog.Key{Namespace: r.ns, Name: r.db + "." + schema + "." + v})
	}
	var unparsed int
	for _, s := range stmts {
		rels, dml, err := sqllineage.Postgres.Reads(s.query)
		if err != nil {
			unparsed++
			continue
		}
		if !dml {
			continue
		}
		st := catalog.QueryStat{QueryID: s.queryID, Role: s.role, Query: s.query, Calls: s.calls}
		for _, rel := range rels {
			if rel.Catalog != "" && rel.Catalog != r.db {
				continue
			}
			schemas := []string{rel.Schema}
			if rel.Schema == "" {
				schemas = append([]string{s.role}, path...)
				schemas = append(schemas, "public")
			}
			for _, sc := range schemas {
				if k, ok := known[catalog.Key{Namespace: r.ns, Name: r.db + "." + sc + "." + rel.Name}]; ok {
					if !slices.Contains(st.Reads, k) {
						st.Reads = append(st.Reads, k)
					}
					break
				}
			}
		}
		if len(st.Reads) > 0 {
			qs.Statements = append(qs.Statements, st)
		}
	}
	if unparsed > 0 {
		errs = append(errs, warn(fmt.Sprintf("%d of %d statements could not be parsed and were skipped", unparsed, len(stmts)))...)
	}
	slices.SortFunc(qs.Statements, func(a, b catalog.QueryStat) int {
		if a.QueryID != b.QueryID {
			if a.QueryID < b.QueryID {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Role, b.Role)
	})
	return qs, errs
}

// splitPath splits a search_path (without "$user") into schema names,
// unquoting quoted ones.
func splitPath(path string) []string {
	var out []string
	var item strings.Builder
	quoted := false
	flush := func() {
		if s := strings.TrimSpace(item.String()); s != "" {
			out = append(out, s)
		}
		item.Reset()
	}
	rs := []rune(path)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '"' && quoted && i+1 < len(rs) && rs[i+1] == '"':
			item.WriteRune('"')
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			flush()
		case !quoted && (c == ' ' || c == '\t'):
		default:
			if !quoted {
				c = []rune(strings.ToLower(string(c)))[0]
			}
			item.WriteRune(c)
		}
	}
	flush()
	return out
}
