package search

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestEachPage checks the read-ahead of a build's catalog reads: every
// value once and in order however the reads finish, the first error of a
// read or of f returned, the readers stopped when eachPage returns, and a
// read stopped by the caller's context not taken for the end of the
// catalog.
func TestEachPage(t *testing.T) {
	const total, size = 10, 3
	var loads atomic.Int64
	ids := func(ctx context.Context, after int64, limit int) ([]int64, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var out []int64
		for id := after + 1; id <= min(after+size, total); id++ {
			out = append(out, id)
		}
		return out, nil
	}
	load := func(ctx context.Context, ids []int64) ([]Dataset, error) {
		loads.Add(1)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Earlier pages take longer: they finish after later ones.
		time.Sleep(time.Duration(total-ids[0]) * time.Millisecond)
		var page []Dataset
		for _, id := range ids {
			page = append(page, Dataset{ID: id})
		}
		return page, nil
	}
	ctx := context.Background()

	var got []int64
	if err := eachPage(ctx, ids, load, func(d Dataset) error { got = append(got, d.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	stop := errors.New("stop")
	loads.Store(0)
	err := eachPage(ctx, ids, load, func(d Dataset) error {
		if d.ID == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("f failing: got %v, want %v", err, stop)
	}
	// The first page and what was read ahead of it (as many as the
	// readers, and as many waiting for f); none once it returned.
	n := loads.Load()
	if limit := int64(1 + 2*pageReaders); n > limit {
		t.Errorf("f failing on the first page: %d reads, want at most %d", n, limit)
	}
	time.Sleep(20 * time.Millisecond)
	if after := loads.Load(); after != n {
		t.Errorf("%d reads after eachPage returned", after-n)
	}

	broken := errors.New("broken")
	err = eachPage(ctx, ids, func(ctx context.Context, ids []int64) ([]Dataset, error) {
		if ids[0] > 3 {
			return nil, broken
		}
		return load(ctx, ids)
	}, func(Dataset) error { return nil })
	if !errors.Is(err, broken) {
		t.Errorf("read failing: got %v, want %v", err, broken)
	}
	err = eachPage(ctx, func(ctx context.Context, after int64, limit int) ([]int64, error) {
		if after >= 6 {
			return nil, broken
		}
		return ids(ctx, after, limit)
	}, load, func(Dataset) error { return nil })
	if !errors.Is(err, broken) {
		t.Errorf("listing failing: got %v, want %v", err, broken)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got = nil
	err = eachPage(cctx, ids, load, func(d Dataset) error {
		got = append(got, d.ID)
		if d.ID == 4 {
			cancel()
		}
		return nil
	})
	if err == nil {
		t.Errorf("context ended after %v: no error, as if the catalog ended there", got)
	}
}
