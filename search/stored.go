package search

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
)

// The stored value of a dataset is a compact binary record rather than
// JSON: every search decodes it for each of its first rerankWindow hits,
// and decoding JSON was a seventh of a query's time. Strings are
// length-prefixed (uvarint) and always valid UTF-8, numbers are varints;
// the layout is covered by mappingVersion.

func (s stored) encode() []byte {
	b := make([]byte, 0, 256)
	str := func(v string) {
		if !utf8.ValidString(v) {
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	strs := func(vs []string) {
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			str(v)
		}
	}
	b = binary.AppendVarint(b, s.ID)
	str(s.Namespace)
	str(s.Name)
	str(s.Platform)
	str(s.Kind)
	str(s.Description)
	strs(s.OtherDocs)
	b = binary.AppendUvarint(b, uint64(len(s.Columns)))
	for _, c := range s.Columns {
		str(c.Name)
		str(c.Description)
	}
	strs(s.Owners)
	strs(s.Tags)
	b = binary.AppendVarint(b, s.UpdatedAt)
	removed := uint64(0)
	if s.Removed {
		removed = 1
	}
	b = binary.AppendUvarint(b, removed)
	b = binary.AppendVarint(b, int64(s.Consumers))
	b = binary.AppendVarint(b, int64(s.Popularity))
	return b
}

var errStored = errors.New("search: stored dataset is corrupt")

// storedDecoder reads a stored record, remembering the first error.
type storedDecoder struct {
	b   []byte
	err error
}

func (d *storedDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = errStored, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *storedDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = errStored, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *storedDecoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = errStored, nil
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

// count reads a length, bounded by what is left so that a corrupt one
// cannot make a huge allocation.
func (d *storedDecoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = errStored, nil
		return 0
	}
	return int(n)
}

func (d *storedDecoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	vs := make([]string, n)
	for i := range vs {
		vs[i] = d.str()
	}
	return vs
}

// decodeStored reads the stored value of a hit; the strings it returns
// are copies, so b may be reused.
func decodeStored(b []byte) (stored, error) {
	d := storedDecoder{b: b}
	s := stored{
		ID: d.varint(), Namespace: d.str(), Name: d.str(), Platform: d.str(), Kind: d.str(),
		Description: d.str(), OtherDocs: d.strs(),
	}
	if n := d.count(); n > 0 {
		s.Columns = make([]storedColumn, n)
		for i := range s.Columns {
			s.Columns[i] = storedColumn{Name: d.str(), Description: d.str()}
		}
	}
	s.Owners = d.strs()
	s.Tags = d.strs()
	s.UpdatedAt = d.varint()
	s.Removed = d.uvarint() == 1
	s.Consumers = int(d.varint())
	s.Popularity = int(d.varint())
	if d.err == nil && len(d.b) > 0 {
		d.err = errStored
	}
	if d.err != nil {
		return stored{}, fmt.Errorf("read dataset %d: %w", s.ID, d.err)
	}
	return s, nil
}

// loadStored reads the stored records of hits from the index's current
// snapshot, by document ID; a document no longer in it is left out. It
// looks all of them up at once, one dictionary of IDs a segment, where
// bleve's own field loading looks up each hit alone in every segment: a
// third of an uncached search's allocations at 100,000 datasets went to
// opening those dictionaries.
func (x *Index) loadStored(hits search.DocumentMatchCollection) (map[string]stored, error) {
	out := make(map[string]stored, len(hits))
	if len(hits) == 0 {
		return out, nil
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	ok, err := x.withSnapshot(func(snap *scorch.IndexSnapshot) error {
		for _, ss := range snap.Segments() {
			if err := readStored(ss, ids, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && !ok {
		err = errors.New("search index is not a scorch index")
	}
	return out, err
}

// readStored adds to out the records of the documents ids that are live in
// the segment ss.
func readStored(ss *scorch.SegmentSnapshot, ids []string, out map[string]stored) error {
	nums, err := ss.DocNumbers(ids)
	if err != nil {
		return err
	}
	for it := nums.Iterator(); it.HasNext(); {
		num := uint64(it.Next())
		id, err := ss.DocID(num)
		if err != nil {
			return err
		}
		var (
			s    stored
			derr error
		)
		err = ss.VisitDocument(num, func(field string, _ byte, val []byte, _ []uint64) bool {
			if field != fSrc {
				return true
			}
			s, derr = decodeStored(val)
			return false
		})
		if err = cmp.Or(err, derr); err != nil {
			return err
		}
		out[string(id)] = s
	}
	return nil
}
