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
// otherwise. The store applies it to everything its pool returns; it is
// exported for the few callers that use the pool directly, such as the
// readiness check.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, catalog.ErrUnavailable) || !unreachable(err) {
		return err
	}
	return fmt.Errorf("catalog database %w: %w", catalog.ErrUnavailable, err)
}

// db is the pool as the store uses it: every error that it, its rows and
// its batches return is passed through Unavailable, whichever store method
// met it, so that an outage answers 503 rather than 500 without each
// method having to say so.
type db struct{ *pgxpool.Pool }

// Exec is pgxpool.Pool.Exec.
func (d db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := d.Pool.Exec(ctx, sql, args...)
	return tag, Unavailable(err)
}

// Query is pgxpool.Pool.Query.
func (d db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := d.Pool.Query(ctx, sql, args...)
	if err != nil {
		return r, Unavailable(err)
	}
	return rows{r}, nil
}

// QueryRow is pgxpool.Pool.QueryRow.
func (d db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return row{d.Pool.QueryRow(ctx, sql, args...)}
}

// SendBatch is pgxpool.Pool.SendBatch.
func (d db) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return batchResults{d.Pool.SendBatch(ctx, b)}
}

// Begin is pgxpool.Pool.Begin.
func (d db) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := d.Pool.Begin(ctx)
	return tx, Unavailable(err)
}

// Acquire is pgxpool.Pool.Acquire.
func (d db) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := d.Pool.Acquire(ctx)
	return c, Unavailable(err)
}

type rows struct{ pgx.Rows }

func (r rows) Err() error { return Unavailable(r.Rows.Err()) }

type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error { return Unavailable(r.Row.Scan(dest...)) }

type batchResults struct{ pgx.BatchResults }

func (b batchResults) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, Unavailable(err)
}

func (b batchResults) Query() (pgx.Rows, error) {
	r, err := b.BatchResults.Query()
	if err != nil {
		return r, Unavailable(err)
	}
	return rows{r}, nil
}

func (b batchResults) QueryRow() pgx.Row { return row{b.BatchResults.QueryRow()} }

func (b batchResults) Close() error { return Unavailable(b.BatchResults.Close()) }
