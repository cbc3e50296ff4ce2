package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"almanac/catalog"
)

// A crawl holds its source's crawl lock, a PostgreSQL session advisory
// lock on a connection of its own, from before it records its run as
// running until after it records the outcome. So two crawls of a source
// never overlap, whichever replica or command starts them; and a run
// still recorded as running whose source's lock no session holds was left
// by a process that is gone, since PostgreSQL releases a session's locks
// when its connection ends, at once when the process is killed.
// FailInterruptedRuns marks such runs failed. Variables for tests.
var (
	// crawlLockWait is how long a crawl waits for its source's lock: for
	// another crawl to finish, or FailInterruptedRuns's brief hold.
	crawlLockWait = 5 * time.Second
	// crawlLockCheck is how often a crawl checks that the connection
	// holding its lock is alive. A crawl that lost it stops: its run would
	// be taken for interrupted and another crawl could start.
	crawlLockCheck = 10 * time.Second
)

// ErrCrawlRunning says that a source was not crawled because another
// crawl of it is running.
var ErrCrawlRunning = fmt.Errorf("another crawl of the source is running: %w", catalog.ErrConflict)

// interrupted is the error recorded on a run whose crawl's process is gone.
const interrupted = "interrupted: the process crawling the source stopped (killed, crashed or cut off from the database) before the crawl finished"

// crawlLockName names the crawl lock of source; the lock's key is its
// hashtextextended, here and in FailInterruptedRuns.
func crawlLockName(source string) string { return "almanac crawl " + source }

// Crawl runs one crawl of a source from start to finish: it takes the
// source's crawl lock, records the run, calls harvest, ingests what it
// returns and records the outcome. A harvest that fails, panics or
// returns nothing usable leaves every stored fact as it was. While
// another crawl of the source runs, Crawl records nothing and returns
// ErrCrawlRunning.
func (s *Store) Crawl(ctx context.Context, source string, harvest func(context.Context) (catalog.Harvest, error)) (catalog.CrawlRun, error) {
	return s.CrawlReporting(ctx, source, harvest, nil)
}

// CrawlReporting is Crawl, calling progress (when not nil) with the run as
// it goes: once the harvest is read (Counts.Total set) and after every
// ingest batch (Counts.Seen of Counts.Total). The running run's counts
// are recorded in crawl_runs at the same points, so that every replica's
// sources page shows how far a crawl has come, whichever process runs it.
func (s *Store) CrawlReporting(ctx context.Context, source string, harvest func(context.Context) (catalog.Harvest, error), progress func(catalog.CrawlRun)) (catalog.CrawlRun, error) {
	ctx, unlock, err := s.lockCrawl(ctx, source)
	if err != nil {
		return catalog.CrawlRun{}, fmt.Errorf("crawl %s: %w", source, err)
	}
	defer unlock()
	run, err := s.startRun(ctx, source)
	if err != nil {
		return run, err
	}
	h, herr := safeHarvest(ctx, harvest)
	run.Errors = append(run.Errors, h.Errors...)
	if herr != nil {
		herr = withCause(ctx, herr)
		run.Status = catalog.CrawlFailed
		run.Errors = append(run.Errors, catalog.CrawlError{Object: source, Message: herr.Error()})
		if err := s.finishRun(ctx, &run); err != nil {
			return run, errors.Join(herr, err)
		}
		return run, fmt.Errorf("crawl %s: %w", source, herr)
	}
	h.Source = source
	run.Counts.Total = len(h.Datasets)
	report := func() {
		// Progress is worth no failed crawl: a failure to record it is
		// met again, and reported, by the next write.
		_, _ = s.pool.Exec(ctx, `UPDATE crawl_runs SET counts = $2 WHERE id = $1 AND status = 'running'`, run.ID, run.Counts)
		if progress != nil {
			progress(run)
		}
	}
	report()
	ierr := s.ingestReporting(ctx, h, &run, report)
	if ierr == nil {
		// A push refreshes usage its own way (ApplyPush).
		ierr = s.ingestUsage(ctx, h)
	}
	run.Counts.Total = 0 // progress, of a running crawl only
	if ierr != nil {
		ierr = withCause(ctx, ierr)
		run.Status = catalog.CrawlFailed
		run.Errors = append(run.Errors, catalog.CrawlError{Object: source, Message: ierr.Error()})
	}
	if err := s.finishRun(ctx, &run); err != nil {
		return run, errors.Join(ierr, err)
	}
	if ierr != nil {
		return run, fmt.Errorf("crawl %s: %w", source, ierr)
	}
	return run, nil
}

// withCause adds to err why ctx ended, when it ended for a reason other
// than a plain cancellation (a lost crawl lock).
func withCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) && !errors.Is(cause, ctx.Err()) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

// lockCrawl takes the crawl lock of source on a connection of its own. It
// returns ctx, ended should that connection be lost, and the function
// that releases the lock.
func (s *Store) lockCrawl(ctx context.Context, source string) (context.Context, func(), error) {
	cc := s.pool.Config().ConnConfig.Copy()
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	maps.Copy(cc.RuntimeParams, map[string]string{
		"application_name": crawlLockName(source),
		"lock_timeout":     fmt.Sprintf("%dms", crawlLockWait.Milliseconds()),
		// A host that vanishes without closing its connections lets go
		// of the lock once the server's keepalives give up on it, in about
		// a minute rather than the system's default two hours.
		"tcp_keepalives_idle":     "30",
		"tcp_keepalives_interval": "10",
		"tcp_keepalives_count":    "3",
	})
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to take the crawl lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, crawlLockName(source)); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "55P03" { // lock_not_available
			return nil, nil, ErrCrawlRunning
		}
		return nil, nil, fmt.Errorf("take the crawl lock: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(crawlLockCheck)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			// Not ctx: a cancelled query would close the connection, and
			// with it the lock, before the crawl records its outcome.
			pingCtx, done := context.WithTimeout(context.Background(), crawlLockCheck)
			err := conn.Ping(pingCtx)
			done()
			if err != nil {
				cancel(fmt.Errorf("lost the connection holding the crawl lock: %w", err))
				return
			}
		}
	}()
	unlock := func() {
		close(stop)
		<-stopped
		cancel(nil)
		// Closing the session releases the lock too, but only once the
		// server notices; unlocking first releases it now.
		unlockCtx, done := context.WithTimeout(context.Background(), crawlLockWait)
		defer done()
		conn.Exec(unlockCtx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, crawlLockName(source))
		conn.Close(unlockCtx)
	}
	return ctx, unlock, nil
}

// FailInterruptedRuns marks failed, with an error saying they were
// interrupted, the runs recorded as running whose crawl is gone: no
// session holds their source's crawl lock, which a live crawl holds until
// it has recorded its outcome. It returns the runs it marked. Any number
// of processes may call it at any time.
func (s *Store) FailInterruptedRuns(ctx context.Context) ([]catalog.CrawlRun, error) {
	// A run is marked only while this statement holds its source's lock,
	// so a crawl cannot start meanwhile; the rows a crawl finishes between
	// this statement's snapshot and its lock are rechecked (status).
	rows, err := s.pool.Query(ctx, `
		UPDATE crawl_runs SET status = 'failed', finished_at = $1,
		       errors = errors || jsonb_build_array(jsonb_build_object('object', source, 'message', $2::text))
		WHERE status = 'running' AND pg_try_advisory_xact_lock(hashtextextended('almanac crawl ' || source, 0))
		RETURNING id, source, started_at, finished_at, status, counts, errors`,
		s.now(), interrupted)
	if err != nil {
		return nil, fmt.Errorf("fail interrupted crawl runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("fail interrupted crawl runs: %w", translate(err))
	}
	return runs, nil
}

// startRun records that a crawl of source began; its caller holds the
// source's crawl lock. A run of the source still "running" then belongs
// to a crawl whose process is gone (it held the lock), so it is marked
// interrupted first: a restart's first crawl may take the lock before
// FailInterruptedRuns, which runs only now and then, sees the dead one.
func (s *Store) startRun(ctx context.Context, source string) (catalog.CrawlRun, error) {
	run := catalog.CrawlRun{Source: source, StartedAt: s.now(), Status: catalog.CrawlRunning}
	err := s.pool.QueryRow(ctx, `
		WITH dead AS (
			UPDATE crawl_runs SET status = 'failed', finished_at = $2,
			       errors = errors || jsonb_build_array(jsonb_build_object('object', source, 'message', $3::text))
			WHERE source = $1 AND status = 'running'
		)
		INSERT INTO crawl_runs (source, started_at, status) VALUES ($1, $2, 'running') RETURNING id`,
		source, run.StartedAt, interrupted).Scan(&run.ID)
	if err != nil {
		return run, fmt.Errorf("start crawl run of %s: %w", source, translate(err))
	}
	return run, nil
}

// finishRun records the outcome of a run. Its status follows from its
// errors unless it already failed.
func (s *Store) finishRun(ctx context.Context, run *catalog.CrawlRun) error {
	now := s.now()
	run.FinishedAt = &now
	if run.Status == catalog.CrawlRunning {
		run.Status = catalog.CrawlSucceeded
		if len(run.Errors) > 0 {
			run.Status = catalog.CrawlPartial
		}
	}
	if run.Errors == nil {
		run.Errors = []catalog.CrawlError{}
	}
	// The run is recorded even if the crawl's context was cancelled.
	_, err := s.pool.Exec(context.WithoutCancel(ctx), `
		UPDATE crawl_runs SET finished_at = $2, status = $3, counts = $4, errors = $5 WHERE id = $1`,
		run.ID, now, run.Status, run.Counts, run.Errors)
	if err != nil {
		return fmt.Errorf("finish crawl run %d of %s: %w", run.ID, run.Source, translate(err))
	}
	return nil
}

func safeHarvest(ctx context.Context, harvest func(context.Context) (catalog.Harvest, error)) (h catalog.Harvest, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("crawler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return harvest(ctx)
}

// CrawlRuns lists at most limit runs of a source ("" for every source),
// newest first by start (then id), after the run before (0 for the
// newest): the portal's list of runs and the API's pages of them.
func (s *Store) CrawlRuns(ctx context.Context, source string, before int64, limit int) ([]catalog.CrawlRun, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, source, started_at, finished_at, status, counts, errors
		FROM crawl_runs
		WHERE ($1 = '' OR source = $1)
		  AND ($2 = 0 OR (started_at, id) < (SELECT started_at, id FROM crawl_runs WHERE id = $2))
		ORDER BY started_at DESC, id DESC LIMIT $3`, source, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list crawl runs: %w", err)
	}
	return pgx.CollectRows(rows, scanRun)
}

// CrawlRun returns one run.
func (s *Store) CrawlRun(ctx context.Context, id int64) (catalog.CrawlRun, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, source, started_at, finished_at, status, counts, errors
		FROM crawl_runs WHERE id = $1`, id)
	if err != nil {
		return catalog.CrawlRun{}, fmt.Errorf("get crawl run %d: %w", id, err)
	}
	run, err := pgx.CollectExactlyOneRow(rows, scanRun)
	if err != nil {
		return run, fmt.Errorf("get crawl run %d: %w", id, translate(err))
	}
	return run, nil
}

func scanRun(row pgx.CollectableRow) (catalog.CrawlRun, error) {
	var r catalog.CrawlRun
	err := row.Scan(&r.ID, &r.Source, &r.StartedAt, &r.FinishedAt, &r.Status, &r.Counts, &r.Errors)
	return r, err
}

// CrawlWarning is an error that a source's last crawl met on one dataset,
// such as view SQL the lineage parser could not resolve, with the run
// that recorded it.
type CrawlWarning struct {
	RunID     int64
	Source    string
	StartedAt time.Time
	Status    catalog.CrawlStatus
	Message   string
}

// DatasetCrawlWarnings returns the errors naming the dataset k (a
// CrawlError whose Object is k.String()) in the latest ingested run of
// each source, by source and then in the order the run met them. Only
// runs that wrote their harvest count (succeeded or partial): a running
// crawl has recorded nothing yet, and a failed one left the dataset as
// the run before described it, warnings included.
func (s *Store) DatasetCrawlWarnings(ctx context.Context, k catalog.Key) ([]CrawlWarning, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.id, r.source, r.started_at, r.status, e.message
		FROM (
			SELECT DISTINCT ON (source) id, source, started_at, status, errors
			FROM crawl_runs WHERE status IN ('succeeded', 'partial')
			ORDER BY source, started_at DESC, id DESC
		) AS r
		CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(r.errors) AS (object text, message text))
			WITH ORDINALITY AS e(object, message, n)
		WHERE e.object = $1
		ORDER BY r.source, e.n`, k.String())
	if err != nil {
		return nil, fmt.Errorf("crawl warnings of %s: %w", k, err)
	}
	ws, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CrawlWarning, error) {
		var w CrawlWarning
		err := row.Scan(&w.RunID, &w.Source, &w.StartedAt, &w.Status, &w.Message)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("crawl warnings of %s: %w", k, err)
	}
	return ws, nil
}
