package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
)

// A read replica (database.read_url): a PostgreSQL standby streaming from
// the primary. Plain reads made with a context marked by FromReplica go to
// it; everything else (Exec, transactions, reads with other contexts: the
// change log followers, crawls, authentication) goes to the primary. The
// portal marks the reads of GET requests, unless the same browser wrote
// something the replica has not replayed yet (see ui's readYourWrites).

type replicaKey struct{}

// FromReplica returns ctx marked so that the store's plain reads made with
// it go to the read replica, when the store has one. Only for read-only
// work: a statement that writes fails there.
func FromReplica(ctx context.Context) context.Context {
	return context.WithValue(ctx, replicaKey{}, true)
}

// SetReadReplica makes the store send the reads marked by FromReplica to
// pool. Call it before the store is used.
func (s *Store) SetReadReplica(pool *pgxpool.Pool) { s.pool.read = pool }

// HasReadReplica reports whether SetReadReplica gave the store one.
func (s *Store) HasReadReplica() bool { return s.pool.read != nil }

// WriteLSN returns the primary's current WAL position
// (pg_current_wal_lsn), as text: taken after a write committed, a replica
// that has replayed it has the write.
func (s *Store) WriteLSN(ctx context.Context) (string, error) {
	var lsn string
	if err := s.pool.Pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		return "", fmt.Errorf("read WAL position: %w", translate(err))
	}
	return lsn, nil
}

// ReplicaHas reports whether the read replica has replayed the WAL up to
// lsn (from WriteLSN): its pg_last_wal_replay_lsn is at or past it. A
// malformed lsn is never replayed.
func (s *Store) ReplicaHas(ctx context.Context, lsn string) (bool, error) {
	if s.pool.read == nil {
		return true, nil
	}
	var ok bool
	err := s.pool.read.QueryRow(ctx, `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, true)`, lsn).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("read replica's replay position: %w", translate(err))
	}
	return ok, nil
}

// ReplicaLag is how far the read replica is behind the primary: the WAL
// bytes it has not replayed, and the time since the last transaction it
// replayed was committed (which grows while the primary is idle too).
func (s *Store) ReplicaLag(ctx context.Context) (bytes int64, age time.Duration, err error) {
	if s.pool.read == nil {
		return 0, 0, nil
	}
	primary, err := s.WriteLSN(ctx)
	if err != nil {
		return 0, 0, err
	}
	var secs float64
	err = s.pool.read.QueryRow(ctx, `
		SELECT coalesce(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::bigint,
		       coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8`, primary).Scan(&bytes, &secs)
	if err != nil {
		return 0, 0, fmt.Errorf("read replica lag: %w", translate(err))
	}
	return max(bytes, 0), time.Duration(secs * float64(time.Second)), nil
}

// Database says which databases the store uses, for logs: the catalog's
// as user@host:port/name, then the read replica's after "read " when
// there is one; never a password. An error on a connection the server
// cut ("unexpected EOF") does not say which database it was.
func (s *Store) Database() string {
	where := func(p *pgxpool.Pool) string {
		c := p.Config().ConnConfig
		return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
	}
	out := where(s.pool.Pool)
	if s.pool.read != nil {
		out += " read " + where(s.pool.read)
	}
	return out
}

// OutageAttr is the log attribute naming the databases (Database) when
// err says the catalog database is unavailable, and an empty attribute,
// which slog leaves out, otherwise or when s is nil: what every handler
// adds to its log line of a failed request.
func (s *Store) OutageAttr(err error) slog.Attr {
	if s == nil || !errors.Is(err, catalog.ErrUnavailable) || errors.Is(err, catalog.ErrIndexRebuilding) {
		return slog.Attr{}
	}
	return slog.String("database", s.Database())
}
