package postgres

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
)

// pg_total_relation_size opens a relation, its indexes and its TOAST table,
// building a relcache entry for each in a fresh backend: for ten thousand
// tables that is most of a crawl's time, all of it spent in the server. So a
// large crawl reads sizes on sizeWorkers connections of their own, in the
// crawl's snapshot (exported like pg_dump --jobs does), while its own
// connection reads columns, keys and view definitions.
const sizeWorkers = 2

// parallelSizes is how many relations to size make the workers worth their
// connections; fewer are sized on the crawl's own connection. A variable
// for tests.
var parallelSizes = 2000

const sizeQuery = `
	SELECT u.oid, pg_total_relation_size(u.oid)
	FROM unnest($1::oid[]) AS u(oid)`

// snapshotID is the shape of pg_export_snapshot's result, checked before it
// is spliced into SET TRANSACTION SNAPSHOT, which takes no parameters.
var snapshotID = regexp.MustCompile(`^[0-9A-F]+-[0-9A-F]+-[0-9]+$`)

// sizes are relation sizes by oid (nil where the relation is gone), and the
// relations whose size could not be read.
type sizes struct {
	values map[uint32]*int64
	failed map[uint32]error
}

// startSizes starts reading the sizes of oids and returns a function that
// waits for them. It may be called more than once. A worker that cannot
// connect or loses its connection leaves its share to the crawl's own
// connection.
func (r *reader) startSizes(ctx context.Context, oids []uint32) func() (sizes, error) {
	inline := func(oids []uint32) (sizes, error) {
		v, f, err := perRelation[*int64](ctx, r, sizeQuery, oids)
		return sizes{values: v, failed: f}, err
	}
	if len(oids) < parallelSizes || r.cfg == nil || !snapshotID.MatchString(r.snapshot) {
		return sync.OnceValues(func() (sizes, error) { return inline(oids) })
	}
	parts := slices.Collect(slices.Chunk(oids, (len(oids)+sizeWorkers-1)/sizeWorkers))
	results := make([]sizes, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() {
			results[i], errs[i] = r.workerSizes(ctx, part)
			if r.hooks.sizeWorkerDone != nil {
				r.hooks.sizeWorkerDone(errs[i])
			}
		})
	}
	return sync.OnceValues(func() (sizes, error) {
		wg.Wait()
		all := sizes{values: map[uint32]*int64{}, failed: map[uint32]error{}}
		for i, part := range parts {
			res := results[i]
			if errs[i] != nil {
				var err error
				if res, err = inline(part); err != nil {
					return sizes{}, err
				}
			}
			maps.Copy(all.values, res.values)
			maps.Copy(all.failed, res.failed)
		}
		return all, nil
	})
}

// workerSizes reads the sizes of oids on a connection of its own, in the
// crawl's snapshot.
func (r *reader) workerSizes(ctx context.Context, oids []uint32) (sizes, error) {
	conn, err := pgx.ConnectConfig(ctx, r.cfg)
	if err != nil {
		return sizes{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return sizes{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+r.snapshot+"'"); err != nil {
		return sizes{}, fmt.Errorf("import snapshot: %w", err)
	}
	if _, err := tx.Exec(ctx, "SELECT set_config('lock_timeout', $1, true)", lockTimeoutSetting()); err != nil {
		return sizes{}, err
	}
	w := &reader{tx: tx, red: r.red}
	v, f, err := perRelation[*int64](ctx, w, sizeQuery, oids)
	return sizes{values: v, failed: f}, err
}
