package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"almanac/catalog"
)

// This file writes what push sources (OpenLineage) report: never
// complete, a push replaces only the parts of each dataset and job it
// asserts, and removes nothing.

// PartialError is the error of an ApplyPush that skipped invalid items
// and wrote all the rest. Any other error of ApplyPush means that some of
// the push may not have been written.
type PartialError struct {
	Errs []error
}

func (e *PartialError) Error() string { return errors.Join(e.Errs...).Error() }

func (e *PartialError) Unwrap() []error { return e.Errs }

// ApplyPush writes what a push source (OpenLineage) reported: on each
// dataset and job it replaces only the parts the push asserts (see
// catalog.DatasetUpdate and catalog.JobUpdate), adds job inputs and
// outputs, records runs and quality results, and never removes anything.
// Invalid items are skipped and returned as a *PartialError; nothing valid
// is lost because of them. A run id belongs to the job that first ran it:
// a run of another job under the same id is refused.
//
// Dataset keys resolve through aliases (see resolveAliases): a push that
// names a known alias of a dataset writes to that dataset, and the rows
// the source wrote before on a key that the push declares an alias are
// moved onto its dataset (see adoptAliases).
func (s *Store) ApplyPush(ctx context.Context, p catalog.Push) error {
	if p.Source == "" || catalog.IsUserSource(p.Source) {
		return fmt.Errorf("apply push: source %q cannot push: %w", p.Source, catalog.ErrInvalid)
	}
	p, adopt, err := s.resolvePush(ctx, p)
	if err != nil {
		return err
	}
	datasets, err := s.mergeDatasetUpdates(ctx, p.Source, p.Datasets)
	if err != nil {
		return err
	}
	jobs, err := s.mergeJobUpdates(ctx, p.Source, p.Jobs)
	if err != nil {
		return err
	}
	h := catalog.Harvest{Source: p.Source, Datasets: datasets, Jobs: jobs, Checks: p.Checks, Results: p.Results, ColumnLineage: p.ColumnLineage}
	var run catalog.CrawlRun
	if err := s.ingest(ctx, h, &run); err != nil {
		return fmt.Errorf("apply push of %s: %w", p.Source, err)
	}
	var errs []error
	for _, e := range run.Errors {
		errs = append(errs, fmt.Errorf("%s: %s: %w", e.Object, e.Message, catalog.ErrInvalid))
	}
	if err := s.upsertRuns(ctx, p.Source, p.Runs, &errs); err != nil {
		return err
	}
	// The jobs and their runs move the popularity of what the jobs read.
	if err := s.ingestRunUsage(ctx, catalog.Harvest{Source: p.Source, Jobs: jobs, Runs: p.Runs}); err != nil {
		return err
	}
	if err := s.recordMetrics(ctx, p.Source, p.Metrics, &errs); err != nil {
		return err
	}
	if err := s.adoptAliases(ctx, p.Source, adopt); err != nil {
		return err
	}
	if len(errs) > 0 {
		return &PartialError{Errs: errs}
	}
	return nil
}

// mergeDatasetUpdates lays each update over what the source said before.
func (s *Store) mergeDatasetUpdates(ctx context.Context, source string, updates []catalog.DatasetUpdate) ([]catalog.DatasetFacts, error) {
	if len(updates) == 0 {
		return nil, nil
	}
	keys := make([]catalog.Key, 0, len(updates))
	for _, u := range updates {
		keys = append(keys, u.Facts.Key)
	}
	old, err := s.sourceDatasetFacts(ctx, source, keys)
	if err != nil {
		return nil, err
	}
	merged := map[catalog.Key]*catalog.DatasetFacts{}
	var order []catalog.Key
	for _, u := range updates {
		k := u.Facts.Key
		f := merged[k]
		if f == nil {
			base, ok := old[k]
			if !ok {
				base = catalog.DatasetFacts{Key: k}
			}
			f = &base
			merged[k] = f
			order = append(order, k)
		}
		n := u.Facts
		if n.Platform != "" {
			f.Platform = n.Platform
		}
		if n.Kind != "" {
			f.Kind = n.Kind
		}
		if u.Asserts&catalog.FacetSchema != 0 {
			f.Columns = n.Columns
		}
		if u.Asserts&catalog.FacetDescription != 0 {
			f.Description = n.Description
		}
		if u.Asserts&catalog.FacetOwners != 0 {
			f.Owners = n.Owners
		}
		if u.Asserts&catalog.FacetTags != 0 {
			f.Tags = n.Tags
		}
		if u.Asserts&catalog.FacetAliases != 0 {
			f.Aliases = n.Aliases
		} else if len(n.Aliases) > 0 {
			// What an alias of the dataset declares adds to its aliases
			// (resolvePush).
			f.Aliases = append(slices.Clone(f.Aliases), n.Aliases...)
		}
		if len(n.Properties) > 0 {
			if f.Properties == nil {
				f.Properties = map[string]string{}
			}
			maps.Copy(f.Properties, n.Properties)
		}
	}
	out := make([]catalog.DatasetFacts, 0, len(order))
	for _, k := range order {
		f := merged[k]
		f.Aliases = slices.DeleteFunc(slices.Clone(f.Aliases), func(a catalog.Alias) bool { return a.Key == k })
		out = append(out, *f)
	}
	return out, nil
}

// mergeJobUpdates lays each update over what the source said before.
func (s *Store) mergeJobUpdates(ctx context.Context, source string, updates []catalog.JobUpdate) ([]catalog.JobFacts, error) {
	if len(updates) == 0 {
		return nil, nil
	}
	keys := make([]catalog.JobKey, 0, len(updates))
	for _, u := range updates {
		keys = append(keys, u.Job.Key)
	}
	old, err := s.sourceJobs(ctx, source, keys)
	if err != nil {
		return nil, err
	}
	merged := map[catalog.JobKey]*catalog.JobFacts{}
	var order []catalog.JobKey
	for _, u := range updates {
		n := u.Job
		j := merged[n.Key]
		if j == nil {
			base, ok := old[n.Key]
			if !ok {
				base = catalog.JobFacts{Key: n.Key, Type: n.Type}
			}
			j = &base
			merged[n.Key] = j
			order = append(order, n.Key)
		}
		if u.Asserts&catalog.FacetJobType != 0 || j.Type == "" {
			j.Type = n.Type
		}
		if u.Asserts&catalog.FacetDescription != 0 {
			j.Description = n.Description
		}
		if u.Asserts&catalog.FacetSQL != 0 {
			j.SQL = n.SQL
		}
		if u.Asserts&catalog.FacetSLA != 0 && j.Properties[catalog.PropAirflowSLA] != "" {
			j.Properties = maps.Clone(j.Properties)
			delete(j.Properties, catalog.PropAirflowSLA)
			delete(j.Properties, catalog.PropAirflowSLAProducer)
		}
		if len(n.Properties) > 0 {
			if j.Properties == nil {
				j.Properties = map[string]string{}
			}
			maps.Copy(j.Properties, n.Properties)
		}
		j.Inputs = append(j.Inputs, n.Inputs...)
		j.Outputs = append(j.Outputs, n.Outputs...)
	}
	out := make([]catalog.JobFacts, 0, len(order))
	for _, k := range order {
		out = append(out, *merged[k])
	}
	return out, nil
}
