-- Order lines with customer attributes as dbt compiles them for BigQuery
-- (written for these tests).
with orders as (
    select
        id as order_id,
        customer_id,
        safe_cast(amount as numeric) as amount,
        status,
        timestamp_trunc(created_at, day) as order_day,
        extract(dayofweek from created_at) as weekday
    from `db.public.orders`
    where status != "void"
),
items as (
    select order_id, array_agg(struct(sku as sku, qty as qty) order by qty desc limit 10) as top_items, sum(qty) as quantity
    from `db`.`sales`.`items`
    group by order_id
),
customers as (
    select * except (region), upper(region) as region from `db.public.customers`
)
select
    o.order_id,
    c.first_name,
    c.last_name,
    c.region,
    o.order_day,
    date_diff(current_date(), date(o.order_day), day) as age_days,
    date_add(date(o.order_day), interval 30 day) as due_date,
    if(o.amount > 100, 'large', 'small') as size,
    o.amount * i.quantity as line_total,
    i.top_items,
    ifnull(array_length(i.top_items), 0) as item_count,
    o.weekday
from orders o
join customers c on c.id = o.customer_id
left join items i using (order_id)
where o.status in unnest(['paid', 'shipped'])
qualify row_number() over (partition by o.customer_id order by o.order_day desc) <= 5
