package notify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"almanac/catalog"
)

// Event kinds, as payloads name them.
const (
	EventIncidentOpened       = "incident.opened"
	EventIncidentAcknowledged = "incident.acknowledged"
	EventIncidentResolved     = "incident.resolved"
	EventSchemaChanged        = "schema.changed"
)

// Event is one thing worth telling people: a step of an incident or a
// schema change, on one dataset. It is the body of the generic webhook,
// and what the Slack and Opsgenie payloads are made from.
type Event struct {
	Kind     string        `json:"kind"`
	At       time.Time     `json:"at"`
	Dataset  DatasetRef    `json:"dataset"`
	Actor    string        `json:"actor"`
	Incident *IncidentInfo `json:"incident,omitempty"`
	Schema   *SchemaInfo   `json:"schema,omitempty"`
}

// DatasetRef names a dataset, with its page.
type DatasetRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	URL       string `json:"url,omitempty"`
}

// Key is the dataset's catalog key.
func (d DatasetRef) Key() catalog.Key { return catalog.Key{Namespace: d.Namespace, Name: d.Name} }

// IncidentInfo is an incident as a notification tells it.
type IncidentInfo struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	Cause    string    `json:"cause"`
	CauseKey string    `json:"causeKey,omitempty"`
	Severity string    `json:"severity"`
	State    string    `json:"state"`
	Detail   string    `json:"detail,omitempty"`
	OpenedAt time.Time `json:"openedAt"`
	// Note is what the person who acknowledged or resolved it said, or
	// why the detector resolved it.
	Note   string       `json:"note,omitempty"`
	URL    string       `json:"url,omitempty"`
	Impact []DatasetRef `json:"impact,omitempty"`
}

// SchemaInfo is a new schema version as a notification tells it.
type SchemaInfo struct {
	Version int      `json:"version"`
	Source  string   `json:"source"`
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// Retyped are "column: before → after"; Renamed "from → to".
	Retyped []string `json:"retyped,omitempty"`
	Renamed []string `json:"renamed,omitempty"`
}

// Reason says why a recipient hears of an event.
type Reason struct {
	// Kind is follows_dataset, follows_team, follows_search, owner or
	// downstream_owner.
	Kind string `json:"kind"`
	// Who is the person's login or "team:<name>".
	Who string `json:"who"`
	// Target is what is followed or owned: a dataset, a team, a query.
	Target string `json:"target"`
}

func (r Reason) String() string {
	switch r.Kind {
	case "follows_dataset", "follows_team", "follows_search":
		return r.Who + " follows " + r.Target
	case "downstream_owner":
		return r.Who + " owns " + r.Target + ", downstream"
	}
	return r.Who + " owns " + r.Target
}

// WebhookBody is the generic webhook's JSON body.
type WebhookBody struct {
	// Delivery identifies the delivery, the same on every attempt:
	// receivers use it to ignore a retry of one they handled.
	Delivery int64 `json:"delivery"`
	// Recipient is whom this delivery is for: a login or "team:<name>".
	Recipient string   `json:"recipient"`
	Reasons   []Reason `json:"reasons"`
	Event     Event    `json:"event"`
}

// Signature headers of the generic webhook: SignatureHeader is
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>' under the
// channel's secret>". Receivers recompute it, compare in constant time,
// and refuse a timestamp older than a few minutes (a replay).
const (
	SignatureHeader = "X-Almanac-Signature"
	EventHeader     = "X-Almanac-Event"
	DeliveryHeader  = "X-Almanac-Delivery"
)

// Sign returns the signature header value of body at t under secret.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is Verify's answer to a signature that does not match,
// is malformed, or is too old.
var ErrBadSignature = errors.New("bad webhook signature")

// Verify checks a signature header for body under secret: the HMAC
// matches and its timestamp is within tolerance of now. It is what a
// receiver written in Go does; the README shows the same in a few lines
// of any language.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("%w: malformed header %q", ErrBadSignature, header)
	}
	want := Sign(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return fmt.Errorf("%w: the HMAC does not match", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s is %s from now (replay?)", ErrBadSignature, ts, d.Round(time.Second))
	}
	return nil
}

// webhookRequest is the generic webhook's signed POST.
func webhookRequest(ch Channel, b WebhookBody, now time.Time) (*http.Request, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, ch.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(EventHeader, b.Event.Kind)
	req.Header.Set(DeliveryHeader, strconv.FormatInt(b.Delivery, 10))
	req.Header.Set(SignatureHeader, Sign(ch.Secret, now, body))
	return req, nil
}

// SlackMessage is the payload of a Slack incoming webhook (and of those
// that speak its format, such as Mattermost's): text for notifications
// and clients without blocks, blocks for the message itself.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a section or context block.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a mrkdwn text object.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackLink is <url|text>, or the text alone without a URL.
func slackLink(u, text string) string {
	if u == "" {
		return slackEscape(text)
	}
	return "<" + u + "|" + slackEscape(text) + ">"
}

// Summary is the one line an event is told in.
func (e Event) Summary() string {
	d := e.Dataset.Key().String()
	switch e.Kind {
	case EventIncidentOpened:
		return fmt.Sprintf("Incident on %s: %s", d, e.Incident.Title)
	case EventIncidentAcknowledged:
		return fmt.Sprintf("Incident on %s acknowledged by %s: %s", d, e.Actor, e.Incident.Title)
	case EventIncidentResolved:
		return fmt.Sprintf("Incident on %s resolved by %s: %s", d, e.Actor, e.Incident.Title)
	case EventSchemaChanged:
		return fmt.Sprintf("Schema of %s changed (version %d from %s)", d, e.Schema.Version, e.Schema.Source)
	}
	return e.Kind + " on " + d
}

// slackMessage is the Slack payload of an event for reasons.
func slackMessage(e Event, reasons []Reason) SlackMessage {
	d := e.Dataset.Key().String()
	var lines []string
	switch {
	case e.Incident != nil:
		i := e.Incident
		verb := map[string]string{EventIncidentOpened: "opened", EventIncidentAcknowledged: "acknowledged by " + e.Actor, EventIncidentResolved: "resolved by " + e.Actor}[e.Kind]
		lines = append(lines, fmt.Sprintf("*%s* (%s) on %s %s", slackLink(i.URL, "Incident "+strconv.FormatInt(i.ID, 10)), i.Severity, slackLink(e.Dataset.URL, d), slackEscape(verb)))
		lines = append(lines, slackEscape(i.Title))
		if i.Note != "" {
			lines = append(lines, "> "+slackEscape(i.Note))
		}
		if e.Kind == EventIncidentOpened && len(i.Impact) > 0 {
			lines = append(lines, fmt.Sprintf("Downstream: %d dataset(s)", len(i.Impact)))
		}
	case e.Schema != nil:
		s := e.Schema
		lines = append(lines, fmt.Sprintf("*Schema of %s changed* (version %d from %s)", slackLink(e.Dataset.URL, d), s.Version, slackEscape(s.Source)))
		for _, part := range []struct {
			label string
			cols  []string
		}{{"added", s.Added}, {"removed", s.Removed}, {"retyped", s.Retyped}, {"renamed", s.Renamed}} {
			if len(part.cols) > 0 {
				lines = append(lines, part.label+": "+slackEscape(strings.Join(part.cols, ", ")))
			}
		}
	}
	why := make([]string, len(reasons))
	for i, r := range reasons {
		why[i] = r.String()
	}
	blocks := []SlackBlock{{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: strings.Join(lines, "\n")}}}
	if len(why) > 0 {
		blocks = append(blocks, SlackBlock{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: "Because " + slackEscape(clip(strings.Join(why, "; "), 2900))}}})
	}
	return SlackMessage{Text: e.Summary(), Blocks: blocks}
}

// OpsgenieAlert is the body of Opsgenie's create-alert request (POST
// /v2/alerts).
type OpsgenieAlert struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description,omitempty"`
	Priority    string            `json:"priority"`
	Entity      string            `json:"entity,omitempty"`
	Source      string            `json:"source"`
	Tags        []string          `json:"tags,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
}

// OpsgenieAction is the body of Opsgenie's acknowledge and close
// requests (POST /v2/alerts/{alias}/close?identifierType=alias).
type OpsgenieAction struct {
	Source string `json:"source"`
	User   string `json:"user,omitempty"`
	Note   string `json:"note,omitempty"`
}

// OpsgenieAlias is the alert alias of an incident: Opsgenie keeps one
// open alert per alias, so an incident is one alert from opening to
// close, however often it is notified.
func OpsgenieAlias(incident int64) string {
	return "almanac-incident-" + strconv.FormatInt(incident, 10)
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// opsgenieRequest is the Opsgenie request of an incident event: create
// on opening, acknowledge, close on resolving, all by the incident's
// alias.
func opsgenieRequest(ch Channel, e Event, reasons []Reason) (*http.Request, error) {
	i := e.Incident
	if i == nil {
		return nil, fmt.Errorf("opsgenie channel %s: %s is not an incident event", ch.Name, e.Kind)
	}
	base := strings.TrimSuffix(ch.URL, "/")
	alias := OpsgenieAlias(i.ID)
	var (
		target string
		body   any
	)
	switch e.Kind {
	case EventIncidentOpened:
		priority := "P3"
		if i.Severity == string(catalog.SeverityError) {
			priority = "P2"
		}
		desc := []string{i.Title}
		if i.Detail != "" {
			desc = append(desc, i.Detail)
		}
		if i.URL != "" {
			desc = append(desc, i.URL)
		}
		for _, r := range reasons {
			desc = append(desc, "Because "+r.String())
		}
		target = base + "/v2/alerts"
		body = OpsgenieAlert{
			Message: clip(e.Summary(), 130), Alias: alias, Description: clip(strings.Join(desc, "\n"), 15000),
			Priority: priority, Entity: clip(e.Dataset.Key().String(), 512), Source: "almanac",
			Tags:    []string{"almanac", i.Cause},
			Details: map[string]string{"dataset": e.Dataset.Key().String(), "cause": i.Cause, "incident": strconv.FormatInt(i.ID, 10), "url": i.URL},
		}
	case EventIncidentAcknowledged, EventIncidentResolved:
		action := "acknowledge"
		if e.Kind == EventIncidentResolved {
			action = "close"
		}
		target = base + "/v2/alerts/" + url.PathEscape(alias) + "/" + action + "?identifierType=alias"
		body = OpsgenieAction{Source: "almanac", User: e.Actor, Note: clip(i.Note, 25000)}
	default:
		return nil, fmt.Errorf("opsgenie channel %s: no alert for %s", ch.Name, e.Kind)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "GenieKey "+ch.APIKey)
	return req, nil
}
