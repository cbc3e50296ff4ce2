// Package catalog owns Almanac's domain: datasets, columns, keys, owners,
// tags, jobs, runs, lineage, quality, crawl runs, schema history and the
// change log, and the rules over them (source precedence in Merge, who may
// edit what). It imports no database or HTTP code: the PostgreSQL store
// that keeps these values and ingests what crawlers harvest is
// catalog/store, the crawlers are under catalog/crawl.
//
// Every fact carries its provenance: the source that asserted it
// ("postgres:warehouse", "dbt:analytics", "user:alice@corp") and when. A
// crawl replaces only the facts of its own source, so edits made by people,
// which are a source of their own, survive every crawl.
package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Error kinds. Store and ingest errors wrap one of these so that the portal
// and the API can map them to the same status codes (package
// catalog/errkind holds that one table).
var (
	ErrNotFound  = errors.New("not found")
	ErrInvalid   = errors.New("invalid")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	// ErrNotEnabled is asking for something this server was not set up
	// to do, such as search on a server without a search index: nothing
	// the request could change.
	ErrNotEnabled = errors.New("not enabled")
	// ErrUnavailable is a part the request needs being down for a while:
	// the catalog database not answering (it cannot be reached, refuses
	// connections or is shutting down; the store derives it from the
	// driver's errors), or the search index being rebuilt
	// (ErrIndexRebuilding). Trying again later may succeed.
	ErrUnavailable = errors.New("unavailable")
	// ErrIndexRebuilding is the search index being rebuilt from the
	// catalog after it was found damaged: searches succeed again once the
	// rebuild is done, while every other part keeps answering. It wraps
	// ErrUnavailable, and has a kind of its own so that clients are told
	// what is down.
	ErrIndexRebuilding = fmt.Errorf("the search index is being rebuilt from the catalog; try again shortly: %w", ErrUnavailable)
)

// Kind is what sort of relation a dataset is.
type Kind string

// Dataset kinds.
const (
	KindTable            Kind = "table"
	KindView             Kind = "view"
	KindMaterializedView Kind = "materialized_view"
	KindPartitioned      Kind = "partitioned"
	KindForeign          Kind = "foreign"
	KindModel            Kind = "model"
	KindFile             Kind = "file"
	// A semantic model (dbt's semantic layer): entities, dimensions and
	// measures defined over a model.
	KindSemanticModel Kind = "semantic_model"
	// A metric (dbt's semantic layer) computed from measures or metrics.
	KindMetric Kind = "metric"
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindTable, KindView, KindMaterializedView, KindPartitioned, KindForeign, KindModel, KindFile, KindSemanticModel, KindMetric:
		return true
	}
	return false
}

// Key identifies a dataset following the OpenLineage naming conventions: a
// namespace naming the system ("postgres://warehouse.internal:5432") and a
// name inside it ("analytics.public.orders").
type Key struct {
	Namespace string
	Name      string
}

func (k Key) String() string { return k.Namespace + "/" + k.Name }

// Compare orders keys by namespace, then name, for slices.SortFunc
// (catalog.Key.Compare).
func (k Key) Compare(o Key) int {
	return cmp.Or(strings.Compare(k.Namespace, o.Namespace), strings.Compare(k.Name, o.Name))
}

// Validate reports a missing namespace or name, or one the catalog cannot
// store (see ValidName).
func (k Key) Validate() error {
	if k.Namespace == "" {
		return fmt.Errorf("dataset %q: empty namespace: %w", k.Name, ErrInvalid)
	}
	if k.Name == "" {
		return fmt.Errorf("dataset in %q: empty name: %w", k.Namespace, ErrInvalid)
	}
	if err := ValidName("dataset namespace", k.Namespace); err != nil {
		return err
	}
	return ValidName("dataset name", k.Name)
}

// MaxNameBytes bounds namespaces and names: keys are indexed, and an index
// entry must fit in a third of a PostgreSQL page.
const MaxNameBytes = 1024

// ValidName reports a name that PostgreSQL cannot store as text (a NUL
// byte, invalid UTF-8) or index (longer than MaxNameBytes). what says which name it is.
func ValidName(what, s string) error {
	if len(s) > MaxNameBytes {
		return fmt.Errorf("%s %.40q…: %d bytes, at most %d: %w", what, s, len(s), MaxNameBytes, ErrInvalid)
	}
	if strings.ContainsRune(s, 0) {
		return fmt.Errorf("%s %q: contains a NUL character: %w", what, s, ErrInvalid)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q: not valid UTF-8: %w", what, s, ErrInvalid)
	}
	return nil
}

// Hidden reports whether r acts on the text around it rather than shows
// when a name is displayed: a control character, a bidirectional control
// (U+202E turns "fdp.exe" into what reads "exe.pdf"), or an invisible
// character that makes two names look alike (zero-width space, word
// joiner, byte order mark, soft hyphen). Joiners that scripts and emoji
// need (U+200C, U+200D) are not hidden.
func Hidden(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F, // Arabic letter mark, LRM, RLM
		0x202A <= r && r <= 0x202E, // LRE, RLE, PDF, LRO, RLO
		0x2066 <= r && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	case r == 0x00AD, r == 0x200B, 0x2060 <= r && r <= 0x2064, r == 0xFEFF:
		return true
	}
	return false
}

// Visible returns s for display with every Hidden character written as a
// \uXXXX escape, so that what a name holds is what a reader sees.
func Visible(s string) string {
	if strings.IndexFunc(s, Hidden) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if Hidden(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// OwnerKind says whether an owner is a person, a team or a database role.
type OwnerKind string

// Owner kinds.
const (
	OwnerUser OwnerKind = "user"
	OwnerTeam OwnerKind = "team"
	OwnerRole OwnerKind = "role"
)

// Valid reports whether k is one of the known owner kinds.
func (k OwnerKind) Valid() bool { return k == OwnerUser || k == OwnerTeam || k == OwnerRole }

// Column is one column of a dataset as one source describes it.
type Column struct {
	Name        string `json:"name"`
	Ordinal     int    `json:"ordinal,omitempty"`
	Type        string `json:"type,omitempty"`
	Nullable    bool   `json:"nullable,omitempty"`
	Default     string `json:"default,omitempty"`
	Description string `json:"description,omitempty"`
	PrimaryKey  bool   `json:"primary_key,omitempty"`
}

// ForeignKey is a relationship from some columns of a dataset to columns of
// another dataset.
type ForeignKey struct {
	Name      string // constraint name, unique per dataset
	Columns   []string
	Target    Key
	TargetCol []string
}

// Owner is a person, team or role responsible for a dataset.
type Owner struct {
	Name string
	Kind OwnerKind
	// Type is the ownership type, for example "technical", "business" or
	// "steward".
	Type string
}

// Partition is one partition of a partitioned table.
type Partition struct {
	Name  string `json:"name"`  // qualified name of the partition relation
	Bound string `json:"bound"` // its FOR VALUES clause
}

// DatasetFacts is everything one source asserts about one dataset. It is
// what a crawler returns and what the ingest step writes.
type DatasetFacts struct {
	Key         Key
	Platform    string // "postgres", "dbt", "delta"…
	Kind        Kind
	Description string
	// Definition is the SQL of a view or materialized view, kept for lineage.
	Definition   string
	RowEstimate  *int64
	SizeBytes    *int64
	PartitionKey string
	Partitions   []Partition
	Properties   map[string]string
	Columns      []Column
	ForeignKeys  []ForeignKey
	Owners       []Owner
	Tags         []string
	// Aliases are other keys of the same dataset (OpenLineage symlinks).
	// Omitted from the hash when empty, so that sources without aliases
	// hash as before.
	Aliases []Alias `json:",omitempty"`
}

// Scope is a part of a source's namespace that a crawl read completely: a
// dataset of that source under the scope that the crawl did not report has
// gone and is marked removed.
type Scope struct {
	Namespace string
	// Prefix of the dataset names covered, for example "analytics.public.";
	// empty covers the whole namespace.
	Prefix string
}

// Covers reports whether the scope covers the dataset k.
func (s Scope) Covers(k Key) bool {
	return k.Namespace == s.Namespace && len(k.Name) >= len(s.Prefix) && k.Name[:len(s.Prefix)] == s.Prefix
}

// CrawlError is one object a crawl could not read.
type CrawlError struct {
	Object  string `json:"object"` // what failed: a database, schema, table or file
	Message string `json:"message"`
}

func (e CrawlError) Error() string { return e.Object + ": " + e.Message }

// Harvest is the plain result of crawling one source.
type Harvest struct {
	Source   string // provenance, e.g. "postgres:warehouse"
	Datasets []DatasetFacts
	// Scopes read completely; see Scope. A harvest without scopes never
	// removes anything.
	Scopes []Scope
	Errors []CrawlError

	// DatasetsComplete says that Datasets lists every dataset the source
	// has: a dataset it reported before and no longer reports is marked
	// removed whatever its key, even outside Scopes. It is for sources whose
	// keys do not follow their own hierarchy (a Unity Catalog table is keyed
	// by its storage location, anywhere), so that no scope can say what a
	// part of the source covered. Set it only when the crawl read
	// everything.
	DatasetsComplete bool

	// Lineage and data quality (see job.go and quality.go). Jobs and
	// checks are facts of the source like datasets: replaced by its next
	// crawl, and marked removed when a scope covers them (a job by its
	// key, a check by its dataset) and the crawl no longer reports them.
	// Results and freshness observations are history, only ever added.
	Jobs      []JobFacts
	Checks    []QualityCheck
	Results   []QualityResult
	Freshness []FreshnessObservation
	// JobsComplete says that Jobs lists every job the source has: a job
	// it reported before and no longer reports is marked removed whatever
	// its namespace, even outside Scopes (after the source's jobs were
	// renamed, say). Set it only when the crawl read everything.
	JobsComplete bool
	// ColumnLineage replaces the source's column lineage of every output
	// dataset it names (see lineage.go).
	ColumnLineage []ColumnLineage
	// Runs are runs of the harvest's jobs (dbt's run_results.json), history
	// like results: a run already recorded as it is is not written again.
	Runs []Run
	// Queries are the statement statistics of the databases crawled (see
	// usage.go), one snapshot each, history: the store keeps each
	// snapshot to count reads between crawls.
	Queries []QueryStats `json:",omitempty"`
}

// CrawlStatus is the outcome of a crawl run.
type CrawlStatus string

// Crawl statuses.
const (
	CrawlRunning   CrawlStatus = "running"
	CrawlSucceeded CrawlStatus = "succeeded"
	CrawlPartial   CrawlStatus = "partial" // finished with errors on some objects
	CrawlFailed    CrawlStatus = "failed"
)

// CrawlCounts counts what an ingest did.
type CrawlCounts struct {
	Seen      int `json:"seen"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Removed   int `json:"removed"`
	Restored  int `json:"restored"`
	Columns   int `json:"columns"`
	// What the lineage and quality part of an ingest did: jobs and checks
	// reported, results, freshness observations and runs newly recorded
	// (or, for runs, changed).
	Jobs      int `json:"jobs,omitempty"`
	Checks    int `json:"checks,omitempty"`
	Results   int `json:"results,omitempty"`
	Freshness int `json:"freshness,omitempty"`
	Runs      int `json:"runs,omitempty"`
	// Total is how many datasets the source reported, known once the
	// harvest is read: while the run is running, Seen of Total is how far
	// its ingest has come (Total 0: still reading the source). A finished
	// run has none.
	Total int `json:"total,omitempty"`
}

// CrawlRun records one crawl of one source.
type CrawlRun struct {
	ID         int64
	Source     string
	StartedAt  time.Time
	FinishedAt *time.Time
	Status     CrawlStatus
	Counts     CrawlCounts
	Errors     []CrawlError
}

// Duration is how long the run took, or zero while it runs.
func (r CrawlRun) Duration() time.Duration {
	if r.FinishedAt == nil {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}
