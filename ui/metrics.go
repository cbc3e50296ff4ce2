package ui

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog/store"
)

// catalogCollector exports what the catalog holds, read from the store at
// each scrape, so that a dashboard shows the catalog growing or a source
// that stopped reporting.
type catalogCollector struct {
	store *store.Store
}

var (
	descDatasets = prometheus.NewDesc("almanac_catalog_datasets",
		"Datasets in the catalog, live or removed.", []string{"state"}, nil)
	descColumns = prometheus.NewDesc("almanac_catalog_columns",
		"Distinct columns of all datasets in the catalog.", nil, nil)
	descNamespaces = prometheus.NewDesc("almanac_catalog_namespaces",
		"Namespaces in the catalog.", nil, nil)
	descSources = prometheus.NewDesc("almanac_catalog_sources",
		"Sources configured or seen in crawl runs.", nil, nil)
	descFailedEvents = prometheus.NewDesc("almanac_openlineage_failed_events",
		"Stored OpenLineage events the catalog could not apply (see openlineage_events.error).", nil, nil)
)

// scrapeTimeout bounds the store query of one scrape.
const scrapeTimeout = 5 * time.Second

// Describe implements prometheus.Collector.
func (c *catalogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDatasets
	ch <- descColumns
	ch <- descNamespaces
	ch <- descSources
	ch <- descFailedEvents
}

// Collect implements prometheus.Collector.
func (c *catalogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := c.store.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descDatasets, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(descDatasets, prometheus.GaugeValue, float64(st.Datasets), "live")
	ch <- prometheus.MustNewConstMetric(descDatasets, prometheus.GaugeValue, float64(st.Removed), "removed")
	ch <- prometheus.MustNewConstMetric(descColumns, prometheus.GaugeValue, float64(st.Columns))
	ch <- prometheus.MustNewConstMetric(descNamespaces, prometheus.GaugeValue, float64(st.Namespaces))
	ch <- prometheus.MustNewConstMetric(descSources, prometheus.GaugeValue, float64(st.Sources))
	if n, err := c.store.FailedEvents(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(descFailedEvents, err)
	} else {
		ch <- prometheus.MustNewConstMetric(descFailedEvents, prometheus.GaugeValue, float64(n))
	}
}
