package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"almanac/catalog/crawl/dbt"
)

// Config is the configuration of the almanac binary: one YAML file, with
// environment variables overriding a few keys so that a container can be
// configured without editing the file. LoadConfig builds and validates it.
type Config struct {
	// DatabaseURL is the PostgreSQL URL of the catalog (key database_url).
	// ALMANAC_DATABASE_URL, or else DATABASE_URL, overrides it.
	DatabaseURL string
	// Listen is the host:port the portal and API listen on (key listen,
	// default 127.0.0.1:8080, env ALMANAC_LISTEN).
	Listen string
	// PublicURL is the address people and producers reach the server by,
	// such as https://almanac.example.com behind a proxy (key public_url,
	// env ALMANAC_PUBLIC_URL). A server that takes writes without a login
	// (almanac demo, openlineage.anonymous) answers only requests for
	// localhost, an IP address or this URL's host.
	PublicURL string
	// Log configures the process log (key log).
	Log LogConfig
	// Search configures the full-text search index (key search).
	Search SearchConfig
	// OpenLineage configures the OpenLineage endpoint (key openlineage).
	OpenLineage OpenLineageConfig
	// Sources are the sources to crawl (key sources), in file order.
	Sources []SourceConfig
}

// LogConfig configures the process log.
type LogConfig struct {
	// Format is text or json (key log.format, default text,
	// env ALMANAC_LOG_FORMAT).
	Format string
	// Level is debug, info, warn or error (key log.level, default info,
	// env ALMANAC_LOG_LEVEL).
	Level string
}

// OpenLineageConfig configures the OpenLineage endpoint that Airflow, Spark
// and dbt post events to. It is off until a token is set or anonymous
// posting is allowed explicitly.
type OpenLineageConfig struct {
	// Token is the Bearer token producers must send (key
	// openlineage.token, env ALMANAC_OPENLINEAGE_TOKEN).
	Token string
	// Anonymous allows posting without a token (key openlineage.anonymous:
	// "true"); for a private network only.
	Anonymous string
	// Retention is how long raw events are kept, a Go duration (key
	// openlineage.retention, default 720h).
	Retention string
}

// Enabled reports whether the endpoint accepts events.
func (o OpenLineageConfig) Enabled() bool { return o.Token != "" || o.Anonymous == "true" }

// AnonymousPosting reports whether the endpoint accepts events without a
// token: anonymous posting allowed and no token set.
func (o OpenLineageConfig) AnonymousPosting() bool { return o.Token == "" && o.Anonymous == "true" }

// RetentionDuration parses Retention; 0 when empty.
func (o OpenLineageConfig) RetentionDuration() (time.Duration, error) {
	if o.Retention == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(o.Retention)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a positive Go duration such as 720h, got %q", o.Retention)
	}
	return d, nil
}

// SearchConfig configures the full-text search index.
type SearchConfig struct {
	// IndexDir is the directory of the local search index (key
	// search.index_dir, default .almanac/index). The index is rebuilt from
	// the catalog when lost, so it need not be backed up.
	IndexDir string
	// Abbreviations add to or replace search's default abbreviation table
	// (key search.abbreviations): a short form and the word, words or list
	// of words it stands for ("cust: customer", "inv: [inventory,
	// invoice]", "gl: general ledger"); an empty value removes a default.
	// Searches apply them both ways. A change takes effect at once, and
	// for splitting names written without separators at the next reindex.
	Abbreviations map[string][]string
}

// SourceConfig is one source to crawl (an item of the key sources).
type SourceConfig struct {
	// Name identifies the source among those of its type (key name, required,
	// unique, [a-z0-9_-]+). It is part of the provenance of every fact the
	// source asserts, so renaming a source orphans its facts.
	Name string
	// Type is the kind of source (key type, required): postgres, dbt,
	// delta, unitycatalog or great_expectations.
	Type string
	// URL is where the source lives (key url, required for postgres and
	// unitycatalog), e.g. postgres://crawler@db.internal:5432/analytics or
	// https://dbc-1234.cloud.databricks.com.
	URL string
	// Password is the password used to connect (key password). It is kept
	// apart from URL so that it can come from the environment:
	// ALMANAC_SOURCE_<NAME>_PASSWORD (name upper-cased, '-' turned to '_')
	// overrides it. ConnURL injects it into URL.
	Password string
	// Token is the Bearer token of a unitycatalog source (key token).
	// ALMANAC_SOURCE_<NAME>_TOKEN overrides it, like the password.
	Token string
	// Lineage is "true" for a unitycatalog source on Databricks to read
	// its table lineage (key lineage).
	Lineage string
	// Databases lists the databases to crawl (key databases); empty means
	// the database of URL.
	Databases []string
	// Namespace is the OpenLineage namespace the source's datasets are
	// keyed under (key namespace), for when the URL's host is not the name
	// other tools use for the same server.
	Namespace string
	// Include lists glob patterns, "schema" or "schema.table", of what to
	// crawl (key include); empty means everything.
	Include []string
	// Exclude lists glob patterns, like Include, of what to skip (key
	// exclude); it wins over Include.
	Exclude []string
	// Paths lists local directories (key paths, required for dbt, delta
	// and great_expectations): dbt target directories holding
	// manifest.json and its sibling artifacts, roots under which every
	// Delta table is discovered, or folders of Great Expectations
	// validation results (read recursively) and single result files.
	Paths []string
	// Database replaces the database of every dbt node (key database), for
	// a dbt target whose database name differs from the warehouse's; for
	// great_expectations it is put before the schema and table names,
	// which Great Expectations reports without it.
	Database string
	// Teams lists owner names that are teams rather than people (key
	// teams, dbt).
	Teams []string
	// JobNamespace is the namespace of a dbt source's jobs (key
	// job_namespace); empty means dbt://<name>. See dbt.Config.
	JobNamespace string
	// Schedule says how often to crawl the source (key schedule):
	// "@every <duration>" (a Go duration such as 90m), "@hourly" or
	// "@daily". Empty means only on demand. See Interval.
	Schedule string
	// Line is the line of the source in the configuration file, so that
	// later messages about the source can point at it; 0 when unknown.
	Line int
}

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

// Interval returns the time between two crawls of the source: 0 when
// Schedule is empty (crawl on demand only). "@hourly" and "@daily" are
// intervals of 1h and 24h from the previous crawl, not wall-clock times.
func (s SourceConfig) Interval() (time.Duration, error) {
	d, err := parseSchedule(s.Schedule)
	if err != nil {
		return 0, fmt.Errorf("source %s: schedule: %w", s.Provenance(), err)
	}
	return d, nil
}

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

// Defaults of the keys that have one.
const (
	defaultListen    = "127.0.0.1:8080"
	defaultLogFormat = "text"
	defaultLogLevel  = "info"
	defaultIndexDir  = ".almanac/index"
)

// supportedSourceTypes are the values accepted for sources[].type; dbt,
// delta and openlineage join when their crawlers exist.
var supportedSourceTypes = []string{"postgres", "dbt", "delta", "unitycatalog", "great_expectations"}

// Keys accepted in each mapping, also the candidates for "did you mean".
var (
	topKeys    = []string{"database_url", "listen", "public_url", "log", "search", "openlineage", "sources"}
	olKeys     = []string{"token", "anonymous", "retention"}
	logKeys    = []string{"format", "level"}
	searchKeys = []string{"index_dir", "abbreviations"}
	sourceKeys = []string{"name", "type", "url", "password", "databases", "namespace", "include", "exclude", "paths", "database", "teams", "job_namespace", "schedule", "token", "lineage"}
)

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
	cfg := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		root, err := l.parse(data)
		if err != nil {
			return nil, err
		}
		l.config(root, cfg)
	}
	l.applyEnv(cfg)
	l.validate(cfg)
	if err := l.err(); err != nil {
		return nil, err
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
}

// origin is where a value came from: a line of the file or an
// environment variable.
type origin struct {
	line int
	env  string
}

type problem struct {
	env  bool
	line int
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
		l.problems = append(l.problems, problem{env: true, msg: "env " + o.env + ": " + msg})
		return
	}
	if path != "" {
		msg = path + ": " + msg
	}
	l.problems = append(l.problems, problem{line: o.line, msg: fmt.Sprintf("%s:%d: %s", l.file, o.line, msg)})
}

// err returns the problems found, those of the file in line order first.
func (l *loader) err() error {
	if len(l.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(l.problems, func(a, b problem) int {
		if a.env != b.env {
			if a.env {
				return 1
			}
			return -1
		}
		return a.line - b.line
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

// config walks the root mapping of the file into cfg.
func (l *loader) config(root *yaml.Node, cfg *Config) {
	m, _ := l.mapping(root, "", topKeys)
	l.str(m, "", "database_url", &cfg.DatabaseURL)
	l.str(m, "", "listen", &cfg.Listen)
	l.str(m, "", "public_url", &cfg.PublicURL)
	if e, ok := m["log"]; ok {
		lm, _ := l.mapping(e.value, "log", logKeys)
		l.str(lm, "log", "format", &cfg.Log.Format)
		l.str(lm, "log", "level", &cfg.Log.Level)
	}
	if e, ok := m["search"]; ok {
		sm, _ := l.mapping(e.value, "search", searchKeys)
		l.str(sm, "search", "index_dir", &cfg.Search.IndexDir)
		l.abbreviations(sm, "search", "abbreviations", &cfg.Search.Abbreviations)
	}
	if e, ok := m["openlineage"]; ok {
		om, _ := l.mapping(e.value, "openlineage", olKeys)
		l.str(om, "openlineage", "token", &cfg.OpenLineage.Token)
		l.str(om, "openlineage", "anonymous", &cfg.OpenLineage.Anonymous)
		l.str(om, "openlineage", "retention", &cfg.OpenLineage.Retention)
	}
	if e, ok := m["sources"]; ok {
		cfg.Sources = l.sources(e)
	}
}

func (l *loader) sources(e entry) []SourceConfig {
	seq := resolve(e.value)
	if isNull(seq) {
		return nil
	}
	if seq.Kind != yaml.SequenceNode {
		l.errorf(e.key.Line, "sources", "must be a list")
		return nil
	}
	var sources []SourceConfig
	for i, item := range seq.Content {
		p := fmt.Sprintf("sources[%d]", i)
		n := resolve(item)
		if n.Kind != yaml.MappingNode {
			l.errorf(n.Line, p, "must be a mapping")
			// Keep the place, so that sources[i] still names item i.
			l.bad[p] = true
			sources = append(sources, SourceConfig{Line: n.Line})
			continue
		}
		l.at[p] = origin{line: n.Line}
		m, _ := l.mapping(n, p, sourceKeys)
		s := SourceConfig{Line: n.Line}
		l.str(m, p, "name", &s.Name)
		l.str(m, p, "type", &s.Type)
		l.str(m, p, "url", &s.URL)
		l.str(m, p, "password", &s.Password)
		l.str(m, p, "token", &s.Token)
		l.str(m, p, "lineage", &s.Lineage)
		l.list(m, p, "databases", &s.Databases)
		l.str(m, p, "namespace", &s.Namespace)
		l.list(m, p, "include", &s.Include)
		l.list(m, p, "exclude", &s.Exclude)
		l.list(m, p, "paths", &s.Paths)
		l.str(m, p, "database", &s.Database)
		l.list(m, p, "teams", &s.Teams)
		l.str(m, p, "job_namespace", &s.JobNamespace)
		l.str(m, p, "schedule", &s.Schedule)
		sources = append(sources, s)
	}
	return sources
}

// entry is one key and its value in a mapping.
type entry struct{ key, value *yaml.Node }

// mapping returns the entries of the mapping n, whose key path is path, by
// key. It reports keys that are not in known (suggesting the closest known
// key), duplicated or not strings. A null n is an empty mapping; it returns
// false if n is not a mapping.
func (l *loader) mapping(n *yaml.Node, path string, known []string) (map[string]entry, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		if path == "" {
			l.errorf(n.Line, "", "the file must be a mapping of keys to values")
		} else {
			l.errorf(n.Line, path, "must be a mapping")
		}
		return nil, false
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
	return m, true
}

// str sets *dst to the string value of key in m, if present, with ${NAME}
// references expanded, and records where it came from.
func (l *loader) str(m map[string]entry, parent, key string, dst *string) {
	e, ok := m[key]
	if !ok {
		return
	}
	p := join(parent, key)
	l.at[p] = origin{line: e.key.Line}
	*dst, _ = l.scalar(e.value, e.key.Line, p)
}

// list sets *dst to the list of strings of key in m, if present.
func (l *loader) list(m map[string]entry, parent, key string, dst *[]string) {
	e, ok := m[key]
	if !ok {
		return
	}
	p := join(parent, key)
	l.at[p] = origin{line: e.key.Line}
	seq := resolve(e.value)
	if isNull(seq) {
		return
	}
	if seq.Kind != yaml.SequenceNode {
		l.errorf(e.key.Line, p, "must be a list of strings")
		return
	}
	for i, item := range seq.Content {
		ip := fmt.Sprintf("%s[%d]", p, i)
		l.at[ip] = origin{line: item.Line}
		if s, ok := l.scalar(item, item.Line, ip); ok {
			*dst = append(*dst, s)
		}
	}
}

// abbreviations sets *dst to the abbreviation table of key in m, if
// present: a mapping of short forms to a string or a list of strings, each
// one word or several of letters and digits.
func (l *loader) abbreviations(m map[string]entry, parent, key string, dst *map[string][]string) {
	e, ok := m[key]
	if !ok {
		return
	}
	p := join(parent, key)
	l.at[p] = origin{line: e.key.Line}
	n := resolve(e.value)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(e.key.Line, p, "must be a mapping of abbreviations to the words they stand for")
		return
	}
	*dst = map[string][]string{}
	word := func(s string) bool {
		return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) < 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		kp := join(p, k.Value)
		if k.Kind != yaml.ScalarNode || !word(k.Value) {
			l.errorf(k.Line, p, "abbreviation %q must be one word of letters and digits", k.Value)
			continue
		}
		if _, dup := (*dst)[k.Value]; dup {
			l.errorf(k.Line, p, "duplicate abbreviation %q", k.Value)
			continue
		}
		var longs []string
		switch {
		case isNull(v):
		case v.Kind == yaml.ScalarNode:
			if v.Value != "" {
				longs = append(longs, v.Value)
			}
		case v.Kind == yaml.SequenceNode:
			for _, item := range v.Content {
				if item = resolve(item); item.Kind != yaml.ScalarNode {
					l.errorf(item.Line, kp, "must be a string or a list of strings")
					continue
				}
				longs = append(longs, item.Value)
			}
		default:
			l.errorf(v.Line, kp, "must be a string or a list of strings")
			continue
		}
		for _, long := range longs {
			ws := strings.Fields(long)
			if len(ws) == 0 || slices.ContainsFunc(ws, func(w string) bool { return !word(w) }) {
				l.errorf(v.Line, kp, "%q must be words of letters and digits", long)
			}
		}
		(*dst)[k.Value] = longs
	}
}

// scalar returns the string value of n, found at line, with ${NAME}
// references expanded; null is "". It reports other kinds of values.
func (l *loader) scalar(n *yaml.Node, line int, path string) (string, bool) {
	n = resolve(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		l.errorf(line, path, "must be a string")
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

// applyEnv applies the environment overrides to cfg, then the defaults to
// what is still empty.
func (l *loader) applyEnv(cfg *Config) {
	override := func(dst *string, path string, names ...string) {
		for _, name := range names {
			if v := l.getenv(name); v != "" {
				*dst = v
				l.at[path] = origin{env: name}
				return
			}
		}
	}
	override(&cfg.DatabaseURL, "database_url", "ALMANAC_DATABASE_URL", "DATABASE_URL")
	override(&cfg.Listen, "listen", "ALMANAC_LISTEN")
	override(&cfg.PublicURL, "public_url", "ALMANAC_PUBLIC_URL")
	override(&cfg.Log.Format, "log.format", "ALMANAC_LOG_FORMAT")
	override(&cfg.Log.Level, "log.level", "ALMANAC_LOG_LEVEL")
	override(&cfg.OpenLineage.Token, "openlineage.token", "ALMANAC_OPENLINEAGE_TOKEN")
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		if validName(s.Name) {
			override(&s.Password, fmt.Sprintf("sources[%d].password", i), passwordEnv(s.Name))
			override(&s.Token, fmt.Sprintf("sources[%d].token", i), tokenEnv(s.Name))
		}
	}

	setDefault := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	setDefault(&cfg.Listen, defaultListen)
	setDefault(&cfg.Log.Format, defaultLogFormat)
	setDefault(&cfg.Log.Level, defaultLogLevel)
	setDefault(&cfg.Search.IndexDir, defaultIndexDir)
}

// passwordEnv returns the environment variable overriding the password of
// the source named name.
func passwordEnv(name string) string {
	return "ALMANAC_SOURCE_" + strings.ReplaceAll(strings.ToUpper(name), "-", "_") + "_PASSWORD"
}

// tokenEnv returns the environment variable overriding the token of the
// source named name.
func tokenEnv(name string) string {
	return strings.TrimSuffix(passwordEnv(name), "_PASSWORD") + "_TOKEN"
}

// validate checks the values of cfg that have constraints, once the
// environment has been applied, reporting each where it came from.
func (l *loader) validate(cfg *Config) {
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		l.report(l.at["listen"], "listen", "must be host:port (such as 127.0.0.1:8080 or :8080), got %q", cfg.Listen)
	}
	if u := cfg.PublicURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Hostname() == "" {
			l.report(l.at["public_url"], "public_url", "must be an http:// or https:// URL with a host, such as https://almanac.example.com, got %q", u)
		}
	}
	if f := cfg.Log.Format; f != "text" && f != "json" {
		l.report(l.at["log.format"], "log.format", "must be text or json, got %q", f)
	}
	switch lv := cfg.Log.Level; lv {
	case "debug", "info", "warn", "error":
	default:
		l.report(l.at["log.level"], "log.level", "must be debug, info, warn or error, got %q", lv)
	}
	if a := cfg.OpenLineage.Anonymous; a != "" && a != "true" && a != "false" {
		l.report(l.at["openlineage.anonymous"], "openlineage.anonymous", "must be true or false, got %q", a)
	}
	if _, err := cfg.OpenLineage.RetentionDuration(); err != nil {
		l.report(l.at["openlineage.retention"], "openlineage.retention", "%v", err)
	}

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
	if s.Type == "postgres" && required("url", s.URL) {
		l.validatePostgresURL(p, s)
	}
	if s.Type == "unitycatalog" && required("url", s.URL) {
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.report(l.at[p+".url"], p+".url", "must be the server's http:// or https:// URL, such as https://dbc-1234.cloud.databricks.com")
		} else if u.User != nil {
			l.report(l.at[p+".url"], p+".url", "must not hold a user or token: set token")
		}
	}
	if lv := s.Lineage; lv != "" && lv != "true" && lv != "false" {
		l.report(l.at[p+".lineage"], p+".lineage", "must be true or false, got %q", lv)
	}
	if s.Type == "dbt" || s.Type == "delta" || s.Type == "great_expectations" {
		if len(s.Paths) == 0 && !l.bad[p+".paths"] {
			l.report(l.at[p], p, "missing required key %q", "paths")
		}
		for i, v := range s.Paths {
			if ip := fmt.Sprintf("%s.paths[%d]", p, i); v == "" {
				l.report(l.at[ip], ip, "must not be empty")
			}
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
	if _, err := parseSchedule(s.Schedule); err != nil {
		l.report(l.at[p+".schedule"], p+".schedule", "%v", err)
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
