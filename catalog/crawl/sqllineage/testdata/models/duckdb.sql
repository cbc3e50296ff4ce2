-- Weekly revenue as dbt compiles it for DuckDB (written for these tests).
with orders as (
    select * replace (amount / 100 as amount)
    from "db"."public"."orders"
),
weekly as (
    select
        customer_id,
        date_trunc('week', created_at) as order_week,
        count(*) as orders,
        sum(amount) as revenue,
        list(status) as statuses
    from orders
    group by all
)
select
    w.customer_id,
    c.first_name,
    w.order_week,
    w.order_week + interval 6 days as week_end,
    w.orders,
    w.revenue,
    w.revenue - lag(w.revenue) over (partition by w.customer_id order by w.order_week) as change,
    w.statuses[1] as first_status,
    c.region
from weekly w
join "db"."public"."customers" c on c.id = w.customer_id
qualify rank() over (partition by w.order_week order by w.revenue desc) <= 10
