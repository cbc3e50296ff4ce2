// Package openlineage decodes and validates OpenLineage events (RunEvent,
// DatasetEvent and JobEvent, spec 1.x and 2.x) and derives from them the
// plain catalog values that the store writes: jobs with their inputs and
// outputs, runs, dataset schemas, documentation, owners, aliases, column
// lineage and data-quality assertions.
//
// Like every crawler it never touches the store. Unlike a crawl, events
// arrive one at a time and never describe a source completely, so what it
// derives is a catalog.Push: facts that replace only what the events
// assert, and never remove anything.
package openlineage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
)

// Kind is which of the three OpenLineage event types an event is.
type Kind string

// Event kinds.
const (
	KindRun     Kind = "run"
	KindDataset Kind = "dataset"
	KindJob     Kind = "job"
)

// Event is one decoded, validated OpenLineage event.
type Event struct {
	Kind Kind
	// Type is the eventType of a run event (START, RUNNING, COMPLETE,
	// FAIL, ABORT, OTHER); "" when the producer left it out.
	Type      string
	Time      time.Time
	Producer  string
	SchemaURL string
	// RunID and RunFacets are set on run events.
	RunID     string
	RunFacets Facets
	// Job is set on run and job events.
	Job       catalog.JobKey
	JobFacets Facets
	Inputs    []Dataset
	Outputs   []Dataset
	// Dataset is set on dataset events.
	Dataset *Dataset
}

// Dataset is a dataset as an event names it, with its facets.
type Dataset struct {
	Key    catalog.Key
	Facets Facets
	// InputFacets or OutputFacets, by the side the dataset is on.
	IOFacets Facets
}

// Facets holds an entity's facets by name, undecoded; the known ones are
// decoded, with their path checked, by Decode.
type Facets map[string]json.RawMessage

// Error is a rejected event: Field is the JSON path of what is wrong.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "openlineage event: " + e.Reason
	}
	return fmt.Sprintf("openlineage event: %s: %s", e.Field, e.Reason)
}

// Is makes an *Error a catalog.ErrInvalid.
func (e *Error) Is(target error) bool { return target == catalog.ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
}

type wireEvent struct {
	EventType *string  `json:"eventType"`
	EventTime *string  `json:"eventTime"`
	Producer  *string  `json:"producer"`
	SchemaURL *string  `json:"schemaURL"`
	Run       *wireRun `json:"run"`
	Job       *wireJob `json:"job"`
	// Inputs and Outputs are decoded one by one, so that an error names
	// the index of the dataset at fault.
	Inputs  []json.RawMessage `json:"inputs"`
	Outputs []json.RawMessage `json:"outputs"`
	Dataset *wireDataset      `json:"dataset"`
}

type wireRun struct {
	RunID  *string `json:"runId"`
	Facets Facets  `json:"facets"`
}

type wireJob struct {
	Namespace *string `json:"namespace"`
	Name      *string `json:"name"`
	Facets    Facets  `json:"facets"`
}

type wireDataset struct {
	Namespace    *string `json:"namespace"`
	Name         *string `json:"name"`
	Facets       Facets  `json:"facets"`
	InputFacets  Facets  `json:"inputFacets"`
	OutputFacets Facets  `json:"outputFacets"`
}

// EventTypes are the valid eventType values of a run event.
var EventTypes = []string{"START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"}

// Decode decodes and validates one event. The error is an *Error naming
// the field at fault.
func Decode(data []byte) (Event, error) {
	var w wireEvent
	if err := unmarshal(data, &w, ""); err != nil {
		return Event{}, err
	}
	return fromWire(w, "")
}

// DecodeBatch decodes a JSON array of events, as POST /api/v1/lineage/batch
// receives them. The first invalid event rejects the batch, its error
// naming its index.
func DecodeBatch(data []byte) ([]Event, error) {
	var raw []json.RawMessage
	if err := unmarshal(data, &raw, ""); err != nil {
		return nil, err
	}
	events := make([]Event, len(raw))
	for i, r := range raw {
		var w wireEvent
		prefix := fmt.Sprintf("[%d]", i)
		if err := unmarshal(r, &w, prefix); err != nil {
			return nil, err
		}
		e, err := fromWire(w, prefix)
		if err != nil {
			return nil, err
		}
		events[i] = e
	}
	return events, nil
}

// SplitBatch splits a JSON array into its elements, so that each event of
// a batch can be stored as it was sent.
func SplitBatch(data []byte) ([]json.RawMessage, error) {
	var raw []json.RawMessage
	if err := unmarshal(data, &raw, ""); err != nil {
		return nil, err
	}
	return raw, nil
}

// unmarshal decodes data into v. Its errors say what the producer sent
// wrong in OpenLineage terms, at the JSON path prefix (+ the field).
func unmarshal(data []byte, v any, prefix string) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return invalid(prefix, "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid(prefix, "%s, got %s", whole(v), jsonValue(typ.Value))
		}
		return invalid(joinPath(prefix, indexPath(typ.Field)), "must be %s, got %s", jsonType(typ.Type), jsonValue(typ.Value))
	}
	return invalid(prefix, "%v", err)
}

// whole says what v, the target of a whole JSON document, must be.
func whole(v any) string {
	switch v.(type) {
	case *wireEvent:
		return "an event must be a JSON object"
	case *[]json.RawMessage:
		return "a batch must be a JSON array of events"
	case *wireDataset:
		return "a dataset must be a JSON object"
	}
	return "must be " + jsonType(reflect.TypeOf(v))
}

// jsonType names the JSON type that decodes into t.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.Map, reflect.Struct:
		return "a JSON object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another JSON type"
}

// jsonValue names what encoding/json found ("array", "number 1.5") with
// an article.
func jsonValue(v string) string {
	switch {
	case v == "bool":
		return "a boolean"
	case v == "array" || v == "object":
		return "an " + v
	case v == "":
		return "something else"
	}
	return "a " + v
}

// indexPath writes the array indexes of a decoder's path as the rest of
// the errors do: "assertions.0.success" as "assertions[0].success".
func indexPath(field string) string {
	parts := strings.Split(field, ".")
	var b strings.Builder
	for i, p := range parts {
		switch {
		case i > 0 && p != "" && strings.Trim(p, "0123456789") == "":
			b.WriteString("[" + p + "]")
		case i > 0:
			b.WriteString("." + p)
		default:
			b.WriteString(p)
		}
	}
	return b.String()
}

func joinPath(prefix, field string) string {
	if prefix == "" {
		return field
	}
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}

var specVersion = regexp.MustCompile(`/spec/(\d+)-(\d+)-(\d+)/`)

func fromWire(w wireEvent, p string) (Event, error) {
	e := Event{Producer: deref(w.Producer), SchemaURL: deref(w.SchemaURL)}
	if w.EventTime == nil || *w.EventTime == "" {
		return e, invalid(joinPath(p, "eventTime"), "required")
	}
	t, err := ParseTime(*w.EventTime)
	if err != nil {
		return e, invalid(joinPath(p, "eventTime"), "%v", err)
	}
	e.Time = t
	if m := specVersion.FindStringSubmatch(e.SchemaURL); m != nil && m[1] != "1" && m[1] != "2" {
		return e, invalid(joinPath(p, "schemaURL"), "unsupported spec version %s-%s-%s", m[1], m[2], m[3])
	}
	if w.EventType != nil {
		e.Type = *w.EventType
	}
	switch {
	case w.Run != nil:
		e.Kind = KindRun
	case w.Dataset != nil:
		e.Kind = KindDataset
	case w.Job != nil:
		e.Kind = KindJob
	default:
		return e, invalid(p, "neither run, job nor dataset: not an OpenLineage event")
	}
	if e.Kind == KindRun && e.Type != "" && !slices.Contains(EventTypes, e.Type) {
		return e, invalid(joinPath(p, "eventType"), "unknown value %q (want one of %s)", e.Type, strings.Join(EventTypes, ", "))
	}
	if e.Kind == KindRun {
		if w.Run.RunID == nil || *w.Run.RunID == "" {
			return e, invalid(joinPath(p, "run.runId"), "required")
		}
		id, ok := uuid(*w.Run.RunID)
		if !ok {
			return e, invalid(joinPath(p, "run.runId"), "must be a UUID, got %s", quoteShort(*w.Run.RunID))
		}
		e.RunID, e.RunFacets = id, w.Run.Facets
		if err := checkRunFacets(e.RunFacets, joinPath(p, "run.facets")); err != nil {
			return e, err
		}
	}
	if e.Kind == KindRun || e.Kind == KindJob {
		if w.Job == nil {
			return e, invalid(joinPath(p, "job"), "required")
		}
		if e.Job, err = key(w.Job.Namespace, w.Job.Name, joinPath(p, "job")); err != nil {
			return e, err
		}
		e.JobFacets = w.Job.Facets
		if err := checkJobFacets(e.JobFacets, joinPath(p, "job.facets")); err != nil {
			return e, err
		}
		if e.Inputs, err = datasets(w.Inputs, joinPath(p, "inputs"), "inputFacets"); err != nil {
			return e, err
		}
		if e.Outputs, err = datasets(w.Outputs, joinPath(p, "outputs"), "outputFacets"); err != nil {
			return e, err
		}
	}
	if e.Kind == KindDataset {
		ds, err := dataset(*w.Dataset, joinPath(p, "dataset"), "")
		if err != nil {
			return e, err
		}
		e.Dataset = &ds
	}
	return e, nil
}

// uuid reads a run id: a UUID in its standard text form (8-4-4-4-12 hex
// digits), which the spec requires (runId has format uuid) and every
// OpenLineage client generates. It returns the id in lower case, so that
// one run is one id however its events spell it (RFC 9562: hex digits are
// case-insensitive on input).
func uuid(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// quoteShort quotes s for an error message, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(strings.ToValidUTF8(s[:64], "")) + "…"
	}
	return strconv.Quote(s)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func key(ns, name *string, path string) (catalog.JobKey, error) {
	if ns == nil || *ns == "" {
		return catalog.JobKey{}, invalid(path+".namespace", "required")
	}
	if name == nil || *name == "" {
		return catalog.JobKey{}, invalid(path+".name", "required")
	}
	// What the catalog cannot store is refused with the event, not found
	// out by the worker later.
	if err := catalog.ValidName("namespace", *ns); err != nil {
		return catalog.JobKey{}, invalid(path+".namespace", "%s", strings.TrimSuffix(err.Error(), ": "+catalog.ErrInvalid.Error()))
	}
	if err := catalog.ValidName("name", *name); err != nil {
		return catalog.JobKey{}, invalid(path+".name", "%s", strings.TrimSuffix(err.Error(), ": "+catalog.ErrInvalid.Error()))
	}
	return catalog.JobKey{Namespace: *ns, Name: *name}, nil
}

// datasets decodes the inputs or outputs of an event, at path, with their
// input or output facets, the member ioField of each.
func datasets(raws []json.RawMessage, path, ioField string) ([]Dataset, error) {
	var out []Dataset
	for i, raw := range raws {
		at := fmt.Sprintf("%s[%d]", path, i)
		var d wireDataset
		if err := unmarshal(raw, &d, at); err != nil {
			return nil, err
		}
		ds, err := dataset(d, at, ioField)
		if err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
	return out, nil
}

// dataset checks a dataset at path with its facets and, unless ioField is
// "", its input ("inputFacets") or output ("outputFacets") facets.
func dataset(d wireDataset, path, ioField string) (Dataset, error) {
	k, err := key(d.Namespace, d.Name, path)
	if err != nil {
		return Dataset{}, err
	}
	ds := Dataset{Key: catalog.Key(k), Facets: d.Facets}
	switch ioField {
	case "inputFacets":
		ds.IOFacets = d.InputFacets
	case "outputFacets":
		ds.IOFacets = d.OutputFacets
	}
	if err := checkDatasetFacets(ds.Facets, path+".facets"); err != nil {
		return ds, err
	}
	if err := checkDatasetFacets(ds.IOFacets, path+"."+ioField); err != nil {
		return ds, err
	}
	return ds, nil
}

// ParseTime parses an eventTime: RFC 3339 with any fraction of a second,
// or, as some producers send it, without a time zone (taken as UTC), or a
// bare date.
func ParseTime(s string) (time.Time, error) {
	// RFC 3339 (§5.6) lets "t" and "z" be lower case; Go's layouts do not.
	u := strings.Map(func(r rune) rune {
		switch r {
		case 't':
			return 'T'
		case 'z':
			return 'Z'
		}
		return r
	}, s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, u); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 date-time: %q", s)
}

// facet decodes the named facet into v. It reports whether the facet is
// present and not deleted (a facet {"_deleted": true} removes it).
func (f Facets) facet(name, path string, v any) (bool, error) {
	raw, ok := f[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return false, nil
	}
	if mayDelete(raw) {
		var del struct {
			Deleted bool `json:"_deleted"`
		}
		if err := unmarshal(raw, &del, path+"."+name); err != nil {
			return false, err
		}
		if del.Deleted {
			return false, nil
		}
	}
	if err := unmarshal(raw, v, path+"."+name); err != nil {
		return false, err
	}
	return true, nil
}

// mayDelete reports whether a facet may hold the member _deleted, so
// that a facet which cannot (nearly every one) is decoded once, not
// twice. encoding/json matches member names without regard to case, and
// a name may be spelled with escapes.
func mayDelete(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') >= 0 {
		return true
	}
	for i := 0; ; i++ {
		j := bytes.IndexByte(raw[i:], '_')
		if j < 0 {
			return false
		}
		i += j
		if len(raw)-i >= len("_deleted") && bytes.EqualFold(raw[i:i+len("_deleted")], []byte("_deleted")) {
			return true
		}
	}
}
