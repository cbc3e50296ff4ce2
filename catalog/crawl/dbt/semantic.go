package dbt

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"almanac/catalog"
)

// This file reads dbt's semantic layer: semantic models and metrics become
// datasets of their own kinds in the source's job namespace, named by
// unique_id, each with a job from what it is defined on (a semantic model
// reads its model, a metric its semantic models, measures or metrics), so
// that the lineage runs model → semantic model → metric → saved query or
// exposure. A saved query is a job reading its metrics and writing its
// exports, the relations dbt writes its results to.

// semanticModelDetail is what the crawler reads of a semantic model beyond
// node (manifest v10+).
type semanticModelDetail struct {
	NodeRelation *struct {
		RelationName string `json:"relation_name"`
	} `json:"node_relation"`
	Defaults *struct {
		AggTimeDimension string `json:"agg_time_dimension"`
	} `json:"defaults"`
	PrimaryEntity string          `json:"primary_entity"`
	Entities      []semanticField `json:"entities"`
	Dimensions    []semanticField `json:"dimensions"`
	Measures      []semanticField `json:"measures"`
}

// semanticField is an entity, a dimension or a measure.
type semanticField struct {
	Name        string      `json:"name"`
	Type        string      `json:"type"` // entity: primary, unique, foreign, natural; dimension: categorical, time
	Agg         string      `json:"agg"`  // measure: sum, count_distinct…
	Description string      `json:"description"`
	Expr        looseString `json:"expr"`
	TypeParams  *struct {
		TimeGranularity string `json:"time_granularity"`
	} `json:"type_params"`
}

// metricDetail is what the crawler reads of a metric beyond node, across
// its three shapes: v4 to v6 (type is the aggregation, sql the
// expression), v7 to v9 (calculation_method, expression) and v10+
// (MetricFlow: type simple, ratio, cumulative, derived or conversion, and
// type_params).
type metricDetail struct {
	SQL               looseString  `json:"sql"`
	CalculationMethod string       `json:"calculation_method"`
	Expression        looseString  `json:"expression"`
	Timestamp         string       `json:"timestamp"`
	TimeGrains        stringList   `json:"time_grains"`
	TimeGranularity   string       `json:"time_granularity"`
	Filters           []oldFilter  `json:"filters"`
	Filter            *whereFilter `json:"filter"`
	TypeParams        *struct {
		Measure                 *metricInput  `json:"measure"`
		Expr                    looseString   `json:"expr"`
		Numerator               *metricInput  `json:"numerator"`
		Denominator             *metricInput  `json:"denominator"`
		Metrics                 []metricInput `json:"metrics"`
		MetricAggregationParams *struct {
			SemanticModel string `json:"semantic_model"`
			Agg           string `json:"agg"`
		} `json:"metric_aggregation_params"`
	} `json:"type_params"`
}

// oldFilter is a metric filter of manifests v4 to v9.
type oldFilter struct {
	Field    string      `json:"field"`
	Operator string      `json:"operator"`
	Value    looseString `json:"value"`
}

// whereFilter is a MetricFlow filter: SQL templates, all of which hold.
type whereFilter struct {
	WhereFilters []struct {
		WhereSQLTemplate string `json:"where_sql_template"`
	} `json:"where_filters"`
}

func (w *whereFilter) String() string {
	if w == nil {
		return ""
	}
	var parts []string
	for _, f := range w.WhereFilters {
		if t := strings.TrimSpace(f.WhereSQLTemplate); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " AND ")
}

// metricInput names a measure or metric a metric is computed from: an
// object with a name, or in some versions the bare name.
type metricInput struct {
	Name   string       `json:"name"`
	Filter *whereFilter `json:"filter"`
	Alias  string       `json:"alias"`
}

func (in *metricInput) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*in = metricInput{Name: name}
		return nil
	}
	type plain metricInput
	return json.Unmarshal(b, (*plain)(in))
}

func (in *metricInput) String() string {
	if in == nil {
		return ""
	}
	s := in.Name
	if in.Alias != "" {
		s += " as " + in.Alias
	}
	if f := in.Filter.String(); f != "" {
		s += " where " + f
	}
	return s
}

// savedQueryDetail is what the crawler reads of a saved query beyond node
// (manifest v11+).
type savedQueryDetail struct {
	QueryParams struct {
		Metrics stringList   `json:"metrics"`
		GroupBy stringList   `json:"group_by"`
		Where   *whereFilter `json:"where"`
	} `json:"query_params"`
	Exports []struct {
		Name   string `json:"name"`
		Config struct {
			ExportAs   string `json:"export_as"`
			SchemaName string `json:"schema_name"`
			Alias      string `json:"alias"`
			Database   string `json:"database"`
		} `json:"config"`
	} `json:"exports"`
}

// Property keys of the semantic layer.
const (
	PropModel            = "model"
	PropPrimaryEntity    = "primary_entity"
	PropAggTimeDimension = "agg_time_dimension"
	PropMetricType       = "metric_type"
	PropExpression       = "expression"
	PropMeasure          = "measure"
	PropNumerator        = "numerator"
	PropDenominator      = "denominator"
	PropInputMetrics     = "input_metrics"
	PropAggregation      = "aggregation"
	PropFilter           = "filter"
	PropTimeGranularity  = "time_granularity"
	PropTimestamp        = "timestamp"
	PropTimeGrains       = "time_grains"
	PropMetrics          = "metrics"
	PropGroupBy          = "group_by"
	PropExport           = "export"
	PropGroup            = "group"
)

// semanticKey is the dataset key of a semantic model or metric.
func (c *crawler) semanticKey(n *node) catalog.Key {
	return catalog.Key{Namespace: c.cfg.JobNamespace, Name: n.UniqueID}
}

// nodeProps are the properties every dataset of a node carries.
func (c *crawler) nodeProps(m *manifest, n *node) map[string]string {
	return map[string]string{
		PropUniqueID: n.UniqueID, PropResourceType: n.ResourceType, PropPackage: n.PackageName, PropPath: n.OriginalFilePath,
		PropDBTVersion: m.meta.DBTVersion, PropSchemaVersion: m.meta.SchemaVersion, PropGroup: n.group(),
	}
}

// group is the group a node belongs to.
func (n *node) group() string { return cmp.Or(n.Group, n.Config.Group) }

// semanticModel reports a semantic model: a dataset whose columns are its
// entities, dimensions and measures, written by a job reading its model.
func (c *crawler) semanticModel(m *manifest, n *node) {
	d := n.semanticModel
	if d == nil {
		d = &semanticModelDetail{}
	}
	props := c.nodeProps(m, n)
	props[PropLabel], props[PropPrimaryEntity] = n.Label, d.PrimaryEntity
	if d.NodeRelation != nil {
		props[PropModel] = d.NodeRelation.RelationName
	}
	if d.Defaults != nil {
		props[PropAggTimeDimension] = d.Defaults.AggTimeDimension
	}
	dropEmpty(props)
	var cols []catalog.Column
	seen := map[string]bool{}
	add := func(kind string, fs []semanticField) {
		for _, f := range fs {
			if f.Name == "" || seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			typ := kind + ": " + cmp.Or(f.Agg, f.Type)
			if f.TypeParams != nil && f.TypeParams.TimeGranularity != "" {
				typ += ", " + f.TypeParams.TimeGranularity
			}
			cols = append(cols, catalog.Column{
				Name: f.Name, Ordinal: len(cols) + 1, Type: strings.TrimSuffix(typ, ": "), Nullable: true, Description: f.Description,
			})
		}
	}
	add("entity", d.Entities)
	add("dimension", d.Dimensions)
	add("measure", d.Measures)
	key := c.semanticKey(n)
	c.addDataset(catalog.DatasetFacts{
		Key: key, Platform: Platform, Kind: catalog.KindSemanticModel, Description: n.Description,
		Properties: props, Columns: cols, Tags: tags(n), Owners: c.owners(m, n),
	})
	c.finishJob(m, n, &catalog.JobFacts{
		Key: catalog.JobKey{Namespace: c.cfg.JobNamespace, Name: n.UniqueID}, Type: catalog.JobDBTSemanticModel, Description: n.Description,
		Properties: map[string]string{PropUniqueID: n.UniqueID, PropPackage: n.PackageName, PropPath: n.OriginalFilePath},
		Outputs:    []catalog.Key{key},
	})
}

// metric reports a metric: a dataset of its own, written by a job reading
// what the metric is computed from.
func (c *crawler) metric(m *manifest, n *node) {
	d := n.metric
	if d == nil {
		d = &metricDetail{}
	}
	props := c.nodeProps(m, n)
	props[PropLabel] = n.Label
	props[PropMetricType] = cmp.Or(d.CalculationMethod, n.Type)
	props[PropExpression] = string(cmp.Or(d.Expression, d.SQL))
	props[PropTimeGranularity], props[PropTimestamp] = d.TimeGranularity, d.Timestamp
	props[PropTimeGrains] = strings.Join(d.TimeGrains, ", ")
	if d.CalculationMethod == "" && n.Type != "" && d.TypeParams == nil {
		// v4 to v6: type is the aggregation.
		props[PropMetricType], props[PropAggregation] = "", n.Type
	}
	var filters []string
	for _, f := range d.Filters {
		filters = append(filters, strings.TrimSpace(f.Field+" "+f.Operator+" "+string(f.Value)))
	}
	if f := d.Filter.String(); f != "" {
		filters = append(filters, f)
	}
	props[PropFilter] = strings.Join(filters, " AND ")
	if tp := d.TypeParams; tp != nil {
		props[PropExpression] = cmp.Or(string(tp.Expr), props[PropExpression])
		props[PropMeasure], props[PropNumerator], props[PropDenominator] = tp.Measure.String(), tp.Numerator.String(), tp.Denominator.String()
		var inputs []string
		for _, in := range tp.Metrics {
			inputs = append(inputs, in.String())
		}
		props[PropInputMetrics] = strings.Join(inputs, ", ")
		if p := tp.MetricAggregationParams; p != nil {
			props[PropAggregation] = p.Agg
		}
	}
	dropEmpty(props)
	key := c.semanticKey(n)
	c.addDataset(catalog.DatasetFacts{
		Key: key, Platform: Platform, Kind: catalog.KindMetric, Description: n.Description,
		Properties: props, Tags: tags(n), Owners: c.owners(m, n),
	})
	c.finishJob(m, n, &catalog.JobFacts{
		Key: catalog.JobKey{Namespace: c.cfg.JobNamespace, Name: n.UniqueID}, Type: catalog.JobDBTMetric, Description: n.Description,
		Properties: map[string]string{PropUniqueID: n.UniqueID, PropPackage: n.PackageName, PropPath: n.OriginalFilePath},
		Outputs:    []catalog.Key{key},
	})
}

// savedQuery reports a saved query: a job reading its metrics and writing
// its exports, each a dataset of the warehouse.
func (c *crawler) savedQuery(m *manifest, n *node) {
	d := n.savedQuery
	if d == nil {
		d = &savedQueryDetail{}
	}
	job := catalog.JobFacts{
		Key: catalog.JobKey{Namespace: c.cfg.JobNamespace, Name: n.UniqueID}, Type: catalog.JobDBTSavedQuery, Description: n.Description,
		Properties: map[string]string{
			PropUniqueID: n.UniqueID, PropPackage: n.PackageName, PropPath: n.OriginalFilePath, PropLabel: n.Label,
			PropMetrics: strings.Join(d.QueryParams.Metrics, ", "), PropGroupBy: strings.Join(d.QueryParams.GroupBy, ", "),
			PropFilter: d.QueryParams.Where.String(),
		},
	}
	for _, e := range d.Exports {
		cfg := e.Config
		if cfg.SchemaName == "" || cfg.Alias == "" && e.Name == "" {
			c.warn(n.UniqueID, "export %q names no schema or relation; skipped", e.Name)
			continue
		}
		key := c.key(&node{Database: cfg.Database, Schema: cfg.SchemaName, Alias: cmp.Or(cfg.Alias, e.Name)})
		props := c.nodeProps(m, n)
		props[PropExport], props[PropMaterialization] = e.Name, cfg.ExportAs
		dropEmpty(props)
		kind := catalog.KindTable
		if strings.EqualFold(cfg.ExportAs, "view") {
			kind = catalog.KindView
		}
		c.addDataset(catalog.DatasetFacts{
			Key: key, Platform: Platform, Kind: kind, Description: n.Description, Properties: props, Tags: tags(n), Owners: c.owners(m, n),
		})
		job.Outputs = append(job.Outputs, key)
	}
	c.finishJob(m, n, &job)
}

// unitTest reports a unit test as a check of the dataset of the model it
// tests, with its inputs and expected rows as its definition.
func (c *crawler) unitTest(m *manifest, n *node) {
	ds, ok := c.testDataset(m, n)
	if !ok {
		if m.complete {
			c.warn(n.UniqueID, "unit test of %q, which is no model with a relation; skipped", n.Model)
		}
		return
	}
	def := map[string]json.RawMessage{}
	for k, v := range map[string]json.RawMessage{"given": n.Given, "expect": n.Expect} {
		if len(v) > 0 && string(v) != "null" {
			def[k] = v
		}
	}
	var definition string
	if len(def) > 0 {
		b, err := json.Marshal(def) // sorted keys, compact: stable
		if err != nil {
			c.warn(n.UniqueID, "given or expect: %v", err)
		}
		definition = string(b)
	}
	props := map[string]string{PropPackage: n.PackageName, PropPath: n.OriginalFilePath, "description": n.Description}
	dropEmpty(props)
	c.hv.Checks = append(c.hv.Checks, catalog.QualityCheck{
		Dataset: ds, Name: n.UniqueID, Type: "unit_test", Severity: "error", Definition: definition, Properties: props,
	})
}

// groupOwner is the owner of the group a node belongs to, if any.
func (c *crawler) groupOwner(m *manifest, n *node) (catalog.Owner, bool) {
	g := m.groups[n.group()]
	if g == nil {
		return catalog.Owner{}, false
	}
	var email string
	if len(g.Owner.Email) > 0 {
		email = g.Owner.Email[0]
	}
	return c.ownerOf(cmp.Or(g.Owner.Name, email))
}

// reportUnread warns of what a manifest holds that the crawler did not
// read, so that nothing is left out silently.
func (c *crawler) reportUnread(path string, m *manifest) {
	for _, what := range slices.Sorted(maps.Keys(m.unread)) {
		u := m.unread[what]
		c.warn(path, "%s: %d not harvested (first %s): this version of Almanac does not know what they are", what, u.n, u.first)
	}
}
