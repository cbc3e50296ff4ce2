-- Events staged from semi-structured payloads as dbt compiles them for
-- Snowflake (written for these tests).
with source as (
    select * from DB.RAW.EVENTS
),
flattened as (
    select
        e.id as event_id,
        e.payload:customer.id::varchar as customer_id,
        e.payload:"OrderId"::number(38, 0) as order_id,
        f.value:sku::string as sku,
        f.value:qty::int as qty,
        to_timestamp_ntz(e.payload:ts::string) as event_at,
        iff(e.payload:test::boolean, 'test', 'live') as mode
    from source e,
        lateral flatten(input => e.payload:items) f
),
orders as (
    select * exclude (created_at) rename (amount as order_amount), created_at as ordered_at
    from DB.PUBLIC.ORDERS
)
select
    fl.event_id,
    fl.customer_id,
    fl.sku,
    fl.qty,
    o.order_amount,
    o.status,
    fl.qty * o.order_amount as line_amount,
    line_amount / nullif(sum(line_amount) over (partition by fl.order_id), 0) as share_of_order,
    date_trunc(month, fl.event_at) as event_month,
    datediff(day, o.ordered_at, fl.event_at) as days_after_order,
    zeroifnull(fl.qty) as qty_or_zero,
    split(fl.sku, '-')[0]::string as sku_family,
from flattened fl
join orders o on o.id = fl.order_id
where fl.mode = 'live' and fl.event_at >= dateadd(day, -30, current_timestamp())
qualify row_number() over (partition by fl.event_id order by fl.event_at desc) = 1
