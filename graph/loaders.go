package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/vikstrous/dataloadgen"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// loaderWait is how long a loader gathers keys before it queries: long
// enough for the resolvers of one list's items, which gqlgen runs
// concurrently, to join one batch; short against a request's few
// milliseconds.
const loaderWait = 500 * time.Microsecond

// loaders batch what the fields of many objects in one request need, so
// that a page of 50 datasets costs the same few statements as one. They
// live for one request: their caches never serve another request's reads.
type loaders struct {
	datasets   *dataloadgen.Loader[int64, *catalog.Dataset]
	links      *dataloadgen.Loader[int64, []catalog.Link]
	usage      *dataloadgen.Loader[int64, catalog.Usage]
	ids        *dataloadgen.Loader[catalog.Key, int64]
	referenced *dataloadgen.Loader[catalog.Key, []catalog.Sourced[catalog.ReverseKey]]
	history    *dataloadgen.Loader[store.HistoryPage, []catalog.SchemaVersion]
	checks     *dataloadgen.Loader[catalog.Key, []catalog.SourceCheck]
	freshness  *dataloadgen.Loader[store.FreshnessPage, []catalog.Sourced[catalog.FreshnessObservation]]
	results    *dataloadgen.Loader[store.ResultPage, []catalog.QualityResult]
	slos       *dataloadgen.Loader[catalog.Key, []store.SLOReport]
	anomalies  *dataloadgen.Loader[catalog.Key, []store.Anomaly]
	sloHistory *dataloadgen.Loader[store.SLOHistoryPage, []store.SLODay]
	// declared are the configuration's SLOs, and now the one time the
	// request evaluates SLOs at, for the look-ahead to prime slos.
	declared   []slo.SLO
	now        time.Time
	jobs       *dataloadgen.Loader[catalog.JobKey, *catalog.Job]
	jobsAround *dataloadgen.Loader[catalog.Key, store.JobsAround]
	latestRuns *dataloadgen.Loader[catalog.JobKey, *catalog.Run]
	runPages   *dataloadgen.Loader[store.RunPage, []catalog.Run]
	runs       *dataloadgen.Loader[string, *catalog.Run]
	children   *dataloadgen.Loader[string, []catalog.Run]
	// incidents are each dataset's open incidents (open) or newest 50.
	// inherited are the descriptions each dataset's undescribed columns
	// inherit, by column name.
	inherited       *dataloadgen.Loader[catalog.Key, map[string]catalog.InheritedDescription]
	openIncidents   *dataloadgen.Loader[catalog.Key, []catalog.Incident]
	recentIncidents *dataloadgen.Loader[catalog.Key, []catalog.Incident]
	// timelines are incidents' timelines, by incident id.
	timelines *dataloadgen.Loader[int64, []catalog.IncidentEvent]
}

func newLoaders(st *store.Store, declared []slo.SLO) *loaders {
	wait := dataloadgen.WithWait(loaderWait)
	now := time.Now() // one evaluation time for the whole request
	return &loaders{
		declared: declared,
		now:      now,
		// SLO reports and anomalies as the evaluator stored them, when
		// current (store.Evaluations), as the dataset page reads them.
		slos: dataloadgen.NewLoader(fromMap(func(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]store.SLOReport, error) {
			return st.CurrentSLOReports(ctx, keys, declared, now)
		}, ""), wait),
		anomalies: dataloadgen.NewLoader(fromMap(func(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]store.Anomaly, error) {
			return st.CurrentAnomalies(ctx, keys, declared, now)
		}, ""), wait),
		datasets: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([]*catalog.Dataset, []error) {
			ds, err := st.DatasetsByIDs(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			byID := make(map[int64]*catalog.Dataset, len(ds))
			for i := range ds {
				byID[ds[i].ID] = &ds[i]
			}
			out, errs := make([]*catalog.Dataset, len(ids)), make([]error, len(ids))
			for i, id := range ids {
				if out[i] = byID[id]; out[i] == nil {
					errs[i] = fmt.Errorf("dataset %d: %w", id, catalog.ErrNotFound)
				}
			}
			return out, errs
		}, wait),
		sloHistory: dataloadgen.NewLoader(fromMap(st.SLOHistories, ""), wait),
		ids:        dataloadgen.NewLoader(fromMap(st.DatasetIDs, "dataset"), wait),
		links:      dataloadgen.NewLoader(fromMap(st.DatasetLinks, ""), wait),
		usage: dataloadgen.NewLoader(fromMap(func(ctx context.Context, ids []int64) (map[int64]catalog.Usage, error) {
			return st.UsageOf(ctx, ids, now)
		}, ""), wait),
		referenced: dataloadgen.NewLoader(fromMap(st.ReferencedBy, ""), wait),
		history:    dataloadgen.NewLoader(fromMap(st.SchemaHistories, ""), wait),
		checks:     dataloadgen.NewLoader(fromMap(st.ChecksOf, ""), wait),
		freshness:  dataloadgen.NewLoader(fromMap(st.FreshnessPages, ""), wait),
		results:    dataloadgen.NewLoader(fromMap(st.ResultPages, ""), wait),
		jobs:       dataloadgen.NewLoader(fromMap(st.JobsByKeys, "job"), wait),
		jobsAround: dataloadgen.NewLoader(fromMap(st.JobsOfDatasets, ""), wait),
		// A job that never ran has no latest run: nil, not an error.
		latestRuns: dataloadgen.NewLoader(func(ctx context.Context, keys []catalog.JobKey) ([]*catalog.Run, []error) {
			m, err := st.LatestRuns(ctx, keys)
			if err != nil {
				return nil, []error{err}
			}
			out := make([]*catalog.Run, len(keys))
			for i, k := range keys {
				if r, ok := m[k]; ok {
					out[i] = &r
				}
			}
			return out, nil
		}, wait),
		runPages:  dataloadgen.NewLoader(fromMap(st.RunPages, ""), wait),
		inherited: dataloadgen.NewLoader(fromMap(st.InheritedDescriptions, ""), wait),
		openIncidents: dataloadgen.NewLoader(fromMap(func(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.Incident, error) {
			return st.IncidentsOf(ctx, keys, true, openIncidentsLimit)
		}, ""), wait),
		recentIncidents: dataloadgen.NewLoader(fromMap(func(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.Incident, error) {
			return st.IncidentsOf(ctx, keys, false, recentIncidentsLimit)
		}, ""), wait),
		runs: dataloadgen.NewLoader(func(ctx context.Context, ids []string) ([]*catalog.Run, []error) {
			m, err := st.RunsByIDs(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			out, errs := make([]*catalog.Run, len(ids)), make([]error, len(ids))
			for i, id := range ids {
				if r, ok := m[id]; ok {
					out[i] = &r
				} else {
					errs[i] = fmt.Errorf("run %s: %w", id, catalog.ErrNotFound)
				}
			}
			return out, errs
		}, wait),
		children:  dataloadgen.NewLoader(fromMap(st.ChildRunsOf, ""), wait),
		timelines: dataloadgen.NewLoader(fromMap(st.IncidentTimelines, ""), wait),
	}
}

// fromMap turns a store read that answers a map by key into a loader's
// batch function. A key the map lacks gets the zero value (no references,
// no checks…) or, when what names the kind of object, a NOT_FOUND error
// ("job ns/name"). dataloadgen's NewMappedLoader would answer its own
// ErrNotFound, which the error presenter cannot map.
func fromMap[K comparable, V any](read func(context.Context, []K) (map[K]V, error), what string) func(context.Context, []K) ([]V, []error) {
	return func(ctx context.Context, keys []K) ([]V, []error) {
		m, err := read(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		out, errs := make([]V, len(keys)), make([]error, len(keys))
		for i, k := range keys {
			var ok bool
			if out[i], ok = m[k]; !ok && what != "" {
				errs[i] = fmt.Errorf("%s %v: %w", what, k, catalog.ErrNotFound)
			}
		}
		return out, errs
	}
}

type loadersKey struct{}

func withLoaders(ctx context.Context, l *loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

func loadersFrom(ctx context.Context) *loaders {
	return ctx.Value(loadersKey{}).(*loaders)
}
