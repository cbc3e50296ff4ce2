package catalog

import (
	"strings"
	"testing"
)

func TestLocationKey(t *testing.T) {
	for loc, want := range map[string]Key{
		"file:///data/lake/orders/":                           {Namespace: "file", Name: "/data/lake/orders"},
		"file:/data/lake/orders":                              {Namespace: "file", Name: "/data/lake/orders"},
		"/data/lake/orders":                                   {Namespace: "file", Name: "/data/lake/orders"},
		"file:///tmp/my%20table":                              {Namespace: "file", Name: "/tmp/my table"},
		"s3://bucket/warehouse/orders/":                       {Namespace: "s3://bucket", Name: "warehouse/orders"},
		"s3a://bucket/warehouse/orders":                       {Namespace: "s3://bucket", Name: "warehouse/orders"},
		"s3://bucket":                                         {Namespace: "s3://bucket", Name: "/"},
		"gs://bucket/t":                                       {Namespace: "gs://bucket", Name: "t"},
		"abfss://lake@acct.dfs.core.windows.net/silver/t/":    {Namespace: "abfss://lake@acct.dfs.core.windows.net", Name: "silver/t"},
		"abfs://lake@acct.dfs.core.windows.net/silver/t":      {Namespace: "abfss://lake@acct.dfs.core.windows.net", Name: "silver/t"},
		"wasbs://lake@acct.blob.core.windows.net/t":           {Namespace: "wasbs://lake@acct.blob.core.windows.net", Name: "t"},
		"hdfs://namenode:8020/warehouse/t":                    {Namespace: "hdfs://namenode:8020", Name: "/warehouse/t"},
		"dbfs:/user/hive/warehouse/t":                         {Namespace: "dbfs", Name: "/user/hive/warehouse/t"},
		"s3://bucket/__unitystorage/catalogs/724a/tables/9f1": {Namespace: "s3://bucket", Name: "__unitystorage/catalogs/724a/tables/9f1"},
	} {
		got, err := LocationKey(loc)
		if err != nil || got != want {
			t.Errorf("LocationKey(%q) = %v, %v; want %v", loc, got, err, want)
		}
	}
	for _, bad := range []string{"relative/path", "s3:///no-bucket", "mailto:x@y", "%zz"} {
		if k, err := LocationKey(bad); err == nil {
			t.Errorf("LocationKey(%q) = %v, want an error", bad, k)
		}
	}
}

// FuzzLocationKey: a location that is accepted has a key with a namespace
// and a name, neither ending in '/' unless it is "/".
func FuzzLocationKey(f *testing.F) {
	for _, s := range []string{"file:///a/b/", "s3://bucket/k/", "abfss://c@a.dfs.core.windows.net/p", "dbfs:/x", "/abs", "rel", "s3a://b", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		k, err := LocationKey(loc)
		if err != nil {
			return
		}
		if k.Namespace == "" || k.Name == "" || (k.Name != "/" && strings.HasSuffix(k.Name, "/")) {
			t.Errorf("LocationKey(%q) = %v", loc, k)
		}
	})
}
