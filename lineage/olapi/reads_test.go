package olapi_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/store"
)

// Runs, read as the API reads them.

// runByID reads one run; a run not recorded is catalog.ErrNotFound.
func runByID(ctx context.Context, st *store.Store, id string) (catalog.Run, error) {
	runs, err := st.RunsByIDs(ctx, []string{id})
	if err != nil {
		return catalog.Run{}, err
	}
	r, ok := runs[id]
	if !ok {
		return catalog.Run{}, fmt.Errorf("run %s: %w", id, catalog.ErrNotFound)
	}
	return r, nil
}

// jobRuns reads the newest limit runs of a job, newest first.
func jobRuns(ctx context.Context, st *store.Store, job catalog.JobKey, limit int) ([]catalog.Run, error) {
	p := store.RunPage{Job: job, Limit: limit}
	pages, err := st.RunPages(ctx, []store.RunPage{p})
	return pages[p], err
}

// childRuns reads the runs a run started, by job.
func childRuns(ctx context.Context, st *store.Store, id string) ([]catalog.Run, error) {
	children, err := st.ChildRunsOf(ctx, []string{id})
	return children[id], err
}

// What the receiver recorded that neither the portal nor the API reads
// whole, read from its tables: each event's outcome, a dataset's history
// of quality results and metrics.

// eventErrors returns the errors recorded on processed events, by id.
func eventErrors(ctx context.Context, st *store.Store) (map[int64]string, error) {
	rows, err := st.Pool().Query(ctx, `SELECT id, error FROM openlineage_events WHERE error <> ''`)
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	var (
		id  int64
		msg string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &msg}, func() error { out[id] = msg; return nil })
	return out, err
}

// pendingEvents counts the events not processed yet.
func pendingEvents(ctx context.Context, st *store.Store) (int, error) {
	var n int
	err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM openlineage_events WHERE processed_at IS NULL`).Scan(&n)
	return n, err
}

// qualityResults returns the results of every check on a dataset, newest
// first.
func qualityResults(ctx context.Context, st *store.Store, key catalog.Key) ([]catalog.Sourced[catalog.QualityResult], error) {
	rows, err := st.Pool().Query(ctx, `
		SELECT source, check_name, run_id, status, failures, message, started_at, duration, recorded_at
		FROM quality_results WHERE dataset_namespace = $1 AND dataset_name = $2
		ORDER BY started_at DESC, check_name, source`, key.Namespace, key.Name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Sourced[catalog.QualityResult], error) {
		r := catalog.Sourced[catalog.QualityResult]{Value: catalog.QualityResult{Dataset: key}}
		v := &r.Value
		err := row.Scan(&r.Source, &v.Check, &v.RunID, &v.Status, &v.Failures, &v.Message, &v.StartedAt, &v.Duration, &r.UpdatedAt)
		return r, err
	})
}

// metricsHistory returns a dataset's metrics observations, newest first,
// and of one time what was written before what was read.
func metricsHistory(ctx context.Context, st *store.Store, key catalog.Key) ([]catalog.Sourced[catalog.DatasetMetrics], error) {
	rows, err := st.Pool().Query(ctx, `
		SELECT source, observed_at, direction, run_id, job_namespace, job_name, row_count, bytes, file_count, column_metrics, recorded_at
		FROM dataset_metrics WHERE namespace = $1 AND name = $2
		ORDER BY observed_at DESC, direction DESC, source, run_id, job_namespace, job_name`, key.Namespace, key.Name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Sourced[catalog.DatasetMetrics], error) {
		m := catalog.Sourced[catalog.DatasetMetrics]{Value: catalog.DatasetMetrics{Dataset: key}}
		v := &m.Value
		err := row.Scan(&m.Source, &v.ObservedAt, &v.Direction, &v.RunID, &v.Job.Namespace, &v.Job.Name,
			&v.RowCount, &v.Bytes, &v.FileCount, &v.Columns, &m.UpdatedAt)
		if len(v.Columns) == 0 {
			v.Columns = nil
		}
		return m, err
	})
}
