package demo

import (
	"context"
	"fmt"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// edit makes the edits people would have made to a catalog in use, as
// the demo's user: a tag and a column description on fct_orders (its edit
// history and the provenance of its facts), and two past incidents of
// the replayed DAG, resolved, one with a post-incident review (the
// incident and team status pages' resolved lists, timeline and review).
// Build makes them once, in a fresh catalog.
func edit(ctx context.Context, st *store.Store, now time.Time, db string) error {
	key := func(name string) catalog.Key { return catalog.Key{Namespace: Namespace, Name: db + "." + name} }
	orders, items := key("marts.fct_orders"), key("marts.fct_order_items")
	ids, err := st.DatasetIDs(ctx, []catalog.Key{orders})
	if err != nil {
		return fmt.Errorf("demo edits: %w", err)
	}
	id, ok := ids[orders]
	if !ok {
		return fmt.Errorf("demo edits: the demo warehouse has no %s", orders.Name)
	}
	if _, err := st.AddTag(ctx, editor, id, "certified"); err != nil {
		return fmt.Errorf("demo edits: tag %s: %w", orders.Name, err)
	}
	if _, err := st.SetColumnDescription(ctx, editor, id, "sales_channel",
		"Where the order was placed: `web`, `app` or `marketplace`. Orders placed before the column was added have none; see the 2024 migration notes."); err != nil {
		return fmt.Errorf("demo edits: describe %s.sales_channel: %w", orders.Name, err)
	}

	// Past incidents, each resolved the next day: the order-items task's
	// failure (commerce-analytics') with a review, and the revenue
	// task's late start (finance-data's).
	past := []struct {
		inc        catalog.NewIncident
		resolution string
		review     *catalog.IncidentReview
	}{
		{inc: catalog.NewIncident{Dataset: items, Cause: catalog.CauseRunFailed, CauseKey: DAG.Namespace + "/orders_daily.load_fct_order_items",
			Title: "run of job " + DAG.Namespace + "/orders_daily.load_fct_order_items failed", Detail: failures["orders_daily.load_fct_order_items"],
			Impact: []catalog.ImpactedDataset{{Dataset: key("marts.product_performance"), Distance: 1,
				Owners: []catalog.Owner{{Name: "commerce-analytics", Kind: catalog.OwnerTeam}}}},
			At: now.Add(-failedItemsDay * 24 * time.Hour)},
			resolution: "Backfilled the missing products into dim_products and re-ran the task; the next day's run loaded every item.",
			review: &catalog.IncidentReview{
				Cause:  "A product launched in the shop before the product sync picked it up: its order items had no product key.",
				Impact: "Product performance was a day behind for its owners; revenue was not affected.",
				Actions: []catalog.FollowUpAction{
					{Action: "Load unknown products as placeholders instead of failing the task", Ticket: "https://github.com/acme/airflow-dags/issues/112"},
				},
			}},
		{inc: catalog.NewIncident{Dataset: key("finance.revenue_recognition"), Cause: catalog.CauseRunLate, CauseKey: DAG.Namespace + "/orders_daily.recognize_revenue",
			Title:  "run of job " + DAG.Namespace + "/orders_daily.recognize_revenue started " + lateBy.String() + " late",
			Detail: "The Airflow scheduler was down for maintenance; the DAG run started when it came back.",
			Impact: []catalog.ImpactedDataset{{Dataset: key("finance.monthly_revenue"), Distance: 1,
				Owners: []catalog.Owner{{Name: "finance-data", Kind: catalog.OwnerTeam}}}},
			At: now.Add(-lateDay*24*time.Hour + lateBy)},
			resolution: "The journal was posted by 05:00; the controller was told. Nothing to re-run."},
	}
	for _, p := range past {
		n := p.inc
		n.Severity, n.SeenAt, n.By = catalog.SeverityError, n.At, catalog.ActorAlmanac
		inc, _, err := st.OpenIncident(ctx, n)
		if err != nil {
			return fmt.Errorf("demo incident: %w", err)
		}
		if _, err := st.ResolveIncident(ctx, editor, inc.ID, p.resolution); err != nil {
			return fmt.Errorf("demo incident: resolve: %w", err)
		}
		if p.review != nil {
			if _, err := st.SetIncidentReview(ctx, editor, inc.ID, *p.review); err != nil {
				return fmt.Errorf("demo incident: review: %w", err)
			}
		}
	}
	return nil
}
