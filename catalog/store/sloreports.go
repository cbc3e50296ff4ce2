package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/slo"
)

// This file keeps evaluated SLO reports and anomalies (slo_evaluations,
// slo_reports, slo_report_days): what DatasetSLOs and DatasetAnomalies
// compute, stored by the follower of the change log (catalog/sloreport)
// so that a dataset page reads them instead of evaluating them.

// MaxEvaluationAge is how old a stored evaluation may be for a read to use
// it: SLOs and anomalies move with time alone (data goes stale without
// any change), and the evaluator re-evaluates every dataset more often
// than this (sloreport.DefaultRefresh).
const MaxEvaluationAge = 10 * time.Minute

// Evaluation is a dataset's SLO reports and anomalies as evaluated at
// EvaluatedAt.
type Evaluation struct {
	SLOs      []SLOReport
	Anomalies []Anomaly
	// EvaluatedAt is when they were evaluated: the time of the read, or of
	// the stored evaluation.
	EvaluatedAt time.Time
	// Stored says they were read as stored, not evaluated for this read.
	Stored bool
}

// EvaluateDatasets evaluates, at now, the SLOs (see DatasetSLOs) and the
// anomalies (see DatasetAnomalies) of each dataset of keys.
func (s *Store) EvaluateDatasets(ctx context.Context, keys []catalog.Key, declared []slo.SLO, now time.Time) (map[catalog.Key]Evaluation, error) {
	reports, err := s.DatasetSLOs(ctx, keys, declared, now)
	if err != nil {
		return nil, err
	}
	found, err := s.DatasetAnomalies(ctx, keys, now)
	if err != nil {
		return nil, err
	}
	out := make(map[catalog.Key]Evaluation, len(keys))
	for _, k := range keys {
		out[k] = Evaluation{SLOs: reports[k], Anomalies: found[k], EvaluatedAt: now}
	}
	return out, nil
}

// Evaluations returns the SLO reports and anomalies of each dataset of
// keys at now: the stored evaluation where it is current, else evaluated
// now (EvaluateDatasets). A stored evaluation is current when no change
// to the dataset, nor any run or change of a job writing it, was logged after the
// change it accounts for; when it is less than MaxEvaluationAge from now;
// and when it used the same SLOs of declared. So a read never shows a
// report that misses a recorded result, and shows one that time alone
// moved for at most MaxEvaluationAge. It reads the stored ones in two
// statements.
func (s *Store) Evaluations(ctx context.Context, keys []catalog.Key, declared []slo.SLO, now time.Time) (map[catalog.Key]Evaluation, error) {
	return s.evaluations(ctx, keys, declared, now, evalSLOs|evalAnomalies)
}

// CurrentSLOReports is the SLO reports of Evaluations, without reading or
// evaluating anomalies.
func (s *Store) CurrentSLOReports(ctx context.Context, keys []catalog.Key, declared []slo.SLO, now time.Time) (map[catalog.Key][]SLOReport, error) {
	evals, err := s.evaluations(ctx, keys, declared, now, evalSLOs)
	if err != nil {
		return nil, err
	}
	out := make(map[catalog.Key][]SLOReport, len(evals))
	for k, e := range evals {
		out[k] = e.SLOs
	}
	return out, nil
}

// CurrentAnomalies is the anomalies of Evaluations, without reading or
// evaluating SLOs. The configuration's SLOs decide whether a stored
// evaluation is current.
func (s *Store) CurrentAnomalies(ctx context.Context, keys []catalog.Key, declared []slo.SLO, now time.Time) (map[catalog.Key][]Anomaly, error) {
	evals, err := s.evaluations(ctx, keys, declared, now, evalAnomalies)
	if err != nil {
		return nil, err
	}
	out := make(map[catalog.Key][]Anomaly, len(evals))
	for k, e := range evals {
		out[k] = e.Anomalies
	}
	return out, nil
}

// What evaluations reads.
const (
	evalSLOs = 1 << iota
	evalAnomalies
)

func (s *Store) evaluations(ctx context.Context, keys []catalog.Key, declared []slo.SLO, now time.Time, parts int) (map[catalog.Key]Evaluation, error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, catalog.Key.Compare)
	keys = slices.Compact(keys)
	if len(keys) == 0 {
		return map[catalog.Key]Evaluation{}, nil
	}
	byDataset := declaredByDataset(declared)
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT k.namespace, k.name, e.dataset_id, e.seq, e.evaluated_at, e.declared_hash, e.anomalies,
		       greatest(
		         (SELECT max(c.seq) FROM change_log c WHERE c.entity = 'dataset' AND c.entity_id = e.dataset_id),
		         (SELECT max(m.seq) FROM job_io io
		          CROSS JOIN LATERAL (SELECT greatest(
		            (SELECT max(c.seq) FROM change_log c WHERE c.entity = 'run' AND c.entity_id = io.job_id),
		            (SELECT max(c.seq) FROM change_log c WHERE c.entity = 'job' AND c.entity_id = io.job_id)) AS seq) m
		          WHERE io.namespace = k.namespace AND io.name = k.name AND io.direction = 'out'))
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name
		JOIN slo_evaluations e ON e.dataset_id = d.id`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("stored slo evaluations: %w", err)
	}
	out := make(map[catalog.Key]Evaluation, len(keys))
	current := map[int64]catalog.Key{}
	var (
		k         catalog.Key
		id, seq   int64
		at        time.Time
		hash      string
		anomalies []byte
		latest    *int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &id, &seq, &at, &hash, &anomalies, &latest}, func() error {
		age := now.Sub(at)
		if (latest != nil && *latest > seq) || age >= MaxEvaluationAge || age <= -MaxEvaluationAge || hash != declaredHash(byDataset[k]) {
			return nil
		}
		e := Evaluation{EvaluatedAt: at, Stored: true}
		if parts&evalAnomalies != 0 {
			if err := json.Unmarshal(anomalies, &e.Anomalies); err != nil {
				return fmt.Errorf("anomalies of %s: %w", k, err)
			}
		}
		out[k] = e
		current[id] = k
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stored slo evaluations: %w", err)
	}
	if len(current) > 0 && parts&evalSLOs != 0 {
		ids := make([]int64, 0, len(current))
		for id := range current {
			ids = append(ids, id)
		}
		rows, err := s.pool.Query(ctx, `
			SELECT dataset_id, slo, report, error, evaluated_at FROM slo_reports
			WHERE dataset_id = ANY($1) ORDER BY dataset_id, ordinal`, ids)
		if err != nil {
			return nil, fmt.Errorf("stored slo reports: %w", err)
		}
		var (
			sloJSON, reportJSON []byte
			errText             string
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &sloJSON, &reportJSON, &errText, &at}, func() error {
			r := SLOReport{EvaluatedAt: at}
			if err := json.Unmarshal(sloJSON, &r.SLO); err != nil {
				return fmt.Errorf("slo of dataset %d: %w", id, err)
			}
			if err := json.Unmarshal(reportJSON, &r.Report); err != nil {
				return fmt.Errorf("slo report of dataset %d: %w", id, err)
			}
			if errText != "" {
				r.Err = errors.New(errText)
			}
			k := current[id]
			e := out[k]
			e.SLOs = append(e.SLOs, r)
			out[k] = e
			return nil
		}); err != nil {
			return nil, fmt.Errorf("stored slo reports: %w", err)
		}
	}
	var missing []catalog.Key
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	var (
		reports map[catalog.Key][]SLOReport
		found   map[catalog.Key][]Anomaly
	)
	if parts&evalSLOs != 0 {
		if reports, err = s.DatasetSLOs(ctx, missing, declared, now); err != nil {
			return nil, err
		}
	}
	if parts&evalAnomalies != 0 {
		if found, err = s.DatasetAnomalies(ctx, missing, now); err != nil {
			return nil, err
		}
	}
	for _, k := range missing {
		out[k] = Evaluation{SLOs: reports[k], Anomalies: found[k], EvaluatedAt: now}
	}
	return out, nil
}

// SaveEvaluations stores the evaluations of datasets, each accounting for
// the change log up to seq and made with the SLOs of declared, replacing
// older stored ones (a newer stored one is kept), and records each SLO
// report as its day's in the history (slo_report_days). Keys that name
// no dataset are skipped. It writes in one transaction.
func (s *Store) SaveEvaluations(ctx context.Context, seq int64, declared []slo.SLO, evals map[catalog.Key]Evaluation) error {
	if len(evals) == 0 {
		return nil
	}
	byDataset := declaredByDataset(declared)
	keys := make([]catalog.Key, 0, len(evals))
	for k := range evals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, catalog.Key.Compare)
	var (
		nss, names, hashes, anomalies []string
		ats                           []time.Time
	)
	for _, k := range keys {
		e := evals[k]
		a, err := json.Marshal(e.Anomalies)
		if err != nil {
			return fmt.Errorf("save anomalies of %s: %w", k, err)
		}
		if e.Anomalies == nil {
			a = []byte("[]")
		}
		nss, names = append(nss, k.Namespace), append(names, k.Name)
		hashes, anomalies, ats = append(hashes, declaredHash(byDataset[k])), append(anomalies, string(a)), append(ats, e.EvaluatedAt)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH x AS (
				SELECT d.id, d.namespace, d.name, x.at, x.hash, x.anomalies
				FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[]) AS x(namespace, name, at, hash, anomalies)
				JOIN datasets d ON d.namespace = x.namespace AND d.name = x.name
			), up AS (
				INSERT INTO slo_evaluations AS e (dataset_id, seq, evaluated_at, declared_hash, anomalies)
				SELECT id, $1, at, hash, anomalies::jsonb FROM x
				ON CONFLICT (dataset_id) DO UPDATE
					SET seq = excluded.seq, evaluated_at = excluded.evaluated_at, declared_hash = excluded.declared_hash,
					    anomalies = excluded.anomalies
					WHERE e.evaluated_at <= excluded.evaluated_at
				RETURNING dataset_id
			)
			SELECT x.id, x.namespace, x.name FROM up JOIN x ON x.id = up.dataset_id ORDER BY x.id`,
			seq, nss, names, ats, hashes, anomalies)
		if err != nil {
			return fmt.Errorf("save slo evaluations: %w", err)
		}
		var (
			ids     []int64
			written []catalog.Key
			id      int64
			k       catalog.Key
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &k.Namespace, &k.Name}, func() error {
			ids, written = append(ids, id), append(written, k)
			return nil
		}); err != nil {
			return fmt.Errorf("save slo evaluations: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM slo_reports WHERE dataset_id = ANY($1)`, ids); err != nil {
			return fmt.Errorf("replace slo reports: %w", err)
		}
		var (
			reportRows [][]any
			days       sloDayRows
		)
		for i, id := range ids {
			e := evals[written[i]]
			day := e.EvaluatedAt.UTC().Truncate(24 * time.Hour)
			for j, r := range e.SLOs {
				sloJSON, err := json.Marshal(r.SLO)
				if err != nil {
					return fmt.Errorf("save slo %q of %s: %w", r.SLO.Name, written[i], err)
				}
				reportJSON, err := json.Marshal(r.Report)
				if err != nil {
					return fmt.Errorf("save slo report %q of %s: %w", r.SLO.Name, written[i], err)
				}
				status, errText := string(r.Report.Status), ""
				var attainment, remaining, fast, slow *float64
				if r.Err != nil {
					status, errText = "error", r.Err.Error()
				} else {
					if r.Report.Total > 0 {
						attainment, remaining = &r.Report.Attainment, &r.Report.RemainingFraction
					}
					fast, slow = burnRate(r.Report, "fast"), burnRate(r.Report, "slow")
					days.add(id, day, r, attainment, remaining, e.EvaluatedAt)
				}
				reportRows = append(reportRows, []any{id, int32(j), r.SLO.Source, r.SLO.Name, string(r.SLO.Spec.Kind), status,
					attainment, remaining, fast, slow, errText, e.EvaluatedAt, string(sloJSON), string(reportJSON)})
			}
		}
		if len(reportRows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"slo_reports"},
				[]string{"dataset_id", "ordinal", "source", "name", "kind", "status", "attainment", "budget_remaining",
					"burn_fast", "burn_slow", "error", "evaluated_at", "slo", "report"}, pgx.CopyFromRows(reportRows)); err != nil {
				return fmt.Errorf("save slo reports: %w", err)
			}
		}
		if len(days.ids) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO slo_report_days AS h (dataset_id, source, name, day, kind, status, attainment, budget_remaining, good, total, evaluated_at)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::float8[],
			                     $8::float8[], $9::float8[], $10::float8[], $11::timestamptz[])
			ON CONFLICT (dataset_id, source, name, day) DO UPDATE
				SET kind = excluded.kind, status = excluded.status, attainment = excluded.attainment,
				    budget_remaining = excluded.budget_remaining, good = excluded.good, total = excluded.total,
				    evaluated_at = excluded.evaluated_at
				WHERE h.evaluated_at <= excluded.evaluated_at`,
			days.ids, days.sources, days.names, days.days, days.kinds, days.statuses, days.attainments, days.remainings,
			days.goods, days.totals, days.evaluated); err != nil {
			return fmt.Errorf("save slo report history: %w", err)
		}
		return nil
	})
}

// sloDayRows are rows of slo_report_days, as columns.
type sloDayRows struct {
	seen                            map[string]bool
	ids                             []int64
	sources, names, kinds, statuses []string
	days, evaluated                 []time.Time
	attainments, remainings         []*float64
	goods, totals                   []float64
}

// add adds the day of a report. Two SLOs of one name and source on one
// dataset (a configuration mistake) would make the statement update a
// row twice: the first is kept.
func (d *sloDayRows) add(id int64, day time.Time, r SLOReport, attainment, remaining *float64, at time.Time) {
	k := fmt.Sprint(id, "\x00", r.SLO.Source, "\x00", r.SLO.Name)
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if d.seen[k] {
		return
	}
	d.seen[k] = true
	d.ids, d.sources, d.names, d.days = append(d.ids, id), append(d.sources, r.SLO.Source), append(d.names, r.SLO.Name), append(d.days, day)
	d.kinds, d.statuses = append(d.kinds, string(r.SLO.Spec.Kind)), append(d.statuses, string(r.Report.Status))
	d.attainments, d.remainings = append(d.attainments, attainment), append(d.remainings, remaining)
	d.goods, d.totals, d.evaluated = append(d.goods, r.Report.Good), append(d.totals, r.Report.Total), append(d.evaluated, at)
}

// burnRate is the long-span burn rate of a report's alert of that name,
// or nil without one.
func burnRate(r slo.Report, name string) *float64 {
	for _, b := range r.Burns {
		if b.Name == name {
			rate := b.LongRate
			return &rate
		}
	}
	return nil
}

// StaleEvaluations returns up to limit datasets whose stored evaluation
// was made before before, oldest first: time alone has moved them.
func (s *Store) StaleEvaluations(ctx context.Context, before time.Time, limit int) ([]catalog.Key, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.namespace, d.name FROM slo_evaluations e JOIN datasets d ON d.id = e.dataset_id
		WHERE e.evaluated_at < $1 ORDER BY e.evaluated_at, e.dataset_id LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("stale slo evaluations: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Key, error) {
		var k catalog.Key
		err := row.Scan(&k.Namespace, &k.Name)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("stale slo evaluations: %w", err)
	}
	return keys, nil
}

// SLODay is an SLO's report as last evaluated on one UTC day.
type SLODay struct {
	Day    time.Time
	Kind   slo.Kind
	Status string
	// Attainment and BudgetRemaining (a share of the budget) are nil
	// when nothing was counted.
	Attainment, BudgetRemaining *float64
	Good, Total                 float64
	EvaluatedAt                 time.Time
}

// SLOHistoryPage asks for the days of one SLO of a dataset, by its source
// and name, since Since (a day), oldest first.
type SLOHistoryPage struct {
	Dataset      catalog.Key
	Source, Name string
	Since        time.Time
}

// SLOHistories reads the daily history of any number of SLOs in one
// statement. An SLO never evaluated has an empty history.
func (s *Store) SLOHistories(ctx context.Context, pages []SLOHistoryPage) (map[SLOHistoryPage][]SLODay, error) {
	n := len(pages)
	nss, names, sources, slos, since := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, p := range pages {
		nss[i], names[i], sources[i], slos[i], since[i] = p.Dataset.Namespace, p.Dataset.Name, p.Source, p.Name, p.Since
	}
	rows, err := s.pool.Query(ctx, `
		SELECT p.i, h.day, h.kind, h.status, h.attainment, h.budget_remaining, h.good, h.total, h.evaluated_at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS p(namespace, name, source, slo, since, i)
		JOIN datasets d ON d.namespace = p.namespace AND d.name = p.name
		JOIN slo_report_days h ON h.dataset_id = d.id AND h.source = p.source AND h.name = p.slo AND h.day >= p.since::date
		ORDER BY p.i, h.day`, nss, names, sources, slos, since)
	if err != nil {
		return nil, fmt.Errorf("slo history of %d slos: %w", n, err)
	}
	out := make(map[SLOHistoryPage][]SLODay, n)
	for _, p := range pages {
		out[p] = []SLODay{}
	}
	var (
		i int
		d SLODay
	)
	if _, err := pgx.ForEachRow(rows, []any{&i, &d.Day, &d.Kind, &d.Status, &d.Attainment, &d.BudgetRemaining, &d.Good, &d.Total, &d.EvaluatedAt}, func() error {
		p := pages[i-1]
		out[p] = append(out[p], d)
		d = SLODay{}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("slo history of %d slos: %w", n, err)
	}
	return out, nil
}

// SLOEvaluatorSeq returns how far the SLO evaluator has read the change
// log: 0 before it first ran.
func (s *Store) SLOEvaluatorSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM slo_evaluator`).Scan(&seq)
	if errors.Is(err, catalog.ErrNotFound) { // the pool translates pgx.ErrNoRows
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read slo evaluator position: %w", err)
	}
	return seq, nil
}

// sloEvaluatorLock is held, for a session, by the replica evaluating.
const sloEvaluatorLock = 0x736c6f6576616c

// LockSLOEvaluator takes the SLO evaluator's advisory lock on a connection
// of its own, if no other replica holds it, and returns its release. When
// another holds it, ok is false: one replica evaluates at a time, since
// every replica follows the same change log and would evaluate and write
// the same datasets.
func (s *Store) LockSLOEvaluator(ctx context.Context) (release func(), ok bool, err error) {
	return s.tryLock(ctx, sloEvaluatorLock, "slo evaluator")
}

// SetSLOEvaluatorSeq records that the SLO evaluator has applied the change
// log up to seq. It never moves back.
func (s *Store) SetSLOEvaluatorSeq(ctx context.Context, seq int64) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO slo_evaluator (seq) VALUES ($1)
		ON CONFLICT (singleton) DO UPDATE SET seq = GREATEST(slo_evaluator.seq, excluded.seq)`, seq)
	if err != nil {
		return fmt.Errorf("record slo evaluator position %d: %w", seq, err)
	}
	return nil
}

// declaredByDataset groups the configuration's SLOs by dataset.
func declaredByDataset(declared []slo.SLO) map[catalog.Key][]slo.SLO {
	out := map[catalog.Key][]slo.SLO{}
	for _, d := range declared {
		out[d.Dataset] = append(out[d.Dataset], d)
	}
	return out
}

// declaredHash is a digest of a dataset's SLOs of the configuration, ""
// for none.
func declaredHash(declared []slo.SLO) string {
	if len(declared) == 0 {
		return ""
	}
	b, err := json.Marshal(declared)
	if err != nil { // plain values: cannot happen
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// StoredEvaluation is a dataset's SLO reports as the evaluator stored
// them (SaveEvaluations).
type StoredEvaluation struct {
	Dataset catalog.Key
	// ID is the dataset's id, which orders evaluations of one time.
	ID          int64
	EvaluatedAt time.Time
	SLOs        []SLOReport
}

// StoredEvaluationsAfter reads, in the order of their evaluation time
// then dataset id, up to limit datasets' stored SLO reports evaluated
// after (afterAt, afterID), whatever their age, except those of skip
// (dataset id → the evaluation time already read): the incident
// detector judges what the evaluator stored rather than evaluating
// again. It reads in one statement.
func (s *Store) StoredEvaluationsAfter(ctx context.Context, afterAt time.Time, afterID int64, skip map[int64]time.Time, limit int) ([]StoredEvaluation, error) {
	skipIDs, skipAts := make([]int64, 0, len(skip)), make([]time.Time, 0, len(skip))
	for id, at := range skip {
		skipIDs, skipAts = append(skipIDs, id), append(skipAts, at)
	}
	rows, err := s.pool.Query(ctx, `
		WITH e AS (
			SELECT e.dataset_id, e.evaluated_at FROM slo_evaluations e
			WHERE (e.evaluated_at, e.dataset_id) > ($1, $2)
			  AND NOT EXISTS (SELECT 1 FROM unnest($4::bigint[], $5::timestamptz[]) AS k(id, at)
			                  WHERE k.id = e.dataset_id AND k.at = e.evaluated_at)
			ORDER BY e.evaluated_at, e.dataset_id LIMIT $3)
		SELECT d.id, d.namespace, d.name, e.evaluated_at, r.slo, r.report, r.error, r.evaluated_at
		FROM e
		JOIN datasets d ON d.id = e.dataset_id
		LEFT JOIN slo_reports r ON r.dataset_id = e.dataset_id
		ORDER BY e.evaluated_at, e.dataset_id, r.ordinal`, afterAt, afterID, limit, skipIDs, skipAts)
	if err != nil {
		return nil, fmt.Errorf("stored slo reports: %w", err)
	}
	var (
		out                 []StoredEvaluation
		id                  int64
		k                   catalog.Key
		at                  time.Time
		sloJSON, reportJSON []byte
		errText             *string
		reportAt            *time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &k.Namespace, &k.Name, &at, &sloJSON, &reportJSON, &errText, &reportAt}, func() error {
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, StoredEvaluation{Dataset: k, ID: id, EvaluatedAt: at})
		}
		if reportAt == nil {
			return nil // an evaluation without SLOs
		}
		r := SLOReport{EvaluatedAt: *reportAt}
		if err := json.Unmarshal(sloJSON, &r.SLO); err != nil {
			return fmt.Errorf("slo of dataset %d: %w", id, err)
		}
		if err := json.Unmarshal(reportJSON, &r.Report); err != nil {
			return fmt.Errorf("slo report of dataset %d: %w", id, err)
		}
		if errText != nil && *errText != "" {
			r.Err = errors.New(*errText)
		}
		e := &out[len(out)-1]
		e.SLOs = append(e.SLOs, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stored slo reports: %w", translate(err))
	}
	return out, nil
}
