package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSlackPayload pins the shape of a Slack incoming webhook message:
// text as the fallback, a mrkdwn section with links and the reasons in a
// context block, with Slack's reserved characters escaped.
func TestSlackPayload(t *testing.T) {
	e := incidentEvent()
	e.Incident.Title = "check <not_null> & friends fail"
	e.Incident.Impact = []DatasetRef{{Namespace: "postgres://wh:5432", Name: "shop.mart.revenue"}}
	req, err := jsonRequest("https://hooks.slack.example/services/T/B/X", slackMessage(e, []Reason{{Kind: "follows_dataset", Who: "alice@corp", Target: orders.String()}, {Kind: "downstream_owner", Who: "team:finance", Target: "postgres://wh:5432/shop.mart.revenue"}}))
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, req)
	want := map[string]any{
		"text": "Incident on postgres://wh:5432/shop.public.orders: check <not_null> & friends fail",
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*<https://almanac.example.com/incidents/7|Incident 7>* (error) on <https://almanac.example.com/datasets/x|postgres://wh:5432/shop.public.orders> opened\n" +
				"check &lt;not_null&gt; &amp; friends fail\nDownstream: 1 dataset(s)"}},
			map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn",
				"text": "Because alice@corp follows postgres://wh:5432/shop.public.orders; team:finance owns postgres://wh:5432/shop.mart.revenue, downstream"}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slack payload (-want +got):\n%s", diff)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %v", req.Method, req.Header)
	}
}

// TestOpsgeniePayload: an incident is one alert, by alias: opening
// creates it, acknowledging acknowledges it, resolving closes it.
func TestOpsgeniePayload(t *testing.T) {
	ch := Channel{Name: "ops", Kind: Opsgenie, URL: "https://api.opsgenie.example/", APIKey: "key-1"}
	reasons := []Reason{{Kind: "owner", Who: "team:shop", Target: orders.String()}}

	open := incidentEvent()
	req, err := opsgenieRequest(ch, open, reasons)
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.String() != "https://api.opsgenie.example/v2/alerts" || req.Header.Get("Authorization") != "GenieKey key-1" {
		t.Errorf("create: %s %v", req.URL, req.Header)
	}
	want := map[string]any{
		"message":     "Incident on postgres://wh:5432/shop.public.orders: check not_null fails",
		"alias":       "almanac-incident-7",
		"description": "check not_null fails\nhttps://almanac.example.com/incidents/7\nBecause team:shop owns postgres://wh:5432/shop.public.orders",
		"priority":    "P2",
		"entity":      "postgres://wh:5432/shop.public.orders",
		"source":      "almanac",
		"tags":        []any{"almanac", "check_failed"},
		"details": map[string]any{"dataset": "postgres://wh:5432/shop.public.orders", "cause": "check_failed", "incident": "7",
			"url": "https://almanac.example.com/incidents/7"},
	}
	if diff := cmp.Diff(want, decode(t, req)); diff != "" {
		t.Errorf("create alert (-want +got):\n%s", diff)
	}

	for kind, path := range map[string]string{EventIncidentAcknowledged: "acknowledge", EventIncidentResolved: "close"} {
		e := incidentEvent()
		e.Kind, e.Actor, e.Incident.Note = kind, "bob@corp", "backfilled"
		req, err := opsgenieRequest(ch, e, reasons)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := req.URL.String(), "https://api.opsgenie.example/v2/alerts/almanac-incident-7/"+path+"?identifierType=alias"; got != want {
			t.Errorf("%s: POST %s, want %s", kind, got, want)
		}
		if diff := cmp.Diff(map[string]any{"source": "almanac", "user": "bob@corp", "note": "backfilled"}, decode(t, req)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", kind, diff)
		}
	}

	schema := Event{Kind: EventSchemaChanged, Schema: &SchemaInfo{Version: 2}}
	if _, err := opsgenieRequest(ch, schema, nil); err == nil {
		t.Error("a schema change made an Opsgenie alert")
	}
}

func decode(t *testing.T, req *http.Request) map[string]any {
	t.Helper()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}
