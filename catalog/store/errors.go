package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
)

// This file translates what the driver returns into the error kinds of
// package catalog, at the store's boundary: every error the pool, its rows
// and its batches return passes through it.

// translate maps driver errors to catalog error kinds: an outage is
// catalog.ErrUnavailable, no row catalog.ErrNotFound, a unique key taken
// catalog.ErrConflict, a value the database refuses catalog.ErrInvalid.
func translate(err error) error {
	if err := Unavailable(err); errors.Is(err, catalog.ErrUnavailable) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", pgErr.Message, catalog.ErrConflict)
		case "22P02", "22001", "23502", "23514": // bad text representation, too long, not null, check
			return fmt.Errorf("%s: %w", pgErr.Message, catalog.ErrInvalid)
		case "22021": // a NUL byte or invalid UTF-8 in text; the server's message names the encoding
			return fmt.Errorf("text contains a NUL character or is not valid UTF-8: %w", catalog.ErrInvalid)
		case "54000": // a value too large to index
			return fmt.Errorf("%s: %w", pgErr.Message, catalog.ErrInvalid)
		}
	}
	return err
}

// unreachable reports whether err says that the database cannot be
// reached or will not serve: a failed connection attempt, a connection
// lost or closed under a query, a network error, or the server's own
// word (SQLSTATE class 08, connection exception; 57P01 to 57P03, the
// server shutting down or not accepting connections yet).
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pe.Code {
		case "57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
		return strings.HasPrefix(pe.Code, "08")
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	// A connection the server closed mid-answer.
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Unavailable returns err marked catalog.ErrUnavailable when it says the
// catalog database cannot be reached (see unreachable), and err as it is
// otherwise. The store applies it (through translate) to everything its
// pool returns; it is exported for the few callers that use the pool
// directly, such as the readiness check.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, catalog.ErrUnavailable) || !unreachable(err) {
		return err
	}
	return fmt.Errorf("catalog database %w: %w", catalog.ErrUnavailable, err)
}

// db is the pool as the store uses it: every error that it, its rows and
// its batches return is passed through translate, whichever store method
// met it, so that an outage answers 503 and a value the database refuses
// 400, rather than 500, without each method having to say so. What a
// transaction returns is translated by the method that opened it.
type db struct {
	*pgxpool.Pool
	// read is the read replica's pool (SetReadReplica), which plain reads
	// made with a context marked by FromReplica use; nil: none.
	read *pgxpool.Pool
}

// reader is the pool a plain read made with ctx uses.
func (d db) reader(ctx context.Context) *pgxpool.Pool {
	if d.read != nil && ctx.Value(replicaKey{}) != nil {
		return d.read
	}
	return d.Pool
}

// Exec is pgxpool.Pool.Exec.
func (d db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := d.Pool.Exec(ctx, sql, args...)
	return tag, translate(err)
}

// Query is pgxpool.Pool.Query.
func (d db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := d.reader(ctx).Query(ctx, sql, args...)
	if err != nil {
		return r, translate(err)
	}
	return rows{r}, nil
}

// QueryRow is pgxpool.Pool.QueryRow.
func (d db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return row{d.reader(ctx).QueryRow(ctx, sql, args...)}
}

// SendBatch is pgxpool.Pool.SendBatch.
func (d db) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return batchResults{d.reader(ctx).SendBatch(ctx, b)}
}

// Begin is pgxpool.Pool.Begin.
func (d db) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := d.Pool.Begin(ctx)
	return tx, translate(err)
}

// Acquire is pgxpool.Pool.Acquire.
func (d db) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := d.Pool.Acquire(ctx)
	return c, translate(err)
}

type rows struct{ pgx.Rows }

func (r rows) Err() error { return translate(r.Rows.Err()) }

type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error { return translate(r.Row.Scan(dest...)) }

type batchResults struct{ pgx.BatchResults }

func (b batchResults) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, translate(err)
}

func (b batchResults) Query() (pgx.Rows, error) {
	r, err := b.BatchResults.Query()
	if err != nil {
		return r, translate(err)
	}
	return rows{r}, nil
}

func (b batchResults) QueryRow() pgx.Row { return row{b.BatchResults.QueryRow()} }

func (b batchResults) Close() error { return translate(b.BatchResults.Close()) }

// Transient reports whether err may go away if the same work is tried
// again: the connection failed or timed out, the server is starting,
// stopping or out of connections, or the transaction lost a serialization
// failure or a deadlock. Any other error would fail again.
func Transient(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"40", // transaction rollback: serialization failure, deadlock
			"53", // insufficient resources: too many connections, out of memory or disk
			"57": // operator intervention: shutdown, cancelled, cannot connect now
			return true
		}
		return false
	}
	var netErr net.Error
	return pgconn.Timeout(err) || pgconn.SafeToRetry(err) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
