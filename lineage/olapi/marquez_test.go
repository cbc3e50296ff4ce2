package olapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/lineage"
	"almanac/lineage/olapi"
)

type graphJSON struct {
	Graph []struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Data    json.RawMessage `json:"data"`
		InEdges []struct {
			Origin      string `json:"origin"`
			Destination string `json:"destination"`
		} `json:"inEdges"`
		OutEdges []struct {
			Origin      string `json:"origin"`
			Destination string `json:"destination"`
		} `json:"outEdges"`
	} `json:"graph"`
}

func TestMarquezReads(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	for _, f := range fixtureFiles(t) {
		if strings.Contains(f, "airflow_compat") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e.post(t, "/api/v1/lineage", b)
		}
	}
	e.drain(t)
	fl := lineage.NewFollower(e.st, lineage.NewGraph(), nil)
	if err := fl.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	rd := olapi.NewReader(fl.Graph(), e.st)
	get := func(h http.Handler, query string) (int, graphJSON, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/lineage?"+query, nil))
		var g graphJSON
		json.Unmarshal(rec.Body.Bytes(), &g)
		return rec.Code, g, rec.Body.String()
	}
	code, g, body := get(rd.GetLineage(), "nodeId="+url.QueryEscape("dataset:bigquery:mock-project.test.upload_cp")+"&depth=1")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var got []string
	for _, n := range g.Graph {
		got = append(got, n.Type+" "+n.ID)
		for _, e := range n.OutEdges {
			got = append(got, "  "+e.Origin+" > "+e.Destination)
		}
	}
	slices.Sort(got)
	want := []string{
		"  dataset:bigquery:mock-project.test.upload > job:airflow:BQ.copy",
		"  dataset:bigquery:mock-project.test.upload_cp > job:airflow:BQ.download",
		"  job:airflow:BQ.copy > dataset:bigquery:mock-project.test.upload_cp",
		"  job:airflow:BQ.download > dataset:gs://mock-bucket:result.csv",
		"DATASET dataset:bigquery:mock-project.test.upload",
		"DATASET dataset:bigquery:mock-project.test.upload_cp",
		"DATASET dataset:gs://mock-bucket:result.csv",
		"JOB job:airflow:BQ.copy",
		"JOB job:airflow:BQ.download",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lineage (-want +got):\n%s", diff)
	}
	// A namespace with colons resolves; the default depth reaches the
	// whole chain.
	code, g, body = get(rd.GetLineage(), "nodeId="+url.QueryEscape("dataset:gs://mock-bucket:copied.csv"))
	if code != 200 || len(g.Graph) != 7 {
		t.Errorf("copied.csv at the default depth: %d, %d nodes, want 7: %s", code, len(g.Graph), body)
	}
	for _, q := range []string{"nodeId=job:airflow:BQ", "nodeId=dataset:x", "nodeId=" + url.QueryEscape("dataset:bigquery:mock-project.test.upload") + "&depth=-1"} {
		if code, _, body := get(rd.GetLineage(), q); code != 400 {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}
	if code, _, _ := get(rd.GetLineage(), "nodeId="+url.QueryEscape("dataset:bigquery:nope")); code != 404 {
		t.Errorf("unknown dataset: %d, want 404", code)
	}

	code, g, body = get(rd.GetColumnLineage(), "nodeId="+url.QueryEscape("datasetField:bigquery:mock-project.test.upload_cp:a"))
	if code != 200 {
		t.Fatalf("column lineage: %d %s", code, body)
	}
	got = nil
	for _, n := range g.Graph {
		got = append(got, n.ID)
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{
		"datasetField:bigquery:mock-project.test.upload:a",
		"datasetField:bigquery:mock-project.test.upload_cp:a",
		"datasetField:gs://mock-bucket:result.csv:a",
	}, got); diff != "" {
		t.Errorf("column lineage nodes (-want +got):\n%s", diff)
	}
	if !bytes.Contains([]byte(body), []byte(`"transformationType":"DIRECT/IDENTITY"`)) {
		t.Errorf("column lineage lacks transformation types: %s", body)
	}
}
