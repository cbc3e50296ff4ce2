package openlineage

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"almanac/catalog"
)

// The facets this package understands. Others are kept in the raw event
// only.

type schemaFacet struct {
	Fields []schemaField `json:"fields"`
}

type schemaField struct {
	Name        string        `json:"name"`
	Type        string        `json:"type"`
	Description string        `json:"description"`
	Fields      []schemaField `json:"fields"`
}

type documentationFacet struct {
	Description string `json:"description"`
}

type ownershipFacet struct {
	Owners []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"owners"`
}

// tagsFacet is the tags facet of datasets (TagsDatasetFacet 1-0-0): each
// tag a key and a value, for the dataset or (with field) one column.
type tagsFacet struct {
	Tags []struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Source string `json:"source"`
		Field  string `json:"field"`
	} `json:"tags"`
}

type symlinksFacet struct {
	Identifiers []struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Type      string `json:"type"`
	} `json:"identifiers"`
}

type columnLineageFacet struct {
	Fields map[string]columnLineageField `json:"fields"`
	// Dataset lists inputs that affect the whole output dataset (spec
	// 1-2-0 and later).
	Dataset []inputField `json:"dataset"`
}

// lineageFacet is the lineage dataset facet (LineageFacet 1-0-0,
// LineageDatasetFacet), and the shape of the dataset entries of the
// lineage job facet: what feeds the dataset, at dataset and field level.
// Almanac keeps what names a source field, as column lineage; an input
// that is a job, or a whole dataset without a field, has no place in it.
type lineageFacet struct {
	Inputs []lineageInput          `json:"inputs"`
	Fields map[string]lineageField `json:"fields"`
}

type lineageField struct {
	Inputs []lineageInput `json:"inputs"`
}

type lineageInput struct {
	inputField
	Type string `json:"type"`
}

// lineageJobFacet is the lineage job facet (LineageJobFacet): entries
// naming a target dataset or job and what feeds it.
type lineageJobFacet struct {
	Entries []struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Type      string `json:"type"`
		lineageFacet
	} `json:"entries"`
}

// columnLineage is f as the column lineage facet would say it: the
// inputs that are dataset fields.
func (f lineageFacet) columnLineage() columnLineageFacet {
	fields := func(ins []lineageInput) []inputField {
		var out []inputField
		for _, in := range ins {
			if in.Type == "DATASET" && in.Namespace != "" && in.Name != "" && in.Field != "" {
				out = append(out, in.inputField)
			}
		}
		return out
	}
	c := columnLineageFacet{Dataset: fields(f.Inputs)}
	for col, fl := range f.Fields {
		if ins := fields(fl.Inputs); len(ins) > 0 {
			if c.Fields == nil {
				c.Fields = map[string]columnLineageField{}
			}
			c.Fields[col] = columnLineageField{InputFields: ins}
		}
	}
	return c
}

// add adds to c the inputs o lists.
func (c *columnLineageFacet) add(o columnLineageFacet) {
	c.Dataset = append(c.Dataset, o.Dataset...)
	for col, f := range o.Fields {
		if c.Fields == nil {
			c.Fields = map[string]columnLineageField{}
		}
		g := c.Fields[col]
		g.InputFields = append(g.InputFields, f.InputFields...)
		c.Fields[col] = g
	}
}

type columnLineageField struct {
	InputFields []inputField `json:"inputFields"`
	// Before facet 1-1-0 the transformation was given per output field.
	TransformationType        string `json:"transformationType"`
	TransformationDescription string `json:"transformationDescription"`
}

type inputField struct {
	Namespace       string           `json:"namespace"`
	Name            string           `json:"name"`
	Field           string           `json:"field"`
	Transformations []transformation `json:"transformations"`
}

type transformation struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	Description string `json:"description"`
	Masking     bool   `json:"masking"`
}

type assertionsFacet struct {
	Assertions []assertion `json:"assertions"`
}

type assertion struct {
	Assertion string `json:"assertion"`
	Success   bool   `json:"success"`
	Column    string `json:"column"`
	// Severity (facet 1-0-2) is "error" or "warn".
	Severity string `json:"severity"`
	// Failures (facet 1-1-0) counts the failing rows: the value the
	// assertion measured. Kept as received: a producer that sends
	// something other than an integer loses the count, not the event.
	Failures json.RawMessage `json:"failures"`
	// Name, Actual and Expected are sent by producers beyond the spec
	// (dbt's integration names each test, two of which may assert the
	// same on one column; some report what they measured as actual).
	Name     string          `json:"name"`
	Actual   json.RawMessage `json:"actual"`
	Expected json.RawMessage `json:"expected"`
}

// failures returns the failing rows the assertion counts: an integer, or
// a string holding one; ok is false when it says none.
func (a assertion) failures() (n int64, ok bool) {
	raw := bytes.TrimSpace(a.Failures)
	if len(raw) > 1 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(strings.TrimSpace(s))
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil && n >= 0
}

type jobTypeFacet struct {
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType"`
}

type sqlFacet struct {
	Query string `json:"query"`
}

type sourceCodeLocationFacet struct {
	Type    string `json:"type"`
	URL     string `json:"url"`
	RepoURL string `json:"repoUrl"`
	Path    string `json:"path"`
	Version string `json:"version"`
	Tag     string `json:"tag"`
	Branch  string `json:"branch"`
}

type parentFacet struct {
	Run struct {
		RunID string `json:"runId"`
	} `json:"run"`
	Job struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"job"`
}

type nominalTimeFacet struct {
	NominalStartTime string  `json:"nominalStartTime"`
	NominalEndTime   *string `json:"nominalEndTime"`
}

type errorMessageFacet struct {
	Message string `json:"message"`
}

func checkRunFacets(f Facets, path string) error {
	// Some producers (Spark) send a parent facet naming only the job: it
	// is kept when it names a run.
	if _, err := f.facet("parent", path, &parentFacet{}); err != nil {
		return err
	}
	var n nominalTimeFacet
	if ok, err := f.facet("nominalTime", path, &n); err != nil {
		return err
	} else if ok {
		if _, err := ParseTime(n.NominalStartTime); err != nil {
			return invalid(path+".nominalTime.nominalStartTime", "%v", err)
		}
		if n.NominalEndTime != nil {
			if _, err := ParseTime(*n.NominalEndTime); err != nil {
				return invalid(path+".nominalTime.nominalEndTime", "%v", err)
			}
		}
	}
	_, err := f.facet("errorMessage", path, &errorMessageFacet{})
	return err
}

func checkJobFacets(f Facets, path string) error {
	for name, v := range map[string]any{
		"documentation": &documentationFacet{}, "jobType": &jobTypeFacet{},
		"sql": &sqlFacet{}, "sourceCodeLocation": &sourceCodeLocationFacet{},
	} {
		if _, err := f.facet(name, path, v); err != nil {
			return err
		}
	}
	return checkOwners(f, path)
}

// checkOwners checks an ownership facet: each owner needs a name, on a
// job as on a dataset (the spec requires it, and OpenLineage's validating
// proxy refuses events without).
func checkOwners(f Facets, path string) error {
	var o ownershipFacet
	if ok, err := f.facet("ownership", path, &o); err != nil || !ok {
		return err
	}
	for i, ow := range o.Owners {
		if strings.TrimSpace(ow.Name) == "" {
			return invalid(fmt.Sprintf("%s.ownership.owners[%d].name", path, i), "required")
		}
	}
	return nil
}

func checkDatasetFacets(f Facets, path string) error {
	var s schemaFacet
	if ok, err := f.facet("schema", path, &s); err != nil {
		return err
	} else if ok {
		if err := checkFields(s.Fields, path+".schema.fields"); err != nil {
			return err
		}
	}
	var c columnLineageFacet
	if ok, err := f.facet("columnLineage", path, &c); err != nil {
		return err
	} else if ok {
		for col, fl := range c.Fields {
			for i, in := range fl.InputFields {
				if in.Namespace == "" || in.Name == "" || in.Field == "" {
					return invalid(fmt.Sprintf("%s.columnLineage.fields.%s.inputFields[%d]", path, col, i), "needs namespace, name and field")
				}
			}
		}
		for i, in := range c.Dataset {
			if in.Namespace == "" || in.Name == "" {
				return invalid(fmt.Sprintf("%s.columnLineage.dataset[%d]", path, i), "needs namespace and name")
			}
		}
	}
	if err := checkOwners(f, path); err != nil {
		return err
	}
	if _, err := f.facet("tags", path, &tagsFacet{}); err != nil {
		return err
	}
	var sl symlinksFacet
	if ok, err := f.facet("symlinks", path, &sl); err != nil {
		return err
	} else if ok {
		for i, id := range sl.Identifiers {
			if id.Namespace == "" || id.Name == "" {
				return invalid(fmt.Sprintf("%s.symlinks.identifiers[%d]", path, i), "needs namespace and name")
			}
		}
	}
	var a assertionsFacet
	if ok, err := f.facet("dataQualityAssertions", path, &a); err != nil {
		return err
	} else if ok {
		for i, as := range a.Assertions {
			if as.Assertion == "" {
				return invalid(fmt.Sprintf("%s.dataQualityAssertions.assertions[%d].assertion", path, i), "required")
			}
		}
	}
	_, err := f.facet("documentation", path, &documentationFacet{})
	return err
}

// checkFields requires a name of every field. A name may repeat (the
// spec allows it, and Spark's plans carry attributes of one name):
// columns keeps the first.
func checkFields(fields []schemaField, path string) error {
	for i, fl := range fields {
		if fl.Name == "" {
			return invalid(fmt.Sprintf("%s[%d].name", path, i), "required")
		}
		if err := checkFields(fl.Fields, fmt.Sprintf("%s[%d].fields", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// platform is the system a dataset namespace names: "postgres" of
// "postgres://host:5432", "bigquery" of "bigquery".
func platform(namespace string) string {
	if scheme, _, ok := strings.Cut(namespace, "://"); ok {
		return scheme
	}
	if namespace == "file" || strings.HasPrefix(namespace, "/") {
		return "file"
	}
	return namespace
}

// dataQualityMetricsFacet is the dataQualityMetrics input facet (and the
// deprecated dataset facet of that name). Column metrics are decoded one
// column at a time, so that an error names the column.
type dataQualityMetricsFacet struct {
	RowCount      *int64                     `json:"rowCount"`
	Bytes         *int64                     `json:"bytes"`
	FileCount     *int64                     `json:"fileCount"`
	ColumnMetrics map[string]json.RawMessage `json:"columnMetrics"`
}

type outputStatisticsFacet struct {
	RowCount  *int64 `json:"rowCount"`
	Size      *int64 `json:"size"`
	FileCount *int64 `json:"fileCount"`
}

// metricsFacets reads the size and profile facets of a dataset into m:
// dataQualityMetrics from the input facets or, deprecated, the dataset
// facets, and outputStatistics from the output facets. path is the
// dataset's JSON path. Unlike the facets Decode checks, a malformed one
// drops only itself: the error names the facet and field, and the rest of
// the event is still used.
func metricsFacets(ds Dataset, ioPath, path string, m *catalog.DatasetMetrics) error {
	var dq dataQualityMetricsFacet
	ok, err := ds.IOFacets.facet("dataQualityMetrics", ioPath, &dq)
	dqPath := ioPath + ".dataQualityMetrics"
	if err == nil && !ok {
		ok, err = ds.Facets.facet("dataQualityMetrics", path+".facets", &dq)
		dqPath = path + ".facets.dataQualityMetrics"
	}
	if err != nil {
		return err
	}
	if ok {
		cols := map[string]catalog.ColumnMetrics{}
		for name, raw := range dq.ColumnMetrics {
			var c catalog.ColumnMetrics
			if err := unmarshal(raw, &c, dqPath+".columnMetrics."+name); err != nil {
				return err
			}
			for field, n := range map[string]*int64{"nullCount": c.NullCount, "distinctCount": c.DistinctCount} {
				if n != nil && *n < 0 {
					return invalid(dqPath+".columnMetrics."+name+"."+field, "negative count %d", *n)
				}
			}
			cols[name] = c
		}
		if err := counts(dqPath, map[string]*int64{"rowCount": dq.RowCount, "bytes": dq.Bytes, "fileCount": dq.FileCount}); err != nil {
			return err
		}
		m.RowCount, m.Bytes, m.FileCount = dq.RowCount, dq.Bytes, dq.FileCount
		if len(cols) > 0 {
			m.Columns = cols
		}
	}
	var st outputStatisticsFacet
	if ok, err := ds.IOFacets.facet("outputStatistics", ioPath, &st); err != nil {
		return err
	} else if ok {
		osPath := ioPath + ".outputStatistics"
		if err := counts(osPath, map[string]*int64{"rowCount": st.RowCount, "size": st.Size, "fileCount": st.FileCount}); err != nil {
			return err
		}
		// What a run wrote is the newer word on the dataset's size.
		m.RowCount = cmp.Or(st.RowCount, m.RowCount)
		m.Bytes = cmp.Or(st.Size, m.Bytes)
		m.FileCount = cmp.Or(st.FileCount, m.FileCount)
	}
	return nil
}

func counts(path string, fields map[string]*int64) error {
	for _, name := range []string{"rowCount", "bytes", "size", "fileCount"} {
		if n := fields[name]; n != nil && *n < 0 {
			return invalid(path+"."+name, "negative count %d", *n)
		}
	}
	return nil
}
