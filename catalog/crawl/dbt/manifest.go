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
	// Exposures.
	Type     string `json:"type"`
	Label    string `json:"label"`
	URL      string `json:"url"`
	Maturity string `json:"maturity"`
	Owner    struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"owner"`
}

type nodeConfig struct {
	Materialized string                     `json:"materialized"`
	Meta         map[string]json.RawMessage `json:"meta"`
	Tags         stringList                 `json:"tags"`
	Severity     string                     `json:"severity"`
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

func (n *node) compiledSQL() string {
	if n.CompiledCode != "" {
		return n.CompiledCode
	}
	return n.CompiledSQL
}

// manifest is what the crawler keeps of a manifest.json.
type manifest struct {
	meta manifestMeta
	// nodes holds models, seeds, snapshots, tests, sources and exposures
	// by unique_id, in the order read.
	nodes map[string]*node
	order []string
	// complete is false when the manifest could not be read to its end.
	complete bool
	warnings []string
}

// manifestSections are the top-level objects of a manifest whose members
// are nodes the crawler reads; every other section is skipped.
var manifestSections = map[string]bool{"nodes": true, "sources": true, "exposures": true}

// wantedType says which resource types are kept.
var wantedType = map[string]bool{"model": true, "seed": true, "snapshot": true, "test": true, "source": true, "exposure": true}

// readManifest decodes a manifest one node at a time. On a syntax error or
// a truncated file it returns what it read before, with the error naming
// file, byte offset and member.
func readManifest(ctx context.Context, file string, r io.Reader) (*manifest, error) {
	m := &manifest{nodes: map[string]*node{}}
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
				path := section + "[" + strconv.Quote(id) + "]"
				n := new(node)
				if err := s.decode(path, n); err != nil {
					return err
				}
				if section == "exposures" && n.ResourceType == "" {
					n.ResourceType = "exposure" // v1 exposures carry no resource_type
				}
				if section == "sources" && n.ResourceType == "" {
					n.ResourceType = "source"
				}
				if n.UniqueID == "" {
					n.UniqueID = id
				}
				if !wantedType[n.ResourceType] {
					return nil
				}
				if _, dup := m.nodes[n.UniqueID]; !dup {
					m.order = append(m.order, n.UniqueID)
				}
				m.nodes[n.UniqueID] = n
				return nil
			})
		default:
			return s.skip(section)
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
