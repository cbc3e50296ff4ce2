package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps incidents (incidents, incident_events): opened at most
// once per cause, acknowledged and resolved once, each step recorded in
// the incident's timeline in the same transaction.

const incidentColumns = `i.id, i.dataset_namespace, i.dataset_name, i.cause, i.cause_key, i.severity, i.title, i.detail,
	i.opened_at, i.opened_by, i.last_seen_at, i.acknowledged_at, i.acknowledged_by, i.resolved_at, i.resolved_by, i.resolution,
	i.impact, i.review`

func scanIncident(row pgx.CollectableRow) (catalog.Incident, error) {
	var i catalog.Incident
	err := row.Scan(&i.ID, &i.Dataset.Namespace, &i.Dataset.Name, &i.Cause, &i.CauseKey, &i.Severity, &i.Title, &i.Detail,
		&i.OpenedAt, &i.OpenedBy, &i.LastSeenAt, &i.AcknowledgedAt, &i.AcknowledgedBy, &i.ResolvedAt, &i.ResolvedBy, &i.Resolution,
		&i.Impact, &i.Review)
	return i, err
}

func addIncidentEvent(ctx context.Context, tx pgx.Tx, id int64, kind catalog.IncidentEventKind, actor, note string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO incident_events (incident_id, at, kind, actor, note) VALUES ($1, $2, $3, $4, $5)`,
		id, at, string(kind), actor, note)
	if err != nil {
		return fmt.Errorf("record incident %d %s: %w", id, kind, translate(err))
	}
	return nil
}

// incidentChangeRow is the change log entry of a step of incident id.
func incidentChangeRow(id int64, dataset catalog.Key, kind catalog.ChangeKind, actor string, at time.Time) []any {
	return []any{"incident", id, dataset.Namespace, dataset.Name, string(kind), catalog.IncidentActorSource(actor), at}
}

// OpenIncident opens an incident, unless one is open for the same cause
// (dataset, cause kind, cause key): then it returns that one and opened
// false, with its LastSeenAt moved up to n.SeenAt, and nothing else
// changed. Concurrent openers of one cause open it once.
func (s *Store) OpenIncident(ctx context.Context, n catalog.NewIncident) (inc catalog.Incident, opened bool, err error) {
	incs, op, err := s.OpenIncidents(ctx, []catalog.NewIncident{n})
	if err != nil {
		return catalog.Incident{}, false, err
	}
	return incs[0], op[0], nil
}

// incidentCause is what makes an incident one: at most one is open per
// cause.
type incidentCause struct {
	dataset catalog.Key
	cause   catalog.CauseKind
	key     string
}

// OpenIncidents is OpenIncident for many, in one transaction of three
// statements: incs[i] and opened[i] answer ns[i]. Several of ns with one
// cause open it once, seen at the newest of their SeenAt.
func (s *Store) OpenIncidents(ctx context.Context, ns []catalog.NewIncident) (incs []catalog.Incident, opened []bool, err error) {
	now := s.now()
	byCause := map[incidentCause]int{} // index into rows
	var rows []catalog.NewIncident
	for _, n := range ns {
		if err := n.Validate(); err != nil {
			return nil, nil, err
		}
		if n.At.IsZero() {
			n.At = now
		}
		if n.SeenAt.IsZero() {
			n.SeenAt = n.At
		}
		if n.Impact == nil {
			n.Impact = []catalog.ImpactedDataset{}
		}
		c := incidentCause{n.Dataset, n.Cause, n.CauseKey}
		if j, ok := byCause[c]; ok {
			if n.SeenAt.After(rows[j].SeenAt) {
				rows[j].SeenAt = n.SeenAt
			}
			continue
		}
		byCause[c] = len(rows)
		rows = append(rows, n)
	}
	if len(rows) == 0 {
		return nil, nil, nil
	}
	// Rows go in in one order, whoever inserts, so that concurrent
	// openers wait on each other rather than deadlock.
	slices.SortFunc(rows, func(a, b catalog.NewIncident) int {
		return cmp.Or(a.Dataset.Compare(b.Dataset), strings.Compare(string(a.Cause), string(b.Cause)), strings.Compare(a.CauseKey, b.CauseKey))
	})
	for i, r := range rows {
		byCause[incidentCause{r.Dataset, r.Cause, r.CauseKey}] = i
	}
	n := len(rows)
	var (
		nss, names, causes, keys, sevs, titles, details, bys, impacts = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ats, seens                                                    = make([]time.Time, n), make([]time.Time, n)
	)
	for i, r := range rows {
		b, err := json.Marshal(r.Impact)
		if err != nil {
			return nil, nil, fmt.Errorf("impact of incident on %s: %w", r.Dataset, err)
		}
		nss[i], names[i], causes[i], keys[i], sevs[i] = r.Dataset.Namespace, r.Dataset.Name, string(r.Cause), r.CauseKey, string(r.Severity)
		titles[i], details[i], bys[i], impacts[i], ats[i], seens[i] = r.Title, r.Detail, r.By, string(b), r.At, r.SeenAt
	}
	ids := make([]int64, n)
	isNew := make([]bool, n)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res, err := tx.Query(ctx, `
			INSERT INTO incidents AS i (dataset_namespace, dataset_name, cause, cause_key, severity, title, detail, opened_at, opened_by, last_seen_at, impact)
			SELECT x.ns, x.name, x.cause, x.ckey, x.sev, x.title, x.detail, x.at, x.by, x.seen, x.impact::jsonb
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[],
				$10::timestamptz[], $11::text[]) WITH ORDINALITY AS x(ns, name, cause, ckey, sev, title, detail, at, by, seen, impact, ord)
			ORDER BY x.ord
			ON CONFLICT (dataset_namespace, dataset_name, cause, cause_key) WHERE resolved_at IS NULL
			DO UPDATE SET last_seen_at = GREATEST(i.last_seen_at, excluded.last_seen_at)
			RETURNING i.id, i.xmax = 0, i.dataset_namespace, i.dataset_name, i.cause, i.cause_key`,
			nss, names, causes, keys, sevs, titles, details, ats, bys, seens, impacts)
		if err != nil {
			return err
		}
		var (
			id    int64
			fresh bool
			c     incidentCause
		)
		if _, err := pgx.ForEachRow(res, []any{&id, &fresh, &c.dataset.Namespace, &c.dataset.Name, &c.cause, &c.key}, func() error {
			j := byCause[c]
			ids[j], isNew[j] = id, fresh
			return nil
		}); err != nil {
			return err
		}
		var evIDs []int64
		var evAts []time.Time
		var evBys, evNotes []string
		var changes [][]any
		for j, r := range rows {
			if isNew[j] {
				evIDs, evAts, evBys, evNotes = append(evIDs, ids[j]), append(evAts, r.At), append(evBys, r.By), append(evNotes, r.Detail)
				changes = append(changes, incidentChangeRow(ids[j], r.Dataset, catalog.ChangeIncidentOpened, r.By, r.At))
			}
		}
		if len(evIDs) == 0 {
			return nil
		}
		if err := appendChanges(ctx, tx, changes); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO incident_events (incident_id, at, kind, actor, note)
			SELECT e.id, e.at, 'opened', e.by, e.note FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[]) AS e(id, at, by, note)`,
			evIDs, evAts, evBys, evNotes)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open %d incidents: %w", n, translate(err))
	}
	r, err := s.pool.Query(ctx, `SELECT `+incidentColumns+` FROM incidents i WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("open %d incidents: %w", n, err)
	}
	read, err := pgx.CollectRows(r, scanIncident)
	if err != nil {
		return nil, nil, fmt.Errorf("open %d incidents: %w", n, err)
	}
	byID := make(map[int64]catalog.Incident, len(read))
	for _, i := range read {
		byID[i.ID] = i
	}
	incs, opened = make([]catalog.Incident, len(ns)), make([]bool, len(ns))
	for k, nn := range ns {
		j := byCause[incidentCause{nn.Dataset, nn.Cause, nn.CauseKey}]
		incs[k], opened[k] = byID[ids[j]], isNew[j]
	}
	// Of several asking for one cause, the first opened it.
	seen := map[int64]bool{}
	for k := range incs {
		if seen[incs[k].ID] {
			opened[k] = false
		}
		seen[incs[k].ID] = true
	}
	return incs, opened, nil
}

// Incident returns the incident id.
func (s *Store) Incident(ctx context.Context, id int64) (catalog.Incident, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+incidentColumns+` FROM incidents i WHERE id = $1`, id)
	if err == nil {
		var inc catalog.Incident
		inc, err = pgx.CollectExactlyOneRow(rows, scanIncident)
		if err == nil {
			return inc, nil
		}
	}
	return catalog.Incident{}, fmt.Errorf("incident %d: %w", id, translate(err))
}

// authorizeIncident returns nil if p may handle incident id
// (catalog.AuthorizeIncident, on its dataset as it is now; a dataset the
// catalog no longer holds has no owners).
func (s *Store) authorizeIncident(ctx context.Context, p catalog.Principal, id int64) error {
	inc, err := s.Incident(ctx, id)
	if err != nil {
		return err
	}
	d := catalog.Dataset{Key: inc.Dataset}
	ids, err := s.DatasetIDs(ctx, []catalog.Key{inc.Dataset})
	if err != nil {
		return err
	}
	if did, ok := ids[inc.Dataset]; ok {
		ds, err := s.DatasetsByIDs(ctx, []int64{did})
		if err != nil {
			return err
		}
		if len(ds) == 1 {
			d = ds[0]
		}
	}
	return catalog.AuthorizeIncident(p, d)
}

// AcknowledgeIncident records that p is on the open incident id, if p may
// handle it (catalog.AuthorizeIncident). An incident already acknowledged
// or resolved is ErrConflict.
func (s *Store) AcknowledgeIncident(ctx context.Context, p catalog.Principal, id int64, note string) (catalog.Incident, error) {
	if err := s.authorizeIncident(ctx, p, id); err != nil {
		return catalog.Incident{}, fmt.Errorf("acknowledge incident %d: %w", id, err)
	}
	return s.changeIncident(ctx, id, catalog.IncidentAcknowledged, `
		UPDATE incidents i SET acknowledged_at = $2, acknowledged_by = $3
		WHERE id = $1 AND resolved_at IS NULL AND acknowledged_at IS NULL
		RETURNING `+incidentColumns, p.Login, note)
}

// ResolveIncident resolves the open incident id with p's note, if p may
// handle it. An incident already resolved is ErrConflict.
func (s *Store) ResolveIncident(ctx context.Context, p catalog.Principal, id int64, note string) (catalog.Incident, error) {
	if err := s.authorizeIncident(ctx, p, id); err != nil {
		return catalog.Incident{}, fmt.Errorf("resolve incident %d: %w", id, err)
	}
	return s.changeIncident(ctx, id, catalog.IncidentResolved, `
		UPDATE incidents i SET resolved_at = $2, resolved_by = $3, resolution = $4
		WHERE id = $1 AND resolved_at IS NULL
		RETURNING `+incidentColumns, p.Login, note)
}

// changeIncident runs update ($1 id, $2 now, $3 actor, $4 note if it
// uses one) and
// records kind in the timeline.
func (s *Store) changeIncident(ctx context.Context, id int64, kind catalog.IncidentEventKind, update, actor, note string) (catalog.Incident, error) {
	actor, note = strings.TrimSpace(actor), strings.TrimSpace(note)
	if actor == "" {
		return catalog.Incident{}, fmt.Errorf("incident %d %s by nobody: %w", id, kind, catalog.ErrInvalid)
	}
	if len(note) > 10000 {
		return catalog.Incident{}, fmt.Errorf("incident %d: note of %d bytes, more than 10000: %w", id, len(note), catalog.ErrInvalid)
	}
	now := s.now()
	var inc catalog.Incident
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		args := []any{id, now, actor}
		if strings.Contains(update, "$4") {
			args = append(args, note)
		}
		rows, err := tx.Query(ctx, update, args...)
		if err != nil {
			return err
		}
		inc, err = pgx.CollectExactlyOneRow(rows, scanIncident)
		if errors.Is(err, pgx.ErrNoRows) {
			old, gerr := s.Incident(ctx, id)
			if gerr != nil {
				return gerr
			}
			return fmt.Errorf("it is %s already: %w", old.State(), catalog.ErrConflict)
		}
		if err != nil {
			return err
		}
		change := catalog.ChangeIncidentAcknowledged
		if kind == catalog.IncidentResolved {
			change = catalog.ChangeIncidentResolved
		}
		if err := appendChanges(ctx, tx, [][]any{incidentChangeRow(id, inc.Dataset, change, actor, now)}); err != nil {
			return err
		}
		return addIncidentEvent(ctx, tx, id, kind, actor, note, now)
	})
	if err != nil {
		verb := map[catalog.IncidentEventKind]string{catalog.IncidentAcknowledged: "acknowledge", catalog.IncidentResolved: "resolve"}[kind]
		return catalog.Incident{}, fmt.Errorf("%s incident %d: %w", verb, id, translate(err))
	}
	return inc, nil
}

// AutoResolveIncident resolves the open incident of a cause, if any, as
// the detector: the cause is gone. It reports whether one was resolved.
func (s *Store) AutoResolveIncident(ctx context.Context, dataset catalog.Key, cause catalog.CauseKind, causeKey, note string) (bool, error) {
	n, err := s.AutoResolveIncidents(ctx, []AutoResolution{{Dataset: dataset, Cause: cause, CauseKey: causeKey, Note: note}})
	return n == 1, err
}

// AutoResolution says that the cause of an incident is gone, and why.
type AutoResolution struct {
	Dataset  catalog.Key
	Cause    catalog.CauseKind
	CauseKey string
	Note     string
}

// AutoResolveIncidents resolves the open incidents of the causes rs, as
// the detector, in one transaction of two statements, and returns how
// many it resolved. Causes without an open incident are skipped.
func (s *Store) AutoResolveIncidents(ctx context.Context, rs []AutoResolution) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	now := s.now()
	n := len(rs)
	nss, names, causes, keys, notes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rs {
		nss[i], names[i], causes[i], keys[i], notes[i] = r.Dataset.Namespace, r.Dataset.Name, string(r.Cause), r.CauseKey, r.Note
	}
	resolved := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH x AS (
				SELECT DISTINCT ON (ns, name, cause, ckey) * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
					AS x(ns, name, cause, ckey, note)
			), done AS (
				UPDATE incidents i SET resolved_at = $6, resolved_by = $7, resolution = x.note
				FROM x
				WHERE i.dataset_namespace = x.ns AND i.dataset_name = x.name AND i.cause = x.cause AND i.cause_key = x.ckey
				  AND i.resolved_at IS NULL
				RETURNING i.id, i.dataset_namespace, i.dataset_name, x.note
			), events AS (
				INSERT INTO incident_events (incident_id, at, kind, actor, note)
				SELECT id, $6, 'resolved', $7, note FROM done
			)
			SELECT id, dataset_namespace, dataset_name FROM done ORDER BY id`,
			nss, names, causes, keys, notes, now, catalog.ActorAlmanac)
		if err != nil {
			return err
		}
		var (
			id      int64
			k       catalog.Key
			changes [][]any
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &k.Namespace, &k.Name}, func() error {
			changes = append(changes, incidentChangeRow(id, k, catalog.ChangeIncidentResolved, catalog.ActorAlmanac, now))
			return nil
		}); err != nil {
			return err
		}
		resolved = len(changes)
		return appendChanges(ctx, tx, changes)
	})
	if err != nil {
		return 0, fmt.Errorf("resolve %d incidents: %w", n, translate(err))
	}
	return resolved, nil
}

// SetIncidentReview sets (replaces) the post-incident review of incident
// id, as p, if p may handle it.
func (s *Store) SetIncidentReview(ctx context.Context, p catalog.Principal, id int64, r catalog.IncidentReview) (catalog.Incident, error) {
	if err := s.authorizeIncident(ctx, p, id); err != nil {
		return catalog.Incident{}, fmt.Errorf("review incident %d: %w", id, err)
	}
	actor := p.Login
	if err := r.Validate(); err != nil {
		return catalog.Incident{}, fmt.Errorf("incident %d: %w", id, err)
	}
	r.By, r.At = actor, s.now()
	var inc catalog.Incident
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE incidents i SET review = $2 WHERE id = $1 RETURNING `+incidentColumns, id, r)
		if err != nil {
			return err
		}
		if inc, err = pgx.CollectExactlyOneRow(rows, scanIncident); err != nil {
			return err
		}
		return addIncidentEvent(ctx, tx, id, catalog.IncidentReviewed, actor, "", r.At)
	})
	if err != nil {
		return catalog.Incident{}, fmt.Errorf("review incident %d: %w", id, translate(err))
	}
	return inc, nil
}

// IncidentEvents returns the timeline of incident id, oldest first.
func (s *Store) IncidentEvents(ctx context.Context, id int64) ([]catalog.IncidentEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, kind, actor, note FROM incident_events WHERE incident_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("timeline of incident %d: %w", id, err)
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.IncidentEvent, error) {
		var e catalog.IncidentEvent
		err := row.Scan(&e.At, &e.Kind, &e.Actor, &e.Note)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("timeline of incident %d: %w", id, err)
	}
	return evs, nil
}

// IncidentFilter says which incidents to list: all by default, newest
// first (by id), Limit at a time after the incident After.
type IncidentFilter struct {
	// Datasets restricts to incidents on these datasets.
	Datasets []catalog.Key
	// Open restricts to open incidents (true) or resolved ones (false).
	Open *bool
	// ResolvedSince restricts to incidents open or resolved since then.
	ResolvedSince time.Time
	// Team restricts to datasets owned by this team.
	Team string
	// After is the id of the last incident of the page before; 0 is the
	// start.
	After int64
	Limit int
}

// Incidents lists incidents by f, newest first, in one statement.
func (s *Store) Incidents(ctx context.Context, f IncidentFilter) ([]catalog.Incident, error) {
	var (
		where = []string{"true"}
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Datasets != nil {
		nss, names := splitKeys(f.Datasets)
		where = append(where, `(i.dataset_namespace, i.dataset_name) IN (SELECT * FROM unnest(`+arg(nss)+`::text[], `+arg(names)+`::text[]))`)
	}
	if f.Open != nil {
		if *f.Open {
			where = append(where, "i.resolved_at IS NULL")
		} else {
			where = append(where, "i.resolved_at IS NOT NULL")
		}
	}
	if !f.ResolvedSince.IsZero() {
		where = append(where, "(i.resolved_at IS NULL OR i.resolved_at >= "+arg(f.ResolvedSince)+")")
	}
	if f.Team != "" {
		where = append(where, `EXISTS (SELECT 1 FROM datasets d JOIN owners o ON o.dataset_id = d.id
			WHERE d.namespace = i.dataset_namespace AND d.name = i.dataset_name AND o.owner_kind = 'team' AND o.owner = `+arg(f.Team)+`)`)
	}
	if f.After > 0 {
		where = append(where, "i.id < "+arg(f.After))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT `+incidentColumns+` FROM incidents i WHERE `+strings.Join(where, " AND ")+
		` ORDER BY i.id DESC LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanIncident)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

// IncidentDetectorSeq returns how far the incident detector has read the
// change log: 0 before it first ran.
func (s *Store) IncidentDetectorSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM incident_detector`).Scan(&seq)
	if errors.Is(err, catalog.ErrNotFound) { // the pool translates pgx.ErrNoRows
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read incident detector position: %w", err)
	}
	return seq, nil
}

// SetIncidentDetectorSeq records that the incident detector has applied
// the change log up to seq. It never moves back: replicas that run the
// detector each record their own progress.
func (s *Store) SetIncidentDetectorSeq(ctx context.Context, seq int64) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO incident_detector (seq) VALUES ($1)
		ON CONFLICT (singleton) DO UPDATE SET seq = GREATEST(incident_detector.seq, excluded.seq)`, seq)
	if err != nil {
		return fmt.Errorf("record incident detector position %d: %w", seq, err)
	}
	return nil
}

// LatestIncidents returns, for each of the datasets keys, the newest
// incident of each cause (open or not), in one statement: what a
// detector needs to know whether what it sees is already known.
func (s *Store) LatestIncidents(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.Incident, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT ON (i.dataset_namespace, i.dataset_name, i.cause, i.cause_key) `+incidentColumns+`
		FROM incidents i
		WHERE (i.dataset_namespace, i.dataset_name) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY i.dataset_namespace, i.dataset_name, i.cause, i.cause_key, i.id DESC`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("latest incidents of %d datasets: %w", len(keys), err)
	}
	all, err := pgx.CollectRows(rows, scanIncident)
	if err != nil {
		return nil, fmt.Errorf("latest incidents of %d datasets: %w", len(keys), err)
	}
	out := map[catalog.Key][]catalog.Incident{}
	for _, i := range all {
		out[i.Dataset] = append(out[i.Dataset], i)
	}
	return out, nil
}

// IncidentsOf returns the newest limit incidents of each of the datasets
// keys (only open ones when openOnly), newest first, in one statement.
// A dataset without any has an empty list.
func (s *Store) IncidentsOf(ctx context.Context, keys []catalog.Key, openOnly bool, limit int) (map[catalog.Key][]catalog.Incident, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT `+incidentColumns+`
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		CROSS JOIN LATERAL (
			SELECT * FROM incidents x
			WHERE x.dataset_namespace = k.namespace AND x.dataset_name = k.name AND (NOT $3 OR x.resolved_at IS NULL)
			ORDER BY x.id DESC LIMIT $4
		) i
		ORDER BY i.id DESC`, nss, names, openOnly, limit)
	if err != nil {
		return nil, fmt.Errorf("incidents of %d datasets: %w", len(keys), err)
	}
	all, err := pgx.CollectRows(rows, scanIncident)
	if err != nil {
		return nil, fmt.Errorf("incidents of %d datasets: %w", len(keys), err)
	}
	out := make(map[catalog.Key][]catalog.Incident, len(keys))
	for _, k := range keys {
		out[k] = []catalog.Incident{}
	}
	for _, i := range all {
		out[i.Dataset] = append(out[i.Dataset], i)
	}
	return out, nil
}

// IncidentsByIDs returns the incidents ids that exist, in one statement.
func (s *Store) IncidentsByIDs(ctx context.Context, ids []int64) ([]catalog.Incident, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+incidentColumns+` FROM incidents i WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("incidents by id: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanIncident)
	if err != nil {
		return nil, fmt.Errorf("incidents by id: %w", err)
	}
	return out, nil
}

// incidentSweepLock is the advisory lock held while a replica sweeps
// (SweepIncidents).
const incidentSweepLock = 0x696e63737765

// SweepIncidents runs sweep if no replica swept in the last every before
// now, and reports whether it ran: the replica that takes the sweep
// records when (incident_detector.swept_at) and holds an advisory lock
// while it sweeps, so that of any number of replicas one sweeps at a time
// and one per interval; the others return false at once. A sweep that
// fails still counts as the interval's.
func (s *Store) SweepIncidents(ctx context.Context, now time.Time, every time.Duration, sweep func(ctx context.Context) error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("sweep incidents: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(incidentSweepLock)).Scan(&locked); err != nil {
		return false, fmt.Errorf("sweep incidents: lock: %w", err)
	}
	if !locked {
		return false, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(incidentSweepLock)) //nolint:errcheck // the lock goes with the session anyway
	tag, err := conn.Exec(ctx, `
		INSERT INTO incident_detector AS d (seq, swept_at) VALUES (0, $1)
		ON CONFLICT (singleton) DO UPDATE SET swept_at = excluded.swept_at
		WHERE d.swept_at IS NULL OR d.swept_at <= $1::timestamptz - $2::interval OR d.swept_at > $1`, now, every)
	if err != nil {
		return false, fmt.Errorf("sweep incidents: claim: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil // swept within the interval
	}
	if err := sweep(ctx); err != nil {
		return true, fmt.Errorf("sweep incidents: %w", err)
	}
	return true, nil
}

// IncidentTimelines returns the timelines of the incidents ids, oldest
// event first, in one statement; an incident without events is absent.
func (s *Store) IncidentTimelines(ctx context.Context, ids []int64) (map[int64][]catalog.IncidentEvent, error) {
	out := map[int64][]catalog.IncidentEvent{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT incident_id, at, kind, actor, note FROM incident_events WHERE incident_id = ANY($1) ORDER BY incident_id, id`, ids)
	if err != nil {
		return nil, fmt.Errorf("timelines of %d incidents: %w", len(ids), err)
	}
	var (
		id int64
		e  catalog.IncidentEvent
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &e.At, &e.Kind, &e.Actor, &e.Note}, func() error {
		out[id] = append(out[id], e)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("timelines of %d incidents: %w", len(ids), translate(err))
	}
	return out, nil
}
