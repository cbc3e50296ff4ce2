package dbt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// manifestMeta is what the crawler reads of the metadata of a manifest.
type manifestMeta struct {
	SchemaVersion string `json:"dbt_schema_version"`
	DBTVersion    string `json:"dbt_version"`
	// AdapterType is the warehouse adapter ("snowflake", "bigquery"…),
	// which says the dialect of the compiled SQL.
	AdapterType string `json:"adapter_type"`
}

// node is what the crawler reads of a manifest node, source or exposure:
// the union of the fields it needs across schema versions v1 to v12.
// Everything else in the manifest is skipped while decoding.
type node struct {
	UniqueID         string                     `json:"unique_id"`
	ResourceType     string                     `json:"resource_type"`
	Name             string                     `json:"name"`
	Alias            string                     `json:"alias"`
	Identifier       string                     `json:"identifier"` // sources
	Database         string                     `json:"database"`
	Schema           string                     `json:"schema"`
	PackageName      string                     `json:"package_name"`
	OriginalFilePath string                     `json:"original_file_path"`
	Description      string                     `json:"description"`
	Tags             stringList                 `json:"tags"`
	Meta             map[string]json.RawMessage `json:"meta"`
	Config           nodeConfig                 `json:"config"`
	Columns          orderedColumns             `json:"columns"`
	DependsOn        struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
	// SQL: raw_sql and compiled_sql up to v6 (dbt 1.2), raw_code and
	// compiled_code from v7.
	RawSQL       string `json:"raw_sql"`
	RawCode      string `json:"raw_code"`
	CompiledSQL  string `json:"compiled_sql"`
	CompiledCode string `json:"compiled_code"`
	Language     string `json:"language"` // "sql" or "python" (v7+)
	// Tests.
	TestMetadata *struct {
		Name      string                     `json:"name"`
		Namespace string                     `json:"namespace"`
		Kwargs    map[string]json.RawMessage `json:"kwargs"`
	} `json:"test_metadata"`
	ColumnName   string `json:"column_name"`
	AttachedNode string `json:"attached_node"` // v10+
	// Sources.
	SourceName string `json:"source_name"`
	Loader     string `json:"loader"`
	// Exposures (type and label also of metrics, owner also of groups).
	Type     string `json:"type"`
	Label    string `json:"label"`
	URL      string `json:"url"`
	Maturity string `json:"maturity"`
	Owner    struct {
		Name string `json:"name"`
		// A string, or from v12 on a list of them.
		Email stringList `json:"email"`
	} `json:"owner"`
	// Groups (v9+): the group a node belongs to, whose owner owns it.
	Group string `json:"group"`
	// Semantic models and unit tests (v10+), metrics up to v9: the model
	// they are defined on, "ref('orders')" or "orders".
	Model string `json:"model"`
	// Unit tests: the rows given and the rows expected.
	Given  json.RawMessage `json:"given"`
	Expect json.RawMessage `json:"expect"`

	// What the semantic layer's nodes say beyond the above, set for
	// their resource types only.
	semanticModel *semanticModelDetail
	metric        *metricDetail
	savedQuery    *savedQueryDetail
}

type nodeConfig struct {
	Materialized string                     `json:"materialized"`
	Meta         map[string]json.RawMessage `json:"meta"`
	Tags         stringList                 `json:"tags"`
	Severity     string                     `json:"severity"`
	Group        string                     `json:"group"`
}

type manifestColumn struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	DataType    string `json:"data_type"`
}

func (n *node) rawSQL() string {
	if n.RawCode != "" {
		return n.RawCode
	}
	return n.RawSQL
}

// compiledSQL is the compiled SQL of a node, or "" when it has none: a
// Python model's compiled code is Python.
func (n *node) compiledSQL() string {
	if n.Language == "python" {
		return ""
	}
	if n.CompiledCode != "" {
		return n.CompiledCode
	}
	return n.CompiledSQL
}

// manifest is what the crawler keeps of a manifest.json.
type manifest struct {
	meta manifestMeta
	// nodes holds the nodes the crawler reads (see wantedType) by
	// unique_id, in the order read.
	nodes map[string]*node
	order []string
	// groups holds the groups by name.
	groups map[string]*node
	// unread counts what the manifest holds that the crawler does not
	// read and does not know to leave out, by section or resource type,
	// with the first unique_id of each.
	unread map[string]unread
	// complete is false when the manifest could not be read to its end.
	complete bool
	warnings []string
}

type unread struct {
	n     int
	first string
}

// manifestSections are the top-level objects of a manifest whose members
// are nodes the crawler reads.
var manifestSections = map[string]bool{
	"nodes": true, "sources": true, "exposures": true, "groups": true,
	"metrics": true, "semantic_models": true, "saved_queries": true, "unit_tests": true,
}

// ignoredSections are the other sections the crawler knows: what they hold
// is no catalog entity (macros, docs blocks, selectors, the DAG's maps) or
// is off (disabled nodes). Members of a section of neither list are
// counted and named in a warning.
var ignoredSections = map[string]bool{
	"metadata": true, "macros": true, "docs": true, "selectors": true, "disabled": true,
	"parent_map": true, "child_map": true, "group_map": true,
	// User-defined functions (dbt 1.11+, v12): warehouse functions that
	// models call, neither datasets nor jobs.
	"functions": true,
}

// wantedType says which resource types are kept.
var wantedType = map[string]bool{
	"model": true, "seed": true, "snapshot": true, "test": true, "source": true, "exposure": true, "group": true,
	"metric": true, "semantic_model": true, "saved_query": true, "unit_test": true,
}

// ignoredType lists the resource types of nodes the crawler knows and
// leaves out: hooks, analyses (SQL dbt compiles but never runs) and the
// nodes of dbt's RPC and SQL commands. Nodes of types of neither list are
// counted and named in a warning.
var ignoredType = map[string]bool{"operation": true, "analysis": true, "sql_operation": true, "sql": true, "rpc": true}

// readManifest decodes a manifest one node at a time. On a syntax error or
// a truncated file it returns what it read before, with the error naming
// file, byte offset and member.
func readManifest(ctx context.Context, file string, r io.Reader) (*manifest, error) {
	m := &manifest{nodes: map[string]*node{}, groups: map[string]*node{}, unread: map[string]unread{}}
	s := newStream(file, r)
	err := s.object("", func(section string) error {
		switch {
		case section == "metadata":
			return s.decode("metadata", &m.meta)
		case manifestSections[section]:
			return s.object(section, func(id string) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				n, err := decodeNode(s, section, section+"["+strconv.Quote(id)+"]")
				if err != nil {
					return err
				}
				if n.ResourceType == "" {
					// v1 exposures, and sources of some versions, carry
					// none; so may members of newer sections.
					n.ResourceType = sectionType[section]
				}
				if n.UniqueID == "" {
					n.UniqueID = id
				}
				switch {
				case n.ResourceType == "group":
					m.groups[n.Name] = n
					return nil
				case ignoredType[n.ResourceType]:
					return nil
				case !wantedType[n.ResourceType]:
					m.count("resource type "+strconv.Quote(n.ResourceType), n.UniqueID)
					return nil
				}
				if _, dup := m.nodes[n.UniqueID]; !dup {
					m.order = append(m.order, n.UniqueID)
				}
				m.nodes[n.UniqueID] = n
				return nil
			})
		case ignoredSections[section]:
			return s.skip(section)
		default:
			n, first, err := s.skipCounting(section)
			if n > 0 {
				m.unread["section "+strconv.Quote(section)] = unread{n, first}
			}
			return err
		}
	})
	if err == nil {
		err = s.end()
	}
	m.warnings = s.warnings
	if err != nil {
		return m, err
	}
	m.complete = true
	return m, nil
}

// sectionType is the resource type of the members of a section.
var sectionType = map[string]string{
	"sources": "source", "exposures": "exposure", "groups": "group", "metrics": "metric",
	"semantic_models": "semantic_model", "saved_queries": "saved_query", "unit_tests": "unit_test",
}

// decodeNode decodes a member of section, with the details of the semantic
// layer's nodes.
func decodeNode(s *stream, section, path string) (*node, error) {
	switch section {
	case "semantic_models":
		v := new(struct {
			node
			semanticModelDetail
		})
		err := s.decode(path, v)
		v.node.semanticModel = &v.semanticModelDetail
		return &v.node, err
	case "metrics":
		v := new(struct {
			node
			metricDetail
		})
		err := s.decode(path, v)
		v.node.metric = &v.metricDetail
		return &v.node, err
	case "saved_queries":
		v := new(struct {
			node
			savedQueryDetail
		})
		err := s.decode(path, v)
		v.node.savedQuery = &v.savedQueryDetail
		return &v.node, err
	}
	n := new(node)
	return n, s.decode(path, n)
}

// count notes one more node of what the crawler does not read.
func (m *manifest) count(what, id string) {
	u := m.unread[what]
	if u.n == 0 {
		u.first = id
	}
	u.n++
	m.unread[what] = u
}

var schemaVersionRE = regexp.MustCompile(`/manifest/v(\d+)\.json$`)

// minManifestVersion and maxManifestVersion bound the manifest schema
// versions the crawler was written against.
const minManifestVersion, maxManifestVersion = 1, 12

// schemaVersion returns the manifest schema version (1 for
// ".../manifest/v1.json"), or 0 when the metadata does not say.
func (m manifestMeta) schemaVersion() int {
	sm := schemaVersionRE.FindStringSubmatch(m.SchemaVersion)
	if sm == nil {
		return 0
	}
	v, _ := strconv.Atoi(sm[1])
	return v
}

// checkVersion returns a warning for a manifest of a schema version the
// crawler does not know, which it still reads as best it can.
func (m manifestMeta) checkVersion(file string) string {
	v := m.schemaVersion()
	if v >= minManifestVersion && v <= maxManifestVersion {
		return ""
	}
	if m.SchemaVersion == "" {
		return fmt.Sprintf("%s: metadata.dbt_schema_version missing; read as a v%d manifest, best effort", file, maxManifestVersion)
	}
	return fmt.Sprintf("%s: metadata.dbt_schema_version %q is not a known manifest version (v%d to v%d); read best effort",
		file, m.SchemaVersion, minManifestVersion, maxManifestVersion)
}
