-- Daily order facts as dbt compiles them for Redshift (written for these tests).
with orders as (
    select id, customer_id, amount, status, created_at::date as order_date
    from "db"."public"."orders"
),
items as (
    select order_id, listagg(sku, ',') within group (order by sku) as skus, sum(qty) as quantity
    from "db"."sales"."items"
    group by order_id
)
select
    o.order_date,
    dateadd(day, 7, o.order_date) as due_date,
    datediff(day, o.order_date, getdate()) as age_days,
    date_part(dow, o.order_date) as weekday,
    o.customer_id,
    nvl(i.skus, '') as skus,
    approximate count(distinct o.id) as orders,
    sum(o.amount) as revenue,
    sum(case when o.status = 'paid' then o.amount else 0 end) as paid_revenue,
    max(i.quantity) as largest_order
from orders o
left join items i on i.order_id = o.id
where o.order_date >= dateadd(month, -3, getdate())
group by 1, 2, 3, 4, 5, 6
qualify row_number() over (partition by o.customer_id order by sum(o.amount) desc) <= 100
