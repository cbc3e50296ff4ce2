// Package notify tells people about what happens to the data they care
// about: incidents opened, acknowledged and resolved on the datasets and
// teams they follow, incidents upstream of the datasets they own, and
// schema changes of the datasets they follow.
//
// The Notifier follows the change log, as the search index and the
// incident detector do, and turns each change worth telling into
// deliveries: one River job per channel and recipient, enqueued in the
// transaction that moves its position in the log, so that each change is
// fanned out once across replicas and nothing is lost if the process
// dies. It never calls a receiver itself: ingestion and the detector
// only append to the change log, and a receiver that is down delays
// nothing but its own deliveries.
//
// The delivery worker posts each job to its channel (a generic JSON
// webhook signed with HMAC-SHA256, a Slack incoming webhook, or
// Opsgenie's alert API), retries a 5xx answer or a timeout with
// exponential backoff, and records what it gives up on (a 4xx answer at
// once, with the receiver's body; anything else after the last attempt)
// for the admins' dead-letter view.
//
// Deliveries write nothing to the catalog but that record: no change
// log entry, no quality result, nothing the detector reads. A
// notification therefore never opens an incident, and cannot loop.
package notify

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"almanac/catalog"
	"almanac/catalog/store"
)

// ChannelKind is the payload a channel speaks.
type ChannelKind string

// Channel kinds.
const (
	// Webhook is a generic JSON POST signed with HMAC-SHA256, one per
	// recipient, so that the receiver can route it to that person.
	Webhook ChannelKind = "webhook"
	// Slack is a Slack-compatible incoming webhook: one message per
	// event, naming whom it is for.
	Slack ChannelKind = "slack"
	// Opsgenie is Opsgenie's alert API: an incident's opening creates an
	// alert, its acknowledgement acknowledges it and its resolution
	// closes it, by alias. Schema changes are not alerts.
	Opsgenie ChannelKind = "opsgenie"
)

// perRecipient reports whether k delivers to each recipient apart.
func (k ChannelKind) perRecipient() bool { return k == Webhook }

// Channel is a configured place notifications go to.
type Channel struct {
	Name string
	Kind ChannelKind
	// URL is the webhook's address; for Opsgenie the API's base
	// (https://api.opsgenie.com, or api.eu.opsgenie.com).
	URL string
	// Secret signs webhook payloads.
	Secret string
	// APIKey is Opsgenie's integration key (GenieKey).
	APIKey string
	// Teams are the teams whose datasets' news this channel carries:
	// incidents and schema changes of the datasets they own, and
	// incidents upstream of them.
	Teams []string
	// Default makes this the channel of follows that name none, and of
	// people who own downstream datasets.
	Default bool
	// Timeout bounds one attempt; 0 is 10 s.
	Timeout time.Duration
}

// Config says where notifications go and how deliveries are retried.
type Config struct {
	Channels []Channel
	// PublicURL is the portal's address for links; "" leaves links out.
	PublicURL string
	// MaxAttempts is how often a delivery is tried before it is
	// dead-lettered; 0 is 8.
	MaxAttempts int
	// Backoff is the wait before the first retry, doubled at each next
	// one up to MaxBackoff; 0 is 30 s, and MaxBackoff 0 is 1 h.
	Backoff, MaxBackoff time.Duration
	// Matches reports which of keys the saved search query finds; nil
	// matches nothing. The search index lives above the catalog: the
	// caller wires it in.
	Matches func(ctx context.Context, query string, keys []catalog.Key) (map[catalog.Key]bool, error)
	Logger  *slog.Logger
}

// Queue is the River queue of deliveries, apart from crawls and checks.
const Queue = "notifications"

// pollInterval is how long the notifier waits for a change notification
// before it looks at the change log anyway.
const pollInterval = 5 * time.Second

// batchSize is how many changes one transaction fans out.
const batchSize = 500

// Notifier follows the change log and enqueues deliveries.
type Notifier struct {
	store    *store.Store
	cfg      Config
	channels map[string]Channel
	def      string // the default channel's name, or ""
	river    *river.Client[pgx.Tx]
	log      *slog.Logger
	seq      atomic.Int64
	start    int64
}

// New returns a notifier over st. Its River client only inserts; the
// delivery worker runs in the process's one working client (Register).
func New(st *store.Store, cfg Config) (*Notifier, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 8)
	cfg.Backoff = cmp.Or(cfg.Backoff, 30*time.Second)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, time.Hour)
	n := &Notifier{store: st, cfg: cfg, channels: map[string]Channel{}, log: cfg.Logger}
	for _, c := range cfg.Channels {
		c.Timeout = cmp.Or(c.Timeout, 10*time.Second)
		n.channels[c.Name] = c
		if c.Default {
			n.def = c.Name
		}
	}
	if n.def == "" && len(cfg.Channels) > 0 {
		n.def = cfg.Channels[0].Name
	}
	client, err := river.NewClient(riverpgxv5.New(st.Pool()), &river.Config{Logger: cfg.Logger.With("component", "river")})
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	n.river = client
	return n, nil
}

// Channels returns the configured channels, in configuration order.
func (n *Notifier) Channels() []Channel {
	out := make([]Channel, 0, len(n.cfg.Channels))
	for _, c := range n.cfg.Channels {
		out = append(out, n.channels[c.Name])
	}
	return out
}

// DefaultChannel is the channel of follows that name none: the one
// configured default, or the first; "" without channels.
func (n *Notifier) DefaultChannel() string { return n.def }

// Follow makes p follow f on f's channel, or the default one. A channel
// not configured is ErrInvalid naming those that are; without any
// channel, following is refused (ErrInvalid) since nothing would be
// heard.
func (n *Notifier) Follow(ctx context.Context, p catalog.Principal, f catalog.NewFollow) (catalog.Follow, error) {
	if err := catalog.AuthorizeFollow(p); err != nil {
		return catalog.Follow{}, err
	}
	ch := cmp.Or(f.Channel, n.def)
	if ch == "" {
		return catalog.Follow{}, fmt.Errorf("follow: no notification channel is configured (notifications.channels): %w", catalog.ErrInvalid)
	}
	if _, ok := n.channels[ch]; !ok {
		names := make([]string, 0, len(n.cfg.Channels))
		for _, c := range n.cfg.Channels {
			names = append(names, c.Name)
		}
		return catalog.Follow{}, fmt.Errorf("follow: no channel %q; configured: %s: %w", ch, strings.Join(names, ", "), catalog.ErrInvalid)
	}
	if f.Kind == catalog.FollowDataset {
		ids, err := n.store.DatasetIDs(ctx, []catalog.Key{f.Dataset})
		if err != nil {
			return catalog.Follow{}, err
		}
		if _, ok := ids[f.Dataset]; !ok {
			return catalog.Follow{}, fmt.Errorf("follow: no dataset %s: %w", f.Dataset, catalog.ErrNotFound)
		}
	}
	return n.store.Follow(ctx, p.Login, f, ch)
}

// Unfollow ends p's follow of f.
func (n *Notifier) Unfollow(ctx context.Context, p catalog.Principal, f catalog.NewFollow) error {
	if err := catalog.AuthorizeFollow(p); err != nil {
		return err
	}
	return n.store.Unfollow(ctx, p.Login, f)
}

// Seq is the last change log sequence fanned out by this replica.
func (n *Notifier) Seq() int64 { return n.seq.Load() }

// Load reads where the notifier stopped. The first time, it starts at
// the end of the change log: what happened before notifications were
// set up is history, not news.
func (n *Notifier) Load(ctx context.Context) error {
	seq, ok, err := n.store.NotifierSeq(ctx)
	if err != nil {
		return err
	}
	if !ok {
		if seq, err = n.store.LastChangeSeq(ctx); err != nil {
			return err
		}
	}
	n.start = seq
	n.seq.Store(seq)
	return nil
}

// Run follows the change log until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	if err := n.Load(ctx); err != nil {
		return err
	}
	return n.store.FollowChanges(ctx, n, pollInterval, n.log)
}

// CatchUp fans out every change after the notifier's position, a batch
// per transaction.
func (n *Notifier) CatchUp(ctx context.Context) error {
	for {
		var more bool
		err := n.store.Notify(ctx, n.start, func(ctx context.Context, tx pgx.Tx, after int64) (int64, error) {
			changes, err := n.store.Changes(ctx, after, batchSize)
			if err != nil || len(changes) == 0 {
				// The catalog's position is this replica's from now on,
				// also when it went back (a restored catalog).
				n.seq.Store(after)
				return after, err
			}
			more = len(changes) == batchSize
			jobs, err := n.fanOut(ctx, changes)
			if err != nil {
				return after, err
			}
			if len(jobs) > 0 {
				if _, err := n.river.InsertManyFastTx(ctx, tx, jobs); err != nil {
					return after, fmt.Errorf("enqueue %d deliveries: %w", len(jobs), err)
				}
				n.log.InfoContext(ctx, "notifications enqueued", "deliveries", len(jobs))
			}
			last := changes[len(changes)-1].Seq
			n.seq.Store(last)
			return last, nil
		})
		if err != nil || !more {
			return err
		}
	}
}

// recipient is whom a delivery is for on a channel: a person's login
// or "team:<name>".
type recipient struct {
	channel, who string
}

// routed is an event with whom it goes to, and why.
type routed struct {
	event Event
	to    map[recipient][]Reason
	order []recipient
}

func (r *routed) add(channel, who string, why Reason) {
	if channel == "" {
		return
	}
	k := recipient{channel, who}
	if _, ok := r.to[k]; !ok {
		r.order = append(r.order, k)
	}
	if !slices.Contains(r.to[k], why) {
		r.to[k] = append(r.to[k], why)
	}
}

// fanOut turns changes into deliveries.
func (n *Notifier) fanOut(ctx context.Context, changes []catalog.Change) ([]river.InsertManyParams, error) {
	if len(n.channels) == 0 {
		return nil, nil
	}
	events, err := n.events(ctx, changes)
	if err != nil || len(events) == 0 {
		return nil, err
	}
	// Who might hear of them: the followers of their datasets and of the
	// teams that own them, and the owners of what is downstream.
	var keys []catalog.Key
	for _, e := range events {
		keys = append(keys, e.Dataset.Key())
		if e.Incident != nil && e.Kind != EventIncidentAcknowledged {
			for _, d := range e.Incident.Impact {
				keys = append(keys, d.Key())
			}
		}
	}
	slices.SortFunc(keys, catalog.Key.Compare)
	keys = slices.Compact(keys)
	owners, err := n.store.DatasetOwners(ctx, keys)
	if err != nil {
		return nil, err
	}
	var teams []string
	for _, e := range events {
		for _, o := range owners[e.Dataset.Key()] {
			if o.Kind == catalog.OwnerTeam {
				teams = append(teams, o.Name)
			}
		}
	}
	slices.Sort(teams)
	teams = slices.Compact(teams)
	var eventKeys []catalog.Key
	for _, e := range events {
		eventKeys = append(eventKeys, e.Dataset.Key())
	}
	follows, err := n.store.Followers(ctx, eventKeys, teams)
	if err != nil {
		return nil, err
	}
	searches, err := n.searchMatches(ctx, follows, eventKeys)
	if err != nil {
		return nil, err
	}
	teamChannels := map[string][]string{}
	for _, c := range n.cfg.Channels {
		for _, t := range c.Teams {
			teamChannels[t] = append(teamChannels[t], c.Name)
		}
	}

	var jobs []river.InsertManyParams
	for _, e := range events {
		r := routed{event: e, to: map[recipient][]Reason{}}
		key := e.Dataset.Key()
		ds := key.String()
		ownedBy := map[string]bool{}
		for _, o := range owners[key] {
			if o.Kind == catalog.OwnerTeam {
				ownedBy[o.Name] = true
				for _, ch := range teamChannels[o.Name] {
					r.add(ch, "team:"+o.Name, Reason{Kind: "owner", Who: "team:" + o.Name, Target: ds})
				}
			}
		}
		for _, f := range follows {
			switch {
			case f.Kind == catalog.FollowDataset && f.Dataset == key:
				r.add(f.Channel, f.Login, Reason{Kind: "follows_dataset", Who: f.Login, Target: ds})
			case f.Kind == catalog.FollowTeam && ownedBy[f.Name]:
				r.add(f.Channel, f.Login, Reason{Kind: "follows_team", Who: f.Login, Target: "team " + f.Name})
			case f.Kind == catalog.FollowSearch && searches[f.Name][key]:
				r.add(f.Channel, f.Login, Reason{Kind: "follows_search", Who: f.Login, Target: "search “" + f.Name + "”"})
			}
		}
		// The owners of what is downstream hear that it opened and that
		// it is over; who is on it is the followers' business.
		if e.Incident != nil && e.Kind != EventIncidentAcknowledged {
			for _, d := range e.Incident.Impact {
				for _, o := range owners[d.Key()] {
					why := Reason{Kind: "downstream_owner", Target: d.Key().String()}
					switch o.Kind {
					case catalog.OwnerTeam:
						why.Who = "team:" + o.Name
						for _, ch := range teamChannels[o.Name] {
							r.add(ch, why.Who, why)
						}
					case catalog.OwnerUser:
						why.Who = o.Name
						r.add(n.def, o.Name, why)
					}
				}
			}
		}
		jobs = append(jobs, n.deliveries(r)...)
	}
	return jobs, nil
}

// deliveries are the jobs of one routed event: one per recipient on
// channels that address people, one per channel on the others.
func (n *Notifier) deliveries(r routed) []river.InsertManyParams {
	opts := &river.InsertOpts{Queue: Queue, MaxAttempts: n.cfg.MaxAttempts}
	var jobs []river.InsertManyParams
	shared := map[string]int{} // channel → index into jobs
	for _, to := range r.order {
		ch, ok := n.channels[to.channel]
		if !ok {
			continue // a follow of a channel no longer configured
		}
		if ch.Kind == Opsgenie && r.event.Incident == nil {
			continue
		}
		if ch.Kind.perRecipient() {
			jobs = append(jobs, river.InsertManyParams{Args: deliverArgs{Channel: ch.Name, Recipient: to.who, Event: r.event, Reasons: r.to[to]}, InsertOpts: opts})
			continue
		}
		if i, ok := shared[ch.Name]; ok {
			a := jobs[i].Args.(deliverArgs)
			a.Reasons = append(a.Reasons, r.to[to]...)
			jobs[i].Args = a
			continue
		}
		shared[ch.Name] = len(jobs)
		jobs = append(jobs, river.InsertManyParams{Args: deliverArgs{Channel: ch.Name, Event: r.event, Reasons: slices.Clone(r.to[to])}, InsertOpts: opts})
	}
	return jobs
}

// searchMatches asks, once per saved search, which of keys it finds.
func (n *Notifier) searchMatches(ctx context.Context, follows []catalog.Follow, keys []catalog.Key) (map[string]map[catalog.Key]bool, error) {
	out := map[string]map[catalog.Key]bool{}
	if n.cfg.Matches == nil {
		return out, nil
	}
	for _, f := range follows {
		if f.Kind != catalog.FollowSearch {
			continue
		}
		if _, done := out[f.Name]; done {
			continue
		}
		m, err := n.cfg.Matches(ctx, f.Name, keys)
		if err != nil {
			// One bad saved search must not hold back everyone's news.
			n.log.WarnContext(ctx, "saved search not matched", "query", f.Name, "err", err)
			m = nil
		}
		out[f.Name] = m
	}
	return out, nil
}

// events reads what the changes worth telling are about.
func (n *Notifier) events(ctx context.Context, changes []catalog.Change) ([]Event, error) {
	var (
		incidentIDs []int64
		pages       []store.HistoryPage
	)
	for _, c := range changes {
		switch {
		case c.Entity == "incident":
			incidentIDs = append(incidentIDs, c.EntityID)
		case c.Entity == "dataset" && c.Kind == catalog.ChangeSchemaChanged:
			pages = append(pages, store.HistoryPage{DatasetID: c.EntityID, Limit: 10})
		}
	}
	incidents := map[int64]catalog.Incident{}
	if len(incidentIDs) > 0 {
		list, err := n.store.IncidentsByIDs(ctx, incidentIDs)
		if err != nil {
			return nil, err
		}
		for _, i := range list {
			incidents[i.ID] = i
		}
	}
	// The notes of acknowledgements are in the incidents' timelines,
	// read together.
	var acked []int64
	for _, c := range changes {
		if _, ok := incidents[c.EntityID]; ok && c.Entity == "incident" && c.Kind == catalog.ChangeIncidentAcknowledged {
			acked = append(acked, c.EntityID)
		}
	}
	timelines, err := n.store.IncidentTimelines(ctx, acked)
	if err != nil {
		return nil, err
	}
	var hist map[store.HistoryPage][]catalog.SchemaVersion
	if len(pages) > 0 {
		var err error
		if hist, err = n.store.SchemaHistories(ctx, pages); err != nil {
			return nil, err
		}
	}
	var out []Event
	for _, c := range changes {
		actor := strings.TrimPrefix(c.Source, "user:")
		switch {
		case c.Entity == "incident":
			inc, ok := incidents[c.EntityID]
			if !ok {
				continue
			}
			kind := map[catalog.ChangeKind]string{
				catalog.ChangeIncidentOpened:       EventIncidentOpened,
				catalog.ChangeIncidentAcknowledged: EventIncidentAcknowledged,
				catalog.ChangeIncidentResolved:     EventIncidentResolved,
			}[c.Kind]
			if kind == "" {
				continue
			}
			info := n.incidentInfo(inc)
			switch kind {
			case EventIncidentResolved:
				info.Note = inc.Resolution
			case EventIncidentAcknowledged:
				for _, ev := range timelines[inc.ID] {
					if ev.Kind == catalog.IncidentAcknowledged {
						info.Note = ev.Note
					}
				}
			}
			out = append(out, Event{Kind: kind, At: c.At, Dataset: n.datasetRef(inc.Dataset), Actor: actor, Incident: &info})
		case c.Entity == "dataset" && c.Kind == catalog.ChangeSchemaChanged:
			versions := hist[store.HistoryPage{DatasetID: c.EntityID, Limit: 10}]
			i := slices.IndexFunc(versions, func(v catalog.SchemaVersion) bool { return v.Source == c.Source })
			if i < 0 || versions[i].Version <= 1 {
				continue // a dataset's first schema is not a change
			}
			out = append(out, Event{Kind: EventSchemaChanged, At: c.At, Dataset: n.datasetRef(c.Key), Actor: c.Source, Schema: schemaInfo(versions[i])})
		}
	}
	return out, nil
}

func (n *Notifier) incidentInfo(inc catalog.Incident) IncidentInfo {
	info := IncidentInfo{ID: inc.ID, Title: inc.Title, Cause: string(inc.Cause), CauseKey: inc.CauseKey, Severity: string(inc.Severity),
		State: inc.State(), Detail: inc.Detail, OpenedAt: inc.OpenedAt}
	if n.cfg.PublicURL != "" {
		info.URL = strings.TrimSuffix(n.cfg.PublicURL, "/") + "/incidents/" + fmt.Sprint(inc.ID)
	}
	for _, d := range inc.Impact {
		info.Impact = append(info.Impact, n.datasetRef(d.Dataset))
	}
	return info
}

func schemaInfo(v catalog.SchemaVersion) *SchemaInfo {
	s := &SchemaInfo{Version: v.Version, Source: v.Source}
	for _, c := range v.Diff.Added {
		s.Added = append(s.Added, c.Name)
	}
	for _, c := range v.Diff.Removed {
		s.Removed = append(s.Removed, c.Name)
	}
	for _, c := range v.Diff.Retyped {
		s.Retyped = append(s.Retyped, fmt.Sprintf("%s: %s → %s", c.Name, c.Before.Type, c.After.Type))
	}
	for _, r := range v.Diff.Renamed {
		s.Renamed = append(s.Renamed, r.From+" → "+r.To)
	}
	return s
}

// datasetRef names k with its page.
func (n *Notifier) datasetRef(k catalog.Key) DatasetRef {
	d := DatasetRef{Namespace: k.Namespace, Name: k.Name}
	if n.cfg.PublicURL != "" {
		d.URL = strings.TrimSuffix(n.cfg.PublicURL, "/") + DatasetPath(k)
	}
	return d
}

// DatasetPath is the address of a dataset's page in the portal, as the
// portal writes it.
func DatasetPath(k catalog.Key) string {
	segs := strings.Split(k.Name, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "/datasets/" + url.PathEscape(k.Namespace) + "/" + url.PathEscape(k.Name)
		}
		segs[i] = url.PathEscape(s)
	}
	return "/datasets/" + url.PathEscape(k.Namespace) + "/" + strings.Join(segs, "/")
}
