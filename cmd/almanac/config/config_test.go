package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl"
	"almanac/catalog/crawl/sqlcheck"
	"almanac/catalog/slo"
	"almanac/lineage/olapi"
	"almanac/search"
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
		Listen:      "127.0.0.1:8080",
		Log:         LogConfig{Format: "text", Level: "info"},
		Memory:      MemoryConfig{HeapTarget: 1 << 30},
		Search:      SearchConfig{IndexDir: ".almanac/index"},
		OpenLineage: OpenLineageConfig{Retention: 720 * time.Hour},
		Auth: AuthConfig{
			Mode:    "none",
			OIDC:    OIDCConfig{Claims: ClaimsConfig{Email: "email", Name: "name", Groups: "groups"}},
			Roles:   RolesConfig{Default: "viewer"},
			Session: SessionTimeouts{Idle: 8 * time.Hour, Absolute: 168 * time.Hour},
		},
		Tokens:        TokensConfig{MaxLifetime: 365 * 24 * time.Hour},
		Quality:       QualityConfig{Retention: 9600 * time.Hour},
		Incidents:     IncidentsConfig{MinCheckSeverity: "error", SweepInterval: time.Minute},
		Notifications: NotificationsConfig{Backoff: 30 * time.Second},
	}
}

// with returns defaults() changed by f.
func with(f func(*Config)) *Config {
	c := defaults()
	f(c)
	return c
}

func TestLoadConfigFull(t *testing.T) {
	got, err := LoadConfig(filepath.Join("testdata", "full.yaml"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		DatabaseURL: "postgres://almanac@catalog.internal:5432/almanac",
		Listen:      "0.0.0.0:9090",
		DebugListen: "127.0.0.1:6060",
		PublicURL:   "https://almanac.example.com",
		Log:         LogConfig{Format: "json", Level: "debug"},
		Memory:      MemoryConfig{HeapTarget: 512 << 20},
		Search: SearchConfig{
			IndexDir:      "/var/lib/almanac/index",
			Abbreviations: map[string][]string{"hc": {"headcount"}, "inv": {"inventory", "invoice"}, "cust": nil},
		},
		OpenLineage:    OpenLineageConfig{Token: "producer-token", Anonymous: true, Retention: 48 * time.Hour},
		TrustedProxies: []string{"10.0.0.0/8"},
		Auth: AuthConfig{
			Mode: "oidc",
			OIDC: OIDCConfig{
				Issuer: "https://keycloak.example.com/realms/corp", ClientID: "almanac", ClientSecret: "oidc-s3cret",
				Scopes: []string{"openid", "profile", "email", "groups"}, RedirectURL: "https://catalog.example.com/auth/callback",
				Claims: ClaimsConfig{Email: "upn", Name: "display_name", Groups: "roles"},
			},
			Roles:         RolesConfig{Default: "editor", Groups: map[string][]string{"catalog-admins": {"admin"}}},
			AnonymousRead: true,
			Session:       SessionTimeouts{Idle: time.Hour, Absolute: 24 * time.Hour},
		},
		Tokens:    TokensConfig{MaxLifetime: 90 * 24 * time.Hour},
		Incidents: IncidentsConfig{MinCheckSeverity: "warn", SweepInterval: time.Minute},
		Notifications: NotificationsConfig{Backoff: time.Minute, Channels: []ChannelConfig{
			{Name: "hooks", Kind: "webhook", URL: "https://hooks.example.com/almanac", Secret: "0123456789abcdef", Default: true, Timeout: 10 * time.Second},
			{Name: "finance-slack", Kind: "slack", URL: "https://hooks.slack.com/services/T0/B0/XXXX", Teams: []string{"finance"}, Timeout: 10 * time.Second},
			{Name: "oncall", Kind: "opsgenie", URL: "https://api.eu.opsgenie.com", APIKey: "genie-key", Teams: []string{"payments", "shop"}, Timeout: 5 * time.Second},
		}},
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
				Schedule:  Schedule{Spec: "@every 1h", Every: time.Hour},
				Line:      19,
			},
			{
				Name:     "billing-replica",
				Type:     "postgres",
				URL:      "postgresql://reader@replica.internal/billing?sslmode=require",
				Schedule: Schedule{Spec: "@daily", Every: 24 * time.Hour},
				Line:     28,
			},
			{
				Name:         "analytics",
				Type:         "dbt",
				Paths:        []string{"/srv/dbt/analytics/target"},
				Namespace:    "postgres://warehouse.internal:5432",
				Database:     "analytics",
				Teams:        []string{"finance"},
				JobNamespace: "dbt://analytics-prod",
				Line:         32,
			},
			{
				Name:    "lakehouse",
				Type:    "unitycatalog",
				URL:     "https://dbc-1234.cloud.databricks.com",
				Token:   "dapi-s3cret",
				Lineage: true,
				Include: []string{"main.sales"},
				Line:    39,
			},
		},
		Quality: QualityConfig{Retention: 2160 * time.Hour},
		Checks: []CheckConfig{
			{Name: "orders_status", Source: "warehouse", Table: "public.orders", Column: "status", Template: "accepted_values",
				Values: []string{"placed", "shipped"}, Severity: "warn", Timeout: 30 * time.Second, Schedule: Schedule{Spec: "@hourly", Every: time.Hour}},
			{Name: "billing_rows", Source: "billing-replica", Dataset: "billing.public.invoices", SQL: "SELECT count(*) FROM public.invoices",
				Expect: "change within 20% of last 7 runs", Severity: "error", Timeout: 5 * time.Second},
		},
		RunChecks: []crawl.Check{
			{Check: sqlcheck.Check{Name: "orders_status", Dataset: catalog.Key{Namespace: "postgres://warehouse.internal:5432", Name: "analytics.public.orders"},
				Column: "status", Type: "accepted_values",
				SQL:  `SELECT count(*) FROM "public"."orders" WHERE "status" IS NOT NULL AND NOT ("status"::text = ANY($1::text[]))`,
				Args: []any{[]string{"placed", "shipped"}}, Expect: sqlcheck.Expectation{Op: "="}, Severity: "warn", Timeout: 30 * time.Second},
				URL: "postgres://crawler:s3cret@db.internal:5432/analytics", Every: time.Hour, Origin: "testdata/full.yaml:71"},
			{Check: sqlcheck.Check{Name: "billing_rows", Dataset: catalog.Key{Namespace: "postgres://replica.internal:5432", Name: "billing.public.invoices"},
				Type: "sql", SQL: "SELECT count(*) FROM public.invoices", Expect: sqlcheck.Expectation{Op: "change", A: 20, Runs: 7},
				Severity: "error", Timeout: 5 * time.Second},
				URL: "postgresql://reader@replica.internal/billing?sslmode=require", Origin: "testdata/full.yaml:79"},
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
			name: "oidc",
			yaml: "public_url: https://almanac.example.com\nauth:\n  mode: oidc\n  oidc:\n    issuer: https://keycloak.example.com/realms/corp\n    client_id: almanac\n    scopes: [openid, profile, email, groups]\n  roles:\n    groups:\n      catalog-admins: admin\n  anonymous_read: true\n",
			env:  map[string]string{"ALMANAC_AUTH_OIDC_CLIENT_SECRET": "s3cret"},
			want: with(func(c *Config) {
				c.PublicURL = "https://almanac.example.com"
				c.Auth.Mode = "oidc"
				c.Auth.OIDC.Issuer = "https://keycloak.example.com/realms/corp"
				c.Auth.OIDC.ClientID = "almanac"
				c.Auth.OIDC.ClientSecret = "s3cret"
				c.Auth.OIDC.Scopes = []string{"openid", "profile", "email", "groups"}
				c.Auth.Roles.Groups = map[string][]string{"catalog-admins": {"admin"}}
				c.Auth.AnonymousRead = true
			}),
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
			name: "a delta lake on S3 and a Redshift cluster",
			yaml: `
sources:
  - name: lake
    type: delta
    paths: [/data/lake, s3://lake/warehouse, s3a://raw]
    s3:
      endpoint: http://127.0.0.1:7070
      region: eu-west-1
      path_style: true
  - name: dw
    type: redshift
    url: postgres://crawler@examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com:5439/dev
    databases: [dev, sales]
    include: [public]
`,
			env: map[string]string{"ALMANAC_SOURCE_DW_PASSWORD": "s3cret"},
			want: with(func(c *Config) {
				c.Sources = []SourceConfig{
					{Name: "lake", Type: "delta", Paths: []string{"/data/lake", "s3://lake/warehouse", "s3a://raw"},
						S3: S3Config{Endpoint: "http://127.0.0.1:7070", Region: "eu-west-1", PathStyle: true}, Line: 2},
					{Name: "dw", Type: "redshift", URL: "postgres://crawler@examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com:5439/dev",
						Password: "s3cret", Databases: []string{"dev", "sales"}, Include: []string{"public"}, Line: 9},
				}
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
			name: "typed values, from variables too",
			yaml: `
openlineage:
  anonymous: ${ANONYMOUS}
  retention: 90m
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    schedule: "@every ${EVERY}"
`,
			env: map[string]string{"ANONYMOUS": "true", "EVERY": "15m"},
			want: with(func(c *Config) {
				c.OpenLineage.Anonymous = true
				c.OpenLineage.Retention = 90 * time.Minute
				c.Sources = []SourceConfig{{
					Name: "warehouse", Type: "postgres", URL: "postgres://crawler@db/analytics",
					Schedule: Schedule{Spec: "@every 15m", Every: 15 * time.Minute}, Line: 5,
				}}
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
					Include: []string{"main.sales.orders", "dev_*"}, Lineage: true, Line: 2,
				}}
			}),
		},
		{
			name: "the token from the environment",
			yaml: "openlineage:\n  token: from-file\n  anonymous: false\n",
			env:  map[string]string{"ALMANAC_OPENLINEAGE_TOKEN": "from-env"},
			want: with(func(c *Config) { c.OpenLineage.Token = "from-env" }),
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
			name: "oidc without issuer, client or redirect",
			yaml: "auth:\n  mode: oidc\n",
			want: "almanac.yaml:2: auth.oidc.issuer: is required with auth mode oidc: the provider's issuer URL\n" +
				"almanac.yaml:2: auth.oidc.client_id: is required with auth mode oidc: the client id registered with the provider\n" +
				"almanac.yaml:2: auth.oidc.redirect_url: is required with auth mode oidc (or set public_url): the address of /auth/callback registered with the provider",
		},
		{
			name: "oidc over plain HTTP on another host",
			yaml: "public_url: http://catalog.internal\nauth:\n  mode: oidc\n  oidc:\n    issuer: https://idp.example\n    client_id: almanac\n",
			want: `almanac.yaml:1: auth.oidc.redirect_url: must be https:// on a host other than localhost or a loopback IP (browsers keep session cookies over plain HTTP only there), got "http://catalog.internal/auth/callback"`,
		},
		{
			name: "roles and modes misspelt",
			yaml: "auth:\n  mode: saml\n  roles:\n    default: owner\n    groups:\n      staff: [editor, admin]\n      ops: root\n  session:\n    idle: 48h\n    absolute: 24h\n",
			want: "almanac.yaml:2: auth.mode: must be none or oidc, got \"saml\"\n" +
				"almanac.yaml:4: auth.roles.default: must be viewer, editor or admin, got \"owner\"\n" +
				"almanac.yaml:6: auth.roles.groups.staff: must be one role, viewer, editor or admin, got \"editor, admin\"\n" +
				"almanac.yaml:7: auth.roles.groups.ops: must be one role, viewer, editor or admin, got \"root\"",
		},
		{
			name: "link templates that are not safe URLs",
			yaml: "links:\n  issue_tracker: javascript:alert(1)//{summary}\n  wiki: https://wiki.example.com/{title}\n  code_host: \"https://git.example.com{path}\"\n",
			want: "almanac.yaml:2: links.issue_tracker: must start with an http:// or https:// URL's host and then /, ? or # before any placeholder, got \"javascript:alert(1)//{summary}\"\n" +
				"almanac.yaml:3: links.wiki: unknown placeholder {title}: this template may use {dataset}, {namespace}, {name}\n" +
				"almanac.yaml:4: links.code_host: must start with an http:// or https:// URL's host and then /, ? or # before any placeholder, got \"https://git.example.com{path}\"",
		},
		{
			name: "notification channels: malformed URL, unknown key, missing secrets",
			yaml: `notifications:
  channels:
    - name: hooks
      kind: webhook
      url: "hooks.example.com/almanac"
      secret: 0123456789abcdef
    - name: hooks
      kind: slack
      url: https://hooks.slack.example/T/B/X
      chanel: "#data"
    - name: pager
      kind: opsgenie
      url: https://user:pw@api.opsgenie.com
    - name: bus
      kind: teams
      url: https://bus.example
    - name: raw
      kind: webhook
      url: https://raw.example
      default: true
`,
			want: "almanac.yaml:5: notifications.channels[0].url: must be an https:// (or http://) URL with a host and no credentials, such as https://hooks.example.com/almanac, got \"hooks.example.com/almanac\"\n" +
				"almanac.yaml:7: notifications.channels[1].name: duplicate channel name \"hooks\" (first at line 3)\n" +
				"almanac.yaml:10: notifications.channels[1]: unknown key \"chanel\"\n" +
				"almanac.yaml:11: notifications.channels[2].api_key: is required for an opsgenie channel: its integration key (or set ALMANAC_CHANNEL_PAGER_API_KEY)\n" +
				"almanac.yaml:13: notifications.channels[2].url: must be an https:// (or http://) URL with a host and no credentials, such as https://hooks.example.com/almanac, got \"https://user:pw@api.opsgenie.com\"\n" +
				"almanac.yaml:15: notifications.channels[3].kind: must be webhook, slack or opsgenie, got \"teams\"\n" +
				"almanac.yaml:17: notifications.channels[4].secret: is required for a webhook channel, at least 16 characters, to sign its payloads (or set ALMANAC_CHANNEL_RAW_SECRET)",
		},
		{
			name: "trusted proxy not a range",
			yaml: "trusted_proxies:\n  - 10.0.0.0/8\n  - lb.internal\n",
			want: `almanac.yaml:3: trusted_proxies[1]: must be an address range such as 10.0.0.0/8 or 192.0.2.7/32, got "lb.internal"`,
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
			name: "unknown key in every section",
			yaml: `
search:
  indexdir: /tmp/index
openlineage:
  tokn: x
  retension: 1h
sources:
  - name: warehouse
    type: postgres
    url: postgres://crawler@db/analytics
    shedule: "@daily"
`,
			want: `almanac.yaml:2: search: unknown key "indexdir" (did you mean "index_dir"?)
almanac.yaml:4: openlineage: unknown key "tokn" (did you mean "token"?)
almanac.yaml:5: openlineage: unknown key "retension" (did you mean "retention"?)
almanac.yaml:10: sources[0]: unknown key "shedule" (did you mean "schedule"?)`,
		},
		{
			// YAML 1.1 reads yes as true; a typo of a boolean here is
			// refused rather than guessed.
			name: "boolean other than true or false",
			yaml: "openlineage:\n  anonymous: yes\n",
			want: `almanac.yaml:2: openlineage.anonymous: must be true or false, got "yes"`,
		},
		{
			name: "boolean given a list",
			yaml: "openlineage:\n  anonymous: [true]\n",
			want: `almanac.yaml:2: openlineage.anonymous: must be a single value, not a list or a mapping`,
		},
		{
			name: "duration in days",
			yaml: "openlineage:\n  retention: 30d\n",
			want: `almanac.yaml:2: openlineage.retention: want a positive Go duration such as 720h, got "30d"`,
		},
		{
			name: "size without a number",
			yaml: "memory:\n  heap_target: lots\n",
			want: `almanac.yaml:2: memory.heap_target: want a size such as 512MiB or 1GiB, got "lots"`,
		},
		{
			name: "size negative",
			yaml: "memory:\n  heap_target: -1GiB\n",
			want: `almanac.yaml:2: memory.heap_target: want a size such as 512MiB or 1GiB, got "-1GiB"`,
		},
		{
			name: "duration not positive",
			yaml: "openlineage:\n  retention: -1h\n",
			want: `almanac.yaml:2: openlineage.retention: want a positive Go duration such as 720h, got "-1h"`,
		},
		{
			name: "paths given a string is reported once",
			yaml: `
sources:
  - name: analytics
    type: dbt
    namespace: postgres://warehouse:5432
    paths: /srv/dbt/target
`,
			want: `almanac.yaml:5: sources[0].paths: must be a list of strings`,
		},
		{
			name: "abbreviations malformed",
			yaml: `
search:
  abbreviations:
    a: x
    amt: [[x]]
    a: y
    ? [k]
    : v
    txn:
      - trans action
      - trans-action
`,
			want: `almanac.yaml:4: search.abbreviations.amt[0]: must be a string
almanac.yaml:5: search.abbreviations: duplicate key "a" (first at line 3)
almanac.yaml:6: search.abbreviations: keys must be strings
almanac.yaml:10: search.abbreviations.txn: "trans-action" must be words of letters and digits`,
		},
		{
			name: "abbreviations a list",
			yaml: "search:\n  abbreviations: [cust, customer]\n",
			want: `almanac.yaml:2: search.abbreviations: must be a mapping`,
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
			want: `almanac.yaml:7: sources[0].type: unknown source type "mysql" (supported: postgres, redshift, dbt, delta, unitycatalog, great_expectations)`,
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
			name: "object storage is for delta sources, on S3",
			yaml: `
sources:
  - name: dw
    type: redshift
  - name: lake
    type: delta
    paths: [gs://bucket/lake, s3:///no-bucket]
    s3:
      endpoint: minio.internal:9000
  - name: analytics
    type: dbt
    namespace: postgres://wh:5432
    paths: [s3://bucket/target]
    s3:
      region: us-east-1
  - name: lake2
    type: delta
    paths: [s3://lake]
    s3:
      endpoint: http://key:secret@minio.internal:9000
`,
			want: `almanac.yaml:2: sources[0]: missing required key "url"
almanac.yaml:6: sources[1].paths[0]: must be a local path or an s3://bucket/prefix URI, got a gs:// URI
almanac.yaml:6: sources[1].paths[1]: "s3:///no-bucket" names no bucket: want s3://bucket/prefix
almanac.yaml:8: sources[1].s3.endpoint: must be an http:// or https:// URL, such as http://minio.internal:9000
almanac.yaml:12: sources[2].paths[0]: must be a local path: dbt reads local files only
almanac.yaml:13: sources[2].s3: only a delta source reads object storage
almanac.yaml:19: sources[3].s3.endpoint: must not hold credentials: they come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the AWS chain`,
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
			name: "incident severity",
			yaml: "incidents:\n  min_check_severity: critical\n",
			want: `almanac.yaml:2: incidents.min_check_severity: must be warn or error, got "critical"`,
		},
		{
			name: "log level",
			yaml: "log:\n  level: verbose\n",
			want: `almanac.yaml:2: log.level: must be debug, info, warn or error, got "verbose"`,
		},
		{
			name: "debug_listen without a port",
			yaml: "debug_listen: 6060\n",
			want: `almanac.yaml:1: debug_listen: must be host:port (such as 127.0.0.1:6060), got "6060"`,
		},
		{
			name: "debug_listen the same as listen",
			yaml: "listen: 127.0.0.1:8080\ndebug_listen: 127.0.0.1:8080\n",
			want: `almanac.yaml:2: debug_listen: must differ from listen (127.0.0.1:8080): profiles are served on a listener of their own`,
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
almanac.yaml:6: sources[0].type: unknown source type "mysql" (supported: postgres, redshift, dbt, delta, unitycatalog, great_expectations)
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

func TestScheduleUnmarshalText(t *testing.T) {
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
		{schedule: "@weekly", wantErr: `want "@every <duration>", "@hourly" or "@daily", got "@weekly"`},
		{schedule: "@every", wantErr: `want "@every <duration>", "@hourly" or "@daily", got "@every"`},
		{schedule: "@every 1d", wantErr: `invalid duration "1d" in "@every 1d" (want a Go duration such as 30m or 1h30m)`},
		{schedule: "@every -1h", wantErr: `duration must be positive, got "@every -1h"`},
	} {
		t.Run(tc.schedule, func(t *testing.T) {
			var s Schedule
			err := s.UnmarshalText([]byte(tc.schedule))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("UnmarshalText(%q) = %+v, %v; want error %q", tc.schedule, s, err, tc.wantErr)
				}
				return
			}
			if want := (Schedule{Spec: tc.schedule, Every: tc.want}); err != nil || s != want {
				t.Errorf("UnmarshalText(%q) = %+v, %v; want %+v, nil", tc.schedule, s, err, want)
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
		got := suggest(tc.key, yamlKeys(reflect.TypeFor[Config]()))
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
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
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
			if _, err := s.ConnURL(); err != nil {
				t.Errorf("loaded source %s: %v", s.Provenance(), err)
			}
		}
	})
}

var update = flag.Bool("update", false, "rewrite the README's configuration reference from Config")

// The README's configuration reference is the text between these lines.
const (
	referenceBegin = "<!-- Generated from Config in cmd/almanac/config/config.go: go test ./cmd/almanac/config -run TestConfigReference -update -->\n"
	referenceEnd   = "<!-- End of the generated configuration reference. -->\n"
)

// TestConfigReference keeps the README's table of configuration keys the
// one generated from Config: every key, its type, default, environment
// variables and the doc comment of its field. With -update it rewrites
// the table.
// TestLoadConfigLinks checks that link templates are parsed at load and
// fill in what they are given.
func TestLoadConfigLinks(t *testing.T) {
	_, path := writeConfig(t, "links:\n"+
		"  issue_tracker: https://github.com/acme/data/issues/new?title={summary}&body={description}\n"+
		"  wiki: https://wiki.example.com/display/DATA/{name}\n"+
		"  code_host: https://github.com/acme/dbt/blob/main/{path}\n")
	cfg, err := LoadConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Links.Templates.WikiURL(catalog.Key{Namespace: "postgres://db:5432", Name: "shop.public.orders"})
	if want := "https://wiki.example.com/display/DATA/shop.public.orders"; got != want {
		t.Errorf("wiki link %q, want %q", got, want)
	}
	if cfg.Links.Templates.Issue.IsZero() || cfg.Links.Templates.Code.IsZero() {
		t.Errorf("issue or code template not parsed: %+v", cfg.Links.Templates)
	}
}

func TestConfigReference(t *testing.T) {
	const readmePath = "../../../README.md"
	want := configReference(t)
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(readme, []byte(referenceBegin))
	end := bytes.Index(readme, []byte(referenceEnd))
	if begin < 0 || end < begin {
		t.Fatalf("README.md has no configuration reference between the lines\n%s%s", referenceBegin, referenceEnd)
	}
	begin += len(referenceBegin)
	got := string(readme[begin:end])
	if got == want {
		return
	}
	if *update {
		out := slices.Concat(readme[:begin], []byte(want), readme[end:])
		if err := os.WriteFile(readmePath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's configuration reference is not the one of Config (-want +got); "+
		"run go test ./cmd/almanac -run TestConfigReference -update:\n%s",
		cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")))
}

// configReference returns the README's table of the configuration keys,
// generated from the fields of Config, their tags and doc comments.
func configReference(t *testing.T) string {
	docs := fieldDocs(t, "config.go")
	var b strings.Builder
	b.WriteString("| key | type | default | env override | meaning |\n|---|---|---|---|---|\n")
	for _, k := range configKeys(reflect.TypeFor[Config](), "") {
		doc := docs[k.parent.Name()+"."+k.field.Name]
		if doc == "" {
			t.Errorf("key %s: field %s.%s has no doc comment", k.path, k.parent.Name(), k.field.Name)
		}
		def := "—"
		if d := k.field.Tag.Get("default"); d != "" {
			def = "`" + d + "`"
		} else if k.field.Type == reflect.TypeFor[bool]() {
			def = "`false`"
		}
		env := "—"
		if names := strings.Split(k.field.Tag.Get("env"), ","); names[0] != "" {
			env = "`" + strings.Join(names, "`, else `") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n",
			k.path, cell(keyType(k.field)), cell(def), cell(env), cell(meaning(k.field.Name, doc)))
	}
	return b.String()
}

// configKey is a key of the configuration: its path ("sources[].name"),
// its field and the struct type holding the field.
type configKey struct {
	path   string
	field  reflect.StructField
	parent reflect.Type
}

// configKeys returns the keys of the struct type t and of the mappings
// below it, in field order, a mapping before its keys.
func configKeys(t reflect.Type, prefix string) []configKey {
	var keys []configKey
	for f := range t.Fields() {
		key, ok := yamlKey(f)
		if !ok {
			continue
		}
		p := join(prefix, key)
		keys = append(keys, configKey{path: p, field: f, parent: t})
		switch {
		case isScalar(f.Type):
		case f.Type.Kind() == reflect.Struct:
			keys = append(keys, configKeys(f.Type, p)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			keys = append(keys, configKeys(f.Type.Elem(), p+"[]")...)
		}
	}
	return keys
}

// keyType describes the values of the key of field f.
func keyType(f reflect.StructField) string {
	if enum := f.Tag.Get("enum"); enum != "" {
		return "`" + strings.Join(strings.Split(enum, ","), "` | `") + "`"
	}
	if s, ok := reflect.Zero(f.Type).Interface().(interface{ syntax() string }); ok {
		return s.syntax()
	}
	switch t := f.Type; {
	case t == reflect.TypeFor[string]():
		return "string"
	case t == reflect.TypeFor[bool]():
		return "`true` | `false`"
	case t == reflect.TypeFor[time.Duration]():
		return "Go duration"
	case t == reflect.TypeFor[[]string]():
		return "list of strings"
	case t.Kind() == reflect.Struct:
		return "mapping"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "list of mappings"
	case t == reflect.TypeFor[map[string][]string]():
		return "mapping of names to a string or a list of strings"
	}
	panic("no description of the config type " + f.Type.String())
}

// meaning returns the doc comment of the field name as the README's
// description of its key: on one line, without the field's name.
func meaning(name, doc string) string {
	doc = strings.Join(strings.Fields(doc), " ")
	doc, _ = strings.CutPrefix(doc, name+" ")
	for _, verb := range []string{"is ", "are "} {
		if rest, ok := strings.CutPrefix(doc, verb); ok {
			doc = rest
			break
		}
	}
	if doc == "" {
		return ""
	}
	return strings.ToUpper(doc[:1]) + doc[1:]
}

// cell escapes s for a cell of a Markdown table.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// fieldDocs returns the doc comments of the struct fields declared in the
// Go file at path, by "Type.Field".
func fieldDocs(t *testing.T, path string) map[string]string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := make(map[string]string)
	ast.Inspect(file, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		if st, ok := ts.Type.(*ast.StructType); ok {
			for _, f := range st.Fields.List {
				for _, name := range f.Names {
					docs[ts.Name.Name+"."+name.Name] = f.Doc.Text()
				}
			}
		}
		return false
	})
	return docs
}

// TestAbbreviationsDocListsTheDefaults checks that the description of
// search.abbreviations names the abbreviations search knows by default.
func TestAbbreviationsDocListsTheDefaults(t *testing.T) {
	doc := strings.Join(strings.Fields(fieldDocs(t, "config.go")["SearchConfig.Abbreviations"]), " ")
	want := "`" + strings.Join(slices.Sorted(maps.Keys(search.DefaultAbbreviations)), " ") + "`"
	if !strings.Contains(doc, want) {
		t.Errorf("the doc comment of SearchConfig.Abbreviations does not list the defaults %s:\n%s", want, doc)
	}
}

// TestRetentionDefault checks that the default of openlineage.retention,
// which the README shows, is the receiver's own default.
func TestRetentionDefault(t *testing.T) {
	cfg, err := LoadConfig("", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OpenLineage.Retention != olapi.DefaultRetention {
		t.Errorf("default openlineage.retention = %v, olapi.DefaultRetention = %v", cfg.OpenLineage.Retention, olapi.DefaultRetention)
	}
}

// TestLoadConfigCheckProblems reports each bad check with its file, line
// and key, leaves it out, and keeps the good ones and the rest of the
// configuration.
func TestLoadConfigCheckProblems(t *testing.T) {
	_, path := writeConfig(t, `
sources:
  - name: wh
    type: postgres
    url: postgres://crawler@db.internal/analytics
  - name: docs
    type: dbt
    paths: [target]
    namespace: postgres://db.internal:5432
checks:
  - name: good
    source: wh
    table: public.orders
    template: row_count
    expect: "> 0"
  - name: unknown-source
    source: warehous
    table: public.orders
    sql: SELECT 1
    expect: = 1
  - name: dbt-source
    source: docs
    table: public.orders
    template: not_null
    column: id
  - name: bad-expect
    source: wh
    table: public.orders
    sql: SELECT 1
    expect: about 3
  - name: bad-template
    source: wh
    table: public.orders
    template: not_nul
  - name: no-column
    source: wh
    table: public.orders
    template: unique
  - name: good
    source: wh
    dataset: x
    sql: SELECT 1
    expect: = 1
    shedule: "@hourly"
  - name: both
    source: wh
    table: public.orders
    sql: SELECT 1
    template: row_count
    expect: "> 0"
`)
	cfg, err := LoadConfig(path, envOf(nil))
	if err != nil {
		t.Fatalf("a bad check stopped the configuration: %v", err)
	}
	var got []string
	for _, err := range cfg.CheckProblems {
		got = append(got, strings.TrimPrefix(err.Error(), path))
	}
	want := []string{
		`:16: checks[1].source: no source named "warehous"`,
		`:21: checks[2].source: source "docs" is a dbt source: checks run on postgres and redshift sources`,
		`:29: checks[3].expect: want "= N", "!= N", "< N", "<= N", "> N", ">= N", "between N and M" or "change within N% of last K runs", got "about 3"`,
		`:33: checks[4].template: must be not_null, unique, accepted_values, row_count, freshness or relationships, got "not_nul"`,
		`:37: checks[5].template: template unique needs a column`,
		`:38: checks[6].name: duplicate check name "good" (first at line 10)`,
		`:43: checks[6]: unknown key "shedule" (did you mean "schedule"?)`,
		`:48: checks[7]: set sql or template, not both`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if len(cfg.RunChecks) != 1 || cfg.RunChecks[0].Name != "good" || cfg.RunChecks[0].SQL != `SELECT count(*) FROM "public"."orders"` ||
		cfg.RunChecks[0].Dataset != (catalog.Key{Namespace: "postgres://db.internal:5432", Name: "analytics.public.orders"}) {
		t.Errorf("checks kept = %+v, want good", cfg.RunChecks)
	}
	if len(cfg.Sources) != 2 {
		t.Errorf("sources = %+v", cfg.Sources)
	}
}

// TestLoadConfigSLOs builds the SLOs declared, and reports a bad one with
// its file, line and key without stopping the rest.
func TestLoadConfigSLOs(t *testing.T) {
	_, path := writeConfig(t, `
sources:
  - name: wh
    type: postgres
    url: postgres://crawler@db.internal/analytics
slos:
  - name: orders fresh
    source: wh
    dataset: analytics.public.orders
    kind: freshness
    max_age: 6h
  - name: orders on time
    namespace: postgres://db.internal:5432
    dataset: analytics.public.orders
    kind: on_time
    objective: "99.5%"
    window: 4w
    deadline: "09:00"
    time_zone: Europe/Berlin
  - name: bad objective
    source: wh
    dataset: x
    kind: volume
    objective: 100%
    min: lots
  - name: no source
    source: warehouse
    dataset: x
    kind: quality
  - name: fresh without age
    source: wh
    dataset: x
    kind: freshness
  - name: typo
    source: wh
    dataset: x
    kind: freshnes
  - name: orders daily within 2h
    source: wh
    dataset: analytics.public.orders
    kind: on_time
    objective: 90%
    after_nominal: 2h
  - name: after nominal, malformed
    source: wh
    dataset: x
    kind: on_time
    after_nominal: two hours
  - name: after nominal, negative
    source: wh
    dataset: x
    kind: on_time
    after_nominal: -1h
  - name: after nominal and a deadline
    source: wh
    dataset: x
    kind: on_time
    deadline: "09:00"
    after_nominal: 1h
`)
	cfg, err := LoadConfig(path, envOf(nil))
	if err != nil {
		t.Fatalf("a bad SLO stopped the configuration: %v", err)
	}
	var got []string
	for _, err := range cfg.CheckProblems {
		got = append(got, strings.TrimPrefix(err.Error(), path))
	}
	want := []string{
		`:23: slos[2].objective: objective "100%": want more than 0 % and less than 100 %`,
		`:24: slos[2].min: want a number, got "lots"`,
		`:26: slos[3].source: no source named "warehouse"`,
		`:29: slos[4]: freshness: max age 0s: want a positive duration`,
		`:36: slos[5].kind: must be freshness, on_time, quality, volume or pipeline, got "freshnes"`,
		`:47: slos[7].after_nominal: duration "two hours": want such as 28d, 4w, 1d12h or 90m`,
		`:52: slos[8].after_nominal: "-1h": want a positive duration, such as 2h`,
		`:53: slos[9]: on_time: a deadline "09:00" and a time after the runs' nominal times (1h0m0s): want one of them`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	ns := "postgres://db.internal:5432"
	wantSLOs := []slo.SLO{
		{Name: "orders fresh", Dataset: catalog.Key{Namespace: ns, Name: "analytics.public.orders"}, Source: "config", Origin: path + ":6",
			Spec: slo.Spec{Kind: slo.Freshness, Objective: 0.99, Window: 28 * 24 * time.Hour, MaxAge: 6 * time.Hour}},
		{Name: "orders on time", Dataset: catalog.Key{Namespace: ns, Name: "analytics.public.orders"}, Source: "config", Origin: path + ":11",
			Spec: slo.Spec{Kind: slo.OnTime, Objective: 0.995, Window: 28 * 24 * time.Hour, Deadline: "09:00", TimeZone: "Europe/Berlin"}},
		{Name: "orders daily within 2h", Dataset: catalog.Key{Namespace: ns, Name: "analytics.public.orders"}, Source: "config", Origin: path + ":37",
			Spec: slo.Spec{Kind: slo.OnTime, Objective: 0.9, Window: 28 * 24 * time.Hour, AfterNominal: 2 * time.Hour}},
	}
	if diff := cmp.Diff(wantSLOs, cfg.RunSLOs); diff != "" {
		t.Errorf("slos (-want +got):\n%s", diff)
	}
}
