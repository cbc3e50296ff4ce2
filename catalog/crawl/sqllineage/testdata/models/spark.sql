-- Exploded order tags as dbt compiles them for Databricks (written for
-- these tests).
with orders as (
    select id, customer_id, amount, status, created_at, split(status, ',') as tags
    from `db`.`public`.`orders`
),
customers as (
    select id, concat_ws(" ", first_name, last_name) as full_name, region
    from `db`.`public`.`customers`
)
select
    o.id as order_id,
    c.full_name,
    t.tag,
    o.amount,
    cast(o.amount as decimal(18, 2)) as amount_decimal,
    date_trunc('MONTH', o.created_at) as order_month,
    datediff(day, o.created_at, current_timestamp()) as age_days,
    o.created_at + interval 1 day as next_day,
    if(c.region rlike '^eu', 'EU', 'other') as zone,
    sum(o.amount) over (partition by o.customer_id order by o.created_at rows between unbounded preceding and current row) as running_total
from orders o
join customers c on c.id = o.customer_id
lateral view outer explode(o.tags) t as tag
where o.status <> "void"
