package dbt

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// catalogEntry is what the crawler reads of a node of catalog.json: the
// relation's type, statistics and column types, as the warehouse reported
// them when `dbt docs generate` ran.
type catalogEntry struct {
	Metadata struct {
		Type string `json:"type"`
	} `json:"metadata"`
	Columns map[string]struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
		Name  string `json:"name"`
	} `json:"columns"`
	Stats map[string]struct {
		Value json.RawMessage `json:"value"`
	} `json:"stats"`
}

// stat returns the integer statistic named by one of ids.
func (e *catalogEntry) stat(ids ...string) *int64 {
	for _, id := range ids {
		st, ok := e.Stats[id]
		if !ok {
			continue
		}
		var f float64
		if json.Unmarshal(st.Value, &f) == nil {
			v := int64(f)
			return &v
		}
	}
	return nil
}

// readCatalog decodes catalog.json's nodes and sources by unique_id.
func readCatalog(ctx context.Context, file string, r io.Reader) (map[string]*catalogEntry, []string, error) {
	out := map[string]*catalogEntry{}
	s := newStream(file, r)
	err := s.object("", func(section string) error {
		if section != "nodes" && section != "sources" {
			return s.skip(section)
		}
		return s.object(section, func(id string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			e := new(catalogEntry)
			if err := s.decode(section+"["+strconv.Quote(id)+"]", e); err != nil {
				return err
			}
			out[id] = e
			return nil
		})
	})
	if err == nil {
		err = s.end()
	}
	return out, s.warnings, err
}

// timing is one phase of a run result.
type timing struct {
	Name        string `json:"name"`
	StartedAt   string `json:"started_at"`
	CompletedAt string `json:"completed_at"`
}

// runMeta is the metadata of run_results.json and sources.json, with the
// command that wrote the file (args.which: run, build, test, compile,
// generate…; empty when the file does not say).
type runMeta struct {
	GeneratedAt  string `json:"generated_at"`
	InvocationID string `json:"invocation_id"`
	Command      string `json:"-"`
}

// runID identifies an invocation: its invocation_id, or, in artifacts too
// old to have one, its generation time.
func (m runMeta) runID() string {
	if m.InvocationID != "" {
		return m.InvocationID
	}
	return m.GeneratedAt
}

// runResult is one result of run_results.json.
type runResult struct {
	UniqueID      string   `json:"unique_id"`
	Status        string   `json:"status"`
	Message       *text    `json:"message"`
	Failures      *int64   `json:"failures"`
	ExecutionTime float64  `json:"execution_time"`
	Timing        []timing `json:"timing"`
}

// freshnessResult is one result of sources.json.
type freshnessResult struct {
	UniqueID      string   `json:"unique_id"`
	Status        string   `json:"status"`
	MaxLoadedAt   string   `json:"max_loaded_at"`
	SnapshottedAt string   `json:"snapshotted_at"`
	Error         text     `json:"error"`
	Timing        []timing `json:"timing"`
	Criteria      struct {
		WarnAfter  *threshold `json:"warn_after"`
		ErrorAfter *threshold `json:"error_after"`
		Filter     *string    `json:"filter"`
	} `json:"criteria"`
}

// threshold is a freshness threshold, "12 hour".
type threshold struct {
	Count  *float64 `json:"count"`
	Period string   `json:"period"`
}

func (t *threshold) String() string {
	if t == nil || t.Count == nil {
		return ""
	}
	return strings.TrimSpace(strconv.FormatFloat(*t.Count, 'f', -1, 64) + " " + t.Period)
}

// readResults decodes the metadata and each result of run_results.json or
// sources.json, calling result for each in turn.
func readResults[T any](ctx context.Context, file string, r io.Reader, result func(*T)) (runMeta, []string, error) {
	var meta runMeta
	s := newStream(file, r)
	err := s.object("", func(section string) error {
		switch section {
		case "metadata":
			return s.decode("metadata", &meta)
		case "args":
			var args struct {
				Which string `json:"which"`
			}
			err := s.decode("args", &args)
			meta.Command = args.Which
			return err
		case "results":
			return s.array("results", func(i int) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				v := new(T)
				if err := s.decode("results["+strconv.Itoa(i)+"]", v); err != nil {
					return err
				}
				result(v)
				return nil
			})
		}
		return s.skip(section)
	})
	if err == nil {
		err = s.end()
	}
	return meta, s.warnings, err
}

// parseTime reads the timestamps of dbt artifacts: RFC 3339, or without a
// zone (older dbt versions), taken as UTC.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// phase returns the start and end of the named phase of timings.
func phase(ts []timing, name string) (start, end time.Time) {
	for _, t := range ts {
		if t.Name == name {
			start, _ = parseTime(t.StartedAt)
			end, _ = parseTime(t.CompletedAt)
		}
	}
	return start, end
}
