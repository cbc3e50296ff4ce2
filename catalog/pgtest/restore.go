package pgtest

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RestoreChangeLog leaves pool's change log as restoring a backup taken
// at seq would: the entries after seq gone, and its sequence handing their
// numbers out again. Each of positions, the table of a follower's
// position in the catalog (one row with a column seq, such as
// incident_detector), goes back to seq too. For tests of followers
// running while their catalog is restored underneath them.
func RestoreChangeLog(t testing.TB, pool *pgxpool.Pool, seq int64, positions ...string) {
	t.Helper()
	stmts := []string{`DELETE FROM change_log WHERE seq > $1`, `SELECT setval('change_log_seq_seq', $1)`}
	for _, table := range positions {
		stmts = append(stmts, `UPDATE `+pgx.Identifier{table}.Sanitize()+` SET seq = $1`)
	}
	for _, sql := range stmts {
		if _, err := pool.Exec(t.Context(), sql, seq); err != nil {
			t.Fatalf("pgtest: restore the change log to %d: %v", seq, err)
		}
	}
}
