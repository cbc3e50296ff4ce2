package greatexpectations

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file decodes the JSON layouts Great Expectations writes. Each is
// decoded leniently (unknown members are ignored, members of either
// generation are read), and what identifies the layout is checked
// explicitly so that a file of another kind is reported rather than read
// as an empty result.
//
//   - An ExpectationSuiteValidationResult: {"success", "results": [...],
//     "statistics", "meta", ...}. 0.x names its suite in
//     meta.expectation_suite_name and its parameters evaluation_parameters;
//     1.x adds suite_name, id and suite_parameters. This is what the
//     validations store (uncommitted/validations/<suite>/<run name>/<run
//     time>/<batch>.json) holds, one per file.
//   - A 0.x ValidationOperatorResult or CheckpointResult: {"run_id",
//     "run_results": {"ValidationResultIdentifier::…": {"validation_result":
//     {…}, "actions_results": {…}}}, ...}.
//   - A 1.x CheckpointResult: {"run_id", "run_results": {key: {…suite
//     validation result…}}, "checkpoint_config", "success"}.
//
// An expectation's configuration names its type "expectation_type" in 0.x
// and "type" in 1.x; 1.x adds an id, a severity and a description.

// suiteResult is one ExpectationSuiteValidationResult, in either
// generation's layout.
type suiteResult struct {
	Success   *bool               `json:"success"`
	Results   []expectationResult `json:"results"`
	SuiteName string              `json:"suite_name"`
	ID        string              `json:"id"`
	Meta      suiteMeta           `json:"meta"`
}

type suiteMeta struct {
	SuiteName      string          `json:"expectation_suite_name"`
	Version        string          `json:"great_expectations_version"`
	OldVersion     string          `json:"great_expectations.__version__"`
	RunID          json.RawMessage `json:"run_id"`
	ValidationTime string          `json:"validation_time"`
	CheckpointName string          `json:"checkpoint_name"`
	// DataAssetName names the batch's asset in the results of 0.10 and
	// before (meta.data_asset_name), in 0.8 as datasource/generator/asset.
	DataAssetName string `json:"data_asset_name"`
	// BatchKwargs describe the batch in 0.x's batch-kwargs API (datasource,
	// table, schema, path, query, data_asset_name...).
	BatchKwargs map[string]any `json:"batch_kwargs"`
	// BatchSpec and ActiveBatch describe it in the batch-request API of
	// 0.13+ and 1.x: table_name and schema_name, or path, and the
	// datasource and data asset names.
	BatchSpec   map[string]any   `json:"batch_spec"`
	ActiveBatch *batchDefinition `json:"active_batch_definition"`
}

type batchDefinition struct {
	Datasource    string `json:"datasource_name"`
	DataConnector string `json:"data_connector_name"`
	DataAsset     string `json:"data_asset_name"`
}

// expectationResult is one ExpectationValidationResult.
type expectationResult struct {
	Success       *bool                      `json:"success"`
	Config        *expectationConfig         `json:"expectation_config"`
	Result        map[string]json.RawMessage `json:"result"`
	ExceptionInfo json.RawMessage            `json:"exception_info"`
}

type expectationConfig struct {
	Type            string          `json:"type"`
	ExpectationType string          `json:"expectation_type"`
	Kwargs          json.RawMessage `json:"kwargs"`
	ID              string          `json:"id"`
	Severity        string          `json:"severity"`
	Description     string          `json:"description"`
}

// typeName is the expectation's type in either generation's member.
func (c *expectationConfig) typeName() string {
	if c.Type != "" {
		return c.Type
	}
	return c.ExpectationType
}

// exceptionInfo is one exception_info entry.
type exceptionInfo struct {
	Raised  bool   `json:"raised_exception"`
	Message string `json:"exception_message"`
}

// exception reads exception_info, which is one entry, or (0.13+ with
// several metrics) a map of entries by metric id, and reports whether any
// raised, with the messages.
func exception(raw json.RawMessage) (raised bool, message string) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, ""
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return false, ""
	}
	var entries []json.RawMessage
	if _, single := top["raised_exception"]; single {
		entries = []json.RawMessage{raw}
	} else {
		for _, v := range top {
			entries = append(entries, v)
		}
	}
	var msgs []string
	for _, e := range entries {
		var info exceptionInfo
		if json.Unmarshal(e, &info) != nil || !info.Raised {
			continue
		}
		raised = true
		if info.Message != "" && !slices.Contains(msgs, info.Message) {
			msgs = append(msgs, info.Message)
		}
	}
	slices.Sort(msgs)
	return raised, strings.Join(msgs, "; ")
}

// validation is one suite validation result found in a file, with the
// identifier its container gave it, if any.
type validation struct {
	// Key is the ValidationResultIdentifier of a checkpoint's run_results
	// ("suite/run name/run time/batch"), or "" for a standalone file.
	Key    string
	Result suiteResult
}

// errLayout says that a file is JSON but none of the layouts above.
var errLayout = errors.New("unknown Great Expectations result layout")

// decode reads the validation results of one file.
func decode(data []byte) ([]validation, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("malformed JSON at byte %d: %v", syn.Offset, err)
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, fmt.Errorf("%w: the file holds a JSON %s, want an object with \"results\" (a validation result) or \"run_results\" (a checkpoint result)", errLayout, typ.Value)
		}
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if raw, ok := top["run_results"]; ok {
		return decodeRunResults(raw)
	}
	if raw, ok := top["results"]; ok && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		var r suiteResult
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("validation result: %v", describeJSONError(err))
		}
		return []validation{{Result: r}}, nil
	}
	return nil, fmt.Errorf("%w: no \"results\" list (a validation result) or \"run_results\" map (a checkpoint result) among the members %s",
		errLayout, memberList(top))
}

// decodeRunResults reads the run_results map of a checkpoint or validation
// operator result: each value is a 0.x {"validation_result": …} wrapper or
// a 1.x suite validation result.
func decodeRunResults(raw json.RawMessage) ([]validation, error) {
	var runs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &runs); err != nil {
		return nil, fmt.Errorf("%w: run_results is not an object", errLayout)
	}
	keys := slices.Sorted(maps.Keys(runs))
	out := make([]validation, 0, len(runs))
	for _, k := range keys {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(runs[k], &members); err != nil {
			return nil, fmt.Errorf("%w: run_results[%q] is not an object", errLayout, k)
		}
		body := runs[k]
		if vr, ok := members["validation_result"]; ok {
			body = vr
		} else if _, ok := members["results"]; !ok {
			return nil, fmt.Errorf("%w: run_results[%q] has neither \"validation_result\" (0.x) nor \"results\" (1.x) among the members %s",
				errLayout, k, memberList(members))
		}
		var r suiteResult
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("run_results[%q]: %v", k, describeJSONError(err))
		}
		out = append(out, validation{Key: strings.TrimPrefix(k, "ValidationResultIdentifier::"), Result: r})
	}
	return out, nil
}

func describeJSONError(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return fmt.Sprintf("member %s: want %s, got a JSON %s", typ.Field, typ.Type, typ.Value)
	}
	return err.Error()
}

func memberList(m map[string]json.RawMessage) string {
	if len(m) == 0 {
		return "(none)"
	}
	keys := slices.Sorted(maps.Keys(m))
	if len(keys) > 8 {
		keys = append(keys[:8], "…")
	}
	return strings.Join(keys, ", ")
}

// runIdentifier is a RunIdentifier: {"run_name", "run_time"} since 0.11,
// a plain string before.
type runIdentifier struct {
	Name string
	Time time.Time
}

func parseRunID(raw json.RawMessage) (runIdentifier, error) {
	var id runIdentifier
	if len(raw) == 0 || string(raw) == "null" {
		return id, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		// Before 0.11 the run id was one string, usually a time.
		if t, err := parseTime(s); err == nil {
			id.Time = t
		} else {
			id.Name = s
		}
		return id, nil
	}
	var obj struct {
		Name *string `json:"run_name"`
		Time *string `json:"run_time"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return id, fmt.Errorf("run_id: want an object with run_name and run_time, or a string")
	}
	if obj.Name != nil {
		id.Name = *obj.Name
	}
	if obj.Time != nil && *obj.Time != "" {
		t, err := parseTime(*obj.Time)
		if err != nil {
			return id, fmt.Errorf("run_id.run_time: %w", err)
		}
		id.Time = t
	}
	return id, nil
}

// Time layouts Great Expectations writes: ISO 8601 (run_time) and its
// compact form (validation_time, store keys).
var timeLayouts = []string{
	time.RFC3339Nano,
	"20060102T150405.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"20060102T150405.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseTime reads a time in any of timeLayouts; one without a zone is UTC,
// as Great Expectations writes them.
func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

// compactTime formats t as Great Expectations formats run times in
// validation result identifiers.
func compactTime(t time.Time) string { return t.UTC().Format("20060102T150405.000000Z") }

// storeRunTime matches the run-time element of a validations store path.
var storeRunTime = regexp.MustCompile(`^\d{8}T\d{6}(\.\d+)?Z$`)
