package delta

import (
	"testing"

	"almanac/catalog"
)

// TestStorageKeys: a table is keyed by its location as
// catalog.LocationKey names it, whatever characters its path holds.
func TestStorageKeys(t *testing.T) {
	s3 := &s3Storage{bucket: "lake"}
	for _, c := range []struct {
		st   storage
		dir  string
		want catalog.Key
	}{
		{localStorage{}, "/data/lake/orders", catalog.Key{Namespace: "file", Name: "/data/lake/orders"}},
		{localStorage{}, "/data/my table #1?%", catalog.Key{Namespace: "file", Name: "/data/my table #1?%"}},
		{s3, "warehouse/orders", catalog.Key{Namespace: "s3://lake", Name: "warehouse/orders"}},
		{s3, "raw/my table #1?%", catalog.Key{Namespace: "s3://lake", Name: "raw/my table #1?%"}},
	} {
		got, err := c.st.key(c.dir)
		if err != nil || got != c.want {
			t.Errorf("%T.key(%q) = %v, %v; want %v", c.st, c.dir, got, err, c.want)
		}
	}
}

// TestStorageResolve: a sidecar named by an absolute path or URI is read
// only from the table's own storage.
func TestStorageResolve(t *testing.T) {
	s3 := &s3Storage{bucket: "lake"}
	for _, c := range []struct {
		st   storage
		ref  string
		want string
		ok   bool
	}{
		{s3, "s3://lake/t/_delta_log/_sidecars/a.parquet", "t/_delta_log/_sidecars/a.parquet", true},
		{s3, "s3a://lake/t/_delta_log/_sidecars/a.parquet", "t/_delta_log/_sidecars/a.parquet", true},
		{s3, "s3://other/t/_delta_log/_sidecars/a.parquet", "", false},
		{s3, "/t/_delta_log/_sidecars/a.parquet", "", false},
		{localStorage{}, "/data/t/_delta_log/_sidecars/a.parquet", "/data/t/_delta_log/_sidecars/a.parquet", true},
		{localStorage{}, "file:///data/t/_delta_log/_sidecars/a.parquet", "/data/t/_delta_log/_sidecars/a.parquet", true},
		{localStorage{}, "s3://lake/t/a.parquet", "", false},
	} {
		got, ok := c.st.resolve(c.ref)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%T.resolve(%q) = %q, %v; want %q, %v", c.st, c.ref, got, ok, c.want, c.ok)
		}
	}
}
