package search

import (
	"fmt"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2/analysis"
	bdoc "github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
)

// fieldSpec is how one field of document is indexed: what bleve's
// mapping says for it, looked up once.
type fieldSpec struct {
	name     string
	options  index.FieldIndexingOptions
	analyzer analysis.Analyzer
	// lines, if set, analyses the values of a document's field joined a
	// line each into the terms analyzer makes of them one by one, with
	// the same frequencies and length; what it changes, the tokens'
	// positions and offsets, a field without term vectors does not keep.
	lines analysis.Analyzer
}

// docFields are the fieldSpecs of every field of document, from the
// index mapping.
type docFields struct {
	name, path, columns, meta, text, exact, colExact, platform, kind,
	owner, tag, schema, ns, removed, typ, sql, src fieldSpec
}

// newDocFields reads the fieldSpecs of document from m, which must be
// newMapping's.
func newDocFields(m mapping.IndexMapping) (*docFields, error) {
	im, ok := m.(*mapping.IndexMappingImpl)
	if !ok {
		return nil, fmt.Errorf("index mapping is a %T", m)
	}
	spec := func(name string, err *error) fieldSpec {
		dm := im.DefaultMapping.Properties[name]
		if dm == nil || len(dm.Fields) != 1 || dm.Fields[0].Type != "text" {
			*err = fmt.Errorf("index mapping has no text field %q", name)
			return fieldSpec{}
		}
		fm := dm.Fields[0]
		an := fm.Analyzer
		if an == "" {
			an = im.DefaultAnalyzer
		}
		a := im.AnalyzerNamed(an)
		if a == nil {
			*err = fmt.Errorf("index mapping: field %q: no analyzer %q", name, an)
		}
		spec := fieldSpec{name: name, options: fm.Options(), analyzer: a}
		if !spec.options.IncludeTermVectors() {
			switch an {
			case keywordAnalyzer:
				spec.lines = linesAnalyzerImpl{}
			case nameAnalyzer:
				spec.lines = a // a line break separates words
			}
		}
		return spec
	}
	var err error
	f := &docFields{
		name: spec(fName, &err), path: spec(fPath, &err), columns: spec(fColumns, &err), meta: spec(fMeta, &err),
		text: spec(fText, &err), exact: spec(fExact, &err), colExact: spec(fColExact, &err),
		platform: spec(fPlatform, &err), kind: spec(fKind, &err), owner: spec(fOwner, &err), tag: spec(fTag, &err),
		schema: spec(fSchema, &err), ns: spec(fNS, &err), removed: spec(fRemoved, &err), typ: spec(fType, &err),
		sql: spec(fSQL, &err), src: spec(fSrc, &err),
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// bleveDocument is doc as bleve's mapping would make it (Batch.Index
// walks the struct by reflection, a tenth of a build's time; a test
// checks that the index takes the same from both, field by field), for
// Batch.IndexAdvanced.
func (f *docFields) bleveDocument(id string, doc *document) *bdoc.Document {
	out := bdoc.NewDocument(id)
	n := 13 + len(doc.Path) + len(doc.Meta) + len(doc.Exact) + len(doc.Owner) + len(doc.Tag)
	out.Fields = make([]bdoc.Field, 0, n)
	// Array positions of slice elements, shared: bleve only reads them.
	positions := make([]uint64, maxLen(doc.Path, doc.Meta, doc.Exact, doc.Owner, doc.Tag))
	for i := range positions {
		positions[i] = uint64(i)
	}
	one := func(s fieldSpec, v string) {
		out.AddField(bdoc.NewTextFieldCustom(s.name, []uint64{}, []byte(v), s.options, s.analyzer))
	}
	// Values of a field without term vectors go in one field, a line
	// each, rather than a field each: bleve would otherwise analyse each
	// value apart and merge their terms, for the same terms, frequencies
	// and length (a test checks them).
	many := func(s fieldSpec, vs []string) {
		if len(vs) > 1 && s.lines != nil && !slices.ContainsFunc(vs, hasLineBreak) {
			out.AddField(bdoc.NewTextFieldCustom(s.name, []uint64{}, []byte(strings.Join(vs, "\n")), s.options, s.lines))
			return
		}
		for i, v := range vs {
			out.AddField(bdoc.NewTextFieldCustom(s.name, positions[i:i+1:i+1], []byte(v), s.options, s.analyzer))
		}
	}
	// In the order of document's fields, as the mapping walks them.
	one(f.name, doc.Name)
	many(f.path, doc.Path)
	one(f.columns, doc.Columns)
	many(f.meta, doc.Meta)
	one(f.text, doc.Text)
	many(f.exact, doc.Exact)
	one(f.colExact, doc.ColExact)
	one(f.platform, doc.Platform)
	one(f.kind, doc.Kind)
	many(f.owner, doc.Owner)
	many(f.tag, doc.Tag)
	one(f.schema, doc.Schema)
	one(f.ns, doc.Namespace)
	one(f.removed, doc.Removed)
	one(f.typ, doc.Type)
	one(f.sql, doc.SQL)
	one(f.src, doc.Src)
	out.SetIndexed()
	return out
}

func hasLineBreak(s string) bool { return strings.IndexByte(s, '\n') >= 0 }

func maxLen(ss ...[]string) int {
	n := 0
	for _, s := range ss {
		n = max(n, len(s))
	}
	return n
}
