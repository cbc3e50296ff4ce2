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

// This file reads and writes runs of jobs (runs): in batches by id, by
// job a page at a time, by parent.

// runs reads the runs matching where, a condition on runs r and their
// jobs j, which may end with an ORDER BY and a LIMIT.
func (s *Store) runs(ctx context.Context, where string, args ...any) ([]catalog.Run, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.run_id, j.namespace, j.name, r.state, r.state_at, r.started_at, r.ended_at, r.error_message,
		       r.parent_run_id, r.parent_job_namespace, r.parent_job_name, r.nominal_start, r.nominal_end
		FROM runs r JOIN jobs j ON j.id = r.job_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Run, error) {
		var r catalog.Run
		err := row.Scan(&r.ID, &r.Job.Namespace, &r.Job.Name, &r.State, &r.StateAt, &r.StartedAt, &r.EndedAt, &r.ErrorMessage,
			&r.ParentID, &r.ParentJob.Namespace, &r.ParentJob.Name, &r.NominalStart, &r.NominalEnd)
		return r, err
	})
}

// RunsByIDs returns the runs ids, in one statement; ids of no run are
// absent.
func (s *Store) RunsByIDs(ctx context.Context, ids []string) (map[string]catalog.Run, error) {
	if len(ids) == 0 {
		return map[string]catalog.Run{}, nil
	}
	runs, err := s.runs(ctx, `r.run_id = ANY($1)`, customPlan, ids)
	if err != nil {
		return nil, fmt.Errorf("read %d runs: %w", len(ids), err)
	}
	out := make(map[string]catalog.Run, len(runs))
	for _, r := range runs {
		out[r.ID] = r
	}
	return out, nil
}

// LatestRuns returns the newest run (see compareRuns) of each of
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

// RunPage asks for one page of a job's runs, newest first (see
// compareRuns): at most Limit runs after the run AfterID, which changed
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

// compareRuns orders runs newest first, by the time of their last state
// change, then by id, as the statements of this file do.
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

// ingestRuns records the runs of h that are not recorded as they are:
// new runs, and runs whose state, times or message changed. Runs of jobs
// that do not exist, or under the id of another job's run, are recorded
// as errors on run.
func (s *Store) ingestRuns(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) error {
	if len(h.Runs) == 0 {
		return nil
	}
	ids := make([]string, len(h.Runs))
	for i, r := range h.Runs {
		ids[i] = r.ID
	}
	old, err := s.RunsByIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("ingest runs of %s: %w", h.Source, err)
	}
	var todo []catalog.Run
	for _, r := range h.Runs {
		if o, ok := old[r.ID]; !ok || !sameRun(o, r) {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var errs []error
	if err := s.upsertRuns(ctx, h.Source, todo, &errs); err != nil {
		return err
	}
	for _, err := range errs {
		run.Errors = append(run.Errors, catalog.CrawlError{Object: "runs", Message: err.Error()})
	}
	run.Counts.Runs += len(todo) - len(errs)
	return nil
}

// sameRun reports whether the stored run a says what r says, at the
// precision PostgreSQL stores times.
func sameRun(a, r catalog.Run) bool {
	us := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		v := p.Truncate(time.Microsecond)
		return &v
	}
	eq := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	return a.Job == r.Job && a.State == r.State && a.StateAt.Equal(r.StateAt.Truncate(time.Microsecond)) &&
		eq(a.StartedAt, us(r.StartedAt)) && eq(a.EndedAt, us(r.EndedAt)) && a.ErrorMessage == r.ErrorMessage &&
		a.ParentID == r.ParentID && a.ParentJob == r.ParentJob && eq(a.NominalStart, us(r.NominalStart)) && eq(a.NominalEnd, us(r.NominalEnd))
}

// upsertRuns records runs, folding several events about one run first.
// Runs of jobs that do not exist are reported in errs.
func (s *Store) upsertRuns(ctx context.Context, source string, runs []catalog.Run, errs *[]error) error {
	byID := map[string]catalog.Run{}
	var order []string
	for _, r := range runs {
		if err := r.Validate(); err != nil {
			*errs = append(*errs, err)
			continue
		}
		if old, ok := byID[r.ID]; ok {
			if old.Job != r.Job {
				*errs = append(*errs, runConflict(r.ID, old.Job, r.Job))
				continue
			}
			byID[r.ID] = old.Merge(r)
			continue
		}
		byID[r.ID] = r
		order = append(order, r.ID)
	}
	if len(order) == 0 {
		return nil
	}
	n := len(order)
	var (
		ids, jns, jnames, states, errMsgs, pids, pns, pnames = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		stateAt                                              = make([]time.Time, n)
		started, ended, nomStart, nomEnd                     = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	)
	for i, id := range order {
		r := byID[id]
		ids[i], jns[i], jnames[i], states[i], errMsgs[i] = r.ID, r.Job.Namespace, r.Job.Name, string(r.State), r.ErrorMessage
		pids[i], pns[i], pnames[i] = r.ParentID, r.ParentJob.Namespace, r.ParentJob.Name
		stateAt[i], started[i], ended[i], nomStart[i], nomEnd[i] = r.StateAt, r.StartedAt, r.EndedAt, r.NominalStart, r.NominalEnd
	}
	now := s.now()
	var failed []error
	// The CASE mirrors catalog.Run.Supersedes: a terminal state beats START
	// and RUNNING, then the later event wins.
	// The runs recorded are logged as "run" changes of their jobs, in the
	// same transaction, so that the incident detector hears of failures.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
		WITH x AS (
			SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
				$8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[])
				AS x(id, jns, jname, state, state_at, started, ended, err, pid, pns, pname, nstart, nend)
		), ins AS (
			INSERT INTO runs AS r (run_id, job_id, source, state, state_at, started_at, ended_at, error_message,
				parent_run_id, parent_job_namespace, parent_job_name, nominal_start, nominal_end, updated_at)
			SELECT x.id, j.id, $1, x.state, x.state_at, x.started, x.ended, x.err, x.pid, x.pns, x.pname, x.nstart, x.nend, $15
			FROM x JOIN jobs j ON j.namespace = x.jns AND j.name = x.jname
			ON CONFLICT (run_id) DO UPDATE SET
				state = CASE WHEN run_supersedes(r.state, r.state_at, excluded.state, excluded.state_at) THEN excluded.state ELSE r.state END,
				state_at = CASE WHEN run_supersedes(r.state, r.state_at, excluded.state, excluded.state_at) THEN excluded.state_at ELSE r.state_at END,
				ended_at = CASE WHEN run_supersedes(r.state, r.state_at, excluded.state, excluded.state_at)
					THEN coalesce(excluded.ended_at, r.ended_at) ELSE coalesce(r.ended_at, excluded.ended_at) END,
				started_at = LEAST(r.started_at, excluded.started_at),
				error_message = coalesce(nullif(excluded.error_message, ''), r.error_message),
				parent_run_id = coalesce(nullif(excluded.parent_run_id, ''), r.parent_run_id),
				parent_job_namespace = CASE WHEN excluded.parent_run_id <> '' THEN excluded.parent_job_namespace ELSE r.parent_job_namespace END,
				parent_job_name = CASE WHEN excluded.parent_run_id <> '' THEN excluded.parent_job_name ELSE r.parent_job_name END,
				nominal_start = coalesce(excluded.nominal_start, r.nominal_start),
				nominal_end = coalesce(excluded.nominal_end, r.nominal_end),
				updated_at = excluded.updated_at
			WHERE r.job_id = excluded.job_id
			RETURNING run_id, job_id
		)
		SELECT x.id, coalesce(ins.job_id, 0), coalesce(oj.namespace, ''), coalesce(oj.name, '')
		FROM x LEFT JOIN ins ON ins.run_id = x.id
		LEFT JOIN runs o ON o.run_id = x.id AND ins.run_id IS NULL LEFT JOIN jobs oj ON oj.id = o.job_id`,
			source, ids, jns, jnames, states, stateAt, started, ended, errMsgs, pids, pns, pnames, nomStart, nomEnd, now)
		if err != nil {
			return err
		}
		var (
			id      string
			jobID   int64
			owner   catalog.JobKey
			changes [][]any
			logged  = map[int64]bool{}
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &jobID, &owner.Namespace, &owner.Name}, func() error {
			switch {
			case jobID != 0:
				if !logged[jobID] {
					logged[jobID] = true
					job := byID[id].Job
					changes = append(changes, []any{"run", jobID, job.Namespace, job.Name, string(catalog.ChangeRun), source, now})
				}
			case owner.Name != "" && owner != byID[id].Job:
				failed = append(failed, runConflict(id, owner, byID[id].Job))
			default:
				failed = append(failed, fmt.Errorf("run %s: job %s unknown: %w", id, byID[id].Job, catalog.ErrInvalid))
			}
			return nil
		}); err != nil {
			return err
		}
		return appendChanges(ctx, tx, changes)
	})
	if err != nil {
		return fmt.Errorf("record %d runs of %s: %w", n, source, translate(err))
	}
	*errs = append(*errs, failed...)
	return nil
}

// runConflict is the error of a run of job under a run id that belongs to
// owner. It is catalog.ErrInvalid like the other items a push may skip.
func runConflict(id string, owner, job catalog.JobKey) error {
	return fmt.Errorf("run %s belongs to job %s: not recorded as a run of job %s: %w", id, owner, job, catalog.ErrInvalid)
}

// RecentRuns returns runs of every job newest first (see compareRuns), of
// one state when state is not "", at most limit of them after the run
// afterID that changed state at afterAt (afterID "" is the start): the
// runs page, a page at a time.
func (s *Store) RecentRuns(ctx context.Context, state catalog.RunState, afterAt time.Time, afterID string, limit int) ([]catalog.Run, error) {
	if state != "" && !state.Valid() {
		return nil, fmt.Errorf("recent runs: unknown run status %q: %w", state, catalog.ErrInvalid)
	}
	if limit <= 0 {
		limit = 50
	}
	var at *time.Time
	if afterID != "" {
		at = &afterAt
	}
	runs, err := s.runs(ctx, `($1 = '' OR r.state = $1)
		AND ($2::timestamptz IS NULL OR r.state_at < $2 OR (r.state_at = $2 AND r.run_id > $3))
		ORDER BY r.state_at DESC, r.run_id LIMIT $4`, string(state), at, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("recent runs: %w", err)
	}
	return runs, nil
}

// RunDurations returns the runs of a job newest first, at most limit, for
// judging which of them were late (catalog.LateThreshold).
func (s *Store) RunDurations(ctx context.Context, job catalog.JobKey, limit int) ([]catalog.Run, error) {
	runs, err := s.runs(ctx, `j.namespace = $1 AND j.name = $2 ORDER BY r.state_at DESC, r.run_id LIMIT $3`, job.Namespace, job.Name, limit)
	if err != nil {
		return nil, fmt.Errorf("runs of %s: %w", job, err)
	}
	return runs, nil
}

// RunningRuns returns the latest run (see compareRuns) of each job whose
// latest run has started and not ended, in one statement.
func (s *Store) RunningRuns(ctx context.Context) (map[catalog.JobKey]catalog.Run, error) {
	runs, err := s.runs(ctx, `r.state IN ('START', 'RUNNING') AND r.run_id IN (
		SELECT (SELECT l.run_id FROM runs l WHERE l.job_id = c.job_id ORDER BY l.state_at DESC, l.run_id LIMIT 1)
		FROM (SELECT DISTINCT job_id FROM runs WHERE state IN ('START', 'RUNNING')) c)`)
	if err != nil {
		return nil, fmt.Errorf("running runs: %w", err)
	}
	out := make(map[catalog.JobKey]catalog.Run, len(runs))
	for _, r := range runs {
		out[r.Job] = r
	}
	return out, nil
}
