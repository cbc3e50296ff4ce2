package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/extlink"
	"almanac/catalog/notify"
	"almanac/catalog/slo"
	"almanac/catalog/store"
	"almanac/graph/model"
	"almanac/lineage"
	"almanac/search"
)

// Resolver is the root of the resolvers. They stay thin: they decode
// arguments, call the store through the request's loaders and convert
// catalog values to the schema's.
type Resolver struct {
	store   *store.Store
	search  *search.Index
	lineage *lineage.Follower
	tokens  *auth.Tokens
	links   extlink.Templates
	// notifier follows and unfollows; nil without notifications.
	notifier *notify.Notifier
}

// errTokensOff answers the token queries of a server without API tokens.
var errTokensOff = fmt.Errorf("API tokens are not enabled on this server: %w", catalog.ErrNotEnabled)

// timeOrNil is null for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// datasetByKey loads a dataset by namespace and name through the loaders.
func datasetByKey(ctx context.Context, key catalog.Key) (*catalog.Dataset, error) {
	l := loadersFrom(ctx)
	id, err := l.ids.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	return l.datasets.Load(ctx, id)
}

// nullIfNotFound turns a missing object into null, as the schema's
// nullable fields promise.
func nullIfNotFound[T any](v *T, err error) (*T, error) {
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// editPayload reads the dataset back after an edit, bypassing the
// request's cache of it.
func (r *Resolver) editPayload(ctx context.Context, id int64, entry *catalog.AuditEntry, err error) (*model.EditPayload, error) {
	if err != nil {
		return nil, err
	}
	ds, err := r.store.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("dataset %d: %w", id, catalog.ErrNotFound)
	}
	l := loadersFrom(ctx)
	l.datasets.Clear(id)
	l.datasets.Prime(id, &ds[0])
	return &model.EditPayload{Dataset: &ds[0], AuditEntry: entry}, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// pageOf is the page info of a connection whose edges are edges.
func pageOf[E any](edges []E, hasNext bool, cursor func(E) string) *model.PageInfo {
	p := &model.PageInfo{HasNextPage: hasNext}
	if len(edges) > 0 {
		start, end := cursor(edges[0]), cursor(edges[len(edges)-1])
		p.StartCursor, p.EndCursor = &start, &end
	}
	return p
}

// selects reports whether the current field's selection asks for the
// field name, so that a count nobody reads is not computed.
func selects(ctx context.Context, name string) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == name {
			return true
		}
	}
	return false
}

// properties lists a property map ordered by key.
func properties(m map[string]string) []model.Property {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]model.Property, len(keys))
	for i, k := range keys {
		out[i] = model.Property{Key: k, Value: m[k]}
	}
	return out
}

// selectsHitDataset reports whether a search asks for its hits' datasets
// (edges { node { dataset } }).
func selectsHitDataset(ctx context.Context) bool {
	return selectsOnNodes(graphql.GetOperationContext(ctx), graphql.GetFieldContext(ctx).Field.Selections, "dataset")
}

// nonNil turns a nil list into an empty one, for non-null list fields.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// jobsByKeys loads jobs through the loaders, in the order of keys,
// leaving out any that vanished since their keys were read.
func jobsByKeys(ctx context.Context, keys []catalog.JobKey) ([]catalog.Job, error) {
	jobs, err := loadersFrom(ctx).jobs.LoadAll(ctx, keys)
	if err != nil {
		var errs dataloadgen.ErrorSlice
		if !errors.As(err, &errs) {
			return nil, err
		}
		for _, e := range errs {
			if e != nil && !errors.Is(e, catalog.ErrNotFound) {
				return nil, e
			}
		}
	}
	out := make([]catalog.Job, 0, len(jobs))
	for _, j := range jobs {
		if j != nil {
			out = append(out, *j)
		}
	}
	return out, nil
}

// jobDatasets lists the datasets a job reads or writes.
func jobDatasets(keys []catalog.Key) []model.JobDataset {
	out := make([]model.JobDataset, len(keys))
	for i, k := range keys {
		out[i] = model.JobDataset{Namespace: k.Namespace, Name: k.Name}
	}
	return out
}

// runCursor is the position of a run in its job's runs: newest first by
// the time of its last state change, then by ID.
func runCursor(r catalog.Run) string {
	return stringsCursor(r.StateAt.UTC().Format(time.RFC3339Nano), r.ID)
}

// runPage is the page of a job's runs that first and after ask for,
// with one run more to tell whether another page follows.
func runPage(job catalog.JobKey, n int, after *string) (store.RunPage, error) {
	p := store.RunPage{Job: job, Limit: n + 1}
	cur, err := parseStringsCursor(after, 2)
	if err != nil || cur == nil {
		return p, err
	}
	if _, err := time.Parse(time.RFC3339Nano, cur[0]); err != nil || cur[1] == "" {
		return p, fmt.Errorf("invalid cursor %q: pass the endCursor of a page: %w", *after, catalog.ErrInvalid)
	}
	p.AfterAt, p.AfterID = cur[0], cur[1]
	return p, nil
}

func resultCursor(r catalog.QualityResult) string {
	return stringsCursor(r.StartedAt.UTC().Format(time.RFC3339Nano), r.RunID)
}

// resultPage is the page of a check's results that first and after ask
// for, with one result more to tell whether another page follows.
func resultPage(c *catalog.SourceCheck, n int, after *string) (store.ResultPage, error) {
	p := store.ResultPage{Source: c.Source, Check: c.Name, Limit: n + 1}
	cur, err := parseStringsCursor(after, 2)
	if err != nil || cur == nil {
		return p, err
	}
	at, err := time.Parse(time.RFC3339Nano, cur[0])
	if err != nil || cur[1] == "" {
		return p, fmt.Errorf("invalid cursor %q: pass the endCursor of a page: %w", *after, catalog.ErrInvalid)
	}
	p.AfterAt, p.AfterRun = at, cur[1]
	return p, nil
}

// sloOf presents an SLO and its evaluation.
func sloOf(r store.SLOReport) model.Slo {
	s, rep := r.SLO, r.Report
	out := model.Slo{
		Dataset: s.Dataset, EvaluatedAt: r.EvaluatedAt, Name: s.Name, Kind: string(s.Spec.Kind), Source: s.Source, Origin: s.Origin, Objective: s.Spec.Objective,
		WindowSeconds: s.Spec.Window.Seconds(), Status: string(rep.Status), Summary: rep.Summary, Attainment: rep.Attainment,
		Unit: rep.Unit, Good: rep.Good, Total: rep.Total, BudgetRemaining: rep.RemainingFraction, Burns: []model.SLOBurn{},
		Promise: s.Spec.Promise(),
	}
	if s.Spec.AfterNominal > 0 {
		secs := s.Spec.AfterNominal.Seconds()
		out.AfterNominalSeconds = &secs
	}
	if r.Err != nil {
		out.Status, out.Summary = "error", r.Err.Error()
	}
	for _, b := range rep.Burns {
		out.Burns = append(out.Burns, model.SLOBurn{Name: b.Name, Severity: b.Severity, LongSeconds: b.Long.Seconds(),
			ShortSeconds: b.Short.Seconds(), Threshold: b.Threshold, LongRate: b.LongRate, ShortRate: b.ShortRate, Firing: b.Firing})
		switch b.Name {
		case "fast":
			out.BurnRateFast = b.LongRate
		case "slow":
			out.BurnRateSlow = b.LongRate
		}
	}
	return out
}

// sloInputFields are the SLOInput fields of the declaration keys that
// validation names.
var sloInputFields = map[string]string{
	"name": "name", "kind": "kind", "objective": "objective", "window": "window", "max_age": "maxAge",
	"deadline": "deadline", "time_zone": "timeZone", "lookback": "lookback", "after_nominal": "afterNominal", "min": "min", "max": "max",
	"max_duration": "maxDuration", "updates": "updates",
}

// declarationOf reads an SLOInput as the declaration it is, and validates
// it before any edit begins: an error of kind catalog.ErrInvalid names
// the input field at fault ("input.maxAge: …").
func declarationOf(in model.SLOInput) (int64, slo.Declaration, error) {
	id, err := parseIDOf(typeDataset, in.DatasetID)
	if err != nil {
		return 0, slo.Declaration{}, err
	}
	num := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'g', -1, 64)
	}
	// The declaration's values are text as YAML gives them; JSON is
	// how they get there from outside package slo.
	fields := map[string]any{"name": in.Name, "kind": in.Kind}
	for k, v := range map[string]string{
		"objective": str(in.Objective), "window": str(in.Window), "max_age": str(in.MaxAge),
		"deadline": str(in.Deadline), "time_zone": str(in.TimeZone), "lookback": str(in.Lookback), "after_nominal": str(in.AfterNominal),
		"min": num(in.Min), "max": num(in.Max), "max_duration": str(in.MaxDuration), "updates": str(in.Updates),
	} {
		if v != "" {
			fields[k] = v
		}
	}
	if len(in.Checks) > 0 {
		fields["checks"] = in.Checks
	}
	var d slo.Declaration
	b, err := json.Marshal(fields)
	if err == nil {
		err = json.Unmarshal(b, &d)
	}
	if err != nil {
		return 0, slo.Declaration{}, fmt.Errorf("slo input: %w", err)
	}
	if err := d.Validate(); err != nil {
		// The message starts with the declaration's key at fault; name
		// the input field instead.
		msg := strings.TrimSuffix(err.Error(), ": "+catalog.ErrInvalid.Error())
		key := msg[:strings.IndexAny(msg+":", ": ")]
		if f, ok := sloInputFields[key]; ok {
			msg = "input." + f + msg[len(key):]
		}
		return 0, slo.Declaration{}, fmt.Errorf("%s: %w", msg, catalog.ErrInvalid)
	}
	return id, d, nil
}

// defaultFreshnessHistory is the default page size of
// Dataset.freshnessHistory, as the schema says.
const defaultFreshnessHistory = 10

// freshnessObservation presents a stored observation.
func freshnessObservation(o catalog.Sourced[catalog.FreshnessObservation]) model.FreshnessObservation {
	v := o.Value
	out := model.FreshnessObservation{
		Status: v.Status, ObservedAt: v.ObservedAt, MaxLoadedAt: v.MaxLoadedAt, WarnAfter: v.WarnAfter, ErrorAfter: v.ErrorAfter,
		Criteria: v.Criteria, Message: v.Message, RunID: v.RunID, Source: o.Source, RecordedAt: o.UpdatedAt,
	}
	if v.MaxLoadedAt != nil {
		age := v.ObservedAt.Sub(*v.MaxLoadedAt).Seconds()
		out.AgeSeconds = &age
	}
	return out
}

// auditFilter converts the API's audit filter to the store's.
// securityFilter reads the securityEvents filter.
func securityFilter(in *model.SecurityEventFilter) (store.AuthEventFilter, error) {
	if in == nil {
		return store.AuthEventFilter{}, nil
	}
	f := store.AuthEventFilter{Kinds: in.Kinds, Actor: str(in.Actor)}
	if in.FailuresOnly != nil {
		f.FailuresOnly = *in.FailuresOnly
	}
	if in.Since != nil {
		f.Since = *in.Since
	}
	if in.Until != nil {
		f.Until = *in.Until
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, fmt.Errorf("security event filter: since (%s) must be before until (%s): %w", f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339), catalog.ErrInvalid)
	}
	return f, nil
}

func auditFilter(in *model.AuditFilter) (store.AuditFilter, error) {
	if in == nil {
		return store.AuditFilter{}, nil
	}
	f := store.AuditFilter{Actor: str(in.Actor), Dataset: str(in.Dataset), Fields: in.Fields}
	if in.Since != nil {
		f.Since = *in.Since
	}
	if in.Until != nil {
		f.Until = *in.Until
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, fmt.Errorf("audit filter: since (%s) must be before until (%s): %w", f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339), catalog.ErrInvalid)
	}
	return f, nil
}

// datasetSort is the store's order for a listing's orderBy (NAME when
// absent).
func datasetSort(o *model.DatasetOrder) store.DatasetSort {
	if o == nil {
		return store.SortName
	}
	switch *o {
	case model.DatasetOrderRecentlyChanged:
		return store.SortChanged
	case model.DatasetOrderPopularity:
		return store.SortPopular
	case model.DatasetOrderHealth:
		return store.SortHealth
	}
	return store.SortName
}

// attention is the store's reason for an attention filter.
func attention(a model.Attention) store.Attention {
	switch a {
	case model.AttentionFailing:
		return store.AttentionFailing
	case model.AttentionStale:
		return store.AttentionStale
	}
	return store.AttentionUndocumented
}
