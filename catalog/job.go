package catalog

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
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

// Job is something that reads datasets and writes datasets, as one source
// describes it: a dbt model, an Airflow task, a Spark application.
// Dataset-level lineage is derived from jobs, inputs → job → outputs, as
// OpenLineage models it; runs of a job and column lineage build on the same
// key.
type Job struct {
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
func (j Job) Normalize() (Job, error) {
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
func (j Job) Hash() []byte { return hashJSON(j) }

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

// SourceJob is a job as one source described it, as stored.
type SourceJob struct {
	Job
	ID        int64
	Source    string
	UpdatedAt time.Time
	// RemovedAt is set when a complete crawl of the source stopped
	// reporting the job.
	RemovedAt *time.Time
}

// DatasetJobs are the jobs around one dataset: those that write it
// (producers, its upstream side) and those that read it (consumers, its
// downstream side), each as its source described it.
type DatasetJobs struct {
	Producers []SourceJob
	Consumers []SourceJob
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

func liveKeys(jobs []SourceJob, side func(Job) []Key) []Key {
	var keys []Key
	for _, j := range jobs {
		if j.RemovedAt == nil {
			keys = append(keys, side(j.Job)...)
		}
	}
	return sortKeys(keys)
}
