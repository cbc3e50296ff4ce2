package demo

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// evolution changes the demo warehouse's schema after its first
// crawl, as a release of its models would, so that the catalog keeps
// several schema versions (columns added and retyped) and the change feed
// and schema history have something to show. No view reads the retyped
// columns.
const evolution = `
ALTER TABLE marts.fct_orders ADD COLUMN sales_channel text;
COMMENT ON COLUMN marts.fct_orders.sales_channel IS 'Where the order was placed: web, app or marketplace. NULL for orders before the column was added.';
ALTER TABLE ops.inventory_levels ALTER COLUMN inbound_qty TYPE bigint;
ALTER TABLE ops.inventory_levels ADD COLUMN days_of_cover numeric(8,1);
COMMENT ON COLUMN ops.inventory_levels.days_of_cover IS 'Available stock divided by the average daily units sold over the last 28 days.';
ALTER TABLE finance.fx_rates ALTER COLUMN source TYPE varchar(16);
`

// evolveWarehouse applies evolution to the warehouse at url unless it
// has it, and says whether it applied it.
func evolveWarehouse(ctx context.Context, url string) (bool, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false, fmt.Errorf("connect to demo warehouse: %w", err)
	}
	defer conn.Close(ctx)
	var has bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'marts' AND table_name = 'fct_orders' AND column_name = 'sales_channel')`).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("demo warehouse schema: %w", err)
	}
	if has {
		return false, nil
	}
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, evolution)
		return err
	}); err != nil {
		return false, fmt.Errorf("change the demo warehouse's schema: %w", err)
	}
	return true, nil
}
