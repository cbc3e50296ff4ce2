// Package config is Almanac's configuration: one typed struct decoded from
// YAML (unknown keys refused, durations and booleans typed), environment
// variables for secrets, one validation pass whose problems name file,
// line and key, and the README's configuration reference generated from
// the struct's doc comments (TestConfigReference). Package main only
// loads it and wires what it says.
package config

import (
	"bytes"
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dustin/go-humanize"
	"gopkg.in/yaml.v3"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/crawl"
	"almanac/catalog/crawl/dbt"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/crawl/sqlcheck"
	"almanac/catalog/extlink"
	"almanac/catalog/slo"
)

// Config is the configuration of the almanac binary: one YAML file, with
// environment variables overriding a few keys so that a container can be
// configured without editing the file. LoadConfig builds and validates it.
//
// A key is declared once, as a field of Config or of the structs below it,
// and its tags say everything the loader and the README need:
//
//	yaml:"key"      the key's name (a field without it is not a key)
//	default:"v"     the value when the key is absent or empty, written as
//	                in the file
//	env:"A,B"       environment variables overriding the file, the first
//	                set one winning; in a source, <NAME> stands for the
//	                source's name upper-cased with '-' turned to '_'
//	enum:"a,b"      the only values allowed
//
// The field's type says how the value is read: string, bool (true or
// false), time.Duration (a positive Go duration), []string, a struct (a
// mapping), a slice of structs (a list of mappings), map[string][]string
// (a mapping of keys of the user's choosing to a string or a list of
// strings), or a type with an UnmarshalText method (Schedule). The field's doc comment, after its
// name, is the key's description in the README's configuration reference,
// which TestConfigReference keeps in step (go test -run
// TestConfigReference -update rewrites it). Rules that tags cannot say
// (one key required by another's value, unique names) are in validate.
type Config struct {
	// DatabaseURL is the PostgreSQL URL of the catalog. Each process
	// opens at most 20 connections to it (the change-log followers and
	// job workers hold some while they work) unless the URL's
	// `pool_max_conns` parameter says otherwise, e.g.
	// `postgres://almanac@db/almanac?pool_max_conns=40`.
	DatabaseURL string `yaml:"database_url" env:"ALMANAC_DATABASE_URL,DATABASE_URL"`
	// Database configures more connections to the catalog database.
	Database DatabaseConfig `yaml:"database"`
	// Listen is the address, host:port, that the portal, the GraphQL API
	// and the lineage endpoints listen on.
	Listen string `yaml:"listen" default:"127.0.0.1:8080" env:"ALMANAC_LISTEN"`
	// DebugListen is the address, host:port, of a second listener that
	// serves Go's runtime profiles (CPU, heap, allocations, goroutines, an
	// execution trace) at `/debug/pprof/`, for `go tool pprof`, and
	// nothing else; empty, the default, serves none. Nobody signs in
	// there, so keep it on a loopback address such as `127.0.0.1:6060`
	// (the server warns at start when it is not).
	DebugListen string `yaml:"debug_listen" env:"ALMANAC_DEBUG_LISTEN"`
	// PublicURL is the `http://` or `https://` address people and producers
	// reach the server by, such as `https://almanac.example.com` behind a
	// proxy. A server that takes writes without a login (`almanac demo`,
	// `openlineage.anonymous`) answers only requests addressed to
	// `localhost`, an IP address or this URL's host (so that no web page
	// can reach it by DNS rebinding), and writes from this URL's origin are
	// not cross-origin.
	PublicURL string `yaml:"public_url" env:"ALMANAC_PUBLIC_URL"`
	// TrustedProxies are the addresses (CIDRs, such as `10.0.0.0/8`) of
	// the reverse proxies or load balancers in front of the server: for a
	// request from one of them, the client's address (which sign-in rate
	// limits count and the security log records) is read from
	// `X-Forwarded-For`, right to left, past every trusted address. Empty
	// means the peer's address is the client's.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Log configures the process log.
	Log LogConfig `yaml:"log"`
	// Memory configures how much memory the process may use to spend
	// less CPU.
	Memory MemoryConfig `yaml:"memory"`
	// Search configures the full-text search index.
	Search SearchConfig `yaml:"search"`
	// OpenLineage configures the OpenLineage endpoint, `POST
	// /api/v1/lineage`, that Airflow, Spark and dbt post events to. It
	// takes API tokens with the `lineage:write` scope; the shared
	// `openlineage.token` still works, deprecated.
	OpenLineage OpenLineageConfig `yaml:"openlineage"`
	// Auth says who may use the server: nobody signs in (`none`, for a
	// server on a loopback address), or people sign in with an OpenID
	// Connect provider (`oidc`).
	Auth AuthConfig `yaml:"auth"`
	// Tokens configures API tokens (`Authorization: Bearer alm_…`), which
	// people create at `/account/tokens` and admins, for producers, at
	// `/admin/tokens`.
	Tokens TokensConfig `yaml:"tokens"`
	// Incidents configures what opens an incident on a dataset.
	Incidents IncidentsConfig `yaml:"incidents"`
	// Links are URL templates of the places where work is tracked: an
	// issue tracker, a wiki and a code host. A template is an `http://`
	// or `https://` URL whose scheme and host are written out, with
	// `{placeholders}` that are filled in escaped (in the path as one
	// segment, after `?` as a query value); `{{` and `}}` are literal
	// braces. A template that is not one is a configuration error.
	Links LinksConfig `yaml:"links"`
	// Notifications configures where people hear of incidents and
	// schema changes of what they follow or own (see
	// docs/notifications.md).
	Notifications NotificationsConfig `yaml:"notifications"`
	// Sources are the sources to crawl, in file order.
	Sources []SourceConfig `yaml:"sources"`
	// Quality configures the history of data-quality results.
	Quality QualityConfig `yaml:"quality"`
	// Checks are Almanac's own SQL checks, run against postgres and
	// redshift sources (see docs/quality.md). A check with a problem is
	// reported, naming the file, line and key, and left out: the server
	// starts with the rest.
	Checks []CheckConfig `yaml:"checks"`
	// SLOs are service level objectives on datasets (see
	// docs/quality.md). Like checks, an SLO with a problem is reported and
	// left out.
	SLOs []SLOConfig `yaml:"slos"`

	// RunChecks are Checks as they run, the valid ones only, in file
	// order.
	RunChecks []crawl.Check
	// RunSLOs are SLOs as they are evaluated, the valid ones only.
	RunSLOs []slo.SLO
	// CheckProblems are the problems of the checks and SLOs left out,
	// each naming the file, line and key.
	CheckProblems []error
}

// SLOConfig is one SLO (an item of the key slos): a share of good over
// a rolling window, on one dataset.
type SLOConfig struct {
	// Name is the SLO's name, required and unique.
	Name string `yaml:"name"`
	// Dataset is the name of the dataset, required, such as
	// `analytics.public.orders`.
	Dataset string `yaml:"dataset"`
	// Source is the name of a configured source whose namespace the
	// dataset is in; or set `namespace`.
	Source string `yaml:"source"`
	// Namespace is the dataset's namespace, when no source names it.
	Namespace string `yaml:"namespace"`
	// Kind is what the SLO promises: `freshness` (never older than
	// `max_age`), `on_time` (updated by each `deadline`, or each data
	// interval delivered within `after_nominal` of its end), `quality` (the
	// `checks` pass), `volume` (the row count within `min` and `max`, or
	// a range learned from history), `pipeline` (the producing jobs'
	// runs succeed within `max_duration`).
	Kind string `yaml:"kind" enum:"freshness,on_time,quality,volume,pipeline"`
	// Objective is the share of good promised, such as `99%` or `0.99`.
	Objective string `yaml:"objective" default:"99%"`
	// Window is the rolling window, such as `28d`, `4w` or `36h`.
	Window string `yaml:"window" default:"28d"`
	// MaxAge is how old the data may get (freshness), such as `6h`.
	MaxAge string `yaml:"max_age"`
	// Deadline is when the data must be updated by (on_time): `09:00`
	// daily, or a cron expression such as `0 9 * * 1-5`.
	Deadline string `yaml:"deadline"`
	// TimeZone is the IANA time zone of `deadline`, such as
	// `Europe/Berlin`; empty means UTC.
	TimeZone string `yaml:"time_zone"`
	// Lookback is how long before a deadline an update counts for it
	// (on_time); empty means since the previous deadline.
	Lookback string `yaml:"lookback"`
	// AfterNominal is how long after each data interval's nominal end
	// (Airflow's `data_interval_end`) a run writing the dataset must
	// have succeeded (on_time, instead of `deadline`), such as `2h`: an
	// Airflow task's `sla`, declared. Intervals are those of the runs'
	// nominal times; one that no run covers is missed.
	AfterNominal string `yaml:"after_nominal"`
	// Min is the lowest row count expected (volume).
	Min string `yaml:"min"`
	// Max is the highest row count expected (volume).
	Max string `yaml:"max"`
	// MaxDuration is the longest a successful run may take (pipeline).
	MaxDuration string `yaml:"max_duration"`
	// Updates says which observations are the data's updates (freshness,
	// on_time): `delta_commits` (the commits a Delta crawl found),
	// `crawl_changes` (crawls that found the dataset created or
	// changed), `runs` (completed runs of the jobs writing it) or
	// `source_freshness` (dbt source freshness); empty means freshness
	// observations of any source and completed runs.
	Updates string `yaml:"updates" enum:"delta_commits,crawl_changes,runs,source_freshness"`
	// Checks are the names of the checks a quality SLO counts; empty
	// means every check on the dataset.
	Checks []string `yaml:"checks"`
}

// QualityConfig configures the history of data-quality results.
type QualityConfig struct {
	// Retention is how long check results and freshness observations are
	// kept; the newest result of each check and the newest observation of
	// each dataset are always kept. An hourly job deletes the rest.
	Retention time.Duration `yaml:"retention" default:"9600h"`
}

// CheckConfig is one SQL check (an item of the key checks): a query, or
// a template that expands to one, returning one number, and what the
// number must be.
type CheckConfig struct {
	// Name is the check's name, required and unique, `[a-z0-9_-]+`; its
	// results have the provenance `sql:<name>`.
	Name string `yaml:"name"`
	// Source is the name of the postgres or redshift source the check
	// runs on, with that source's URL and password, in a read-only
	// transaction.
	Source string `yaml:"source"`
	// Table is the table checked, `schema.table`: the dataset
	// `<database>.<schema>.<table>` of the source's namespace (the
	// database of the source's URL), and the table of a template.
	Table string `yaml:"table"`
	// Dataset is the name of the dataset checked, in the source's
	// namespace, such as `analytics.public.orders`, when it is not the
	// one `table` names.
	Dataset string `yaml:"dataset"`
	// Column is the column checked, required by every template but
	// `row_count`.
	Column string `yaml:"column"`
	// SQL is the query, returning one row of one number; it runs through
	// a cursor of which at most two rows are read. Set it or `template`.
	SQL string `yaml:"sql"`
	// Template writes the query: `not_null` (rows where `column` is
	// null), `unique` (values found more than once), `accepted_values`
	// (rows whose value is not in `values`), `row_count` (rows),
	// `freshness` (seconds since the newest `column` value),
	// `relationships` (values with no row of `to_table` holding them in
	// `to_column`).
	Template string `yaml:"template" enum:"not_null,unique,accepted_values,row_count,freshness,relationships"`
	// Values are the values `accepted_values` allows.
	Values []string `yaml:"values"`
	// ToTable is the table, `schema.table`, that `relationships` requires
	// `column` to reference.
	ToTable string `yaml:"to_table"`
	// ToColumn is the column of `to_table` that `relationships` requires
	// `column` to reference.
	ToColumn string `yaml:"to_column"`
	// Expect is what the number must be: `= 0`, `!= 0`, `< 10`, `<= 10`,
	// `> 0`, `>= 100`, `between 100 and 200`, or `change within 10% of
	// last 7 runs` (from the mean of the check's last 7 values).
	// Required, except that templates other than `row_count` and
	// `freshness` default to `= 0`.
	Expect string `yaml:"expect"`
	// Severity is `error` (a miss is a failure) or `warn` (a miss is a
	// warning).
	Severity string `yaml:"severity" default:"error" enum:"error,warn"`
	// Timeout is the query's statement timeout.
	Timeout time.Duration `yaml:"timeout" default:"30s"`
	// Schedule is how often `almanac serve` runs the check; empty means
	// never on its own.
	Schedule Schedule `yaml:"schedule"`
}

// AuthConfig says how people sign in, and what they may do.
type AuthConfig struct {
	// Mode is how people sign in. `none`: nobody does; everyone reads
	// and nobody edits, and `serve` refuses to listen on an address other
	// than a loopback one unless given `-force`. `oidc`: people sign in
	// with the provider of `auth.oidc`, and `serve` records sessions in
	// the database (so that every replica honours them). `almanac demo`
	// signs every visitor in as the editor `demo` instead, and says so on
	// every page.
	Mode string `yaml:"mode" default:"none" enum:"none,oidc" env:"ALMANAC_AUTH_MODE"`
	// OIDC is the OpenID Connect provider people sign in with.
	OIDC OIDCConfig `yaml:"oidc"`
	// Roles maps the provider's groups to roles.
	Roles RolesConfig `yaml:"roles"`
	// AnonymousRead lets people who have not signed in read the
	// catalog's pages, GraphQL, the Marquez reads and `/metrics` (never
	// edit) with mode `oidc`; without it they are sent to sign in (pages)
	// or answered 401 (APIs). Health probes are always open.
	AnonymousRead bool `yaml:"anonymous_read"`
	// Session says how long a sign-in lasts.
	Session SessionTimeouts `yaml:"session"`
}

// OIDCConfig is the OpenID Connect provider people sign in with.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, whose
	// `/.well-known/openid-configuration` describes it: such as
	// `https://keycloak.example.com/realms/corp`,
	// `https://accounts.google.com` or
	// `https://login.microsoftonline.com/<tenant id>/v2.0`. Required with
	// mode `oidc`.
	Issuer string `yaml:"issuer" env:"ALMANAC_AUTH_OIDC_ISSUER"`
	// ClientID is the client (application) id registered with the
	// provider. Required with mode `oidc`.
	ClientID string `yaml:"client_id" env:"ALMANAC_AUTH_OIDC_CLIENT_ID"`
	// ClientSecret is the client's secret; set it from the environment.
	ClientSecret string `yaml:"client_secret" env:"ALMANAC_AUTH_OIDC_CLIENT_SECRET"`
	// Scopes are the scopes asked for; empty means `openid profile
	// email`, and `openid` is always added. Add
	// the scope that makes your provider send groups (`groups` for
	// Keycloak with a group mapper, Dex, Okta).
	Scopes []string `yaml:"scopes"`
	// RedirectURL is the address of `/auth/callback` as browsers reach
	// it, registered with the provider as a redirect URI; empty means
	// `public_url` + `/auth/callback`. It must be `https://`, except on a
	// loopback host (`http://localhost:8080/auth/callback`).
	RedirectURL string `yaml:"redirect_url"`
	// Claims name the claims (of the ID token, else of userinfo) that
	// carry a person's email, display name and groups.
	Claims ClaimsConfig `yaml:"claims"`
}

// ClaimsConfig names the claims carrying who a person is.
type ClaimsConfig struct {
	// Email is the claim of the email address, a person's login (the
	// name their edits and ownership go by); an address the provider
	// marks unverified is not used.
	Email string `yaml:"email" default:"email"`
	// Name is the claim of the display name (`preferred_username` when
	// it is missing).
	Name string `yaml:"name" default:"name"`
	// Groups is the claim of the groups, a list of strings: Keycloak
	// `groups`, Entra `groups` (object ids) or `roles` (app roles).
	Groups string `yaml:"groups" default:"groups"`
}

// RolesConfig maps the provider's groups to roles.
type RolesConfig struct {
	// Default is the role of a person none of whose groups is mapped.
	Default string `yaml:"default" default:"viewer" enum:"viewer,editor,admin"`
	// Groups maps a group to the role its members get (`viewer`,
	// `editor` or `admin`); a person in several groups gets the highest.
	// A member of a group named like a team that owns a dataset may edit
	// that dataset whatever their role.
	Groups map[string][]string `yaml:"groups"`
}

// SessionTimeouts say how long a sign-in lasts.
type SessionTimeouts struct {
	// Idle ends a session unused this long.
	Idle time.Duration `yaml:"idle" default:"8h"`
	// Absolute ends a session this long after sign-in, however used.
	Absolute time.Duration `yaml:"absolute" default:"168h"`
}

// RedirectURL is where the provider sends browsers back to.
func (a AuthConfig) RedirectURL(publicURL string) string {
	if a.OIDC.RedirectURL != "" {
		return a.OIDC.RedirectURL
	}
	if publicURL == "" {
		return ""
	}
	return strings.TrimSuffix(publicURL, "/") + "/auth/callback"
}

// DatabaseConfig configures more connections to the catalog database.
type DatabaseConfig struct {
	// ReadURL is the PostgreSQL URL of a read replica (a streaming
	// standby) of the catalog database. With it, `serve` reads the pages
	// and the GraphQL queries of GET requests there, and everything else
	// (writes, POST requests, crawls, the search index and lineage graph
	// following the change log) on `database_url`. A browser that wrote
	// reads on the primary until the replica has replayed its write (a
	// cookie carries the write's WAL position, so any replica of Almanac
	// honours it). The replica's lag is exported as
	// `almanac_read_replica_lag_bytes` and `almanac_read_replica_lag_seconds`.
	ReadURL string `yaml:"read_url" env:"ALMANAC_DATABASE_READ_URL"`
}

// LogConfig configures the process log.
type LogConfig struct {
	// Format is the format of log lines.
	Format string `yaml:"format" default:"text" enum:"text,json" env:"ALMANAC_LOG_FORMAT"`
	// Level is the minimum level logged.
	Level string `yaml:"level" default:"info" enum:"debug,info,warn,error" env:"ALMANAC_LOG_LEVEL"`
}

// MemoryConfig configures how much memory the process may use to spend
// less CPU.
type MemoryConfig struct {
	// HeapTarget is the heap size up to which the garbage collector may
	// let the heap grow before it collects: after each collection it
	// lets the heap grow by up to four times what is live, as long as
	// that stays under the target, and never by less than Go's default
	// (the live heap again). `0` keeps Go's default; so does setting
	// `GOGC` or `GOMEMLIMIT` in the environment. The process's memory can
	// exceed it: it is where the collector starts working harder, not a
	// limit.
	HeapTarget ByteSize `yaml:"heap_target" default:"1GiB" env:"ALMANAC_MEMORY_HEAP_TARGET"`
}

// ByteSize is a number of bytes written with a unit: `512MiB`, `1GiB`,
// `2GB` (SI units are powers of 1,000, IEC ones of 1,024), or `0`.
type ByteSize uint64

// UnmarshalText parses a size as written in the configuration.
func (b *ByteSize) UnmarshalText(text []byte) error {
	n, err := humanize.ParseBytes(string(text))
	if err != nil {
		return fmt.Errorf("want a size such as 512MiB or 1GiB, got %q", text)
	}
	*b = ByteSize(n)
	return nil
}

// syntax describes the values of a size, for the README.
func (ByteSize) syntax() string { return "a size such as `512MiB`, `1GiB` or `0`" }

// SearchConfig configures the full-text search index.
type SearchConfig struct {
	// IndexDir is the directory of the full-text search index (bleve)
	// behind the search page, the search box's suggestions and the GraphQL
	// `search` query; one per process, rebuilt from the catalog when
	// missing, corrupt or from another version (and by `almanac reindex`),
	// so it needs no backup.
	IndexDir string `yaml:"index_dir" default:".almanac/index"`
	// Abbreviations add to or replace the abbreviations search knows
	// (`acct addr amt avg cat cnt cust dept desc dt emp fx gl hist id inv
	// mgr num prod qty tbl ts txn`): each short form, one word of letters
	// and digits, to the word, words or list of words it stands for (`cust:
	// customer`, `inv: [inventory, invoice]`, `gl: general ledger`); an
	// empty value (`cust: ""`) removes a default. Searches apply them both
	// ways ("customer address" finds `cust_addr`, "cust addr" finds
	// `customer_address`, the form typed ranking first). A change takes
	// effect at once, and for splitting names written without separators
	// (`tblcustaddr`) at the next `almanac reindex`.
	Abbreviations map[string][]string `yaml:"abbreviations"`
}

// TokensConfig configures API tokens.
type TokensConfig struct {
	// MaxLifetime is the longest a new token may live: every token has an
	// expiry, at most this far ahead.
	MaxLifetime time.Duration `yaml:"max_lifetime" default:"8760h"`
}

// IncidentsConfig configures what opens an incident on a dataset.
type IncidentsConfig struct {
	// MinCheckSeverity is the least severity of a failing data-quality
	// check that opens an incident: `error` opens one only for checks of
	// severity error (dbt's default) that fail, `warn` also for checks
	// that warn. The check's next pass resolves it.
	MinCheckSeverity string `yaml:"min_check_severity" default:"error" enum:"warn,error" env:"ALMANAC_INCIDENTS_MIN_CHECK_SEVERITY"`
	// SweepInterval is how often runs still running past their job's
	// late threshold are judged (SLOs breached by time alone are judged
	// from the SLO evaluator's stored evaluations). Of several serve
	// processes sharing the database, one sweeps each interval.
	SweepInterval time.Duration `yaml:"sweep_interval" default:"1m"`
}

// LinksConfig holds the URL templates of the places where work is
// tracked.
type LinksConfig struct {
	// IssueTracker opens a new issue prefilled from an incident, from
	// the "open a ticket" link of incident pages. Placeholders:
	// `{summary}`, `{description}` (the incident, its detail, its page and
	// what is downstream; shortened so that the link stays under 6,000
	// bytes), `{dataset}`, `{namespace}`, `{name}`, `{incident_url}`,
	// `{incident_id}`. Jira:
	// `https://jira.example.com/secure/CreateIssueDetails!init.jspa?pid=10000&issuetype=1&summary={summary}&description={description}`;
	// GitHub: `https://github.com/acme/data/issues/new?title={summary}&body={description}`;
	// GitLab: `https://gitlab.example.com/acme/data/-/issues/new?issue[title]={summary}&issue[description]={description}`.
	IssueTracker string `yaml:"issue_tracker"`
	// Wiki is a dataset's documentation page, linked from the dataset's
	// page and GraphQL's `Dataset.documentationUrl`. Placeholders:
	// `{dataset}` (namespace/name), `{namespace}`, `{name}`; such as
	// `https://wiki.example.com/display/DATA/{name}`.
	Wiki string `yaml:"wiki"`
	// CodeHost is a job's code, for jobs whose `sourceCodeLocation` is
	// not an http(s) link (which is used as it is). Placeholders:
	// `{path}` (dbt's file path, kept as path segments), `{namespace}`,
	// `{name}`, `{source_url}` (the sourceCodeLocation as written); such
	// as `https://github.com/acme/dbt/blob/main/{path}` or
	// `https://bitbucket.example.com/projects/DATA/repos/dbt/browse/{path}`.
	CodeHost string `yaml:"code_host"`

	// Templates are the templates parsed.
	Templates extlink.Templates
}

// NotificationsConfig configures notification channels and delivery.
type NotificationsConfig struct {
	// Channels are where notifications go, configured by admins: people
	// who follow a dataset, a team or a saved search pick one of them,
	// and each channel may carry the news of some teams.
	Channels []ChannelConfig `yaml:"channels"`
	// Backoff is the wait before a failed delivery (a 5xx answer, a
	// timeout, a receiver that is down) is tried again, doubled at each
	// next attempt up to an hour; after 8 attempts it is dead-lettered
	// and listed at `/admin/notifications`. A 4xx answer is not retried.
	Backoff time.Duration `yaml:"backoff" default:"30s"`
}

// ChannelConfig is one notification channel (an item of the key
// notifications.channels).
type ChannelConfig struct {
	// Name is the channel's name, required and unique, `[a-z0-9_-]+`:
	// follows name it, and its secrets' environment variables are named
	// after it.
	Name string `yaml:"name"`
	// Kind is what the channel speaks, required: `webhook` (a JSON POST
	// per recipient, signed with HMAC-SHA256), `slack` (a Slack-compatible
	// incoming webhook, one message per event) or `opsgenie` (Opsgenie's
	// alert API: one alert per incident, by alias).
	Kind string `yaml:"kind" enum:"webhook,slack,opsgenie"`
	// URL is where deliveries go, required, `https://` (or `http://`):
	// the webhook's address, or for opsgenie the API's base,
	// `https://api.opsgenie.com` or `https://api.eu.opsgenie.com`.
	URL string `yaml:"url"`
	// Secret signs a webhook channel's payloads (required for kind
	// webhook; at least 16 characters). The variable
	// `ALMANAC_CHANNEL_<NAME>_SECRET` overrides it.
	Secret string `yaml:"secret" env:"ALMANAC_CHANNEL_<NAME>_SECRET"`
	// APIKey is an opsgenie channel's integration key (required for kind
	// opsgenie). The variable `ALMANAC_CHANNEL_<NAME>_API_KEY` overrides
	// it.
	APIKey string `yaml:"api_key" env:"ALMANAC_CHANNEL_<NAME>_API_KEY"`
	// Teams are the owning teams whose news this channel carries:
	// incidents and schema changes of the datasets they own, and
	// incidents upstream of them.
	Teams []string `yaml:"teams"`
	// Default makes this the channel of follows that name none and of
	// people told as owners of downstream datasets; without one, the
	// first channel is.
	Default bool `yaml:"default"`
	// Timeout bounds one delivery attempt.
	Timeout time.Duration `yaml:"timeout" default:"10s"`
}

// OpenLineageConfig configures the OpenLineage endpoint that Airflow, Spark
// and dbt post events to. It takes API tokens with the lineage:write
// scope, the shared token (deprecated), or, when allowed explicitly,
// anonymous events.
type OpenLineageConfig struct {
	// Token is a Bearer token shared by every producer. Deprecated: give
	// each producer a service token with the `lineage:write` scope
	// (`/admin/tokens`) instead; this one keeps working, and the server
	// warns at start while it is set.
	Token string `yaml:"token" env:"ALMANAC_OPENLINEAGE_TOKEN"`
	// Anonymous accepts events without a token, for a private network
	// only; otherwise requests without a valid token get 401. The server then
	// answers only requests for `localhost`, an IP address or
	// `public_url`'s host. `almanac demo` turns it on.
	Anonymous bool `yaml:"anonymous"`
	// Retention is how long raw OpenLineage events are kept after
	// processing, and the history of dataset metrics (the newest of each
	// dataset is always kept).
	Retention time.Duration `yaml:"retention" default:"720h"`
}

// AnonymousPosting reports whether the endpoint accepts events without a
// token: anonymous posting allowed and no token set.
func (o OpenLineageConfig) AnonymousPosting() bool { return o.Token == "" && o.Anonymous }

// SourceConfig is one source to crawl (an item of the key sources).
type SourceConfig struct {
	// Name is the source's name, required and unique, `[a-z0-9_-]+`. The
	// provenance of every fact the source asserts is `<type>:<name>`, so
	// renaming a source orphans its facts.
	Name string `yaml:"name"`
	// Type is the kind of source, required: `postgres`, `redshift`, `dbt`,
	// `delta`, `unitycatalog` or `great_expectations`.
	Type string `yaml:"type"`
	// URL is where the source lives, required for postgres, redshift and
	// unitycatalog. postgres: the connection URL, such as
	// `postgres://crawler@db.internal:5432/analytics`; it must include a
	// user if a password is set. redshift: the same, with the cluster's
	// endpoint and port, such as
	// `postgres://crawler@examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com:5439/dev?sslmode=require`.
	// unitycatalog: the server,
	// `http://localhost:8080` (open-source) or `https://<workspace host>`
	// (Databricks), without credentials.
	URL string `yaml:"url"`
	// Password is the password added to the URL when connecting. It is
	// kept apart from the URL so that it can come from the environment
	// (`<NAME>` is the source's name upper-cased, `-` turned to `_`).
	Password string `yaml:"password" env:"ALMANAC_SOURCE_<NAME>_PASSWORD"`
	// Token is the Bearer token of a unitycatalog source (a Databricks
	// personal access or OAuth token); none sends no `Authorization`
	// header. It never appears in errors or logs.
	Token string `yaml:"token" env:"ALMANAC_SOURCE_<NAME>_TOKEN"`
	// Lineage makes a unitycatalog source read Databricks' table lineage
	// (one request per table crawled); the open-source server has no
	// lineage API.
	Lineage bool `yaml:"lineage"`
	// Databases are the databases to crawl on a postgres or redshift
	// server; empty means the URL's database.
	Databases []string `yaml:"databases"`
	// Namespace is the OpenLineage namespace the source's datasets are
	// keyed under. For postgres it defaults to `postgres://HOST:PORT` of the
	// URL; for redshift to `redshift://<cluster identifier>.<region>:PORT`
	// when the URL's host is a cluster's (or serverless workgroup's)
	// endpoint, else `redshift://HOST:PORT`; for delta to `file` (for
	// local paths; tables on S3 are keyed `s3://<bucket>`, whatever it
	// says); for unitycatalog to `unity-catalog` (the
	// namespace of Unity Catalog names: views, and the aliases of tables,
	// which are keyed by their storage location); dbt requires it: the
	// namespace of the warehouse the target writes to, so that models merge
	// with that warehouse's crawl into one dataset each; great_expectations
	// requires it too: the namespace of the warehouse the validated tables
	// live in.
	Namespace string `yaml:"namespace"`
	// Include lists the glob patterns of what a postgres or redshift
	// source (`schema` or `schema.table`) or a unitycatalog source (`catalog`,
	// `catalog.schema` or `catalog.schema.table`) crawls; empty means
	// everything.
	Include []string `yaml:"include"`
	// Exclude lists the glob patterns, like `include`, of what a postgres,
	// redshift or unitycatalog source skips; it wins over `include`.
	Exclude []string `yaml:"exclude"`
	// Paths are the directories read, required for dbt, delta and
	// great_expectations. dbt: target directories, each with
	// `manifest.json` and optionally `catalog.json`, `run_results.json`,
	// `sources.json`; delta: roots under which every Delta table (a
	// directory with `_delta_log`) is crawled, local paths or
	// `s3://bucket/prefix` URIs (see `s3`); great_expectations: folders
	// searched for `*.json` validation results (a validations store such
	// as `gx/uncommitted/validations`, saved checkpoint results) or single
	// files.
	Paths []string `yaml:"paths"`
	// Database replaces the database of every dbt node, when the
	// warehouse crawl knows the database by another name; for
	// great_expectations it is put before the schema and table names Great
	// Expectations reports, e.g. `analytics` makes `public.orders` the
	// dataset `analytics.public.orders`.
	Database string `yaml:"database"`
	// Teams lists the dbt owner names that are teams rather than people
	// (names starting `team:`/`group:` or containing team, squad or group
	// are teams anyway).
	Teams []string `yaml:"teams"`
	// JobNamespace is the OpenLineage namespace of a dbt source's
	// jobs (and of its semantic models and metrics); empty means
	// `dbt://<name>`. Each dbt source needs its own, so that two targets of
	// one project (dev and prod, two versions) never share a job; set it to
	// the `OPENLINEAGE_NAMESPACE` your `dbt-ol` runs of that target use, so
	// that their runs land on the same jobs.
	JobNamespace string `yaml:"job_namespace"`
	// S3 says how a delta source reaches the object store of its
	// `s3://` paths: AWS, or an S3-compatible server. Credentials are
	// never written here: they come from the environment
	// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`)
	// or the standard AWS chain (`AWS_PROFILE` and the shared files, web
	// identity, the instance's role).
	S3 S3Config `yaml:"s3"`
	// Schedule is how often `almanac serve` crawls the source; empty means
	// on demand only.
	Schedule Schedule `yaml:"schedule"`
	// Line is the line of the source in the configuration file, so that
	// later messages about the source can point at it; 0 when unknown.
	Line int
}

// S3Config says how a delta source reaches its object store.
type S3Config struct {
	// Endpoint is the `http://` or `https://` URL of an S3-compatible
	// server, such as `http://minio.internal:9000`; empty means AWS (or
	// `AWS_ENDPOINT_URL_S3`).
	Endpoint string `yaml:"endpoint"`
	// Region signs the requests; empty means `AWS_REGION` or the
	// profile's, else `us-east-1`.
	Region string `yaml:"region"`
	// PathStyle puts the bucket in the URL's path
	// (`http://host/bucket/key`) rather than in its host name, as most
	// S3-compatible servers need.
	PathStyle bool `yaml:"path_style"`
}

// isSet reports whether any key of s is set.
func (s S3Config) isSet() bool { return s != S3Config{} }

// Provenance returns "<type>:<name>", the provenance recorded on every fact
// the source asserts.
func (s SourceConfig) Provenance() string {
	return s.Type + ":" + s.Name
}

// ConnURL returns URL with Password, if any, set as the URL's password,
// replacing a password written in URL. The password is escaped as needed.
func (s SourceConfig) ConnURL() (string, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		return "", fmt.Errorf("source %s: invalid url: %v", s.Provenance(), urlProblem(err))
	}
	if s.Password == "" {
		return s.URL, nil
	}
	if u.User == nil || u.User.Username() == "" {
		return "", fmt.Errorf("source %s: url has no user name to go with the password", s.Provenance())
	}
	u.User = url.UserPassword(u.User.Username(), s.Password)
	return u.String(), nil
}

// Schedule is how often a source is crawled: "@every <duration>" with a Go
// duration such as 90m, "@hourly" or "@daily", which are intervals of 1h
// and 24h from the previous crawl, not wall-clock times. The zero Schedule
// means on demand only.
type Schedule struct {
	// Spec is the schedule as written; "" for on demand only.
	Spec string
	// Every is the time between two crawls; 0 for on demand only.
	Every time.Duration
}

// UnmarshalText parses a schedule as written in the configuration.
func (s *Schedule) UnmarshalText(text []byte) error {
	every, err := parseSchedule(string(text))
	if err != nil {
		return err
	}
	*s = Schedule{Spec: string(text), Every: every}
	return nil
}

// syntax describes the values of a schedule, for the README.
func (Schedule) syntax() string { return "`@every <Go duration>` | `@hourly` | `@daily`" }

func parseSchedule(schedule string) (time.Duration, error) {
	switch schedule {
	case "":
		return 0, nil
	case "@hourly":
		return time.Hour, nil
	case "@daily":
		return 24 * time.Hour, nil
	}
	rest, ok := strings.CutPrefix(schedule, "@every ")
	if !ok {
		return 0, fmt.Errorf(`want "@every <duration>", "@hourly" or "@daily", got %q`, schedule)
	}
	d, err := time.ParseDuration(strings.TrimSpace(rest))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q in %q (want a Go duration such as 30m or 1h30m)", strings.TrimSpace(rest), schedule)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration must be positive, got %q", schedule)
	}
	return d, nil
}

// supportedSourceTypes are the values accepted for sources[].type.
var supportedSourceTypes = []string{"postgres", "redshift", "dbt", "delta", "unitycatalog", "great_expectations"}

// LoadConfig reads and validates the configuration file at path, then
// applies the environment overrides read with getenv (os.Getenv when nil).
// path "" means no file: defaults and environment only.
//
// String values may refer to environment variables as ${NAME}, so that
// secrets need not be written in the file; "$${" stands for a literal "${".
// A variable that is unset or empty is an error.
//
// Errors name the file, line and key ("almanac.yaml:7: sources[0].type:
// ..."), or the environment variable they come from; all the problems found
// are reported together, joined by newlines.
func LoadConfig(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	l := &loader{file: path, getenv: getenv, at: map[string]origin{}, bad: map[string]bool{}}
	var root *yaml.Node
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if root, err = l.parse(data); err != nil {
			return nil, err
		}
	}
	cfg := &Config{}
	l.decode(root, "", reflect.ValueOf(cfg).Elem())
	for i := range cfg.Sources {
		cfg.Sources[i].Line = l.at[fmt.Sprintf("sources[%d]", i)].line
	}
	l.validate(cfg)
	l.validateChecks(cfg)
	l.validateSLOs(cfg)
	// The problems of checks and SLOs leave them out, not the server.
	var bad map[string]bool
	l.problems, cfg.CheckProblems, bad = splitCheckProblems(l.problems)
	if err := l.err(); err != nil {
		return nil, err
	}
	for i, c := range l.checks {
		if c != nil && !bad[fmt.Sprintf("checks[%d]", i)] {
			cfg.RunChecks = append(cfg.RunChecks, *c)
		}
	}
	for i, s := range l.slos {
		if s != nil && !bad[fmt.Sprintf("slos[%d]", i)] {
			cfg.RunSLOs = append(cfg.RunSLOs, *s)
		}
	}
	return cfg, nil
}

// loader holds the state of one LoadConfig call.
type loader struct {
	file   string
	getenv func(string) string
	// at records where each value came from, by key path ("log.format",
	// "sources[1].include[0]"), so that checks made after the walk can
	// point at it.
	at map[string]origin
	// bad holds the key paths whose values were already reported as
	// unusable, so that they are not reported again as empty.
	bad      map[string]bool
	problems []problem
	// checks holds the checks as they run, by index in Config.Checks;
	// nil for one that could not be built. slos the same for Config.SLOs.
	checks []*crawl.Check
	slos   []*slo.SLO
}

// origin is where a value came from: a line of the file or an
// environment variable.
type origin struct {
	line int
	env  string
}

// problem is one error found: in the file at line, or in the environment
// variable env.
type problem struct {
	env  string
	line int
	key  string // the key path
	msg  string
}

// errorf records a problem at line of the file about the key at path
// ("" for the top level).
func (l *loader) errorf(line int, path, format string, args ...any) {
	l.report(origin{line: line}, path, format, args...)
}

// report records a problem about the value at key path that came from o.
func (l *loader) report(o origin, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if o.env != "" {
		l.problems = append(l.problems, problem{env: o.env, msg: "env " + o.env + ": " + msg})
		return
	}
	if path != "" {
		msg = path + ": " + msg
	}
	l.problems = append(l.problems, problem{line: o.line, key: path, msg: fmt.Sprintf("%s:%d: %s", l.file, o.line, msg)})
}

// err returns the problems found: those of the file in line order, then
// those of the environment by variable name.
func (l *loader) err() error {
	if len(l.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(l.problems, func(a, b problem) int {
		return cmp.Or(cmp.Compare(a.env, b.env), cmp.Compare(a.line, b.line))
	})
	errs := make([]error, len(l.problems))
	for i, p := range l.problems {
		errs[i] = errors.New(p.msg)
	}
	return errors.Join(errs...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parse returns the root node of the single YAML document in data: an
// empty node when there is none.
func (l *loader) parse(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{}, nil
		}
		return nil, l.syntaxError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, l.syntaxError(err)
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		return nil, fmt.Errorf("%s:%d: only one YAML document is allowed", l.file, extra.Line)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

// syntaxError turns yaml.v3's "yaml: line 3: msg" into "file:3: invalid
// YAML: msg". yaml.v3 leaves the line out of some messages (notably those
// about line 1); they keep just the file name.
func (l *loader) syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: invalid YAML: %s", l.file, m[1], msg[len(m[0]):])
	}
	return fmt.Errorf("%s: invalid YAML: %s", l.file, strings.TrimPrefix(msg, "yaml: "))
}

// decode sets the struct v, whose key path is path, from the mapping n (nil
// when the key is absent), then sets each of its scalar keys from the
// environment, or else from its default, when the tags say so. It is the
// one walk of the configuration: every key is read by it, as its field's
// type and tags say (see Config).
func (l *loader) decode(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type()
	entries := l.mapping(n, path, yamlKeys(t))
	written := make(map[string]string) // scalar values as written, by key
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok := yamlKey(f)
		if !ok {
			continue
		}
		p := join(path, key)
		e, inFile := entries[key]
		if inFile {
			l.at[p] = origin{line: e.key.Line}
		}
		switch fv := v.Field(i); {
		case isScalar(f.Type):
			if inFile {
				written[key], _ = l.scalar(e.value, e.key.Line, p, f.Type)
			}
		case f.Type.Kind() == reflect.Struct:
			var value *yaml.Node
			if inFile {
				value = e.value
			}
			l.decode(value, p, fv)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			if inFile {
				l.decodeMappings(e, p, fv)
			}
		case f.Type == reflect.TypeFor[[]string]():
			if inFile {
				l.decodeStrings(e, p, fv)
			}
		case f.Type == reflect.TypeFor[map[string][]string]():
			if inFile {
				l.decodeTable(e, p, fv)
			}
		default:
			panic(fmt.Sprintf("config key %s: unsupported type %s", p, f.Type))
		}
	}
	// The scalars once every value written is known: the environment
	// variable of a source's password is named after the source.
	for i := range t.NumField() {
		f := t.Field(i)
		key, ok := yamlKey(f)
		if !ok || !isScalar(f.Type) {
			continue
		}
		p := join(path, key)
		s, at := written[key], l.at[p]
		for _, name := range envNames(f, written["name"]) {
			if env := l.getenv(name); env != "" {
				s, at = env, origin{env: name}
				l.at[p] = at
				break
			}
		}
		if s == "" {
			s = f.Tag.Get("default")
		}
		if s == "" {
			continue
		}
		if enum := f.Tag.Get("enum"); enum != "" && !slices.Contains(strings.Split(enum, ","), s) {
			l.report(at, p, "must be %s, got %q", orList(strings.Split(enum, ",")), s)
			l.bad[p] = true
			continue
		}
		if err := setScalar(v.Field(i), s); err != nil {
			l.report(at, p, "%v", err)
			l.bad[p] = true
		}
	}
}

// decodeMappings sets the slice of structs v from the list of mappings of
// entry e, whose key path is path.
func (l *loader) decodeMappings(e entry, path string, v reflect.Value) {
	seq := resolve(e.value)
	if isNull(seq) {
		return
	}
	if seq.Kind != yaml.SequenceNode {
		l.errorf(e.key.Line, path, "must be a list")
		l.bad[path] = true
		return
	}
	if len(seq.Content) == 0 {
		return
	}
	items := reflect.MakeSlice(v.Type(), len(seq.Content), len(seq.Content))
	for i, item := range seq.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		n := resolve(item)
		l.at[p] = origin{line: n.Line}
		if n.Kind != yaml.MappingNode {
			// The item keeps its place, so that path[i] still names
			// item i; validate skips it.
			l.errorf(n.Line, p, "must be a mapping")
			l.bad[p] = true
			continue
		}
		l.decode(n, p, items.Index(i))
	}
	v.Set(items)
}

// decodeStrings sets the []string v from the list of entry e, whose key
// path is path.
func (l *loader) decodeStrings(e entry, path string, v reflect.Value) {
	seq := resolve(e.value)
	if isNull(seq) {
		return
	}
	if seq.Kind != yaml.SequenceNode {
		l.errorf(e.key.Line, path, "must be a list of strings")
		l.bad[path] = true
		return
	}
	var list []string
	for i, item := range seq.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		l.at[p] = origin{line: item.Line}
		if s, ok := l.scalar(item, item.Line, p, v.Type().Elem()); ok {
			list = append(list, s)
		}
	}
	v.Set(reflect.ValueOf(list))
}

// decodeTable sets the map v from the mapping of entry e, whose key path
// is path: keys of the user's choosing (such as abbreviations), each to a
// string or a list of strings. A null or empty string is an empty list,
// so that a key can stand for nothing.
func (l *loader) decodeTable(e entry, path string, v reflect.Value) {
	n := resolve(e.value)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(e.key.Line, path, "must be a mapping")
		l.bad[path] = true
		return
	}
	table := make(map[string][]string)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, value := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			l.errorf(k.Line, path, "keys must be strings")
			continue
		}
		p := join(path, k.Value)
		if _, dup := table[k.Value]; dup {
			l.errorf(k.Line, path, "duplicate key %q (first at line %d)", k.Value, l.at[p].line)
			continue
		}
		l.at[p] = origin{line: k.Line}
		var list []string
		switch value.Kind {
		case yaml.ScalarNode:
			if s, ok := l.scalar(value, k.Line, p, reflect.TypeFor[string]()); ok && s != "" {
				list = []string{s}
			}
		case yaml.SequenceNode:
			for j, item := range value.Content {
				ip := fmt.Sprintf("%s[%d]", p, j)
				l.at[ip] = origin{line: item.Line}
				if s, ok := l.scalar(item, item.Line, ip, reflect.TypeFor[string]()); ok {
					list = append(list, s)
				}
			}
		default:
			l.errorf(k.Line, p, "must be a string or a list of strings")
			l.bad[p] = true
			continue
		}
		table[k.Value] = list
	}
	v.Set(reflect.ValueOf(table))
}

// entry is one key and its value in a mapping.
type entry struct{ key, value *yaml.Node }

// mapping returns the entries of the mapping n, whose key path is path, by
// key. It reports keys that are not in known (suggesting the closest known
// key), duplicated or not strings. A nil or null n is an empty mapping; so
// is n when it is not a mapping, which is reported.
func (l *loader) mapping(n *yaml.Node, path string, known []string) map[string]entry {
	if n == nil {
		return nil
	}
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if path == "" {
			l.errorf(n.Line, "", "the file must be a mapping of keys to values")
		} else {
			l.errorf(n.Line, path, "must be a mapping")
		}
		return nil
	}
	m := make(map[string]entry)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			l.errorf(k.Line, path, "keys must be strings")
		case k.ShortTag() == "!!merge":
			l.errorf(k.Line, path, "merge keys (<<) are not supported")
		case !slices.Contains(known, k.Value):
			l.errorf(k.Line, path, "unknown key %q%s", k.Value, suggest(k.Value, known))
		default:
			if prev, dup := m[k.Value]; dup {
				l.errorf(k.Line, path, "duplicate key %q (first at line %d)", k.Value, prev.key.Line)
				continue
			}
			m[k.Value] = entry{key: k, value: v}
		}
	}
	return m
}

// scalar returns the value of n, found at line, with ${NAME} references
// expanded; null is "". It reports other kinds of values than scalars,
// saying what a value of type t must be.
func (l *loader) scalar(n *yaml.Node, line int, path string, t reflect.Type) (string, bool) {
	n = resolve(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		if t.Kind() == reflect.String {
			l.errorf(line, path, "must be a string")
		} else {
			l.errorf(line, path, "must be a single value, not a list or a mapping")
		}
		l.bad[path] = true
		return "", false
	}
	s, err := expand(n.Value, l.getenv)
	if err != nil {
		l.errorf(line, path, "%v", err)
		l.bad[path] = true
		return "", false
	}
	return s, true
}

// isScalar reports whether the values of type t are written as one
// scalar.
func isScalar(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) ||
		t == reflect.TypeFor[string]() || t == reflect.TypeFor[bool]() || t == reflect.TypeFor[time.Duration]()
}

// setScalar sets v, of a type isScalar accepts, to the value s.
func setScalar(v reflect.Value, s string) error {
	switch p := v.Addr().Interface().(type) {
	case encoding.TextUnmarshaler:
		return p.UnmarshalText([]byte(s))
	case *string:
		*p = s
	case *bool:
		// Only these two: YAML 1.1's yes, no, on and off are typos here.
		switch s {
		case "true":
			*p = true
		case "false":
			*p = false
		default:
			return fmt.Errorf("must be true or false, got %q", s)
		}
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive Go duration such as 720h, got %q", s)
		}
		*p = d
	default:
		panic(fmt.Sprintf("config: no scalar type %s", v.Type()))
	}
	return nil
}

// yamlKey returns the key of the field f, and false if f is not a key.
func yamlKey(f reflect.StructField) (string, bool) {
	key := f.Tag.Get("yaml")
	return key, key != "" && key != "-"
}

// yamlKeys returns the keys of the struct type t, in field order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if key, ok := yamlKey(f); ok {
			keys = append(keys, key)
		}
	}
	return keys
}

// envNames returns the environment variables of the field f's env tag, in
// order of precedence, for a struct whose name key is name: a variable
// with <NAME> in it has the name upper-cased with '-' turned to '_' in its
// place, and is left out when name is not a valid source name.
func envNames(f reflect.StructField, name string) []string {
	tag := f.Tag.Get("env")
	if tag == "" {
		return nil
	}
	var names []string
	for env := range strings.SplitSeq(tag, ",") {
		if strings.Contains(env, "<NAME>") {
			if !validName(name) {
				continue
			}
			env = strings.ReplaceAll(env, "<NAME>", strings.ReplaceAll(strings.ToUpper(name), "-", "_"))
		}
		names = append(names, env)
	}
	return names
}

// passwordEnv returns the environment variable overriding the password of
// the source named name, a valid name.
func passwordEnv(name string) string {
	f, _ := reflect.TypeFor[SourceConfig]().FieldByName("Password")
	return envNames(f, name)[0]
}

// orList returns "a", "a or b", "a, b or c".
func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// expand replaces each ${NAME} in s with getenv(NAME); "$${" stands for a
// literal "${". Other uses of "$" are left alone, so that passwords and
// URLs containing "$" need no escaping.
func expand(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var unset []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", errors.New(`unterminated "${" (write "$${" for a literal "${")`)
		}
		name := s[i+2 : i+2+end]
		if !isEnvName(name) {
			// The reference is not repeated: it may be part of a secret.
			return "", errors.New(`invalid variable reference: want ${NAME} with NAME made of letters, digits and '_' (write "$${" for a literal "${")`)
		}
		v := getenv(name)
		if v == "" && !slices.Contains(unset, name) {
			unset = append(unset, name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+2+end+1:]
	}
	switch len(unset) {
	case 0:
		return b.String(), nil
	case 1:
		return "", fmt.Errorf("environment variable %s is not set", unset[0])
	default:
		return "", fmt.Errorf("environment variables %s are not set", strings.Join(unset, ", "))
	}
}

func isEnvName(name string) bool {
	if name == "" || '0' <= name[0] && name[0] <= '9' {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validate checks what the tags of Config cannot say, once the
// environment and the defaults have been applied, reporting each problem
// where its value came from.
// validateLinks parses the URL templates of links.
func (l *loader) validateLinks(c *LinksConfig) {
	for _, t := range []struct {
		key     string
		raw     string
		allowed []string
		into    *extlink.Template
	}{
		{"links.issue_tracker", c.IssueTracker, extlink.IssuePlaceholders, &c.Templates.Issue},
		{"links.wiki", c.Wiki, extlink.WikiPlaceholders, &c.Templates.Wiki},
		{"links.code_host", c.CodeHost, extlink.CodePlaceholders, &c.Templates.Code},
	} {
		parsed, err := extlink.Parse(t.raw, t.allowed)
		if err != nil {
			l.report(l.at[t.key], t.key, "%v", err)
			continue
		}
		*t.into = parsed
	}
}

func (l *loader) validate(cfg *Config) {
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		l.report(l.at["listen"], "listen", "must be host:port (such as 127.0.0.1:8080 or :8080), got %q", cfg.Listen)
	}
	if a := cfg.DebugListen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			l.report(l.at["debug_listen"], "debug_listen", "must be host:port (such as 127.0.0.1:6060), got %q", a)
		} else if a == cfg.Listen {
			l.report(l.at["debug_listen"], "debug_listen", "must differ from listen (%s): profiles are served on a listener of their own", a)
		}
	}
	if u := cfg.PublicURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Hostname() == "" {
			l.report(l.at["public_url"], "public_url", "must be an http:// or https:// URL with a host, such as https://almanac.example.com, got %q", u)
		}
	}
	l.validateAbbreviations("search.abbreviations", cfg.Search.Abbreviations)
	l.validateLinks(&cfg.Links)
	for i, p := range cfg.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			key := fmt.Sprintf("trusted_proxies[%d]", i)
			l.report(cmp.Or(l.at[key], l.at["trusted_proxies"]), key, "must be an address range such as 10.0.0.0/8 or 192.0.2.7/32, got %q", p)
		}
	}
	l.validateAuth(cfg)
	l.validateNotifications(cfg)

	type seen struct {
		name string
		line int
	}
	names := make(map[string]seen)  // by name
	envs := make(map[string]seen)   // by password variable
	jobNSs := make(map[string]seen) // dbt sources by job namespace
	for i, s := range cfg.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		if l.bad[p] {
			continue
		}
		l.validateSource(p, s)
		if !validName(s.Name) {
			continue
		}
		at := l.at[p+".name"]
		if first, dup := names[s.Name]; dup {
			l.report(at, p+".name", "duplicate source name %q (first at line %d)", s.Name, first.line)
			continue
		}
		names[s.Name] = seen{s.Name, at.line}
		env := passwordEnv(s.Name)
		if other, clash := envs[env]; clash {
			l.report(at, p+".name", "%q and %q (line %d) would share the password variable %s; rename one", s.Name, other.name, other.line, env)
			continue
		}
		envs[env] = seen{s.Name, at.line}
		if s.Type == "dbt" {
			// Two sources sharing jobs would merge their lineage.
			ns := cmp.Or(s.JobNamespace, dbt.DefaultJobNamespace(s.Provenance()))
			if other, clash := jobNSs[ns]; clash {
				l.report(cmp.Or(l.at[p+".job_namespace"], at), p+".job_namespace",
					"job namespace %q is the one of source %q (line %d): each dbt source needs its own", ns, other.name, other.line)
				continue
			}
			jobNSs[ns] = seen{s.Name, at.line}
		}
	}
}

// validateNotifications checks each channel: a unique name, a URL that
// is http(s) with a host, the secret or key its kind needs, and at most
// one default.
func (l *loader) validateNotifications(cfg *Config) {
	names := map[string]int{}
	defaultAt := 0
	for i, c := range cfg.Notifications.Channels {
		p := fmt.Sprintf("notifications.channels[%d]", i)
		if l.bad[p] {
			continue
		}
		at := func(key string) origin { return cmp.Or(l.at[p+"."+key], l.at[p]) }
		switch {
		case c.Name == "":
			l.report(l.at[p], p+".name", "is required")
		case !validName(c.Name):
			l.report(at("name"), p+".name", "must be lower case letters, digits, - and _, got %q", c.Name)
		default:
			if first, dup := names[c.Name]; dup {
				l.report(at("name"), p+".name", "duplicate channel name %q (first at line %d)", c.Name, first)
			} else {
				names[c.Name] = at("name").line
			}
		}
		if c.Kind == "" && !l.bad[p+".kind"] {
			l.report(l.at[p], p+".kind", "is required: webhook, slack or opsgenie")
		}
		if c.URL == "" {
			l.report(l.at[p], p+".url", "is required")
		} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil {
			l.report(at("url"), p+".url", "must be an https:// (or http://) URL with a host and no credentials, such as https://hooks.example.com/almanac, got %q", c.URL)
		}
		switch c.Kind {
		case "webhook":
			if len(c.Secret) < 16 {
				l.report(at("secret"), p+".secret", "is required for a webhook channel, at least 16 characters, to sign its payloads (or set ALMANAC_CHANNEL_%s_SECRET)",
					strings.ReplaceAll(strings.ToUpper(c.Name), "-", "_"))
			}
		case "opsgenie":
			if c.APIKey == "" {
				l.report(at("api_key"), p+".api_key", "is required for an opsgenie channel: its integration key (or set ALMANAC_CHANNEL_%s_API_KEY)",
					strings.ReplaceAll(strings.ToUpper(c.Name), "-", "_"))
			}
		}
		if c.Default {
			if defaultAt != 0 {
				l.report(at("default"), p+".default", "only one channel may be the default (another is at line %d)", defaultAt)
			} else {
				defaultAt = at("default").line
			}
		}
	}
}

// validateAuth checks that mode oidc has what it needs, that the
// redirect URL is https (or plain HTTP on loopback, where browsers keep
// cookies that are not Secure), and that each group maps to one role.
func (l *loader) validateAuth(cfg *Config) {
	a := cfg.Auth
	for group, roles := range a.Roles.Groups {
		p := "auth.roles.groups." + group
		if len(roles) != 1 || !slices.Contains([]string{"viewer", "editor", "admin"}, roles[0]) {
			l.report(l.at[p], p, "must be one role, viewer, editor or admin, got %q", strings.Join(roles, ", "))
		}
	}
	if a.Mode != "oidc" {
		return
	}
	if a.OIDC.Issuer == "" {
		l.report(l.at["auth.mode"], "auth.oidc.issuer", "is required with auth mode oidc: the provider's issuer URL")
	} else if u, err := url.Parse(a.OIDC.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.report(l.at["auth.oidc.issuer"], "auth.oidc.issuer", "must be an https:// URL, got %q", a.OIDC.Issuer)
	}
	if a.OIDC.ClientID == "" {
		l.report(l.at["auth.mode"], "auth.oidc.client_id", "is required with auth mode oidc: the client id registered with the provider")
	}
	redirect := a.RedirectURL(cfg.PublicURL)
	at := cmp.Or(l.at["auth.oidc.redirect_url"], l.at["public_url"], l.at["auth.mode"])
	switch u, err := url.Parse(redirect); {
	case redirect == "":
		l.report(at, "auth.oidc.redirect_url", "is required with auth mode oidc (or set public_url): the address of /auth/callback registered with the provider")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		l.report(at, "auth.oidc.redirect_url", "must be an https:// URL, got %q", redirect)
	case u.Scheme == "http" && !auth.Loopback(u.Hostname()):
		l.report(at, "auth.oidc.redirect_url", "must be https:// on a host other than localhost or a loopback IP (browsers keep session cookies over plain HTTP only there), got %q", redirect)
	}
	if a.Session.Absolute < a.Session.Idle {
		l.report(l.at["auth.session.absolute"], "auth.session.absolute", "(%s) is shorter than auth.session.idle (%s)", a.Session.Absolute, a.Session.Idle)
	}
}

// validateAbbreviations checks the abbreviation table at key path p: each
// short form one word of letters and digits, each long form words of
// them. The search index refuses others, without saying where they came
// from.
func (l *loader) validateAbbreviations(p string, table map[string][]string) {
	word := func(s string) bool {
		return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) < 0
	}
	// In order, so that problems on one line are listed alike every time.
	for _, short := range slices.Sorted(maps.Keys(table)) {
		longs := table[short]
		kp := join(p, short)
		if !word(short) {
			l.report(l.at[kp], p, "abbreviation %q must be one word of letters and digits", short)
			continue
		}
		for i, long := range longs {
			if ws := strings.Fields(long); len(ws) == 0 || slices.ContainsFunc(ws, func(w string) bool { return !word(w) }) {
				at, ok := l.at[fmt.Sprintf("%s[%d]", kp, i)]
				if !ok {
					at = l.at[kp]
				}
				l.report(at, kp, "%q must be words of letters and digits", long)
			}
		}
	}
}

// validateSource checks the source s, whose key path is p.
func (l *loader) validateSource(p string, s SourceConfig) {
	// required reports whether the key is set, reporting it otherwise: a
	// missing key at the line of the source, an empty one at its own line.
	required := func(key, v string) bool {
		if v != "" {
			return true
		}
		if l.bad[p+"."+key] {
			return false
		}
		if at, ok := l.at[p+"."+key]; ok {
			l.report(at, p+"."+key, "must not be empty")
		} else {
			l.report(l.at[p], p, "missing required key %q", key)
		}
		return false
	}
	if required("name", s.Name) && !validName(s.Name) {
		l.report(l.at[p+".name"], p+".name", "invalid name %q: use only a-z, 0-9, '_' and '-'", s.Name)
	}
	if required("type", s.Type) && !slices.Contains(supportedSourceTypes, s.Type) {
		l.report(l.at[p+".type"], p+".type", "unknown source type %q (supported: %s)", s.Type, strings.Join(supportedSourceTypes, ", "))
	}
	if (s.Type == "postgres" || s.Type == "redshift") && required("url", s.URL) {
		l.validatePostgresURL(p, s)
	}
	if s.Type == "unitycatalog" && required("url", s.URL) {
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.report(l.at[p+".url"], p+".url", "must be the server's http:// or https:// URL, such as https://dbc-1234.cloud.databricks.com")
		} else if u.User != nil {
			l.report(l.at[p+".url"], p+".url", "must not hold a user or token: set token")
		}
	}
	if s.Type == "dbt" || s.Type == "delta" || s.Type == "great_expectations" {
		if len(s.Paths) == 0 && !l.bad[p+".paths"] {
			l.report(l.at[p], p, "missing required key %q", "paths")
		}
		for i, v := range s.Paths {
			ip := fmt.Sprintf("%s.paths[%d]", p, i)
			scheme, _, isURI := strings.Cut(v, "://")
			switch {
			case v == "":
				l.report(l.at[ip], ip, "must not be empty")
			case isURI && s.Type != "delta":
				l.report(l.at[ip], ip, "must be a local path: %s reads local files only", s.Type)
			case isURI && !slices.Contains([]string{"s3", "s3a", "s3n"}, strings.ToLower(scheme)):
				l.report(l.at[ip], ip, "must be a local path or an s3://bucket/prefix URI, got a %s:// URI", scheme)
			case isURI && strings.HasPrefix(v[len(scheme)+3:], "/"), isURI && v[len(scheme)+3:] == "":
				l.report(l.at[ip], ip, "%q names no bucket: want s3://bucket/prefix", v)
			}
		}
	}
	if s.S3.isSet() && s.Type != "delta" {
		l.report(l.at[p+".s3"], p+".s3", "only a delta source reads object storage")
	}
	if e := s.S3.Endpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.report(l.at[p+".s3.endpoint"], p+".s3.endpoint", "must be an http:// or https:// URL, such as http://minio.internal:9000")
		} else if u.User != nil {
			l.report(l.at[p+".s3.endpoint"], p+".s3.endpoint", "must not hold credentials: they come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the AWS chain")
		}
	}
	if s.Type == "dbt" || s.Type == "great_expectations" {
		// dbt and Great Expectations name relations, not servers: the
		// namespace says which warehouse they live in, so that they merge
		// with its crawl.
		required("namespace", s.Namespace)
	}
	for i, db := range s.Databases {
		if ip := fmt.Sprintf("%s.databases[%d]", p, i); db == "" {
			l.report(l.at[ip], ip, "must not be empty")
		}
	}
	// Unity Catalog names have three parts, a database two.
	parts, shape := 2, "schema or schema.table"
	if s.Type == "unitycatalog" {
		parts, shape = 3, "catalog, catalog.schema or catalog.schema.table"
	}
	for key, patterns := range map[string][]string{"include": s.Include, "exclude": s.Exclude} {
		for i, v := range patterns {
			ip := fmt.Sprintf("%s.%s[%d]", p, key, i)
			switch {
			case v == "":
				l.report(l.at[ip], ip, "must not be empty")
			case strings.Count(v, ".") >= parts:
				l.report(l.at[ip], ip, "pattern %q must match %s", v, shape)
			default:
				if _, err := path.Match(v, ""); err != nil {
					l.report(l.at[ip], ip, "invalid glob pattern %q", v)
				}
			}
		}
	}
}

func (l *loader) validatePostgresURL(p string, s SourceConfig) {
	at := l.at[p+".url"]
	u, err := url.Parse(s.URL)
	if err != nil {
		l.report(at, p+".url", "invalid URL: %v", urlProblem(err))
		return
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		l.report(at, p+".url", "must be a postgres:// URL")
		return
	}
	if s.Password != "" && (u.User == nil || u.User.Username() == "") {
		l.report(l.at[p+".password"], p+".password", "the url has no user name to go with the password")
	}
}

// urlProblem returns what is wrong with a URL without repeating the URL,
// which may hold a password.
func urlProblem(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// validName reports whether name is a valid source name: [a-z0-9_-]+.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// suggest returns ` (did you mean "k"?)` for the known key k closest to key,
// if it is close enough to be a likely typo, and "" otherwise.
func suggest(key string, known []string) string {
	best, bestDist := "", -1
	lower := strings.ToLower(key)
	for _, k := range known {
		if d := editDistance(lower, k); bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > max(1, min(2, len(best)/3)) {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

// editDistance returns the optimal string alignment distance between a and
// b: insertions, deletions, substitutions and transpositions of adjacent
// bytes, each costing 1.
func editDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// splitCheckProblems takes the problems of the keys checks and slos out
// of ps, returning the others, theirs as errors in line order, and the
// items they concern ("checks[2]"; "checks" for the list itself).
func splitCheckProblems(ps []problem) (rest []problem, mine []error, bad map[string]bool) {
	bad = map[string]bool{}
	var own []problem
	for _, p := range ps {
		list, _, _ := strings.Cut(p.key, ".")
		name, _, _ := strings.Cut(list, "[")
		if p.env != "" || (name != "checks" && name != "slos") {
			rest = append(rest, p)
			continue
		}
		own = append(own, p)
		bad[list] = true
	}
	slices.SortStableFunc(own, func(a, b problem) int { return cmp.Compare(a.line, b.line) })
	for _, p := range own {
		mine = append(mine, errors.New(p.msg))
	}
	return rest, mine, bad
}

// listEntry is one entry of a list key, such as checks[3]: where its keys
// were written, and the problems of its required keys.
type listEntry struct {
	l *loader
	p string // "checks[3]"
}

func entryOf(l *loader, p string) listEntry { return listEntry{l, p} }

// key is the path of the entry's key k.
func (e listEntry) key(k string) string { return e.p + "." + k }

// at is where key k was written, or the entry's line without it.
func (e listEntry) at(k string) origin {
	if o, ok := e.l.at[e.key(k)]; ok {
		return o
	}
	return e.l.at[e.p]
}

// required reports key k missing or empty, unless it already has a
// problem, and says whether its value v is there.
func (e listEntry) required(k, v string) bool {
	if v != "" || e.l.bad[e.key(k)] {
		return v != ""
	}
	if o, ok := e.l.at[e.key(k)]; ok {
		e.l.report(o, e.key(k), "must not be empty")
	} else {
		e.l.report(e.l.at[e.p], e.p, "missing required key %q", k)
	}
	return false
}

// validateChecks checks each SQL check and builds it as it runs.
func (l *loader) validateChecks(cfg *Config) {
	l.checks = make([]*crawl.Check, len(cfg.Checks))
	sources := map[string]SourceConfig{}
	for _, s := range cfg.Sources {
		sources[s.Name] = s
	}
	first := map[string]int{} // line of each name
	for i, c := range cfg.Checks {
		p := fmt.Sprintf("checks[%d]", i)
		if l.bad[p] {
			continue
		}
		before := len(l.problems)
		it := entryOf(l, p)
		if it.required("name", c.Name) {
			if !validName(c.Name) {
				l.report(it.at("name"), it.key("name"), "invalid name %q: use only a-z, 0-9, '_' and '-'", c.Name)
			} else if line, dup := first[c.Name]; dup {
				l.report(it.at("name"), it.key("name"), "duplicate check name %q (first at line %d)", c.Name, line)
			} else {
				first[c.Name] = it.at("name").line
			}
		}
		var src SourceConfig
		if it.required("source", c.Source) {
			var ok bool
			if src, ok = sources[c.Source]; !ok {
				l.report(it.at("source"), it.key("source"), "no source named %q%s", c.Source, suggest(c.Source, slices.Sorted(maps.Keys(sources))))
			} else if src.Type != "postgres" && src.Type != "redshift" {
				l.report(it.at("source"), it.key("source"), "source %q is a %s source: checks run on postgres and redshift sources", c.Source, src.Type)
			}
		}
		var sql string
		var args []any
		switch {
		case c.SQL != "" && c.Template != "":
			l.report(it.at("template"), p, "set sql or template, not both")
		case c.SQL == "" && c.Template == "":
			if !l.bad[it.key("template")] {
				l.report(l.at[p], p, "missing required key %q or %q", "sql", "template")
			}
		case c.SQL != "":
			sql = c.SQL
		default:
			var err error
			sql, args, err = sqlcheck.Expand(sqlcheck.Template{Kind: c.Template, Table: c.Table, Column: c.Column,
				Values: c.Values, ToTable: c.ToTable, ToColumn: c.ToColumn})
			if err != nil {
				l.report(it.at("template"), it.key("template"), "%v", err)
			}
		}
		if c.Table == "" && c.Dataset == "" && !l.bad[it.key("table")] {
			l.report(l.at[p], p, "missing required key %q or %q: the dataset checked", "table", "dataset")
		}
		expect := c.Expect
		if expect == "" && c.Template != "" && c.Template != "row_count" && c.Template != "freshness" {
			expect = "= 0"
		}
		var exp sqlcheck.Expectation
		if l.bad[it.key("template")] {
			// The template's default is unknown.
		} else if it.required("expect", expect) {
			var err error
			if exp, err = sqlcheck.ParseExpectation(expect); err != nil {
				l.report(it.at("expect"), it.key("expect"), "%v", err)
			}
		}
		if len(l.problems) > before || l.bad[p] || (src.Type != "postgres" && src.Type != "redshift") {
			continue
		}
		url, err := src.ConnURL()
		if err != nil {
			continue // reported with the source
		}
		dataset, err := checkedDataset(src, url, c.Table, c.Dataset)
		if err != nil {
			l.report(it.at("table"), it.key("table"), "%v", err)
			continue
		}
		typ := cmp.Or(c.Template, "sql")
		l.checks[i] = &crawl.Check{
			Check: sqlcheck.Check{Name: c.Name, Dataset: dataset, Column: c.Column, Type: typ, SQL: sql, Args: args,
				Expect: exp, Severity: c.Severity, Timeout: c.Timeout},
			URL: url, Every: c.Schedule.Every, Origin: fmt.Sprintf("%s:%d", l.file, l.at[p].line),
		}
	}
}

// checkedDataset is the key of the dataset a check on source src names
// by table (schema.table in the URL's database) or dataset (a name).
func checkedDataset(src SourceConfig, connURL, table, dataset string) (catalog.Key, error) {
	u, err := url.Parse(connURL)
	if err != nil {
		return catalog.Key{}, fmt.Errorf("source %s: invalid url", src.Name)
	}
	ns := src.Namespace
	if ns == "" {
		port, _ := strconv.ParseUint(u.Port(), 10, 16)
		if src.Type == "redshift" {
			ns = postgres.RedshiftNamespace(u.Hostname(), uint16(port))
		} else {
			ns = postgres.Namespace(u.Hostname(), uint16(port))
		}
	}
	name := dataset
	if name == "" {
		if strings.Count(table, ".") != 1 {
			return catalog.Key{}, fmt.Errorf("must be schema.table, got %q", table)
		}
		db := strings.TrimPrefix(u.Path, "/")
		if db == "" {
			db = u.User.Username() // PostgreSQL's default database
		}
		name = db + "." + table
	}
	return catalog.Key{Namespace: ns, Name: name}, nil
}

// validateSLOs checks each SLO and builds it as it is evaluated.
func (l *loader) validateSLOs(cfg *Config) {
	l.slos = make([]*slo.SLO, len(cfg.SLOs))
	sources := map[string]SourceConfig{}
	for _, s := range cfg.Sources {
		sources[s.Name] = s
	}
	first := map[string]int{}
	for i, c := range cfg.SLOs {
		p := fmt.Sprintf("slos[%d]", i)
		if l.bad[p] {
			continue
		}
		before := len(l.problems)
		it := entryOf(l, p)
		if it.required("name", c.Name) {
			if line, dup := first[c.Name]; dup {
				l.report(it.at("name"), it.key("name"), "duplicate SLO name %q (first at line %d)", c.Name, line)
			} else {
				first[c.Name] = it.at("name").line
			}
		}
		it.required("dataset", c.Dataset)
		it.required("kind", c.Kind)
		ns := c.Namespace
		switch {
		case c.Source != "" && c.Namespace != "":
			l.report(it.at("namespace"), p, "set source or namespace, not both")
		case c.Source != "":
			src, ok := sources[c.Source]
			if !ok {
				l.report(it.at("source"), it.key("source"), "no source named %q%s", c.Source, suggest(c.Source, slices.Sorted(maps.Keys(sources))))
				break
			}
			ns = src.Namespace
			if ns == "" && (src.Type == "postgres" || src.Type == "redshift") {
				if url, err := src.ConnURL(); err == nil {
					k, err := checkedDataset(src, url, "", "x")
					if err == nil {
						ns = k.Namespace
					}
				}
			}
			if ns == "" {
				l.report(it.at("source"), it.key("source"), "source %q has no namespace to key the dataset by: set namespace", c.Source)
			}
		case c.Namespace == "":
			l.report(l.at[p], p, "missing required key %q or %q: the dataset's namespace", "source", "namespace")
		}
		spec := slo.Spec{Kind: slo.Kind(c.Kind), TimeZone: c.TimeZone, Deadline: c.Deadline, Updates: slo.UpdateSource(c.Updates)}
		var err error
		if spec.Objective, err = slo.ParseObjective(c.Objective); err != nil {
			l.report(it.at("objective"), it.key("objective"), "%v", trimInvalid(err))
		}
		durations := []struct {
			key string
			v   string
			to  *time.Duration
		}{{"window", c.Window, &spec.Window}, {"max_age", c.MaxAge, &spec.MaxAge}, {"lookback", c.Lookback, &spec.Lookback},
			{"after_nominal", c.AfterNominal, &spec.AfterNominal}, {"max_duration", c.MaxDuration, &spec.MaxDuration}}
		for _, d := range durations {
			if d.v == "" {
				continue
			}
			if *d.to, err = slo.ParseDuration(d.v); err != nil {
				l.report(it.at(d.key), it.key(d.key), "%v", trimInvalid(err))
			} else if d.key == "after_nominal" && *d.to <= 0 {
				l.report(it.at(d.key), it.key(d.key), "%q: want a positive duration, such as 2h", d.v)
			}
		}
		for _, b := range []struct {
			key string
			v   string
			to  **float64
		}{{"min", c.Min, &spec.Min}, {"max", c.Max, &spec.Max}} {
			if b.v == "" {
				continue
			}
			f, err := strconv.ParseFloat(b.v, 64)
			if err != nil {
				l.report(it.at(b.key), it.key(b.key), "want a number, got %q", b.v)
				continue
			}
			*b.to = &f
		}
		if len(l.problems) > before || l.bad[it.key("kind")] {
			continue
		}
		if err := spec.Validate(); err != nil {
			l.report(l.at[p], p, "%v", trimInvalid(err))
			continue
		}
		l.slos[i] = &slo.SLO{Name: c.Name, Dataset: catalog.Key{Namespace: ns, Name: c.Dataset}, Spec: spec, Checks: c.Checks,
			Source: "config", Origin: fmt.Sprintf("%s:%d", l.file, l.at[p].line)}
	}
}

// trimInvalid drops the kind of err from its message: a configuration
// error is invalid by nature.
func trimInvalid(err error) string {
	return strings.TrimSuffix(strings.TrimPrefix(err.Error(), "slo: "), ": "+catalog.ErrInvalid.Error())
}
