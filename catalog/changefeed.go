package catalog

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Fields a change log entry may say changed, beside the edit fields.
const (
	// FieldColumn is a column of a dataset's schema: added (Before nil),
	// removed (After nil) or retyped, Before and After being its types.
	FieldColumn EditField = "column"
	// FieldLink is an external link on a dataset, as "title <url>".
	FieldLink EditField = "link"
)

// FieldChange is one thing a change log entry changed: documentation,
// an owner, a tag, a column, a link. Before is nil for something added,
// After nil for something removed. A crawl's changes are what that source
// asserts (its own description, owners and tags), a person's what they
// edited.
type FieldChange struct {
	Field  EditField `json:"field"`
	Column string    `json:"column,omitempty"`
	Before *string   `json:"before"`
	After  *string   `json:"after"`
}

// ChangeFilter selects entries of the change feed. Its zero value
// selects every entry.
type ChangeFilter struct {
	// Entity is "dataset", "job", "run" or "column_lineage"; "" for all.
	Entity string
	// Kinds are the kinds of change; none for all.
	Kinds []ChangeKind
}

// ChangeEntities are the kinds of entity the change log names.
var ChangeEntities = []string{"dataset", "job", "run", "column_lineage"}

// Actor is the login of the person who made the change, or "" when a
// source (a crawl, OpenLineage) did.
func (c Change) Actor() string {
	if login, ok := strings.CutPrefix(c.Source, "user:"); ok {
		return login
	}
	return ""
}

// Link is an external link on a dataset: where its work is tracked or
// documented elsewhere.
type Link struct {
	ID      int64
	Title   string
	URL     string
	AddedBy string
	AddedAt time.Time
}

// String is how a link appears in the audit history and the change feed:
// "Runbook <https://wiki/runbook>".
func (l Link) String() string { return l.Title + " <" + l.URL + ">" }

// Bounds on an external link.
const (
	MaxLinkTitle = 200
	MaxLinkURL   = 2048
)

// ValidateLink reports a link whose title is empty, too long or holds
// control characters, or whose URL is not an absolute http or https URL
// with a host (javascript:, data: and relative URLs are refused), naming
// which.
func ValidateLink(title, rawURL string) error {
	switch {
	case strings.TrimSpace(title) == "":
		return fmt.Errorf("link: empty title: %w", ErrInvalid)
	case !utf8.ValidString(title):
		return fmt.Errorf("link title: not valid UTF-8: %w", ErrInvalid)
	case len(title) > MaxLinkTitle:
		return fmt.Errorf("link title %.40q…: %d bytes, at most %d: %w", title, len(title), MaxLinkTitle, ErrInvalid)
	case strings.IndexFunc(title, func(r rune) bool { return unicode.IsControl(r) || Hidden(r) }) >= 0:
		return fmt.Errorf("link title %q holds a control or invisible character: %w", title, ErrInvalid)
	}
	return ValidateLinkURL("link URL", rawURL)
}

// ValidateLinkURL reports a URL that is not an absolute http or https URL
// with a host, or is over MaxLinkURL bytes; what names it in the error.
func ValidateLinkURL(what, rawURL string) error {
	if len(rawURL) > MaxLinkURL {
		return fmt.Errorf("%s %.40q…: %d bytes, at most %d: %w", what, rawURL, len(rawURL), MaxLinkURL, ErrInvalid)
	}
	if strings.IndexFunc(rawURL, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Errorf("%s %q holds spaces or control characters: %w", what, rawURL, ErrInvalid)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%s %q: %v: %w", what, rawURL, err, ErrInvalid)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s %q: only http and https links are allowed: %w", what, rawURL, ErrInvalid)
	}
	if u.Host == "" || u.User != nil {
		return fmt.Errorf("%s %q: needs a host and no user name: %w", what, rawURL, ErrInvalid)
	}
	return nil
}

// ChangeCursor is the cursor of the change feed after the entry seq: the
// GraphQL cursor of the change, and the `id:` of its Server-Sent Event.
func ChangeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("n:" + strconv.FormatInt(seq, 10)))
}

// ParseChangeCursor returns the sequence a ChangeCursor names; "" is the
// start of the feed (0).
func ParseChangeCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if n, ok := strings.CutPrefix(string(b), "n:"); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil && v >= 0 {
				return v, nil
			}
		}
	}
	return 0, fmt.Errorf("invalid change cursor %.40q: pass the cursor of the last change received: %w", s, ErrInvalid)
}

// ParseChangeEntity checks an entity of the change feed, in any case.
func ParseChangeEntity(s string) (string, error) {
	e := strings.ToLower(s)
	if e == "" || slices.Contains(ChangeEntities, e) {
		return e, nil
	}
	return "", fmt.Errorf("unknown entity %.40q: want one of %s: %w", s, strings.Join(ChangeEntities, ", "), ErrInvalid)
}

// ChangeKinds are the kinds of change the change log records.
var ChangeKinds = []ChangeKind{ChangeCreated, ChangeUpdated, ChangeSchemaChanged, ChangeRemoved, ChangeRestored,
	ChangeQuality, ChangeLineage, ChangeColumnLineage, ChangeRun}

// ParseChangeKind checks a kind of change, in any case.
func ParseChangeKind(s string) (ChangeKind, error) {
	k := ChangeKind(strings.ToLower(s))
	if slices.Contains(ChangeKinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("unknown kind of change %.40q: want one of %s: %w", s, kindList(), ErrInvalid)
}

func kindList() string {
	s := make([]string, len(ChangeKinds))
	for i, k := range ChangeKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
