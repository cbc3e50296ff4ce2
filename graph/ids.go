package graph

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// Global IDs are opaque to clients: base64url of "<Type>:<id>". Cursors are
// opaque too, and encode the position a page ends at, so that paging stays
// correct while datasets are added (keyset pagination).

const (
	typeDataset    = "Dataset"
	typeCrawlRun   = "CrawlRun"
	typeAuditEntry = "AuditEntry"
	// typeSecurityEvent is an event of the security log.
	typeSecurityEvent = "SecurityEvent"
	typeToken         = "ApiToken"
	typeIncident      = "Incident"
)

func globalID(typ string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + strconv.FormatInt(id, 10)))
}

// parseGlobalID decodes a global ID into its type and number.
func parseGlobalID(s string) (typ string, id int64, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		var n string
		var ok bool
		typ, n, ok = strings.Cut(string(b), ":")
		id, err = strconv.ParseInt(n, 10, 64)
		if ok && err == nil && id > 0 {
			return typ, id, nil
		}
	}
	return "", 0, fmt.Errorf("%q is not an Almanac ID: %w", s, catalog.ErrInvalid)
}

// parseIDOf decodes a global ID that must be of type typ.
func parseIDOf(typ, s string) (int64, error) {
	t, id, err := parseGlobalID(s)
	if err != nil {
		return 0, err
	}
	if t != typ {
		return 0, fmt.Errorf("ID %q is of a %s, not a %s: %w", s, t, typ, catalog.ErrInvalid)
	}
	return id, nil
}

func intCursor(n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("n:" + strconv.FormatInt(n, 10)))
}

// parseIntCursor decodes the cursor of a list ordered by a number; nil is
// the start.
func parseIntCursor(s *string) (int64, error) {
	if s == nil || *s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*s)
	if err == nil {
		if n, ok := strings.CutPrefix(string(b), "n:"); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 {
				return v, nil
			}
		}
	}
	return 0, fmt.Errorf("invalid cursor %q: pass the endCursor of a page: %w", *s, catalog.ErrInvalid)
}

// stringsCursor encodes a position in a list ordered by strings.
func stringsCursor(parts ...string) string {
	b, _ := json.Marshal(parts) // a []string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseStringsCursor decodes a cursor of n strings; nil is the start.
func parseStringsCursor(s *string, n int) ([]string, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	var parts []string
	b, err := base64.RawURLEncoding.DecodeString(*s)
	if err == nil {
		err = json.Unmarshal(b, &parts)
	}
	if err != nil || len(parts) != n {
		return nil, fmt.Errorf("invalid cursor %q: pass the endCursor of a page: %w", *s, catalog.ErrInvalid)
	}
	return parts, nil
}

// auditCursor encodes the place of an entry in the audit log: its time
// (in microseconds, PostgreSQL's precision) and id.
func auditCursor(e catalog.AuditEntry) string {
	return stringsCursor(strconv.FormatInt(e.At.UnixMicro(), 10), strconv.FormatInt(e.ID, 10))
}

// parseAuditCursor decodes an auditCursor; nil is the start.
// securityCursor is where a page of the security log ends: the same
// (time, id) position as the audit log's.
func securityCursor(e catalog.AuthEvent) string {
	return stringsCursor(strconv.FormatInt(e.At.UnixMicro(), 10), strconv.FormatInt(e.ID, 10))
}

func parseAuditCursor(s *string) (store.AuditCursor, error) {
	parts, err := parseStringsCursor(s, 2)
	if err != nil || parts == nil {
		return store.AuditCursor{}, err
	}
	at, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return store.AuditCursor{}, fmt.Errorf("invalid cursor %q: pass the endCursor of a page: %w", *s, catalog.ErrInvalid)
	}
	return store.AuditCursor{At: time.UnixMicro(at).UTC(), ID: id}, nil
}

// maxFirst is the largest page a client may ask for.
const maxFirst = 500

// pageSize validates a connection's first argument.
func pageSize(first *int, def int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 0 || *first > maxFirst {
		return 0, fmt.Errorf("first must be between 0 and %d, got %d: %w", maxFirst, *first, catalog.ErrInvalid)
	}
	return *first, nil
}
