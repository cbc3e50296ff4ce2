package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// lockTimeout bounds how long one catalog query may wait for a lock.
// pg_get_viewdef and pg_total_relation_size take AccessShareLocks, which
// queue behind an ALTER TABLE, a VACUUM FULL or a REFRESH MATERIALIZED VIEW;
// rather than stall the crawl, such a relation fails alone (see
// perRelation) and is reported.
const lockTimeout = 10 * time.Second

// chunkSize is how many relations one size or view definition query reads.
// pg_get_viewdef keeps a lock on every relation a view reads until the
// savepoint around the query is rolled back; chunks keep that well inside
// the server's lock table (max_locks_per_transaction × max_connections).
const chunkSize = 1000

// errDropped says that a relation the crawl's snapshot lists was dropped
// before the crawl read all of it: pg_get_viewdef and
// pg_total_relation_size read the live catalog and answer NULL for a
// relation that is gone, typically after waiting for the lock of the
// session that dropped it. Such a relation is reported as an error, not
// as a relation whose size or definition is now unknown. (Every table and
// leaf partition has its size read, so a dropped one never passes.)
var errDropped = errors.New("dropped during the crawl")

// minVersion is the oldest server the catalog queries work on
// (pg_attribute.attgenerated appeared in PostgreSQL 12).
const minVersion = 120000

// dbResult is what one database contributed to the harvest.
type dbResult struct {
	// db is the database's name, the first part of its datasets' names.
	db       string
	datasets []catalog.DatasetFacts
	scopes   []catalog.Scope
	errors   []catalog.CrawlError
	// queries are the database's statement statistics, nil without
	// pg_stat_statements (see readQueryStats).
	queries *catalog.QueryStats
}

// crawlDatabase connects to db and reads it. An error means nothing of the
// database can be used; errors about single objects are in the result.
func crawlDatabase(ctx context.Context, base *pgx.ConnConfig, db, ns string, flt filter, red *redactor, h hooks) (dbResult, error) {
	cc := base.Copy()
	if db != "" {
		cc.Database = db
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return dbResult{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	txOpts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	tx, err := conn.BeginTx(ctx, txOpts)
	if err != nil {
		return dbResult{}, fmt.Errorf("begin transaction: %w", err)
	}
	// Export the snapshot first thing, for the connections that read sizes
	// (see startSizes). A server that refuses is crawled on one connection:
	// the failure aborts the transaction, which has read nothing yet.
	var snapshot string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snapshot); err != nil {
		snapshot = ""
		tx.Rollback(ctx)
		if tx, err = conn.BeginTx(ctx, txOpts); err != nil {
			return dbResult{}, fmt.Errorf("begin transaction: %w", err)
		}
	}
	// The transaction only ever reads: rolling it back is how it ends.
	defer tx.Rollback(context.WithoutCancel(ctx))
	r := &reader{tx: tx, cfg: cc, snapshot: snapshot, ns: ns, flt: flt, red: red, hooks: h}
	return r.read(ctx)
}

// lockTimeoutSetting is lockTimeout as a value for set_config.
func lockTimeoutSetting() string { return fmt.Sprintf("%dms", lockTimeout.Milliseconds()) }

// reader reads one database inside its transaction.
type reader struct {
	tx pgx.Tx
	// cfg and snapshot let other connections read sizes in the same
	// snapshot; snapshot is empty when the server would not export it.
	cfg      *pgx.ConnConfig
	snapshot string
	ns       string
	flt      filter
	red      *redactor
	hooks    hooks

	db      string
	version int
	// displayPath is the search_path that types and defaults are printed
	// in (see readColumns).
	displayPath string
	// broken is set when the transaction can no longer be used.
	broken error

	schemas   []schema
	rels      map[uint32]*relation
	columns   map[uint32][]column
	pkeys     map[uint32][]string
	fkeys     map[uint32][]catalog.ForeignKey
	sizes     map[uint32]*int64
	viewDefs  map[uint32]string
	objErrors map[uint32]error // by relation, from sizes and view definitions
}

type schema struct {
	oid   uint32
	name  string
	usage bool
}

type relation struct {
	oid, nsOID, parent uint32
	schema, name, kind string
	partition          bool
	persistence        string
	reltuples          float64
	relpages           int32
	owner              string
	populated          bool
	tablespace         *string
	description        *string
	bound, partKey     *string
	accessMethod       *string
	server, fdw        *string
	relOptions         []string
	ftOptions          []string
}

type column struct {
	num                 int16
	name, typ           string
	notNull             bool
	def, description    *string
	generated, identity string
}

func (r *reader) read(ctx context.Context) (dbResult, error) {
	// Settings that change how types, defaults, bounds and view
	// definitions are printed are pinned, so that the harvest of an
	// unchanged database does not depend on the role's or the server's
	// configuration (a timestamptz partition bound prints in TimeZone).
	// The search_path is empty, so that view definitions name every
	// relation schema-qualified for lineage, except while columns are read
	// (see readColumns): their types and defaults are printed in the
	// database's own default search_path, as psql shows them.
	var settings []string
	var display string
	err := r.tx.QueryRow(ctx, `
		SELECT current_database(),
		       current_setting('server_version_num')::int,
		       coalesce((SELECT substr(c, length('search_path=') + 1)
		                 FROM pg_db_role_setting s, unnest(s.setconfig) AS c
		                 WHERE s.setrole = 0 AND c LIKE 'search\_path=%'
		                   AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
		                 ORDER BY s.setdatabase DESC
		                 LIMIT 1),
		                (SELECT boot_val FROM pg_settings WHERE name = 'search_path')),
		       ARRAY[set_config('search_path', '', true),
		             set_config('TimeZone', 'UTC', true),
		             set_config('DateStyle', 'ISO, YMD', true),
		             set_config('IntervalStyle', 'postgres', true),
		             set_config('extra_float_digits', '1', true),
		             set_config('lock_timeout', $1, true)]`,
		lockTimeoutSetting(),
	).Scan(&r.db, &r.version, &display, &settings)
	if err != nil {
		return dbResult{}, fmt.Errorf("start: %w", err)
	}
	r.displayPath = withoutUser(display)
	if r.version < minVersion {
		return dbResult{}, fmt.Errorf("server version %d is not supported: PostgreSQL 12 or later is needed", r.version)
	}
	if err := r.readSchemas(ctx); err != nil {
		return dbResult{}, fmt.Errorf("list schemas: %w", err)
	}
	if err := r.readRelations(ctx); err != nil {
		return dbResult{}, fmt.Errorf("list relations: %w", err)
	}

	// Decide what is crawled before reading the details, so that the
	// detail queries skip unreadable and excluded schemas.
	var errs []catalog.CrawlError
	failed := map[string]bool{} // schema names with an error
	var readable []uint32
	usable := map[uint32]bool{}
	for _, s := range r.schemas {
		if !r.flt.touchesSchema(s.name) {
			continue
		}
		if !s.usage {
			failed[s.name] = true
			errs = append(errs, catalog.CrawlError{
				Object:  r.db + "." + s.name,
				Message: fmt.Sprintf("permission denied for schema %s (no USAGE)", s.name),
			})
			continue
		}
		readable = append(readable, s.oid)
		usable[s.oid] = true
	}
	var datasets []*relation
	for _, rel := range r.rels {
		if !rel.partition && usable[rel.nsOID] && r.flt.relation(rel.schema, rel.name) {
			datasets = append(datasets, rel)
		}
	}
	slices.SortFunc(datasets, func(a, b *relation) int { return cmp.Compare(a.oid, b.oid) })
	tree := r.partitionTree(datasets)

	var sized, views []uint32
	for _, d := range datasets {
		switch d.kind {
		case "r", "m":
			sized = append(sized, d.oid)
		case "p":
			for _, p := range tree[d.oid] {
				if p.kind == "r" {
					sized = append(sized, p.oid)
				}
			}
		}
		if d.kind == "v" || d.kind == "m" {
			views = append(views, d.oid)
		}
	}
	// Sizes are the slowest part of a large crawl; they are read on other
	// connections while this one reads the rest.
	waitSizes := r.startSizes(ctx, sized)
	defer waitSizes()

	if err := r.readColumns(ctx, readable); err != nil {
		return dbResult{}, fmt.Errorf("read columns: %w", err)
	}
	if err := r.readConstraints(ctx, readable); err != nil {
		return dbResult{}, fmt.Errorf("read keys: %w", err)
	}

	if r.hooks.beforeViewDefs != nil {
		if err := r.hooks.beforeViewDefs(ctx, r.db); err != nil {
			return dbResult{}, err
		}
	}
	r.objErrors = map[uint32]error{}
	defs, defErrs, err := perRelation[*string](ctx, r, `
		SELECT u.oid, pg_get_viewdef(u.oid)
		FROM unnest($1::oid[]) AS u(oid)`, views)
	if err != nil {
		return dbResult{}, fmt.Errorf("read view definitions: %w", err)
	}
	r.viewDefs = map[uint32]string{}
	for oid, def := range defs {
		if def == nil {
			defErrs[oid] = errDropped
			continue
		}
		r.viewDefs[oid] = strings.TrimSpace(*def)
	}
	for oid, err := range defErrs {
		r.objErrors[oid] = fmt.Errorf("read view definition: %w", err)
	}

	sizes, err := waitSizes()
	if err != nil {
		return dbResult{}, fmt.Errorf("read sizes: %w", err)
	}
	r.sizes = sizes.values
	for oid, err := range sizes.failed {
		r.objErrors[oid] = fmt.Errorf("read size: %w", err)
	}
	for oid, size := range sizes.values {
		if size == nil {
			r.objErrors[oid] = fmt.Errorf("read size: %w", errDropped)
		}
	}

	res := dbResult{db: r.db}
	crawled := map[string]bool{}    // schemas holding a crawled relation
	candidates := map[string]bool{} // schemas holding any dataset at all
	for _, rel := range r.rels {
		if !rel.partition {
			candidates[rel.schema] = true
		}
	}
	for _, d := range datasets {
		var bad []uint32
		if _, ok := r.objErrors[d.oid]; ok {
			bad = append(bad, d.oid)
		}
		for _, p := range tree[d.oid] {
			if _, ok := r.objErrors[p.oid]; ok {
				bad = append(bad, p.oid)
			}
		}
		if len(bad) > 0 {
			failed[d.schema] = true
			for _, oid := range bad {
				rel := r.rels[oid]
				errs = append(errs, catalog.CrawlError{
					Object:  r.db + "." + rel.schema + "." + rel.name,
					Message: r.red.redact(r.objErrors[oid].Error()),
				})
			}
			continue
		}
		crawled[d.schema] = true
		res.datasets = append(res.datasets, r.facts(d, tree[d.oid]))
	}

	if !r.flt.active() && len(failed) == 0 {
		res.scopes = []catalog.Scope{{Namespace: r.ns, Prefix: r.db + "."}}
	} else {
		have := map[string]bool{}
		for _, s := range r.schemas {
			have[s.name] = true
			if s.usage && r.flt.touchesSchema(s.name) && !failed[s.name] && (crawled[s.name] || !candidates[s.name]) {
				res.scopes = append(res.scopes, catalog.Scope{Namespace: r.ns, Prefix: r.db + "." + s.name + "."})
			}
		}
		for _, name := range r.flt.literalSchemas() {
			if !have[name] && !isSystemSchema(name) {
				res.scopes = append(res.scopes, catalog.Scope{Namespace: r.ns, Prefix: r.db + "." + name + "."})
			}
		}
		res.scopes = r.unambiguous(res.scopes)
	}
	var qerrs []catalog.CrawlError
	res.queries, qerrs = r.readQueryStats(ctx, res.datasets)
	errs = append(errs, qerrs...)
	slices.SortFunc(errs, func(a, b catalog.CrawlError) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Message, b.Message))
	})
	res.errors = errs
	return res, nil
}

// unambiguous sorts scopes and drops those that would also cover another
// schema they were not meant to: identifiers may hold dots, so the scope
// "db.a." of schema a covers the datasets of a schema named "a.b" too.
func (r *reader) unambiguous(scopes []catalog.Scope) []catalog.Scope {
	scoped := map[string]bool{}
	for _, s := range scopes {
		scoped[s.Prefix] = true
	}
	out := scopes[:0]
	for _, s := range scopes {
		ok := true
		for _, other := range r.schemas {
			p := r.db + "." + other.name + "."
			if p != s.Prefix && strings.HasPrefix(p, s.Prefix) && !scoped[p] {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b catalog.Scope) int { return cmp.Compare(a.Prefix, b.Prefix) })
	return slices.Compact(out)
}

var tempSchema = regexp.MustCompile(`^pg_(toast_)?temp_[0-9]+$`)

// isSystemSchema reports the schemas a crawl never reads, matching the
// WHERE clause of readSchemas.
func isSystemSchema(name string) bool {
	switch name {
	case "pg_catalog", "information_schema", "pg_toast":
		return true
	}
	return tempSchema.MatchString(name)
}

// query runs one catalog query inside a savepoint and rolls back to it
// afterwards, whether the query failed or not: a failed query then leaves
// the transaction usable, and the locks that functions such as
// pg_get_viewdef take are released at once instead of piling up until the
// end of the crawl.
func (r *reader) query(ctx context.Context, sql string, args []any, scan func(pgx.Rows) error) error {
	return r.run(ctx, nil, sql, args, scan)
}

// run is query, in search_path *searchPath when that is not nil. The
// savepoint's rollback restores the crawl's empty search_path.
func (r *reader) run(ctx context.Context, searchPath *string, sql string, args []any, scan func(pgx.Rows) error) error {
	if r.broken != nil {
		return r.broken
	}
	if _, err := r.tx.Exec(ctx, "SAVEPOINT almanac_crawl"); err != nil {
		r.broken = err
		return err
	}
	err := func() error {
		if searchPath != nil {
			if _, err := r.tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", *searchPath); err != nil {
				return fmt.Errorf("set search_path: %w", err)
			}
		}
		rows, err := r.tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}()
	if _, rbErr := r.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT almanac_crawl; RELEASE SAVEPOINT almanac_crawl"); rbErr != nil {
		r.broken = rbErr
		if err == nil {
			err = rbErr
		}
	}
	return err
}

// perRelation runs sql, which takes an oid[] as $1 and returns (oid,
// value) rows, over oids in chunks. When a chunk fails, for example because
// one of its relations was dropped after the crawl's snapshot was taken, it
// runs again one relation at a time, so that only the relations that fail
// on their own are reported as failed. The returned error means the
// transaction itself is gone.
func perRelation[T any](ctx context.Context, r *reader, sql string, oids []uint32) (map[uint32]T, map[uint32]error, error) {
	values := map[uint32]T{}
	failed := map[uint32]error{}
	run := func(oids []uint32) error {
		got := map[uint32]T{}
		err := r.query(ctx, sql, []any{oids}, func(rows pgx.Rows) error {
			var oid uint32
			var v T
			if err := rows.Scan(&oid, &v); err != nil {
				return err
			}
			got[oid] = v
			return nil
		})
		if err == nil {
			maps.Copy(values, got)
		}
		return err
	}
	for chunk := range slices.Chunk(oids, chunkSize) {
		if err := run(chunk); err == nil {
			continue
		}
		for _, oid := range chunk {
			if r.broken != nil {
				return nil, nil, r.broken
			}
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			if err := run([]uint32{oid}); err != nil {
				failed[oid] = err
			}
		}
	}
	if r.broken != nil {
		return nil, nil, r.broken
	}
	return values, failed, nil
}

func (r *reader) readSchemas(ctx context.Context) error {
	return r.query(ctx, `
		SELECT n.oid, n.nspname, has_schema_privilege(n.oid, 'USAGE')
		FROM pg_namespace n
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
		  AND n.nspname NOT LIKE 'pg\_temp\_%'
		  AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
		ORDER BY n.nspname`, nil, func(rows pgx.Rows) error {
		var s schema
		if err := rows.Scan(&s.oid, &s.name, &s.usage); err != nil {
			return err
		}
		r.schemas = append(r.schemas, s)
		return nil
	})
}

// readRelations lists every relation of a crawled kind in every schema,
// partitions included: the catalog is readable without USAGE, and a
// partition may live in another schema than its parent.
func (r *reader) readRelations(ctx context.Context) error {
	r.rels = map[uint32]*relation{}
	return r.query(ctx, `
		SELECT c.oid, c.relnamespace, n.nspname, c.relname, c.relkind::text,
		       c.relispartition, c.relpersistence::text,
		       c.reltuples::float8, c.relpages, pg_get_userbyid(c.relowner),
		       c.relispopulated, ts.spcname, d.description,
		       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
		       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
		       coalesce(i.inhparent, 0),
		       CASE WHEN c.relkind IN ('r', 'm', 'p') AND am.amname <> 'heap' THEN am.amname END,
		       fs.srvname, fdw.fdwname, c.reloptions::text[], ft.ftoptions::text[]
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
		LEFT JOIN pg_description d
		       ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = 0
		LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
		LEFT JOIN pg_am am ON am.oid = c.relam
		LEFT JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
		LEFT JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
		LEFT JOIN pg_foreign_data_wrapper fdw ON fdw.oid = fs.srvfdw
		WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
		  AND n.nspname NOT LIKE 'pg\_temp\_%'
		  AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'`, nil, func(rows pgx.Rows) error {
		var x relation
		if err := rows.Scan(&x.oid, &x.nsOID, &x.schema, &x.name, &x.kind,
			&x.partition, &x.persistence,
			&x.reltuples, &x.relpages, &x.owner,
			&x.populated, &x.tablespace, &x.description,
			&x.bound, &x.partKey, &x.parent, &x.accessMethod,
			&x.server, &x.fdw, &x.relOptions, &x.ftOptions); err != nil {
			return err
		}
		r.rels[x.oid] = &x
		return nil
	})
}

// partitionTree returns, for each partitioned dataset, every partition
// below it at any depth: sub-partitions roll up to the top parent.
func (r *reader) partitionTree(datasets []*relation) map[uint32][]*relation {
	isDataset := map[uint32]bool{}
	for _, d := range datasets {
		isDataset[d.oid] = true
	}
	tree := map[uint32][]*relation{}
	for _, rel := range r.rels {
		if !rel.partition {
			continue
		}
		top := rel
		for top.partition {
			p, ok := r.rels[top.parent]
			if !ok {
				break
			}
			top = p
		}
		if !top.partition && isDataset[top.oid] {
			tree[top.oid] = append(tree[top.oid], rel)
		}
	}
	return tree
}

// readColumns reads the columns of every relation that is no partition in
// the schemas nsOIDs.
//
// Types and defaults are printed as psql's \d prints them: by format_type
// and pretty-printing pg_get_expr, in the database's default search_path
// (what ALTER DATABASE ... SET search_path says, else the server's
// built-in "$user", public), without "$user", so that what a crawl reports
// does not depend on the crawling role. Those functions qualify a name
// exactly when, unqualified, it would not find the same object first in
// that path: a domain public."Name" shows as "Name", an enum sales.status
// as sales.status, and a type public.text as public.text, since
// pg_catalog.text comes first.
//
// Defaults are printed without a relation as context, which costs a
// fraction of a relation lookup per column, except for generated columns,
// whose expressions name other columns.
func (r *reader) readColumns(ctx context.Context, nsOIDs []uint32) error {
	r.columns = map[uint32][]column{}
	err := r.run(ctx, &r.displayPath, `
		SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
		       pg_get_expr(ad.adbin, CASE WHEN a.attgenerated <> '' THEN ad.adrelid ELSE 0 END, true),
		       a.attgenerated::text, a.attidentity::text, d.description
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
		LEFT JOIN pg_description d
		       ON d.classoid = 'pg_class'::regclass AND d.objoid = a.attrelid AND d.objsubid = a.attnum
		WHERE c.relnamespace = ANY($1::oid[])
		  AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition
		  AND a.attnum > 0 AND NOT a.attisdropped`, []any{nsOIDs}, func(rows pgx.Rows) error {
		var oid uint32
		var c column
		if err := rows.Scan(&oid, &c.num, &c.name, &c.typ, &c.notNull, &c.def, &c.generated, &c.identity, &c.description); err != nil {
			return err
		}
		r.columns[oid] = append(r.columns[oid], c)
		return nil
	})
	// Sorting here rather than in the query spares the server a sort of
	// every column, which spills to disk at the default work_mem.
	for _, cols := range r.columns {
		slices.SortFunc(cols, func(a, b column) int { return cmp.Compare(a.num, b.num) })
	}
	return err
}

// readConstraints reads primary and foreign keys declared on the datasets
// themselves: conparentid = 0 skips the copies PostgreSQL makes on each
// partition of a partitioned table, and the copies it makes pointing at
// each partition of a referenced partitioned table. A key referencing a
// partition names its partitioned table, the dataset it belongs to. The
// key's own columns
// are named from readColumns; a foreign key's target columns are named
// here, since the target may lie outside what is crawled.
func (r *reader) readConstraints(ctx context.Context, nsOIDs []uint32) error {
	r.pkeys = map[uint32][]string{}
	r.fkeys = map[uint32][]catalog.ForeignKey{}
	names := func(oid uint32, nums []int16) ([]string, error) {
		cols := r.columns[oid]
		out := make([]string, len(nums))
		for i, n := range nums {
			j := slices.IndexFunc(cols, func(c column) bool { return c.num == n })
			if j < 0 {
				return nil, fmt.Errorf("relation %d has no column %d", oid, n)
			}
			out[i] = cols[j].name
		}
		return out, nil
	}
	return r.query(ctx, `
		SELECT con.conrelid, con.contype::text, con.conname, con.conkey,
		       tn.nspname, tc.relname,
		       CASE WHEN con.contype = 'f' THEN
		           ARRAY(SELECT a.attname::text
		                 FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
		                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
		                 ORDER BY k.ord)
		       END
		FROM pg_constraint con
		JOIN pg_class c ON c.oid = con.conrelid
		LEFT JOIN pg_class tc ON tc.oid = coalesce(pg_partition_root(con.confrelid), con.confrelid)
		LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
		WHERE con.contype IN ('p', 'f') AND con.conparentid = 0
		  AND c.relnamespace = ANY($1::oid[])
		  AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition`, []any{nsOIDs}, func(rows pgx.Rows) error {
		var oid uint32
		var typ, name string
		var keyNums []int16
		var targetSchema, targetName *string
		var targetCols []string
		if err := rows.Scan(&oid, &typ, &name, &keyNums, &targetSchema, &targetName, &targetCols); err != nil {
			return err
		}
		cols, err := names(oid, keyNums)
		if err != nil {
			return fmt.Errorf("constraint %s: %w", name, err)
		}
		switch typ {
		case "p":
			r.pkeys[oid] = cols
		case "f":
			if targetSchema == nil || targetName == nil {
				return nil // the target vanished under the snapshot; cannot happen while the key exists
			}
			r.fkeys[oid] = append(r.fkeys[oid], catalog.ForeignKey{
				Name:      name,
				Columns:   cols,
				Target:    catalog.Key{Namespace: r.ns, Name: r.db + "." + *targetSchema + "." + *targetName},
				TargetCol: targetCols,
			})
		}
		return nil
	})
}

var kinds = map[string]catalog.Kind{
	"r": catalog.KindTable,
	"v": catalog.KindView,
	"m": catalog.KindMaterializedView,
	"p": catalog.KindPartitioned,
	"f": catalog.KindForeign,
}

// facts assembles the dataset of relation d with its partitions.
func (r *reader) facts(d *relation, parts []*relation) catalog.DatasetFacts {
	f := catalog.DatasetFacts{
		Key:      catalog.Key{Namespace: r.ns, Name: r.name(d)},
		Platform: Platform,
		Kind:     kinds[d.kind],
		Owners:   []catalog.Owner{{Name: d.owner, Kind: catalog.OwnerRole, Type: "technical"}},
	}
	if d.description != nil {
		f.Description = *d.description
	}
	props := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			props[k] = v
		}
	}
	set(PropTablespace, deref(d.tablespace))
	switch d.persistence {
	case "u":
		props[PropPersistence] = "unlogged"
	case "t":
		props[PropPersistence] = "temporary"
	}
	set(PropAccessMethod, deref(d.accessMethod))
	set(PropRelOptions, sortedList(d.relOptions))

	switch d.kind {
	case "r":
		f.RowEstimate = r.estimate(d)
		f.SizeBytes = r.sizes[d.oid]
	case "m":
		f.RowEstimate = r.estimate(d)
		f.SizeBytes = r.sizes[d.oid]
		f.Definition = r.viewDefs[d.oid]
		props[PropPopulated] = fmt.Sprint(d.populated)
	case "v":
		f.Definition = r.viewDefs[d.oid]
	case "f":
		f.RowEstimate = r.estimate(d)
		set(PropForeignServer, deref(d.server))
		set(PropForeignDataWrapper, deref(d.fdw))
		set(PropForeignOptions, sortedList(d.ftOptions))
	case "p":
		f.PartitionKey = deref(d.partKey)
		f.RowEstimate, f.SizeBytes = r.partitionTotals(parts)
		f.Partitions = make([]catalog.Partition, 0, len(parts))
		children := map[uint32][]string{}
		for _, p := range parts {
			f.Partitions = append(f.Partitions, catalog.Partition{Name: r.name(p), Bound: deref(p.bound)})
			children[p.parent] = append(children[p.parent], r.name(p))
		}
		slices.SortFunc(f.Partitions, func(a, b catalog.Partition) int { return cmp.Compare(a.Name, b.Name) })
		var lines []string
		for _, p := range parts {
			if p.kind == "p" {
				kids := children[p.oid]
				slices.Sort(kids)
				lines = append(lines, r.name(p)+" PARTITION BY "+deref(p.partKey)+": "+strings.Join(kids, ", "))
			}
		}
		slices.Sort(lines)
		set(PropSubpartitions, strings.Join(lines, "\n"))
	}

	pk := map[string]bool{}
	for _, c := range r.pkeys[d.oid] {
		pk[c] = true
	}
	set(PropPrimaryKey, identList(r.pkeys[d.oid]))
	var generated, identity []string
	for _, c := range r.columns[d.oid] {
		col := catalog.Column{
			Name: c.name,
			// As information_schema.columns.ordinal_position: a dropped
			// column leaves a gap, so that a column keeps its number.
			Ordinal:     int(c.num),
			Type:        c.typ,
			Nullable:    !c.notNull,
			Default:     deref(c.def),
			Description: deref(c.description),
			PrimaryKey:  pk[c.name],
		}
		switch c.identity {
		case "a":
			col.Default = "generated always as identity"
			identity = append(identity, quoteIdent(c.name)+" (always)")
		case "d":
			col.Default = "generated by default as identity"
			identity = append(identity, quoteIdent(c.name)+" (by default)")
		}
		switch c.generated {
		case "s":
			col.Default = "generated always as (" + col.Default + ") stored"
		case "v": // PostgreSQL 18
			col.Default = "generated always as (" + col.Default + ")"
		}
		if c.generated != "" {
			generated = append(generated, quoteIdent(c.name))
		}
		f.Columns = append(f.Columns, col)
	}
	slices.Sort(generated)
	slices.Sort(identity)
	set(PropGeneratedColumns, strings.Join(generated, ", "))
	set(PropIdentityColumns, strings.Join(identity, ", "))

	f.ForeignKeys = slices.Clone(r.fkeys[d.oid])
	slices.SortFunc(f.ForeignKeys, func(a, b catalog.ForeignKey) int { return cmp.Compare(a.Name, b.Name) })
	if len(props) > 0 {
		f.Properties = props
	}
	return f
}

func (r *reader) name(rel *relation) string { return r.db + "." + rel.schema + "." + rel.name }

// estimate is the planner's row estimate of a relation, or nil while it is
// unknown: reltuples is -1 until the first VACUUM or ANALYZE since
// PostgreSQL 14, and 0 with no pages before it.
func (r *reader) estimate(rel *relation) *int64 {
	if rel.reltuples < 0 || (r.version < 140000 && rel.reltuples == 0 && rel.relpages == 0) {
		return nil
	}
	n := int64(math.Round(rel.reltuples))
	return &n
}

// partitionTotals sums the row estimates and sizes of the leaf partitions:
// a partitioned table and its intermediate levels store nothing themselves.
// Rows are nil when no leaf has an estimate yet; a table with no partitions
// holds nothing.
func (r *reader) partitionTotals(parts []*relation) (rows, size *int64) {
	var nRows, nSize int64
	var leaves, known int
	for _, p := range parts {
		if p.kind == "p" {
			continue
		}
		leaves++
		if e := r.estimate(p); e != nil {
			nRows += *e
			known++
		}
		if s := r.sizes[p.oid]; s != nil {
			nSize += *s
		}
	}
	if leaves == 0 || known > 0 {
		rows = &nRows
	}
	return rows, &nSize
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// sortedList joins option items ("name=value") in sorted order.
func sortedList(items []string) string {
	s := slices.Clone(items)
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// identList joins column names in the given order.
func identList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// quoteIdent double-quotes a name unless it is a plain lower-case
// identifier, so that lists of names stay unambiguous.
func quoteIdent(name string) string {
	if plainIdent.MatchString(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// withoutUser drops the "$user" entry from a search_path setting, a list
// of names separated by commas, each optionally double-quoted.
func withoutUser(path string) string {
	var items []string
	var item strings.Builder
	quoted := false
	flush := func() {
		if s := strings.TrimSpace(item.String()); s != "" && s != `"$user"` && s != "$user" {
			items = append(items, s)
		}
		item.Reset()
	}
	for _, c := range path {
		switch {
		case c == '"':
			quoted = !quoted // a doubled quote inside quotes toggles twice
		case c == ',' && !quoted:
			flush()
			continue
		}
		item.WriteRune(c)
	}
	flush()
	return strings.Join(items, ", ")
}
