package search_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/search"
)

const ns = "postgres://db.example:5432"

func key(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: name} }

func shop() []catalog.DatasetFacts {
	return []catalog.DatasetFacts{
		{
			Key: key("shop.public.customers"), Platform: "postgres", Kind: catalog.KindTable,
			Description: "One row per customer.",
			Columns: []catalog.Column{
				{Name: "id", Ordinal: 1, Type: "bigint"},
				{Name: "customer_email", Ordinal: 2, Type: "text", Description: "PII: email address"},
			},
			Owners: []catalog.Owner{{Name: "shop_owner", Kind: catalog.OwnerRole}},
			Tags:   []string{"pii"},
		},
		{
			Key: key("shop.public.orders"), Platform: "postgres", Kind: catalog.KindTable,
			Columns:     []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}, {Name: "customer_id", Ordinal: 2, Type: "bigint"}},
			ForeignKeys: []catalog.ForeignKey{{Name: "orders_customer_fk", Columns: []string{"customer_id"}, Target: key("shop.public.customers"), TargetCol: []string{"id"}}},
		},
	}
}

func crawl(t *testing.T, st *store.Store, source string, ds ...catalog.DatasetFacts) {
	t.Helper()
	_, err := st.Crawl(t.Context(), source, func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: ds, Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop."}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// names runs a query and returns the names of the hits.
func names(t *testing.T, x *search.Index, query string, removed bool) []string {
	t.Helper()
	q, err := search.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Search(t.Context(), search.Request{Query: q, IncludeRemoved: removed})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.Key.Name)
	}
	return out
}

func open(t *testing.T, dir string, st *store.Store) *search.Index {
	t.Helper()
	x, err := search.Open(t.Context(), dir, st, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func TestOpenCatchesUpAndRebuilds(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	crawl(t, st, "postgres:shop", shop()...)
	dir := filepath.Join(t.TempDir(), "index")

	// A missing directory is built from the catalog.
	x := open(t, dir, st)
	if diff := cmp.Diff([]string{"shop.public.customers"}, names(t, x, "customer_email", false)); diff != "" {
		t.Errorf("after build (-want +got):\n%s", diff)
	}
	// The orders table has a consumer-less dataset pointing at customers.
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// Changes made while closed are caught up on open, without a rebuild.
	crawl(t, st, "postgres:shop", shop()[0]) // orders removed
	seqBefore, err := st.LastChangeSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	x = open(t, dir, st)
	if x.Seq() != seqBefore {
		t.Errorf("Seq = %d after open, want %d", x.Seq(), seqBefore)
	}
	if got := names(t, x, "orders", false); len(got) != 0 {
		t.Errorf("removed dataset found: %q", got)
	}
	if diff := cmp.Diff([]string{"shop.public.orders"}, names(t, x, "orders", true)); diff != "" {
		t.Errorf("removed dataset asked for (-want +got):\n%s", diff)
	}
	x.Close()

	// A corrupt directory is rebuilt.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte("garbage{"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A damaged directory is rebuilt in the background; searches say so
	// until it is (the change log locked, so that it waits).
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(t.Context()))
	if _, err := tx.Exec(t.Context(), "LOCK TABLE change_log IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	x = open(t, dir, st)
	if _, err := x.Search(t.Context(), search.Request{Query: search.Query{Words: []string{"customer_email"}}}); !errors.Is(err, search.ErrRebuilding) {
		t.Errorf("search while rebuilding: %v, want ErrRebuilding", err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := x.WaitFor(wctx, seqBefore); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shop.public.customers"}, names(t, x, "customer_email", false)); diff != "" {
		t.Errorf("after corrupt rebuild (-want +got):\n%s", diff)
	}

	// Rebuild replaces the index while it is open.
	if err := x.Rebuild(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shop.public.customers"}, names(t, x, "pii", false)); diff != "" {
		t.Errorf("after Rebuild (-want +got):\n%s", diff)
	}
}

// TestTwoReplicasFollowChanges runs two indexes, as two server processes
// would, on one database: both show a crawl's results within 2 seconds.
func TestTwoReplicasFollowChanges(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	ctx, cancel := context.WithCancel(t.Context())
	var xs []*search.Index
	done := make(chan error, 2)
	for i := range 2 {
		x := open(t, filepath.Join(t.TempDir(), "index", string(rune('a'+i))), st)
		xs = append(xs, x)
		go func() { done <- x.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range xs {
			<-done
		}
	})
	// Let both start listening; a change before that is caught up anyway.
	time.Sleep(100 * time.Millisecond)

	start := time.Now()
	crawl(t, st, "postgres:shop", shop()...)
	seq, err := st.LastChangeSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		wctx, wcancel := context.WithTimeout(t.Context(), 2*time.Second-time.Since(start))
		err := x.WaitFor(wctx, seq)
		wcancel()
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		if diff := cmp.Diff([]string{"shop.public.customers"}, names(t, x, "customer_email", false)); diff != "" {
			t.Errorf("replica %d (-want +got):\n%s", i, diff)
		}
	}
	t.Logf("both replicas in sync %v after the crawl began", time.Since(start))

	// A person's edit reaches both as well, past the cached result of the
	// same search before it. (A phrase: words alone would fall back to
	// datasets matching some of them.)
	for i, x := range xs {
		if got := names(t, x, `"webshop purchase"`, false); len(got) != 0 {
			t.Errorf("replica %d before edit: %q", i, got)
		}
	}
	orders, err := readDataset(t.Context(), st, key("shop.public.orders"))
	if err != nil {
		t.Fatal(err)
	}
	alice := catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}
	if _, err := st.SetDatasetDescription(t.Context(), alice, orders.ID, "Every webshop purchase."); err != nil {
		t.Fatal(err)
	}
	seq, err = st.LastChangeSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		wctx, wcancel := context.WithTimeout(t.Context(), 2*time.Second)
		err := x.WaitFor(wctx, seq)
		wcancel()
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		if diff := cmp.Diff([]string{"shop.public.orders"}, names(t, x, `"webshop purchase"`, false)); diff != "" {
			t.Errorf("replica %d after edit (-want +got):\n%s", i, diff)
		}
	}
}

// TestRunReconnects kills the listening connection: the index reconnects
// and keeps following changes.
func TestRunReconnects(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	x := open(t, filepath.Join(t.TempDir(), "index"), st)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(200 * time.Millisecond)
	var killed int
	if err := pool.QueryRow(t.Context(), `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listening connections, want 1", killed)
	}
	crawl(t, st, "postgres:shop", shop()...)
	seq, err := st.LastChangeSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer wcancel()
	if err := x.WaitFor(wctx, seq); err != nil {
		t.Fatal(err)
	}
}

// readDataset reads the dataset key as the portal and the API do: its id,
// then the dataset, then the foreign keys of other datasets that point at
// it. A key of no dataset is catalog.ErrNotFound.
func readDataset(ctx context.Context, st *store.Store, key catalog.Key) (catalog.Dataset, error) {
	ids, err := st.DatasetIDs(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	id, ok := ids[key]
	if !ok {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	ds, err := st.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return catalog.Dataset{}, err
	}
	if len(ds) == 0 {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	refs, err := st.ReferencedBy(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	ds[0].Referenced = refs[key]
	return ds[0], nil
}

// TestPopularityReachesTheIndex checks that a dataset's popularity, which
// the store recomputes without writing the change log, reaches a running
// index within a catch-up once a minute has passed, both ways (read, then
// read no more), and reaches an index reopened after it changed.
func TestPopularityReachesTheIndex(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	invoices := func(name string) catalog.DatasetFacts {
		return catalog.DatasetFacts{Key: key(name), Platform: "postgres", Kind: catalog.KindTable,
			Description: "Invoices sent to customers.", Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}}}
	}
	crawl(t, st, "postgres:shop", invoices("shop.a.invoices"), invoices("shop.b.invoices"))
	var offset atomic.Int64
	opts := search.Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }}
	dir := filepath.Join(t.TempDir(), "index")
	x, err := search.Open(t.Context(), dir, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { x.Close() }()
	datasets := func(x *search.Index) []string {
		var out []string
		for _, n := range names(t, x, "invoices", false) {
			if strings.HasPrefix(n, "shop.") {
				out = append(out, n)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"shop.a.invoices", "shop.b.invoices"}, datasets(x)); diff != "" {
		t.Fatalf("read by nobody (-want +got):\n%s", diff)
	}
	// A job reading b makes it popular: the crawl refreshes its score.
	reader := catalog.JobFacts{Key: catalog.JobKey{Namespace: "dbt", Name: "nightly_report"}, Type: "dbt",
		Inputs: []catalog.Key{key("shop.b.invoices")}}
	if _, err := st.Crawl(t.Context(), "dbt:report", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: []catalog.JobFacts{reader}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	catchUp := func() {
		t.Helper()
		offset.Add(int64(61 * time.Second))
		if err := x.CatchUp(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	catchUp()
	if diff := cmp.Diff([]string{"shop.b.invoices", "shop.a.invoices"}, datasets(x)); diff != "" {
		t.Errorf("b read by a job (-want +got):\n%s", diff)
	}
	// A look that finds only what the last one applied re-reads nothing
	// (b's score is within the overlap of the newest), and nor does an
	// index opened again: a catalog just ingested computes every
	// dataset's popularity at once, and each start would re-read them.
	reread := search.PopularReread(x)
	catchUp()
	if n := search.PopularReread(x) - reread; n != 0 {
		t.Errorf("a look with nothing new re-read %d documents, want 0", n)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if x, err = search.Open(t.Context(), dir, st, opts); err != nil {
		t.Fatal(err)
	}
	if n := search.PopularReread(x); n != 0 {
		t.Errorf("an index opened again re-read %d documents, want 0", n)
	}

	// Read no more: the score drops to zero, and the index learns it.
	ids, err := st.DatasetIDs(t.Context(), []catalog.Key{key("shop.b.invoices")})
	if err != nil {
		t.Fatal(err)
	}
	b := ids[key("shop.b.invoices")]
	other := catalog.JobFacts{Key: catalog.JobKey{Namespace: "dbt", Name: "weekly_report"}, Type: "dbt"}
	if _, err := st.Crawl(t.Context(), "dbt:report", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: []catalog.JobFacts{other}, Scopes: []catalog.Scope{{Namespace: "dbt"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.RefreshPopularity(t.Context(), []int64{b}); err != nil {
		t.Fatal(err)
	}
	catchUp()
	if diff := cmp.Diff([]string{"shop.a.invoices", "shop.b.invoices"}, datasets(x)); diff != "" {
		t.Errorf("b read no more (-want +got):\n%s", diff)
	}
	// Announced once, the zero score's row goes at the next refresh.
	if err := st.RefreshPopularity(t.Context(), []int64{b}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.PopularityComputedSince(t.Context(), time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("popularity rows after b was read no more, twice: %v, %v; want none", got, err)
	}

	// A change while the index is closed reaches it when it opens.
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(t.Context(), "dbt:report", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: []catalog.JobFacts{reader}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if x, err = search.Open(t.Context(), dir, st, opts); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shop.b.invoices", "shop.a.invoices"}, datasets(x)); diff != "" {
		t.Errorf("b read again while the index was closed (-want +got):\n%s", diff)
	}

	// A popularity time that does not read (damage) opens the index all
	// the same, reading every popularity again.
	if err := search.SetPopularityInternal(x, []byte("0001-01-0\xceT00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if x, err = search.Open(t.Context(), dir, st, opts); err != nil {
		t.Fatalf("open with a damaged popularity time: %v", err)
	}
	if n := search.PopularReread(x); n != 1 {
		t.Errorf("an index whose popularity time does not read re-read %d documents, want 1 (b)", n)
	}
}

// TestFacetsReadAtOpen checks that an index reads its segments' facet
// values once it is in place, built or opened, before any search asks:
// at a million datasets that read is a second the first search would
// otherwise wait.
func TestFacetsReadAtOpen(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	crawl(t, st, "postgres:shop", shop()...)
	dir := filepath.Join(t.TempDir(), "index")
	for _, when := range []string{"built", "opened"} {
		x := open(t, dir, st)
		deadline := time.Now().Add(10 * time.Second)
		for search.FacetSegmentsRead(x) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("index %s: no segment's facet values read 10 s after Open", when)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenAfterRestore: an index that followed a catalog further than a
// database restored from an older backup is rebuilt on open, rather than
// caught up from a sequence the restored change log reuses (which would
// skip the changes made since the restore). Two cases: the restored log
// holds a different change at the index's sequence, and it ends before.
func TestOpenAfterRestore(t *testing.T) {
	ctx := t.Context()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	dir := filepath.Join(t.TempDir(), "index")
	dataset := func(name string) catalog.DatasetFacts {
		return catalog.DatasetFacts{Key: key(name), Platform: "postgres", Kind: catalog.KindTable,
			Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}}}
	}
	last := func() int64 { return lastSeq(t, st) }
	restore := func(seq int64) { pgtest.RestoreChangeLog(t, pool, seq) }
	// reopen opens the index, waits for it to reach the catalog's last
	// change, and closes it; it returns the sequence the index applied.
	reopen := func() (int64, []string) {
		t.Helper()
		x, err := search.Open(ctx, dir, st, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := x.WaitFor(wctx, last()); err != nil {
			t.Fatal(err)
		}
		return x.Seq(), names(t, x, "refunds", false)
	}

	crawl(t, st, "postgres:shop", shop()...)
	backup := last()
	crawl(t, st, "postgres:shop", append(shop(), dataset("shop.public.invoices"))...)
	if seq, _ := reopen(); seq != last() || seq <= backup {
		t.Fatalf("index at %d, want the catalog's %d, past the backup's %d", seq, last(), backup)
	}

	// Restored to the backup, then a crawl: its change reuses a sequence
	// the index applied before the restore.
	restore(backup)
	crawl(t, st, "postgres:refunds", dataset("shop.public.refunds"))
	seq, found := reopen()
	if diff := cmp.Diff([]string{"shop.public.refunds"}, found); diff != "" {
		t.Errorf("a dataset crawled after the restore (-want +got):\n%s", diff)
	}
	if seq != last() {
		t.Errorf("index at %d, want the restored catalog's %d", seq, last())
	}

	// Restored again, to before the index's last change, and opened with
	// no change since: the index is rebuilt to the restored log's end.
	crawl(t, st, "postgres:shop", shop()...)
	if seq, _ := reopen(); seq != last() {
		t.Fatalf("index at %d, want %d", seq, last())
	}
	restore(backup)
	if seq, _ := reopen(); seq != backup {
		t.Errorf("index at %d after the restore, want the restored log's end %d", seq, backup)
	}
}

// TestRestoreUnderRunningIndex: a running index whose catalog is
// restored underneath it (a backup restored in place, or a failover to
// a standby that lagged) finds at its next catch-up that the change it
// applied last is gone or another, and rebuilds, rather than skipping the
// changes made under the sequences it had applied.
func TestRestoreUnderRunningIndex(t *testing.T) {
	ctx := t.Context()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	last := func() int64 { return lastSeq(t, st) }
	crawl(t, st, "postgres:shop", shop()...)
	backup := last()
	x := open(t, filepath.Join(t.TempDir(), "index"), st)
	refunds := catalog.DatasetFacts{Key: key("shop.public.refunds"), Platform: "postgres", Kind: catalog.KindTable}
	for _, step := range []struct {
		name   string
		change func()
	}{
		{"a different change at the sequence applied last", func() {
			crawl(t, st, "postgres:refunds", refunds)
		}},
		{"a log that ends before it", func() {}},
	} {
		t.Run(step.name, func(t *testing.T) {
			crawl(t, st, "postgres:shop", shop()[0])
			if err := x.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			applied := x.Seq()
			if applied <= backup {
				t.Fatalf("index at %d, want past the backup's %d", applied, backup)
			}
			pgtest.RestoreChangeLog(t, pool, backup)
			step.change()
			if err := x.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if err := x.WaitFor(wctx, last()); err != nil {
				t.Fatal(err)
			}
			if x.Seq() != last() {
				t.Errorf("index at %d, want the restored catalog's %d", x.Seq(), last())
			}
			if diff := cmp.Diff([]string{"shop.public.refunds"}, names(t, x, "refunds", false)); diff != "" {
				t.Errorf("refunds (-want +got):\n%s", diff)
			}
		})
	}
}

// lastSeq is the catalog's last change log sequence.
func lastSeq(t *testing.T, st *store.Store) int64 {
	t.Helper()
	seq, err := st.LastChangeSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}
