package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"almanac/catalog"
	"almanac/graph/model"
	"almanac/search"
)

// jobFilter is the filter of the query language that searches jobs: the
// portal's search page lists jobs alone for it, and searchJobs implies it.
var jobFilter = search.Filter{Key: "kind", Value: search.KindJob}

// jobFilterWarning tells a client of search, whose hits are datasets,
// where the jobs that kind:job asks for are.
const jobFilterWarning = "kind:job: search finds datasets only, so nothing matches; searchJobs searches jobs"

// jobSearchConnection turns a page of job hits (res, of a search for q
// at offset, n a page) into the API's connection. The index answers most
// of a hit; the jobs are read from PostgreSQL, in one batch priming the
// loaders with what the operation selects on them, only when asked for.
func (r *queryResolver) jobSearchConnection(ctx context.Context, q search.Query, res search.Results, n int, offset int64) (*model.JobSearchConnection, error) {
	var byKey map[catalog.JobKey]*catalog.Job
	if selectsOnNodes(graphql.GetOperationContext(ctx), graphql.GetFieldContext(ctx).Field.Selections, "job") {
		keys := make([]catalog.JobKey, len(res.Hits))
		for i, h := range res.Hits {
			keys[i] = catalog.JobKey(h.Key)
		}
		jobs, err := r.primeJobs(ctx, keys, hitFields(ctx, "job"))
		if err != nil {
			return nil, err
		}
		byKey = make(map[catalog.JobKey]*catalog.Job, len(jobs))
		for i := range jobs {
			byKey[jobs[i].Key] = &jobs[i]
		}
	}
	c := &model.JobSearchConnection{TotalCount: res.Total, Fuzzy: res.Fuzzy, Warnings: nonNil(q.Warnings), Edges: []model.JobSearchEdge{}}
	if res.Partial != nil {
		c.Partial = &model.SearchPartial{Words: res.Partial.Words, Matched: res.Partial.Matched}
	}
	for i, h := range res.Hits {
		k := catalog.JobKey(h.Key)
		j := byKey[k]
		if byKey != nil && j == nil {
			continue // removed from the catalog since the index saw it
		}
		hit := model.JobSearchHit{
			Job: j, Namespace: k.Namespace, Name: k.Name, Type: h.Platform, Removed: h.Removed,
			Matched: nonNil(h.Matched), Score: h.Score,
			NameHighlight: h.Name.HTML(), DescriptionHighlight: h.Description.HTML(),
		}
		c.Edges = append(c.Edges, model.JobSearchEdge{Cursor: intCursor(offset + int64(i) + 1), Node: &hit})
	}
	hasNext := int(offset)+n < min(res.Total, search.MaxOffset+n)
	c.PageInfo = pageOf(c.Edges, hasNext, func(e model.JobSearchEdge) string { return e.Cursor })
	return c, nil
}
