package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// producerRun is a run of a job writing a dataset, as SLOs and anomalies
// read it.
type producerRun struct {
	Job                      catalog.JobKey
	Started                  time.Time // started_at, else state_at
	Ended                    *time.Time
	State                    string
	NominalStart, NominalEnd *time.Time
}

// producerRuns calls f with each run matching where of each job writing
// each dataset of keys (nss, names), job by job in the order of its runs'
// state_at. where is a condition on runs r whose parameters start at $3
// (args). The runs are read once per job, not once per dataset the job
// writes: joined to every output, the runs of a job writing 500 datasets
// came back 500 times each (80,000 rows, sorted on disk, for a batch of
// the SLO evaluator in make loadtest).
func (s *Store) producerRuns(ctx context.Context, nss, names []string, where string, args []any, f func(k catalog.Key, r producerRun)) error {
	type producer struct {
		id     int64
		source string
	}
	rows, err := s.pool.Query(ctx, `
		SELECT io.namespace, io.name, io.job_id, io.source, j.namespace, j.name
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN job_io io ON io.namespace = k.namespace AND io.name = k.name AND io.direction = 'out'
		JOIN jobs j ON j.id = io.job_id`, customPlan, nss, names)
	if err != nil {
		return fmt.Errorf("jobs writing %d datasets: %w", len(nss), translate(err))
	}
	var (
		k       catalog.Key
		p       producer
		job     catalog.JobKey
		writes  = map[producer][]catalog.Key{}
		jobs    = map[producer]catalog.JobKey{}
		ids     []int64
		sources []string
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &p.id, &p.source, &job.Namespace, &job.Name}, func() error {
		if _, ok := jobs[p]; !ok {
			jobs[p] = job
			ids, sources = append(ids, p.id), append(sources, p.source)
		}
		writes[p] = append(writes[p], k)
		return nil
	}); err != nil {
		return fmt.Errorf("jobs writing %d datasets: %w", len(nss), translate(err))
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err = s.pool.Query(ctx, `
		SELECT r.job_id, r.source, coalesce(r.started_at, r.state_at), r.ended_at, r.state, r.nominal_start, r.nominal_end
		FROM unnest($1::bigint[], $2::text[]) AS p(job_id, source)
		JOIN runs r ON r.job_id = p.job_id AND r.source = p.source
		WHERE `+where+`
		ORDER BY r.job_id, r.source, r.state_at, r.run_id`, append([]any{customPlan, ids, sources}, args...)...)
	if err != nil {
		return fmt.Errorf("runs of %d jobs: %w", len(ids), translate(err))
	}
	var r producerRun
	if _, err := pgx.ForEachRow(rows, []any{&p.id, &p.source, &r.Started, &r.Ended, &r.State, &r.NominalStart, &r.NominalEnd}, func() error {
		r.Job = jobs[p]
		for _, k := range writes[p] {
			f(k, r)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("runs of %d jobs: %w", len(ids), translate(err))
	}
	return nil
}
