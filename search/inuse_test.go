package search

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestInUseIsNotDamage opens an index that is open already, as a second
// server on the same directory would: that must fail as in use, never be
// taken for damage (which would move the other server's index aside).
func TestInUseIsNotDamage(t *testing.T) {
	defer func(d time.Duration) { lockWait = d }(lockWait)
	lockWait = 100 * time.Millisecond
	dir := filepath.Join(t.TempDir(), "index")
	x, err := Build(dir, func(yield func(Dataset) error) error { return yield(corpus()[0]) }, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := openChecked(dir); !errors.Is(err, errInUse) || errors.Is(err, errDamaged) {
		t.Errorf("open of an index in use: %v, want errInUse", err)
	}
	if err := checkNotInUse(dir); !errors.Is(err, errInUse) {
		t.Errorf("checkNotInUse of an index in use: %v, want errInUse", err)
	}
	x.Close()
	idx, _, err := openChecked(dir)
	if err != nil {
		t.Fatalf("open once closed: %v", err)
	}
	idx.Close()
	if err := checkNotInUse(dir); err != nil {
		t.Errorf("checkNotInUse once closed: %v", err)
	}
}
