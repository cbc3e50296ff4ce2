package search

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
)

// boltFile writes a bbolt file with what checkBolt must walk: nested and
// inline buckets, branch pages, overflow pages and free pages.
func boltFile(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.bolt")
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{PageSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		top, err := tx.CreateBucket([]byte("snapshots"))
		if err != nil {
			return err
		}
		for i := range 300 { // several leaves under a branch
			if err := top.Put(fmt.Appendf(nil, "key%04d", i), bytes.Repeat([]byte{byte(i)}, 40)); err != nil {
				return err
			}
		}
		if err := top.Put([]byte("big"), bytes.Repeat([]byte("x"), 10000)); err != nil { // overflow pages
			return err
		}
		for i := range 5 {
			b, err := top.CreateBucket(fmt.Appendf(nil, "nested%d", i))
			if err != nil {
				return err
			}
			if err := b.Put([]byte("path"), fmt.Appendf(nil, "%012d.zap", i)); err != nil { // inline bucket
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = db.Update(func(tx *bbolt.Tx) error { // frees pages
			top := tx.Bucket([]byte("snapshots"))
			for i := range 100 {
				if err := top.Delete(fmt.Appendf(nil, "key%04d", i)); err != nil {
					return err
				}
			}
			return top.DeleteBucket([]byte("nested0"))
		})
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// useBolt does with a bbolt file what bleve does: it reads every key of
// every bucket, then writes, using the freelist.
func useBolt(path string) error {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockWait, NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	var walk func(b *bbolt.Bucket) error
	walk = func(b *bbolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(b.Bucket(k))
			}
			return nil
		})
	}
	err = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error { return walk(b) })
	})
	if err != nil {
		return err
	}
	return db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("snapshots"))
		if err != nil {
			return err
		}
		if err := b.Delete([]byte("big")); err != nil {
			return err
		}
		return b.Put([]byte("new"), bytes.Repeat([]byte("y"), 9000))
	})
}

// TestCheckBolt damages a bbolt file a byte at a time: whenever checkBolt
// accepts the file, bbolt must read and write it without a panic or a
// fault. (Accepting every file, bbolt panicked, faulted or looped for
// good freeing pages of a damaged freelist.)
func TestCheckBolt(t *testing.T) {
	b := boltFile(t)
	if err := boltCheck(b); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "damaged.bolt")
	// Bytes spread over the data, and over the zeros (empty pages, the
	// high bytes of small numbers).
	var data, zeros, offs []int
	for i, c := range b {
		if c != 0 {
			data = append(data, i)
		} else {
			zeros = append(zeros, i)
		}
	}
	for i := range 1500 {
		offs = append(offs, data[i*len(data)/1500])
	}
	for i := range 300 {
		offs = append(offs, zeros[i*len(zeros)/300])
	}
	for p := 0; p < len(b); p += 4096 { // page headers and first elements
		for i := range 32 {
			offs = append(offs, p+i)
		}
	}
	accepted, refused := 0, 0
	for _, off := range offs {
		for _, mask := range []byte{0xFF, 0x01} {
			d := bytes.Clone(b)
			d[off] ^= mask
			var err error
			if perr := guard(func() error { err = boltCheck(d); return nil }); perr != nil {
				t.Fatalf("byte %d ^ %#x: checkBolt: %v", off, mask, perr)
			}
			if err != nil {
				refused++
				continue
			}
			accepted++
			if err := os.WriteFile(path, d, 0o600); err != nil {
				t.Fatal(err)
			}
			if perr := guard(func() error { _ = useBolt(path); return nil }); perr != nil {
				t.Errorf("byte %d ^ %#x: accepted, and bbolt then panicked: %v", off, mask, perr)
			}
		}
	}
	t.Logf("%d bytes: %d damaged files refused, %d accepted and used", len(b), refused, accepted)
}
