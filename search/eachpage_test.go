package search

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
)

// TestEachPage checks the read-ahead of a build's catalog reads: every
// value once and in order, the first error of a read or of f returned,
// the reader stopped when eachPage returns, and a read stopped by the
// caller's context not taken for the end of the catalog.
func TestEachPage(t *testing.T) {
	const total, size = 10, 3
	var calls atomic.Int64
	next := func(ctx context.Context, after int64) ([]Dataset, int64, error) {
		calls.Add(1)
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		var page []Dataset
		for id := after + 1; id <= min(after+size, total); id++ {
			page = append(page, Dataset{ID: id})
		}
		if len(page) == 0 {
			return nil, 0, nil
		}
		return page, page[len(page)-1].ID, nil
	}
	ctx := context.Background()

	var got []int64
	if err := eachPage(ctx, next, func(d Dataset) error { got = append(got, d.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	stop := errors.New("stop")
	calls.Store(0)
	err := eachPage(ctx, next, func(d Dataset) error {
		if d.ID == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("f failing: got %v, want %v", err, stop)
	}
	// The first page and at most one read ahead; none once it returned.
	if n := calls.Load(); n > 2 {
		t.Errorf("f failing on the first page: %d reads, want at most 2", n)
	}

	broken := errors.New("broken")
	err = eachPage(ctx, func(ctx context.Context, after int64) ([]Dataset, int64, error) {
		if after >= 3 {
			return nil, 0, broken
		}
		return next(ctx, after)
	}, func(Dataset) error { return nil })
	if !errors.Is(err, broken) {
		t.Errorf("read failing: got %v, want %v", err, broken)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got = nil
	err = eachPage(cctx, next, func(d Dataset) error {
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
