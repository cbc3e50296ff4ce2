package unitycatalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"almanac/catalog"
)

// lineageResponse is the answer of Databricks' table lineage API (GET
// /api/2.0/lineage-tracking/table-lineage?table_name=…&include_entity_lineage=true):
// the tables (or paths) the table was written from, and those written from
// it, each with the notebooks, jobs, pipelines, queries and dashboards that
// did it.
type lineageResponse struct {
	Upstreams   []lineageItem `json:"upstreams"`
	Downstreams []lineageItem `json:"downstreams"`
}

type lineageItem struct {
	TableInfo *struct {
		Name        string `json:"name"`
		CatalogName string `json:"catalog_name"`
		SchemaName  string `json:"schema_name"`
	} `json:"tableInfo"`
	FileInfo *struct {
		Path string `json:"path"`
	} `json:"fileInfo"`
	NotebookInfos  []map[string]json.RawMessage `json:"notebookInfos"`
	JobInfos       []map[string]json.RawMessage `json:"jobInfos"`
	PipelineInfos  []map[string]json.RawMessage `json:"pipelineInfos"`
	QueryInfos     []map[string]json.RawMessage `json:"queryInfos"`
	DashboardInfos []map[string]json.RawMessage `json:"dashboardInfos"`
}

// Properties of a lineage job: the entities that wrote the table, as
// "<workspace id>/<id>", sorted and comma-separated.
const (
	PropNotebooks  = "notebooks"
	PropJobs       = "jobs"
	PropPipelines  = "pipelines"
	PropQueries    = "queries"
	PropDashboards = "dashboards"
)

// entityProps pairs each list of entities with its property and id field.
func (it lineageItem) entities() map[string][]string {
	out := map[string][]string{}
	add := func(prop, idField string, infos []map[string]json.RawMessage) {
		for _, info := range infos {
			id := rawString(info[idField])
			if id == "" {
				continue
			}
			if ws := rawString(info["workspace_id"]); ws != "" {
				id = ws + "/" + id
			}
			out[prop] = append(out[prop], id)
		}
	}
	add(PropNotebooks, "notebook_id", it.NotebookInfos)
	add(PropJobs, "job_id", it.JobInfos)
	add(PropPipelines, "pipeline_id", it.PipelineInfos)
	add(PropQueries, "query_id", it.QueryInfos)
	add(PropDashboards, "dashboard_id", it.DashboardInfos)
	return out
}

// rawString reads a JSON string or number as text.
func rawString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// lineageJob gathers the writes into one table.
type lineageJob struct {
	target   string // its Unity Catalog name, or its path
	output   catalog.Key
	inputs   map[catalog.Key]bool
	entities map[string]map[string]bool // by property
}

// lineage asks for the table lineage of every table crawled and adds to hv
// one job per table that something was written into (JobLineage, named
// "lineage:<catalog.schema.table>", or "lineage:<path>" for a path), whose
// inputs are what it was written from. It returns a scope covering the
// lineage jobs of each schema whose every table's lineage was read, and
// whether every one was.
//
// Should the server have no lineage API (the open-source one: 404 or 501
// to the first request), one error says so and no more are made. A 404
// that names a missing resource (a table dropped since it was listed) is
// that table's error, not the API's.
func (w *walker) lineage(ctx context.Context, hv *catalog.Harvest, tables []tableInfo, keys map[string]catalog.Key, server string) ([]catalog.Scope, bool) {
	if len(tables) == 0 {
		return nil, true
	}
	answers := make([]lineageResponse, len(tables))
	errs := make([]error, len(tables))
	get := func(i int) {
		q := url.Values{"table_name": {tables[i].fullName()}, "include_entity_lineage": {"true"}}
		errs[i] = w.c.get(ctx, lineagePath, q, &answers[i])
	}
	get(0)
	if noLineageAPI(errs[0]) {
		hv.Errors = append(hv.Errors, catalog.CrawlError{Object: server, Message: fmt.Sprintf(
			"table lineage: %v to %s for %s: the server offers no table lineage (the open-source Unity Catalog has none; it is Databricks'): turn lineage off for this source",
			errs[0], lineagePath, tables[0].fullName())})
		return nil, false
	}
	w.each(ctx, len(tables)-1, func(i int) { get(i + 1) })

	jobs := map[string]*lineageJob{}
	job := func(target string, out catalog.Key) *lineageJob {
		j := jobs[target]
		if j == nil {
			j = &lineageJob{target: target, output: out, inputs: map[catalog.Key]bool{}, entities: map[string]map[string]bool{}}
			jobs[target] = j
		}
		return j
	}
	add := func(j *lineageJob, in catalog.Key, it lineageItem) {
		j.inputs[in] = true
		for prop, ids := range it.entities() {
			if j.entities[prop] == nil {
				j.entities[prop] = map[string]bool{}
			}
			for _, id := range ids {
				j.entities[prop][id] = true
			}
		}
	}
	failed := map[string]bool{} // schemas, "catalog.schema."
	complete := true
	for i, t := range tables {
		prefix := t.CatalogName + "." + t.SchemaName + "."
		if errs[i] != nil {
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: t.fullName(), Message: "table lineage: " + errs[i].Error()})
			failed[prefix], complete = true, false
			continue
		}
		self := keys[t.fullName()]
		for _, up := range answers[i].Upstreams {
			if k, _, ok := w.lineageKey(up, keys); ok {
				add(job(t.fullName(), self), k, up)
			}
		}
		for _, down := range answers[i].Downstreams {
			if k, target, ok := w.lineageKey(down, keys); ok {
				add(job(target, k), self, down)
			}
		}
	}
	for _, j := range jobs {
		out := catalog.JobFacts{
			Key:     catalog.JobKey{Namespace: w.ns, Name: lineageJobPrefix + j.target},
			Type:    JobLineage,
			Inputs:  slices.SortedFunc(maps.Keys(j.inputs), catalog.Key.Compare),
			Outputs: []catalog.Key{j.output},
		}
		for prop, ids := range j.entities {
			if out.Properties == nil {
				out.Properties = map[string]string{}
			}
			out.Properties[prop] = strings.Join(slices.Sorted(maps.Keys(ids)), ", ")
		}
		hv.Jobs = append(hv.Jobs, out)
	}
	var scopes []catalog.Scope
	seen := map[string]bool{}
	for _, s := range hv.Scopes {
		if s.Namespace != w.ns || strings.HasPrefix(s.Prefix, viewJobPrefix) || failed[s.Prefix] || seen[s.Prefix] {
			continue
		}
		seen[s.Prefix] = true
		scopes = append(scopes, catalog.Scope{Namespace: w.ns, Prefix: lineageJobPrefix + s.Prefix})
	}
	return scopes, complete
}

// lineageKey is the key of a table or path in a lineage answer, and the
// name its lineage job would have.
func (w *walker) lineageKey(it lineageItem, keys map[string]catalog.Key) (catalog.Key, string, bool) {
	switch {
	case it.TableInfo != nil && it.TableInfo.CatalogName != "" && it.TableInfo.SchemaName != "" && it.TableInfo.Name != "":
		full := it.TableInfo.CatalogName + "." + it.TableInfo.SchemaName + "." + it.TableInfo.Name
		return w.keyOf(full, keys), full, true
	case it.FileInfo != nil && it.FileInfo.Path != "":
		k, err := catalog.LocationKey(it.FileInfo.Path)
		if err != nil {
			return catalog.Key{}, "", false
		}
		return k, it.FileInfo.Path, true
	}
	return catalog.Key{}, "", false
}

// noLineageAPI says whether a lineage request's error means that the
// server has no lineage API: 501, or a 404 that is not about a resource
// (Databricks answers RESOURCE_DOES_NOT_EXIST for a table that no longer
// exists).
func noLineageAPI(err error) bool {
	se, ok := errors.AsType[*statusError](err)
	switch {
	case !ok:
		return false
	case se.status == http.StatusNotImplemented:
		return true
	case se.status == http.StatusNotFound:
		return se.code != "RESOURCE_DOES_NOT_EXIST" && se.code != "TABLE_DOES_NOT_EXIST"
	}
	return false
}
