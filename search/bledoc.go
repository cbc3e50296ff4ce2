package search

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

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
	// counted, for a keyword field without term vectors, holds a field
	// of each value seen before (a platform, a kind, "no"), its terms
	// counted: a document's field of one value is a copy, which shares
	// them with the other documents of that value rather than analysing
	// it again. Only read after they are made, by however many segments
	// are being built; bleve changes a field's counts only to merge in
	// another field of the same name, which a field of one value never
	// has.
	counted map[string]*builtField
}

// Bounds of fieldSpec.counted: it keeps values that repeat, up to a
// thousand of them; a key-like field (a schema at a million datasets)
// fills it with the first it meets and analyses the rest as before.
const (
	maxCounted    = 1024
	maxCountedLen = 128
)

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
				if !spec.options.IsStored() {
					spec.counted = map[string]*builtField{}
				}
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
	// The document's fields, allocated together (n is at least their
	// number).
	built := make([]builtField, 0, n)
	// An empty value indexes no term and stores nothing, but bleve still
	// walks the field in every section of the segment it builds: a job,
	// a name and a few words, has five (columns, text, column names,
	// schema, SQL); leaving them out built 100,000 jobs 6-16 % faster.
	one := func(s *fieldSpec, v string) {
		if v != "" {
			out.AddField(s.valueField(&built, v))
		}
	}
	// Values of a field without term vectors go in one field, a line
	// each, rather than a field each: bleve would otherwise analyse each
	// value apart and merge their terms, for the same terms, frequencies
	// and length (a test checks them).
	many := func(s *fieldSpec, vs []string) {
		if len(vs) > 1 && s.lines != nil && !slices.ContainsFunc(vs, hasLineBreak) {
			out.AddField(appendField(&built, builtField{spec: s, analyzer: s.lines, positions: []uint64{}, value: []byte(strings.Join(vs, "\n"))}))
			return
		}
		for i, v := range vs {
			out.AddField(s.field(&built, positions[i:i+1:i+1], v))
		}
	}
	// In the order of document's fields, as the mapping walks them.
	one(&f.name, doc.Name)
	many(&f.path, doc.Path)
	one(&f.columns, doc.Columns)
	many(&f.meta, doc.Meta)
	one(&f.text, doc.Text)
	many(&f.exact, doc.Exact)
	one(&f.colExact, doc.ColExact)
	one(&f.platform, doc.Platform)
	one(&f.kind, doc.Kind)
	many(&f.owner, doc.Owner)
	many(&f.tag, doc.Tag)
	one(&f.schema, doc.Schema)
	one(&f.ns, doc.Namespace)
	one(&f.removed, doc.Removed)
	one(&f.typ, doc.Type)
	one(&f.sql, doc.SQL)
	one(&f.src, doc.Src)
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

// valueField is the field of spec's of a document's one value v. Its
// terms are counted once for all the documents of that value where spec
// keeps them (counted).
func (s *fieldSpec) valueField(built *[]builtField, v string) bdoc.Field {
	f := s.counted[v]
	if f == nil && s.counted != nil && len(s.counted) < maxCounted && len(v) <= maxCountedLen {
		f = &builtField{spec: s, analyzer: s.analyzer, positions: []uint64{}, value: []byte(v)}
		f.Analyze()
		s.counted[v] = f
	}
	if f == nil {
		return s.field(built, []uint64{}, v)
	}
	return appendField(built, *f)
}

// field is a field of spec's with value v.
func (s *fieldSpec) field(built *[]builtField, positions []uint64, v string) bdoc.Field {
	if s.options.IsStored() {
		return bdoc.NewTextFieldCustom(s.name, positions, []byte(v), s.options, s.analyzer)
	}
	return appendField(built, builtField{spec: s, analyzer: s.analyzer, positions: positions, value: []byte(v)})
}

// appendField appends f to fields and returns it there. Should fields
// grow, the fields before stay where they were, so every one returned
// stays the document's.
func appendField(fields *[]builtField, f builtField) *builtField {
	*fields = append(*fields, f)
	return &(*fields)[len(*fields)-1]
}

// builtField is an indexed field of a document a build writes: what
// bleve's document.TextField is to the index, with less garbage. Its
// tokens are recycled once counted (tokenScratch), and the counts are
// allocated together (tokenFrequencies); a build's analysis made a
// third of its allocations, and the collector's work follows them.
type builtField struct {
	spec      *fieldSpec
	analyzer  analysis.Analyzer
	positions []uint64
	value     []byte
	length    int
	freqs     index.TokenFrequencies
	// freqsSize is freqs.Size(), counted as they are made: bleve asks
	// every analysed document its size, and walking the terms' map for
	// it again took 4 % of a build's CPU.
	freqsSize int
}

func (f *builtField) Name() string                                     { return f.spec.name }
func (f *builtField) ArrayPositions() []uint64                         { return f.positions }
func (f *builtField) Options() index.FieldIndexingOptions              { return f.spec.options }
func (f *builtField) Value() []byte                                    { return f.value }
func (f *builtField) NumPlainTextBytes() uint64                        { return uint64(len(f.value)) }
func (f *builtField) EncodedFieldType() byte                           { return 't' }
func (f *builtField) AnalyzedLength() int                              { return f.length }
func (f *builtField) AnalyzedTokenFrequencies() index.TokenFrequencies { return f.freqs }

// Size estimates the field's memory as document.TextField.Size does.
func (f *builtField) Size() int {
	n := 64 + len(f.spec.name) + 8*len(f.positions) + len(f.value)
	return n + f.freqsSize
}

// Analyze analyses the value and counts its terms, unless they were
// counted before (fieldSpec.counted).
func (f *builtField) Analyze() {
	if f.freqs != nil {
		return
	}
	s := scratchPool.Get().(*tokenScratch)
	tokens := analyzeInto(f.analyzer, f.value, s)
	f.length = len(tokens)
	f.freqs, f.freqsSize = tokenFrequencies(tokens, f.positions, f.spec.options)
	s.reset()
	scratchPool.Put(s)
}

// tokenFrequencies is analysis.TokenFrequency, which it must equal (a
// test compares them), with its values allocated together rather than
// one by one: the counts, and a term's first location. size is what
// their Size method would say.
func tokenFrequencies(tokens analysis.TokenStream, positions []uint64, options index.FieldIndexingOptions) (index.TokenFrequencies, int) {
	rv := make(index.TokenFrequencies, len(tokens))
	// At most one per token, so appending never moves them.
	freqs := make([]index.TokenFreq, 0, len(tokens))
	count := !options.SkipFreqNorm()
	termBytes := 0
	if options.IncludeTermVectors() {
		locs := make([]index.TokenLocation, len(tokens))
		first := make([]*index.TokenLocation, len(tokens))
		for i, t := range tokens {
			locs[i] = index.TokenLocation{ArrayPositions: positions, Start: t.Start, End: t.End, Position: t.Position}
			tf, ok := rv[string(t.Term)]
			if ok {
				tf.Locations = append(tf.Locations, &locs[i])
			} else {
				first[i] = &locs[i]
				freqs = append(freqs, index.TokenFreq{Term: t.Term, Locations: first[i : i+1 : i+1]})
				tf = &freqs[len(freqs)-1]
				rv[string(t.Term)] = tf
				termBytes += len(t.Term)
			}
			if count {
				tf.SetFrequency(tf.Frequency() + 1)
			}
		}
		return rv, freqsSize(len(freqs), termBytes) + len(tokens)*(sizeOfTokenLocation+8*len(positions))
	}
	for _, t := range tokens {
		tf, ok := rv[string(t.Term)]
		if !ok {
			freqs = append(freqs, index.TokenFreq{Term: t.Term})
			tf = &freqs[len(freqs)-1]
			rv[string(t.Term)] = tf
			termBytes += len(t.Term)
		}
		if count {
			tf.SetFrequency(tf.Frequency() + 1)
		}
	}
	return rv, freqsSize(len(freqs), termBytes)
}

// freqsSize is the Size of n TokenFreqs without locations, their terms
// termBytes long in all: a term counts twice, as the map's key and as
// the TokenFreq's.
func freqsSize(n, termBytes int) int {
	return sizeOfMap + n*(sizeOfString+sizeOfPtr+sizeOfTokenFreq) + 2*termBytes
}

// The sizes bleve_index_api counts in TokenFrequencies.Size.
const (
	sizeOfMap           = int(unsafe.Sizeof(map[int]int{}))
	sizeOfString        = int(unsafe.Sizeof(""))
	sizeOfPtr           = int(unsafe.Sizeof(uintptr(0)))
	sizeOfTokenFreq     = int(unsafe.Sizeof(index.TokenFreq{}))
	sizeOfTokenLocation = int(unsafe.Sizeof(index.TokenLocation{}))
)
