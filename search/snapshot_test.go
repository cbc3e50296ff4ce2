package search

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
)

// TestDamagedNewestSnapshot damages the segments that only the newest
// snapshot in root.bolt uses, in an index that still lists an older
// snapshot, as scorch's does for a while after every change. Scorch skips
// a snapshot it cannot load and loads the one before it, whose segments
// are intact: Open must find the damage all the same, not serve an older
// state of the index.
func TestDamagedNewestSnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	idx, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, map[string]any{"numSnapshotsToKeep": 10})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range corpus()[:2] {
		w := newBatchWriter(idx)
		w.seg, w.vocab = defaultLexicon().seg, newVocabulary().encode()
		if err := w.add(d); err != nil {
			t.Fatal(err)
		}
		if err := w.flushSeq(int64(i + 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Close(); err != nil {
		t.Fatal(err)
	}
	snaps, err := snapshotSegments(filepath.Join(dir, "store", "root.bolt"))
	if err != nil {
		t.Fatal(err)
	}
	// The newest snapshot that uses other segments than the newest.
	var older []string
	for _, s := range snaps[1:] {
		if !slices.Equal(s, snaps[0]) {
			older = s
			break
		}
	}
	if older == nil {
		t.Fatalf("root.bolt lists snapshots %q, want one older than the newest", snaps)
	}
	damaged := 0
	for _, f := range snaps[0] {
		if slices.Contains(older, f) {
			continue
		}
		// The segment's version, before its checksum: scorch refuses it.
		path := filepath.Join(dir, "store", f)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-5] ^= 0xFF
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatalf("snapshots %q: the newest uses no segment of its own", snaps)
	}
	idx, _, err = openChecked(dir)
	if err == nil {
		idx.Close()
	}
	if !errors.Is(err, errDamaged) || !strings.Contains(err.Error(), "newest snapshot") {
		t.Errorf("open of an index whose newest snapshot is damaged: %v, want errDamaged saying so", err)
	}
}

// TestDamagedVocabulary damages the vocabulary an index keeps in
// root.bolt, whose values bbolt keeps no checksum of: an index whose
// queries would be split otherwise than its documents must be found
// damaged, not answer less than it should.
func TestDamagedVocabulary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := Build(dir, func(yield func(Dataset) error) error {
		for _, d := range corpus() {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	v := newVocabulary()
	for _, d := range corpus() {
		v.learn(d)
	}
	vocab := string(v.encode())
	// A word of the vocabulary, as encode writes it: word, count.
	var word []byte
	for line := range strings.Lines(vocab) {
		if w, _, ok := strings.Cut(line, " "); ok && len(w) >= 6 {
			word = []byte("\n" + line)
			break
		}
	}
	if word == nil {
		t.Fatalf("no word of 6 letters in the vocabulary %q", vocab)
	}
	path := filepath.Join(dir, "store", "root.bolt")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := bytes.Index(b, word); i >= 0; i = bytes.Index(b, word) {
		b[i+1] ^= 0x01 // one letter for another, in every snapshot's copy
		n++
	}
	if n == 0 {
		t.Fatalf("root.bolt holds no %q", word)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	idx, _, err := openChecked(dir)
	if err == nil {
		idx.Close()
	}
	if !errors.Is(err, errDamaged) || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("open of an index whose vocabulary is damaged: %v, want errDamaged saying so", err)
	}
}
