package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// ErrUnauthenticated is the kind of error for a request that needs a
// principal and has none: nothing allows anonymous writing.
var ErrUnauthenticated = errors.New("unauthenticated")

// Role is what a principal may do across the whole catalog. Roles come from
// the identity provider's groups by mapping.
type Role string

// Roles, from least to most privileged.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
)

// Principal is who makes a request: a person logged in, or a tool with an
// API token acting for one (or, for a service token, for nobody: its
// Login is "token:<name>"). The zero Principal is anonymous.
type Principal struct {
	Login string // "alice@corp"; the source of their edits is "user:" + Login
	Role  Role
	// Name is how the person is shown ("Alice Martin"); "" when unknown.
	Name string
	// Groups are the identity provider's groups the person is in: they
	// set the role by mapping, and make the person an owner of what a
	// team of the same name owns.
	Groups []string
	// Scopes bound what a request made with an API token may do, within
	// Role: nil or empty for a person's own session, which has every
	// right of the role.
	Scopes []TokenScope
}

// Anonymous reports whether p identifies nobody.
func (p Principal) Anonymous() bool { return strings.TrimSpace(p.Login) == "" }

// InGroup reports whether p is a member of the group named group, by the
// identity provider's group claim (compared exactly: group names are
// identifiers).
func (p Principal) InGroup(group string) bool {
	return group != "" && slices.Contains(p.Groups, group)
}

// DisplayName is how p is shown: the name, else the login.
func (p Principal) DisplayName() string {
	if n := strings.TrimSpace(p.Name); n != "" {
		return n
	}
	return p.Login
}

// Source is the provenance of p's edits.
func (p Principal) Source() string { return "user:" + strings.TrimSpace(p.Login) }

// CanEdit reports whether p may edit the documentation, tags and owners of
// d: editors and admins may edit every dataset; anyone else only datasets
// of which they are a user owner, or that a team they are a member of (a
// team owner named like one of their groups) owns. A token without the
// write scope may edit nothing.
func CanEdit(p Principal, d Dataset) bool {
	if p.Anonymous() || !p.HasScope(ScopeWrite) {
		return false
	}
	if p.Role == RoleEditor || p.Role == RoleAdmin {
		return true
	}
	for _, o := range d.Owners {
		if o.Value.Kind == OwnerUser && o.Value.Name == p.Login {
			return true
		}
		if o.Value.Kind == OwnerTeam && p.InGroup(o.Value.Name) {
			return true
		}
	}
	return false
}

// AuthorizeEdit returns nil if p may edit d, and otherwise an error of kind
// ErrUnauthenticated (anonymous) or ErrForbidden saying why. A token
// principal needs the write scope as well as its owner's right.
func AuthorizeEdit(p Principal, d Dataset) error {
	if p.Anonymous() {
		return fmt.Errorf("editing %s needs a login: %w", d.Key, ErrUnauthenticated)
	}
	if !p.HasScope(ScopeWrite) {
		return fmt.Errorf("%s may not edit %s with a token of scope %s: editing needs the %s scope: %w", p.Login, d.Key, scopeList(p.Scopes), ScopeWrite, ErrForbidden)
	}
	if !CanEdit(p, d) {
		return fmt.Errorf("%s (role %q) may not edit %s: only editors, admins and its owners may: %w", p.Login, p.Role, d.Key, ErrForbidden)
	}
	return nil
}

// CanHandleIncident reports whether p may acknowledge, resolve and review
// the incidents of d: whoever may edit d (editors, admins, its owners).
func CanHandleIncident(p Principal, d Dataset) bool { return CanEdit(p, d) }

// AuthorizeIncident returns nil if p may acknowledge, resolve or review
// the incidents of d, and otherwise an error of kind ErrUnauthenticated
// (anonymous) or ErrForbidden saying why.
func AuthorizeIncident(p Principal, d Dataset) error {
	if p.Anonymous() {
		return fmt.Errorf("handling incidents of %s needs a login: %w", d.Key, ErrUnauthenticated)
	}
	if !CanHandleIncident(p, d) {
		return fmt.Errorf("%s (role %q) may not handle incidents of %s: only editors, admins and its owners may: %w", p.Login, p.Role, d.Key, ErrForbidden)
	}
	return nil
}

// EditField is which part of a dataset a person's edit changed.
type EditField string

// Fields people edit.
const (
	FieldDescription       EditField = "description"
	FieldColumnDescription EditField = "column_description"
	FieldTag               EditField = "tag"
	FieldOwner             EditField = "owner"
	FieldSLO               EditField = "slo" // an SLO people declared, as its declaration's JSON
)

// AuditEntry records one edit made by a person: who, when, which field of
// which dataset (and column), and the value before and after. Before is nil
// for something added, After nil for something removed.
type AuditEntry struct {
	ID        int64
	At        time.Time
	Actor     string // the principal's login
	DatasetID int64
	Dataset   Key // the dataset's key, as reads of the log give it
	Field     EditField
	Column    string
	Before    *string
	After     *string
}

// ValidateTag reports a tag that is empty, too long or has spaces at its
// ends.
func ValidateTag(tag string) error {
	switch {
	case tag == "":
		return fmt.Errorf("empty tag: %w", ErrInvalid)
	case strings.TrimSpace(tag) != tag:
		return fmt.Errorf("tag %q has leading or trailing spaces: %w", tag, ErrInvalid)
	case len(tag) > 100:
		return fmt.Errorf("tag %.20q… is longer than 100 bytes: %w", tag, ErrInvalid)
	case strings.IndexFunc(tag, unicode.IsControl) >= 0:
		return fmt.Errorf("tag %q holds a control character: %w", tag, ErrInvalid)
	}
	return ValidName("tag", tag)
}

// Validate reports an owner without a name or with an unknown kind.
func (o Owner) Validate() error {
	if strings.TrimSpace(o.Name) == "" {
		return fmt.Errorf("owner without a name: %w", ErrInvalid)
	}
	if err := ValidName("owner name", o.Name); err != nil {
		return err
	}
	if err := ValidName("owner type", o.Type); err != nil {
		return err
	}
	if o.Kind.Valid() {
		return nil
	}
	return fmt.Errorf("owner %q: unknown kind %q (want user, team or role): %w", o.Name, o.Kind, ErrInvalid)
}

// String is how an owner appears in the audit history: "team:payments
// (business)".
func (o Owner) String() string {
	s := string(o.Kind) + ":" + o.Name
	if o.Type != "" {
		s += " (" + o.Type + ")"
	}
	return s
}
