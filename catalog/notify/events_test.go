package notify

import (
	"context"
	"fmt"
	"testing"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestAcknowledgementNotes: the events of several acknowledged incidents
// carry each one's note, their timelines read in one statement.
func TestAcknowledgementNotes(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	if _, err := st.Crawl(ctx, "postgres:wh", func(context.Context) (catalog.Harvest, error) { return warehouse(idCol), nil }); err != nil {
		t.Fatal(err)
	}
	n, err := New(st, Config{})
	if err != nil {
		t.Fatal(err)
	}
	from, err := st.LastChangeSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		inc, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: orders, Cause: catalog.CauseCheckFailed, CauseKey: fmt.Sprintf("c%d", i),
			Severity: catalog.SeverityError, Title: "check fails", By: catalog.ActorAlmanac})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AcknowledgeIncident(ctx, bob, inc.ID, fmt.Sprintf("on it: c%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	changes, err := st.Changes(ctx, from, 100)
	if err != nil {
		t.Fatal(err)
	}
	events, err := n.events(ctx, changes)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range events {
		if e.Kind == EventIncidentAcknowledged {
			notes = append(notes, e.Incident.CauseKey+" "+e.Incident.Note)
		}
	}
	if want := "[c0 on it: c0 c1 on it: c1 c2 on it: c2]"; fmt.Sprint(notes) != want {
		t.Errorf("acknowledgement notes %v, want %s", notes, want)
	}
}
