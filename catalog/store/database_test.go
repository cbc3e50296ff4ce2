package store_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestDatabase checks what an outage's log lines say of the databases:
// user, host, port and name of each, never a password.
func TestDatabase(t *testing.T) {
	open := func(url string) *pgxpool.Pool {
		p, err := pgxpool.New(t.Context(), url) // connects on first use only
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	st := store.New(open("postgres://almanac:s3cret@db.internal:6432/catalog"))
	if got, want := st.Database(), "almanac@db.internal:6432/catalog"; got != want {
		t.Errorf("Database() = %q, want %q", got, want)
	}
	st.SetReadReplica(open("postgres://reader:hunter2@replica.internal/catalog"))
	got := st.Database()
	if want := "almanac@db.internal:6432/catalog read reader@replica.internal:5432/catalog"; got != want {
		t.Errorf("with a read replica, Database() = %q, want %q", got, want)
	}
	for _, secret := range []string{"s3cret", "hunter2"} {
		if strings.Contains(got, secret) {
			t.Errorf("Database() = %q shows a password", got)
		}
	}
	unavailable := store.Unavailable(io.ErrUnexpectedEOF)
	if a := st.OutageAttr(unavailable); a.Key != "database" || a.Value.String() != got {
		t.Errorf("OutageAttr(unavailable) = %v, want database=%q", a, got)
	}
	for _, err := range []error{nil, errors.New("bad input"), fmt.Errorf("%w: %w", catalog.ErrIndexRebuilding, catalog.ErrUnavailable)} {
		if a := st.OutageAttr(err); !a.Equal(slog.Attr{}) {
			t.Errorf("OutageAttr(%v) = %v, want none", err, a)
		}
	}
	var none *store.Store
	if a := none.OutageAttr(unavailable); !a.Equal(slog.Attr{}) {
		t.Errorf("a nil store's OutageAttr = %v, want none", a)
	}
}
