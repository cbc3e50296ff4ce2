package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps usage (query_stats, query_reads) and popularity
// (dataset_popularity): how much each dataset is read, by jobs and their
// runs and by the queries databases counted (see catalog/usage.go).

// usageTop is how many jobs, queries and roles a dataset's usage lists.
const usageTop = 5

// statKey keys a statement's snapshots.
type statKey struct {
	queryID int64
	role    string
}

// ingestQueries records one snapshot of each database's statement
// statistics in h.Queries. Each row keeps the cumulative calls and the
// calls since the statement's previous snapshot (its reads): all its
// calls when the statistics were reset in between (StatsReset moved, or
// the count went down), or when the statement is new since the previous
// snapshot of its database. In the first snapshot of a database, calls
// count only when the statistics were reset within the usage window:
// otherwise nobody knows when they ran, and that snapshot is the
// baseline. A statement whose calls did not move is not written again;
// its last snapshot stays the baseline. Snapshots older than the window
// are pruned, but for the latest of each statement.
func (s *Store) ingestQueries(ctx context.Context, h catalog.Harvest) ([]int64, error) {
	var touched []int64
	for _, qs := range h.Queries {
		ids, err := s.ingestQueryStats(ctx, h.Source, qs)
		if err != nil {
			return nil, fmt.Errorf("ingest query statistics of %s database %s: %w", h.Source, qs.Database, err)
		}
		touched = append(touched, ids...)
	}
	return touched, nil
}

func (s *Store) ingestQueryStats(ctx context.Context, source string, qs catalog.QueryStats) ([]int64, error) {
	now := s.now()
	var (
		ids   []int64
		rows  [][]any
		reads = map[int64][]catalog.Key{} // queryid → datasets
	)
	for _, st := range qs.Statements {
		for _, k := range st.Reads {
			if !slices.Contains(reads[st.QueryID], k) {
				reads[st.QueryID] = append(reads[st.QueryID], k)
			}
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The previous snapshot of each statement, and of the database.
		var (
			prevAt    *time.Time
			prevReset *time.Time
		)
		err := tx.QueryRow(ctx, `
			SELECT observed_at, stats_reset FROM query_stats
			WHERE source = $1 AND namespace = $2 AND database = $3
			ORDER BY observed_at DESC LIMIT 1`, source, qs.Namespace, qs.Database).Scan(&prevAt, &prevReset)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		qids := make([]int64, len(qs.Statements))
		roles := make([]string, len(qs.Statements))
		for i, st := range qs.Statements {
			qids[i], roles[i] = st.QueryID, st.Role
		}
		prev := map[statKey]int64{}
		r, err := tx.Query(ctx, `
			SELECT DISTINCT ON (q.queryid, q.role) q.queryid, q.role, q.calls
			FROM query_stats q
			JOIN unnest($4::bigint[], $5::text[]) AS s(queryid, role) ON s.queryid = q.queryid AND s.role = q.role
			WHERE q.source = $1 AND q.namespace = $2 AND q.database = $3
			ORDER BY q.queryid, q.role, q.observed_at DESC`, source, qs.Namespace, qs.Database, qids, roles)
		if err != nil {
			return err
		}
		var (
			k     statKey
			calls int64
		)
		if _, err := pgx.ForEachRow(r, []any{&k.queryID, &k.role, &calls}, func() error {
			prev[k] = calls
			return nil
		}); err != nil {
			return err
		}
		var reset *time.Time
		if !qs.StatsReset.IsZero() {
			r := qs.StatsReset.Truncate(time.Microsecond) // as stored
			reset = &r
		}
		wasReset := prevReset != nil && reset != nil && !prevReset.Equal(*reset)
		recentReset := reset != nil && now.Sub(*reset) <= catalog.UsageWindow
		seen := map[statKey]bool{}
		for _, st := range qs.Statements {
			k := statKey{st.QueryID, st.Role}
			if seen[k] {
				continue
			}
			seen[k] = true
			before, ok := prev[k]
			var delta int64
			switch {
			case ok && !wasReset && st.Calls >= before:
				delta = st.Calls - before
				if delta == 0 {
					continue // the last snapshot stays the baseline
				}
			case ok: // reset since: every call is new
				delta = st.Calls
			case prevAt != nil || recentReset:
				delta = st.Calls
			}
			rows = append(rows, []any{source, qs.Namespace, qs.Database, st.QueryID, st.Role, st.Query, st.Calls, delta, reset, now})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"query_stats"},
			[]string{"source", "namespace", "database", "queryid", "role", "query", "calls", "reads", "stats_reset", "observed_at"},
			pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		// Which datasets each statement reads, for the datasets the
		// catalog holds.
		var rq []int64
		var rns, rnames []string
		for q, ks := range reads {
			for _, k := range ks {
				rq = append(rq, q)
				rns = append(rns, k.Namespace)
				rnames = append(rnames, k.Name)
			}
		}
		r, err = tx.Query(ctx, `
			WITH ins AS (
				INSERT INTO query_reads (source, namespace, database, queryid, dataset_id)
				SELECT $1, $2, $3, s.queryid, d.id
				FROM unnest($4::bigint[], $5::text[], $6::text[]) AS s(queryid, ns, name)
				JOIN datasets d ON d.namespace = s.ns AND d.name = s.name
				ON CONFLICT DO NOTHING
				RETURNING dataset_id)
			SELECT DISTINCT d.id FROM unnest($5::text[], $6::text[]) AS s(ns, name)
			JOIN datasets d ON d.namespace = s.ns AND d.name = s.name`,
			source, qs.Namespace, qs.Database, rq, rns, rnames)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(r, pgx.RowTo[int64]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			DELETE FROM query_stats q
			WHERE q.source = $1 AND q.namespace = $2 AND q.database = $3 AND q.observed_at < $4
			AND EXISTS (SELECT FROM query_stats n
				WHERE n.source = q.source AND n.namespace = q.namespace AND n.database = q.database
				AND n.queryid = q.queryid AND n.role = q.role AND n.observed_at > q.observed_at)`,
			source, qs.Namespace, qs.Database, now.Add(-catalog.UsageWindow-24*time.Hour))
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return ids, nil
}

// ingestUsage records h.Queries and refreshes the popularity of the
// datasets whose usage the harvest moved: those its statements read and
// the inputs of its jobs and of the jobs of its runs; and of those whose
// score is over a day old, so that reads leaving the window lower it.
func (s *Store) ingestUsage(ctx context.Context, h catalog.Harvest) error {
	touched, err := s.ingestQueries(ctx, h)
	if err != nil {
		return err
	}
	inputs, err := s.usageInputs(ctx, h, 0)
	if err != nil {
		return err
	}
	touched = append(touched, inputs...)
	// Scores computed over a day ago, whose reads may have left the
	// window since.
	rows, err := s.pool.Query(ctx, `SELECT dataset_id FROM dataset_popularity WHERE computed_at < $1`, s.now().Add(-24*time.Hour))
	if err != nil {
		return fmt.Errorf("find stale popularity: %w", translate(err))
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("find stale popularity: %w", translate(err))
	}
	touched = append(touched, stale...)
	if len(touched) == 0 {
		return nil
	}
	slices.Sort(touched)
	return s.RefreshPopularity(ctx, slices.Compact(touched))
}

// runUsageEvery is how long a dataset's popularity stands before a push
// of runs reading it computes it again: a job running every minute would
// otherwise recount its inputs' 30 days of runs on every event, which
// halved the OpenLineage worker's rate (BenchmarkIngest, derived events).
const runUsageEvery = 10 * time.Minute

// ingestRunUsage refreshes, after a push, the popularity of the datasets
// that the jobs of h and of its runs read, those computed in the last
// runUsageEvery left as they are: a score is at most that much behind
// the runs. What a push brings moves no other score; crawls refresh the
// rest (ingestUsage).
func (s *Store) ingestRunUsage(ctx context.Context, h catalog.Harvest) error {
	if len(h.Jobs) == 0 && len(h.Runs) == 0 {
		return nil
	}
	ids, err := s.usageInputs(ctx, h, runUsageEvery)
	if err != nil || len(ids) == 0 {
		return err
	}
	return s.RefreshPopularity(ctx, ids)
}

// usageInputs returns the datasets that the jobs of h and the jobs of its
// runs read: their popularity moves with the harvest. With fresh above
// zero, those whose popularity was computed less than fresh ago are left
// out.
func (s *Store) usageInputs(ctx context.Context, h catalog.Harvest, fresh time.Duration) ([]int64, error) {
	// Each job once: a push's runs name their jobs over and over (a batch
	// of 1,000 events, 50 jobs), and each repeat joined all its inputs
	// again.
	var jobs []catalog.JobKey
	seen := map[catalog.JobKey]bool{}
	add := func(k catalog.JobKey) {
		if !seen[k] {
			seen[k] = true
			jobs = append(jobs, k)
		}
	}
	for _, j := range h.Jobs {
		add(j.Key)
	}
	for _, r := range h.Runs {
		add(r.Job)
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	nss, names := splitJobKeys(jobs)
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT d.id
		FROM unnest($1::text[], $2::text[]) AS k(ns, name)
		JOIN jobs j ON j.namespace = k.ns AND j.name = k.name
		JOIN job_io io ON io.job_id = j.id AND io.direction = 'in'
		JOIN datasets d ON d.namespace = io.namespace AND d.name = io.name
		WHERE $3::interval <= '0' OR NOT EXISTS (
			SELECT 1 FROM dataset_popularity p WHERE p.dataset_id = d.id AND p.computed_at >= $4::timestamptz - $3::interval)`, customPlan, nss, names, fresh, s.now())
	if err != nil {
		return nil, fmt.Errorf("find inputs of %d jobs: %w", len(jobs), translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("find inputs of %d jobs: %w", len(jobs), translate(err))
	}
	return ids, nil
}

// usageCountsSQL counts, for the datasets $1, the live jobs reading each,
// the runs of those jobs that started since $2, and the calls since $2
// of the statements reading it.
const usageCountsSQL = `
	WITH d AS (SELECT id, namespace, name FROM datasets WHERE id = ANY($1)),
	j AS (
		SELECT d.id, count(DISTINCT io.job_id) AS jobs, count(DISTINCT r.run_id) AS runs
		FROM d
		JOIN job_io io ON io.direction = 'in' AND io.namespace = d.namespace AND io.name = d.name
		JOIN job_facts jf ON jf.job_id = io.job_id AND jf.source = io.source AND jf.removed_at IS NULL
		LEFT JOIN runs r ON r.job_id = io.job_id AND coalesce(r.started_at, r.state_at) >= $2
		GROUP BY d.id),
	q AS (
		SELECT qr.dataset_id AS id, sum(qs.reads) AS queries
		FROM query_reads qr
		JOIN query_stats qs ON qs.source = qr.source AND qs.namespace = qr.namespace
			AND qs.database = qr.database AND qs.queryid = qr.queryid
		WHERE qr.dataset_id = ANY($1) AND qs.observed_at >= $2
		GROUP BY qr.dataset_id)
	SELECT d.id, coalesce(j.jobs, 0), coalesce(j.runs, 0), coalesce(q.queries, 0)::bigint
	FROM d LEFT JOIN j ON j.id = d.id LEFT JOIN q ON q.id = d.id`

// RefreshPopularity recomputes the popularity of the datasets ids (every
// dataset with any usage when ids is nil) from their usage in the window
// ending now, in two statements. The home page's popular order and the
// search index read the score it stores; a dataset's page counts afresh.
func (s *Store) RefreshPopularity(ctx context.Context, ids []int64) error {
	now := s.now()
	if ids == nil {
		rows, err := s.pool.Query(ctx, `
			SELECT dataset_id FROM dataset_popularity
			UNION SELECT dataset_id FROM query_reads
			UNION SELECT d.id FROM datasets d JOIN job_io io ON io.direction = 'in' AND io.namespace = d.namespace AND io.name = d.name`)
		if err != nil {
			return fmt.Errorf("refresh popularity: %w", translate(err))
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return fmt.Errorf("refresh popularity: %w", translate(err))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, usageCountsSQL, customPlan, ids, now.Add(-catalog.UsageWindow))
	if err != nil {
		return fmt.Errorf("refresh popularity of %d datasets: %w", len(ids), translate(err))
	}
	var (
		id, runs, queries int64
		jobs              int
		upID              []int64
		upJobs            []int32
		upRuns, upQueries []int64
		upScore           []float64
		zero              []int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &jobs, &runs, &queries}, func() error {
		if jobs == 0 && runs == 0 && queries == 0 {
			zero = append(zero, id)
			return nil
		}
		upID = append(upID, id)
		upJobs = append(upJobs, int32(jobs))
		upRuns = append(upRuns, runs)
		upQueries = append(upQueries, queries)
		upScore = append(upScore, catalog.Popularity(jobs, runs, queries))
		return nil
	}); err != nil {
		return fmt.Errorf("refresh popularity of %d datasets: %w", len(ids), translate(err))
	}
	b := &pgx.Batch{}
	// A dataset nobody reads any more keeps a row with a zero score once,
	// so that the search index (PopularityComputedSince) learns it; the
	// next refresh that finds it unread deletes the row.
	b.Queue(`DELETE FROM dataset_popularity WHERE dataset_id = ANY($1) AND score = 0`, zero)
	b.Queue(`UPDATE dataset_popularity SET jobs = 0, runs = 0, queries = 0, score = 0, computed_at = $2
		WHERE dataset_id = ANY($1) AND score <> 0`, zero, now)
	b.Queue(`
		INSERT INTO dataset_popularity (dataset_id, jobs, runs, queries, score, computed_at)
		SELECT *, $6::timestamptz FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::float8[])
		ON CONFLICT (dataset_id) DO UPDATE SET jobs = excluded.jobs, runs = excluded.runs,
			queries = excluded.queries, score = excluded.score, computed_at = excluded.computed_at`,
		upID, upJobs, upRuns, upQueries, upScore, now)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("store popularity of %d datasets: %w", len(ids), translate(err))
	}
	return nil
}

// PopularityComputedSince returns when the popularity of each dataset
// was computed, for those computed at or after since (every dataset with
// a popularity when since is zero): the search index re-reads their
// documents. Datasets nobody reads any more are among them once, with a
// zero score (see RefreshPopularity).
func (s *Store) PopularityComputedSince(ctx context.Context, since time.Time) (map[int64]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT dataset_id, computed_at FROM dataset_popularity WHERE computed_at >= $1`, since)
	if err != nil {
		return nil, fmt.Errorf("datasets whose popularity changed: %w", translate(err))
	}
	out := map[int64]time.Time{}
	var (
		id int64
		at time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
		out[id] = at
		return nil
	}); err != nil {
		return nil, fmt.Errorf("datasets whose popularity changed: %w", translate(err))
	}
	return out, nil
}

// PopularityComputedLast returns when a popularity was last computed,
// zero if never: what a search index built now has read.
func (s *Store) PopularityComputedLast(ctx context.Context) (time.Time, error) {
	var at *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT max(computed_at) FROM dataset_popularity`).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("last popularity: %w", translate(err))
	}
	if at == nil {
		return time.Time{}, nil
	}
	return *at, nil
}

// UsageOf returns the usage of the datasets ids in the window ending at
// now, counted afresh, in one round trip however many ids there are.
// Datasets nobody reads have a zero Usage (with its Window); ids of no
// dataset are left out.
func (s *Store) UsageOf(ctx context.Context, ids []int64, now time.Time) (map[int64]catalog.Usage, error) {
	since := now.Add(-catalog.UsageWindow)
	out := make(map[int64]catalog.Usage, len(ids))
	for _, id := range ids {
		out[id] = catalog.Usage{Window: catalog.UsageWindow}
	}
	if len(ids) == 0 {
		return out, nil
	}
	type stmt struct {
		queryID int64
		role    string
		query   string
		calls   int64
	}
	var (
		jobs   = map[int64][]catalog.JobUsage{}
		stmts  = map[int64][]stmt{}
		counts = map[int64][3]int64{}
		// firstSnapshot: when the statements of the dataset's database
		// were first counted, for the datasets of databases counted.
		firstSnapshot = map[int64]time.Time{}
		keys          = map[int64]catalog.Key{}
		scored        = map[int64]time.Time{}
		scores        = map[int64]float64{}
	)
	b := &pgx.Batch{}
	b.Queue(usageCountsSQL, ids, since).Query(func(rows pgx.Rows) error {
		var id, jobs, runs, queries int64
		_, err := pgx.ForEachRow(rows, []any{&id, &jobs, &runs, &queries}, func() error {
			counts[id] = [3]int64{jobs, runs, queries}
			return nil
		})
		return err
	})
	b.Queue(`
		SELECT d.id, j.namespace, j.name, count(DISTINCT r.run_id)
		FROM datasets d
		JOIN job_io io ON io.direction = 'in' AND io.namespace = d.namespace AND io.name = d.name
		JOIN job_facts jf ON jf.job_id = io.job_id AND jf.source = io.source AND jf.removed_at IS NULL
		JOIN jobs j ON j.id = io.job_id
		LEFT JOIN runs r ON r.job_id = j.id AND coalesce(r.started_at, r.state_at) >= $2
		WHERE d.id = ANY($1)
		GROUP BY d.id, j.id`, ids, since).Query(func(rows pgx.Rows) error {
		var (
			id int64
			j  catalog.JobUsage
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &j.Job.Namespace, &j.Job.Name, &j.Runs}, func() error {
			jobs[id] = append(jobs[id], j)
			return nil
		})
		return err
	})
	b.Queue(`
		SELECT qr.dataset_id, qs.queryid, qs.role, (array_agg(qs.query ORDER BY qs.observed_at DESC))[1], sum(qs.reads)::bigint
		FROM query_reads qr
		JOIN query_stats qs ON qs.source = qr.source AND qs.namespace = qr.namespace
			AND qs.database = qr.database AND qs.queryid = qr.queryid
		WHERE qr.dataset_id = ANY($1) AND qs.observed_at >= $2
		GROUP BY qr.dataset_id, qs.queryid, qs.role
		HAVING sum(qs.reads) > 0`, ids, since).Query(func(rows pgx.Rows) error {
		var (
			id int64
			st stmt
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &st.queryID, &st.role, &st.query, &st.calls}, func() error {
			stmts[id] = append(stmts[id], st)
			return nil
		})
		return err
	})
	// The first snapshot kept of each dataset's database (named by the
	// first part of the dataset's name), if any.
	b.Queue(`
		SELECT d.id, (SELECT min(q.observed_at) FROM query_stats q
			WHERE q.namespace = d.namespace AND q.database = split_part(d.name, '.', 1))
		FROM datasets d WHERE d.id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		var (
			id int64
			at *time.Time
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
			if at != nil {
				firstSnapshot[id] = *at
			}
			return nil
		})
		return err
	})
	b.Queue(`SELECT id, namespace, name FROM datasets WHERE id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		var (
			id int64
			k  catalog.Key
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &k.Namespace, &k.Name}, func() error {
			keys[id] = k
			return nil
		})
		return err
	})
	b.Queue(`SELECT dataset_id, score, computed_at FROM dataset_popularity WHERE dataset_id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
		var (
			id    int64
			score float64
			at    time.Time
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &score, &at}, func() error {
			scores[id], scored[id] = score, at
			return nil
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("read usage of %d datasets: %w", len(ids), translate(err))
	}
	for id, u := range out {
		if _, ok := keys[id]; !ok {
			delete(out, id)
			continue
		}
		c := counts[id]
		u.Jobs, u.Runs, u.Queries = int(c[0]), c[1], c[2]
		u.Score, u.ScoredFor = scores[id], scored[id]
		if at, ok := firstSnapshot[id]; ok {
			u.QuerySources = true
			if at.After(since) {
				u.Since = at
			}
		}
		u.TopJobs = jobs[id]
		slices.SortFunc(u.TopJobs, func(a, b catalog.JobUsage) int {
			return cmp.Or(cmp.Compare(b.Runs, a.Runs), cmp.Compare(a.Job.Namespace, b.Job.Namespace), cmp.Compare(a.Job.Name, b.Job.Name))
		})
		u.TopJobs = u.TopJobs[:min(usageTop, len(u.TopJobs))]
		byQuery := map[int64]*catalog.QueryUsage{}
		byRole := map[string]int64{}
		for _, st := range stmts[id] {
			q := byQuery[st.queryID]
			if q == nil {
				q = &catalog.QueryUsage{Query: st.query}
				byQuery[st.queryID] = q
			}
			q.Calls += st.calls
			byRole[st.role] += st.calls
		}
		for _, q := range byQuery {
			u.TopQueries = append(u.TopQueries, *q)
		}
		slices.SortFunc(u.TopQueries, func(a, b catalog.QueryUsage) int {
			return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Query, b.Query))
		})
		u.TopQueries = u.TopQueries[:min(usageTop, len(u.TopQueries))]
		for r, n := range byRole {
			u.TopRoles = append(u.TopRoles, catalog.RoleUsage{Role: r, Calls: n})
		}
		slices.SortFunc(u.TopRoles, func(a, b catalog.RoleUsage) int {
			return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Role, b.Role))
		})
		u.TopRoles = u.TopRoles[:min(usageTop, len(u.TopRoles))]
		out[id] = u
	}
	return out, nil
}

// PopularDatasets returns the ids of at most limit live datasets with the
// highest popularity scores, best first: the home page's "Most read" list.
// Datasets nobody reads are not among them.
func (s *Store) PopularDatasets(ctx context.Context, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.id FROM dataset_popularity p JOIN datasets d ON d.id = p.dataset_id
		WHERE d.removed_at IS NULL AND p.score > 0
		ORDER BY p.score DESC, d.namespace, d.name LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list popular datasets: %w", translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list popular datasets: %w", translate(err))
	}
	return ids, nil
}
