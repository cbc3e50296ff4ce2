package ui

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
)

// TestDatasetAnomalies shows, on the page of a dataset with ten weeks of
// daily loads and one ten times the usual size, that load in words in
// the health summary and in the Anomalies section, with the expected
// range and how it was learned; a dataset without history shows none.
func TestDatasetAnomalies(t *testing.T) {
	spike := now.Add(-3*24*time.Hour - time.Hour)
	p := newPortal(t, func(o *Options) {
		push := catalog.Push{Source: "sql:orders"}
		for d := 70; d >= 0; d-- {
			at := now.Add(-time.Duration(d)*24*time.Hour - time.Hour)
			rows := int64(1000 + 20*math.Sin(float64(d)*1.7))
			if at.Equal(spike) {
				rows *= 10
			}
			push.Metrics = append(push.Metrics, catalog.DatasetMetrics{Dataset: fctOrders, ObservedAt: at, Direction: catalog.MetricsWritten, RowCount: &rows, RunID: fmt.Sprint("m", d)})
		}
		if err := o.Store.ApplyPush(context.Background(), push); err != nil {
			t.Fatal(err)
		}
	})
	body := p.get(t, datasetPath(fctOrders)).body
	for _, want := range []string{
		`<a href="#anomaly-heading">Anomalies</a>: <span class="health-word">Needs attention</span> — 1 observation in the last 28 days, newest: Rows written above the expected range`,
		`<h2 id="anomaly-heading">Anomalies <span class="count">1</span></h2>`,
		`<strong>Rows written</strong> 9.8k, <span class="anomaly-side">above the expected range</span> 928 – 1.1k (most likely 1k), `,
		`<time datetime="` + spike.Format(time.RFC3339) + `"`,
		`Expected ranges: weekday-seasonal median/MAD baseline`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(p.get(t, datasetPath(fctOrders)).body, "<script>") {
		t.Error("inline script on the page")
	}
	for _, k := range []catalog.Key{dimCustomers} {
		if b := p.get(t, datasetPath(k)).body; strings.Contains(b, "anomaly-heading") {
			t.Errorf("%s without history shows anomalies", k)
		}
	}
}
