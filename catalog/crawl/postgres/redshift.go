package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/crawl/sqllineage"
)

// RedshiftPlatform is the platform name of every dataset a Redshift crawl
// reports.
const RedshiftPlatform = "redshift"

// Property keys a Redshift crawl may set, from SVV_TABLE_INFO,
// PG_TABLE_DEF and SVV_MV_INFO.
const (
	// PropDistStyle is the distribution style: EVEN, ALL, KEY(column),
	// AUTO(ALL), AUTO(EVEN) or AUTO(KEY(column)).
	PropDistStyle = "dist_style"
	// PropDistKey is the distribution key column.
	PropDistKey = "dist_key"
	// PropSortKey lists the sort key's columns in key order.
	PropSortKey = "sort_key"
	// PropSortKeyStyle is "compound" or "interleaved".
	PropSortKeyStyle = "sort_key_style"
	// PropUnsorted is the percentage of unsorted rows.
	PropUnsorted = "unsorted_pct"
	// PropStatsOff says how stale the table's statistics are, 0 (current)
	// to 100.
	PropStatsOff = "stats_off"
	// PropLateBinding is "true" for a view created WITH NO SCHEMA BINDING.
	PropLateBinding = "late_binding"
	// PropExternal is the external schema's table type for a Spectrum
	// table ("EXTERNAL TABLE").
	PropExternal = "external"
	// PropStale is "true" for a materialized view whose base tables
	// changed since its last refresh.
	PropStale = "stale"
)

// redshiftExcluded are the schemas of Redshift's own catalog and of its
// internal machinery, never crawled.
const redshiftExcluded = `('pg_catalog', 'information_schema', 'pg_internal', 'pg_auto_copy', 'pg_automv', 'pg_mv', 'pg_toast')`

// rsQuery is one of the catalog queries of a Redshift crawl: its name, by
// which tests replay its recorded result, its SQL, and the columns it
// returns, in order.
type rsQuery struct {
	name    string
	sql     string
	columns []string
}

// The catalog queries. Redshift's system views are documented in the
// Amazon Redshift Database Developer Guide ("System tables and views
// reference"); every value is read as text, as the simple query protocol
// sends it.
var (
	// rsRelations lists tables, views (late-binding ones too), external
	// tables and materialized views, with their comment, owner and, for a
	// view, its definition.
	rsRelations = rsQuery{
		name: "relations",
		sql: `
			SELECT t.table_schema, t.table_name, t.table_type, t.remarks, u.usename AS owner,
			       CASE WHEN t.table_type = 'VIEW' THEN pg_get_viewdef(c.oid) END AS view_definition
			FROM svv_tables t
			LEFT JOIN pg_namespace n ON n.nspname = t.table_schema
			LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
			LEFT JOIN pg_user u ON u.usesysid = c.relowner
			WHERE t.table_catalog = current_database()
			  AND t.table_schema NOT IN ` + redshiftExcluded + `
			ORDER BY t.table_schema, t.table_name`,
		columns: []string{"table_schema", "table_name", "table_type", "remarks", "owner", "view_definition"},
	}
	// rsColumns reads SVV_COLUMNS, which, unlike PG_ATTRIBUTE, also has
	// the columns of late-binding views and external tables.
	rsColumns = rsQuery{
		name: "columns",
		sql: `
			SELECT table_schema, table_name, column_name, ordinal_position, data_type,
			       character_maximum_length, numeric_precision, numeric_scale,
			       is_nullable, column_default, remarks
			FROM svv_columns
			WHERE table_catalog = current_database()
			  AND table_schema NOT IN ` + redshiftExcluded + `
			ORDER BY table_schema, table_name, ordinal_position`,
		columns: []string{"table_schema", "table_name", "column_name", "ordinal_position", "data_type",
			"character_maximum_length", "numeric_precision", "numeric_scale", "is_nullable", "column_default", "remarks"},
	}
	// rsTableInfo reads SVV_TABLE_INFO: size in 1 MB blocks, rows,
	// distribution and sort keys. It lists only tables with rows, and
	// only to superusers and roles granted SELECT on it.
	rsTableInfo = rsQuery{
		name: "table_info",
		sql: `
			SELECT "schema", "table", diststyle, sortkey1, sortkey_num, size, tbl_rows,
			       estimated_visible_rows, unsorted, stats_off
			FROM svv_table_info
			WHERE database = current_database()`,
		columns: []string{"schema", "table", "diststyle", "sortkey1", "sortkey_num", "size", "tbl_rows",
			"estimated_visible_rows", "unsorted", "stats_off"},
	}
	// rsMaterializedViews reads SVV_MV_INFO, whose names are char(128),
	// padded with blanks.
	rsMaterializedViews = rsQuery{
		name: "materialized_views",
		sql: `
			SELECT schema_name, name, user_name, is_stale
			FROM svv_mv_info
			WHERE database_name = current_database()`,
		columns: []string{"schema_name", "name", "user_name", "is_stale"},
	}
	// rsSearchPath sets the search_path to one schema, since PG_TABLE_DEF
	// shows only the tables of the schemas on it, and of two tables of one
	// name only the first; one schema at a time, each table is seen.
	rsSearchPath = rsQuery{
		name:    "search_path",
		sql:     `SELECT set_config('search_path', $1, false)`,
		columns: []string{"set_config"},
	}
	// rsTableDef reads the distribution and sort key columns of one
	// schema's tables from PG_TABLE_DEF.
	rsTableDef = rsQuery{
		name: "table_def",
		sql: `
			SELECT tablename, "column", distkey, sortkey
			FROM pg_table_def
			WHERE schemaname = $1 AND (distkey OR sortkey <> 0)`,
		columns: []string{"tablename", "column", "distkey", "sortkey"},
	}
)

// rsQuerier runs the crawler's catalog queries on one Redshift database
// and returns their rows as text, nil for NULL. The crawler reads Redshift
// through it alone: pgxQuerier in production, and recorded results in
// tests, since no Redshift is reachable where they run.
type rsQuerier interface {
	query(ctx context.Context, q rsQuery, args ...any) ([][]*string, error)
}

// pgxQuerier runs queries on a connection with the simple query protocol,
// so that every value comes back as the text Redshift prints, as it was
// recorded.
type pgxQuerier struct{ conn *pgx.Conn }

func (p pgxQuerier) query(ctx context.Context, q rsQuery, args ...any) ([][]*string, error) {
	rows, err := p.conn.Query(ctx, q.sql, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// The columns are checked by name, as the recordings are.
	fields := rows.FieldDescriptions()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	if !slices.Equal(names, q.columns) {
		return nil, fmt.Errorf("query %s: columns %v, want %v", q.name, names, q.columns)
	}
	var out [][]*string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]*string, len(raw))
		for i, b := range raw {
			if b != nil {
				s := string(b)
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// CrawlRedshift reads the Redshift databases that cfg names, as Crawl
// reads PostgreSQL's: Redshift speaks PostgreSQL's protocol, but its
// catalog is its own (PostgreSQL 8.0's pg_catalog, without what came after,
// and Redshift's SVV_ system views). Tables, views (late-binding views,
// whose columns only SVV_COLUMNS knows, too), Spectrum external tables and
// materialized views become datasets of platform "redshift", named
// "database.schema.table" under the namespace
// redshift://<cluster identifier>.<region>:<port> when the host is a
// cluster's endpoint (<cluster>.<id>.<region>.redshift.amazonaws.com, or a
// serverless workgroup's), else Config.Namespace; their comments, owners,
// columns, view definitions (and the lineage of views, as for PostgreSQL),
// sizes, row counts and distribution and sort keys are harvested.
//
// Sizes and keys come from SVV_TABLE_INFO, which only superusers and
// roles granted SELECT on it can read: without it they are left out, with
// an error of the run saying so, and the rest is reported. What else
// could not be read is reported like Crawl's.
//
// It is tested on recorded query results only: no Redshift is reachable
// where the tests run.
func CrawlRedshift(ctx context.Context, cfg Config) (catalog.Harvest, error) {
	hv := catalog.Harvest{Source: cfg.Source}
	fail := func(object string, err error) (catalog.Harvest, error) {
		hv.Errors = append(hv.Errors, catalog.CrawlError{Object: object, Message: err.Error()})
		return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
	}
	if cfg.Source == "" {
		return fail("config", fmt.Errorf("empty source name: %w", catalog.ErrInvalid))
	}
	if cfg.URL == "" {
		return fail(cfg.Source, fmt.Errorf("empty connection URL: %w", catalog.ErrInvalid))
	}
	flt, err := newFilter(cfg.Include, cfg.Exclude)
	if err != nil {
		return fail(cfg.Source, err)
	}
	red := newRedactor(cfg.URL, "")
	connCfg, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return fail(cfg.Source, fmt.Errorf("parse connection URL: %s: %w", red.redact(err.Error()), catalog.ErrInvalid))
	}
	red = newRedactor(cfg.URL, connCfg.Password)
	if connCfg.RuntimeParams == nil {
		connCfg.RuntimeParams = map[string]string{}
	}
	if _, ok := connCfg.RuntimeParams["application_name"]; !ok {
		connCfg.RuntimeParams["application_name"] = "almanac-crawler"
	}
	ns := cmp.Or(cfg.Namespace, RedshiftNamespace(connCfg.Host, connCfg.Port))
	dbs := slices.Clone(cfg.Databases)
	if len(dbs) == 0 {
		dbs = []string{connCfg.Database}
	}
	slices.Sort(dbs)
	dbs = slices.Compact(dbs)
	return crawlRedshift(ctx, cfg.Source, ns, dbs, flt, red, func(ctx context.Context, db string) (rsQuerier, func(), error) {
		cc := connCfg.Copy()
		cc.Database = db
		conn, err := pgx.ConnectConfig(ctx, cc)
		if err != nil {
			return nil, nil, fmt.Errorf("connect: %w", err)
		}
		return pgxQuerier{conn}, func() { conn.Close(context.WithoutCancel(ctx)) }, nil
	})
}

// crawlRedshift crawls each database through the querier connect opens.
func crawlRedshift(ctx context.Context, source, ns string, dbs []string, flt filter, red *redactor,
	connect func(ctx context.Context, db string) (rsQuerier, func(), error)) (catalog.Harvest, error) {
	hv := catalog.Harvest{Source: source}
	var read int
	var dbNames []string
	var failures []error
	for _, db := range dbs {
		res, err := func() (dbResult, error) {
			q, done, err := connect(ctx, db)
			if err != nil {
				return dbResult{}, err
			}
			defer done()
			return (&rsReader{q: q, db: db, ns: ns, flt: flt}).read(ctx)
		}()
		if err != nil {
			ce := catalog.CrawlError{Object: db, Message: red.redact(err.Error())}
			hv.Errors = append(hv.Errors, ce)
			failures = append(failures, ce)
			continue
		}
		read++
		hv.Datasets = append(hv.Datasets, res.datasets...)
		hv.Scopes = append(hv.Scopes, res.scopes...)
		dbNames = append(dbNames, res.db)
		for _, e := range res.errors {
			e.Message = red.redact(e.Message)
			hv.Errors = append(hv.Errors, e)
		}
	}
	slices.SortFunc(hv.Datasets, func(a, b catalog.DatasetFacts) int { return cmp.Compare(a.Key.Name, b.Key.Name) })
	slices.SortFunc(hv.Scopes, func(a, b catalog.Scope) int { return cmp.Compare(a.Prefix, b.Prefix) })
	hv = viewLineage(hv, dbNames, sqllineage.Redshift)
	if read == 0 {
		return hv, fmt.Errorf("crawl %s: no database could be read: %w", source, errors.Join(failures...))
	}
	return hv, nil
}

// redshiftHost matches the endpoint of a provisioned cluster
// (<cluster>.<id>.<region>.redshift.amazonaws.com) or of a serverless
// workgroup (<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com).
var redshiftHost = regexp.MustCompile(`^([^.]+)\.[^.]+\.([a-z]{2}(?:-[a-z]+)+-\d+)\.redshift(?:-serverless)?\.amazonaws\.com(?:\.cn)?$`)

// RedshiftNamespace is the OpenLineage namespace of the Redshift server at
// host and port: redshift://<cluster identifier>.<region>:<port> for an
// AWS endpoint, else redshift://host:port. Port 0 is Redshift's 5439.
func RedshiftNamespace(host string, port uint16) string {
	if port == 0 {
		port = 5439
	}
	host = strings.ToLower(host)
	if m := redshiftHost.FindStringSubmatch(host); m != nil {
		host = m[1] + "." + m[2]
	}
	return "redshift://" + net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// rsReader reads one Redshift database.
type rsReader struct {
	q   rsQuerier
	db  string
	ns  string
	flt filter
}

// rsRelation is what the crawl learns of one relation.
type rsRelation struct {
	schema, name, tableType string
	remarks, owner, viewDef *string
	columns                 []catalog.Column
	info                    map[string]*string // its row of SVV_TABLE_INFO
	mv                      bool
	stale                   bool
	distKey                 string
	sortKey                 []sortCol
}

type sortCol struct {
	name string
	pos  int // negative in an interleaved key
}

func (r *rsReader) read(ctx context.Context) (dbResult, error) {
	rows, err := r.q.query(ctx, rsRelations)
	if err != nil {
		return dbResult{}, fmt.Errorf("list relations (svv_tables): %w", err)
	}
	rels := map[[2]string]*rsRelation{}
	var order []*rsRelation
	schemas := map[string]bool{}
	for _, row := range rows {
		rel := &rsRelation{schema: text(row[0]), name: text(row[1]), tableType: text(row[2]), remarks: row[3], owner: row[4], viewDef: row[5]}
		if !r.flt.touchesSchema(rel.schema) {
			continue
		}
		schemas[rel.schema] = true
		if !r.flt.relation(rel.schema, rel.name) {
			continue
		}
		rels[[2]string{rel.schema, rel.name}] = rel
		order = append(order, rel)
	}

	rows, err = r.q.query(ctx, rsColumns)
	if err != nil {
		return dbResult{}, fmt.Errorf("read columns (svv_columns): %w", err)
	}
	for _, row := range rows {
		rel := rels[[2]string{text(row[0]), text(row[1])}]
		if rel == nil {
			continue
		}
		ord, _ := strconv.Atoi(text(row[3]))
		c := catalog.Column{
			Name:     text(row[2]),
			Ordinal:  ord,
			Type:     redshiftType(text(row[4]), row[5], row[6], row[7]),
			Nullable: !strings.EqualFold(text(row[8]), "no"),
		}
		if row[9] != nil {
			c.Default = *row[9]
		}
		if row[10] != nil {
			c.Description = *row[10]
		}
		rel.columns = append(rel.columns, c)
	}

	var errs []catalog.CrawlError
	warn := func(object, format string, args ...any) {
		errs = append(errs, catalog.CrawlError{Object: object, Message: fmt.Sprintf(format, args...)})
	}
	infoRead := true
	if rows, err = r.q.query(ctx, rsTableInfo); err != nil {
		infoRead = false
		warn(r.db, "read sizes and keys (svv_table_info): %v; sizes, row counts and distribution and sort keys are left out (grant SELECT on svv_table_info to the crawling user)", err)
	}
	keyed := map[string]bool{} // schemas with a table with keys
	for _, row := range rows {
		rel := rels[[2]string{text(row[0]), text(row[1])}]
		if rel == nil {
			continue
		}
		rel.info = map[string]*string{}
		for i, col := range rsTableInfo.columns {
			rel.info[col] = row[i]
		}
		if n, _ := strconv.Atoi(text(row[4])); n > 0 || strings.Contains(text(row[2]), "KEY(") {
			keyed[rel.schema] = true
		}
	}

	if rows, err = r.q.query(ctx, rsMaterializedViews); err != nil {
		warn(r.db, "read materialized views (svv_mv_info): %v; they are reported as views", err)
	}
	for _, row := range rows {
		// char(128): padded with blanks.
		rel := rels[[2]string{strings.TrimRight(text(row[0]), " "), strings.TrimRight(text(row[1]), " ")}]
		if rel == nil {
			continue
		}
		rel.mv = true
		rel.stale = strings.TrimSpace(text(row[3])) == "t"
		if rel.owner == nil && row[2] != nil {
			o := strings.TrimRight(*row[2], " ")
			rel.owner = &o
		}
	}

	for _, schema := range slices.Sorted(maps.Keys(keyed)) {
		if err := r.readTableDef(ctx, schema, rels); err != nil {
			warn(r.db+"."+schema, "read distribution and sort key columns (pg_table_def): %v", err)
		}
	}

	res := dbResult{db: r.db}
	for _, rel := range order {
		res.datasets = append(res.datasets, r.facts(rel, infoRead))
	}
	if !r.flt.active() {
		res.scopes = []catalog.Scope{{Namespace: r.ns, Prefix: r.db + "."}}
	} else {
		for _, s := range slices.Sorted(maps.Keys(schemas)) {
			res.scopes = append(res.scopes, catalog.Scope{Namespace: r.ns, Prefix: r.db + "." + s + "."})
		}
	}
	res.errors = errs
	return res, nil
}

// readTableDef reads the key columns of schema's tables from PG_TABLE_DEF.
func (r *rsReader) readTableDef(ctx context.Context, schema string, rels map[[2]string]*rsRelation) error {
	if _, err := r.q.query(ctx, rsSearchPath, quoteIdent(schema)); err != nil {
		return err
	}
	rows, err := r.q.query(ctx, rsTableDef, schema)
	if err != nil {
		return err
	}
	for _, row := range rows {
		rel := rels[[2]string{schema, text(row[0])}]
		if rel == nil {
			continue
		}
		col := text(row[1])
		if text(row[2]) == "t" || text(row[2]) == "true" {
			rel.distKey = col
		}
		if pos, _ := strconv.Atoi(text(row[3])); pos != 0 {
			rel.sortKey = append(rel.sortKey, sortCol{col, pos})
		}
	}
	return nil
}

// facts turns a relation into dataset facts. infoRead says whether
// SVV_TABLE_INFO could be read: a table it does not list is then empty.
func (r *rsReader) facts(rel *rsRelation, infoRead bool) catalog.DatasetFacts {
	f := catalog.DatasetFacts{
		Key:        catalog.Key{Namespace: r.ns, Name: r.db + "." + rel.schema + "." + rel.name},
		Platform:   RedshiftPlatform,
		Kind:       catalog.KindTable,
		Properties: map[string]string{},
		Columns:    rel.columns,
	}
	set := func(k string, v *string) {
		if v != nil && strings.TrimSpace(*v) != "" {
			f.Properties[k] = strings.TrimSpace(*v)
		}
	}
	if rel.remarks != nil {
		f.Description = *rel.remarks
	}
	if rel.owner != nil && *rel.owner != "" {
		f.Owners = []catalog.Owner{{Name: *rel.owner, Kind: catalog.OwnerRole, Type: "technical"}}
	}
	switch {
	case rel.mv:
		f.Kind = catalog.KindMaterializedView
		if rel.stale {
			f.Properties[PropStale] = "true"
		}
	case rel.tableType == "VIEW":
		f.Kind = catalog.KindView
	case rel.tableType == "EXTERNAL TABLE":
		f.Properties[PropExternal] = rel.tableType
	}
	if rel.viewDef != nil {
		def, late := viewSelect(*rel.viewDef)
		f.Definition = def
		if late {
			f.Properties[PropLateBinding] = "true"
		}
	}
	if rel.info != nil {
		if mb, err := strconv.ParseInt(text(rel.info["size"]), 10, 64); err == nil {
			b := mb << 20 // 1 MB blocks
			f.SizeBytes = &b
		}
		rows := rel.info["estimated_visible_rows"]
		if rows == nil {
			rows = rel.info["tbl_rows"]
		}
		if n, err := strconv.ParseFloat(text(rows), 64); err == nil {
			v := int64(n)
			f.RowEstimate = &v
		}
		set(PropDistStyle, rel.info["diststyle"])
		set(PropUnsorted, rel.info["unsorted"])
		set(PropStatsOff, rel.info["stats_off"])
	} else if infoRead && f.Kind == catalog.KindTable && rel.tableType == "BASE TABLE" {
		var zero int64 // SVV_TABLE_INFO leaves out empty tables
		f.SizeBytes, f.RowEstimate = &zero, new(int64)
	}
	if rel.distKey != "" {
		f.Properties[PropDistKey] = rel.distKey
	}
	if len(rel.sortKey) > 0 {
		slices.SortFunc(rel.sortKey, func(a, b sortCol) int { return cmp.Compare(abs(a.pos), abs(b.pos)) })
		names := make([]string, len(rel.sortKey))
		style := "compound"
		for i, c := range rel.sortKey {
			names[i] = c.name
			if c.pos < 0 {
				style = "interleaved"
			}
		}
		f.Properties[PropSortKey] = strings.Join(names, ", ")
		f.Properties[PropSortKeyStyle] = style
	}
	return f
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// lateBinding matches the end of a late-binding view's definition.
var lateBinding = regexp.MustCompile(`(?is)\s*with\s+no\s+schema\s+binding\s*;?\s*$`)

// createView matches the head that pg_get_viewdef puts before the query of
// a late-binding view.
var createView = regexp.MustCompile(`(?is)^\s*create\s+(?:or\s+replace\s+)?view\s+.+?\s+as\s+`)

// viewSelect returns the query of a view definition as pg_get_viewdef
// prints it, and whether the view is late-binding: for such a view
// Redshift prints the whole CREATE VIEW ... WITH NO SCHEMA BINDING
// statement, of which lineage needs the query.
func viewSelect(def string) (string, bool) {
	def = strings.TrimSpace(def)
	if !lateBinding.MatchString(def) {
		return def, false
	}
	def = lateBinding.ReplaceAllString(def, "")
	if loc := createView.FindStringIndex(def); loc != nil {
		def = def[loc[1]:]
	}
	return strings.TrimSpace(def), true
}

// redshiftType prints a column's type as Redshift's DDL writes it:
// "character varying(256)", "numeric(18,2)", "integer".
func redshiftType(dataType string, maxLen, precision, scale *string) string {
	switch dataType {
	case "character varying", "character", "varbyte", "binary varying":
		if maxLen != nil {
			return dataType + "(" + *maxLen + ")"
		}
	case "numeric":
		if precision != nil && scale != nil {
			return dataType + "(" + *precision + "," + *scale + ")"
		}
	}
	return dataType
}

// text returns the value, "" for NULL.
func text(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}
