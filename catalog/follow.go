package catalog

import (
	"fmt"
	"strings"
	"time"
)

// FollowKind is what a person follows.
type FollowKind string

// Follow kinds.
const (
	// FollowDataset follows one dataset: its incidents and schema
	// changes.
	FollowDataset FollowKind = "dataset"
	// FollowTeam follows what a team owns (an owner of kind team).
	FollowTeam FollowKind = "team"
	// FollowSearch follows a saved search: the datasets its query finds.
	FollowSearch FollowKind = "search"
)

// Valid reports whether k is a known follow kind.
func (k FollowKind) Valid() bool {
	return k == FollowDataset || k == FollowTeam || k == FollowSearch
}

// Follow is a person following a dataset, a team or a saved search, to
// hear of it on one of the configured notification channels.
type Follow struct {
	ID    int64
	Login string
	Kind  FollowKind
	// Dataset is the dataset followed (FollowDataset).
	Dataset Key
	// Name is the team (FollowTeam) or the search query (FollowSearch).
	Name string
	// Channel is the configured channel the follower hears on.
	Channel   string
	CreatedAt time.Time
}

// Target names what f follows, as people read it.
func (f Follow) Target() string {
	switch f.Kind {
	case FollowDataset:
		return f.Dataset.String()
	case FollowTeam:
		return "team " + f.Name
	}
	return "search “" + f.Name + "”"
}

// maxSearchFollowLen bounds a saved search's query, as the search page
// bounds a query.
const maxSearchFollowLen = 1000

// NewFollow is a follow as a person asks for it.
type NewFollow struct {
	Kind    FollowKind
	Dataset Key
	Name    string
	// Channel is "" for the default channel.
	Channel string
}

// Validate reports a follow of nothing, naming what is missing.
func (n NewFollow) Validate() error {
	switch n.Kind {
	case FollowDataset:
		if err := n.Dataset.Validate(); err != nil {
			return fmt.Errorf("follow: %w", err)
		}
	case FollowTeam, FollowSearch:
		if strings.TrimSpace(n.Name) == "" {
			return fmt.Errorf("follow %s: empty name: %w", n.Kind, ErrInvalid)
		}
		if len(n.Name) > maxSearchFollowLen {
			return fmt.Errorf("follow %s: name of %d bytes, more than %d: %w", n.Kind, len(n.Name), maxSearchFollowLen, ErrInvalid)
		}
	default:
		return fmt.Errorf("follow: unknown kind %q: want dataset, team or search: %w", n.Kind, ErrInvalid)
	}
	return nil
}

// AuthorizeFollow returns nil if p may follow things: any person signed
// in, or a token with the write scope acting for one. Following changes
// nothing in the catalog, so viewers may; a service token acts for no
// person, and has no one to notify.
func AuthorizeFollow(p Principal) error {
	if p.Anonymous() {
		return fmt.Errorf("following needs a login: %w", ErrUnauthenticated)
	}
	if strings.HasPrefix(p.Login, ServiceTokenPrefix) {
		return fmt.Errorf("%s is a service token: only people follow: %w", p.Login, ErrForbidden)
	}
	if !p.HasScope(ScopeWrite) {
		return fmt.Errorf("%s may not change follows with a token of scope %s: it needs the %s scope: %w", p.Login, scopeList(p.Scopes), ScopeWrite, ErrForbidden)
	}
	return nil
}

// NotificationFailure is a delivery of a notification given up on:
// refused by its receiver (Status "failed", a 4xx answer, never retried)
// or failing still after its last attempt (Status "dead").
type NotificationFailure struct {
	ID         int64
	JobID      int64
	Channel    string
	Recipient  string
	Event      string
	Dataset    Key
	IncidentID int64
	Status     string
	Attempts   int
	// HTTPStatus is the receiver's answer, 0 when there was none (down,
	// timed out).
	HTTPStatus int
	Error      string
	// Body is the start of the receiver's answer.
	Body string
	At   time.Time
}
