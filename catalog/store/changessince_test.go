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
