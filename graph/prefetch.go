package graph

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/search"
)

// Loaders batch what concurrent resolvers ask for within a short wait,
// which under load may split one page's keys over several batches. The
// resolvers that return datasets therefore look ahead at what the
// operation selects on them and read it for the whole page at once, priming
// the loaders: a page costs the same statements however many datasets it
// holds, and a dataset page waits on no loader.

// prime hands datasets to the request's loaders, then reads in bulk the
// fields selected on them (sel) that are not part of a dataset's facts.
func (r *Resolver) prime(ctx context.Context, ds []catalog.Dataset, sel []graphql.CollectedField) error {
	l := loadersFrom(ctx)
	for i := range ds {
		l.datasets.Prime(ds[i].ID, &ds[i])
		l.ids.Prime(ds[i].Key, ds[i].ID)
	}
	if len(ds) == 0 {
		return nil
	}
	op := graphql.GetOperationContext(ctx)
	var (
		pages []store.HistoryPage
		fresh []store.FreshnessPage
	)
	keys := make([]catalog.Key, len(ds))
	for i, d := range ds {
		keys[i] = d.Key
	}
	for _, f := range sel {
		switch f.Name {
		case "qualityChecks":
			checks, err := r.store.ChecksOf(ctx, keys)
			if err != nil {
				return err
			}
			for _, k := range keys {
				l.checks.Prime(k, checks[k])
			}
			if err := r.primeResults(ctx, checks, f); err != nil {
				return err
			}
		case "slos":
			reports, err := r.store.CurrentSLOReports(ctx, keys, l.declared, l.now)
			if err != nil {
				return err
			}
			for _, k := range keys {
				l.slos.Prime(k, reports[k])
			}
		case "incidents":
			open, _ := f.ArgumentMap(op.Variables)["open"].(bool)
			limit, loader := recentIncidentsLimit, l.recentIncidents
			if open {
				limit, loader = openIncidentsLimit, l.openIncidents
			}
			incs, err := r.store.IncidentsOf(ctx, keys, open, limit)
			if err != nil {
				return err
			}
			for _, k := range keys {
				loader.Prime(k, incs[k])
			}
		case "anomalies":
			found, err := r.store.CurrentAnomalies(ctx, keys, l.declared, l.now)
			if err != nil {
				return err
			}
			for _, k := range keys {
				l.anomalies.Prime(k, found[k])
			}
		case "referencedBy":
			refs, err := r.store.ReferencedBy(ctx, keys)
			if err != nil {
				return err
			}
			for _, k := range keys {
				l.referenced.Prime(k, refs[k])
			}
		case "freshness", "freshnessHistory":
			n := 1
			if f.Name == "freshnessHistory" {
				var err error
				if n, _, err = pageArgs(op, f, defaultFreshnessHistory); err != nil {
					continue // the resolver reports it
				}
			}
			for _, k := range keys {
				fresh = append(fresh, store.FreshnessPage{Dataset: k, Limit: n})
			}
		case "schemaHistory":
			first, after, err := pageArgs(op, f, 10)
			if err != nil {
				continue // the resolver reports it
			}
			before, err := parseIntCursor(after)
			if err != nil {
				continue // the resolver reports it
			}
			cols := selectsColumns(op, f.Selections)
			for _, d := range ds {
				pages = append(pages, store.HistoryPage{DatasetID: d.ID, Limit: first + 1, Before: int(before), Columns: cols})
			}
		}
	}
	if err := r.primeJobsAround(ctx, keys, sel); err != nil {
		return err
	}
	if len(fresh) > 0 {
		obs, err := r.store.FreshnessPages(ctx, fresh)
		if err != nil {
			return err
		}
		for _, p := range fresh {
			l.freshness.Prime(p, obs[p])
		}
	}
	if len(pages) > 0 {
		hist, err := r.store.SchemaHistories(ctx, pages)
		if err != nil {
			return err
		}
		for _, p := range pages {
			l.history.Prime(p, hist[p])
		}
	}
	return nil
}

// primeResults reads the results of every check that the qualityChecks
// field f selects them on, in one statement.
func (r *Resolver) primeResults(ctx context.Context, checks map[catalog.Key][]catalog.SourceCheck, f graphql.CollectedField) error {
	op := graphql.GetOperationContext(ctx)
	var pages []store.ResultPage
	for _, rf := range graphql.CollectFields(op, f.Selections, nil) {
		if rf.Name != "results" {
			continue
		}
		first, after, err := pageArgs(op, rf, 20)
		if err != nil {
			continue // the resolver reports it
		}
		for _, cs := range checks {
			for i := range cs {
				p, err := resultPage(&cs[i], first, after)
				if err != nil {
					break // the resolver reports it
				}
				pages = append(pages, p)
			}
		}
	}
	if len(pages) == 0 {
		return nil
	}
	results, err := r.store.ResultPages(ctx, pages)
	if err != nil {
		return err
	}
	l := loadersFrom(ctx)
	for _, p := range pages {
		l.results.Prime(p, results[p])
	}
	return nil
}

// pageArgs reads the first and after arguments of the connection field f
// as its resolver will: first is def when absent, and an error when out of
// range.
func pageArgs(op *graphql.OperationContext, f graphql.CollectedField, def int) (first int, after *string, err error) {
	args := f.ArgumentMap(op.Variables)
	var n *int
	switch v := args["first"].(type) {
	case int:
		n = &v
	case int64:
		i := int(v)
		n = &i
	}
	if s, ok := args["after"].(string); ok {
		after = &s
	}
	first, err = pageSize(n, def)
	return first, after, err
}

// selectsColumns reports whether a schemaHistory selection asks for the
// versions' full column lists (edges { node { columns } }).
func selectsColumns(op *graphql.OperationContext, sel ast.SelectionSet) bool {
	return selectsOnNodes(op, sel, "columns")
}

// selectsOnNodes reports whether a connection's selection asks for field
// on its nodes (edges { node { field } }).
func selectsOnNodes(op *graphql.OperationContext, sel ast.SelectionSet, field string) bool {
	for _, edges := range graphql.CollectFields(op, sel, nil) {
		if edges.Name != "edges" {
			continue
		}
		for _, node := range graphql.CollectFields(op, edges.Selections, nil) {
			if node.Name != "node" {
				continue
			}
			for _, f := range graphql.CollectFields(op, node.Selections, nil) {
				if f.Name == field {
					return true
				}
			}
		}
	}
	return false
}

// nodeFields returns the fields selected on the nodes of the connection
// being resolved (edges { node { … } }).
func nodeFields(ctx context.Context) []graphql.CollectedField {
	op := graphql.GetOperationContext(ctx)
	var out []graphql.CollectedField
	for _, edges := range graphql.CollectFieldsCtx(ctx, nil) {
		if edges.Name != "edges" {
			continue
		}
		for _, node := range graphql.CollectFields(op, edges.Selections, nil) {
			if node.Name == "node" {
				out = append(out, graphql.CollectFields(op, node.Selections, nil)...)
			}
		}
	}
	return out
}

// hitDatasetFields returns the fields a search selects on its hits'
// datasets (edges.node.dataset), to prime them for the page.
func hitDatasetFields(ctx context.Context) []graphql.CollectedField {
	return hitFields(ctx, "dataset")
}

// hitFields returns the fields selected on the field name (a hit's
// dataset or job) of the nodes of the connection being resolved.
func hitFields(ctx context.Context, name string) []graphql.CollectedField {
	op := graphql.GetOperationContext(ctx)
	var out []graphql.CollectedField
	for _, f := range nodeFields(ctx) {
		if f.Name == name {
			out = append(out, graphql.CollectFields(op, f.Selections, nil)...)
		}
	}
	return out
}

// primeJobs reads the jobs keys in one batch, in the order of keys, and
// hands them to the request's loaders; then it reads for the whole page
// what the operation selects on them (sel): latest runs, pages of runs,
// and the datasets they read and write.
func (r *Resolver) primeJobs(ctx context.Context, keys []catalog.JobKey, sel []graphql.CollectedField) ([]catalog.Job, error) {
	l := loadersFrom(ctx)
	byKey, err := r.store.JobsByKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	jobs := make([]catalog.Job, 0, len(keys))
	for _, k := range keys {
		if j := byKey[k]; j != nil {
			l.jobs.Prime(k, j)
			jobs = append(jobs, *j)
		}
	}
	if len(jobs) == 0 {
		return jobs, nil
	}
	op := graphql.GetOperationContext(ctx)
	var datasets []catalog.Key
	var datasetSel []graphql.CollectedField
	for _, f := range sel {
		switch f.Name {
		case "latestRun":
			latest, err := r.store.LatestRuns(ctx, keys)
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				if run, ok := latest[k]; ok {
					l.latestRuns.Prime(k, &run)
				} else {
					l.latestRuns.Prime(k, nil)
				}
			}
		case "runs":
			first, after, err := pageArgs(op, f, 20)
			if err != nil {
				continue // the resolver reports it
			}
			var pages []store.RunPage
			for _, j := range jobs {
				p, err := runPage(j.Key, first, after)
				if err != nil {
					break // the resolver reports it
				}
				pages = append(pages, p)
			}
			if len(pages) == 0 {
				continue
			}
			runs, err := r.store.RunPages(ctx, pages)
			if err != nil {
				return nil, err
			}
			for _, p := range pages {
				l.runPages.Prime(p, runs[p])
			}
		case "inputs", "outputs":
			for _, d := range graphql.CollectFields(op, f.Selections, nil) {
				if d.Name != "dataset" {
					continue
				}
				datasetSel = append(datasetSel, graphql.CollectFields(op, d.Selections, nil)...)
				for _, j := range jobs {
					if f.Name == "inputs" {
						datasets = append(datasets, j.Inputs...)
					} else {
						datasets = append(datasets, j.Outputs...)
					}
				}
			}
		}
	}
	if len(datasets) > 0 {
		if err := r.primeKeys(ctx, datasets, datasetSel); err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

// primeKeys reads the datasets keys that the catalog holds and primes
// the loaders with them and with what sel selects on them.
func (r *Resolver) primeKeys(ctx context.Context, keys []catalog.Key, sel []graphql.CollectedField) error {
	keys = slices.Compact(slices.SortedFunc(slices.Values(keys), func(a, b catalog.Key) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	}))
	ids, err := r.store.DatasetIDs(ctx, keys)
	if err != nil {
		return err
	}
	var list []int64
	for _, k := range keys {
		if id, ok := ids[k]; ok {
			list = append(list, id)
		}
	}
	if len(list) == 0 {
		return nil
	}
	ds, err := r.store.DatasetsByIDs(ctx, list)
	if err != nil {
		return err
	}
	return r.prime(ctx, ds, sel)
}

// primeJobsAround reads the jobs around the datasets keys when the
// operation selects producers or consumers on them (sel), and the jobs
// themselves with what it selects on them, for the whole page at once.
func (r *Resolver) primeJobsAround(ctx context.Context, keys []catalog.Key, sel []graphql.CollectedField) error {
	op := graphql.GetOperationContext(ctx)
	var jobSel []graphql.CollectedField
	for _, f := range sel {
		if f.Name == "producers" || f.Name == "consumers" {
			jobSel = append(jobSel, graphql.CollectFields(op, f.Selections, nil)...)
		}
	}
	if jobSel == nil {
		return nil
	}
	around, err := r.store.JobsOfDatasets(ctx, keys)
	if err != nil {
		return err
	}
	l := loadersFrom(ctx)
	var jobs []catalog.JobKey
	seen := map[catalog.JobKey]bool{}
	for _, k := range keys {
		a := around[k]
		l.jobsAround.Prime(k, a)
		for _, j := range append(a.Producers, a.Consumers...) {
			if !seen[j] {
				seen[j] = true
				jobs = append(jobs, j)
			}
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	_, err = r.primeJobs(ctx, jobs, jobSel)
	return err
}

// primeRunJobs reads the jobs of a page of runs in one batch when the
// operation selects them (edges { node { job { … } } }), rather than
// however the loader's batches fall under load.
func (r *Resolver) primeRunJobs(ctx context.Context, runs []catalog.Run) error {
	sel := hitFields(ctx, "job")
	if len(sel) == 0 || len(runs) == 0 {
		return nil
	}
	seen := map[catalog.JobKey]bool{}
	var keys []catalog.JobKey
	for _, run := range runs {
		if !seen[run.Job] {
			seen[run.Job] = true
			keys = append(keys, run.Job)
		}
	}
	_, err := r.primeJobs(ctx, keys, sel)
	return err
}

// primeIncidentTimelines reads the timelines of a page of incidents in one
// statement when the operation selects them (edges { node { timeline } }),
// rather than however the loader's batches fall under load.
func (r *Resolver) primeIncidentTimelines(ctx context.Context, incs []catalog.Incident) error {
	if len(incs) == 0 || len(hitFields(ctx, "timeline")) == 0 {
		return nil
	}
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		ids[i] = inc.ID
	}
	evs, err := r.store.IncidentTimelines(ctx, ids)
	if err != nil {
		return err
	}
	l := loadersFrom(ctx)
	for _, id := range ids {
		l.timelines.Prime(id, evs[id])
	}
	return nil
}

// searchPage is a search field's query and its page of results.
type searchPage struct {
	q      search.Query
	res    search.Results
	offset int64
	n      int
}

// runSearch runs a search field's query (field names it in errors): its
// page size and cursor checked, its query parsed, jobs or datasets.
func (r *Resolver) runSearch(ctx context.Context, field, query string, includeRemoved *bool, first *int, after *string, jobs bool) (searchPage, error) {
	var p searchPage
	if r.search == nil {
		return p, fmt.Errorf("search is not enabled on this server: %w", catalog.ErrNotEnabled)
	}
	var err error
	if p.n, err = pageSize(first, search.DefaultLimit); err != nil {
		return p, err
	}
	if p.n > search.MaxLimit {
		return p, fmt.Errorf("first must be at most %d for %s, got %d: %w", search.MaxLimit, field, p.n, catalog.ErrInvalid)
	}
	if p.offset, err = parseIntCursor(after); err != nil {
		return p, err
	}
	if p.q, err = search.Parse(query); err != nil {
		return p, err
	}
	p.res, err = r.search.Search(ctx, search.Request{
		Query: p.q, IncludeRemoved: includeRemoved != nil && *includeRemoved, Jobs: jobs, Offset: int(p.offset), Limit: p.n,
	})
	return p, err
}
