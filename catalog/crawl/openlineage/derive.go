package openlineage

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
)

// JobTypeDefault is the type of a job whose events carry no jobType facet.
const JobTypeDefault = "openlineage"

// Derive folds events, in order of their eventTime, into what they assert
// about the catalog. A later event's facet replaces an earlier one's; the
// inputs and outputs of a job add up. errs has one entry per event: the
// reason the parts of that event that could not be used were dropped, or
// nil.
//
// A run id belongs to one job: the first of events (in their order, the
// order of arrival) to name a run id claims it, and the run of a later
// event naming it with another job is refused with an error naming both.
func Derive(events []Event) (catalog.Push, []error) {
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return events[a].Time.Compare(events[b].Time) })

	d := deriver{
		push:    catalog.Push{Source: catalog.SourceOpenLineage},
		colLin:  map[catalog.Key][]catalog.ColumnLineage{},
		checks:  map[string]int{},
		results: map[[2]string]int{},
		errs:    make([]error, len(events)),
		runJobs: map[string]catalog.JobKey{},
	}
	for _, e := range events {
		if _, ok := d.runJobs[e.RunID]; !ok && e.Kind == KindRun {
			d.runJobs[e.RunID] = e.Job
		}
	}
	for _, i := range order {
		d.errs[i] = d.event(events[i])
	}
	keys := slices.SortedFunc(maps.Keys(d.colLin), func(a, b catalog.Key) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		d.push.ColumnLineage = append(d.push.ColumnLineage, d.colLin[k]...)
	}
	return d.push, d.errs
}

type deriver struct {
	push    catalog.Push
	colLin  map[catalog.Key][]catalog.ColumnLineage // latest facet per output
	checks  map[string]int                          // index in push.Checks by name
	results map[[2]string]int                       // index in push.Results by check, run
	runJobs map[string]catalog.JobKey               // the job each run id belongs to
	errs    []error
}

func (d *deriver) event(e Event) error {
	var problems []string
	switch e.Kind {
	case KindDataset:
		d.dataset(*e.Dataset, e, &problems)
		d.metrics(*e.Dataset, e, catalog.MetricsStatic, "dataset", "", &problems)
	case KindRun, KindJob:
		job := catalog.JobFacts{Key: e.Job, Type: JobTypeDefault}
		var asserts catalog.Facet
		var jt jobTypeFacet
		if ok, _ := e.JobFacets.facet("jobType", "", &jt); ok && jt.JobType != "" {
			job.Type = strings.ToLower(strings.Trim(jt.Integration+"_"+jt.JobType, "_"))
			asserts |= catalog.FacetJobType
			job.Properties = map[string]string{}
			setProp(job.Properties, "integration", jt.Integration)
			setProp(job.Properties, "processingType", jt.ProcessingType)
		}
		var doc documentationFacet
		if ok, _ := e.JobFacets.facet("documentation", "", &doc); ok {
			job.Description = doc.Description
			asserts |= catalog.FacetDescription
		}
		var sql sqlFacet
		if ok, _ := e.JobFacets.facet("sql", "", &sql); ok {
			job.SQL = sql.Query
			asserts |= catalog.FacetSQL
		}
		var src sourceCodeLocationFacet
		if ok, _ := e.JobFacets.facet("sourceCodeLocation", "", &src); ok && (src.URL != "" || src.RepoURL != "") {
			job.Properties = props(job.Properties)
			setProp(job.Properties, catalog.PropSourceURL, src.URL)
			setProp(job.Properties, catalog.PropSourceRepo, src.RepoURL)
			setProp(job.Properties, catalog.PropSourcePath, src.Path)
			setProp(job.Properties, catalog.PropSourceVersion, cmp.Or(src.Version, src.Tag, src.Branch))
			setProp(job.Properties, catalog.PropSourceType, src.Type)
		}
		var own ownershipFacet
		if ok, _ := e.JobFacets.facet("ownership", "", &own); ok {
			var names []string
			for _, o := range own.Owners {
				names = append(names, o.Name)
			}
			job.Properties = props(job.Properties)
			job.Properties["owners"] = strings.Join(names, ", ")
		}
		if e.Kind == KindRun {
			asserts |= setAirflowSLA(&job, e, &problems)
		}
		// Before the datasets': a dataset's own facets say more.
		d.jobLineage(e)
		for i, in := range e.Inputs {
			job.Inputs = append(job.Inputs, in.Key)
			d.dataset(in, e, &problems)
			d.assertions(in, e, &problems)
			d.metrics(in, e, catalog.MetricsRead, fmt.Sprintf("inputs[%d]", i), ".inputFacets", &problems)
		}
		for i, out := range e.Outputs {
			job.Outputs = append(job.Outputs, out.Key)
			d.dataset(out, e, &problems)
			d.metrics(out, e, catalog.MetricsWritten, fmt.Sprintf("outputs[%d]", i), ".outputFacets", &problems)
		}
		if nj, err := job.Normalize(); err != nil {
			problems = append(problems, err.Error())
		} else {
			d.push.Jobs = append(d.push.Jobs, catalog.JobUpdate{Job: nj, Asserts: asserts})
		}
		if e.Kind == KindRun {
			r := run(e)
			if owner := d.runJobs[e.RunID]; owner != e.Job {
				problems = append(problems, RunConflict(e.RunID, owner, e.Job).Error())
			} else if err := r.Validate(); err != nil {
				problems = append(problems, err.Error())
			} else {
				d.push.Runs = append(d.push.Runs, r)
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("event %s at %s: %s: %w", e.Kind, e.Time.Format(time.RFC3339), strings.Join(problems, "; "), catalog.ErrInvalid)
	}
	return nil
}

// RunConflict is the error of an event naming a run id that belongs to
// another job.
func RunConflict(runID string, owner, job catalog.JobKey) error {
	return fmt.Errorf("run %s belongs to job %s: not recorded as a run of job %s: %w", runID, owner, job, catalog.ErrConflict)
}

func props(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func setProp(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func run(e Event) catalog.Run {
	state := catalog.RunState(e.Type)
	if state == "" {
		state = catalog.RunOther
	}
	r := catalog.Run{ID: e.RunID, Job: e.Job, State: state, StateAt: e.Time}
	t := e.Time
	switch {
	case state == catalog.RunStart:
		r.StartedAt = &t
	case state.Terminal():
		r.EndedAt = &t
	}
	var p parentFacet
	if ok, _ := e.RunFacets.facet("parent", "", &p); ok && p.Run.RunID != "" {
		r.ParentID = p.Run.RunID
		if id, ok := uuid(p.Run.RunID); ok { // spelt like the run ids it names
			r.ParentID = id
		}
		r.ParentJob = catalog.JobKey{Namespace: p.Job.Namespace, Name: p.Job.Name}
	}
	var em errorMessageFacet
	if ok, _ := e.RunFacets.facet("errorMessage", "", &em); ok {
		r.ErrorMessage = em.Message
	}
	var n nominalTimeFacet
	if ok, _ := e.RunFacets.facet("nominalTime", "", &n); ok {
		if t, err := ParseTime(n.NominalStartTime); err == nil {
			r.NominalStart = &t
		}
		if n.NominalEndTime != nil {
			if t, err := ParseTime(*n.NominalEndTime); err == nil {
				r.NominalEnd = &t
			}
		}
	}
	return r
}

// dataset records what an event says about one dataset: that it exists,
// and what its schema, documentation, ownership, symlinks and column
// lineage facets assert.
func (d *deriver) dataset(ds Dataset, e Event, problems *[]string) {
	u := catalog.DatasetUpdate{Facts: catalog.DatasetFacts{Key: ds.Key, Platform: platform(ds.Key.Namespace)}}
	f := &u.Facts
	var s schemaFacet
	if ok, _ := ds.Facets.facet("schema", "", &s); ok {
		var again []string
		f.Columns, again = columns(s.Fields)
		if len(again) > 0 {
			*problems = append(*problems, fmt.Sprintf("dataset %s: schema lists %s more than once; the first of each kept", ds.Key, quoteSome(again)))
		}
		u.Asserts |= catalog.FacetSchema
	}
	var doc documentationFacet
	if ok, _ := ds.Facets.facet("documentation", "", &doc); ok {
		f.Description = doc.Description
		u.Asserts |= catalog.FacetDescription
	}
	var own ownershipFacet
	if ok, _ := ds.Facets.facet("ownership", "", &own); ok {
		for _, o := range own.Owners {
			f.Owners = append(f.Owners, owner(o.Name, o.Type))
		}
		u.Asserts |= catalog.FacetOwners
	}
	var tf tagsFacet
	if ok, _ := ds.Facets.facet("tags", "", &tf); ok {
		f.Tags, u.Asserts = datasetTags(ds.Key, tf, problems), u.Asserts|catalog.FacetTags
	}
	var sl symlinksFacet
	if ok, _ := ds.Facets.facet("symlinks", "", &sl); ok {
		for _, id := range sl.Identifiers {
			f.Aliases = append(f.Aliases, catalog.Alias{Key: catalog.Key{Namespace: id.Namespace, Name: id.Name}, Type: id.Type})
		}
		u.Asserts |= catalog.FacetAliases
	}
	if _, err := f.Normalize(); err != nil {
		*problems = append(*problems, err.Error())
		return
	}
	d.push.Datasets = append(d.push.Datasets, u)

	var cl columnLineageFacet
	ok, _ := ds.Facets.facet("columnLineage", "", &cl)
	var lf lineageFacet
	if lok, _ := ds.Facets.facet("lineage", "", &lf); lok {
		cl.add(lf.columnLineage())
		ok = true
	}
	if ok {
		d.colLin[ds.Key] = columnLineage(ds.Key, cl)
	}
}

// jobLineage records the column lineage that a lineage job facet
// declares for the datasets it names.
func (d *deriver) jobLineage(e Event) {
	var lj lineageJobFacet
	if ok, _ := e.JobFacets.facet("lineage", "", &lj); !ok {
		return
	}
	for _, en := range lj.Entries {
		k := catalog.Key{Namespace: en.Namespace, Name: en.Name}
		if en.Type != "DATASET" || k.Validate() != nil {
			continue
		}
		if rows := columnLineage(k, en.columnLineage()); len(rows) > 0 {
			d.colLin[k] = rows
		}
	}
}

// columns flattens a schema facet: nested fields are named parent.child.
// A name met again (the spec allows it; Spark's plans can carry two
// attributes of one name) keeps its first field, with its nested
// fields; again lists the names dropped.
func columns(fields []schemaField) (out []catalog.Column, again []string) {
	seen := map[string]int{} // times listed
	var walk func(prefix string, fs []schemaField)
	walk = func(prefix string, fs []schemaField) {
		for _, fl := range fs {
			name := prefix + fl.Name
			if seen[name]++; seen[name] > 1 {
				if seen[name] == 2 {
					again = append(again, name)
				}
				continue
			}
			out = append(out, catalog.Column{Name: name, Ordinal: len(out) + 1, Type: fl.Type, Description: fl.Description, Nullable: true})
			walk(name+".", fl.Fields)
		}
	}
	walk("", fields)
	return out, again
}

// quoteSome quotes the first ten of ss for a message, and counts the
// rest: an event may list thousands.
func quoteSome(ss []string) string {
	const most = 10
	q := make([]string, 0, min(len(ss), most)+1)
	for _, s := range ss[:min(len(ss), most)] {
		q = append(q, quoteShort(s))
	}
	if len(ss) > most {
		q = append(q, fmt.Sprintf("and %d other names", len(ss)-most))
	}
	return strings.Join(q, ", ")
}

// owner reads an OpenLineage owner name: "team:data-eng" is a team,
// "user:alice" or anything else a person.
func owner(name, typ string) catalog.Owner {
	if rest, ok := strings.CutPrefix(name, "team:"); ok {
		return catalog.Owner{Name: rest, Kind: catalog.OwnerTeam, Type: typ}
	}
	name = strings.TrimPrefix(name, "user:")
	return catalog.Owner{Name: name, Kind: catalog.OwnerUser, Type: typ}
}

func columnLineage(out catalog.Key, f columnLineageFacet) []catalog.ColumnLineage {
	var rows []catalog.ColumnLineage
	add := func(col string, in inputField, fieldType, fieldDesc string) {
		base := catalog.ColumnLineage{Output: out, Column: col, Input: catalog.Key{Namespace: in.Namespace, Name: in.Name}, InputColumn: in.Field}
		if len(in.Transformations) == 0 {
			// Facet 1-0-0: one transformation per output field, IDENTITY
			// or TRANSFORMATION, both direct.
			r := base
			if fieldType != "" {
				r.Type, r.Subtype, r.Description = "DIRECT", fieldType, fieldDesc
			}
			rows = append(rows, r)
			return
		}
		for _, t := range in.Transformations {
			r := base
			r.Type, r.Subtype, r.Description, r.Masking = t.Type, t.Subtype, t.Description, t.Masking
			rows = append(rows, r)
		}
	}
	for col, fl := range f.Fields {
		for _, in := range fl.InputFields {
			add(col, in, fl.TransformationType, fl.TransformationDescription)
		}
	}
	for _, in := range f.Dataset {
		if len(in.Transformations) == 0 {
			// An input of the whole dataset that says no more is what the
			// spec's dataset-level transformations are: INDIRECT.
			in.Transformations = []transformation{{Type: "INDIRECT"}}
		}
		add("", in, "", "")
	}
	order := func(a, b catalog.ColumnLineage) int {
		return cmp.Or(strings.Compare(a.Column, b.Column), strings.Compare(a.Input.String(), b.Input.String()),
			strings.Compare(a.InputColumn, b.InputColumn), strings.Compare(a.Type, b.Type), strings.Compare(a.Subtype, b.Subtype))
	}
	slices.SortFunc(rows, order)
	// The column lineage and lineage facets may both say one thing.
	return slices.CompactFunc(rows, func(a, b catalog.ColumnLineage) bool { return order(a, b) == 0 })
}

// assertions turns a dataQualityAssertions input facet into checks and
// results of the run.
func (d *deriver) assertions(ds Dataset, e Event, problems *[]string) {
	var a assertionsFacet
	ok, _ := ds.IOFacets.facet("dataQualityAssertions", "", &a)
	if !ok {
		if ok, _ = ds.Facets.facet("dataQualityAssertions", "", &a); !ok {
			return
		}
	}
	for _, as := range a.Assertions {
		// A check is the job's assertion on a column, or the test the
		// producer names: two named tests may assert the same on one
		// column (amount between 0 and 10, and between 0 and 100).
		name := e.Job.String() + ": " + as.Assertion
		if as.Column != "" {
			name += "(" + as.Column + ")"
		}
		if as.Name != "" {
			name = e.Job.String() + ": " + as.Name
		}
		c := catalog.QualityCheck{Dataset: ds.Key, Column: as.Column, Name: name, Type: as.Assertion, Severity: as.Severity,
			Properties: map[string]string{"job": e.Job.String()}}
		if i, ok := d.checks[name]; ok {
			d.push.Checks[i] = c
		} else {
			d.checks[name] = len(d.push.Checks)
			d.push.Checks = append(d.push.Checks, c)
		}
		if e.RunID == "" {
			continue
		}
		status := catalog.QualityFail
		if as.Success {
			status = catalog.QualityPass
		}
		r := catalog.QualityResult{Check: name, Dataset: ds.Key, Status: status, StartedAt: e.Time, RunID: e.RunID}
		if n, ok := as.failures(); ok {
			r.Failures = &n
			r.Observed = strconv.FormatInt(n, 10)
		} else if v := bytes.TrimSpace(as.Actual); len(v) > 0 && !bytes.Equal(v, []byte("null")) && json.Valid(v) {
			r.Observed = string(v)
		}
		if v := bytes.TrimSpace(as.Expected); len(v) > 0 && !bytes.Equal(v, []byte("null")) {
			r.Message = "expected " + string(v)
		}
		if err := r.Validate(); err != nil {
			*problems = append(*problems, err.Error())
			continue
		}
		k := [2]string{name, e.RunID}
		if i, ok := d.results[k]; ok {
			d.push.Results[i] = r
		} else {
			d.results[k] = len(d.push.Results)
			d.push.Results = append(d.push.Results, r)
		}
	}
}

// metrics records the size and column profile that a dataset's facets
// report (dataQualityMetrics, outputStatistics) as an observation at the
// event's time. path is the dataset's JSON path in the event and ioFacets
// the name of its input or output facets, so that a malformed facet is
// reported by its field; it drops only the observation.
func (d *deriver) metrics(ds Dataset, e Event, dir, path, ioFacets string, problems *[]string) {
	m := catalog.DatasetMetrics{Dataset: ds.Key, ObservedAt: e.Time, Direction: dir, RunID: e.RunID, Job: e.Job}
	if err := metricsFacets(ds, path+ioFacets, path, &m); err != nil {
		msg := err.Error()
		if oe, ok := err.(*Error); ok {
			msg = oe.Field + ": " + oe.Reason
		}
		*problems = append(*problems, msg)
		return
	}
	if m.Empty() {
		return
	}
	if err := m.Validate(); err != nil {
		*problems = append(*problems, err.Error())
		return
	}
	d.push.Metrics = append(d.push.Metrics, m)
}

// datasetTags are the catalog's tags for a tags facet: the key of a tag
// whose value is empty or "true" ("pii"), else key:value
// ("env:production"). A tag of one column (field) is not kept: the
// catalog tags datasets, not columns; nor one without a key. Both are
// problems of the event.
func datasetTags(key catalog.Key, tf tagsFacet, problems *[]string) []string {
	var out, columns []string
	for i, t := range tf.Tags {
		k, v := strings.TrimSpace(t.Key), strings.TrimSpace(t.Value)
		switch {
		case k == "":
			*problems = append(*problems, fmt.Sprintf("dataset %s: tags[%d] has no key; left out", key, i))
		case t.Field != "":
			columns = append(columns, t.Field)
		case v == "" || strings.EqualFold(v, "true"):
			out = append(out, k)
		default:
			out = append(out, k+":"+v)
		}
	}
	if len(columns) > 0 {
		*problems = append(*problems, fmt.Sprintf("dataset %s: tags of columns %s left out: the catalog tags datasets, not columns", key, quoteSome(columns)))
	}
	return out
}
