package catalog

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// JobKey identifies a job following the OpenLineage naming conventions: a
// namespace naming the scheduler or tool ("dbt://analytics",
// "airflow://prod") and a name inside it ("analytics.marts.jaffle_shop.orders",
// "dag.task").
type JobKey struct {
	Namespace string
	Name      string
}

func (k JobKey) String() string { return k.Namespace + "/" + k.Name }

// Validate reports a missing namespace or name.
func (k JobKey) Validate() error {
	if k.Namespace == "" {
		return fmt.Errorf("job %q: empty namespace: %w", k.Name, ErrInvalid)
	}
	if k.Name == "" {
		return fmt.Errorf("job in %q: empty name: %w", k.Namespace, ErrInvalid)
	}
	if err := ValidName("job namespace", k.Namespace); err != nil {
		return err
	}
	return ValidName("job name", k.Name)
}

// Job types that the crawlers of this repository report. A job's type is
// free text; these are the known ones.
const (
	JobDBTModel    = "dbt_model"
	JobDBTSnapshot = "dbt_snapshot"
	JobDBTSeed     = "dbt_seed"
	// JobDBTExposure is a downstream consumer declared in dbt (a
	// dashboard, a notebook, an application): inputs and no outputs.
	JobDBTExposure = "dbt_exposure"
	// The semantic layer: a semantic model reads its model, a metric what
	// it is computed from, each writing a dataset of its own kind; a
	// saved query reads metrics and writes its exports.
	JobDBTSemanticModel = "dbt_semantic_model"
	JobDBTMetric        = "dbt_metric"
	JobDBTSavedQuery    = "dbt_saved_query"
)

// JobFacts is everything one source asserts about one job: something that
// reads datasets and writes datasets, such as a dbt model, an Airflow task
// or a Spark application. It is what a crawler returns and what the ingest
// step writes. Dataset-level lineage is derived from jobs, inputs → job →
// outputs, as OpenLineage models it; runs of a job and column lineage
// build on the same key.
type JobFacts struct {
	Key         JobKey
	Type        string
	Description string
	// SQL is the source as written (for dbt, with Jinja); CompiledSQL is
	// what ran against the warehouse, when known.
	SQL         string
	CompiledSQL string
	Properties  map[string]string
	Inputs      []Key
	Outputs     []Key
}

// Normalize returns a copy of j in canonical order (inputs and outputs
// sorted, duplicates dropped), so that the same job always hashes the same,
// and validates it.
func (j JobFacts) Normalize() (JobFacts, error) {
	if err := j.Key.Validate(); err != nil {
		return j, err
	}
	if j.Type == "" {
		return j, fmt.Errorf("job %s: empty type: %w", j.Key, ErrInvalid)
	}
	for _, list := range [][]Key{j.Inputs, j.Outputs} {
		for _, k := range list {
			if err := k.Validate(); err != nil {
				return j, fmt.Errorf("job %s: %w", j.Key, err)
			}
		}
	}
	j.Inputs = sortKeys(j.Inputs)
	j.Outputs = sortKeys(j.Outputs)
	if j.Properties == nil {
		j.Properties = map[string]string{}
	}
	return j, nil
}

func sortKeys(keys []Key) []Key {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, Key.Compare)
	keys = slices.Compact(keys)
	if keys == nil {
		keys = []Key{}
	}
	return keys
}

// Hash is a digest of everything j asserts. Call it on a normalized job.
func (j JobFacts) Hash() []byte { return hashJSON(j) }

// hashJSON is the digest of v's JSON encoding, the content hash that lets
// an ingest skip facts that did not change.
func hashJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings, numbers, slices and string maps are hashed.
		panic(fmt.Sprintf("hash %T: %v", v, err))
	}
	h := sha256.Sum256(b)
	return h[:]
}

// SourceJob is what one source asserted about a job, as stored.
type SourceJob struct {
	JobFacts
	Source    string
	UpdatedAt time.Time
	// RemovedAt is set when a complete crawl of the source stopped
	// reporting the job.
	RemovedAt *time.Time
}

// Job is a job as the portal and the API show it: the facts of every
// source merged by MergeJob, with each source's own facts kept alongside.
type Job struct {
	ID          int64
	Key         JobKey
	Type        string
	Description string
	SQL         string
	CompiledSQL string
	Properties  map[string]string
	// Inputs and Outputs are the union of what its live sources say, or,
	// once none is live, of what its sources said last.
	Inputs    []Key
	Outputs   []Key
	CreatedAt time.Time
	// UpdatedAt is when a source last changed what it says of the job.
	UpdatedAt time.Time
	// RemovedAt is when the last live source stopped reporting the job.
	RemovedAt *time.Time
	// Sources are each source's facts, live ones first, then by name.
	Sources []SourceJob
}

// MergeJob combines the facts of every source of one job into the view
// the portal and the API show. Live sources come first, in order of their
// names: text facts (type, description, SQL) come from the first that
// gives them, and so does each property. Inputs and outputs are the union
// of the live sources'; a job no live source reports any more keeps those
// its sources said last, as history, with RemovedAt the time the last of
// them stopped.
func MergeJob(id int64, key JobKey, created time.Time, facts []SourceJob) Job {
	facts = slices.Clone(facts)
	slices.SortStableFunc(facts, func(a, b SourceJob) int {
		return cmp.Or(cmp.Compare(boolRank(a.RemovedAt != nil), boolRank(b.RemovedAt != nil)), strings.Compare(a.Source, b.Source))
	})
	j := Job{ID: id, Key: key, CreatedAt: created, Properties: map[string]string{}, Inputs: []Key{}, Outputs: []Key{}, Sources: facts}
	live := len(facts) > 0 && facts[0].RemovedAt == nil
	for _, f := range facts {
		j.Type = cmp.Or(j.Type, f.Type)
		j.Description = cmp.Or(j.Description, f.Description)
		j.SQL = cmp.Or(j.SQL, f.SQL)
		j.CompiledSQL = cmp.Or(j.CompiledSQL, f.CompiledSQL)
		for k, v := range f.Properties {
			if _, ok := j.Properties[k]; !ok {
				j.Properties[k] = v
			}
		}
		if f.UpdatedAt.After(j.UpdatedAt) {
			j.UpdatedAt = f.UpdatedAt
		}
		if !live && (j.RemovedAt == nil || f.RemovedAt.After(*j.RemovedAt)) {
			j.RemovedAt = f.RemovedAt
		}
		if live == (f.RemovedAt == nil) {
			j.Inputs = append(j.Inputs, f.Inputs...)
			j.Outputs = append(j.Outputs, f.Outputs...)
		}
	}
	j.Inputs, j.Outputs = sortKeys(j.Inputs), sortKeys(j.Outputs)
	return j
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SourceNames lists the sources that report j, live ones first.
func (j Job) SourceNames() []string {
	out := make([]string, len(j.Sources))
	for i, f := range j.Sources {
		out[i] = f.Source
	}
	return out
}

// JobEdges is a job as dataset lineage holds it, the edges input → job →
// output: the store reads it and the lineage graph takes it.
type JobEdges struct {
	ID      int64
	Key     JobKey
	Type    string
	Inputs  []Key
	Outputs []Key
}

// Edges returns the lineage edges of j: none once no live source reports
// it, so that the lineage graph drops it.
func (j Job) Edges() JobEdges {
	if j.RemovedAt != nil {
		return JobEdges{ID: j.ID, Key: j.Key}
	}
	return JobEdges{ID: j.ID, Key: j.Key, Type: j.Type, Inputs: j.Inputs, Outputs: j.Outputs}
}

// DatasetJobs are the jobs around one dataset: those that write it
// (producers, its upstream side) and those that read it (consumers, its
// downstream side).
type DatasetJobs struct {
	Producers []Job
	Consumers []Job
}

// Upstream lists the datasets that live producers read, sorted.
func (d DatasetJobs) Upstream() []Key {
	return liveKeys(d.Producers, func(j Job) []Key { return j.Inputs })
}

// Downstream lists the datasets that live consumers write, sorted.
// Consumers without outputs, such as dbt exposures, are only in Consumers.
func (d DatasetJobs) Downstream() []Key {
	return liveKeys(d.Consumers, func(j Job) []Key { return j.Outputs })
}

func liveKeys(jobs []Job, side func(Job) []Key) []Key {
	var keys []Key
	for _, j := range jobs {
		if j.RemovedAt == nil {
			keys = append(keys, side(j)...)
		}
	}
	return sortKeys(keys)
}
