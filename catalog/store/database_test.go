package store_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

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
}
