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

// This file reads jobs and runs in batches, for the API's job pages and
// for the Marquez lineage nodes: one statement for any number of jobs.

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
		nss, names := splitJobKeys(r.keys)
		where = append(where, "(j.namespace, j.name) IN (SELECT * FROM unnest("+arg(nss)+"::text[], "+arg(names)+"::text[]))")
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
		       coalesce(array_agg(io.direction ORDER BY io.direction, io.namespace, io.name) FILTER (WHERE io.job_id IS NOT NULL), '{}'),
		       coalesce(array_agg(io.namespace ORDER BY io.direction, io.namespace, io.name) FILTER (WHERE io.job_id IS NOT NULL), '{}'),
		       coalesce(array_agg(io.name ORDER BY io.direction, io.namespace, io.name) FILTER (WHERE io.job_id IS NOT NULL), '{}')
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
// ids when ids is not nil (see catalog.Job.Edges): a job no live source
// reports has none, so that a follower drops it. Jobs of ids that are gone
// are left out.
func (s *Store) LineageJobs(ctx context.Context, ids []int64, fn func(catalog.JobEdges) error) error {
	if ids != nil && len(ids) == 0 {
		return nil
	}
	err := s.readJobs(ctx, jobRead{ids: ids}, func(j catalog.Job) error { return fn(j.Edges()) })
	if err != nil {
		return fmt.Errorf("read lineage jobs: %w", err)
	}
	return nil
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

func splitJobKeys(keys []catalog.JobKey) (nss, names []string) {
	nss, names = make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		nss[i], names[i] = k.Namespace, k.Name
	}
	return nss, names
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

// RunsByIDs returns the runs ids, in one statement; ids of no run are
// absent.
func (s *Store) RunsByIDs(ctx context.Context, ids []string) (map[string]catalog.Run, error) {
	runs, err := s.runs(ctx, `r.run_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read %d runs: %w", len(ids), err)
	}
	out := make(map[string]catalog.Run, len(runs))
	for _, r := range runs {
		out[r.ID] = r
	}
	return out, nil
}

// LatestRuns returns the newest run (as JobRuns orders them) of each of
// the jobs keys, in one statement; jobs that never ran are absent.
func (s *Store) LatestRuns(ctx context.Context, keys []catalog.JobKey) (map[catalog.JobKey]catalog.Run, error) {
	nss, names := splitJobKeys(keys)
	runs, err := s.runs(ctx, `r.run_id IN (
		SELECT (SELECT l.run_id FROM runs l WHERE l.job_id = lj.id ORDER BY l.state_at DESC, l.run_id LIMIT 1)
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN jobs lj ON lj.namespace = k.namespace AND lj.name = k.name)`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("latest runs of %d jobs: %w", len(keys), err)
	}
	out := make(map[catalog.JobKey]catalog.Run, len(runs))
	for _, r := range runs {
		out[r.Job] = r
	}
	return out, nil
}

// RunPage asks for one page of a job's runs, newest first (as JobRuns
// orders them): at most Limit runs after the run AfterID, which changed
// state at AfterAt (RFC 3339 with nanoseconds); AfterID "" is the start.
type RunPage struct {
	Job     catalog.JobKey
	Limit   int
	AfterAt string
	AfterID string
}

// RunPages reads pages of runs of any number of jobs in one statement.
func (s *Store) RunPages(ctx context.Context, pages []RunPage) (map[RunPage][]catalog.Run, error) {
	n := len(pages)
	nss, names, limits, ats, ids := make([]string, n), make([]string, n), make([]int32, n), make([]*time.Time, n), make([]string, n)
	for i, p := range pages {
		nss[i], names[i], limits[i], ids[i] = p.Job.Namespace, p.Job.Name, int32(p.Limit), p.AfterID
		if p.AfterID != "" {
			at, err := time.Parse(time.RFC3339Nano, p.AfterAt)
			if err != nil {
				return nil, fmt.Errorf("runs of %s after %q: %v: %w", p.Job, p.AfterAt, err, catalog.ErrInvalid)
			}
			ats[i] = &at
		}
	}
	runs, err := s.runs(ctx, `r.run_id IN (
		SELECT x.run_id FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::text[]) AS p(namespace, name, lim, at, id)
		JOIN jobs pj ON pj.namespace = p.namespace AND pj.name = p.name
		CROSS JOIN LATERAL (
			SELECT l.run_id FROM runs l
			WHERE l.job_id = pj.id AND (p.at IS NULL OR l.state_at < p.at OR (l.state_at = p.at AND l.run_id > p.id))
			ORDER BY l.state_at DESC, l.run_id LIMIT p.lim
		) x)`, nss, names, limits, ats, ids)
	if err != nil {
		return nil, fmt.Errorf("runs of %d jobs: %w", n, err)
	}
	// Pages of one job share its rows: each takes its own from them.
	byJob := map[catalog.JobKey][]catalog.Run{}
	for _, r := range runs {
		byJob[r.Job] = append(byJob[r.Job], r)
	}
	for _, rs := range byJob {
		slices.SortFunc(rs, compareRuns)
	}
	out := make(map[RunPage][]catalog.Run, n)
	for i, p := range pages {
		page := []catalog.Run{}
		for _, r := range byJob[p.Job] {
			if len(page) == p.Limit {
				break
			}
			if c := ats[i]; c == nil || r.StateAt.Before(*c) || (r.StateAt.Equal(*c) && r.ID > p.AfterID) {
				page = append(page, r)
			}
		}
		out[p] = page
	}
	return out, nil
}

// compareRuns orders runs newest first, as JobRuns does.
func compareRuns(a, b catalog.Run) int {
	return cmp.Or(b.StateAt.Compare(a.StateAt), strings.Compare(a.ID, b.ID))
}

// ChildRunsOf returns the runs whose parent is one of the runs ids, by
// parent, each list by job then run ID, in one statement.
func (s *Store) ChildRunsOf(ctx context.Context, ids []string) (map[string][]catalog.Run, error) {
	runs, err := s.runs(ctx, `r.parent_run_id = ANY($1) ORDER BY j.namespace, j.name, r.run_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("child runs of %d runs: %w", len(ids), err)
	}
	out := map[string][]catalog.Run{}
	for _, r := range runs {
		out[r.ParentID] = append(out[r.ParentID], r)
	}
	return out, nil
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

// LiveDatasets reports which of the datasets keys a source reports now,
// in one statement.
func (s *Store) LiveDatasets(ctx context.Context, keys []catalog.Key) (map[catalog.Key]bool, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT d.namespace, d.name FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name
		WHERE EXISTS (SELECT 1 FROM dataset_facts f WHERE f.dataset_id = d.id AND f.removed_at IS NULL)`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("look up %d datasets: %w", len(keys), err)
	}
	out := map[catalog.Key]bool{}
	var k catalog.Key
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name}, func() error { out[k] = true; return nil }); err != nil {
		return nil, fmt.Errorf("look up %d datasets: %w", len(keys), err)
	}
	return out, nil
}
