package catalog

import (
	"cmp"
	"fmt"
	"maps"
	"time"
)

// Directions of a metrics observation: whether the run that reported it
// read the dataset or wrote it.
const (
	// MetricsRead is an observation of a dataset a run read, e.g.
	// OpenLineage's dataQualityMetrics input facet: a profile of the rows
	// the run evaluated.
	MetricsRead = "in"
	// MetricsWritten is an observation of a dataset a run wrote, e.g.
	// OpenLineage's outputStatistics output facet: what the run wrote.
	MetricsWritten = "out"
	// MetricsStatic is an observation no run made, e.g. a metrics facet on
	// an OpenLineage dataset event.
	MetricsStatic = ""
)

// DatasetMetrics is one observation of a dataset's size and column
// profile. Observations are history, like quality results: they are
// appended, never replaced, and recording the same observation (source,
// dataset, ObservedAt, Direction, RunID, Job) twice records it once, so
// that a producer delivering an event again changes nothing.
type DatasetMetrics struct {
	Dataset Key
	// ObservedAt is when the source observed it: an OpenLineage event's
	// eventTime.
	ObservedAt time.Time
	// Direction is MetricsRead, MetricsWritten or MetricsStatic.
	Direction string
	RunID     string
	Job       JobKey
	// RowCount, Bytes and FileCount are nil when the source did not say.
	RowCount  *int64
	Bytes     *int64
	FileCount *int64
	// Columns holds the profile of each column the source measured, by
	// column name.
	Columns map[string]ColumnMetrics
}

// ColumnMetrics is the profile of one column in one observation. Any
// measure may be missing (nil).
type ColumnMetrics struct {
	NullCount     *int64   `json:"nullCount,omitempty"`
	DistinctCount *int64   `json:"distinctCount,omitempty"`
	Sum           *float64 `json:"sum,omitempty"`
	Count         *float64 `json:"count,omitempty"`
	Min           *float64 `json:"min,omitempty"`
	Max           *float64 `json:"max,omitempty"`
	// Quantiles maps a quantile ("0.25", "0.5"…) to its value.
	Quantiles map[string]float64 `json:"quantiles,omitempty"`
}

// Empty reports whether m measures nothing, so that a facet carrying no
// numbers records no observation.
func (m DatasetMetrics) Empty() bool {
	return m.RowCount == nil && m.Bytes == nil && m.FileCount == nil && len(m.Columns) == 0
}

// Validate reports an observation that cannot be recorded.
func (m DatasetMetrics) Validate() error {
	if err := m.Dataset.Validate(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if m.ObservedAt.IsZero() {
		return fmt.Errorf("metrics of %s: no observation time: %w", m.Dataset, ErrInvalid)
	}
	switch m.Direction {
	case MetricsRead, MetricsWritten, MetricsStatic:
	default:
		return fmt.Errorf("metrics of %s: unknown direction %q: %w", m.Dataset, m.Direction, ErrInvalid)
	}
	for _, c := range []struct {
		name string
		n    *int64
	}{{"row count", m.RowCount}, {"bytes", m.Bytes}, {"file count", m.FileCount}} {
		if c.n != nil && *c.n < 0 {
			return fmt.Errorf("metrics of %s: negative %s %d: %w", m.Dataset, c.name, *c.n, ErrInvalid)
		}
	}
	return nil
}

// Merge returns m with what it does not say (nil) taken from older, an
// older observation of the same run: the counts, and each column's
// measures, column by column.
func (m DatasetMetrics) Merge(older DatasetMetrics) DatasetMetrics {
	m.RowCount = cmp.Or(m.RowCount, older.RowCount)
	m.Bytes = cmp.Or(m.Bytes, older.Bytes)
	m.FileCount = cmp.Or(m.FileCount, older.FileCount)
	if len(older.Columns) == 0 {
		return m
	}
	cols := make(map[string]ColumnMetrics, max(len(m.Columns), len(older.Columns)))
	maps.Copy(cols, older.Columns)
	for name, c := range m.Columns {
		cols[name] = c.merge(older.Columns[name])
	}
	m.Columns = cols
	return m
}

// merge returns c with its missing measures taken from older.
func (c ColumnMetrics) merge(older ColumnMetrics) ColumnMetrics {
	c.NullCount = cmp.Or(c.NullCount, older.NullCount)
	c.DistinctCount = cmp.Or(c.DistinctCount, older.DistinctCount)
	c.Sum = cmp.Or(c.Sum, older.Sum)
	c.Count = cmp.Or(c.Count, older.Count)
	c.Min = cmp.Or(c.Min, older.Min)
	c.Max = cmp.Or(c.Max, older.Max)
	if c.Quantiles == nil {
		c.Quantiles = older.Quantiles
	}
	return c
}

// RowCount is a dataset's row count at one observation, for the trend of
// its size.
type RowCount struct {
	ObservedAt time.Time
	Rows       int64
	Direction  string
	Job        JobKey
	RunID      string
}
