package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeConfig writes text to almanac.yaml in a new directory and returns
// the directory and the file's path. A leading newline is dropped, so that
// a raw string's first line is line 1 of the file.
func writeConfig(t testing.TB, text string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "almanac.yaml")
	if err := os.WriteFile(path, []byte(strings.TrimPrefix(text, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// envOf returns a getenv reading vars.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// defaults returns the configuration of no file and no environment.
func defaults() *Config {
	return &Config{
		Listen: "127.0.0.1:8080",
		Log:    LogConfig{Format: "text", Level: "info"},
		Search: SearchConfig{IndexDir: ".almanac/index"},
	}
}

// with returns defaults() changed by f.
func with(f func(*Config)) *Config {
	c := defaults()
	f(c)
	return c
}

func TestLoadConfigFull(t *testing.T) {
	got, err := LoadConfig(filepath.Join("testdata", "config", "full.yaml"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		DatabaseURL: "postgres://almanac@catalog.internal:5432/almanac",
		Listen:      "0.0.0.0:9090",
		PublicURL:   "https://almanac.example.com",
		Log:         LogConfig{Format: "json", Level: "debug"},
		Search:      SearchConfig{IndexDir: "/var/lib/almanac/index"},
		Sources: []SourceConfig{
			{
				Name:      "warehouse",
				Type:      "postgres",
				URL:       "postgres://crawler@db.internal:5432/analytics",
				Password:  "s3cret",
				Databases: []string{"analytics", "billing"},
				Namespace: "postgres://warehouse.internal:5432",
				Include:   []string{"public.*", "marts"},
				Exclude:   []string{"*.tmp_*"},
				Schedule:  "@every 1h",
				Line:      11,
			},
			{
				Name:     "billing-replica",
				Type:     "postgres",
				URL:      "postgresql://reader@replica.internal/billing?sslmode=require",
				Schedule: "@daily",
				Line:     20,
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig(full.yaml) mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		// noFile loads with path "": yaml is then unused.
		noFile bool
		yaml   string
		env    map[string]string
		want   *Config
	}{
		{
			name:   "no file gives the defaults",
			noFile: true,
			want:   defaults(),
		},
		{
			name: "abbreviations",
			yaml: "search:\n  abbreviations:\n    hc: headcount\n    inv: [inventory, invoice]\n    gl: general ledger\n    cust: \"\"\n",
			want: with(func(c *Config) {
				c.Search.Abbreviations = map[string][]string{
					"hc": {"headcount"}, "inv": {"inventory", "invoice"}, "gl": {"general ledger"}, "cust": nil,
				}
			}),
		},
		{
			name:   "no file with the environment",
			noFile: true,
			env: map[string]string{
				"DATABASE_URL":       "postgres://env@db/almanac",
				"ALMANAC_LISTEN":     ":9000",
				"ALMANAC_PUBLIC_URL": "http://catalog.internal:9000",
				"ALMANAC_LOG_FORMAT": "json",
				"ALMANAC_LOG_LEVEL":  "warn",
			},
			want: with(func(c *Config) {
				c.DatabaseURL = "postgres://env@db/almanac"
				c.Listen = ":9000"
				c.PublicURL = "http://catalog.internal:9000"
				c.Log = LogConfig{Format: "json", Level: "warn"}
			}),
		},
		{
			name: "empty file gives the defaults",
			yaml: "",
			want: defaults(),
		},
		{
			name: "comments only give the defaults",
			yaml: "# nothing configured yet\n",
			want: defaults(),
		},
		{
			name: "null values keep the defaults",
			yaml: `
database_url:
listen: ~
log:
search:
  index_dir: ""
sources:
`,
			want: defaults(),
		},
		{
			name: "ALMANAC_DATABASE_URL wins over DATABASE_URL and the file",
			yaml: `
database_url: postgres://file@db/almanac
listen: 127.0.0.1:1234
log: {format: text, level: error}
`,
			env: map[string]string{
				"ALMANAC_DATABASE_URL": "postgres://almanac-env@db/almanac",
				"DATABASE_URL":         "postgres://env@db/almanac",
				"ALMANAC_LISTEN":       ":9000",
				"ALMANAC_LOG_FORMAT":   "json",
				"ALMANAC_LOG_LEVEL":    "debug",
			},
			want: with(func(c *Config) {
				c.DatabaseURL = "postgres://almanac-env@db/almanac"
				c.Listen = ":9000"
				c.Log = LogConfig{Format: "json", Level: "debug"}
			}),
		},
		{
			name: "DATABASE_URL wins over the file",
			yaml: "database_url: postgres://file@db/almanac\n",
			env:  map[string]string{"DATABASE_URL": "postgres://env@db/almanac"},
			want: with(func(c *Config) { c.DatabaseURL = "postgres://env@db/almanac" }),
		},
		{
			name: "environment overrides a value invalid in the file",
			yaml: "log:\n  format: xml\n",
			env:  map[string]string{"ALMANAC_LOG_FORMAT": "json"},
			want: with(func(c *Config) { c.Log.Format = "json" }),
		},
		{
			name: "source password from the environment",
			yaml: `
sources:
  - name: ware-house
    type: postgres
    url: postgres://crawler@db/analytics
    password: from-file
  - name: billing
    type: postgres
    url: postgres://crawler@db/billing
`,
			env: map[string]string{
				"ALMANAC_SOURCE_WARE_HOUSE_PASSWORD": "from-env",
				"ALMANAC_SOURCE_BILLING_PASSWORD":    "billing-env",
			},
			want: with(func(c *Config) {
				c.Sources = []SourceConfig{
					{Name: "ware-house", Type: "postgres", URL: "postgres://crawler@db/analytics", Password: "from-env", Line: 2},
					{Name: "billing", Type: "postgres", URL: "postgres://crawler@db/billing", Password: "billing-env", Line: 6},
				}
			}),
		},
		{
			name: "variables expanded in strings and lists",
			yaml: `
database_url: postgres://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:5432/almanac
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@${WAREHOUSE_HOST}/analytics
    password: ${WAREHOUSE_PASSWORD}
    databases: ["${DB_NAME}", other]
`,
			env: map[string]string{
				"DB_USER":            "almanac",
				"DB_PASSWORD":        "pw",
				"DB_HOST":            "db.internal",
				"WAREHOUSE_HOST":     "wh.internal",
				"WAREHOUSE_PASSWORD": "p$ss${NOT_EXPANDED_AGAIN}",
				"DB_NAME":            "analytics",
			},
			want: with(func(c *Config) {
				c.DatabaseURL = "postgres://almanac:pw@db.internal:5432/almanac"
				c.Sources = []SourceConfig{{
					Name:      "warehouse",
					Type:      "postgres",
					URL:       "postgres://crawler@wh.internal/analytics",
					Password:  "p$ss${NOT_EXPANDED_AGAIN}",
					Databases: []string{"analytics", "other"},
					Line:      3,
				}}
			}),
		},
		{
			name: "dollar signs other than ${NAME} are literal",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    password: "pa$$word$HOME$${LITERAL}$"
`,
			env: map[string]string{"HOME": "/root", "LITERAL": "no"},
			want: with(func(c *Config) {
				c.Sources = []SourceConfig{{
					Name: "warehouse", Type: "postgres", URL: "postgres://crawler@db/analytics",
					Password: "pa$$word$HOME${LITERAL}$", Line: 2,
				}}
			}),
		},
		{
			name: "aliases and scalars of other types",
			yaml: `
listen: :8080
sources:
  - name: a
    type: postgres
    url: postgres://crawler@db/a
    databases: &dbs [analytics, 2024]
  - name: 42
    type: postgres
    url: postgres://crawler@db/b
    databases: *dbs
`,
			want: with(func(c *Config) {
				c.Listen = ":8080"
				c.Sources = []SourceConfig{
					{Name: "a", Type: "postgres", URL: "postgres://crawler@db/a", Databases: []string{"analytics", "2024"}, Line: 3},
					{Name: "42", Type: "postgres", URL: "postgres://crawler@db/b", Databases: []string{"analytics", "2024"}, Line: 7},
				}
			}),
		},
		{
			name: "unitycatalog source with its token from the environment",
			yaml: `
sources:
  - name: lake
    type: unitycatalog
    url: https://dbc-1234.cloud.databricks.com
    include: [main.sales.orders, "dev_*"]
    lineage: true
`,
			env: map[string]string{"ALMANAC_SOURCE_LAKE_TOKEN": "dapi-from-env"},
			want: with(func(c *Config) {
				c.Sources = []SourceConfig{{
					Name: "lake", Type: "unitycatalog", URL: "https://dbc-1234.cloud.databricks.com", Token: "dapi-from-env",
					Include: []string{"main.sales.orders", "dev_*"}, Lineage: "true", Line: 2,
				}}
			}),
		},
		{
			name: "empty trailing document",
			yaml: "listen: :8080\n---\n",
			want: with(func(c *Config) { c.Listen = ":8080" }),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if !tc.noFile {
				_, path = writeConfig(t, tc.yaml)
			}
			got, err := LoadConfig(path, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LoadConfig mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		// want is the whole error message, with the file named
		// almanac.yaml.
		want string
	}{
		{
			name: "unknown key with a suggestion",
			yaml: `
database_url: postgres://almanac@db/almanac
listen: :8080
listn: :9090
`,
			want: `almanac.yaml:3: unknown key "listn" (did you mean "listen"?)`,
		},
		{
			name: "abbreviation not a word",
			yaml: "search:\n  abbreviations:\n    c-a: customer\n    amt: [\"am ount!\"]\n    qty: {a: b}\n",
			want: "almanac.yaml:3: search.abbreviations: abbreviation \"c-a\" must be one word of letters and digits\n" +
				"almanac.yaml:4: search.abbreviations.amt: \"am ount!\" must be words of letters and digits\n" +
				"almanac.yaml:5: search.abbreviations.qty: must be a string or a list of strings",
		},
		{
			name: "public_url without a scheme",
			yaml: "public_url: almanac.example.com\n",
			want: `almanac.yaml:1: public_url: must be an http:// or https:// URL with a host, such as https://almanac.example.com, got "almanac.example.com"`,
		},
		{
			name: "public_url misspelt",
			yaml: "public_ur: https://almanac.example.com\n",
			want: `almanac.yaml:1: unknown key "public_ur" (did you mean "public_url"?)`,
		},
		{
			name: "unknown key in another case",
			yaml: "Listen: :8080\n",
			want: `almanac.yaml:1: unknown key "Listen" (did you mean "listen"?)`,
		},
		{
			name: "unknown key without a suggestion",
			yaml: "color: blue\n",
			want: `almanac.yaml:1: unknown key "color"`,
		},
		{
			name: "unknown nested key",
			yaml: `
log:
  fromat: json
`,
			want: `almanac.yaml:2: log: unknown key "fromat" (did you mean "format"?)`,
		},
		{
			name: "unknown key in a source",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    passwd: x
`,
			want: `almanac.yaml:5: sources[0]: unknown key "passwd" (did you mean "password"?)`,
		},
		{
			name: "duplicate key",
			yaml: "listen: :8080\nlisten: :9090\n",
			want: `almanac.yaml:2: duplicate key "listen" (first at line 1)`,
		},
		{
			name: "merge key",
			yaml: "log:\n  <<: {format: json}\n",
			want: `almanac.yaml:2: log: merge keys (<<) are not supported`,
		},
		{
			name: "key not a string",
			yaml: "? [a, b]\n: c\n",
			want: `almanac.yaml:1: keys must be strings`,
		},
		{
			name: "unknown source type",
			yaml: `
database_url: postgres://almanac@db/almanac
listen: :8080
log:
  level: info
sources:
  - name: shop
    type: mysql
    url: mysql://shop
`,
			want: `almanac.yaml:7: sources[0].type: unknown source type "mysql" (supported: postgres, dbt, delta, unitycatalog, great_expectations)`,
		},
		{
			name: "unitycatalog source needs a server URL and takes three-part patterns",
			yaml: `
sources:
  - name: lake
    type: unitycatalog
    include: [main.sales.orders.x]
    lineage: yes
  - name: lake2
    type: unitycatalog
    url: dbc-1234.cloud.databricks.com
  - name: lake3
    type: unitycatalog
    url: https://token:dapi123@dbc-1234.cloud.databricks.com
`,
			want: `almanac.yaml:2: sources[0]: missing required key "url"
almanac.yaml:4: sources[0].include[0]: pattern "main.sales.orders.x" must match catalog, catalog.schema or catalog.schema.table
almanac.yaml:5: sources[0].lineage: must be true or false, got "yes"
almanac.yaml:8: sources[1].url: must be the server's http:// or https:// URL, such as https://dbc-1234.cloud.databricks.com
almanac.yaml:11: sources[2].url: must not hold a user or token: set token`,
		},
		{
			name: "dbt source needs paths and the warehouse namespace",
			yaml: `
sources:
  - name: analytics
    type: dbt
`,
			want: `almanac.yaml:2: sources[0]: missing required key "paths"
almanac.yaml:2: sources[0]: missing required key "namespace"`,
		},
		{
			name: "great_expectations source needs paths and the warehouse namespace",
			yaml: `
sources:
  - name: checks
    type: great_expectations
`,
			want: `almanac.yaml:2: sources[0]: missing required key "paths"
almanac.yaml:2: sources[0]: missing required key "namespace"`,
		},
		{
			// Two dbt sources sharing jobs would merge their lineage: a
			// namespace given explicitly may not be another source's,
			// whether given or the default dbt://<name>.
			name: "dbt sources sharing a job namespace",
			yaml: `
sources:
  - name: dev
    type: dbt
    paths: [/srv/dbt/dev]
    namespace: postgres://dev:5432
  - name: prod
    type: dbt
    paths: [/srv/dbt/prod]
    namespace: postgres://prod:5432
    job_namespace: dbt://dev
  - name: staging
    type: dbt
    paths: [/srv/dbt/staging]
    namespace: postgres://staging:5432
    job_namespace: default
  - name: ci
    type: dbt
    paths: [/srv/dbt/ci]
    namespace: postgres://ci:5432
    job_namespace: default
`,
			want: `almanac.yaml:10: sources[1].job_namespace: job namespace "dbt://dev" is the one of source "dev" (line 2): each dbt source needs its own
almanac.yaml:20: sources[3].job_namespace: job namespace "default" is the one of source "staging" (line 11): each dbt source needs its own`,
		},
		{
			name: "duplicate source name",
			yaml: `
listen: :8080
sources:
  # the main warehouse
  - name: warehouse
    type: postgres
    url: postgres://crawler@db1/analytics
    databases: [analytics]
    include: ["public.*"]
    schedule: "@every 1h"

  # copied from above, not renamed
  - name: warehouse
    type: postgres
    url: postgres://crawler@db2/analytics
`,
			want: `almanac.yaml:12: sources[1].name: duplicate source name "warehouse" (first at line 4)`,
		},
		{
			name: "source names sharing a password variable",
			yaml: `
sources:
  - name: ware-house
    type: postgres
    url: postgres://crawler@db1/analytics
  - name: ware_house
    type: postgres
    url: postgres://crawler@db2/analytics
`,
			want: `almanac.yaml:5: sources[1].name: "ware_house" and "ware-house" (line 2) would share the password variable ALMANAC_SOURCE_WARE_HOUSE_PASSWORD; rename one`,
		},
		{
			name: "log format",
			yaml: `
database_url: postgres://almanac@db/almanac
listen: :8080
log:
  level: info
  format: xml
`,
			want: `almanac.yaml:5: log.format: must be text or json, got "xml"`,
		},
		{
			name: "log level",
			yaml: "log:\n  level: verbose\n",
			want: `almanac.yaml:2: log.level: must be debug, info, warn or error, got "verbose"`,
		},
		{
			name: "listen without a port",
			yaml: "listen: 8080\n",
			want: `almanac.yaml:1: listen: must be host:port (such as 127.0.0.1:8080 or :8080), got "8080"`,
		},
		{
			name: "missing source name",
			yaml: `
sources:
  - type: postgres
    url: postgres://crawler@db/analytics
`,
			want: `almanac.yaml:2: sources[0]: missing required key "name"`,
		},
		{
			name: "missing source type",
			yaml: `
sources:
  - name: warehouse
`,
			want: `almanac.yaml:2: sources[0]: missing required key "type"`,
		},
		{
			name: "missing url of a postgres source",
			yaml: `
sources:
  - name: warehouse

    type: postgres
`,
			want: `almanac.yaml:2: sources[0]: missing required key "url"`,
		},
		{
			name: "empty source name",
			yaml: `
sources:
  - type: postgres
    name: ""
    url: postgres://crawler@db/analytics
`,
			want: `almanac.yaml:3: sources[0].name: must not be empty`,
		},
		{
			name: "invalid source name",
			yaml: `
sources:
  - name: Ware House
    type: postgres
    url: postgres://crawler@db/analytics
`,
			want: `almanac.yaml:2: sources[0].name: invalid name "Ware House": use only a-z, 0-9, '_' and '-'`,
		},
		{
			name: "sources a mapping",
			yaml: `
sources:
  name: warehouse
  type: postgres
`,
			want: `almanac.yaml:1: sources: must be a list`,
		},
		{
			name: "sources a string",
			yaml: "sources: warehouse\n",
			want: `almanac.yaml:1: sources: must be a list`,
		},
		{
			name: "source not a mapping",
			yaml: `
sources:
  - warehouse
  - name: ""
    type: postgres
    url: postgres://crawler@db/analytics
`,
			want: "almanac.yaml:2: sources[0]: must be a mapping\n" +
				`almanac.yaml:3: sources[1].name: must not be empty`,
		},
		{
			name: "log a string",
			yaml: "log: json\n",
			want: `almanac.yaml:1: log: must be a mapping`,
		},
		{
			name: "file a list",
			yaml: "- listen: :8080\n",
			want: `almanac.yaml:1: the file must be a mapping of keys to values`,
		},
		{
			name: "string given a list",
			yaml: "listen: [a, b]\n",
			want: `almanac.yaml:1: listen: must be a string`,
		},
		{
			name: "required string given a list",
			yaml: `
sources:
  - name: [warehouse]
    type: postgres
    url: postgres://crawler@db/analytics
`,
			want: `almanac.yaml:2: sources[0].name: must be a string`,
		},
		{
			name: "list given a string",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    databases: analytics
`,
			want: `almanac.yaml:5: sources[0].databases: must be a list of strings`,
		},
		{
			name: "list item not a string",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    include:
      - public.*
      - {schema: marts}
`,
			want: `almanac.yaml:7: sources[0].include[1]: must be a string`,
		},
		{
			name: "malformed YAML",
			yaml: `
listen: :8080
log:
  format: json: yes
`,
			want: `almanac.yaml:3: invalid YAML: mapping values are not allowed in this context`,
		},
		{
			name: "malformed YAML without a line from yaml.v3",
			yaml: "listen: *nowhere\n",
			want: `almanac.yaml: invalid YAML: unknown anchor 'nowhere' referenced`,
		},
		{
			name: "two documents",
			yaml: "listen: :8080\n---\nlisten: :9090\n",
			want: `almanac.yaml:2: only one YAML document is allowed`,
		},
		{
			name: "schedule without @every",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    schedule: hourly
`,
			want: `almanac.yaml:5: sources[0].schedule: want "@every <duration>", "@hourly" or "@daily", got "hourly"`,
		},
		{
			name: "schedule with a bad duration",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    schedule: "@every 1 hour"
`,
			want: `almanac.yaml:5: sources[0].schedule: invalid duration "1 hour" in "@every 1 hour" (want a Go duration such as 30m or 1h30m)`,
		},
		{
			name: "schedule not positive",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    schedule: "@every 0s"
`,
			want: `almanac.yaml:5: sources[0].schedule: duration must be positive, got "@every 0s"`,
		},
		{
			name: "bad patterns",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    include: ["public.[", analytics.public.orders]
    exclude:
      - ""
`,
			want: "almanac.yaml:5: sources[0].include[0]: invalid glob pattern \"public.[\"\n" +
				"almanac.yaml:5: sources[0].include[1]: pattern \"analytics.public.orders\" must match schema or schema.table\n" +
				`almanac.yaml:7: sources[0].exclude[0]: must not be empty`,
		},
		{
			name: "url not postgres",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: mysql://crawler@db/analytics
`,
			want: `almanac.yaml:4: sources[0].url: must be a postgres:// URL`,
		},
		{
			name: "url not parsed, password not repeated",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler:hunter2@db:port/analytics
`,
			want: `almanac.yaml:4: sources[0].url: invalid URL: invalid port ":port" after host`,
		},
		{
			name: "password without a user",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://db/analytics
    password: hunter2
`,
			want: `almanac.yaml:5: sources[0].password: the url has no user name to go with the password`,
		},
		{
			name: "password from the environment without a user",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://db/analytics
`,
			env:  map[string]string{"ALMANAC_SOURCE_WAREHOUSE_PASSWORD": "hunter2"},
			want: `env ALMANAC_SOURCE_WAREHOUSE_PASSWORD: the url has no user name to go with the password`,
		},
		{
			name: "unset variable",
			yaml: `
listen: :8080
database_url: postgres://almanac:${DB_PASSWORD}@${DB_HOST}/almanac
`,
			env:  map[string]string{"DB_HOST": "db"},
			want: `almanac.yaml:2: database_url: environment variable DB_PASSWORD is not set`,
		},
		{
			name: "unset variables",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://${USER}@${HOST}/${USER}
`,
			want: `almanac.yaml:4: sources[0].url: environment variables USER, HOST are not set`,
		},
		{
			name: "unset variable in a list",
			yaml: `
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    databases:
      - analytics
      - ${SECOND_DB}
`,
			want: `almanac.yaml:7: sources[0].databases[1]: environment variable SECOND_DB is not set`,
		},
		{
			name: "unterminated variable",
			yaml: "database_url: postgres://${DB_HOST/almanac\n",
			want: `almanac.yaml:1: database_url: unterminated "${" (write "$${" for a literal "${")`,
		},
		{
			name: "invalid variable name",
			yaml: "database_url: postgres://${DB-HOST}/almanac\n",
			want: `almanac.yaml:1: database_url: invalid variable reference: want ${NAME} with NAME made of letters, digits and '_' (write "$${" for a literal "${")`,
		},
		{
			name: "environment values are checked",
			yaml: "listen: :8080\n",
			env:  map[string]string{"ALMANAC_LOG_FORMAT": "xml", "ALMANAC_LISTEN": "8080"},
			want: "env ALMANAC_LISTEN: must be host:port (such as 127.0.0.1:8080 or :8080), got \"8080\"\n" +
				`env ALMANAC_LOG_FORMAT: must be text or json, got "xml"`,
		},
		{
			name: "several errors, in line order",
			yaml: `
listn: :8080
log:
  format: xml
sources:
  - name: Warehouse
    type: mysql
  - name: billing
    type: postgres
    schedule: daily
`,
			env: map[string]string{"ALMANAC_LOG_LEVEL": "loud"},
			want: `almanac.yaml:1: unknown key "listn" (did you mean "listen"?)
almanac.yaml:3: log.format: must be text or json, got "xml"
almanac.yaml:5: sources[0].name: invalid name "Warehouse": use only a-z, 0-9, '_' and '-'
almanac.yaml:6: sources[0].type: unknown source type "mysql" (supported: postgres, dbt, delta, unitycatalog, great_expectations)
almanac.yaml:7: sources[1]: missing required key "url"
almanac.yaml:9: sources[1].schedule: want "@every <duration>", "@hourly" or "@daily", got "daily"
env ALMANAC_LOG_LEVEL: must be debug, info, warn or error, got "loud"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, path := writeConfig(t, tc.yaml)
			cfg, err := LoadConfig(path, envOf(tc.env))
			if err == nil {
				t.Fatalf("LoadConfig succeeded with %+v, want error %q", cfg, tc.want)
			}
			if cfg != nil {
				t.Errorf("LoadConfig returned %+v with its error, want nil", cfg)
			}
			got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LoadConfig error mismatch (-want +got):\n%s", diff)
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("error %q shows the password", got)
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "almanac.yaml")
	_, err := LoadConfig(path, envOf(nil))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadConfig(%q) error = %v, want fs.ErrNotExist", path, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestSourceConfigProvenance(t *testing.T) {
	s := SourceConfig{Name: "warehouse", Type: "postgres"}
	if got, want := s.Provenance(), "postgres:warehouse"; got != want {
		t.Errorf("Provenance() = %q, want %q", got, want)
	}
}

func TestSourceConfigConnURL(t *testing.T) {
	for _, tc := range []struct {
		name, url, password string
		want                string
	}{
		{
			name: "no password leaves the url alone",
			url:  "postgres://crawler@db:5432/analytics?sslmode=require",
			want: "postgres://crawler@db:5432/analytics?sslmode=require",
		},
		{
			name:     "password injected",
			url:      "postgres://crawler@db:5432/analytics?sslmode=require",
			password: "s3cret",
			want:     "postgres://crawler:s3cret@db:5432/analytics?sslmode=require",
		},
		{
			name:     "password escaped",
			url:      "postgres://crawler@db/analytics",
			password: "p@ss:w/rd?#%",
			want:     "postgres://crawler:p%40ss%3Aw%2Frd%3F%23%25@db/analytics",
		},
		{
			name:     "password replaces one in the url",
			url:      "postgres://crawler:old@db/analytics",
			password: "new",
			want:     "postgres://crawler:new@db/analytics",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := SourceConfig{Name: "warehouse", Type: "postgres", URL: tc.url, Password: tc.password}
			got, err := s.ConnURL()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ConnURL() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSourceConfigConnURLErrors(t *testing.T) {
	for _, tc := range []struct {
		name, url, password string
		want                string
	}{
		{
			name:     "no user for the password",
			url:      "postgres://db/analytics",
			password: "hunter2",
			want:     "source postgres:warehouse: url has no user name to go with the password",
		},
		{
			name: "unparsable url",
			url:  "postgres://crawler:hunter2@db:port/analytics",
			want: `source postgres:warehouse: invalid url: invalid port ":port" after host`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := SourceConfig{Name: "warehouse", Type: "postgres", URL: tc.url, Password: tc.password}
			_, err := s.ConnURL()
			if err == nil {
				t.Fatalf("ConnURL() succeeded, want error %q", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("ConnURL() error = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSourceConfigInterval(t *testing.T) {
	for _, tc := range []struct {
		schedule string
		want     time.Duration
		wantErr  string
	}{
		{schedule: "", want: 0},
		{schedule: "@hourly", want: time.Hour},
		{schedule: "@daily", want: 24 * time.Hour},
		{schedule: "@every 90m", want: 90 * time.Minute},
		{schedule: "@every 1h30m", want: 90 * time.Minute},
		{schedule: "@every  15s ", want: 15 * time.Second},
		{schedule: "@weekly", wantErr: `source postgres:w: schedule: want "@every <duration>", "@hourly" or "@daily", got "@weekly"`},
		{schedule: "@every", wantErr: `source postgres:w: schedule: want "@every <duration>", "@hourly" or "@daily", got "@every"`},
		{schedule: "@every 1d", wantErr: `source postgres:w: schedule: invalid duration "1d" in "@every 1d" (want a Go duration such as 30m or 1h30m)`},
		{schedule: "@every -1h", wantErr: `source postgres:w: schedule: duration must be positive, got "@every -1h"`},
	} {
		t.Run(tc.schedule, func(t *testing.T) {
			s := SourceConfig{Name: "w", Type: "postgres", Schedule: tc.schedule}
			got, err := s.Interval()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Interval() = %v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Interval() = %v, %v; want %v, nil", got, err, tc.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want string
	}{
		{"listn", "listen"},
		{"lisetn", "listen"},
		{"databaseurl", "database_url"},
		{"DATABASE_URL", "database_url"},
		{"srouces", "sources"},
		{"index", ""},
		{"x", ""},
		{"url", ""},
	} {
		got := suggest(tc.key, topKeys)
		want := ""
		if tc.want != "" {
			want = ` (did you mean "` + tc.want + `"?)`
		}
		if got != want {
			t.Errorf("suggest(%q) = %q, want %q", tc.key, got, want)
		}
	}
}

func FuzzLoadConfig(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "config", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"listen: :8080\n",
		"sources:\n  - name: a\n    type: postgres\n    url: postgres://u@h/db\n    password: ${SET}\n    schedule: '@every 1m'\n",
		"sources:\n  - &s {name: a, type: postgres, url: 'postgres://u@h/db'}\n  - *s\n",
		"log: {format: json, level: warn}\nsearch: {index_dir: x}\n",
		"a: &a [*a]\n",
		"? [a]\n: b\n<<: {listen: x}\n",
	} {
		f.Add([]byte(s))
	}
	getenv := func(name string) string {
		if name == "SET" {
			return "value"
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "almanac.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path, getenv)
		if err != nil {
			if cfg != nil {
				t.Errorf("LoadConfig returned a config with error %v", err)
			}
			// With no ALMANAC_ variables set, every problem is in the file.
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, path+":") {
					t.Errorf("error line %q does not name the file", line)
				}
			}
			return
		}
		// A configuration that loads is usable.
		for _, s := range cfg.Sources {
			if _, err := s.Interval(); err != nil {
				t.Errorf("loaded source %s: %v", s.Provenance(), err)
			}
			if _, err := s.ConnURL(); err != nil {
				t.Errorf("loaded source %s: %v", s.Provenance(), err)
			}
		}
	})
}
