package ui

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/store"
)

// The audit: who changed what, and when. Every dataset's page links its
// edit history (/history/…), open to everyone who may read the dataset;
// admins see the audit of the whole catalog at /admin/audit, filtered by
// who, what kind, dataset and time, and download it as CSV.
//
// The audit page lists events of several sources merged by time: the
// edit log now; sign-ins and API tokens as single sign-on records them.
// Each source is an auditSource that reads its own events into auditRows
// (a typed row with a kind), so that adding one is adding an entry to
// auditSources.

// auditPageSize is how many events a page of the audit or of a dataset's
// history shows.
const auditPageSize = 50

// auditRow is one event of the audit.
type auditRow struct {
	At time.Time
	// Kind is what happened, one of an auditSource's kinds: for edits,
	// the field changed (description, column_description, tag, owner).
	Kind string
	// Action says how: added, removed or changed.
	Action string
	// Actor is the login of who did it.
	Actor string
	// Dataset is the dataset the event concerns; zero for none.
	Dataset catalog.Key
	Column  string
	// Before and After are the values an edit changed; "" for none.
	Before, After string
	// Detail says more about an event that is no edit.
	Detail string
	// Failure marks a refusal: a failed sign-in, a request denied.
	Failure bool

	source int   // the auditSources index of the row's source
	id     int64 // the row's id within its source
}

// auditKind is a kind of event, as the audit page's filter offers it.
type auditKind struct {
	Value, Label string
}

// auditSource reads one source of events for the audit page.
type auditSource struct {
	// Name is the source's tab on the audit page (its "log" parameter).
	Name string
	// Label names the source in the kind filter.
	Label string
	// Kinds are the kinds of its events.
	Kinds []auditKind
	// Datasets says its events concern datasets; a dataset filter leaves
	// out sources whose events do not.
	Datasets bool
	// Failures says some of its events are refusals; the failures filter
	// leaves out sources whose events never are.
	Failures bool
	// read lists at most limit of its events that q selects, newest
	// first (then by id), after the cursor.
	read func(ctx context.Context, q auditQuery, after store.AuditCursor, limit int) ([]auditRow, error)
}

// editKinds are the kinds of edit, the fields people change.
var editKinds = []auditKind{
	{string(catalog.FieldDescription), "description"},
	{string(catalog.FieldColumnDescription), "column description"},
	{string(catalog.FieldTag), "tag"},
	{string(catalog.FieldOwner), "owner"},
	{string(catalog.FieldSLO), "SLO"},
	{string(catalog.FieldLink), "link"},
}

// auditSources are the sources of the audit page's events, in the order
// rows of the same instant are listed. A source of sign-ins and API token
// events adds an entry whose read maps the page's query to its own
// filter (who; its kinds; since and until) and the cursor to its paging:
// rows before cursor.At, or at cursor.At with an id below cursor.ID.
func (s *Server) auditSources() []auditSource {
	return []auditSource{
		{Name: "edits", Label: "Edits", Kinds: editKinds, Datasets: true, read: s.editEvents},
		{Name: "security", Label: "Security", Kinds: securityKinds, Failures: true, read: s.securityEvents},
	}
}

// securityKinds are the kinds of the security log's events.
var securityKinds = func() []auditKind {
	out := make([]auditKind, len(catalog.AuthEventKinds))
	for i, k := range catalog.AuthEventKinds {
		out[i] = auditKind{string(k), strings.ReplaceAll(string(k), "_", " ")}
	}
	return out
}()

// securityEvents reads sign-ins, sign-outs, sessions ended, tokens and
// refusals from the security log.
func (s *Server) securityEvents(ctx context.Context, q auditQuery, after store.AuditCursor, limit int) ([]auditRow, error) {
	f := store.AuthEventFilter{Actor: q.Who, FailuresOnly: q.Failures, Since: q.Since, Until: q.Until, After: after}
	if q.Kind != "" {
		f.Kinds = []catalog.AuthEventKind{catalog.AuthEventKind(q.Kind)}
	}
	events, err := s.store.AuthEvents(ctx, f, limit)
	if err != nil {
		return nil, err
	}
	rows := make([]auditRow, len(events))
	for i, e := range events {
		rows[i] = securityRow(e)
	}
	return rows, nil
}

// securityRow is a security event as the audit shows it.
func securityRow(e catalog.AuthEvent) auditRow {
	r := auditRow{At: e.At, Kind: string(e.Kind), Actor: e.Actor, Detail: e.Detail, id: e.ID, Failure: !e.Success}
	r.Action = "succeeded"
	if !e.Success {
		r.Action = "failed"
		if e.Kind == catalog.AuthAccessDenied {
			r.Action = "refused"
		}
	}
	if e.Subject != "" {
		r.Detail = strings.TrimSpace("of " + e.Subject + "; " + r.Detail)
	}
	if e.RemoteAddr != "" {
		r.Detail += " (from " + e.RemoteAddr + ")"
	}
	return r
}

// editEvents reads people's edits from the audit log.
func (s *Server) editEvents(ctx context.Context, q auditQuery, after store.AuditCursor, limit int) ([]auditRow, error) {
	f := store.AuditFilter{Actor: q.Who, Dataset: q.Dataset, DatasetID: q.DatasetID, Since: q.Since, Until: q.Until, After: after}
	if q.Kind != "" {
		f.Fields = []catalog.EditField{catalog.EditField(q.Kind)}
	}
	entries, err := s.store.AuditLog(ctx, f, limit)
	if err != nil {
		return nil, err
	}
	rows := make([]auditRow, len(entries))
	for i, e := range entries {
		rows[i] = editRow(e)
	}
	return rows, nil
}

// editRow is an edit as the audit shows it.
func editRow(e catalog.AuditEntry) auditRow {
	r := auditRow{At: e.At, Kind: string(e.Field), Actor: e.Actor, Dataset: e.Dataset, Column: e.Column, id: e.ID}
	switch {
	case e.Before == nil:
		r.Action = "added"
	case e.After == nil:
		r.Action = "removed"
	default:
		r.Action = "changed"
	}
	if e.Before != nil {
		r.Before = *e.Before
	}
	if e.After != nil {
		r.After = *e.After
	}
	return r
}

// kindLabel is how a row's kind reads.
func (r auditRow) kindLabel() string {
	for _, k := range editKinds {
		if k.Value == r.Kind {
			return k.Label
		}
	}
	return strings.ReplaceAll(r.Kind, "_", " ")
}

// auditQuery is what the audit page and a dataset's history select.
type auditQuery struct {
	Who, Kind, Dataset string
	// Log is the tab: one source's Name, or "" for every source.
	Log string
	// Failures keeps only refusals.
	Failures bool
	// DatasetID selects one dataset's events, for its history.
	DatasetID int64
	// Since and Until bound when: Since <= at < Until; zero for open.
	Since, Until time.Time
	// SinceText and UntilText are the bounds as typed, for the form.
	SinceText, UntilText string
	// After is where the page starts: after the last row of the page
	// before.
	After auditPos
}

// auditPos is a place in the merged audit: a row's time, source and id.
type auditPos struct {
	At     time.Time
	Source int
	ID     int64
}

// IsZero reports whether p is the start.
func (p auditPos) IsZero() bool { return p.At.IsZero() }

// String encodes p for an address: "<unix microseconds>.<source>.<id>".
func (p auditPos) String() string {
	return fmt.Sprintf("%d.%d.%d", p.At.UnixMicro(), p.Source, p.ID)
}

// parseAuditPos decodes auditPos.String; "" is the start.
func parseAuditPos(s string) (auditPos, error) {
	if s == "" {
		return auditPos{}, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) == 3 {
		at, err1 := strconv.ParseInt(parts[0], 10, 64)
		src, err2 := strconv.Atoi(parts[1])
		id, err3 := strconv.ParseInt(parts[2], 10, 64)
		if err1 == nil && err2 == nil && err3 == nil && src >= 0 && id > 0 {
			return auditPos{At: time.UnixMicro(at).UTC(), Source: src, ID: id}, nil
		}
	}
	return auditPos{}, invalid(fmt.Sprintf("The page position %q is not one this site links to; start from the first page.", s))
}

// cursorFor is where source i reads from so that its rows come after p
// in the merged order (time descending, then source, then id
// descending): before p's instant for a source listed before p's, up to
// and including it for one listed after, and past p's id for p's own.
func (p auditPos) cursorFor(i int) store.AuditCursor {
	switch {
	case p.IsZero():
		return store.AuditCursor{}
	case i < p.Source:
		return store.AuditCursor{At: p.At, ID: 0}
	case i > p.Source:
		return store.AuditCursor{At: p.At, ID: math.MaxInt64}
	}
	return store.AuditCursor{At: p.At, ID: p.ID}
}

// auditRows reads at most limit rows that q selects from every source
// that can hold them, merged newest first, and whether there are more.
func (s *Server) auditRows(ctx context.Context, q auditQuery, limit int) ([]auditRow, bool, error) {
	var rows []auditRow
	for i, src := range s.auditSources() {
		if q.Kind != "" && !slices.ContainsFunc(src.Kinds, func(k auditKind) bool { return k.Value == q.Kind }) {
			continue
		}
		if (q.Dataset != "" || q.DatasetID != 0) && !src.Datasets {
			continue
		}
		if (q.Log != "" && q.Log != src.Name) || (q.Failures && !src.Failures) {
			continue
		}
		got, err := src.read(ctx, q, q.After.cursorFor(i), limit+1)
		if err != nil {
			return nil, false, err
		}
		for j := range got {
			got[j].source = i
		}
		rows = append(rows, got...)
	}
	slices.SortFunc(rows, func(a, b auditRow) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		if c := cmp.Compare(a.source, b.source); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// pos is where a row stands in the merged audit.
func (r auditRow) pos() auditPos { return auditPos{At: r.At, Source: r.source, ID: r.id} }

// auditRowView is a row as a page shows it.
type auditRowView struct {
	auditRow
	When        moment
	DatasetLink string
}

// historyView is the page of a dataset's edit history.
type historyView struct {
	Page        page
	Name        string
	Namespace   string
	DatasetLink string
	Rows        []auditRowView
	// Older is the next page's address; "" on the last.
	Older string
	// First is the first page's address, shown on later pages.
	First string
}

// serveHistory serves a dataset's edit history: every edit people made to
// it, newest first, open to everyone who may read the dataset.
func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request) error {
	key := catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := key.Validate(); err != nil {
		return withMessage(err, "A history address needs a namespace and a name: /history/{namespace}/{name}.")
	}
	ctx := r.Context()
	id, err := s.store.FindDataset(ctx, key)
	if err != nil {
		return err
	}
	if id == 0 {
		return notFound(fmt.Sprintf("There is no dataset %s in namespace %s.", key.Name, key.Namespace))
	}
	after, err := parseAuditPos(r.URL.Query().Get("after"))
	if err != nil {
		return err
	}
	q := auditQuery{DatasetID: id, After: after}
	rows, more, err := s.auditRows(ctx, q, auditPageSize)
	if err != nil {
		return err
	}
	now := s.now()
	v := historyView{
		Page:        page{Title: "Edit history of " + key.Name, Section: "datasets"},
		Name:        key.Name,
		Namespace:   key.Namespace,
		DatasetLink: datasetPath(key),
		Rows:        rowViews(rows, now),
	}
	if more {
		v.Older = historyPath(key) + "?" + url.Values{"after": {rows[len(rows)-1].pos().String()}}.Encode()
	}
	if !after.IsZero() {
		v.First = historyPath(key)
	}
	return s.render(w, r, historyPage(v))
}

func rowViews(rows []auditRow, now time.Time) []auditRowView {
	out := make([]auditRowView, len(rows))
	for i, r := range rows {
		out[i] = auditRowView{auditRow: r, When: newMoment(r.At, now)}
		if r.Dataset.Name != "" {
			out[i].DatasetLink = datasetPath(r.Dataset)
		}
	}
	return out
}

// auditView is the admin's audit page.
type auditView struct {
	Page    page
	Query   auditQuery
	Sources []auditSource
	Rows    []auditRowView
	// CSV downloads every row the filter selects.
	CSV   string
	Older string
	First string
	// Tabs show every log, the edits or the security log.
	Tabs []auditTab
}

// auditTab is a tab of the audit page.
type auditTab struct {
	Label, Link string
	Current     bool
}

// readAuditQuery reads the audit page's filter from its address.
func readAuditQuery(v url.Values) (auditQuery, error) {
	q := auditQuery{
		Who:       strings.TrimSpace(v.Get("who")),
		Kind:      v.Get("kind"),
		Dataset:   strings.TrimSpace(v.Get("dataset")),
		SinceText: strings.TrimSpace(v.Get("since")),
		UntilText: strings.TrimSpace(v.Get("until")),
		Log:       v.Get("log"),
		Failures:  v.Get("failures") != "",
	}
	if q.Log != "" && q.Log != "edits" && q.Log != "security" {
		return q, invalid(fmt.Sprintf("There is no audit log %q: pick edits or security.", q.Log))
	}
	var err error
	if q.Since, err = parseDay(q.SinceText, false); err != nil {
		return q, invalid(fmt.Sprintf("From: %v.", err))
	}
	if q.Until, err = parseDay(q.UntilText, true); err != nil {
		return q, invalid(fmt.Sprintf("To: %v.", err))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, invalid("The time range ends before it starts: pick a From date on or before the To date.")
	}
	if q.After, err = parseAuditPos(v.Get("after")); err != nil {
		return q, err
	}
	return q, nil
}

// parseDay reads a day (2026-03-10, in UTC) or an instant (RFC 3339). A
// day that ends a range includes the whole day.
func parseDay(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.Add(24 * time.Hour)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a day (2026-03-10) nor a time (2026-03-10T14:00:00Z)", s)
}

// values encodes q's filter (not its position) as query parameters.
func (q auditQuery) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"who": q.Who, "kind": q.Kind, "dataset": q.Dataset, "since": q.SinceText, "until": q.UntilText, "log": q.Log} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if q.Failures {
		v.Set("failures", "1")
	}
	return v
}

// withQuery is path with the query parameters v.
func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// serveAudit serves the audit of the whole catalog, for admins.
func (s *Server) serveAudit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := catalog.AuthorizeAdminister(auth.PrincipalFrom(ctx), "the audit page"); err != nil {
		return withMessage(err, refusalMessage(err))
	}
	q, err := readAuditQuery(r.URL.Query())
	if err != nil {
		return err
	}
	rows, more, err := s.auditRows(ctx, q, auditPageSize)
	if err != nil {
		return err
	}
	v := auditView{
		Page:    page{Title: "Audit", Section: "audit"},
		Query:   q,
		Sources: s.auditSources(),
		Rows:    rowViews(rows, s.now()),
		CSV:     withQuery("/admin/audit.csv", q.values()),
	}
	for _, tab := range []struct{ name, label string }{{"", "All"}, {"edits", "Edits"}, {"security", "Security"}} {
		tq := q
		tq.Log, tq.Kind, tq.After = tab.name, "", auditPos{}
		v.Tabs = append(v.Tabs, auditTab{Label: tab.label, Link: withQuery("/admin/audit", tq.values()), Current: q.Log == tab.name})
	}
	if more {
		next := q.values()
		next.Set("after", rows[len(rows)-1].pos().String())
		v.Older = withQuery("/admin/audit", next)
	}
	if !q.After.IsZero() {
		v.First = withQuery("/admin/audit", q.values())
	}
	return s.render(w, r, auditPage(v))
}

// csvBatch is how many rows the CSV export reads at a time, and
// csvMaxRows the most it writes: narrow the filter for more.
const (
	csvBatch   = 1000
	csvMaxRows = 1_000_000
)

// csvHeader names the CSV export's columns.
var csvHeader = []string{"time", "kind", "action", "actor", "dataset_namespace", "dataset_name", "column", "before", "after", "detail"}

// serveAuditCSV exports every event the audit page's filter selects, as
// CSV, newest first. It streams: a failure half-way cuts the download
// off, so that a partial file is never taken for the whole.
func (s *Server) serveAuditCSV(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := catalog.AuthorizeAdminister(auth.PrincipalFrom(ctx), "the audit export"); err != nil {
		return withMessage(err, refusalMessage(err))
	}
	q, err := readAuditQuery(r.URL.Query())
	if err != nil {
		return err
	}
	q.After = auditPos{}
	rows, more, err := s.auditRows(ctx, q, csvBatch)
	if err != nil {
		return err // nothing written yet: the error page
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="almanac-audit-%s.csv"`, s.now().UTC().Format("20060102-150405")))
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	write := func(rec []string) {
		if err := cw.Write(rec); err != nil {
			panic(http.ErrAbortHandler) // the client went away
		}
	}
	write(csvHeader)
	for n := 0; ; {
		for _, row := range rows {
			write(csvRecord(row))
		}
		n += len(rows)
		if !more || n >= csvMaxRows {
			break
		}
		q.After = rows[len(rows)-1].pos()
		if rows, more, err = s.auditRows(ctx, q, min(csvBatch, csvMaxRows-n)); err != nil {
			s.log.ErrorContext(ctx, "audit export failed half-way", "rows", n, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		panic(http.ErrAbortHandler)
	}
	return nil
}

// csvRecord is a row of the CSV export; every cell a person or a source
// could have written is defused (csvCell).
func csvRecord(r auditRow) []string {
	rec := []string{r.At.UTC().Format(time.RFC3339Nano), r.Kind, r.Action, r.Actor, r.Dataset.Namespace, r.Dataset.Name, r.Column, r.Before, r.After, r.Detail}
	for i := 1; i < len(rec); i++ {
		rec[i] = csvCell(rec[i])
	}
	return rec
}

// csvCell defuses a cell a spreadsheet would take for a formula (CSV
// injection, as OWASP describes it): one that starts with =, +, -, @, a
// tab or a carriage return gets a leading single quote, which
// spreadsheets show as text and do not evaluate.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
