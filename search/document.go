package search

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"

	"almanac/catalog"
	"almanac/catalog/store"
)

// mappingVersion changes whenever the mapping, the analyzers, the
// document layout or the internal values kept beside the documents
// change; an index built with another version is rebuilt on open. (9: the
// vocabulary's checksum, keyVocabSum.)
const mappingVersion = "almanac-search-12" // 10: jobs beside datasets (fType); 11: a job's SQL (fSQL); 12: popularity

// Fields of the index document. Free text searches name, path, columns,
// meta and text; the keyword fields serve exact names, filters and facets.
const (
	fName     = "name"     // word parts of the dataset's own name (last part)
	fPath     = "path"     // word parts of the database/schema parts and the namespace
	fColumns  = "columns"  // word parts of every column name, one value per column
	fMeta     = "meta"     // tags and owners as words
	fText     = "text"     // descriptions of the dataset (every source) and of its columns
	fExact    = "exact"    // the dataset's own name and its qualified name, whole
	fColExact = "colexact" // every column name, whole
	fPlatform = "platform"
	fKind     = "kind"
	fOwner    = "owner"
	fTag      = "tag"
	fSchema   = "schema"
	fNS       = "namespace"
	fRemoved  = "removed" // "yes" or "no"
	fType     = "type"    // "dataset" or "job"
	fSQL      = "sql"     // a job's SQL, searched for jobs only
	fSrc      = "src"     // stored only: what a hit shows (stored.encode)
)

// document is what the index stores for a dataset.
type document struct {
	Name      string   `json:"name"`
	Path      []string `json:"path"`
	Columns   string   `json:"columns"` // one name a line
	Meta      []string `json:"meta"`
	Text      string   `json:"text"` // one description a line
	Exact     []string `json:"exact"`
	ColExact  string   `json:"colexact"` // one name a line
	Platform  string   `json:"platform"`
	Kind      string   `json:"kind"`
	Owner     []string `json:"owner"`
	Tag       []string `json:"tag"`
	Schema    string   `json:"schema"`
	Namespace string   `json:"namespace"`
	Removed   string   `json:"removed"`
	Type      string   `json:"type"`
	SQL       string   `json:"sql"`
	Src       string   `json:"src"`
}

// stored is what a hit shows of a dataset, kept in the index (see
// stored.encode) so that a search never reads PostgreSQL.
type stored struct {
	ID          int64
	Namespace   string
	Name        string
	Platform    string
	Kind        string
	Description string
	OtherDocs   []string // descriptions of other sources
	Columns     []storedColumn
	Owners      []string
	Tags        []string
	UpdatedAt   int64 // Unix seconds
	Removed     bool
	Consumers   int
	// Popularity is catalog.Popularity in thousandths.
	Popularity int
}

type storedColumn struct {
	Name        string
	Description string
}

// docID is the index document id of a dataset.
func docID(id int64) string { return strconv.FormatInt(id, 10) }

// jobDocID is the index document id of a job: jobs and datasets number
// their ids apart.
func jobDocID(id int64) string { return "job:" + strconv.FormatInt(id, 10) }

// KindJob is the kind of the index documents of jobs: a search with the
// filter kind:job (and Request.Jobs) finds jobs instead of datasets.
const KindJob = "job"

// FromJob converts a job of the catalog for the index: its name is
// searched as a dataset's is, its description as text, its SQL (as
// written, else as compiled) in a field of its own, its type is its
// platform; it has no columns.
func FromJob(j catalog.Job) Dataset {
	return Dataset{ID: j.ID, Key: catalog.Key(j.Key), Platform: j.Type, Kind: KindJob, Description: j.Description,
		SQL: cmp.Or(j.SQL, j.CompiledSQL), UpdatedAt: j.UpdatedAt, Removed: j.RemovedAt != nil}
}

// isJob says whether d is a job (FromJob).
func (d Dataset) isJob() bool { return d.Kind == KindJob }

// docIDOf is the index document id of d.
func docIDOf(d Dataset) string {
	if d.isJob() {
		return jobDocID(d.ID)
	}
	return docID(d.ID)
}

// Dataset is one dataset to index: what the catalog holds about it, as
// plain values, so that a benchmark or a test can build an index without
// PostgreSQL.
type Dataset struct {
	ID          int64
	Key         catalog.Key
	Platform    string
	Kind        catalog.Kind
	Description string
	// OtherDescriptions are the descriptions other sources gave.
	OtherDescriptions []string
	Columns           []catalog.Column
	Owners            []string
	Tags              []string
	UpdatedAt         time.Time
	Removed           bool
	// Consumers is how many datasets use this one; see store.SearchDoc.
	Consumers int
	// Popularity is how much the dataset is read (catalog.Popularity):
	// a modest boost in ranking.
	Popularity float64
	// SQL is a job's SQL. It has a field of its own, searched only for
	// jobs, so that its length does not weigh on how descriptions score
	// (BM25 measures a field's length against its average); a hit shows
	// it as a description when the description did not match.
	SQL string
}

// FromStore converts what the store loads for the index.
func FromStore(d store.SearchDoc) Dataset {
	out := Dataset{
		ID: d.ID, Key: d.Key, Platform: d.Platform, Kind: d.Kind,
		Description: d.Description, UpdatedAt: d.UpdatedAt, Removed: d.RemovedAt != nil,
		Consumers: d.Consumers, Popularity: d.Popularity,
	}
	for _, s := range d.Sources {
		if s.Description != "" && s.Description != d.Description && !slices.Contains(out.OtherDescriptions, s.Description) {
			out.OtherDescriptions = append(out.OtherDescriptions, s.Description)
		}
	}
	if len(d.Columns) > 0 {
		out.Columns = make([]catalog.Column, 0, len(d.Columns))
	}
	for _, c := range d.Columns {
		out.Columns = append(out.Columns, catalog.Column{Name: c.Name, Description: c.Description})
	}
	for _, o := range d.Owners {
		if !slices.Contains(out.Owners, o.Value.Name) {
			out.Owners = append(out.Owners, o.Value.Name)
		}
	}
	for _, t := range d.Tags {
		out.Tags = append(out.Tags, t.Value)
	}
	return out
}

// splitName splits a qualified name into its own name and the parts
// before it: "warehouse.marts.fct_orders" → "fct_orders", [warehouse marts].
// Names with slashes (files, object stores) split at the last slash.
func splitName(name string) (own string, parents []string) {
	sep := "."
	if strings.Contains(name, "/") {
		sep = "/"
	}
	parts := strings.Split(strings.Trim(name, sep), sep)
	if len(parts) == 0 || parts[len(parts)-1] == "" {
		return name, nil
	}
	own = parts[len(parts)-1]
	for _, p := range parts[:len(parts)-1] {
		if p != "" {
			parents = append(parents, p)
		}
	}
	return own, parents
}

// schemaOf is the part of a qualified name just before the dataset's own
// name: the schema of "db.schema.table", "" for a bare name.
func schemaOf(name string) string {
	_, parents := splitName(name)
	if len(parents) == 0 || strings.Contains(name, "/") {
		return ""
	}
	return parents[len(parents)-1]
}

// exactForms are the values a query must equal to match a dataset's name
// exactly: its own name, squashed too ("customerSignups" → customersignups),
// and every dotted suffix of its qualified name ("marts.fct_orders").
func exactForms(name string) []string {
	own, parents := splitName(name)
	forms := []string{own, name}
	if sq := squash(own); sq != lower(own) {
		forms = append(forms, sq)
	}
	if !strings.Contains(name, "/") {
		for i := len(parents) - 1; i > 0; i-- {
			forms = append(forms, strings.Join(parents[i:], ".")+"."+own)
		}
	}
	return forms
}

func lower(s string) string { return strings.ToLower(s) }

// toDocument builds the index document of a dataset. Words written
// without separators are followed by their parts as seg splits them
// ("employeedepartmenthistory employee department history"), in every
// free-text field, so that their words match, in order, beside the whole;
// queries are split by the same segmenter.
func toDocument(d Dataset, seg *segmenter) document {
	own, parents := splitName(d.Key.Name)
	path := make([]string, 0, len(parents)+1)
	for _, p := range parents {
		path = append(path, seg.withParts(p))
	}
	doc := document{
		Name:      seg.withParts(own),
		Path:      append(path, d.Key.Namespace),
		Exact:     exactForms(d.Key.Name),
		Platform:  d.Platform,
		Kind:      string(d.Kind),
		Owner:     d.Owners,
		Tag:       d.Tags,
		Schema:    schemaOf(d.Key.Name),
		Namespace: d.Key.Namespace,
		Removed:   "no",
		Type:      "dataset",
	}
	if d.isJob() {
		doc.Type = KindJob
	}
	if d.Removed {
		doc.Removed = "yes"
	}
	for _, m := range append(slices.Clip(d.Tags), d.Owners...) {
		doc.Meta = append(doc.Meta, seg.withParts(m))
	}
	// Columns and descriptions go in one value each, a line apiece: a
	// field value per column would cost a million field objects.
	var text, columns, colExact strings.Builder
	line := func(b *strings.Builder, s string) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	if d.Description != "" {
		line(&text, seg.withParts(d.Description))
	}
	for _, o := range d.OtherDescriptions {
		line(&text, seg.withParts(o))
	}
	s := stored{
		ID: d.ID, Namespace: d.Key.Namespace, Name: d.Key.Name, Platform: d.Platform, Kind: string(d.Kind),
		Description: d.Description, OtherDocs: d.OtherDescriptions, Owners: d.Owners, Tags: d.Tags,
		Removed: d.Removed, Consumers: d.Consumers, Popularity: int(math.Round(d.Popularity * 1000)),
	}
	if !d.UpdatedAt.IsZero() {
		s.UpdatedAt = d.UpdatedAt.Unix()
	}
	for _, c := range d.Columns {
		line(&columns, seg.withParts(c.Name))
		line(&colExact, c.Name)
		if sq := squash(c.Name); sq != lower(c.Name) {
			line(&colExact, sq)
		}
		if c.Description != "" {
			line(&text, seg.withParts(c.Description))
		}
		s.Columns = append(s.Columns, storedColumn{Name: c.Name, Description: c.Description})
	}
	if d.SQL != "" {
		doc.SQL = seg.withParts(d.SQL)
		s.OtherDocs = append(slices.Clip(s.OtherDocs), d.SQL)
	}
	doc.Text, doc.Columns, doc.ColExact = text.String(), columns.String(), colExact.String()
	doc.Src = string(s.encode())
	return doc
}

// newMapping is the index mapping: analysed fields for free text without
// stored values or doc values (they cost build time and memory), keyword
// fields with doc values only where facets need them, and one stored field
// with what a hit shows.
func newMapping() mapping.IndexMapping {
	text := func(analyzer string, vectors bool) *mapping.FieldMapping {
		f := mapping.NewTextFieldMapping()
		f.Analyzer = analyzer
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = vectors
		f.DocValues = false
		return f
	}
	keyword := func(docValues bool) *mapping.FieldMapping {
		f := text(keywordAnalyzer, false)
		f.DocValues = docValues
		f.SkipFreqNorm = true
		return f
	}
	src := mapping.NewTextFieldMapping()
	src.Index = false
	src.Store = true
	src.IncludeInAll = false
	src.IncludeTermVectors = false
	src.DocValues = false

	dm := mapping.NewDocumentStaticMapping()
	add := func(name string, f *mapping.FieldMapping) { dm.AddFieldMappingsAt(name, f) }
	// Term vectors (positions) only where quoted phrases are searched.
	add(fName, text(nameAnalyzer, true))
	add(fPath, text(nameAnalyzer, false))
	add(fColumns, text(nameAnalyzer, true))
	add(fMeta, text(nameAnalyzer, false))
	add(fText, text(textAnalyzer, true))
	add(fSQL, text(textAnalyzer, false))
	// The whole-name fields are scored (they carry the exact-match
	// boosts), so they keep frequencies and norms: without them bleve's
	// tf-idf is 0 × +Inf, and every exact match scored NaN.
	exact := keyword(false)
	exact.SkipFreqNorm = false
	add(fExact, exact)
	colExact := keyword(false)
	colExact.SkipFreqNorm = false
	colExact.Analyzer = linesAnalyzer
	add(fColExact, colExact)
	add(fPlatform, keyword(true))
	add(fKind, keyword(true))
	add(fOwner, keyword(true))
	add(fTag, keyword(true))
	add(fSchema, keyword(true))
	add(fNS, keyword(false))
	add(fRemoved, keyword(false))
	add(fType, keyword(false))
	add(fSrc, src)
	// No _all field: every query names its fields, and bleve would
	// otherwise build an (empty) composite field for every document.
	dm.AddSubDocumentMapping("_all", mapping.NewDocumentDisabledMapping())

	im := mapping.NewIndexMapping()
	im.DefaultMapping = dm
	im.DefaultAnalyzer = nameAnalyzer
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	// BM25 orders hits within a match class: term frequency saturates,
	// and a long list of columns does not drown a match.
	im.ScoringModel = index.BM25Scoring
	return im
}
