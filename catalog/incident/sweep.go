package incident

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// What time alone changes. The detector judges what a change names, but
// some judgements move with the clock while nothing is logged: a run
// still running is late once it has run longer than its job's late
// threshold. The sweep judges it every Config.SweepEvery, on one replica
// at a time (store.SweepIncidents). SLOs that time alone breaches (a
// freshness SLO whose data stops arriving) need no sweep: the SLO
// evaluator (catalog/sloreport) evaluates every SLO on its own schedule
// and the detector judges the evaluations it stores.

// Sweep, if no replica did in the last Config.SweepEvery, opens a
// run_late incident for each job whose latest run is still running past
// its late threshold. It reports whether this detector swept.
func (d *Detector) Sweep(ctx context.Context) (bool, error) {
	now := d.cfg.Now()
	return d.store.SweepIncidents(ctx, now, d.cfg.SweepEvery, func(ctx context.Context) error {
		return d.sweep(ctx, now)
	})
}

func (d *Detector) sweep(ctx context.Context, now time.Time) error {
	var b batch
	running, err := d.store.RunningRuns(ctx)
	if err != nil {
		return err
	}
	if err := d.runningLate(ctx, &b, running, now); err != nil {
		return err
	}
	return d.flush(ctx, b)
}

// runningLate opens a run_late incident on the outputs of each job whose
// latest run, still running at now, has run longer than the job's late
// threshold (catalog.LateThreshold), once per run: the incident's
// evidence is the run's last change of state, so a later sweep sees
// nothing newer, and one that a person resolved stays resolved for the
// run. It is the same incident as that of a run that completed late (the
// cause's key is the job), which the run's completion therefore updates
// rather than repeats, and which a later run completing within the
// threshold resolves.
func (d *Detector) runningLate(ctx context.Context, b *batch, latest map[catalog.JobKey]catalog.Run, now time.Time) error {
	var (
		keys  []catalog.JobKey
		pages []store.RunPage
	)
	for jk, r := range latest {
		if r.StartedAt != nil && now.After(*r.StartedAt) {
			keys = append(keys, jk)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b catalog.JobKey) int { return strings.Compare(a.String(), b.String()) })
	jobs, err := d.store.JobsByKeys(ctx, keys)
	if err != nil {
		return err
	}
	var outputs []catalog.Key
	for _, jk := range keys {
		if j := jobs[jk]; j != nil && len(j.Outputs) > 0 {
			pages = append(pages, store.RunPage{Job: jk, Limit: lateRuns})
			outputs = append(outputs, j.Outputs...)
		}
	}
	if len(pages) == 0 {
		return nil
	}
	recent, err := d.store.RunPages(ctx, pages)
	if err != nil {
		return err
	}
	latestInc, err := d.store.LatestIncidents(ctx, outputs)
	if err != nil {
		return err
	}
	k := known(latestInc)
	cause := catalog.CauseRunLate
	for _, p := range pages {
		threshold, judged := catalog.LateThreshold(recent[p])
		if !judged {
			continue
		}
		r := latest[p.Job]
		running, ck := now.Sub(*r.StartedAt), p.Job.String()
		if running <= threshold {
			continue
		}
		for _, out := range jobs[p.Job].Outputs {
			if k.covers(out, cause, ck, r.StateAt) {
				continue
			}
			b.add(k, catalog.NewIncident{Dataset: out, Cause: cause, CauseKey: ck, Severity: catalog.SeverityWarn,
				Title: fmt.Sprintf("run %s of job %s has been running for %s, over its late threshold of %s",
					r.ID, p.Job, running.Round(time.Second), threshold.Round(time.Second)),
				Detail: fmt.Sprintf("The run started at %s and has not ended. A run is late when it takes more than %.1f× the median of the job's completed runs (among its last %d) and at least %s more.",
					r.StartedAt.UTC().Format(time.RFC3339), catalog.LateFactor, lateRuns, catalog.LateMargin),
				SeenAt: r.StateAt, At: now}, nil)
		}
	}
	return nil
}
