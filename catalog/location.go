package catalog

import (
	"fmt"
	"net/url"
	"strings"
)

// LocationKey returns the dataset key of a table stored at loc, a storage
// URI, as OpenLineage names file-system datasets (the Java client's
// FilesystemDatasetUtils, which its Spark integration uses for every table
// with a location). The Delta crawler keys the tables it finds with it, and
// the Unity Catalog crawler the tables it lists, so that both land on one
// dataset:
//
//   - local files (file:, or a bare absolute path): namespace "file", name
//     the absolute path;
//   - object stores (s3, s3a, s3n → s3; gs; wasbs; abfss, abfs → abfss):
//     namespace scheme://bucket (container@account for Azure), name the
//     object key without leading or trailing '/';
//   - anything else (hdfs, dbfs…): namespace scheme://authority (just the
//     scheme when there is none), name the path.
//
// A trailing '/' never counts, and an empty path is "/".
func LocationKey(loc string) (Key, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return Key{}, fmt.Errorf("storage location %q: %w", loc, err)
	}
	if u.Opaque != "" {
		return Key{}, fmt.Errorf("storage location %q: not a hierarchical URI", loc)
	}
	nonEmpty := func(p string) string {
		if p == "" {
			return "/"
		}
		return p
	}
	authority := u.Host
	if u.User != nil {
		authority = u.User.String() + "@" + u.Host
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "" && strings.HasPrefix(u.Path, "/"), scheme == "file":
		return Key{Namespace: "file", Name: nonEmpty(strings.TrimRight(u.Path, "/"))}, nil
	case scheme == "":
		return Key{}, fmt.Errorf("storage location %q: neither a URI nor an absolute path", loc)
	}
	// Object stores are named as OpenLineage names them: the bucket or
	// container in the namespace, the path without its leading slash;
	// s3a and s3n are s3, abfs is abfss.
	for _, store := range []struct{ prefix, ns string }{{"s3", "s3"}, {"gs", "gs"}, {"wasbs", "wasbs"}, {"abfs", "abfss"}} {
		if strings.HasPrefix(scheme, store.prefix) {
			if authority == "" {
				return Key{}, fmt.Errorf("storage location %q: no bucket", loc)
			}
			return Key{Namespace: store.ns + "://" + authority, Name: nonEmpty(strings.Trim(u.Path, "/"))}, nil
		}
	}
	ns := scheme
	if authority != "" {
		ns += "://" + authority
	}
	return Key{Namespace: ns, Name: nonEmpty(strings.TrimRight(u.Path, "/"))}, nil
}
