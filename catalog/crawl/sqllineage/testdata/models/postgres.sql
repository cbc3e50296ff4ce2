-- A customers mart as dbt compiles it for PostgreSQL (written for these tests).
with orders as (
    select * from "db"."public"."orders" where status <> 'void'
),
items as (
    select order_id, sum(qty) as quantity from "db"."sales"."items" group by order_id
),
customer_orders as (
    select
        o.customer_id,
        min(o.created_at) as first_order,
        max(o.created_at) as most_recent_order,
        count(o.id) as number_of_orders,
        sum(o.amount * i.quantity)::numeric(18, 2) as lifetime_value
    from orders o
    left join items i on i.order_id = o.id
    group by 1
),
ranked as (
    select *, row_number() over (partition by customer_id order by most_recent_order desc) as rn
    from customer_orders
)
select
    c.id as customer_id,
    c.first_name || ' ' || c.last_name as full_name,
    upper(c.region) as region,
    r.first_order,
    r.most_recent_order,
    coalesce(r.number_of_orders, 0) as number_of_orders,
    case when r.lifetime_value > 1000 then 'gold' when r.lifetime_value > 100 then 'silver' else 'bronze' end as tier,
    date_trunc('month', r.first_order) as cohort_month
from "db"."public"."customers" c
left join ranked r on r.customer_id = c.id and r.rn = 1
where c.region is not null
order by customer_id
