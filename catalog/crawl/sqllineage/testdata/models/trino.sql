-- Item facts as dbt compiles them for Trino or Athena (written for these
-- tests).
with items as (
    select order_id, sku, qty from "db"."sales"."items"
),
orders as (
    select id, customer_id, amount, created_at from "db"."public"."orders"
)
select
    i.order_id,
    i.sku,
    i.qty,
    o.customer_id,
    try_cast(o.amount as double) * i.qty as line_amount,
    date_add('day', 7, o.created_at) as due_at,
    date_diff('day', o.created_at, current_timestamp) as age_days,
    approx_distinct(i.sku) over (partition by o.customer_id) as distinct_skus,
    element_at(split(i.sku, '-'), 1) as sku_family,
    o.created_at + interval '1' day as next_day
from items i
join orders o on o.id = i.order_id
