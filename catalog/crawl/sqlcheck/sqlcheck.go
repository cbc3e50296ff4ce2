// Package sqlcheck runs Almanac's own SQL checks: a query against a
// configured PostgreSQL or Redshift source that returns one number, judged
// against an expectation. Like a crawler it only produces catalog values
// (the check and its result); the caller records them.
//
// A check runs in a read-only transaction with a statement timeout, and
// reads at most two rows through a cursor, so that a check can neither
// write to the warehouse, nor run for long, nor pull a table across the
// network. Whatever goes wrong (no connection, a timeout, no row, two
// columns, text) is a result with status error and the reason, never a
// failure of the caller.
package sqlcheck

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"almanac/catalog"
)

// DefaultTimeout is a check's statement timeout when none is configured.
const DefaultTimeout = 30 * time.Second

// Check is one SQL check, as configured.
type Check struct {
	// Name is unique among the configured checks; the check's facts have
	// the provenance Source() and the check's name in it.
	Name    string
	Dataset catalog.Key
	Column  string
	// Type is the template ("not_null"…) or "sql".
	Type string
	// SQL is the query, Args its parameters.
	SQL  string
	Args []any
	// Expect is what the number must be.
	Expect   Expectation
	Severity string // error (the default) or warn
	// Timeout is the statement timeout; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Source is the provenance of the check's facts: "sql:<name>".
func (c Check) Source() string { return "sql:" + c.Name }

// QualityCheck returns the check as the catalog keeps it: its SQL as the
// definition, its expectation and parameters as properties.
func (c Check) QualityCheck() catalog.QualityCheck {
	props := map[string]string{"expect": c.Expect.String()}
	for i, a := range c.Args {
		props["$"+strconv.Itoa(i+1)] = fmt.Sprint(a)
	}
	return catalog.QualityCheck{Dataset: c.Dataset, Column: c.Column, Name: c.Name, Type: c.Type,
		Severity: c.Severity, Definition: c.SQL, Properties: props}
}

// Run runs c on the database at connURL and judges its number; history
// holds the observed values of its earlier results, newest first, for a
// relative expectation. runID identifies the run. The result's status is
// pass, fail (warn when the severity is warn) or error, with a message
// saying why.
func Run(ctx context.Context, connURL string, c Check, history []float64, runID string) catalog.QualityResult {
	start := time.Now()
	r := catalog.QualityResult{Check: c.Name, Dataset: c.Dataset, StartedAt: start.UTC(), RunID: runID}
	v, err := measure(ctx, connURL, c)
	r.Duration = time.Since(start)
	if err != nil {
		r.Status, r.Message = catalog.QualityError, err.Error()
		return r
	}
	r.Observed = fmtNum(v)
	ok, why := c.Expect.Judge(v, history)
	r.Message = why
	switch {
	case ok:
		r.Status = catalog.QualityPass
	case c.Severity == "warn":
		r.Status = catalog.QualityWarn
	default:
		r.Status = catalog.QualityFail
	}
	if c.Expect.Op == "=" && c.Expect.A == 0 && v == math.Trunc(v) && v >= 0 {
		// A count expected to be zero counts failing rows.
		n := int64(v)
		r.Failures = &n
	}
	return r
}

// measure runs the query and returns its one number.
func measure(ctx context.Context, connURL string, c Check) (float64, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// The statement timeout bounds the query; this bounds connecting and
	// a server that does not answer at all.
	ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(connURL)
	if err != nil {
		return 0, errors.New("invalid connection URL") // pgx's error may repeat the password
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "almanac-check"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("connect: %s", pgMessage(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("begin: %s", pgMessage(err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // nothing was written
	if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", strconv.FormatInt(timeout.Milliseconds(), 10)); err != nil {
		return 0, fmt.Errorf("set statement timeout: %s", pgMessage(err))
	}
	// A cursor, so that at most two rows leave the server however many
	// the query would return.
	query := strings.TrimRight(strings.TrimSpace(c.SQL), "; \t\n")
	if _, err := tx.Exec(ctx, "DECLARE almanac_check CURSOR FOR "+query, c.Args...); err != nil {
		return 0, queryError(err, timeout)
	}
	rows, err := tx.Query(ctx, "FETCH 2 FROM almanac_check")
	if err != nil {
		return 0, queryError(err, timeout)
	}
	defer rows.Close()
	var values [][]any
	for rows.Next() {
		vs, err := rows.Values()
		if err != nil {
			return 0, queryError(err, timeout)
		}
		values = append(values, vs)
	}
	// The query runs on the first FETCH: its errors come before its shape.
	if err := rows.Err(); err != nil {
		return 0, queryError(err, timeout)
	}
	if fields := rows.FieldDescriptions(); len(fields) != 1 {
		return 0, fmt.Errorf("the query returned %d columns, want one number", len(fields))
	}
	switch len(values) {
	case 0:
		return 0, errors.New("the query returned no row, want one number")
	case 1:
	default:
		return 0, errors.New("the query returned more than one row, want one number")
	}
	return number(values[0][0])
}

// number returns v, a value of the query's one column, as a float.
func number(v any) (float64, error) {
	switch n := v.(type) {
	case nil:
		return 0, errors.New("the query returned NULL, want a number")
	case int16:
		return float64(n), nil
	case int32:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case float32:
		return float64(n), nil
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return 0, fmt.Errorf("the query returned %v, want a number", n)
		}
		return n, nil
	case pgtype.Numeric:
		f, err := n.Float64Value()
		if err != nil || !f.Valid || n.NaN || n.InfinityModifier != pgtype.Finite {
			return 0, errors.New("the query returned a numeric that is not a finite number")
		}
		return f.Float64, nil
	case string:
		return 0, fmt.Errorf("the query returned text %.40q, want a number", n)
	}
	return 0, fmt.Errorf("the query returned a %T, want a number", v)
}

// queryError says what went wrong with the query, naming a timeout as
// such.
func queryError(err error, timeout time.Duration) error {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == "57014" {
		return fmt.Errorf("the query ran longer than its timeout of %s", timeout)
	}
	return fmt.Errorf("query: %s", pgMessage(err))
}

// pgMessage is the server's message of err, without pgx's wrapping.
func pgMessage(err error) string {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Message + " (SQLSTATE " + pe.Code + ")"
	}
	return err.Error()
}
