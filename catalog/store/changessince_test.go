package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestChangesSince: the entries after a sequence, once the entry at it is
// found with its mark; ErrChangeLogDiverged when it is gone or another.
func TestChangesSince(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	all := threeChanges(t, st)
	seqs := func(cs []catalog.Change) []int64 {
		var out []int64
		for _, c := range cs {
			out = append(out, c.Seq)
		}
		return out
	}
	for _, tt := range []struct {
		name     string
		seq      int64
		mark     string
		limit    int
		want     []int64
		diverged bool
	}{
		{"from the start", 0, "", 10, seqs(all), false},
		{"after the first, its mark", all[0].Seq, all[0].Mark(), 10, seqs(all[1:]), false},
		{"after the first, no mark", all[0].Seq, "", 10, seqs(all[1:]), false},
		{"limited", all[0].Seq, all[0].Mark(), 1, seqs(all[1:2]), false},
		{"at the end", all[2].Seq, all[2].Mark(), 10, nil, false},
		{"another change at the sequence", all[1].Seq, all[0].Mark(), 10, nil, true},
		{"past the end of the log", all[2].Seq + 1, "", 10, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.ChangesSince(ctx, tt.seq, tt.mark, tt.limit)
			if diverged := errors.Is(err, store.ErrChangeLogDiverged); diverged != tt.diverged || (err != nil && !diverged) {
				t.Fatalf("err = %v, want diverged %v", err, tt.diverged)
			}
			if g := seqs(got); !slices.Equal(g, tt.want) {
				t.Errorf("sequences %v, want %v", g, tt.want)
			}
		})
	}

	// A sequence whose entry is gone, with later ones kept.
	if _, err := pool.Exec(ctx, `DELETE FROM change_log WHERE seq = $1`, all[1].Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ChangesSince(ctx, all[1].Seq, "", 10); !errors.Is(err, store.ErrChangeLogDiverged) {
		t.Errorf("entry gone: err = %v, want ErrChangeLogDiverged", err)
	}
}

// TestChangesResuming: a follower's position is read on from as it is
// while the log holds its change with its mark; otherwise from the
// position the catalog keeps for it, which is then the position returned.
func TestChangesResuming(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	all := threeChanges(t, st)
	stored := func(context.Context) (int64, error) { return all[0].Seq, nil }
	for _, tt := range []struct {
		name     string
		at, want store.Position
		first    int64 // the first change read, 0 for none
	}{
		{"its own change", store.Position{Seq: all[1].Seq, Mark: all[1].Mark()}, store.Position{Seq: all[1].Seq, Mark: all[1].Mark()}, all[2].Seq},
		{"no mark to check", store.Position{Seq: all[1].Seq}, store.Position{Seq: all[1].Seq}, all[2].Seq},
		{"at the end", store.Position{Seq: all[2].Seq, Mark: all[2].Mark()}, store.Position{Seq: all[2].Seq, Mark: all[2].Mark()}, 0},
		{"another change at its sequence", store.Position{Seq: all[2].Seq, Mark: all[0].Mark()}, store.Position{Seq: all[0].Seq}, all[1].Seq},
		{"past the end of the log", store.Position{Seq: all[2].Seq + 5, Mark: all[2].Mark()}, store.Position{Seq: all[0].Seq}, all[1].Seq},
	} {
		t.Run(tt.name, func(t *testing.T) {
			from, got, err := st.ChangesResuming(ctx, tt.at, 10, stored)
			if err != nil {
				t.Fatal(err)
			}
			if from != tt.want {
				t.Errorf("read after %+v, want %+v", from, tt.want)
			}
			var first int64
			if len(got) > 0 {
				first = got[0].Seq
			}
			if first != tt.first {
				t.Errorf("first change read %d, want %d", first, tt.first)
			}
		})
	}
	failed := errors.New("position unreadable")
	if _, _, err := st.ChangesResuming(ctx, store.Position{Seq: all[2].Seq, Mark: all[0].Mark()}, 10, func(context.Context) (int64, error) { return 0, failed }); !errors.Is(err, failed) {
		t.Errorf("stored position failing: err = %v, want it passed on", err)
	}
}

// threeChanges crawls a dataset at a time into st, and returns the three
// change log entries.
func threeChanges(t *testing.T, st *store.Store) []catalog.Change {
	t.Helper()
	ctx := context.Background()
	for _, names := range [][]string{{"s.a"}, {"s.a", "s.b"}, {"s.a", "s.b", "s.c"}} {
		var ds []catalog.DatasetFacts
		for _, n := range names {
			ds = append(ds, catalog.DatasetFacts{Key: key(n), Platform: "postgres", Kind: catalog.KindTable})
		}
		if _, err := st.Crawl(ctx, "postgres:s", func(context.Context) (catalog.Harvest, error) { return catalog.Harvest{Datasets: ds}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	all, err := st.Changes(ctx, 0, 100)
	if err != nil || len(all) != 3 {
		t.Fatalf("changes: %d %v, want 3", len(all), err)
	}
	return all
}
