package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
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

// decodeStored reads the stored value of a hit.
func decodeStored(v any) (stored, error) {
	src, _ := v.(string)
	d := storedDecoder{b: []byte(src)}
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
