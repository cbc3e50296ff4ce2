package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestIncidentLifecycle: an incident opens once per cause however often
// (and however concurrently) it is opened, is acknowledged and resolved
// once each, with its timeline; the same cause then opens a new one.
func TestIncidentLifecycle(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	orders := catalog.Key{Namespace: "postgres://wh:5432", Name: "db.public.orders"}
	impact := []catalog.ImpactedDataset{{Dataset: catalog.Key{Namespace: "postgres://wh:5432", Name: "db.mart.revenue"}, Distance: 1,
		Owners: []catalog.Owner{{Name: "finance", Kind: catalog.OwnerTeam}}}}
	n := catalog.NewIncident{Dataset: orders, Cause: catalog.CauseCheckFailed, CauseKey: "not_null_orders_id",
		Severity: catalog.SeverityError, Title: "check not_null_orders_id fails", Impact: impact, By: catalog.ActorAlmanac}

	// Eight openers at once: one incident.
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		ids    = map[int64]bool{}
		nOpen  int
		errors []error
	)
	for range 8 {
		wg.Go(func() {
			inc, opened, err := st.OpenIncident(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errors = append(errors, err)
				return
			}
			ids[inc.ID] = true
			if opened {
				nOpen++
			}
		})
	}
	wg.Wait()
	if len(errors) > 0 || len(ids) != 1 || nOpen != 1 {
		t.Fatalf("8 concurrent opens: ids %v, %d opened, errors %v; want one incident opened once", ids, nOpen, errors)
	}
	var id int64
	for id = range ids {
	}
	inc, err := st.Incident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(impact, inc.Impact); diff != "" || inc.State() != "open" {
		t.Errorf("impact (-want +got):\n%s state %s", diff, inc.State())
	}

	// Another cause on the same dataset is another incident.
	other := n
	other.CauseKey = "unique_orders_id"
	if o, opened, err := st.OpenIncident(ctx, other); err != nil || !opened || o.ID == id {
		t.Fatalf("other cause: %v opened %v id %d", err, opened, o.ID)
	}

	if _, err := st.AcknowledgeIncident(ctx, alice, id, "looking"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcknowledgeIncident(ctx, catalog.Principal{Login: "bob@corp", Role: catalog.RoleAdmin}, id, ""); !isKind(err, catalog.ErrConflict) {
		t.Errorf("second acknowledgement: %v, want ErrConflict", err)
	}
	res, err := st.ResolveIncident(ctx, alice, id, "backfilled the nulls")
	if err != nil {
		t.Fatal(err)
	}
	if res.State() != "resolved" || res.ResolvedBy != "alice@corp" || res.Resolution != "backfilled the nulls" || res.AcknowledgedBy != "alice@corp" {
		t.Errorf("resolved: %+v", res)
	}
	if _, err := st.ResolveIncident(ctx, alice, id, ""); !isKind(err, catalog.ErrConflict) {
		t.Errorf("second resolution: %v, want ErrConflict", err)
	}
	if _, err := st.ResolveIncident(ctx, alice, 999999, ""); !isKind(err, catalog.ErrNotFound) {
		t.Errorf("resolving no incident: %v, want ErrNotFound", err)
	}
	evs, err := st.IncidentEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, string(e.Kind)+" by "+e.Actor+": "+e.Note)
	}
	want := []string{"opened by almanac: ", "acknowledged by alice@corp: looking", "resolved by alice@corp: backfilled the nulls"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}

	// The cause again: a new incident.
	again, opened, err := st.OpenIncident(ctx, n)
	if err != nil || !opened || again.ID == id {
		t.Fatalf("reopen: %v opened %v id %d (old %d)", err, opened, again.ID, id)
	}
	// Auto-resolution resolves it as the detector, once.
	if ok, err := st.AutoResolveIncident(ctx, orders, catalog.CauseCheckFailed, "not_null_orders_id", "passes again"); err != nil || !ok {
		t.Fatalf("auto-resolve: %v %v", ok, err)
	}
	if ok, err := st.AutoResolveIncident(ctx, orders, catalog.CauseCheckFailed, "not_null_orders_id", "passes again"); err != nil || ok {
		t.Fatalf("auto-resolve again: %v %v, want nothing resolved", ok, err)
	}

	// Lists: open ones, all by dataset with paging.
	yes := true
	open, err := st.Incidents(ctx, store.IncidentFilter{Open: &yes})
	if err != nil || len(open) != 1 || open[0].CauseKey != "unique_orders_id" {
		t.Fatalf("open incidents: %v %+v", err, open)
	}
	page1, err := st.Incidents(ctx, store.IncidentFilter{Datasets: []catalog.Key{orders}, Limit: 2})
	if err != nil || len(page1) != 2 {
		t.Fatalf("page 1: %v %d", err, len(page1))
	}
	page2, err := st.Incidents(ctx, store.IncidentFilter{Datasets: []catalog.Key{orders}, Limit: 2, After: page1[1].ID})
	if err != nil || len(page2) != 1 || page2[0].ID != id {
		t.Fatalf("page 2: %v %+v", err, page2)
	}
	if none, err := st.Incidents(ctx, store.IncidentFilter{Datasets: []catalog.Key{{Namespace: "x", Name: "y"}}}); err != nil || len(none) != 0 {
		t.Fatalf("other dataset: %v %+v", err, none)
	}
}

// TestIncidentReview: a review with a ticket link stays on the incident;
// a ticket that is not a link is refused, naming the action.
func TestIncidentReview(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	inc, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: catalog.Key{Namespace: "ns", Name: "t"}, Cause: catalog.CauseRunFailed,
		CauseKey: "airflow/etl.load", Severity: catalog.SeverityError, Title: "run failed", By: catalog.ActorAlmanac})
	if err != nil {
		t.Fatal(err)
	}
	bad := catalog.IncidentReview{Cause: "disk full", Actions: []catalog.FollowUpAction{{Action: "alert on disk", Ticket: "javascript:alert(1)"}}}
	if _, err := st.SetIncidentReview(ctx, alice, inc.ID, bad); !isKind(err, catalog.ErrInvalid) {
		t.Errorf("javascript ticket: %v, want ErrInvalid", err)
	}
	r := catalog.IncidentReview{Cause: "disk full", Impact: "revenue late by 3 h",
		Actions: []catalog.FollowUpAction{{Action: "alert on disk", Ticket: "https://jira.corp/browse/DATA-12"}}}
	got, err := st.SetIncidentReview(ctx, alice, inc.ID, r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Review == nil || got.Review.By != "alice@corp" || got.Review.Actions[0].Ticket != "https://jira.corp/browse/DATA-12" {
		t.Errorf("review: %+v", got.Review)
	}
	if again, _ := st.Incident(ctx, inc.ID); again.Review == nil || again.Review.Impact != "revenue late by 3 h" {
		t.Errorf("review read back: %+v", again.Review)
	}
}

// TestIncidentAuthorization: viewers and anonymous readers may not
// acknowledge or resolve; the dataset's user owners and editors may.
func TestIncidentAuthorization(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	key := catalog.Key{Namespace: "postgres://wh:5432", Name: "db.public.orders"}
	if _, err := st.Crawl(ctx, "postgres:wh", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{{Key: key, Platform: "postgres", Kind: catalog.KindTable,
			Owners: []catalog.Owner{{Name: "olga@corp", Kind: catalog.OwnerUser}}}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	open := func() int64 {
		inc, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: key, Cause: catalog.CauseRunFailed, CauseKey: "j",
			Severity: catalog.SeverityError, Title: "run failed", By: catalog.ActorAlmanac})
		if err != nil {
			t.Fatal(err)
		}
		return inc.ID
	}
	id := open()
	viewer := catalog.Principal{Login: "vic@corp", Role: catalog.RoleViewer}
	if _, err := st.AcknowledgeIncident(ctx, viewer, id, ""); !isKind(err, catalog.ErrForbidden) {
		t.Errorf("viewer acknowledges: %v, want ErrForbidden", err)
	}
	if _, err := st.ResolveIncident(ctx, catalog.Principal{}, id, ""); !isKind(err, catalog.ErrUnauthenticated) {
		t.Errorf("anonymous resolves: %v, want ErrUnauthenticated", err)
	}
	owner := catalog.Principal{Login: "olga@corp", Role: catalog.RoleViewer}
	if _, err := st.ResolveIncident(ctx, owner, id, "fixed"); err != nil {
		t.Errorf("owner resolves: %v", err)
	}
	if _, err := st.AcknowledgeIncident(ctx, alice, open(), ""); err != nil {
		t.Errorf("editor acknowledges: %v", err)
	}
}

var alice = catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}

func isKind(err, kind error) bool { return err != nil && errors.Is(err, kind) }

// TestOpenIncidentsBatch: a batch naming one cause twice opens it once,
// seen at the newer evidence, and answers each in order.
func TestOpenIncidentsBatch(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	n := func(key string, seen time.Time) catalog.NewIncident {
		return catalog.NewIncident{Dataset: catalog.Key{Namespace: "ns", Name: "t"}, Cause: catalog.CauseCheckFailed, CauseKey: key,
			Severity: catalog.SeverityWarn, Title: key + " fails", By: catalog.ActorAlmanac, SeenAt: seen}
	}
	incs, opened, err := st.OpenIncidents(ctx, []catalog.NewIncident{n("b", t0), n("a", t0), n("b", t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 3 || incs[0].ID != incs[2].ID || incs[0].ID == incs[1].ID || incs[1].CauseKey != "a" {
		t.Fatalf("incidents: %+v", incs)
	}
	if diff := cmp.Diff([]bool{true, true, false}, opened); diff != "" {
		t.Errorf("opened (-want +got):\n%s", diff)
	}
	if !incs[0].LastSeenAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("last seen %v, want the newer evidence", incs[0].LastSeenAt)
	}
	// Again, with older evidence: nothing opens, nothing moves back.
	again, opened, err := st.OpenIncidents(ctx, []catalog.NewIncident{n("b", t0)})
	if err != nil || opened[0] || again[0].ID != incs[0].ID || !again[0].LastSeenAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("again: %+v opened %v, %v", again, opened, err)
	}
}
