package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/vikstrous/dataloadgen"

	"almanac/catalog"
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
	ids        *dataloadgen.Loader[catalog.Key, int64]
	referenced *dataloadgen.Loader[catalog.Key, []catalog.Sourced[catalog.ReverseKey]]
	history    *dataloadgen.Loader[store.HistoryPage, []catalog.SchemaVersion]
	checks     *dataloadgen.Loader[catalog.Key, []catalog.SourceCheck]
	jobs       *dataloadgen.Loader[catalog.JobKey, *store.Job]
	jobsAround *dataloadgen.Loader[catalog.Key, store.JobsAround]
	latestRuns *dataloadgen.Loader[catalog.JobKey, *catalog.Run]
	runPages   *dataloadgen.Loader[store.RunPage, []catalog.Run]
	runs       *dataloadgen.Loader[string, *catalog.Run]
	children   *dataloadgen.Loader[string, []catalog.Run]
}

func newLoaders(st *store.Store) *loaders {
	wait := dataloadgen.WithWait(loaderWait)
	return &loaders{
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
		ids: dataloadgen.NewLoader(func(ctx context.Context, keys []catalog.Key) ([]int64, []error) {
			m, err := st.DatasetIDs(ctx, keys)
			if err != nil {
				return nil, []error{err}
			}
			out, errs := make([]int64, len(keys)), make([]error, len(keys))
			for i, k := range keys {
				var ok bool
				if out[i], ok = m[k]; !ok {
					errs[i] = fmt.Errorf("dataset %s: %w", k, catalog.ErrNotFound)
				}
			}
			return out, errs
		}, wait),
		referenced: dataloadgen.NewLoader(func(ctx context.Context, keys []catalog.Key) ([][]catalog.Sourced[catalog.ReverseKey], []error) {
			m, err := st.ReferencedBy(ctx, keys)
			if err != nil {
				return nil, []error{err}
			}
			out := make([][]catalog.Sourced[catalog.ReverseKey], len(keys))
			for i, k := range keys {
				out[i] = m[k]
			}
			return out, nil
		}, wait),
		history: dataloadgen.NewLoader(func(ctx context.Context, pages []store.HistoryPage) ([][]catalog.SchemaVersion, []error) {
			m, err := st.SchemaHistories(ctx, pages)
			if err != nil {
				return nil, []error{err}
			}
			out := make([][]catalog.SchemaVersion, len(pages))
			for i, p := range pages {
				out[i] = m[p]
			}
			return out, nil
		}, wait),
		checks: dataloadgen.NewLoader(func(ctx context.Context, keys []catalog.Key) ([][]catalog.SourceCheck, []error) {
			m, err := st.ChecksOf(ctx, keys)
			if err != nil {
				return nil, []error{err}
			}
			out := make([][]catalog.SourceCheck, len(keys))
			for i, k := range keys {
				out[i] = m[k]
			}
			return out, nil
		}, wait),
		jobs: dataloadgen.NewLoader(func(ctx context.Context, keys []catalog.JobKey) ([]*store.Job, []error) {
			m, err := st.JobsByKeys(ctx, keys)
			if err != nil {
				return nil, []error{err}
			}
			out, errs := make([]*store.Job, len(keys)), make([]error, len(keys))
			for i, k := range keys {
				if out[i] = m[k]; out[i] == nil {
					errs[i] = fmt.Errorf("job %s: %w", k, catalog.ErrNotFound)
				}
			}
			return out, errs
		}, wait),
		jobsAround: dataloadgen.NewLoader(func(ctx context.Context, keys []catalog.Key) ([]store.JobsAround, []error) {
			m, err := st.JobsOfDatasets(ctx, keys)
			if err != nil {
				return nil, []error{err}
			}
			out := make([]store.JobsAround, len(keys))
			for i, k := range keys {
				out[i] = m[k]
			}
			return out, nil
		}, wait),
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
		runPages: dataloadgen.NewLoader(func(ctx context.Context, pages []store.RunPage) ([][]catalog.Run, []error) {
			m, err := st.RunPages(ctx, pages)
			if err != nil {
				return nil, []error{err}
			}
			out := make([][]catalog.Run, len(pages))
			for i, p := range pages {
				out[i] = m[p]
			}
			return out, nil
		}, wait),
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
		children: dataloadgen.NewLoader(func(ctx context.Context, ids []string) ([][]catalog.Run, []error) {
			m, err := st.ChildRunsOf(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			out := make([][]catalog.Run, len(ids))
			for i, id := range ids {
				out[i] = m[id]
			}
			return out, nil
		}, wait),
	}
}

type loadersKey struct{}

func withLoaders(ctx context.Context, l *loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

func loadersFrom(ctx context.Context) *loaders {
	return ctx.Value(loadersKey{}).(*loaders)
}
