package demo

import (
	"context"
	"fmt"

	"almanac/catalog"
	"almanac/catalog/store"
)

// Teams are the demo's owning teams (owners of kind team) and the
// warehouse datasets each owns, by schema.table: what /teams and the
// team pages show on `make run`. The warehouse's own owners are roles.
var Teams = []struct {
	Team     string
	Datasets []string
}{
	{"commerce-analytics", []string{
		"staging.stg_orders", "staging.stg_order_items", "marts.fct_orders", "marts.fct_order_items",
		"marts.fct_daily_revenue", "marts.orders", "marts.dim_customers", "marts.dim_products",
		"marts.customer_lifetime_value", "marts.product_performance",
	}},
	{"finance-data", []string{
		"staging.stg_payments", "finance.refunds", "finance.revenue_recognition", "finance.monthly_revenue",
		"finance.unpaid_orders", "finance.fx_rates", "finance.gl_accounts",
	}},
}

// editor is who the demo's own edits are recorded as: the demo's one
// user, whose edits the portal shows as "user:demo".
var editor = catalog.Principal{Login: "demo", Role: catalog.RoleEditor, Name: "Almanac demo"}

// seedTeams makes the demo teams owners of their datasets in the warehouse
// database db (as the datasets are named under Namespace). It is
// idempotent: an owner already there is left as is.
func seedTeams(ctx context.Context, st *store.Store, db string) error {
	var keys []catalog.Key
	for _, t := range Teams {
		for _, d := range t.Datasets {
			keys = append(keys, catalog.Key{Namespace: Namespace, Name: db + "." + d})
		}
	}
	ids, err := st.DatasetIDs(ctx, keys)
	if err != nil {
		return fmt.Errorf("demo teams: %w", err)
	}
	for _, t := range Teams {
		for _, d := range t.Datasets {
			key := catalog.Key{Namespace: Namespace, Name: db + "." + d}
			id, ok := ids[key]
			if !ok {
				return fmt.Errorf("demo teams: the demo warehouse has no %s for team %s", key.Name, t.Team)
			}
			if _, err := st.AddOwner(ctx, editor, id, catalog.Owner{Name: t.Team, Kind: catalog.OwnerTeam, Type: "technical"}); err != nil {
				return fmt.Errorf("demo teams: make %s an owner of %s: %w", t.Team, key.Name, err)
			}
		}
	}
	return nil
}
