package catalog

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// SourceFacts is what one source asserted about a dataset, as stored.
type SourceFacts struct {
	DatasetFacts
	Source    string
	UpdatedAt time.Time
	// RemovedAt is set when a complete crawl of the source stopped
	// reporting the dataset.
	RemovedAt *time.Time
}

// Sourced is a value with the source that asserted it.
type Sourced[T any] struct {
	Value     T
	Source    string
	UpdatedAt time.Time
}

// DatasetColumn is a column merged across sources: the structure from the
// most authoritative structural source, the description from the most
// authoritative documenting source.
type DatasetColumn struct {
	Column
	TypeSource        string
	DescriptionSource string
	// Descriptions by source, when sources disagree.
	Descriptions []Sourced[string]
	// Dataset is the key of the column's dataset where a reader needs
	// it beside the column (the GraphQL API's inherited description);
	// zero as datasets are read.
	Dataset Key
}

// Dataset is a dataset as the portal and the API show it: facts from every
// source merged by the precedence rules of this package, with each source's
// own facts kept alongside.
type Dataset struct {
	ID                int64
	Key               Key
	Platform          string
	Kind              Kind
	Description       string
	DescriptionSource string
	Definition        string
	RowEstimate       *int64
	SizeBytes         *int64
	PartitionKey      string
	Partitions        []Partition
	Properties        map[string]string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	RemovedAt         *time.Time
	Columns           []DatasetColumn
	ForeignKeys       []Sourced[ForeignKey]
	// Referenced lists foreign keys of other datasets that point here.
	Referenced []Sourced[ReverseKey]
	Owners     []Sourced[Owner]
	Tags       []Sourced[string]
	Sources    []SourceFacts
}

// ReverseKey is a foreign key seen from the dataset it references.
type ReverseKey struct {
	From      Key
	Name      string
	Columns   []string
	TargetCol []string
}

// IsUserSource reports whether a source is a person's edit.
func IsUserSource(source string) bool { return strings.HasPrefix(source, "user:") }

// sourceType is the part of a source name before the colon: "postgres" of
// "postgres:warehouse".
func sourceType(source string) string {
	t, _, _ := strings.Cut(source, ":")
	return t
}

// docRank orders sources for descriptions, tags and owners: people first,
// then the tools where people write documentation, then the systems that
// merely carry comments. Lower wins.
func docRank(source string) int {
	switch sourceType(source) {
	case "user":
		return 0
	case "dbt":
		return 1
	case "openlineage":
		return 2
	case "delta", "unitycatalog":
		return 3
	case "postgres":
		return 4
	}
	return 5
}

// structRank orders sources for structure (types, nullability, ordinals,
// keys): the system that stores the data knows it best. Lower wins.
func structRank(source string) int {
	switch sourceType(source) {
	case "postgres", "delta":
		return 0
	case "dbt", "unitycatalog":
		// A metastore knows the schema it was given; the Delta log it
		// points at is the table itself.
		return 1
	case "openlineage":
		return 2
	case "user":
		return 4
	}
	return 3
}

// better reports whether a (rank, time) beats b: lower rank, then newer.
func better(rankA int, atA time.Time, rankB int, atB time.Time) bool {
	if rankA != rankB {
		return rankA < rankB
	}
	return atA.After(atB)
}

// Merge combines the facts of every source of one dataset into the view the
// portal and the API show. Facts of removed sources are ignored unless
// every source is removed, so that a removed dataset still shows what it
// was.
func Merge(id int64, key Key, created time.Time, removedAt *time.Time, facts []SourceFacts) Dataset {
	d := Dataset{ID: id, Key: key, CreatedAt: created, RemovedAt: removedAt, Sources: facts}
	live := make([]SourceFacts, 0, len(facts))
	for _, f := range facts {
		if f.RemovedAt == nil {
			live = append(live, f)
		}
	}
	if len(live) == 0 {
		live = facts
	}

	var (
		structBest, docBest = -1, -1
	)
	for i, f := range live {
		if f.UpdatedAt.After(d.UpdatedAt) {
			d.UpdatedAt = f.UpdatedAt
		}
		if f.Kind != "" && (structBest < 0 || better(structRank(f.Source), f.UpdatedAt, structRank(live[structBest].Source), live[structBest].UpdatedAt)) {
			structBest = i
		}
		if f.Description != "" && (docBest < 0 || better(docRank(f.Source), f.UpdatedAt, docRank(live[docBest].Source), live[docBest].UpdatedAt)) {
			docBest = i
		}
	}
	if structBest >= 0 {
		s := live[structBest]
		d.Platform, d.Kind = s.Platform, s.Kind
		d.RowEstimate, d.SizeBytes = s.RowEstimate, s.SizeBytes
		d.PartitionKey, d.Partitions = s.PartitionKey, s.Partitions
	}
	if docBest >= 0 {
		d.Description, d.DescriptionSource = live[docBest].Description, live[docBest].Source
	}
	d.Properties = map[string]string{}
	for _, f := range live {
		if d.Definition == "" || (f.Definition != "" && structRank(f.Source) == 0) {
			if f.Definition != "" {
				d.Definition = f.Definition
			}
		}
		for k, v := range f.Properties {
			if _, ok := d.Properties[k]; !ok || structRank(f.Source) == 0 {
				d.Properties[k] = v
			}
		}
		for _, fk := range f.ForeignKeys {
			d.ForeignKeys = append(d.ForeignKeys, Sourced[ForeignKey]{fk, f.Source, f.UpdatedAt})
		}
	}
	d.Columns = mergeColumns(live)
	d.Owners = mergeOwners(live)
	d.Tags = mergeTags(live)
	return d
}

func mergeColumns(facts []SourceFacts) []DatasetColumn {
	if len(facts) == 1 && distinctNames(facts[0].Columns) {
		return oneSourceColumns(facts[0])
	}
	return mergeSourcesColumns(facts)
}

// oneSourceColumns is mergeSourcesColumns of one source whose columns'
// names differ, with nothing to merge: a dataset's usual case, which a
// search index build reads 100,000 times (the general way's map and
// accumulators were a tenth of a build's allocations).
func oneSourceColumns(f SourceFacts) []DatasetColumn {
	out := make([]DatasetColumn, len(f.Columns))
	for i, c := range f.Columns {
		col := &out[i]
		col.Name = c.Name
		if c.Type != "" {
			col.Column, col.TypeSource = c, f.Source
		}
		if c.Description != "" {
			col.Description, col.DescriptionSource = c.Description, f.Source
		}
	}
	sortColumns(out)
	return out
}

// distinctNames says whether no two of cols share a name.
func distinctNames(cols []Column) bool {
	if len(cols) <= 32 {
		for i := range cols {
			for j := range i {
				if cols[i].Name == cols[j].Name {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[string]struct{}, len(cols))
	for _, c := range cols {
		if _, ok := seen[c.Name]; ok {
			return false
		}
		seen[c.Name] = struct{}{}
	}
	return true
}

// mergeSourcesColumns merges the columns of facts by name: each takes its
// type from the source of best structural rank and its description from
// the one of best documentation rank.
func mergeSourcesColumns(facts []SourceFacts) []DatasetColumn {
	type acc struct {
		col               DatasetColumn
		sRank, dRank      int
		sAt, dAt          time.Time
		hasStruct, hasDoc bool
	}
	byName := map[string]*acc{}
	var order []string
	for _, f := range facts {
		sr, dr := structRank(f.Source), docRank(f.Source)
		for _, c := range f.Columns {
			a := byName[c.Name]
			if a == nil {
				a = &acc{col: DatasetColumn{Column: Column{Name: c.Name}}}
				byName[c.Name] = a
				order = append(order, c.Name)
			}
			if c.Type != "" && (!a.hasStruct || better(sr, f.UpdatedAt, a.sRank, a.sAt)) {
				desc := a.col.Description
				a.col.Column = c
				a.col.Description = desc
				a.col.TypeSource = f.Source
				a.sRank, a.sAt, a.hasStruct = sr, f.UpdatedAt, true
			}
			if c.Description != "" {
				a.col.Descriptions = append(a.col.Descriptions, Sourced[string]{c.Description, f.Source, f.UpdatedAt})
				if !a.hasDoc || better(dr, f.UpdatedAt, a.dRank, a.dAt) {
					a.col.Description = c.Description
					a.col.DescriptionSource = f.Source
					a.dRank, a.dAt, a.hasDoc = dr, f.UpdatedAt, true
				}
			}
		}
	}
	out := make([]DatasetColumn, 0, len(order))
	for _, n := range order {
		a := byName[n]
		if len(a.col.Descriptions) < 2 {
			a.col.Descriptions = nil
		}
		out = append(out, a.col)
	}
	sortColumns(out)
	return out
}

// sortColumns puts the columns a structural source reported in its
// order; the others follow in the order their sources listed them.
func sortColumns(out []DatasetColumn) {
	slices.SortStableFunc(out, func(a, b DatasetColumn) int {
		ao, bo := a.Ordinal, b.Ordinal
		if ao == 0 {
			ao = 1 << 30
		}
		if bo == 0 {
			bo = 1 << 30
		}
		return cmp.Compare(ao, bo)
	})
}

func mergeOwners(facts []SourceFacts) []Sourced[Owner] {
	seen := map[Owner]bool{}
	var out []Sourced[Owner]
	for _, f := range sortedByDocRank(facts) {
		for _, o := range f.Owners {
			if !seen[o] {
				seen[o] = true
				out = append(out, Sourced[Owner]{o, f.Source, f.UpdatedAt})
			}
		}
	}
	return out
}

func mergeTags(facts []SourceFacts) []Sourced[string] {
	seen := map[string]bool{}
	var out []Sourced[string]
	for _, f := range sortedByDocRank(facts) {
		for _, t := range f.Tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, Sourced[string]{t, f.Source, f.UpdatedAt})
			}
		}
	}
	return out
}

func sortedByDocRank(facts []SourceFacts) []SourceFacts {
	s := slices.Clone(facts)
	slices.SortStableFunc(s, func(a, b SourceFacts) int {
		return cmp.Compare(docRank(a.Source), docRank(b.Source))
	})
	return s
}
