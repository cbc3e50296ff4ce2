package search

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
)

// checkBolt checks the structure of a bbolt file (scorch's root.bolt, which
// lists the index's segments and holds its internal values) as bbolt's own
// Tx.Check would, but reading the file as plain bytes. bbolt follows the
// page ids and offsets it finds through unsafe pointers into its memory
// map, so a damaged page makes it fault, and bleve reads and writes
// root.bolt on goroutines of its own; Tx.Check too runs on one of its own.
//
// It checks that the meta page bbolt would use is valid; that every page
// reachable from it lies within the file and below the high water mark,
// is reached once, is a branch or a leaf, and holds its elements, whose
// keys are in order; and that the freelist names only pages below the
// high water mark that nothing reaches, and with them every page there.
// The values themselves (segment names, internal values) are bleve's
// and this package's to check.
func checkBolt(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", errDamaged, err)
	}
	if err := boltCheck(b); err != nil {
		return fmt.Errorf("%w: root.bolt: %w", errDamaged, err)
	}
	return nil
}

// The bbolt file format (go.etcd.io/bbolt/internal/common), in the byte
// order of the machine that wrote it.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltPageHeader   = 16 // id uint64, flags uint16, count uint16, overflow uint32
	boltElement      = 16 // branch: pos, ksize uint32, pgid uint64; leaf: flags, pos, ksize, vsize uint32
	boltMetaSize     = 64 // magic, version, page size, flags uint32; root bucket 2×uint64; freelist, pgid, txid, checksum uint64
	boltBucketHeader = 16 // root page uint64 (0: inline), sequence uint64
	boltBranch       = 0x01
	boltLeaf         = 0x02
	boltFreelist     = 0x10
	boltBucketLeaf   = 0x01 // a leaf element whose value is a bucket
	boltNoFreelist   = ^uint64(0)
	boltMaxDepth     = 64
)

var ne = binary.NativeEndian

// boltMeta is a meta page.
type boltMeta struct {
	pageSize             uint64
	root, freelist, pgid uint64
	txid                 uint64
	valid                bool
}

func readBoltMeta(b []byte, off uint64) boltMeta {
	if off+boltPageHeader+boltMetaSize > uint64(len(b)) {
		return boltMeta{}
	}
	d := b[off+boltPageHeader : off+boltPageHeader+boltMetaSize]
	h := fnv.New64a()
	h.Write(d[:56])
	return boltMeta{
		pageSize: uint64(ne.Uint32(d[8:])),
		root:     ne.Uint64(d[16:]),
		freelist: ne.Uint64(d[32:]),
		pgid:     ne.Uint64(d[40:]),
		txid:     ne.Uint64(d[48:]),
		valid:    ne.Uint32(d[0:]) == boltMagic && ne.Uint32(d[4:]) == boltVersion && ne.Uint64(d[56:]) == h.Sum64(),
	}
}

// boltCheck checks the bbolt file b.
func boltCheck(b []byte) error {
	// The page size as bbolt finds it: from the first meta page, else
	// from the second at any of the offsets it tries.
	m0 := readBoltMeta(b, 0)
	ps := m0.pageSize
	if !m0.valid {
		ps = 0
		for i := range 15 {
			pos := uint64(1024) << i
			if pos+1024 >= uint64(len(b)) {
				break
			}
			if m := readBoltMeta(b, pos); m.valid {
				ps = m.pageSize
				break
			}
		}
	}
	if ps < 1024 || ps > 1<<24 {
		return fmt.Errorf("no valid meta page")
	}
	// The meta page bbolt uses: the later one if valid, else the other.
	m0, m1 := readBoltMeta(b, 0), readBoltMeta(b, ps)
	if m1.txid > m0.txid {
		m0, m1 = m1, m0
	}
	m := m0
	if !m.valid {
		m = m1
	}
	if !m.valid {
		return fmt.Errorf("no valid meta page")
	}
	if m.pageSize != ps {
		return fmt.Errorf("meta page says pages are %d bytes, not %d", m.pageSize, ps)
	}
	c := &boltChecker{b: b, ps: ps, pgid: m.pgid, seen: map[uint64]bool{0: true, 1: true}}
	free := map[uint64]bool{}
	if m.freelist != boltNoFreelist {
		p, err := c.page(m.freelist)
		if err != nil {
			return fmt.Errorf("freelist: %w", err)
		}
		if f := ne.Uint16(p[8:]); f != boltFreelist {
			return fmt.Errorf("freelist page %d has flags %#x", m.freelist, f)
		}
		n, at := uint64(ne.Uint16(p[10:])), uint64(boltPageHeader)
		if n == 0xFFFF {
			n, at = ne.Uint64(p[boltPageHeader:]), boltPageHeader+8
		}
		if n > (uint64(len(p))-at)/8 {
			return fmt.Errorf("freelist page %d: %d ids do not fit", m.freelist, n)
		}
		for i := range n {
			id := ne.Uint64(p[at+8*i:])
			if id < 2 || id >= m.pgid || free[id] {
				return fmt.Errorf("freelist: page id %d out of range or repeated", id)
			}
			free[id] = true
		}
	}
	root, err := c.page(m.root)
	if err != nil {
		return fmt.Errorf("root bucket: %w", err)
	}
	if err := c.node(root, 0); err != nil {
		return err
	}
	if m.freelist != boltNoFreelist {
		for id := uint64(2); id < m.pgid; id++ {
			switch {
			case c.seen[id] && free[id]:
				return fmt.Errorf("page %d is both in use and free", id)
			case !c.seen[id] && !free[id]:
				return fmt.Errorf("page %d is neither in use nor free", id)
			}
		}
	}
	return nil
}

type boltChecker struct {
	b    []byte
	ps   uint64
	pgid uint64
	seen map[uint64]bool
}

// page returns the bytes of page id and its overflow pages, marking them
// reached.
func (c *boltChecker) page(id uint64) ([]byte, error) {
	if id < 2 || id >= c.pgid {
		return nil, fmt.Errorf("page id %d out of range [2, %d)", id, c.pgid)
	}
	off := id * c.ps
	if off+boltPageHeader > uint64(len(c.b)) {
		return nil, fmt.Errorf("page %d lies beyond the end of the file", id)
	}
	h := c.b[off:]
	if got := ne.Uint64(h); got != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	end := id + uint64(ne.Uint32(h[12:])) + 1
	if end > c.pgid || end*c.ps > uint64(len(c.b)) {
		return nil, fmt.Errorf("page %d overflows beyond the file", id)
	}
	for p := id; p < end; p++ {
		if c.seen[p] {
			return nil, fmt.Errorf("page %d is reached twice", p)
		}
		c.seen[p] = true
	}
	return c.b[off : end*c.ps], nil
}

// node checks a branch or leaf page p (maybe inline) and what it leads to.
func (c *boltChecker) node(p []byte, depth int) error {
	if depth > boltMaxDepth {
		return fmt.Errorf("buckets nested deeper than %d", boltMaxDepth)
	}
	if len(p) < boltPageHeader {
		return fmt.Errorf("page of %d bytes", len(p))
	}
	id, flags, count := ne.Uint64(p), ne.Uint16(p[8:]), uint64(ne.Uint16(p[10:]))
	if flags != boltBranch && flags != boltLeaf {
		return fmt.Errorf("page %d has flags %#x, not a branch or a leaf", id, flags)
	}
	if flags == boltBranch && count == 0 {
		return fmt.Errorf("branch page %d is empty", id)
	}
	if boltPageHeader+count*boltElement > uint64(len(p)) {
		return fmt.Errorf("page %d: %d elements do not fit", id, count)
	}
	var prev []byte
	for i := range count {
		at := boltPageHeader + i*boltElement
		e := p[at:]
		var key, val []byte
		var leafFlags uint32
		var child uint64
		if flags == boltBranch {
			pos, ksize := uint64(ne.Uint32(e)), uint64(ne.Uint32(e[4:]))
			if at+pos+ksize > uint64(len(p)) {
				return fmt.Errorf("page %d: key %d lies outside it", id, i)
			}
			key, child = p[at+pos:at+pos+ksize], ne.Uint64(e[8:])
		} else {
			leafFlags = ne.Uint32(e)
			pos, ksize, vsize := uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
			if at+pos+ksize+vsize > uint64(len(p)) {
				return fmt.Errorf("page %d: element %d lies outside it", id, i)
			}
			key, val = p[at+pos:at+pos+ksize], p[at+pos+ksize:at+pos+ksize+vsize]
		}
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return fmt.Errorf("page %d: keys out of order", id)
		}
		prev = key
		switch {
		case flags == boltBranch:
			cp, err := c.page(child)
			if err != nil {
				return err
			}
			if err := c.node(cp, depth+1); err != nil {
				return err
			}
		case leafFlags&boltBucketLeaf != 0:
			if err := c.bucket(val, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucket checks a bucket, the value of a leaf element: its root page, or
// the leaf inline after its header.
func (c *boltChecker) bucket(v []byte, depth int) error {
	if len(v) < boltBucketHeader {
		return fmt.Errorf("bucket header of %d bytes", len(v))
	}
	if root := ne.Uint64(v); root != 0 {
		p, err := c.page(root)
		if err != nil {
			return err
		}
		return c.node(p, depth)
	}
	inline := v[boltBucketHeader:]
	if len(inline) < boltPageHeader || ne.Uint16(inline[8:]) != boltLeaf {
		return fmt.Errorf("inline bucket is not a leaf")
	}
	return c.node(inline, depth)
}
