// Package incident opens and resolves incidents from what the catalog
// records: it follows the change log, and after each batch of changes
// looks at the facts they name. A check whose latest result fails (at a
// severity at least the configured one) opens an incident on its dataset,
// and its next pass resolves it; a job whose latest run failed opens one
// on each dataset it writes, and its next successful run resolves them; a
// column removed, retyped or renamed in a new schema version that
// downstream datasets read by column lineage opens one, which a person
// resolves.
//
// What time alone changes, with no change logged (a freshness SLO whose
// data stops arriving, a run still running past its usual time), a sweep
// judges every Config.SweepEvery on one replica at a time (see Sweep).
//
// Evaluation reads the current state, not the history: reading the same
// changes twice (after a restart, or on two replicas) opens nothing new,
// and an incident that a person resolved is not reopened by the same
// evidence, only by a failure observed after it was opened.
//
// What is downstream is the lineage graph's, which lives above the
// catalog: the caller passes it in as Config.Impact.
package incident

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// pollInterval is how long Run waits for a notification before it looks
// at the change log anyway.
const pollInterval = 5 * time.Second

// ImpactFunc returns the datasets downstream of each of keys with their
// owners, nearest first; a key with nothing downstream may be absent.
type ImpactFunc func(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.ImpactedDataset, error)

// Config says how the detector judges.
type Config struct {
	// MinCheckSeverity is the least severity of a failing check that
	// opens an incident; "" is catalog.SeverityError.
	MinCheckSeverity catalog.Severity
	// Impact computes what an incident hits; nil records no impact.
	Impact ImpactFunc
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// SweepEvery is how often, across all replicas, the sweep judges what
	// time alone changes (see Sweep); 0 is DefaultSweepEvery.
	SweepEvery time.Duration
	Logger     *slog.Logger
}

// DefaultSweepEvery is how often the sweep runs unless configured.
const DefaultSweepEvery = time.Minute

// Detector follows the change log and keeps incidents in step with it.
type Detector struct {
	store *store.Store
	cfg   Config
	seq   atomic.Int64
	// mark is the catalog.Change.Mark of the change at seq, "" when not
	// known: what tells a log that was restored underneath the detector.
	mark string
	log  *slog.Logger
	// news is how old a schema version may be to open an incident: set
	// on a first start, so that reading the whole log does not report
	// breaking changes of long ago as news.
	news time.Time
	// snapped is when this detector last recorded the teams' figures.
	snapped time.Time
	// sloAt is how far the detector has judged the stored SLO
	// evaluations, by evaluation time; judged holds the evaluation time
	// judged of each dataset evaluated in the last sloSlack before it,
	// which is read again.
	sloAt  time.Time
	judged map[int64]time.Time
	// tried is when this detector last tried to take the sweep.
	tried time.Time
}

// sloSlack is how far before the last stored SLO evaluation judged the
// detector reads again: replicas' evaluators store their evaluations a
// little out of the order of their times, and one stored late must not
// be skipped.
const sloSlack = time.Minute

// sloPage is how many datasets' stored evaluations the detector judges
// at once.
const sloPage = 500

// firstStartWindow is how far back a first start looks for breaking
// schema changes.
const firstStartWindow = 24 * time.Hour

// New returns a detector over st.
func New(st *store.Store, cfg Config) *Detector {
	if cfg.MinCheckSeverity == "" {
		cfg.MinCheckSeverity = catalog.SeverityError
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = DefaultSweepEvery
	}
	return &Detector{store: st, cfg: cfg, log: cfg.Logger}
}

// Seq is the last change log sequence applied.
func (d *Detector) Seq() int64 { return d.seq.Load() }

// Load reads where the detector stopped last time. The first time it
// starts from the beginning of the log, so that what is broken already
// opens incidents; breaking schema changes, which nothing resolves, only
// when recorded in the last day.
func (d *Detector) Load(ctx context.Context) error {
	seq, err := d.store.IncidentDetectorSeq(ctx)
	if err != nil {
		return err
	}
	if seq == 0 {
		d.news = time.Now().Add(-firstStartWindow)
	}
	d.seq.Store(seq)
	return nil
}

// Run follows the change log until ctx ends, and sweeps (see Sweep) when
// its turn comes: between two catch-ups, which the change log's poll
// brings at least every few seconds, so that sweeping and following
// never judge the same dataset at once.
func (d *Detector) Run(ctx context.Context) error {
	if err := d.Load(ctx); err != nil {
		return err
	}
	return d.store.FollowChanges(ctx, sweeping{d}, pollInterval, d.log)
}

// sweeping is the detector as Run follows the change log with it: each
// catch-up is followed by a sweep when one is due.
type sweeping struct{ *Detector }

func (s sweeping) CatchUp(ctx context.Context) error {
	if err := s.Detector.CatchUp(ctx); err != nil {
		return err
	}
	if now := s.cfg.Now(); s.tried.IsZero() || now.Sub(s.tried) >= s.cfg.SweepEvery || now.Before(s.tried) {
		s.tried = now
		// A failed sweep is the next one's to make up for; following
		// the log must go on.
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "incident sweep failed", "err", err)
		}
	}
	return nil
}

// CatchUp evaluates the changes logged since the last one applied.
func (d *Detector) CatchUp(ctx context.Context) error {
	for {
		at := store.Position{Seq: d.seq.Load(), Mark: d.mark}
		from, changes, err := d.store.ChangesResuming(ctx, at, 2000, d.store.IncidentDetectorSeq)
		if err != nil {
			return fmt.Errorf("detect incidents: %w", err)
		}
		if from != at {
			// Restored from a backup, or failed over to a standby that
			// lagged: the log hands out again sequences applied here.
			d.log.WarnContext(ctx, "the change log no longer holds the change the incident detector applied last; going on from the catalog's position", "applied", at.Seq, "position", from.Seq)
			d.seq.Store(from.Seq)
			d.mark = ""
		}
		if len(changes) == 0 {
			return d.judgeSLOs(ctx)
		}
		if err := d.apply(ctx, changes); err != nil {
			return fmt.Errorf("detect incidents: %w", err)
		}
		last := changes[len(changes)-1]
		if err := d.store.SetIncidentDetectorSeq(ctx, last.Seq); err != nil {
			return err
		}
		d.seq.Store(last.Seq)
		d.mark = last.Mark()
		if err := d.snapshot(ctx); err != nil {
			return err
		}
	}
}

// snapshotEvery is how often, at most, the detector records the teams'
// figures of the day while changes arrive; the last record of a day
// stands for its end in the team health reports.
const snapshotEvery = time.Hour

// snapshot records every team's figures of today if none was recorded in
// the last snapshotEvery by this detector.
func (d *Detector) snapshot(ctx context.Context) error {
	now := d.cfg.Now()
	if !d.snapped.IsZero() && now.Sub(d.snapped) < snapshotEvery && now.UTC().Truncate(24*time.Hour).Equal(d.snapped.UTC().Truncate(24*time.Hour)) {
		return nil
	}
	// Another replica recording them now records the same figures.
	if _, err := d.store.RecordTeamSnapshots(ctx, now); err != nil {
		return fmt.Errorf("detect incidents: %w", err)
	}
	d.snapped = now
	return nil
}

// schemaChange is a dataset whose columns a source changed.
type schemaChange struct {
	id     int64
	key    catalog.Key
	source string
}

func (d *Detector) apply(ctx context.Context, changes []catalog.Change) error {
	var (
		checked []catalog.Key
		jobs    []catalog.JobKey
		schemas []schemaChange
		seen    = map[string]bool{}
	)
	once := func(parts ...string) bool {
		k := strings.Join(parts, "\x00")
		if seen[k] {
			return false
		}
		seen[k] = true
		return true
	}
	for _, c := range changes {
		switch {
		case c.Entity == "dataset" && c.Kind == catalog.ChangeQuality && once("q", c.Key.Namespace, c.Key.Name):
			checked = append(checked, c.Key)
		case c.Entity == "run" && c.Kind == catalog.ChangeRun && once("r", c.Key.Namespace, c.Key.Name):
			jobs = append(jobs, catalog.JobKey(c.Key))
		case c.Entity == "dataset" && c.Kind == catalog.ChangeSchemaChanged && once("s", c.Key.Namespace, c.Key.Name, c.Source):
			schemas = append(schemas, schemaChange{c.EntityID, c.Key, c.Source})
		}
	}
	var b batch
	if len(checked) > 0 {
		if err := d.checks(ctx, &b, checked); err != nil {
			return err
		}
	}
	if len(jobs) > 0 {
		if err := d.runs(ctx, &b, jobs); err != nil {
			return err
		}
	}
	if len(schemas) > 0 {
		if err := d.schemas(ctx, &b, schemas); err != nil {
			return err
		}
	}
	return d.flush(ctx, b)
}

// batch is the incidents that one batch of changes opens or sees again,
// opened together.
type batch struct {
	// fresh are incidents no incident of their cause is open for:
	// their impact is computed. direct are the datasets to put first
	// in their impact, by index into fresh.
	fresh  []catalog.NewIncident
	direct map[int][]catalog.Key
	// again are causes already open, seen with newer evidence.
	again []catalog.NewIncident
	// gone are the open incidents whose cause is gone.
	gone []store.AutoResolution
}

// resolve adds the resolution of the incident of a cause, with why.
func (b *batch) resolve(key catalog.Key, cause catalog.CauseKind, causeKey, note string) {
	b.gone = append(b.gone, store.AutoResolution{Dataset: key, Cause: cause, CauseKey: causeKey, Note: note})
}

// known is the newest incident of each cause of some datasets.
type known map[catalog.Key][]catalog.Incident

// covers tells whether evidence of time at is accounted for by a closed
// incident of the cause: one whose newest evidence was no older. A person
// who resolves an incident while its cause still shows has said that
// this evidence is not worth an incident; newer evidence is.
func (k known) covers(key catalog.Key, cause catalog.CauseKind, causeKey string, at time.Time) bool {
	for _, i := range k[key] {
		if i.Cause == cause && i.CauseKey == causeKey && !i.Open() && !i.LastSeenAt.Before(at) {
			return true
		}
	}
	return false
}

func (k known) open(key catalog.Key, cause catalog.CauseKind, causeKey string) bool {
	return k.openOne(key, cause, causeKey) != nil
}

// openOne is the open incident of the cause, or nil.
func (k known) openOne(key catalog.Key, cause catalog.CauseKind, causeKey string) *catalog.Incident {
	for j, i := range k[key] {
		if i.Cause == cause && i.CauseKey == causeKey && i.Open() {
			return &k[key][j]
		}
	}
	return nil
}

// failing reports whether a check result is a failure, and how severe.
func failing(c catalog.SourceCheck) (catalog.Severity, bool) {
	if c.Latest == nil {
		return "", false
	}
	switch c.Latest.Status {
	case catalog.QualityWarn:
		return catalog.SeverityWarn, true
	case catalog.QualityFail, catalog.QualityError:
		sev, err := catalog.ParseSeverity(c.Severity)
		if err != nil {
			sev = catalog.SeverityError // an unknown severity is not a reason to stay silent
		}
		return sev, true
	}
	return "", false
}

// checks opens incidents for the failing checks of the datasets keys and
// resolves those of checks that pass again or are gone.
func (d *Detector) checks(ctx context.Context, b *batch, keys []catalog.Key) error {
	checks, err := d.store.ChecksOf(ctx, keys)
	if err != nil {
		return err
	}
	latest, err := d.store.LatestIncidents(ctx, keys)
	if err != nil {
		return err
	}
	k := known(latest)
	for _, key := range keys {
		for _, c := range checks[key] {
			cause := catalog.CauseCheckFailed
			switch sev, bad := failing(c); {
			case c.RemovedAt != nil:
				if k.open(key, cause, c.Name) {
					b.resolve(key, cause, c.Name, "the check was removed")
				}
			case bad && sev.AtLeast(d.cfg.MinCheckSeverity) && !k.covers(key, cause, c.Name, c.Latest.StartedAt):
				title := fmt.Sprintf("check %s fails", checkLabel(c))
				detail := c.Latest.Message
				if c.Latest.Failures != nil {
					detail = strings.TrimSpace(fmt.Sprintf("%d failing rows. %s", *c.Latest.Failures, detail))
				}
				b.add(k, catalog.NewIncident{Dataset: key, Cause: cause, CauseKey: c.Name, Severity: sev,
					Title: title, Detail: detail, SeenAt: c.Latest.StartedAt}, nil)
			case c.Latest != nil && c.Latest.Status == catalog.QualityPass && k.open(key, cause, c.Name):
				b.resolve(key, cause, c.Name, "the check passes again (run "+c.Latest.RunID+")")
			}
		}
	}
	return nil
}

// checkLabel names a check as people read it: its type and column when
// it has them.
func checkLabel(c catalog.SourceCheck) string {
	switch {
	case c.Type != "" && c.Column != "":
		return fmt.Sprintf("%s on %s (%s)", c.Type, c.Column, c.Name)
	case c.Type != "":
		return fmt.Sprintf("%s (%s)", c.Type, c.Name)
	}
	return c.Name
}

// runs opens incidents on the outputs of jobs whose latest run failed,
// and resolves them when it succeeded.
func (d *Detector) runs(ctx context.Context, b *batch, keys []catalog.JobKey) error {
	latestRuns, err := d.store.LatestRuns(ctx, keys)
	if err != nil {
		return err
	}
	jobs, err := d.store.JobsByKeys(ctx, keys)
	if err != nil {
		return err
	}
	var outputs []catalog.Key
	for _, j := range jobs {
		outputs = append(outputs, j.Outputs...)
	}
	latest, err := d.store.LatestIncidents(ctx, outputs)
	if err != nil {
		return err
	}
	k := known(latest)
	cause := catalog.CauseRunFailed
	for _, jk := range keys {
		r, ok := latestRuns[jk]
		j := jobs[jk]
		if !ok || j == nil {
			continue
		}
		for _, out := range j.Outputs {
			switch {
			case (r.State == catalog.RunFail || r.State == catalog.RunAbort) && !k.covers(out, cause, jk.String(), r.StateAt):
				verb := "failed"
				if r.State == catalog.RunAbort {
					verb = "was aborted"
				}
				b.add(k, catalog.NewIncident{Dataset: out, Cause: cause, CauseKey: jk.String(), Severity: catalog.SeverityError,
					Title: fmt.Sprintf("run %s of job %s %s", r.ID, jk, verb), Detail: r.ErrorMessage, SeenAt: r.StateAt}, nil)
			case r.State == catalog.RunComplete && k.open(out, cause, jk.String()):
				b.resolve(out, cause, jk.String(), "run "+r.ID+" completed")
			}
		}
	}
	return d.lateRuns(ctx, b, k, jobs, latestRuns)
}

// lateRuns is how many of a job's newest runs judge what its usual time
// is, as the job's page does.
const lateRuns = 100

// lateRuns opens a run_late incident on the outputs of each job whose
// latest run completed but took over the job's late threshold, and
// resolves it when a later run completes within it; the jobs' recent runs
// are read in one statement. Jobs with too few completed runs to know
// their usual time are not judged.
func (d *Detector) lateRuns(ctx context.Context, b *batch, k known, jobs map[catalog.JobKey]*catalog.Job, latest map[catalog.JobKey]catalog.Run) error {
	var pages []store.RunPage
	for jk, r := range latest {
		if r.State == catalog.RunComplete && r.Duration() > 0 && jobs[jk] != nil {
			pages = append(pages, store.RunPage{Job: jk, Limit: lateRuns})
		}
	}
	if len(pages) == 0 {
		return nil
	}
	slices.SortFunc(pages, func(a, b store.RunPage) int { return strings.Compare(a.Job.String(), b.Job.String()) })
	recent, err := d.store.RunPages(ctx, pages)
	if err != nil {
		return err
	}
	cause := catalog.CauseRunLate
	for _, p := range pages {
		threshold, judged := catalog.LateThreshold(recent[p])
		if !judged {
			continue
		}
		j, r := jobs[p.Job], latest[p.Job]
		took, ck := r.Duration(), p.Job.String()
		for _, out := range j.Outputs {
			switch {
			case took > threshold && !k.covers(out, cause, ck, r.StateAt):
				b.add(k, catalog.NewIncident{Dataset: out, Cause: cause, CauseKey: ck, Severity: catalog.SeverityWarn,
					Title:  fmt.Sprintf("run %s of job %s took %s, over its late threshold of %s", r.ID, p.Job, took.Round(time.Second), threshold.Round(time.Second)),
					Detail: fmt.Sprintf("A run is late when it takes more than %.1f× the median of the job's completed runs (among its last %d) and at least %s more.", catalog.LateFactor, lateRuns, catalog.LateMargin),
					SeenAt: r.StateAt}, nil)
			case took <= threshold && k.open(out, cause, ck):
				b.resolve(out, cause, ck, "run "+r.ID+" completed in "+took.Round(time.Second).String())
			}
		}
	}
	return nil
}

// judgeSLOs judges the SLO reports the evaluator (catalog/sloreport)
// stored since the detector last looked: it does not evaluate SLOs
// itself, so that an SLO has one status, the stored one, on the dataset
// page, the team page and in incidents. The evaluator evaluates a
// dataset again when a change names it and every few minutes as time
// passes; the detector sees each stored evaluation at its next catch-up
// (a change, or its poll).
func (d *Detector) judgeSLOs(ctx context.Context) error {
	afterAt, afterID := d.sloAt.Add(-sloSlack), int64(0)
	if d.sloAt.IsZero() {
		afterAt = time.Time{}
	}
	// Those judged on an earlier catch-up within the slack are not read
	// again; the pages of this one follow each other by key, so what
	// they judge is not sent back with every next page.
	earlier := make(map[int64]time.Time, len(d.judged))
	for id, at := range d.judged {
		if !at.Before(afterAt) {
			earlier[id] = at
		}
	}
	d.judged = maps.Clone(earlier)
	for {
		page, err := d.store.StoredEvaluationsAfter(ctx, afterAt, afterID, earlier, sloPage)
		if err != nil {
			return fmt.Errorf("detect incidents: %w", err)
		}
		if len(page) == 0 {
			break
		}
		var b batch
		if err := d.slos(ctx, &b, page); err != nil {
			return err
		}
		if err := d.flush(ctx, b); err != nil {
			return fmt.Errorf("detect incidents: %w", err)
		}
		for _, e := range page {
			d.judged[e.ID] = e.EvaluatedAt
		}
		last := page[len(page)-1]
		afterAt, afterID = last.EvaluatedAt, last.ID
		if last.EvaluatedAt.After(d.sloAt) {
			d.sloAt = last.EvaluatedAt
		}
		if len(page) < sloPage {
			break
		}
	}
	for id, at := range d.judged {
		if at.Before(d.sloAt.Add(-sloSlack)) {
			delete(d.judged, id)
		}
	}
	return nil
}

// slos opens an incident for each breached SLO of the stored evaluations
// evals and resolves it when the SLO is met again (ok or at risk). An
// SLO's evidence is dated by the day it was evaluated on, so an incident
// a person resolves while the SLO is still breached opens again the next
// day, not at every evaluation.
func (d *Detector) slos(ctx context.Context, b *batch, evals []store.StoredEvaluation) error {
	keys := make([]catalog.Key, 0, len(evals))
	for _, e := range evals {
		keys = append(keys, e.Dataset)
	}
	latest, err := d.store.LatestIncidents(ctx, keys)
	if err != nil {
		return err
	}
	k := known(latest)
	cause := catalog.CauseSLOBreach
	for _, e := range evals {
		key := e.Dataset
		day := e.EvaluatedAt.UTC().Truncate(24 * time.Hour)
		for _, r := range e.SLOs {
			if r.Err != nil {
				continue
			}
			ck := r.SLO.Source + ":" + r.SLO.Name
			switch r.Report.Status {
			case slo.StatusBreached:
				if !k.covers(key, cause, ck, day) {
					b.add(k, catalog.NewIncident{Dataset: key, Cause: cause, CauseKey: ck, Severity: catalog.SeverityError,
						Title: fmt.Sprintf("SLO %s is breached", r.SLO.Name), Detail: r.Report.Summary, SeenAt: day}, nil)
				}
			case slo.StatusOK, slo.StatusAtRisk:
				if k.open(key, cause, ck) {
					b.resolve(key, cause, ck, "the SLO is met again: "+r.Report.Summary)
				}
			}
		}
	}
	return nil
}

// schemas opens incidents for the columns that a source's newest schema
// version removed, retyped or renamed and that datasets downstream read
// by column lineage.
func (d *Detector) schemas(ctx context.Context, b *batch, changed []schemaChange) error {
	pages := make([]store.HistoryPage, len(changed))
	var keys []catalog.Key
	for i, c := range changed {
		pages[i] = store.HistoryPage{DatasetID: c.id, Limit: 20}
		keys = append(keys, c.key)
	}
	hist, err := d.store.SchemaHistories(ctx, pages)
	if err != nil {
		return err
	}
	edges, err := d.store.ColumnLineage(ctx, keys)
	if err != nil {
		return err
	}
	latest, err := d.store.LatestIncidents(ctx, keys)
	if err != nil {
		return err
	}
	k := known(latest)
	cause := catalog.CauseSchemaBreaking
	for i, c := range changed {
		// The newest version of the source that changed the columns.
		vi := slices.IndexFunc(hist[pages[i]], func(v catalog.SchemaVersion) bool { return v.Source == c.source })
		if vi < 0 {
			continue
		}
		v := hist[pages[i]][vi]
		if v.At.Before(d.news) {
			continue // history, read on a first start
		}
		breaking := map[string]string{} // column → what happened to it
		for _, col := range v.Diff.Removed {
			breaking[col.Name] = "removed"
		}
		for _, col := range v.Diff.Retyped {
			breaking[col.Name] = fmt.Sprintf("retyped from %s to %s", col.Before.Type, col.After.Type)
		}
		for _, r := range v.Diff.Renamed {
			breaking[r.From] = "renamed to " + r.To
		}
		readers := map[string][]catalog.ColumnLineage{}
		for _, e := range edges {
			if e.Value.Input == c.key && breaking[e.Value.InputColumn] != "" && e.Value.Output != c.key {
				readers[e.Value.InputColumn] = append(readers[e.Value.InputColumn], e.Value)
			}
		}
		cols := make([]string, 0, len(readers))
		for col := range readers {
			cols = append(cols, col)
		}
		slices.Sort(cols)
		for _, col := range cols {
			if k.covers(c.key, cause, col, v.At) {
				continue
			}
			var (
				direct []catalog.Key
				lines  []string
			)
			for _, e := range readers[col] {
				if !slices.Contains(direct, e.Output) {
					direct = append(direct, e.Output)
				}
				lines = append(lines, fmt.Sprintf("%s.%s reads it", e.Output, cmpOr(e.Column, "*")))
			}
			slices.Sort(lines)
			lines = slices.Compact(lines)
			n := catalog.NewIncident{Dataset: c.key, Cause: cause, CauseKey: col, Severity: catalog.SeverityError,
				Title:  fmt.Sprintf("column %s %s in schema version %d; read by %d downstream dataset(s)", col, breaking[col], v.Version, len(direct)),
				Detail: strings.Join(lines, "\n"), SeenAt: v.At}
			b.add(k, n, direct)
		}
	}
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// add adds n to the batch: as a fresh incident, with the datasets direct
// first in its impact, unless its cause is open already; then as newer
// evidence, or not at all when it is no newer.
func (b *batch) add(k known, n catalog.NewIncident, direct []catalog.Key) {
	n.By = catalog.ActorAlmanac
	if i := k.openOne(n.Dataset, n.Cause, n.CauseKey); i != nil {
		if i.LastSeenAt.Before(n.SeenAt) {
			b.again = append(b.again, n)
		}
		return
	}
	if len(direct) > 0 {
		if b.direct == nil {
			b.direct = map[int][]catalog.Key{}
		}
		b.direct[len(b.fresh)] = direct
	}
	b.fresh = append(b.fresh, n)
}

// flush opens the batch's incidents in one transaction, the fresh ones
// with their impact: what Config.Impact finds downstream, after the
// datasets the detector named (the readers of a column), with their
// owners.
func (d *Detector) flush(ctx context.Context, b batch) error {
	if n, err := d.store.AutoResolveIncidents(ctx, b.gone); err != nil {
		return err
	} else if n > 0 {
		d.log.InfoContext(ctx, "incidents resolved", "count", n)
	}
	if len(b.fresh)+len(b.again) == 0 {
		return nil
	}
	var (
		keys   []catalog.Key
		direct []catalog.Key
	)
	for i, n := range b.fresh {
		keys = append(keys, n.Dataset)
		direct = append(direct, b.direct[i]...)
	}
	impact := map[catalog.Key][]catalog.ImpactedDataset{}
	if d.cfg.Impact != nil {
		var err error
		if impact, err = d.cfg.Impact(ctx, keys); err != nil {
			// The incidents matter more than their impact: open them
			// without.
			d.log.WarnContext(ctx, "impact of incidents unknown", "err", err)
			impact = map[catalog.Key][]catalog.ImpactedDataset{}
		}
	}
	owners := map[catalog.Key][]catalog.Owner{}
	if len(direct) > 0 {
		var err error
		if owners, err = d.store.DatasetOwners(ctx, direct); err != nil {
			return err
		}
	}
	for i := range b.fresh {
		n := &b.fresh[i]
		var first []catalog.ImpactedDataset
		for _, k := range b.direct[i] {
			first = append(first, catalog.ImpactedDataset{Dataset: k, Distance: 1, Owners: owners[k]})
		}
		rest := slices.DeleteFunc(slices.Clone(impact[n.Dataset]), func(x catalog.ImpactedDataset) bool { return slices.Contains(b.direct[i], x.Dataset) })
		n.Impact = append(first, rest...)
	}
	incs, opened, err := d.store.OpenIncidents(ctx, append(b.fresh, b.again...))
	if err != nil {
		return err
	}
	for j, inc := range incs {
		if opened[j] {
			d.log.InfoContext(ctx, "incident opened", "id", inc.ID, "dataset", inc.Dataset.String(), "cause", string(inc.Cause), "key", inc.CauseKey)
		}
	}
	return nil
}
