package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file reads and writes jobs (jobs, job_facts, job_io): what each
// source says of a job, merged by catalog.MergeJob; its inputs and outputs
// are the dataset lineage.

// jobRead says which jobs a read of job facts reads, and how much of them.
// Without ids, keys or a source it reads every job.
type jobRead struct {
	ids  []int64
	keys []catalog.JobKey
	// source, when not "", reads only that source's facts.
	source string
	// text reads descriptions, SQL and properties, which the lineage graph
	// does not need.
	text bool
}

// readJobs reads the facts of every source (or of r.source) on the jobs r
// selects, with their inputs and outputs, in one statement, and calls fn
// with each job merged by catalog.MergeJob, in order of id. It is the one
// definition of how the catalog reads a job.
func (s *Store) readJobs(ctx context.Context, r jobRead, fn func(catalog.Job) error) error {
	var (
		where []string
		args  = []any{r.text}
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if r.ids != nil {
		where = append(where, "j.id = ANY("+arg(r.ids)+")")
	}
	if r.keys != nil {
		// The keys are read as the ids they name, each key its own probe
		// of the (namespace, name) index, so that the condition stays on
		// jobs: joined to the keys themselves, on a catalog written since
		// its last ANALYZE, the planner took the source's jobs for one row
		// and compared each of their inputs and outputs with every key
		// (1.6 million comparisons, 1 s, for 1,000 keys; BenchmarkIngest).
		nss, names := splitJobKeys(r.keys)
		where = append(where, `j.id = ANY(ARRAY(
			SELECT (SELECT id FROM jobs WHERE namespace = k.ns AND name = k.name)
			FROM unnest(`+arg(nss)+`::text[], `+arg(names)+`::text[]) AS k(ns, name)))`)
	}
	if r.source != "" {
		where = append(where, "f.source = "+arg(r.source))
	}
	cond := "true"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	rows, err := s.pool.Query(ctx, `
		SELECT j.id, j.namespace, j.name, j.created_at, f.source, f.type,
		       CASE WHEN $1 THEN f.description ELSE '' END, CASE WHEN $1 THEN f.sql ELSE '' END,
		       CASE WHEN $1 THEN f.compiled_sql ELSE '' END, CASE WHEN $1 THEN f.properties ELSE '{}' END,
		       f.updated_at, f.removed_at,
		       coalesce(array_agg(io.direction) FILTER (WHERE io.job_id IS NOT NULL), '{}'),
		       coalesce(array_agg(io.namespace) FILTER (WHERE io.job_id IS NOT NULL), '{}'),
		       coalesce(array_agg(io.name) FILTER (WHERE io.job_id IS NOT NULL), '{}')
		FROM jobs j
		JOIN job_facts f ON f.job_id = j.id
		LEFT JOIN job_io io ON io.job_id = f.job_id AND io.source = f.source
		WHERE `+cond+`
		GROUP BY j.id, f.job_id, f.source
		ORDER BY j.id, f.source`, args...)
	if err != nil {
		return err
	}
	var (
		id, curID          int64
		key, curKey        catalog.JobKey
		created, curAt     time.Time
		facts              []catalog.SourceJob
		f                  catalog.SourceJob
		dirs, ioNS, ioName []string
	)
	flush := func() error {
		if len(facts) == 0 {
			return nil
		}
		j := catalog.MergeJob(curID, curKey, curAt, facts)
		facts = nil
		return fn(j)
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &key.Namespace, &key.Name, &created, &f.Source, &f.Type, &f.Description, &f.SQL,
		&f.CompiledSQL, &f.Properties, &f.UpdatedAt, &f.RemovedAt, &dirs, &ioNS, &ioName}, func() error {
		if id != curID {
			if err := flush(); err != nil {
				return err
			}
			curID, curKey, curAt = id, key, created
		}
		f.Key = key
		for i, d := range dirs {
			k := catalog.Key{Namespace: ioNS[i], Name: ioName[i]}
			if d == "in" {
				f.Inputs = append(f.Inputs, k)
			} else {
				f.Outputs = append(f.Outputs, k)
			}
		}
		// Sorted here rather than by each array_agg: PostgreSQL 15 sorts
		// the rows of every group once per ordered aggregate, which was
		// most of the aggregation when the lineage graph loads a million
		// jobs (three sorts a job); the three arrays of one group follow
		// the same row order.
		slices.SortFunc(f.Inputs, catalog.Key.Compare)
		slices.SortFunc(f.Outputs, catalog.Key.Compare)
		f.RemovedAt = clonePtr(f.RemovedAt)
		facts = append(facts, f)
		f = catalog.SourceJob{}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// JobsByKeys returns the jobs keys that a source ever reported, merged
// (see catalog.MergeJob), in one statement; keys of no job are absent.
func (s *Store) JobsByKeys(ctx context.Context, keys []catalog.JobKey) (map[catalog.JobKey]*catalog.Job, error) {
	out := make(map[catalog.JobKey]*catalog.Job, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	err := s.readJobs(ctx, jobRead{keys: keys, text: true}, func(j catalog.Job) error {
		out[j.Key] = &j
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %d jobs: %w", len(keys), err)
	}
	return out, nil
}

// LineageJobs calls fn with the lineage edges of every job, or of the jobs
// ids when ids is not nil (see catalog.Job.Edges), in order of id: a job
// no live source reports has none, so that a follower drops it. Jobs of
// ids that are gone are left out. The slices of each JobEdges are its own.
//
// It is catalog.MergeJob's result without merging whole jobs: the lineage
// graph loads every job at start-up, and reading each as a catalog.Job
// (grouped rows, arrays, merged facts) was most of the start-up's time and
// allocations. Here the rows of the facts and their inputs and outputs
// are streamed in order of job and source, and the strings repeated from
// row to row (the job's key, types, namespaces) are made once.
func (s *Store) LineageJobs(ctx context.Context, ids []int64, fn func(catalog.JobEdges) error) error {
	if ids != nil && len(ids) == 0 {
		return nil
	}
	if err := s.lineageJobs(ctx, ids, fn); err != nil {
		return fmt.Errorf("read lineage jobs: %w", err)
	}
	return nil
}

func (s *Store) lineageJobs(ctx context.Context, ids []int64, fn func(catalog.JobEdges) error) error {
	// Only live facts join their inputs and outputs: a job with a live
	// fact has the edges of its live facts (MergeJob), one without has
	// none. Its type is the first not empty of its live facts by source,
	// then of its removed ones.
	cond, args := "true", []any{}
	if ids != nil {
		cond, args = "j.id = ANY($1)", []any{ids}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT j.id, j.namespace, j.name, f.type, f.removed_at IS NULL, io.direction, io.namespace, io.name
		FROM jobs j
		JOIN job_facts f ON f.job_id = j.id
		LEFT JOIN job_io io ON io.job_id = f.job_id AND io.source = f.source AND f.removed_at IS NULL
		WHERE `+cond+`
		ORDER BY j.id, f.source`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		strs               = map[string]string{}
		cur                catalog.JobEdges
		live               bool
		liveType, goneType string
		inputs, outputs    []catalog.Key
		id                 int64
		factLive           bool
	)
	// intern returns b as a string, the same string for the same bytes:
	// there are few namespaces and types, repeated on every row.
	intern := func(b []byte) string {
		if s, ok := strs[string(b)]; ok {
			return s
		}
		s := string(b)
		strs[s] = s
		return s
	}
	flush := func() error {
		if cur.ID == 0 {
			return nil
		}
		if live {
			cur.Type = cmp.Or(liveType, goneType)
			// One allocation for both sides, each its own sorted set.
			keys := make([]catalog.Key, 0, len(inputs)+len(outputs))
			keys = append(keys, sortedSet(inputs)...)
			n := len(keys)
			keys = append(keys, sortedSet(outputs)...)
			cur.Inputs, cur.Outputs = keys[:n:n], keys[n:]
		}
		err := fn(cur)
		cur, live, liveType, goneType = catalog.JobEdges{}, false, "", ""
		inputs, outputs = inputs[:0], outputs[:0]
		return err
	}
	for rows.Next() {
		if err := rows.Scan(&id, nil, nil, nil, &factLive, nil, nil, nil); err != nil {
			return err
		}
		v := rows.RawValues()
		if id != cur.ID {
			if err := flush(); err != nil {
				return err
			}
			cur.ID = id
			cur.Key = catalog.JobKey{Namespace: intern(v[1]), Name: string(v[2])}
		}
		if factLive {
			live = true
			if liveType == "" {
				liveType = intern(v[3])
			}
		} else if goneType == "" {
			goneType = intern(v[3])
		}
		if v[5] == nil {
			continue
		}
		k := catalog.Key{Namespace: intern(v[6]), Name: string(v[7])}
		if string(v[5]) == "in" {
			inputs = append(inputs, k)
		} else {
			outputs = append(outputs, k)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// LineageSize estimates how many jobs and datasets LineageJobs of every
// job reports, from the planner's statistics (no table is read): jobs, and
// datasets as the more of datasets and jobs (a job's datasets need not be
// crawled), at most the job_io rows. It is a capacity hint for the
// lineage graph, 0 where the tables were never analyzed.
func (s *Store) LineageSize(ctx context.Context) (jobs, datasets int, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT greatest(j.reltuples, 0)::bigint, greatest(least(greatest(d.reltuples, j.reltuples), io.reltuples), 0)::bigint
		FROM pg_class j, pg_class d, pg_class io
		WHERE j.oid = 'jobs'::regclass AND d.oid = 'datasets'::regclass AND io.oid = 'job_io'::regclass`).Scan(&jobs, &datasets)
	if err != nil {
		return 0, 0, fmt.Errorf("estimate lineage size: %w", err)
	}
	return jobs, datasets, nil
}

// sortedSet sorts keys and drops repeats, in place.
func sortedSet(keys []catalog.Key) []catalog.Key {
	slices.SortFunc(keys, catalog.Key.Compare)
	return slices.Compact(keys)
}

// sourceJobs returns what one source asserts about the jobs keys, with
// their inputs and outputs; keys it says nothing about are absent.
func (s *Store) sourceJobs(ctx context.Context, source string, keys []catalog.JobKey) (map[catalog.JobKey]catalog.JobFacts, error) {
	out := map[catalog.JobKey]catalog.JobFacts{}
	if len(keys) == 0 {
		return out, nil
	}
	err := s.readJobs(ctx, jobRead{keys: keys, source: source, text: true}, func(j catalog.Job) error {
		out[j.Key] = j.Sources[0].JobFacts
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read jobs of %s: %w", source, err)
	}
	return out, nil
}

// FindJobs returns the keys of jobs ordered by namespace and name, after
// the key after (nil for the start), at most limit; of one namespace when
// namespace is not empty, and only of jobs a live source reports unless
// includeRemoved.
func (s *Store) FindJobs(ctx context.Context, namespace string, includeRemoved bool, after *catalog.JobKey, limit int) ([]catalog.JobKey, error) {
	var afterNS, afterName *string
	if after != nil {
		afterNS, afterName = &after.Namespace, &after.Name
	}
	rows, err := s.pool.Query(ctx, `
		SELECT j.namespace, j.name FROM jobs j
		WHERE ($1 = '' OR j.namespace = $1)
		  AND ($2::text IS NULL OR (j.namespace, j.name) > ($2, $3))
		  AND ($4 OR EXISTS (SELECT 1 FROM job_facts f WHERE f.job_id = j.id AND f.removed_at IS NULL))
		ORDER BY j.namespace, j.name
		LIMIT $5`, namespace, afterNS, afterName, includeRemoved, limit)
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.JobKey, error) {
		var k catalog.JobKey
		err := row.Scan(&k.Namespace, &k.Name)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	return keys, nil
}

// JobsAround are the jobs that live sources say write a dataset
// (producers) and read it (consumers), by namespace and name.
type JobsAround struct {
	Producers []catalog.JobKey
	Consumers []catalog.JobKey
}

// JobsOfDatasets returns the jobs around each of the datasets keys, as
// their live sources report them, in one statement: keys only, for
// reading the jobs themselves in a batch with JobsByKeys.
func (s *Store) JobsOfDatasets(ctx context.Context, keys []catalog.Key) (map[catalog.Key]JobsAround, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT io.namespace, io.name, io.direction, j.namespace, j.name
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN job_io io ON io.namespace = k.namespace AND io.name = k.name
		JOIN job_facts f ON f.job_id = io.job_id AND f.source = io.source AND f.removed_at IS NULL
		JOIN jobs j ON j.id = io.job_id
		ORDER BY 1, 2, 3, 4, 5`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("jobs of %d datasets: %w", len(keys), err)
	}
	out := map[catalog.Key]JobsAround{}
	var (
		k   catalog.Key
		dir string
		j   catalog.JobKey
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &dir, &j.Namespace, &j.Name}, func() error {
		a := out[k]
		if dir == "out" {
			a.Producers = append(a.Producers, j)
		} else {
			a.Consumers = append(a.Consumers, j)
		}
		out[k] = a
		return nil
	}); err != nil {
		return nil, fmt.Errorf("jobs of %d datasets: %w", len(keys), err)
	}
	return out, nil
}

type preparedJob struct {
	job catalog.JobFacts
	prior
}

func (s *Store) ingestJobs(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) error {
	seen := make(map[catalog.JobKey]bool, len(h.Jobs))
	batch := make([]*preparedJob, 0, min(batchSize, len(h.Jobs)))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.ingestJobBatch(ctx, h.Source, batch)
		batch = batch[:0]
		return err
	}
	for _, j := range h.Jobs {
		if seen[j.Key] {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: "job " + j.Key.String(), Message: "reported twice by the source; the first is kept"})
			continue
		}
		seen[j.Key] = true
		nj, err := j.Normalize()
		if err != nil {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: "job " + j.Key.String(), Message: err.Error()})
			continue
		}
		run.Counts.Jobs++
		batch = append(batch, &preparedJob{job: nj, prior: prior{hash: nj.Hash()}})
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return s.removeUnseenJobs(ctx, h.Source, h.Scopes, h.JobsComplete, seen)
}

func jobKeyArrays(batch []*preparedJob) (nss, names []string) {
	nss, names = make([]string, len(batch)), make([]string, len(batch))
	for i, p := range batch {
		nss[i], names[i] = p.job.Key.Namespace, p.job.Key.Name
	}
	return nss, names
}

// ingestJobBatch replaces the source's facts on the jobs of batch whose
// content changed, in one transaction; it writes nothing when none did.
func (s *Store) ingestJobBatch(ctx context.Context, source string, batch []*preparedJob) error {
	nss, names := jobKeyArrays(batch)
	rows, err := s.pool.Query(ctx, `
		SELECT k.i, j.id, f.content_hash, f.removed_at IS NOT NULL
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(namespace, name, i)
		JOIN jobs j ON j.namespace = k.namespace AND j.name = k.name
		LEFT JOIN job_facts f ON f.job_id = j.id AND f.source = $3`, nss, names, source)
	if err != nil {
		return fmt.Errorf("look up jobs of %s: %w", source, err)
	}
	if err := readPriors(rows, func(i int) *prior { return &batch[i].prior }); err != nil {
		return fmt.Errorf("look up jobs of %s: %w", source, err)
	}
	var todo, fresh []*preparedJob
	for _, p := range batch {
		if p.changed() {
			todo = append(todo, p)
			if !p.existed {
				fresh = append(fresh, p)
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		var created map[int64]bool
		if len(fresh) > 0 {
			nss, names := jobKeyArrays(fresh)
			var err error
			if created, err = createMissing(ctx, tx, "jobs", nss, names, now, func(i int) *prior { return &fresh[i].prior }); err != nil {
				return fmt.Errorf("create jobs: %w", err)
			}
		}
		ids := make([]int64, len(todo))
		for i, p := range todo {
			ids[i] = p.id
		}
		if _, err := tx.Exec(ctx, `DELETE FROM job_facts WHERE job_id = ANY($1) AND source = $2`, ids, source); err != nil {
			return fmt.Errorf("replace job_facts: %w", err)
		}
		if err := replaceJobIO(ctx, tx, source, todo); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"job_facts"},
			[]string{"job_id", "source", "type", "description", "sql", "compiled_sql", "properties", "content_hash", "updated_at"},
			pgx.CopyFromSlice(len(todo), func(i int) ([]any, error) {
				j := todo[i].job
				return []any{todo[i].id, source, j.Type, j.Description, j.SQL, j.CompiledSQL, j.Properties, todo[i].hash, now}, nil
			}))
		if err != nil {
			return fmt.Errorf("write job facts: %w", err)
		}
		if touch := touched(ids, created); len(touch) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE jobs SET updated_at = $2 WHERE id = ANY($1)`, touch, now); err != nil {
				return fmt.Errorf("touch jobs: %w", err)
			}
		}
		changes := make([][]any, 0, len(todo))
		for _, p := range todo {
			kind := catalog.ChangeUpdated
			switch {
			case !p.existed:
				kind = catalog.ChangeCreated
			case p.factRemoved:
				kind = catalog.ChangeRestored
			}
			changes = append(changes, []any{"job", p.id, p.job.Key.Namespace, p.job.Key.Name, string(kind), source, now})
		}
		return appendChanges(ctx, tx, changes)
	})
	if err != nil {
		return fmt.Errorf("ingest %d jobs of %s: %w", len(todo), source, translate(err))
	}
	return nil
}

// replaceJobIO makes the source's job_io rows of the jobs of todo their
// inputs and outputs. A job this source described before keeps the rows
// that stay: only those that went are deleted and those that came are
// inserted. OpenLineage lays each run's datasets over the job's (see
// mergeJobUpdates), so a job that writes a new dataset each run changed
// at every event, and rewriting all its rows each time left thousands of
// dead versions under every key of job_io_pkey: the reads of a dataset's
// producing runs then visited them all (a dataset page took 4 s in
// `make loadtest`). Rows of a job new to the source are copied in.
func replaceJobIO(ctx context.Context, tx pgx.Tx, source string, todo []*preparedJob) error {
	var (
		fresh            [][]any
		freshIDs, known  []int64
		ids              []int64
		dirs, nss, names []string
	)
	for _, p := range todo {
		if !p.hadFacts {
			freshIDs = append(freshIDs, p.id)
			for _, k := range p.job.Inputs {
				fresh = append(fresh, []any{p.id, source, "in", k.Namespace, k.Name})
			}
			for _, k := range p.job.Outputs {
				fresh = append(fresh, []any{p.id, source, "out", k.Namespace, k.Name})
			}
			continue
		}
		known = append(known, p.id)
		for _, io := range []struct {
			dir  string
			keys []catalog.Key
		}{{"in", p.job.Inputs}, {"out", p.job.Outputs}} {
			for _, k := range io.keys {
				ids, dirs, nss, names = append(ids, p.id), append(dirs, io.dir), append(nss, k.Namespace), append(names, k.Name)
			}
		}
	}
	if len(fresh) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM job_io WHERE job_id = ANY($1) AND source = $2`, freshIDs, source); err != nil {
			return fmt.Errorf("replace job inputs and outputs: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"job_io"}, []string{"job_id", "source", "direction", "namespace", "name"}, pgx.CopyFromRows(fresh)); err != nil {
			return fmt.Errorf("write job inputs and outputs: %w", err)
		}
	}
	if len(known) == 0 {
		return nil
	}
	// NOT IN, not NOT EXISTS: PostgreSQL hashes the new rows whatever it
	// believes of job_io, where an anti join planned on statistics
	// older than the job's rows compared every row with every new one
	// (1.8 s for a job of 1,000 outputs).
	batch := &pgx.Batch{}
	batch.Queue(`
		DELETE FROM job_io io WHERE io.job_id = ANY($1) AND io.source = $2
		AND (io.job_id, io.direction, io.namespace, io.name) NOT IN (
			SELECT * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[]))`,
		known, source, ids, dirs, nss, names)
	batch.Queue(`
		INSERT INTO job_io (job_id, source, direction, namespace, name)
		SELECT n.job_id, $1, n.direction, n.namespace, n.name
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS n(job_id, direction, namespace, name)
		ON CONFLICT DO NOTHING`, source, ids, dirs, nss, names)
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("write job inputs and outputs: %w", err)
	}
	return nil
}

// removeUnseenJobs marks removed the source's jobs under scopes (a job's
// key read as a dataset key), or anywhere when all, that the crawl did not
// report.
func (s *Store) removeUnseenJobs(ctx context.Context, source string, scopes []catalog.Scope, all bool, seen map[catalog.JobKey]bool) error {
	if len(scopes) == 0 && !all {
		return nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT j.id, j.namespace, j.name FROM job_facts f JOIN jobs j ON j.id = f.job_id
		WHERE f.source = $1 AND f.removed_at IS NULL`, source)
	if err != nil {
		return fmt.Errorf("find removed jobs of %s: %w", source, err)
	}
	var (
		gone    []int64
		changes [][]any
		id      int64
		key     catalog.JobKey
	)
	now := s.now()
	_, err = pgx.ForEachRow(rows, []any{&id, &key.Namespace, &key.Name}, func() error {
		if seen[key] || !all && !slices.ContainsFunc(scopes, func(sc catalog.Scope) bool { return sc.Covers(catalog.Key(key)) }) {
			return nil
		}
		gone = append(gone, id)
		changes = append(changes, []any{"job", id, key.Namespace, key.Name, string(catalog.ChangeRemoved), source, now})
		return nil
	})
	if err != nil {
		return fmt.Errorf("find removed jobs of %s: %w", source, err)
	}
	if len(gone) == 0 {
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE job_facts SET removed_at = $3 WHERE job_id = ANY($1) AND source = $2`, gone, source, now); err != nil {
			return err
		}
		return appendChanges(ctx, tx, changes)
	})
	if err != nil {
		return fmt.Errorf("mark %d jobs of %s removed: %w", len(gone), source, translate(err))
	}
	return nil
}

// jobSortOrders are the ORDER BY clauses of the job listing's orders.
var jobSortOrders = map[string]string{
	catalog.JobSortName:     `namespace, name`,
	catalog.JobSortLastRun:  `state_at DESC NULLS LAST, namespace, name`,
	catalog.JobSortFailures: `fail_rank DESC, namespace, name`,
	catalog.JobSortDuration: `ended_at - started_at DESC NULLS LAST, namespace, name`,
}

// JobSummaries lists the jobs a live source reports that f selects, in
// its order, one page of them, with the newest run of each and how many
// of their runs failed, in one statement; and how many jobs f selects in
// all.
func (s *Store) JobSummaries(ctx context.Context, f catalog.JobFilter) ([]catalog.JobSummary, int, error) {
	order, ok := jobSortOrders[cmp.Or(f.Sort, catalog.JobSortName)]
	if !ok {
		return nil, 0, fmt.Errorf("list jobs: unknown order %q (want one of %s): %w", f.Sort, strings.Join(catalog.JobSorts, ", "), catalog.ErrInvalid)
	}
	if f.Status != "" && f.Status != catalog.StatusNeverRan && !catalog.RunState(f.Status).Valid() {
		return nil, 0, fmt.Errorf("list jobs: unknown run status %q: %w", f.Status, catalog.ErrInvalid)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	// The newest run of every job selected, then one page of them, and
	// only then the runs of the page's jobs counted: counting every job's
	// runs cost most of the time. Only the order by failures counts them
	// all (fail_rank).
	rows, err := s.pool.Query(ctx, `
		WITH s AS (
			SELECT j.id, j.namespace, j.name,
			       l.run_id, l.state, l.state_at, l.started_at, l.ended_at, l.error_message,
			       l.parent_run_id, l.parent_job_namespace, l.parent_job_name, l.nominal_start, l.nominal_end,
			       CASE WHEN $5 THEN (SELECT count(*) FROM runs r WHERE r.job_id = j.id AND r.state IN ('FAIL', 'ABORT')) ELSE 0 END AS fail_rank
			FROM jobs j
			LEFT JOIN LATERAL (SELECT * FROM runs l WHERE l.job_id = j.id ORDER BY l.state_at DESC, l.run_id LIMIT 1) l ON true
			WHERE ($1 = '' OR j.namespace = $1)
			  AND EXISTS (SELECT 1 FROM job_facts f WHERE f.job_id = j.id AND f.removed_at IS NULL)
		), p AS (
			SELECT *, count(*) OVER () AS total FROM s
			WHERE $2 = '' OR ($2 = 'none' AND run_id IS NULL) OR state = $2
			ORDER BY `+order+`
			LIMIT $3 OFFSET $4
		)
		SELECT namespace, name,
		       (SELECT min(f.type) FROM job_facts f WHERE f.job_id = p.id AND f.removed_at IS NULL),
		       run_id, state, state_at, started_at, ended_at, coalesce(error_message, ''),
		       coalesce(parent_run_id, ''), coalesce(parent_job_namespace, ''), coalesce(parent_job_name, ''), nominal_start, nominal_end,
		       c.runs, c.failures, total
		FROM p CROSS JOIN LATERAL (
			SELECT count(*) AS runs, count(*) FILTER (WHERE r.state IN ('FAIL', 'ABORT')) AS failures FROM runs r WHERE r.job_id = p.id) c
		ORDER BY `+order, f.Namespace, f.Status, limit, max(f.Offset, 0), f.Sort == catalog.JobSortFailures)
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	total := 0
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.JobSummary, error) {
		var (
			j       catalog.JobSummary
			r       catalog.Run
			runID   *string
			state   *string
			stateAt *time.Time
		)
		err := row.Scan(&j.Key.Namespace, &j.Key.Name, &j.Type, &runID, &state, &stateAt, &r.StartedAt, &r.EndedAt, &r.ErrorMessage,
			&r.ParentID, &r.ParentJob.Namespace, &r.ParentJob.Name, &r.NominalStart, &r.NominalEnd, &j.Runs, &j.Failures, &total)
		if runID != nil {
			r.ID, r.Job, r.State, r.StateAt = *runID, j.Key, catalog.RunState(*state), *stateAt
			j.Latest = &r
		}
		return j, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list jobs: %w", err)
	}
	return out, total, nil
}

// JobNamespaces returns the namespaces of the jobs a live source reports,
// sorted.
func (s *Store) JobNamespaces(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT j.namespace FROM jobs j
		WHERE EXISTS (SELECT 1 FROM job_facts f WHERE f.job_id = j.id AND f.removed_at IS NULL)
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("job namespaces: %w", err)
	}
	nss, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("job namespaces: %w", err)
	}
	return nss, nil
}

// JobsByIDs returns the jobs ids, merged (see catalog.MergeJob), in order
// of id, in one statement; ids of no job are absent. The search index
// reads the jobs a change names with it.
func (s *Store) JobsByIDs(ctx context.Context, ids []int64) ([]catalog.Job, error) {
	out := []catalog.Job{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.readJobs(ctx, jobRead{ids: ids, text: true}, func(j catalog.Job) error {
		out = append(out, j)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %d jobs: %w", len(ids), err)
	}
	return out, nil
}

// JobIDsAfter returns at most limit job ids greater than after, in order,
// removed jobs included: the search index pages through every job with it
// when it rebuilds.
func (s *Store) JobIDsAfter(ctx context.Context, after int64, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM jobs WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list job ids after %d: %w", after, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list job ids after %d: %w", after, err)
	}
	return ids, nil
}
