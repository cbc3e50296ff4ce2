package postgres

import (
	"bytes"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/pgcluster"
)

// psqlColumn is one line of psql's \d: a column as psql shows it.
type psqlColumn struct {
	name, typ, nullable, def string
}

// describe runs psql's \d on each relation of rels, given as schema and
// name, in one psql session on dbURL, and returns the columns psql shows
// for each. psql is the reference the crawler's types and defaults are
// held to: it prints them in the session's search_path, which is the
// database's default here as in a user's terminal.
func describe(t *testing.T, dbURL string, rels [][2]string) map[[2]string][]psqlColumn {
	t.Helper()
	bindir, err := pgcluster.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	for i, r := range rels {
		fmt.Fprintf(&script, "\\echo '#REL %d'\n\\d %s.%s\n", i, quote(r[0]), quote(r[1]))
	}
	// Fields and records end with control characters that no name, type
	// or default holds; \echo ends its line with a newline.
	cmd := osexec.Command(filepath.Join(bindir, "psql"), "-X", "-q", "-A", "-t",
		"-F", "\x1f", "-R", "\x1e", "-v", "ON_ERROR_STOP=1", "-f", "-", dbURL)
	cmd.Stdin = &script
	// English messages, and no settings from the environment (PGOPTIONS
	// could set a search_path).
	cmd.Env = []string{"LC_ALL=C"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*osexec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("psql: %v\n%s", err, stderr)
	}
	got := map[[2]string][]psqlColumn{}
	for _, part := range strings.Split("\n"+string(out), "\n#REL ")[1:] {
		head, body, _ := strings.Cut(part, "\n")
		var i int
		if _, err := fmt.Sscan(head, &i); err != nil || i >= len(rels) {
			t.Fatalf("psql output: bad marker %q", head)
		}
		body = strings.TrimSuffix(body, "\n")
		if body == "" {
			got[rels[i]] = []psqlColumn{}
			continue
		}
		for _, rec := range strings.Split(body, "\x1e") {
			f := strings.Split(rec, "\x1f")
			if len(f) < 5 {
				t.Fatalf("psql output for %v: %q has %d fields, want 5 or more", rels[i], rec, len(f))
			}
			got[rels[i]] = append(got[rels[i]], psqlColumn{name: f[0], typ: f[1], nullable: f[3], def: f[4]})
		}
	}
	return got
}

// compareWithPsql holds every column of every dataset of h that lies in
// database db at dbURL to psql's \d (type, nullability, default) and to
// information_schema.columns (ordinal position). It returns how many
// columns it compared and a line per difference.
func compareWithPsql(t *testing.T, dbURL string, h catalog.Harvest) (compared int, diffs []string) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	// Relations by dataset name, and ordinal positions by relation and
	// column. information_schema leaves out materialized views; its
	// ordinal_position is pg_attribute.attnum, which stands in for them.
	rows, err := conn.Query(ctx, `
		SELECT n.nspname, c.relname, a.attname,
		       CASE WHEN c.relkind = 'm' THEN a.attnum ELSE ic.ordinal_position::int END
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN information_schema.columns ic
		       ON ic.table_schema = n.nspname AND ic.table_name = c.relname AND ic.column_name = a.attname
		WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`)
	if err != nil {
		t.Fatal(err)
	}
	type colKey struct{ schema, table, column string }
	ordinals := map[colKey]*int{}
	relOf := map[string][2]string{}
	for rows.Next() {
		var k colKey
		var ord *int
		if err := rows.Scan(&k.schema, &k.table, &k.column, &ord); err != nil {
			t.Fatal(err)
		}
		ordinals[k] = ord
		relOf[db+"."+k.schema+"."+k.table] = [2]string{k.schema, k.table}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	var rels [][2]string
	for _, d := range h.Datasets {
		if r, ok := relOf[d.Key.Name]; ok {
			rels = append(rels, r)
		}
	}
	shown := describe(t, dbURL, rels)
	for _, d := range h.Datasets {
		r, ok := relOf[d.Key.Name]
		if !ok {
			if len(d.Columns) > 0 {
				diffs = append(diffs, fmt.Sprintf("%s: no such relation", d.Key.Name))
			}
			continue
		}
		psql := shown[r]
		if len(psql) != len(d.Columns) {
			diffs = append(diffs, fmt.Sprintf("%s: %d columns, psql shows %d", d.Key.Name, len(d.Columns), len(psql)))
		}
		for i, c := range d.Columns {
			compared++
			at := fmt.Sprintf("%s.%s.%s", r[0], r[1], c.Name)
			if want := ordinals[colKey{r[0], r[1], c.Name}]; want == nil {
				diffs = append(diffs, fmt.Sprintf("%s: not in information_schema.columns", at))
			} else if c.Ordinal != *want {
				diffs = append(diffs, fmt.Sprintf("%s: ordinal %d, information_schema says %d", at, c.Ordinal, *want))
			}
			if i >= len(psql) {
				continue
			}
			p := psql[i]
			if p.name != c.Name {
				diffs = append(diffs, fmt.Sprintf("%s: psql shows column %q here", at, p.name))
				continue
			}
			if c.Type != p.typ {
				diffs = append(diffs, fmt.Sprintf("%s: type %q, psql shows %q", at, c.Type, p.typ))
			}
			if c.Nullable != (p.nullable != "not null") {
				diffs = append(diffs, fmt.Sprintf("%s: nullable %v, psql shows %q", at, c.Nullable, p.nullable))
			}
			if c.Default != p.def {
				diffs = append(diffs, fmt.Sprintf("%s: default %q, psql shows %q", at, c.Default, p.def))
			}
		}
	}
	return compared, diffs
}

// TestLikePsql holds every column the crawler reports to psql's \d and
// information_schema.columns: ordinals with the gaps that dropped columns
// leave, types and defaults unqualified where psql leaves them so,
// nullability, and identity and generated columns.
func TestLikePsql(t *testing.T) {
	for _, file := range []string{"psql.sql", "pagila-schema.sql", "awkward.sql"} {
		t.Run(file, func(t *testing.T) {
			dbURL, _ := loadDB(t, file)
			h := mustCrawl(t, Config{Source: "postgres:x", URL: dbURL})
			n, diffs := compareWithPsql(t, dbURL, h)
			for _, d := range diffs {
				t.Error(d)
			}
			if n < 20 {
				t.Errorf("compared %d columns, want more", n)
			}
			t.Logf("%d columns of %d datasets compared", n, len(h.Datasets))
		})
	}

	// What psql shows, spelled out for one table.
	dbURL, db := loadDB(t, "psql.sql")
	h := mustCrawl(t, Config{Source: "postgres:x", URL: dbURL})
	want := []catalog.Column{
		{Name: "id", Ordinal: 1, Type: "integer", Default: "nextval('hr.employee_id_seq'::regclass)", PrimaryKey: true},
		{Name: "badge", Ordinal: 2, Type: "integer", Nullable: true, Default: `nextval('hr."Badge Seq"'::regclass)`},
		// org_level, dropped, was 3.
		{Name: "name", Ordinal: 4, Type: `"Name"`},
		{Name: "salaried", Ordinal: 5, Type: `"Flag"`, Default: "true"},
		{Name: "level", Ordinal: 6, Type: "hr.level", Nullable: true, Default: "'junior'::hr.level"},
		{Name: "mood", Ordinal: 7, Type: "mood", Nullable: true, Default: "'ok'::mood"},
		{Name: "moods", Ordinal: 8, Type: "mood[]", Nullable: true},
		{Name: "code", Ordinal: 9, Type: "text", Nullable: true, Default: "next_code()"},
		{Name: "hired", Ordinal: 10, Type: "date", Nullable: true, Default: "hr.today()"},
		{Name: "rowguid", Ordinal: 11, Type: "uuid", Default: "gen_random_uuid()"},
		// odd, dropped, was 12.
		{Name: "pay", Ordinal: 13, Type: "numeric(10,2)", Nullable: true},
		{Name: "pay_eur", Ordinal: 14, Type: "numeric(10,2)", Nullable: true, Default: "generated always as ((pay * 0.9)) stored"},
		{Name: "vacation", Ordinal: 15, Type: "interval", Nullable: true, Default: "'1 day'::interval + '02:00:00'::interval"},
		{Name: "modified", Ordinal: 16, Type: "timestamp without time zone", Default: "now()"},
		{Name: "node", Ordinal: 17, Type: "character varying", Nullable: true, Default: "'/'::character varying"},
		// pg_catalog.int4 would come first.
		{Name: "odd", Ordinal: 18, Type: "public.int4", Nullable: true},
	}
	if diff := cmp.Diff(want, find(t, h, db+".hr.employee").Columns); diff != "" {
		t.Errorf("hr.employee columns (-want +got):\n%s", diff)
	}
}

// TestLikePsqlDatabaseSearchPath: a database whose own default
// search_path names more schemas shows their types unqualified, as psql
// does in a new session there; the crawling role's own search_path does
// not count (see TestDeterministic).
func TestLikePsqlDatabaseSearchPath(t *testing.T) {
	dbURL, db := loadDB(t, "psql.sql")
	exec(t, dbURL, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+` SET search_path = "$user", hr, public`)
	h := mustCrawl(t, Config{Source: "postgres:x", URL: dbURL})
	n, diffs := compareWithPsql(t, dbURL, h)
	for _, d := range diffs {
		t.Error(d)
	}
	cols := find(t, h, db+".hr.employee").Columns
	if c := cols[4]; c.Name != "level" || c.Type != "level" || c.Default != "'junior'::level" {
		t.Errorf("level column: %+v, want type level, default 'junior'::level", c)
	}
	if c := cols[1]; c.Default != `nextval('"Badge Seq"'::regclass)` {
		t.Errorf("badge default %q, want the sequence unqualified", c.Default)
	}
	// View definitions stay fully qualified, for lineage.
	if v := find(t, h, db+".hr.v_employee"); !strings.Contains(v.Definition, "FROM hr.employee") {
		t.Errorf("view definition:\n%s", v.Definition)
	}
	t.Logf("%d columns compared", n)
}

func TestWithoutUser(t *testing.T) {
	for in, want := range map[string]string{
		`"$user", public`:             "public",
		`$user,public`:                "public",
		`public, "$user", "A, ""b"""`: `public, "A, ""b"""`,
		`sales , "$user"`:             "sales",
		``:                            "",
		`"$user"`:                     "",
		`"Mixed", "$userx", "x$user"`: `"Mixed", "$userx", "x$user"`,
		`"a""$user", b`:               `"a""$user", b`,
	} {
		if got := withoutUser(in); got != want {
			t.Errorf("withoutUser(%q) = %q, want %q", in, got, want)
		}
	}
}
