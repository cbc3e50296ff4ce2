-- =============================================================================
-- Acme Outfitters demo analytics warehouse
-- =============================================================================
--
-- Builds a small but realistic analytics warehouse for a fictional outdoor
-- e-commerce company, for Almanac's demo mode. It is run as one multi-statement
-- string against an EMPTY database (named "warehouse" in the demo) and must
-- stay free of psql meta-commands. Everything it creates is schema-qualified;
-- it does not rely on search_path.
--
-- Layout (dbt-style):
--   raw      landed as-is from source systems by the EL tool (shop, Stripe,
--            web tracking, marketing, WMS, helpdesk, carriers)
--   staging  cleaned, renamed and typed; mostly views over raw
--   marts    dimensional model for BI
--   finance  revenue recognition, refunds, FX
--   ops      fulfilment: warehouses, inventory, shipping SLAs, supplier feed
--
-- Roles are cluster-global, so they are created only if missing: the script
-- can run on any number of fresh databases in the same cluster.
--
-- Sample data is generated deterministically (no random()), so every run
-- produces the same rows. All business dates fall in H1 2024.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Roles (cluster-global; idempotent)
-- -----------------------------------------------------------------------------
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['analytics_engineers', 'data_platform', 'finance_team'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created concurrently by another run
            END;
        END IF;
    END LOOP;
END
$$;

-- -----------------------------------------------------------------------------
-- Schemas and types
-- -----------------------------------------------------------------------------
CREATE SCHEMA raw;
CREATE SCHEMA staging;
CREATE SCHEMA marts;
CREATE SCHEMA finance;
CREATE SCHEMA ops;

COMMENT ON SCHEMA raw IS 'Source-system data landed unchanged by the EL pipelines (Shopify-style shop DB, Stripe, Snowplow, HubSpot, WMS, Zendesk, carriers). Do not build reports on raw; use marts.';
COMMENT ON SCHEMA staging IS 'One cleaned model per source table: renamed, typed, test orders removed. Owned by analytics engineering.';
COMMENT ON SCHEMA marts IS 'Dimensional model (Kimball) for BI and self-serve analytics. The place to start.';
COMMENT ON SCHEMA finance IS 'Revenue recognition, refunds and FX, reconciled monthly with the general ledger. Owned by the finance team.';
COMMENT ON SCHEMA ops IS 'Fulfilment operations: warehouses, inventory levels, carrier SLAs and the supplier catalog.';

CREATE TYPE raw.order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');
COMMENT ON TYPE raw.order_status IS 'Lifecycle state of a shop order, as defined by the shop platform.';

CREATE TYPE ops.shipment_status AS ENUM ('label_created', 'in_transit', 'delivered', 'exception', 'returned');
COMMENT ON TYPE ops.shipment_status IS 'Normalised carrier tracking status.';

-- =============================================================================
-- raw
-- =============================================================================

CREATE TABLE raw.shop_customers (
    id                bigint       PRIMARY KEY,
    external_id       uuid         NOT NULL UNIQUE,
    email             text         NOT NULL UNIQUE,
    first_name        text,
    last_name         text,
    phone             text,
    country_code      char(2)      NOT NULL DEFAULT 'US',
    accepts_marketing boolean      NOT NULL DEFAULT false,
    tags              text[]       NOT NULL DEFAULT '{}',
    created_at        timestamptz  NOT NULL,
    updated_at        timestamptz  NOT NULL,
    _loaded_at        timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT shop_customers_email_chk CHECK (position('@' IN email) > 1)
);
COMMENT ON TABLE raw.shop_customers IS 'One row per customer account in the online shop, synced every 15 minutes from the shop database. Includes guest checkouts that later registered. Contains PII.';
COMMENT ON COLUMN raw.shop_customers.id IS 'Shop customer id (source primary key).';
COMMENT ON COLUMN raw.shop_customers.external_id IS 'Stable public customer id used in URLs and by the CRM.';
COMMENT ON COLUMN raw.shop_customers.email IS 'PII: email address. Unique per account; case is not normalised in the source.';
COMMENT ON COLUMN raw.shop_customers.first_name IS 'PII: given name as entered by the customer.';
COMMENT ON COLUMN raw.shop_customers.last_name IS 'PII: family name as entered by the customer.';
COMMENT ON COLUMN raw.shop_customers.phone IS 'PII: phone number, free text, often missing.';
COMMENT ON COLUMN raw.shop_customers.country_code IS 'ISO 3166-1 alpha-2 country of the default address.';
COMMENT ON COLUMN raw.shop_customers.accepts_marketing IS 'True if the customer opted in to marketing email.';
COMMENT ON COLUMN raw.shop_customers.tags IS 'Free-form tags set by customer service (e.g. vip, wholesale).';
COMMENT ON COLUMN raw.shop_customers.created_at IS 'When the account was created in the shop.';
COMMENT ON COLUMN raw.shop_customers.updated_at IS 'Last modification in the shop; used as the incremental sync cursor.';
COMMENT ON COLUMN raw.shop_customers._loaded_at IS 'When the EL pipeline last wrote this row.';

CREATE TABLE raw.shop_products (
    id           bigint        PRIMARY KEY,
    sku          text          NOT NULL UNIQUE,
    title        text          NOT NULL,
    category     text          NOT NULL,
    vendor       text          NOT NULL DEFAULT 'Acme Outfitters',
    price        numeric(12,2) NOT NULL CHECK (price >= 0),
    cost         numeric(12,2) CHECK (cost >= 0),
    is_active    boolean       NOT NULL DEFAULT true,
    attributes   jsonb         NOT NULL DEFAULT '{}'::jsonb,
    tags         text[]        NOT NULL DEFAULT '{}',
    created_at   timestamptz   NOT NULL,
    _loaded_at   timestamptz   NOT NULL DEFAULT now()
);
COMMENT ON TABLE raw.shop_products IS 'One row per product (SKU) in the shop catalogue, including discontinued ones.';
COMMENT ON COLUMN raw.shop_products.id IS 'Shop product id (source primary key).';
COMMENT ON COLUMN raw.shop_products.sku IS 'Stock keeping unit, shared with the WMS and suppliers.';
COMMENT ON COLUMN raw.shop_products.title IS 'Product name as shown on the storefront.';
COMMENT ON COLUMN raw.shop_products.category IS 'Merchandising category (Tents, Backpacks, ...).';
COMMENT ON COLUMN raw.shop_products.price IS 'Current list price in the store currency, tax exclusive.';
COMMENT ON COLUMN raw.shop_products.cost IS 'Landed unit cost in USD from purchasing. NULL for new products not yet costed.';
COMMENT ON COLUMN raw.shop_products.is_active IS 'False once the product is discontinued.';
COMMENT ON COLUMN raw.shop_products.attributes IS 'Variant attributes as JSON, e.g. {"color": "forest", "weight_g": 1200}.';
COMMENT ON COLUMN raw.shop_products._loaded_at IS 'When the EL pipeline last wrote this row.';

CREATE TABLE raw.shop_orders (
    id               bigint           PRIMARY KEY,
    customer_id      bigint           NOT NULL REFERENCES raw.shop_customers (id),
    order_number     text             NOT NULL UNIQUE,
    status           raw.order_status NOT NULL DEFAULT 'pending',
    currency         char(3)          NOT NULL DEFAULT 'USD',
    subtotal_price   numeric(12,2)    NOT NULL DEFAULT 0 CHECK (subtotal_price >= 0),
    total_discounts  numeric(12,2)    NOT NULL DEFAULT 0 CHECK (total_discounts >= 0),
    total_shipping   numeric(12,2)    NOT NULL DEFAULT 0 CHECK (total_shipping >= 0),
    total_tax        numeric(12,2)    NOT NULL DEFAULT 0 CHECK (total_tax >= 0),
    total_price      numeric(12,2)    NOT NULL DEFAULT 0 CHECK (total_price >= 0),
    discount_code    text,
    shipping_address jsonb,
    note             text,
    is_test          boolean          NOT NULL DEFAULT false,
    placed_at        timestamptz      NOT NULL,
    updated_at       timestamptz      NOT NULL,
    _loaded_at       timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX shop_orders_customer_id_idx ON raw.shop_orders (customer_id);
CREATE INDEX shop_orders_placed_at_idx ON raw.shop_orders (placed_at);
COMMENT ON TABLE raw.shop_orders IS 'One row per order placed in the online shop, in its current state (the source overwrites; no history). Amounts are in the order currency.';
COMMENT ON COLUMN raw.shop_orders.id IS 'Shop order id (source primary key).';
COMMENT ON COLUMN raw.shop_orders.customer_id IS 'Customer who placed the order.';
COMMENT ON COLUMN raw.shop_orders.order_number IS 'Human-facing order number printed on invoices (AO-nnnnnn).';
COMMENT ON COLUMN raw.shop_orders.status IS 'Current lifecycle state.';
COMMENT ON COLUMN raw.shop_orders.currency IS 'ISO 4217 currency of all amounts on the order.';
COMMENT ON COLUMN raw.shop_orders.subtotal_price IS 'Sum of line items before discounts, shipping and tax.';
COMMENT ON COLUMN raw.shop_orders.total_discounts IS 'Discount applied through discount codes.';
COMMENT ON COLUMN raw.shop_orders.total_shipping IS 'Shipping charged to the customer (free from 150 after discounts).';
COMMENT ON COLUMN raw.shop_orders.total_tax IS 'Sales tax / VAT charged.';
COMMENT ON COLUMN raw.shop_orders.total_price IS 'Amount charged: subtotal - discounts + shipping + tax.';
COMMENT ON COLUMN raw.shop_orders.discount_code IS 'Discount code entered at checkout; may contain stray whitespace.';
COMMENT ON COLUMN raw.shop_orders.shipping_address IS 'PII: shipping address as JSON (line1, city, postal_code, country).';
COMMENT ON COLUMN raw.shop_orders.note IS 'PII risk: free-text note from the customer.';
COMMENT ON COLUMN raw.shop_orders.is_test IS 'True for orders placed by QA on production. Exclude from everything.';
COMMENT ON COLUMN raw.shop_orders.placed_at IS 'When checkout completed.';
COMMENT ON COLUMN raw.shop_orders.updated_at IS 'Last modification in the shop; incremental sync cursor.';
COMMENT ON COLUMN raw.shop_orders._loaded_at IS 'When the EL pipeline last wrote this row.';

CREATE TABLE raw.shop_order_items (
    id               bigint        PRIMARY KEY,
    order_id         bigint        NOT NULL REFERENCES raw.shop_orders (id) ON DELETE CASCADE,
    product_id       bigint        NOT NULL REFERENCES raw.shop_products (id),
    quantity         integer       NOT NULL CHECK (quantity > 0),
    unit_price       numeric(12,2) NOT NULL CHECK (unit_price >= 0),
    discount_amount  numeric(12,2) NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
    _loaded_at       timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT shop_order_items_order_product_key UNIQUE (order_id, product_id)
);
CREATE INDEX shop_order_items_product_id_idx ON raw.shop_order_items (product_id);
COMMENT ON TABLE raw.shop_order_items IS 'One row per product line on an order.';
COMMENT ON COLUMN raw.shop_order_items.id IS 'Line item id (source primary key).';
COMMENT ON COLUMN raw.shop_order_items.order_id IS 'Order the line belongs to.';
COMMENT ON COLUMN raw.shop_order_items.product_id IS 'Product ordered.';
COMMENT ON COLUMN raw.shop_order_items.quantity IS 'Units ordered.';
COMMENT ON COLUMN raw.shop_order_items.unit_price IS 'Price per unit at the time of the order, order currency.';
COMMENT ON COLUMN raw.shop_order_items.discount_amount IS 'Discount allocated to this line, order currency.';

CREATE TABLE raw.shop_refunds (
    id          bigint        PRIMARY KEY,
    order_id    bigint        NOT NULL REFERENCES raw.shop_orders (id),
    amount      numeric(12,2) NOT NULL CHECK (amount > 0),
    reason      text          NOT NULL DEFAULT 'other',
    restock     boolean       NOT NULL DEFAULT false,
    created_at  timestamptz   NOT NULL,
    _loaded_at  timestamptz   NOT NULL DEFAULT now()
);
COMMENT ON TABLE raw.shop_refunds IS 'One row per refund issued from the shop admin. An order may be refunded in several parts.';
COMMENT ON COLUMN raw.shop_refunds.amount IS 'Refunded amount in the order currency.';
COMMENT ON COLUMN raw.shop_refunds.reason IS 'Reason picked by the agent: damaged, wrong_size, late_delivery, customer_request, other.';
COMMENT ON COLUMN raw.shop_refunds.restock IS 'True if the goods went back into sellable stock.';

CREATE TABLE raw.payments_stripe_charges (
    id                  text        PRIMARY KEY,
    amount              integer     NOT NULL CHECK (amount >= 0),
    amount_refunded     integer     NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    currency            text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('succeeded', 'pending', 'failed')),
    paid                boolean     NOT NULL,
    payment_method_type text        NOT NULL DEFAULT 'card',
    card_brand          text,
    card_last4          char(4),
    failure_code        text,
    metadata            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created             bigint      NOT NULL,
    _loaded_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_stripe_charges_refund_chk CHECK (amount_refunded <= amount)
);
COMMENT ON TABLE raw.payments_stripe_charges IS 'Stripe Charge objects, synced hourly from the Stripe API. One row per charge attempt, so failed attempts appear too.';
COMMENT ON COLUMN raw.payments_stripe_charges.id IS 'Stripe charge id (ch_...).';
COMMENT ON COLUMN raw.payments_stripe_charges.amount IS 'Amount in the smallest currency unit (cents).';
COMMENT ON COLUMN raw.payments_stripe_charges.amount_refunded IS 'Refunded amount in cents.';
COMMENT ON COLUMN raw.payments_stripe_charges.currency IS 'Lower-case ISO currency code, as Stripe sends it.';
COMMENT ON COLUMN raw.payments_stripe_charges.status IS 'Stripe charge status.';
COMMENT ON COLUMN raw.payments_stripe_charges.card_last4 IS 'Last four digits of the card. Not PCI scope, but do not export.';
COMMENT ON COLUMN raw.payments_stripe_charges.failure_code IS 'Stripe decline code for failed charges.';
COMMENT ON COLUMN raw.payments_stripe_charges.metadata IS 'Metadata set by the shop at checkout; order_id links the charge to raw.shop_orders.';
COMMENT ON COLUMN raw.payments_stripe_charges.created IS 'Creation time as Unix epoch seconds (UTC).';

CREATE TABLE raw.marketing_campaigns (
    id            bigint        PRIMARY KEY,
    name          text          NOT NULL,
    channel       text          NOT NULL CHECK (channel IN ('email', 'paid_search', 'paid_social', 'affiliate', 'display')),
    utm_campaign  text          NOT NULL UNIQUE,
    promo_code    text          UNIQUE,
    budget_usd    numeric(12,2) NOT NULL DEFAULT 0 CHECK (budget_usd >= 0),
    starts_on     date          NOT NULL,
    ends_on       date,
    audience      jsonb,
    created_by    text          NOT NULL,
    _loaded_at    timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT marketing_campaigns_dates_chk CHECK (ends_on IS NULL OR ends_on >= starts_on)
);
COMMENT ON TABLE raw.marketing_campaigns IS 'Marketing campaigns exported nightly from HubSpot.';
COMMENT ON COLUMN raw.marketing_campaigns.utm_campaign IS 'utm_campaign value used in tracked links; joins to raw.web_events.utm_campaign.';
COMMENT ON COLUMN raw.marketing_campaigns.promo_code IS 'Discount code tied to the campaign, if any; joins to raw.shop_orders.discount_code.';
COMMENT ON COLUMN raw.marketing_campaigns.budget_usd IS 'Planned spend in USD. Actual spend lives in the ad platforms, not here.';
COMMENT ON COLUMN raw.marketing_campaigns.ends_on IS 'Last day of the campaign, inclusive. NULL for always-on campaigns.';
COMMENT ON COLUMN raw.marketing_campaigns.created_by IS 'PII: email of the marketer who created the campaign.';

CREATE TABLE raw.web_events (
    event_id      uuid        NOT NULL,
    event_time    timestamptz NOT NULL,
    anonymous_id  uuid        NOT NULL,
    customer_id   bigint,
    event_type    text        NOT NULL,
    page_url      text,
    referrer      text,
    utm_source    text,
    utm_campaign  text,
    ip_address    inet,
    user_agent    text,
    properties    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    _loaded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT web_events_pkey PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);
CREATE TABLE raw.web_events_2024_01 PARTITION OF raw.web_events FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-02-01 00:00:00+00');
CREATE TABLE raw.web_events_2024_02 PARTITION OF raw.web_events FOR VALUES FROM ('2024-02-01 00:00:00+00') TO ('2024-03-01 00:00:00+00');
CREATE TABLE raw.web_events_2024_03 PARTITION OF raw.web_events FOR VALUES FROM ('2024-03-01 00:00:00+00') TO ('2024-04-01 00:00:00+00');
CREATE TABLE raw.web_events_2024_04 PARTITION OF raw.web_events FOR VALUES FROM ('2024-04-01 00:00:00+00') TO ('2024-05-01 00:00:00+00');
CREATE TABLE raw.web_events_2024_05 PARTITION OF raw.web_events FOR VALUES FROM ('2024-05-01 00:00:00+00') TO ('2024-06-01 00:00:00+00');
CREATE TABLE raw.web_events_2024_06 PARTITION OF raw.web_events FOR VALUES FROM ('2024-06-01 00:00:00+00') TO ('2024-07-01 00:00:00+00');
CREATE TABLE raw.web_events_default PARTITION OF raw.web_events DEFAULT;
CREATE INDEX web_events_anonymous_id_idx ON raw.web_events (anonymous_id);
COMMENT ON TABLE raw.web_events IS 'Clickstream from the storefront tracker, one row per event. Partitioned by month on event_time; events outside the provisioned months land in web_events_default until the next partition is created.';
COMMENT ON COLUMN raw.web_events.event_id IS 'Tracker-generated event id; unique together with event_time.';
COMMENT ON COLUMN raw.web_events.event_time IS 'Client timestamp of the event, corrected for clock skew by the collector.';
COMMENT ON COLUMN raw.web_events.anonymous_id IS 'Cookie id of the browser. Rotates when cookies are cleared.';
COMMENT ON COLUMN raw.web_events.customer_id IS 'Shop customer id once the visitor logs in; NULL for anonymous traffic.';
COMMENT ON COLUMN raw.web_events.event_type IS 'page_view, product_view, add_to_cart, checkout_started or order_completed.';
COMMENT ON COLUMN raw.web_events.utm_campaign IS 'utm_campaign of the landing URL, if any.';
COMMENT ON COLUMN raw.web_events.ip_address IS 'PII: client IP address. Truncated to /24 after 30 days.';
COMMENT ON COLUMN raw.web_events.user_agent IS 'Browser user agent string.';
COMMENT ON COLUMN raw.web_events.properties IS 'Event-specific payload, e.g. {"sku": "...", "value": 129.00}.';

CREATE TABLE raw.inventory_snapshots (
    snapshot_date   date        NOT NULL,
    warehouse_code  text        NOT NULL,
    product_id      bigint      NOT NULL REFERENCES raw.shop_products (id),
    on_hand_qty     integer     NOT NULL,
    reserved_qty    integer     NOT NULL DEFAULT 0,
    inbound_qty     integer     NOT NULL DEFAULT 0,
    captured_at     timestamptz NOT NULL,
    _loaded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (snapshot_date, warehouse_code, product_id)
);
COMMENT ON TABLE raw.inventory_snapshots IS 'Daily end-of-day stock position per product and warehouse, exported from the WMS at 23:30 local time.';

CREATE TABLE raw.support_tickets (
    id                 bigint      PRIMARY KEY,
    customer_id        bigint      NOT NULL REFERENCES raw.shop_customers (id),
    order_id           bigint      REFERENCES raw.shop_orders (id),
    subject            text        NOT NULL,
    body               text,
    channel            text        NOT NULL CHECK (channel IN ('email', 'chat', 'phone')),
    priority           text        NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status             text        NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'open', 'pending', 'solved', 'closed')),
    tags               text[]      NOT NULL DEFAULT '{}',
    satisfaction_score smallint    CHECK (satisfaction_score BETWEEN 1 AND 5),
    created_at         timestamptz NOT NULL,
    solved_at          timestamptz,
    _loaded_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE raw.support_tickets IS 'Customer support tickets from Zendesk, one row per ticket in its latest state.';
COMMENT ON COLUMN raw.support_tickets.order_id IS 'Order the ticket is about, when the agent linked one.';
COMMENT ON COLUMN raw.support_tickets.body IS 'PII: first message of the ticket, free text; may contain addresses and phone numbers.';
COMMENT ON COLUMN raw.support_tickets.satisfaction_score IS 'CSAT survey answer, 1 (bad) to 5 (great). NULL when not answered (about 60%).';
COMMENT ON COLUMN raw.support_tickets.solved_at IS 'When the ticket was first marked solved.';

CREATE TABLE raw.shipments (
    id               bigint      PRIMARY KEY,
    order_id         bigint      NOT NULL REFERENCES raw.shop_orders (id),
    carrier          text        NOT NULL,
    service_level    text        NOT NULL,
    tracking_number  text        NOT NULL UNIQUE,
    warehouse_code   text        NOT NULL,
    weight_grams     integer     CHECK (weight_grams > 0),
    package_count    smallint    NOT NULL DEFAULT 1 CHECK (package_count > 0),
    shipped_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    last_event       jsonb,
    _loaded_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shipments_delivery_chk CHECK (delivered_at IS NULL OR delivered_at >= shipped_at)
);
COMMENT ON TABLE raw.shipments IS 'Outbound parcels, one row per shipment, from the carrier aggregation API. Delivery times are carrier-reported.';
COMMENT ON COLUMN raw.shipments.carrier IS 'UPS, FedEx, USPS or DHL.';
COMMENT ON COLUMN raw.shipments.service_level IS 'ground, two_day or express.';
COMMENT ON COLUMN raw.shipments.warehouse_code IS 'Fulfilment centre that shipped the parcel.';
COMMENT ON COLUMN raw.shipments.weight_grams IS 'Billed weight in grams.';
COMMENT ON COLUMN raw.shipments.delivered_at IS 'Carrier-reported delivery scan; NULL while in transit.';
COMMENT ON COLUMN raw.shipments.last_event IS 'Latest tracking event as returned by the carrier API.';

-- ---------------------------------------------------------------- raw data ---

INSERT INTO raw.shop_customers (id, external_id, email, first_name, last_name, phone, country_code,
                                accepts_marketing, tags, created_at, updated_at)
SELECT g,
       md5('customer-' || g)::uuid,
       lower(n.fn) || '.' || lower(n.ln) || g || '@' || (ARRAY['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me'])[1 + g % 5],
       n.fn,
       n.ln,
       CASE WHEN g % 3 = 0 THEN NULL ELSE '+1-555-' || lpad(((g * 7919) % 10000)::text, 4, '0') END,
       (ARRAY['US', 'US', 'US', 'US', 'US', 'CA', 'CA', 'GB', 'DE', 'AU'])[1 + (g * 3) % 10],
       g % 4 <> 0,
       CASE WHEN g % 29 = 0 THEN ARRAY['vip'] WHEN g % 41 = 0 THEN ARRAY['wholesale', 'net30'] ELSE '{}'::text[] END,
       timestamptz '2023-03-01 09:00:00+00' + g * interval '1 day 1 hour',
       timestamptz '2024-06-01 00:00:00+00' + g * interval '17 minutes'
FROM generate_series(1, 200) AS g
CROSS JOIN LATERAL (
    SELECT (ARRAY['Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Oliver', 'Sophia', 'Elijah', 'Isabella', 'Lucas',
                  'Mia', 'Mateo', 'Amelia', 'Ethan', 'Harper', 'Aiden', 'Evelyn', 'Kai', 'Priya', 'Yuki'])[1 + g % 20] AS fn,
           (ARRAY['Smith', 'Johnson', 'Garcia', 'Brown', 'Nguyen', 'Miller', 'Davis', 'Martinez', 'Lopez', 'Wilson',
                  'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Patel', 'Kim', 'Schmidt',
                  'Clark', 'Lewis', 'Walker', 'Young', 'Hughes'])[1 + (g * 7) % 25] AS ln
) AS n;

INSERT INTO raw.shop_products (id, sku, title, category, price, cost, is_active, attributes, tags, created_at)
SELECT g,
       'AO-' || upper(left(c.category, 3)) || '-' || lpad(g::text, 4, '0'),
       (ARRAY['Summit', 'Ridge', 'Trail', 'Basecamp', 'Alpine', 'Canyon', 'Cascade', 'Timber'])[1 + g % 8] || ' ' || c.noun,
       c.category,
       p.price,
       CASE WHEN g % 23 = 0 THEN NULL ELSE round(p.price * 0.52, 2) END,
       g % 17 <> 0,
       jsonb_build_object('color', (ARRAY['forest', 'slate', 'ember', 'glacier', 'sand'])[1 + g % 5],
                          'weight_g', 150 + (g * 137) % 2400,
                          'waterproof', g % 3 = 0),
       CASE WHEN g % 5 = 0 THEN ARRAY['bestseller'] WHEN g % 7 = 0 THEN ARRAY['new', 'eco'] ELSE '{}'::text[] END,
       timestamptz '2022-09-01 00:00:00+00' + g * interval '5 days'
FROM generate_series(1, 60) AS g
CROSS JOIN LATERAL (
    SELECT (ARRAY['Tents', 'Sleeping Bags', 'Backpacks', 'Footwear', 'Jackets', 'Cookware', 'Climbing', 'Accessories'])[1 + g % 8] AS category,
           (ARRAY['2P Tent', 'Down Bag', '45L Pack', 'Hiking Boot', 'Shell Jacket', 'Stove Kit', 'Harness', 'Headlamp'])[1 + g % 8] AS noun
) AS c
CROSS JOIN LATERAL (SELECT (19 + (g * 37) % 380)::numeric + 0.99 AS price) AS p;

INSERT INTO raw.shop_orders (id, customer_id, order_number, status, currency, discount_code, shipping_address,
                             note, is_test, placed_at, updated_at)
SELECT g,
       c.id,
       'AO-' || (100000 + g),
       (CASE WHEN g > 392 THEN (CASE WHEN g % 2 = 0 THEN 'pending' ELSE 'paid' END)
             WHEN g % 25 = 0 THEN 'cancelled'
             WHEN g % 19 = 0 THEN 'refunded'
             WHEN g > 374 THEN 'shipped'
             ELSE 'delivered' END)::raw.order_status,
       CASE c.country_code WHEN 'CA' THEN 'CAD' WHEN 'GB' THEN 'GBP' WHEN 'DE' THEN 'EUR' WHEN 'AU' THEN 'AUD' ELSE 'USD' END,
       CASE WHEN g % 9 = 0 THEN 'SPRING15' WHEN g % 13 = 0 THEN 'welcome10 ' END,
       jsonb_build_object('line1', (10 + (g * 31) % 980) || ' ' || (ARRAY['Pine St', 'Oak Ave', 'Main St', 'Lake Rd', 'High St'])[1 + g % 5],
                          'city', CASE c.country_code
                                      WHEN 'CA' THEN (ARRAY['Vancouver', 'Calgary', 'Toronto'])[1 + g % 3]
                                      WHEN 'GB' THEN (ARRAY['London', 'Manchester', 'Edinburgh'])[1 + g % 3]
                                      WHEN 'DE' THEN (ARRAY['Berlin', 'Munich', 'Hamburg'])[1 + g % 3]
                                      WHEN 'AU' THEN (ARRAY['Sydney', 'Melbourne', 'Brisbane'])[1 + g % 3]
                                      ELSE (ARRAY['Portland', 'Denver', 'Seattle', 'Boulder', 'Austin', 'Boston'])[1 + g % 6] END,
                          'postal_code', lpad(((g * 3571) % 99999)::text, 5, '0'),
                          'country', c.country_code),
       CASE WHEN g % 31 = 0 THEN 'Please leave at the back door' WHEN g % 47 = 0 THEN 'Gift - no invoice in the box' END,
       g % 97 = 0,
       timestamptz '2024-01-01 07:00:00+00' + g * interval '10 hours 50 minutes',
       timestamptz '2024-01-01 07:00:00+00' + g * interval '10 hours 50 minutes' + interval '3 days'
FROM generate_series(1, 400) AS g
JOIN raw.shop_customers AS c ON c.id = 1 + ((g * g) % 173 + g * 3) % 200;

INSERT INTO raw.shop_order_items (id, order_id, product_id, quantity, unit_price, discount_amount)
SELECT o.id * 10 + i,
       o.id,
       p.id,
       1 + ((o.id + i) % 5 = 0)::integer,
       p.price,
       CASE trim(upper(o.discount_code))
           WHEN 'SPRING15' THEN round((1 + ((o.id + i) % 5 = 0)::integer) * p.price * 0.15, 2)
           WHEN 'WELCOME10' THEN round((1 + ((o.id + i) % 5 = 0)::integer) * p.price * 0.10, 2)
           ELSE 0 END
FROM raw.shop_orders AS o
CROSS JOIN LATERAL generate_series(1, 1 + (o.id % 7) / 3) AS i
JOIN raw.shop_products AS p ON p.id = 1 + (o.id * 7 + i * 13) % 60;

UPDATE raw.shop_orders AS o
SET subtotal_price  = s.subtotal,
    total_discounts = s.discounts,
    total_shipping  = s.shipping,
    total_tax       = round((s.subtotal - s.discounts) * 0.08, 2),
    total_price     = s.subtotal - s.discounts + s.shipping + round((s.subtotal - s.discounts) * 0.08, 2)
FROM (
    SELECT order_id,
           sum(quantity * unit_price) AS subtotal,
           sum(discount_amount) AS discounts,
           CASE WHEN sum(quantity * unit_price) - sum(discount_amount) >= 150 THEN 0 ELSE 9.95 END AS shipping
    FROM raw.shop_order_items
    GROUP BY order_id
) AS s
WHERE s.order_id = o.id;

INSERT INTO raw.shop_refunds (id, order_id, amount, reason, restock, created_at)
SELECT 9000 + o.id, o.id, o.total_price,
       (ARRAY['damaged', 'wrong_size', 'late_delivery', 'customer_request'])[1 + o.id % 4],
       o.id % 2 = 0,
       o.placed_at + interval '12 days'
FROM raw.shop_orders AS o
WHERE o.status = 'refunded'
UNION ALL
SELECT 9500 + o.id, o.id, round(o.subtotal_price * 0.2, 2), 'damaged', false, o.placed_at + interval '9 days'
FROM raw.shop_orders AS o
WHERE o.status = 'delivered' AND o.id % 23 = 0;

INSERT INTO raw.payments_stripe_charges (id, amount, amount_refunded, currency, status, paid, payment_method_type,
                                         card_brand, card_last4, failure_code, metadata, created)
SELECT 'ch_' || substr(md5('charge-' || o.id), 1, 24),
       (o.total_price * 100)::integer,
       coalesce((SELECT (sum(r.amount) * 100)::integer FROM raw.shop_refunds AS r WHERE r.order_id = o.id), 0),
       lower(o.currency),
       'succeeded',
       true,
       CASE WHEN o.id % 10 = 0 THEN 'paypal' WHEN o.id % 7 = 0 THEN 'apple_pay' ELSE 'card' END,
       CASE WHEN o.id % 10 = 0 THEN NULL ELSE (ARRAY['visa', 'mastercard', 'amex'])[1 + o.id % 3] END,
       CASE WHEN o.id % 10 = 0 THEN NULL ELSE lpad(((o.id * 4219) % 10000)::text, 4, '0') END,
       NULL,
       jsonb_build_object('order_id', o.id::text, 'order_number', o.order_number, 'source', 'shop'),
       extract(epoch FROM o.placed_at)::bigint + 40
FROM raw.shop_orders AS o
WHERE o.status NOT IN ('pending', 'cancelled')
UNION ALL
SELECT 'ch_' || substr(md5('charge-failed-' || o.id), 1, 24),
       (o.total_price * 100)::integer, 0, lower(o.currency), 'failed', false, 'card', 'visa', '0341',
       (ARRAY['card_declined', 'insufficient_funds', 'expired_card'])[1 + o.id % 3],
       jsonb_build_object('order_id', o.id::text, 'order_number', o.order_number, 'source', 'shop'),
       extract(epoch FROM o.placed_at)::bigint - 60
FROM raw.shop_orders AS o
WHERE o.id % 17 = 0;

INSERT INTO raw.marketing_campaigns (id, name, channel, utm_campaign, promo_code, budget_usd, starts_on, ends_on, audience, created_by)
VALUES
    (1,  'Welcome series',              'email',       'welcome_series',   'WELCOME10', 0,        '2023-01-01', NULL,         '{"segment": "new_signups"}',          'jordan.reyes@acme-outfitters.example'),
    (2,  'Spring trail launch',         'paid_social', 'spring_trail_24',  'SPRING15',  25000.00, '2024-03-01', '2024-04-30', '{"segment": "hikers", "geo": ["US","CA"]}', 'jordan.reyes@acme-outfitters.example'),
    (3,  'Brand search - always on',    'paid_search', 'brand_search',     NULL,        4000.00,  '2023-01-01', NULL,         NULL,                                   'sam.okafor@acme-outfitters.example'),
    (4,  'Winter clearance',            'email',       'winter_clear_24',  NULL,        0,        '2024-01-02', '2024-01-31', '{"segment": "lapsed_90d"}',           'jordan.reyes@acme-outfitters.example'),
    (5,  'Tents retargeting',           'display',     'tents_retarget',   NULL,        6000.00,  '2024-04-15', '2024-06-30', '{"segment": "viewed_tents"}',         'sam.okafor@acme-outfitters.example'),
    (6,  'Outdoor bloggers affiliate',  'affiliate',   'affiliate_blogs',  NULL,        8000.00,  '2024-02-01', NULL,         NULL,                                   'lena.hoffmann@acme-outfitters.example'),
    (7,  'Summer camping guide',        'paid_social', 'summer_guide_24',  NULL,        18000.00, '2024-05-20', '2024-07-15', '{"segment": "families"}',              'lena.hoffmann@acme-outfitters.example'),
    (8,  'Climbing gear generic',       'paid_search', 'climbing_generic', NULL,        5500.00,  '2024-03-10', '2024-06-10', NULL,                                   'sam.okafor@acme-outfitters.example'),
    (9,  'UK launch',                   'paid_social', 'uk_launch_24',     NULL,        12000.00, '2024-02-15', '2024-03-31', '{"geo": ["GB"]}',                      'lena.hoffmann@acme-outfitters.example'),
    (10, 'Newsletter - monthly',        'email',       'newsletter',       NULL,        0,        '2023-01-01', NULL,         '{"segment": "opted_in"}',              'jordan.reyes@acme-outfitters.example'),
    (11, 'Footwear fit finder',         'display',     'fit_finder',       NULL,        3500.00,  '2024-04-01', '2024-05-15', NULL,                                   'sam.okafor@acme-outfitters.example'),
    (12, 'Black Friday 2023',           'email',       'bf_2023',          NULL,        0,        '2023-11-20', '2023-11-27', '{"segment": "all"}',                   'jordan.reyes@acme-outfitters.example');

-- 360 sessions of 5 events each, one session every 12h30 starting 2024-01-01;
-- the last ones fall in July 2024 and therefore in web_events_default.
INSERT INTO raw.web_events (event_id, event_time, anonymous_id, customer_id, event_type, page_url, referrer,
                            utm_source, utm_campaign, ip_address, user_agent, properties)
SELECT md5('event-' || g)::uuid,
       timestamptz '2024-01-01 00:00:00+00' + (g / 5) * interval '12 hours 30 minutes' + (g % 5) * interval '4 minutes',
       md5('anon-' || (g / 5))::uuid,
       CASE WHEN (g / 5) % 3 = 0 THEN 1 + ((g / 5) * 7) % 200 END,
       CASE g % 5
           WHEN 0 THEN 'page_view'
           WHEN 1 THEN 'product_view'
           WHEN 2 THEN CASE WHEN (g / 5) % 2 = 0 THEN 'add_to_cart' ELSE 'page_view' END
           WHEN 3 THEN CASE WHEN (g / 5) % 3 = 0 THEN 'checkout_started' ELSE 'page_view' END
           ELSE CASE WHEN (g / 5) % 6 = 0 THEN 'order_completed' ELSE 'page_view' END
       END,
       'https://www.acme-outfitters.example' || (ARRAY['/', '/c/tents', '/c/backpacks', '/p/AO-TEN-0008', '/cart', '/checkout'])[1 + g % 6],
       CASE WHEN g % 5 = 0 THEN (ARRAY['https://www.google.com/', 'https://www.instagram.com/', NULL, 'https://outdoorblog.example/best-tents'])[1 + (g / 5) % 4] END,
       CASE WHEN (g / 5) % 4 = 1 THEN 'instagram' WHEN (g / 5) % 4 = 3 THEN 'affiliate' END,
       CASE WHEN (g / 5) % 4 = 1 THEN (ARRAY['spring_trail_24', 'summer_guide_24', 'uk_launch_24'])[1 + (g / 5) % 3]
            WHEN (g / 5) % 4 = 3 THEN 'affiliate_blogs' END,
       ('203.0.113.' || ((g / 5) % 250))::inet,
       (ARRAY['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
              'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36',
              'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15'])[1 + (g / 5) % 3],
       CASE g % 5
           WHEN 1 THEN jsonb_build_object('sku', 'AO-TEN-' || lpad((1 + g % 60)::text, 4, '0'))
           WHEN 4 THEN jsonb_build_object('value', 50 + g % 300, 'currency', 'USD')
           ELSE '{}'::jsonb END
FROM generate_series(0, 1799) AS g;

INSERT INTO raw.inventory_snapshots (snapshot_date, warehouse_code, product_id, on_hand_qty, reserved_qty, inbound_qty, captured_at)
SELECT d::date,
       w.code,
       p.id,
       greatest(0, 20 + (p.id * 13 + w.n * 29) % 120 - (d::date - date '2024-06-17') * (1 + p.id % 4)),
       (p.id + w.n) % 6,
       CASE WHEN (p.id + w.n) % 9 = 0 THEN 48 ELSE 0 END,
       d + interval '23 hours 30 minutes'
FROM generate_series(timestamptz '2024-06-17 00:00:00+00', timestamptz '2024-06-30 00:00:00+00', interval '1 day') AS d
CROSS JOIN (VALUES ('PDX1', 1), ('CMH1', 2), ('RNO2', 3)) AS w (code, n)
CROSS JOIN raw.shop_products AS p;

INSERT INTO raw.support_tickets (id, customer_id, order_id, subject, body, channel, priority, status, tags,
                                 satisfaction_score, created_at, solved_at)
SELECT g,
       CASE WHEN g % 4 = 0 THEN 1 + (g * 11) % 200 ELSE o.customer_id END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE o.id END,
       t.subject,
       'Hi, ' || t.subject || '. Order ' || o.order_number || '. Thanks!',
       (ARRAY['email', 'chat', 'phone'])[1 + g % 3],
       (ARRAY['normal', 'normal', 'low', 'high', 'urgent'])[1 + g % 5],
       CASE WHEN g > 140 THEN 'open' WHEN g % 13 = 0 THEN 'pending' ELSE 'solved' END,
       CASE WHEN g % 6 = 0 THEN ARRAY['shipping', 'carrier'] WHEN g % 6 = 1 THEN ARRAY['returns'] ELSE '{}'::text[] END,
       CASE WHEN g % 5 IN (0, 1) THEN 1 + (g * 3) % 5 END,
       o.placed_at + interval '2 days' + g * interval '7 minutes',
       CASE WHEN g > 140 OR g % 13 = 0 THEN NULL ELSE o.placed_at + interval '3 days' + (g % 30) * interval '1 hour' END
FROM generate_series(1, 150) AS g
JOIN raw.shop_orders AS o ON o.id = 1 + (g * 7) % 390
CROSS JOIN LATERAL (
    SELECT (ARRAY['Where is my order', 'Wrong size received', 'Item arrived damaged', 'Change shipping address',
                  'Return request', 'Discount code not working'])[1 + g % 6] AS subject
) AS t;

INSERT INTO raw.shipments (id, order_id, carrier, service_level, tracking_number, warehouse_code, weight_grams,
                           package_count, shipped_at, delivered_at, last_event)
SELECT 50000 + o.id,
       o.id,
       s.carrier,
       s.service_level,
       upper(left(s.carrier, 2)) || lpad(((o.id * 982451) % 1000000000)::text, 12, '0'),
       (ARRAY['PDX1', 'CMH1', 'RNO2'])[1 + o.id % 3],
       400 + (o.id * 263) % 6000,
       (1 + o.id % 19 / 18)::smallint,
       s.shipped_at,
       CASE WHEN o.status IN ('delivered', 'refunded') THEN s.shipped_at + s.transit END,
       jsonb_build_object('code', CASE WHEN o.status IN ('delivered', 'refunded') THEN 'DL' ELSE 'IT' END,
                          'description', CASE WHEN o.status IN ('delivered', 'refunded') THEN 'Delivered' ELSE 'In transit' END)
FROM raw.shop_orders AS o
CROSS JOIN LATERAL (
    SELECT (ARRAY['UPS', 'FedEx', 'USPS', 'DHL'])[1 + o.id % 4] AS carrier,
           (ARRAY['ground', 'ground', 'two_day', 'express'])[1 + (o.id / 4) % 4] AS service_level,
           o.placed_at + (1 + o.id % 3) * interval '1 day' + interval '5 hours' AS shipped_at,
           -- on time except every 8th parcel, which arrives two days late
           CASE (ARRAY['ground', 'ground', 'two_day', 'express'])[1 + (o.id / 4) % 4]
               WHEN 'ground'  THEN (2 + o.id % 3) * interval '1 day'
               WHEN 'two_day' THEN interval '1 day'
               ELSE interval '0 days' END
           + (o.id % 8 = 0)::integer * interval '2 days' + interval '20 hours' AS transit
) AS s
WHERE o.status IN ('shipped', 'delivered', 'refunded');

-- =============================================================================
-- staging
-- =============================================================================

CREATE VIEW staging.stg_customers AS
SELECT c.id                                  AS customer_id,
       c.external_id                         AS customer_uuid,
       lower(trim(c.email))                  AS email,
       initcap(trim(c.first_name))           AS first_name,
       initcap(trim(c.last_name))            AS last_name,
       concat_ws(' ', initcap(trim(c.first_name)), initcap(trim(c.last_name))) AS full_name,
       upper(c.country_code)::char(2)        AS country_code,
       c.accepts_marketing                   AS is_marketing_opt_in,
       'vip' = ANY (c.tags)                  AS is_vip,
       c.created_at                          AS signed_up_at,
       c.updated_at,
       c._loaded_at
FROM raw.shop_customers AS c;
COMMENT ON VIEW staging.stg_customers IS 'Shop customers with normalised email and names. One row per customer account.';
COMMENT ON COLUMN staging.stg_customers.customer_id IS 'Shop customer id.';
COMMENT ON COLUMN staging.stg_customers.customer_uuid IS 'Stable public customer id (raw external_id).';
COMMENT ON COLUMN staging.stg_customers.email IS 'PII: email address, lower-cased and trimmed.';
COMMENT ON COLUMN staging.stg_customers.full_name IS 'PII: first and last name.';
COMMENT ON COLUMN staging.stg_customers.country_code IS 'ISO 3166-1 alpha-2 country of the default address.';
COMMENT ON COLUMN staging.stg_customers.is_marketing_opt_in IS 'True if the customer opted in to marketing email.';
COMMENT ON COLUMN staging.stg_customers.is_vip IS 'True if customer service tagged the customer vip.';
COMMENT ON COLUMN staging.stg_customers.signed_up_at IS 'Account creation time.';

CREATE VIEW staging.stg_orders AS
SELECT o.id                                       AS order_id,
       o.customer_id,
       o.order_number,
       o.status                                   AS order_status,
       upper(o.currency)::char(3)                 AS currency_code,
       o.subtotal_price::numeric(12,2)            AS subtotal_amount,
       o.total_discounts::numeric(12,2)           AS discount_amount,
       o.total_shipping::numeric(12,2)            AS shipping_amount,
       o.total_tax::numeric(12,2)                 AS tax_amount,
       o.total_price::numeric(12,2)               AS total_amount,
       nullif(upper(trim(o.discount_code)), '')   AS discount_code,
       o.shipping_address ->> 'country'           AS ship_country_code,
       o.shipping_address ->> 'city'              AS ship_city,
       o.placed_at                                AS ordered_at,
       (o.placed_at AT TIME ZONE 'UTC')::date     AS order_date,
       o.updated_at,
       o._loaded_at
FROM raw.shop_orders AS o
WHERE NOT o.is_test;
COMMENT ON VIEW staging.stg_orders IS 'Shop orders, renamed and typed, test orders removed. One row per order; amounts in the order currency.';
COMMENT ON COLUMN staging.stg_orders.order_id IS 'Shop order id.';
COMMENT ON COLUMN staging.stg_orders.customer_id IS 'Customer who placed the order.';
COMMENT ON COLUMN staging.stg_orders.order_number IS 'Invoice order number (AO-nnnnnn).';
COMMENT ON COLUMN staging.stg_orders.order_status IS 'Current lifecycle state.';
COMMENT ON COLUMN staging.stg_orders.currency_code IS 'ISO 4217 currency of the amounts.';
COMMENT ON COLUMN staging.stg_orders.subtotal_amount IS 'Line items before discounts, shipping and tax.';
COMMENT ON COLUMN staging.stg_orders.discount_amount IS 'Discount from codes.';
COMMENT ON COLUMN staging.stg_orders.shipping_amount IS 'Shipping charged to the customer.';
COMMENT ON COLUMN staging.stg_orders.tax_amount IS 'Sales tax / VAT charged.';
COMMENT ON COLUMN staging.stg_orders.total_amount IS 'Amount charged to the customer.';
COMMENT ON COLUMN staging.stg_orders.discount_code IS 'Discount code, upper-cased and trimmed; NULL if none.';
COMMENT ON COLUMN staging.stg_orders.ship_country_code IS 'Shipping country, extracted from the address JSON.';
COMMENT ON COLUMN staging.stg_orders.ordered_at IS 'When checkout completed.';
COMMENT ON COLUMN staging.stg_orders.order_date IS 'UTC calendar date of ordered_at. Reporting uses UTC days, not store-local days.';

CREATE VIEW staging.stg_order_items AS
SELECT i.id                                       AS order_item_id,
       i.order_id,
       i.product_id,
       i.quantity,
       i.unit_price,
       i.discount_amount,
       (i.quantity * i.unit_price - i.discount_amount)::numeric(12,2) AS line_amount
FROM raw.shop_order_items AS i
JOIN raw.shop_orders AS o ON o.id = i.order_id
WHERE NOT o.is_test;
COMMENT ON VIEW staging.stg_order_items IS 'Order lines of non-test orders. One row per product per order.';
COMMENT ON COLUMN staging.stg_order_items.order_item_id IS 'Line item id.';
COMMENT ON COLUMN staging.stg_order_items.quantity IS 'Units ordered.';
COMMENT ON COLUMN staging.stg_order_items.unit_price IS 'Unit price at order time, order currency.';
COMMENT ON COLUMN staging.stg_order_items.line_amount IS 'quantity * unit_price - discount_amount, order currency, tax exclusive.';

CREATE VIEW staging.stg_payments AS
SELECT c.id                                          AS payment_id,
       (c.metadata ->> 'order_id')::bigint           AS order_id,
       c.status                                      AS payment_status,
       c.payment_method_type                         AS payment_method,
       c.card_brand,
       (c.amount / 100.0)::numeric(12,2)             AS amount,
       (c.amount_refunded / 100.0)::numeric(12,2)    AS amount_refunded,
       upper(c.currency)::char(3)                    AS currency_code,
       c.failure_code,
       to_timestamp(c.created)                       AS created_at
FROM raw.payments_stripe_charges AS c
WHERE c.metadata ->> 'source' = 'shop';
COMMENT ON VIEW staging.stg_payments IS 'Stripe charges for shop orders, amounts converted from cents. One row per charge attempt (failed attempts included).';
COMMENT ON COLUMN staging.stg_payments.payment_id IS 'Stripe charge id.';
COMMENT ON COLUMN staging.stg_payments.order_id IS 'Shop order id, taken from the charge metadata.';
COMMENT ON COLUMN staging.stg_payments.payment_status IS 'succeeded, pending or failed.';
COMMENT ON COLUMN staging.stg_payments.amount IS 'Charged amount in major currency units.';
COMMENT ON COLUMN staging.stg_payments.amount_refunded IS 'Refunded amount in major currency units.';
COMMENT ON COLUMN staging.stg_payments.created_at IS 'Charge creation time.';

-- Intentionally undocumented.
CREATE VIEW staging.stg_products AS
SELECT p.id                                  AS product_id,
       p.sku,
       p.title                               AS product_name,
       p.category,
       p.price                               AS list_price,
       p.cost                                AS unit_cost,
       p.is_active,
       p.attributes ->> 'color'              AS color,
       (p.attributes ->> 'weight_g')::integer AS weight_grams
FROM raw.shop_products AS p;

CREATE TABLE staging.stg_shipments (
    shipment_id      bigint      PRIMARY KEY,
    order_id         bigint      NOT NULL,
    carrier          text        NOT NULL,
    service_level    text        NOT NULL,
    tracking_number  text        NOT NULL UNIQUE,
    warehouse_code   text        NOT NULL,
    shipped_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    transit_hours    numeric(8,1),
    _built_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE staging.stg_shipments IS 'Shipments with derived transit time. Incremental model, rebuilt hourly by dbt.';
COMMENT ON COLUMN staging.stg_shipments.transit_hours IS 'Hours between shipment and delivery scan; NULL while in transit.';
COMMENT ON COLUMN staging.stg_shipments._built_at IS 'When dbt last built this row.';

INSERT INTO staging.stg_shipments (shipment_id, order_id, carrier, service_level, tracking_number, warehouse_code,
                                   shipped_at, delivered_at, transit_hours)
SELECT s.id, s.order_id, s.carrier, s.service_level, s.tracking_number, s.warehouse_code, s.shipped_at, s.delivered_at,
       round((extract(epoch FROM s.delivered_at - s.shipped_at) / 3600)::numeric, 1)
FROM raw.shipments AS s
JOIN raw.shop_orders AS o ON o.id = s.order_id
WHERE NOT o.is_test;

CREATE TABLE staging.stg_web_sessions (
    session_id      uuid        PRIMARY KEY,
    anonymous_id    uuid        NOT NULL,
    customer_id     bigint,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz NOT NULL,
    page_views      integer     NOT NULL DEFAULT 0 CHECK (page_views >= 0),
    event_count     integer     NOT NULL CHECK (event_count > 0),
    utm_campaign    text,
    is_converted    boolean     NOT NULL DEFAULT false,
    CONSTRAINT stg_web_sessions_time_chk CHECK (ended_at >= started_at)
);
COMMENT ON TABLE staging.stg_web_sessions IS 'Sessionised clickstream: events of one anonymous_id with gaps under 30 minutes form a session.';
COMMENT ON COLUMN staging.stg_web_sessions.session_id IS 'Deterministic hash of anonymous_id and session start.';
COMMENT ON COLUMN staging.stg_web_sessions.customer_id IS 'Logged-in customer, if the visitor logged in at any point of the session.';
COMMENT ON COLUMN staging.stg_web_sessions.page_views IS 'Number of page_view events.';
COMMENT ON COLUMN staging.stg_web_sessions.is_converted IS 'True if the session contains an order_completed event.';

INSERT INTO staging.stg_web_sessions (session_id, anonymous_id, customer_id, started_at, ended_at, page_views,
                                      event_count, utm_campaign, is_converted)
SELECT md5(e.anonymous_id::text || min(e.event_time)::text)::uuid,
       e.anonymous_id,
       max(e.customer_id),
       min(e.event_time),
       max(e.event_time),
       count(*) FILTER (WHERE e.event_type = 'page_view'),
       count(*),
       max(e.utm_campaign),
       bool_or(e.event_type = 'order_completed')
FROM raw.web_events AS e
GROUP BY e.anonymous_id;

-- Documented at table level only: the column docs are still missing.
CREATE TABLE staging.stg_support_tickets (
    ticket_id          bigint      PRIMARY KEY,
    customer_id        bigint      NOT NULL,
    order_id           bigint,
    channel            text        NOT NULL,
    priority           text        NOT NULL,
    ticket_status      text        NOT NULL,
    is_shipping_issue  boolean     NOT NULL DEFAULT false,
    csat_score         smallint,
    created_at         timestamptz NOT NULL,
    solved_at          timestamptz,
    hours_to_solve     numeric(8,1)
);
COMMENT ON TABLE staging.stg_support_tickets IS 'Zendesk tickets without free-text fields (no PII).';

INSERT INTO staging.stg_support_tickets (ticket_id, customer_id, order_id, channel, priority, ticket_status,
                                         is_shipping_issue, csat_score, created_at, solved_at, hours_to_solve)
SELECT t.id, t.customer_id, t.order_id, t.channel, t.priority, t.status,
       'shipping' = ANY (t.tags) OR t.subject ILIKE '%where is my order%',
       t.satisfaction_score, t.created_at, t.solved_at,
       round((extract(epoch FROM t.solved_at - t.created_at) / 3600)::numeric, 1)
FROM raw.support_tickets AS t;

-- =============================================================================
-- finance reference data (needed by the marts for currency conversion)
-- =============================================================================

CREATE TABLE finance.gl_accounts (
    account_code  text    PRIMARY KEY CHECK (account_code ~ '^[0-9]{4}$'),
    account_name  text    NOT NULL UNIQUE,
    account_type  text    NOT NULL CHECK (account_type IN ('revenue', 'contra_revenue', 'liability', 'expense', 'asset')),
    is_active     boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE finance.gl_accounts IS 'Chart of accounts subset used by revenue reporting, maintained by the controller.';
COMMENT ON COLUMN finance.gl_accounts.account_code IS 'Four-digit general ledger account number.';
COMMENT ON COLUMN finance.gl_accounts.account_type IS 'revenue, contra_revenue, liability, expense or asset.';

INSERT INTO finance.gl_accounts (account_code, account_name, account_type) VALUES
    ('4000', 'Product revenue - online', 'revenue'),
    ('4010', 'Shipping revenue', 'revenue'),
    ('4900', 'Sales returns and allowances', 'contra_revenue'),
    ('2200', 'Sales tax payable', 'liability'),
    ('5000', 'Cost of goods sold', 'expense');

-- Intentionally undocumented.
CREATE TABLE finance.fx_rates (
    rate_date      date          NOT NULL,
    currency_code  char(3)       NOT NULL,
    usd_rate       numeric(18,8) NOT NULL CHECK (usd_rate > 0),
    source         text          NOT NULL DEFAULT 'ecb',
    PRIMARY KEY (rate_date, currency_code)
);

INSERT INTO finance.fx_rates (rate_date, currency_code, usd_rate, source)
SELECT d::date,
       c.code,
       CASE WHEN c.code = 'USD' THEN 1
            ELSE round((c.base * (1 + 0.015 * sin(extract(doy FROM d) / 9.0 + c.phase)))::numeric, 8) END,
       CASE WHEN c.code = 'USD' THEN 'identity' ELSE 'ecb' END
FROM generate_series(timestamptz '2023-12-01 00:00:00+00', timestamptz '2024-07-31 00:00:00+00', interval '1 day') AS d
CROSS JOIN (VALUES ('USD', 1.0, 0.0), ('CAD', 0.737, 0.4), ('GBP', 1.268, 1.1), ('EUR', 1.086, 2.0), ('AUD', 0.661, 2.9))
           AS c (code, base, phase);

-- =============================================================================
-- marts
-- =============================================================================

CREATE TABLE marts.dim_date (
    date_key       integer  PRIMARY KEY,
    date_actual    date     NOT NULL UNIQUE,
    day_of_week    smallint NOT NULL CHECK (day_of_week BETWEEN 1 AND 7),
    day_name       text     NOT NULL,
    week_of_year   smallint NOT NULL,
    month_number   smallint NOT NULL CHECK (month_number BETWEEN 1 AND 12),
    month_name     text     NOT NULL,
    quarter        smallint NOT NULL CHECK (quarter BETWEEN 1 AND 4),
    year_number    smallint NOT NULL,
    fiscal_year    smallint NOT NULL,
    is_weekend     boolean  NOT NULL,
    is_holiday     boolean  NOT NULL DEFAULT false
);
COMMENT ON TABLE marts.dim_date IS 'Calendar dimension, one row per day from 2023-01-01 to 2024-12-31. Fiscal year starts on 1 February.';
COMMENT ON COLUMN marts.dim_date.date_key IS 'Surrogate key in YYYYMMDD form.';
COMMENT ON COLUMN marts.dim_date.date_actual IS 'The calendar date.';
COMMENT ON COLUMN marts.dim_date.day_of_week IS 'ISO day of week, 1 = Monday.';
COMMENT ON COLUMN marts.dim_date.week_of_year IS 'ISO week number.';
COMMENT ON COLUMN marts.dim_date.fiscal_year IS 'Fiscal year (FY2024 = 2024-02-01 .. 2025-01-31).';
COMMENT ON COLUMN marts.dim_date.is_holiday IS 'US federal holiday (fixed-date ones only; floating holidays are not flagged yet).';

INSERT INTO marts.dim_date (date_key, date_actual, day_of_week, day_name, week_of_year, month_number, month_name,
                            quarter, year_number, fiscal_year, is_weekend, is_holiday)
SELECT to_char(d, 'YYYYMMDD')::integer,
       d,
       extract(isodow FROM d)::smallint,
       trim(to_char(d, 'Day')),
       extract(week FROM d)::smallint,
       extract(month FROM d)::smallint,
       trim(to_char(d, 'Month')),
       extract(quarter FROM d)::smallint,
       extract(year FROM d)::smallint,
       (extract(year FROM d) + CASE WHEN extract(month FROM d) >= 2 THEN 0 ELSE -1 END)::smallint,
       extract(isodow FROM d) IN (6, 7),
       to_char(d, 'MM-DD') IN ('01-01', '06-19', '07-04', '11-11', '12-25')
FROM (SELECT dd::date AS d
      FROM generate_series(timestamp '2023-01-01', timestamp '2024-12-31', interval '1 day') AS dd) AS days;

CREATE TABLE marts.dim_customers (
    customer_key        integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id         bigint      NOT NULL,
    customer_uuid       uuid        NOT NULL,
    email               text        NOT NULL,
    full_name           text,
    country_code        char(2)     NOT NULL,
    signup_date         date        NOT NULL,
    first_order_date    date,
    customer_segment    text        NOT NULL DEFAULT 'prospect'
                                    CHECK (customer_segment IN ('prospect', 'new', 'repeat', 'loyal')),
    is_marketing_opt_in boolean     NOT NULL DEFAULT false,
    is_vip              boolean     NOT NULL DEFAULT false,
    valid_from          timestamptz NOT NULL,
    valid_to            timestamptz NOT NULL DEFAULT 'infinity',
    is_current          boolean     NOT NULL DEFAULT true,
    CONSTRAINT dim_customers_validity_chk CHECK (valid_to > valid_from)
);
CREATE UNIQUE INDEX dim_customers_current_customer_id_key ON marts.dim_customers (customer_id) WHERE is_current;
COMMENT ON TABLE marts.dim_customers IS 'Customer dimension, SCD type 2: one row per customer per version; filter is_current for the latest. Contains PII; masked for the bi_readers role.';
COMMENT ON COLUMN marts.dim_customers.customer_key IS 'Surrogate key; changes with every new version of the customer.';
COMMENT ON COLUMN marts.dim_customers.customer_id IS 'Shop customer id (natural key).';
COMMENT ON COLUMN marts.dim_customers.customer_uuid IS 'Public customer id, safe to share with the CRM.';
COMMENT ON COLUMN marts.dim_customers.email IS 'PII: email address.';
COMMENT ON COLUMN marts.dim_customers.full_name IS 'PII: customer name.';
COMMENT ON COLUMN marts.dim_customers.country_code IS 'Country of the default address.';
COMMENT ON COLUMN marts.dim_customers.signup_date IS 'UTC date the account was created.';
COMMENT ON COLUMN marts.dim_customers.first_order_date IS 'UTC date of the first non-cancelled order; NULL for prospects.';
COMMENT ON COLUMN marts.dim_customers.customer_segment IS 'prospect (0 orders), new (1), repeat (2-3) or loyal (4+), counting non-cancelled orders.';
COMMENT ON COLUMN marts.dim_customers.valid_from IS 'Start of validity of this version.';
COMMENT ON COLUMN marts.dim_customers.valid_to IS 'End of validity; infinity for the current version.';
COMMENT ON COLUMN marts.dim_customers.is_current IS 'True for the latest version of each customer.';

INSERT INTO marts.dim_customers (customer_id, customer_uuid, email, full_name, country_code, signup_date,
                                 first_order_date, customer_segment, is_marketing_opt_in, is_vip, valid_from)
SELECT c.customer_id, c.customer_uuid, c.email, c.full_name, c.country_code,
       (c.signed_up_at AT TIME ZONE 'UTC')::date,
       o.first_order_date,
       CASE WHEN o.n IS NULL THEN 'prospect' WHEN o.n = 1 THEN 'new' WHEN o.n <= 3 THEN 'repeat' ELSE 'loyal' END,
       c.is_marketing_opt_in, c.is_vip, c.signed_up_at
FROM staging.stg_customers AS c
LEFT JOIN (
    SELECT customer_id, min(order_date) AS first_order_date, count(*) AS n
    FROM staging.stg_orders
    WHERE order_status <> 'cancelled'
    GROUP BY customer_id
) AS o ON o.customer_id = c.customer_id
ORDER BY c.customer_id;

CREATE TABLE marts.dim_products (
    product_key   integer       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id    bigint        NOT NULL UNIQUE,
    sku           text          NOT NULL UNIQUE,
    product_name  text          NOT NULL,
    category      text          NOT NULL,
    color         text,
    weight_grams  integer,
    list_price    numeric(12,2) NOT NULL CHECK (list_price >= 0),
    unit_cost     numeric(12,2),
    is_active     boolean       NOT NULL DEFAULT true,
    _built_at     timestamptz   NOT NULL DEFAULT now()
);
COMMENT ON TABLE marts.dim_products IS 'Product dimension, one row per SKU (type 1: attributes overwritten).';
COMMENT ON COLUMN marts.dim_products.product_key IS 'Surrogate key.';
COMMENT ON COLUMN marts.dim_products.product_id IS 'Shop product id (natural key).';
COMMENT ON COLUMN marts.dim_products.sku IS 'Stock keeping unit.';
COMMENT ON COLUMN marts.dim_products.category IS 'Merchandising category.';
COMMENT ON COLUMN marts.dim_products.list_price IS 'Current list price, store currency (USD).';
COMMENT ON COLUMN marts.dim_products.unit_cost IS 'Landed unit cost in USD. NULL when purchasing has not costed the item; margin reports treat it as 0.';
COMMENT ON COLUMN marts.dim_products.is_active IS 'False once discontinued.';

INSERT INTO marts.dim_products (product_id, sku, product_name, category, color, weight_grams, list_price, unit_cost, is_active)
SELECT product_id, sku, product_name, category, color, weight_grams, list_price, unit_cost, is_active
FROM staging.stg_products
ORDER BY product_id;

CREATE TABLE marts.dim_campaigns (
    campaign_key  integer       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id   bigint        NOT NULL UNIQUE,
    campaign_name text          NOT NULL,
    channel       text          NOT NULL,
    utm_campaign  text          NOT NULL,
    promo_code    text,
    budget_usd    numeric(12,2) NOT NULL DEFAULT 0,
    starts_on     date          NOT NULL,
    ends_on       date,
    is_always_on  boolean       GENERATED ALWAYS AS (ends_on IS NULL) STORED
);
COMMENT ON TABLE marts.dim_campaigns IS 'Marketing campaign dimension, one row per campaign.';
COMMENT ON COLUMN marts.dim_campaigns.campaign_key IS 'Surrogate key.';
COMMENT ON COLUMN marts.dim_campaigns.channel IS 'email, paid_search, paid_social, affiliate or display.';
COMMENT ON COLUMN marts.dim_campaigns.promo_code IS 'Discount code used to attribute orders to the campaign.';
COMMENT ON COLUMN marts.dim_campaigns.is_always_on IS 'True for campaigns without an end date (generated column).';

INSERT INTO marts.dim_campaigns (campaign_id, campaign_name, channel, utm_campaign, promo_code, budget_usd, starts_on, ends_on)
SELECT id, name, channel, utm_campaign, promo_code, budget_usd, starts_on, ends_on
FROM raw.marketing_campaigns
ORDER BY id;

CREATE TABLE marts.fct_orders (
    order_id          bigint           PRIMARY KEY,
    order_number      text             NOT NULL UNIQUE,
    customer_key      integer          NOT NULL REFERENCES marts.dim_customers (customer_key),
    order_date_key    integer          NOT NULL REFERENCES marts.dim_date (date_key),
    campaign_key      integer          REFERENCES marts.dim_campaigns (campaign_key),
    order_status      raw.order_status NOT NULL,
    currency_code     char(3)          NOT NULL,
    item_count        integer          NOT NULL CHECK (item_count > 0),
    gross_revenue     numeric(12,2)    NOT NULL CHECK (gross_revenue >= 0),
    discount_amount   numeric(12,2)    NOT NULL DEFAULT 0,
    shipping_amount   numeric(12,2)    NOT NULL DEFAULT 0,
    tax_amount        numeric(12,2)    NOT NULL DEFAULT 0,
    net_revenue       numeric(12,2)    NOT NULL CHECK (net_revenue >= 0),
    fx_rate_to_usd    numeric(18,8)    NOT NULL DEFAULT 1,
    net_revenue_usd   numeric(12,2)    NOT NULL,
    is_first_order    boolean          NOT NULL DEFAULT false,
    ordered_at        timestamptz      NOT NULL,
    _built_at         timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX fct_orders_customer_key_idx ON marts.fct_orders (customer_key);
CREATE INDEX fct_orders_order_date_key_idx ON marts.fct_orders (order_date_key);
COMMENT ON TABLE marts.fct_orders IS 'Order fact: one row per non-test order, including cancelled ones (filter on order_status). Revenue is tax and shipping exclusive. Refreshed hourly.';
COMMENT ON COLUMN marts.fct_orders.order_id IS 'Shop order id.';
COMMENT ON COLUMN marts.fct_orders.order_number IS 'Invoice order number.';
COMMENT ON COLUMN marts.fct_orders.customer_key IS 'Customer version current at order time.';
COMMENT ON COLUMN marts.fct_orders.order_date_key IS 'UTC order date (YYYYMMDD).';
COMMENT ON COLUMN marts.fct_orders.campaign_key IS 'Campaign the order is attributed to via its discount code; NULL if unattributed. Last-touch UTM attribution is not modelled yet.';
COMMENT ON COLUMN marts.fct_orders.order_status IS 'Current lifecycle state.';
COMMENT ON COLUMN marts.fct_orders.currency_code IS 'Currency of the local-currency amounts.';
COMMENT ON COLUMN marts.fct_orders.item_count IS 'Number of order lines.';
COMMENT ON COLUMN marts.fct_orders.gross_revenue IS 'Merchandise value before discounts, local currency.';
COMMENT ON COLUMN marts.fct_orders.discount_amount IS 'Discounts, local currency.';
COMMENT ON COLUMN marts.fct_orders.net_revenue IS 'gross_revenue - discount_amount, local currency, excludes tax and shipping.';
COMMENT ON COLUMN marts.fct_orders.fx_rate_to_usd IS 'USD per unit of currency_code on the order date (finance.fx_rates).';
COMMENT ON COLUMN marts.fct_orders.net_revenue_usd IS 'net_revenue converted to USD at the order-date rate. Use this for cross-currency totals.';
COMMENT ON COLUMN marts.fct_orders.is_first_order IS 'True for the customer''s first order ever.';
COMMENT ON COLUMN marts.fct_orders.ordered_at IS 'When checkout completed.';

INSERT INTO marts.fct_orders (order_id, order_number, customer_key, order_date_key, campaign_key, order_status,
                              currency_code, item_count, gross_revenue, discount_amount, shipping_amount, tax_amount,
                              net_revenue, fx_rate_to_usd, net_revenue_usd, is_first_order, ordered_at)
SELECT o.order_id, o.order_number, dc.customer_key, to_char(o.order_date, 'YYYYMMDD')::integer, cp.campaign_key,
       o.order_status, o.currency_code, i.item_count, o.subtotal_amount, o.discount_amount, o.shipping_amount,
       o.tax_amount, o.subtotal_amount - o.discount_amount, fx.usd_rate,
       round((o.subtotal_amount - o.discount_amount) * fx.usd_rate, 2),
       row_number() OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at) = 1,
       o.ordered_at
FROM staging.stg_orders AS o
JOIN marts.dim_customers AS dc ON dc.customer_id = o.customer_id AND dc.is_current
JOIN (SELECT order_id, count(*) AS item_count FROM staging.stg_order_items GROUP BY order_id) AS i
     ON i.order_id = o.order_id
JOIN finance.fx_rates AS fx ON fx.currency_code = o.currency_code AND fx.rate_date = o.order_date
LEFT JOIN marts.dim_campaigns AS cp ON cp.promo_code = o.discount_code;

CREATE TABLE marts.fct_order_items (
    order_item_id    bigint        PRIMARY KEY,
    order_id         bigint        NOT NULL REFERENCES marts.fct_orders (order_id) ON DELETE CASCADE,
    product_key      integer       NOT NULL REFERENCES marts.dim_products (product_key),
    order_date_key   integer       NOT NULL REFERENCES marts.dim_date (date_key),
    quantity         integer       NOT NULL CHECK (quantity > 0),
    unit_price       numeric(12,2) NOT NULL,
    discount_amount  numeric(12,2) NOT NULL DEFAULT 0,
    line_revenue     numeric(12,2) NOT NULL,
    line_cost        numeric(12,2) NOT NULL DEFAULT 0,
    line_margin      numeric(12,2) GENERATED ALWAYS AS (line_revenue - line_cost) STORED
);
CREATE INDEX fct_order_items_order_id_idx ON marts.fct_order_items (order_id);
CREATE INDEX fct_order_items_product_key_idx ON marts.fct_order_items (product_key);
COMMENT ON TABLE marts.fct_order_items IS 'Order line fact: one row per product per order. Revenue in local currency, cost in USD - do not subtract across currencies without fct_orders.fx_rate_to_usd.';
COMMENT ON COLUMN marts.fct_order_items.order_item_id IS 'Shop line item id.';
COMMENT ON COLUMN marts.fct_order_items.order_id IS 'Parent order.';
COMMENT ON COLUMN marts.fct_order_items.product_key IS 'Product ordered.';
COMMENT ON COLUMN marts.fct_order_items.order_date_key IS 'UTC order date (YYYYMMDD).';
COMMENT ON COLUMN marts.fct_order_items.quantity IS 'Units ordered.';
COMMENT ON COLUMN marts.fct_order_items.unit_price IS 'Unit price at order time, local currency.';
COMMENT ON COLUMN marts.fct_order_items.line_revenue IS 'quantity * unit_price - discount, local currency.';
COMMENT ON COLUMN marts.fct_order_items.line_cost IS 'quantity * unit cost, USD; 0 when the product has no cost.';
COMMENT ON COLUMN marts.fct_order_items.line_margin IS 'line_revenue - line_cost (generated). Only meaningful for USD orders.';

INSERT INTO marts.fct_order_items (order_item_id, order_id, product_key, order_date_key, quantity, unit_price,
                                   discount_amount, line_revenue, line_cost)
SELECT i.order_item_id, i.order_id, p.product_key, f.order_date_key, i.quantity, i.unit_price, i.discount_amount,
       i.line_amount, coalesce(i.quantity * p.unit_cost, 0)
FROM staging.stg_order_items AS i
JOIN marts.fct_orders AS f ON f.order_id = i.order_id
JOIN marts.dim_products AS p ON p.product_id = i.product_id;

CREATE MATERIALIZED VIEW marts.fct_daily_revenue AS
SELECT d.date_key,
       d.date_actual                                      AS revenue_date,
       d.day_name,
       d.is_weekend,
       count(*)                                           AS order_count,
       count(DISTINCT f.customer_key)                     AS customer_count,
       count(*) FILTER (WHERE f.is_first_order)           AS new_customer_orders,
       sum(f.item_count)                                  AS item_count,
       round(sum(f.gross_revenue * f.fx_rate_to_usd), 2)  AS gross_revenue_usd,
       sum(f.net_revenue_usd)                             AS net_revenue_usd,
       round(avg(f.net_revenue_usd), 2)                   AS avg_order_value_usd
FROM marts.fct_orders AS f
JOIN marts.dim_date AS d ON d.date_key = f.order_date_key
WHERE f.order_status NOT IN ('pending', 'cancelled')
GROUP BY d.date_key, d.date_actual, d.day_name, d.is_weekend
WITH NO DATA;
CREATE UNIQUE INDEX fct_daily_revenue_date_key_idx ON marts.fct_daily_revenue (date_key);
COMMENT ON MATERIALIZED VIEW marts.fct_daily_revenue IS 'Daily revenue KPIs in USD, one row per UTC day with at least one paid order. Excludes pending and cancelled orders; refunds are NOT deducted (see finance.monthly_revenue). Refreshed every hour at :15.';
COMMENT ON COLUMN marts.fct_daily_revenue.date_key IS 'UTC day (YYYYMMDD).';
COMMENT ON COLUMN marts.fct_daily_revenue.revenue_date IS 'UTC day.';
COMMENT ON COLUMN marts.fct_daily_revenue.order_count IS 'Paid orders placed that day.';
COMMENT ON COLUMN marts.fct_daily_revenue.customer_count IS 'Distinct customers ordering that day.';
COMMENT ON COLUMN marts.fct_daily_revenue.new_customer_orders IS 'Orders that were the customer''s first.';
COMMENT ON COLUMN marts.fct_daily_revenue.gross_revenue_usd IS 'Merchandise value before discounts, USD.';
COMMENT ON COLUMN marts.fct_daily_revenue.net_revenue_usd IS 'Net revenue after discounts, excluding tax and shipping, USD.';
COMMENT ON COLUMN marts.fct_daily_revenue.avg_order_value_usd IS 'Average net revenue per order, USD.';

CREATE VIEW marts.customer_lifetime_value AS
SELECT c.customer_key,
       c.customer_id,
       c.email,
       c.country_code,
       c.customer_segment,
       c.first_order_date,
       count(f.order_id) FILTER (WHERE f.order_status NOT IN ('pending', 'cancelled'))              AS paid_order_count,
       coalesce(sum(f.net_revenue_usd) FILTER (WHERE f.order_status NOT IN ('pending', 'cancelled')), 0) AS lifetime_revenue_usd,
       round(avg(f.net_revenue_usd) FILTER (WHERE f.order_status NOT IN ('pending', 'cancelled')), 2)    AS avg_order_value_usd,
       max(f.ordered_at)                                                                            AS last_ordered_at,
       (max(f.ordered_at) IS NOT NULL AND max(f.ordered_at) < timestamptz '2024-06-30 00:00:00+00' - interval '90 days') AS is_lapsed
FROM marts.dim_customers AS c
LEFT JOIN marts.fct_orders AS f ON f.customer_key = c.customer_key
WHERE c.is_current
GROUP BY c.customer_key, c.customer_id, c.email, c.country_code, c.customer_segment, c.first_order_date;
COMMENT ON VIEW marts.customer_lifetime_value IS 'Historical customer lifetime value: one row per current customer with paid orders and revenue to date (USD, refunds not deducted). Not a predictive CLV.';
COMMENT ON COLUMN marts.customer_lifetime_value.email IS 'PII: email address.';
COMMENT ON COLUMN marts.customer_lifetime_value.paid_order_count IS 'Orders excluding pending and cancelled.';
COMMENT ON COLUMN marts.customer_lifetime_value.lifetime_revenue_usd IS 'Sum of net revenue of paid orders, USD.';
COMMENT ON COLUMN marts.customer_lifetime_value.avg_order_value_usd IS 'Average net revenue per paid order, USD.';
COMMENT ON COLUMN marts.customer_lifetime_value.is_lapsed IS 'No order in the 90 days before 2024-06-30 (the demo data cut-off).';

-- Intentionally undocumented.
CREATE VIEW marts.product_performance AS
SELECT p.product_key,
       p.sku,
       p.product_name,
       p.category,
       sum(i.quantity)        AS units_sold,
       sum(i.line_revenue)    AS revenue_local,
       sum(i.line_margin)     AS margin_local,
       count(DISTINCT i.order_id) AS order_count
FROM marts.dim_products AS p
LEFT JOIN marts.fct_order_items AS i ON i.product_key = p.product_key
GROUP BY p.product_key, p.sku, p.product_name, p.category;

-- The orders everyone asks for first: the README's GraphQL examples name
-- this view. A view over staging, so its table and column lineage come
-- from its SQL.
CREATE VIEW marts.orders AS
SELECT o.order_id,
       o.order_number,
       o.customer_id,
       c.email                  AS customer_email,
       c.country_code           AS customer_country_code,
       o.order_status,
       o.currency_code,
       o.total_amount           AS amount,
       o.discount_code,
       o.ordered_at,
       o.order_date
FROM staging.stg_orders AS o
JOIN staging.stg_customers AS c ON c.customer_id = o.customer_id;
COMMENT ON VIEW marts.orders IS 'Every non-test order placed in the online shop, one row each, with the customer''s email and country. Amounts in the order currency, tax and shipping included; use fct_orders for revenue in USD.';
COMMENT ON COLUMN marts.orders.order_id IS 'Shop order id.';
COMMENT ON COLUMN marts.orders.order_number IS 'Invoice order number (AO-nnnnnn).';
COMMENT ON COLUMN marts.orders.customer_id IS 'Customer who placed the order.';
COMMENT ON COLUMN marts.orders.customer_email IS 'PII: email address of the customer, lower-cased.';
COMMENT ON COLUMN marts.orders.customer_country_code IS 'Country of the customer''s default address.';
COMMENT ON COLUMN marts.orders.order_status IS 'Current lifecycle state.';
COMMENT ON COLUMN marts.orders.currency_code IS 'ISO 4217 currency of amount.';
COMMENT ON COLUMN marts.orders.amount IS 'Amount charged to the customer, order currency, tax and shipping included.';
COMMENT ON COLUMN marts.orders.discount_code IS 'Discount code used, upper-cased; NULL if none.';
COMMENT ON COLUMN marts.orders.ordered_at IS 'When checkout completed.';
COMMENT ON COLUMN marts.orders.order_date IS 'UTC calendar date of ordered_at.';

-- =============================================================================
-- finance
-- =============================================================================

CREATE TABLE finance.refunds (
    refund_id     bigint        PRIMARY KEY,
    order_id      bigint        NOT NULL REFERENCES marts.fct_orders (order_id),
    currency_code char(3)       NOT NULL,
    amount        numeric(12,2) NOT NULL CHECK (amount > 0),
    amount_usd    numeric(12,2) NOT NULL CHECK (amount_usd > 0),
    reason        text          NOT NULL,
    is_full       boolean       NOT NULL,
    approved_by   text          NOT NULL DEFAULT 'support-bot',
    refunded_at   timestamptz   NOT NULL
);
CREATE INDEX refunds_order_id_idx ON finance.refunds (order_id);
COMMENT ON TABLE finance.refunds IS 'One row per refund issued, in local currency and USD at the refund-date rate. Source of truth for contra-revenue.';
COMMENT ON COLUMN finance.refunds.refund_id IS 'Shop refund id.';
COMMENT ON COLUMN finance.refunds.order_id IS 'Refunded order.';
COMMENT ON COLUMN finance.refunds.amount IS 'Refunded amount incl. tax and shipping, local currency.';
COMMENT ON COLUMN finance.refunds.amount_usd IS 'Refunded amount converted to USD at the refund-date rate.';
COMMENT ON COLUMN finance.refunds.reason IS 'damaged, wrong_size, late_delivery, customer_request or other.';
COMMENT ON COLUMN finance.refunds.is_full IS 'True if the whole order total was refunded.';
COMMENT ON COLUMN finance.refunds.approved_by IS 'PII: agent email, or support-bot for automatic refunds.';

INSERT INTO finance.refunds (refund_id, order_id, currency_code, amount, amount_usd, reason, is_full, approved_by, refunded_at)
SELECT r.id, r.order_id, o.currency_code, r.amount, round(r.amount * fx.usd_rate, 2), r.reason,
       r.amount >= o.total_amount,
       CASE WHEN r.amount >= 100 THEN 'maria.lopez@acme-outfitters.example' ELSE 'support-bot' END,
       r.created_at
FROM raw.shop_refunds AS r
JOIN staging.stg_orders AS o ON o.order_id = r.order_id
JOIN finance.fx_rates AS fx ON fx.currency_code = o.currency_code AND fx.rate_date = (r.created_at AT TIME ZONE 'UTC')::date;

CREATE TABLE finance.revenue_recognition (
    entry_id           bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id           bigint        NOT NULL REFERENCES marts.fct_orders (order_id),
    gl_account_code    text          NOT NULL REFERENCES finance.gl_accounts (account_code),
    recognized_on      date          NOT NULL,
    amount_usd         numeric(12,2) NOT NULL CHECK (amount_usd <> 0),
    recognition_event  text          NOT NULL CHECK (recognition_event IN ('shipment', 'refund_reversal', 'manual_adjustment')),
    refund_id          bigint        REFERENCES finance.refunds (refund_id),
    posted_at          timestamptz   NOT NULL DEFAULT now(),
    posted_by          text          NOT NULL DEFAULT current_user,
    CONSTRAINT revenue_recognition_event_key UNIQUE (order_id, gl_account_code, recognition_event, refund_id)
);
CREATE INDEX revenue_recognition_recognized_on_idx ON finance.revenue_recognition (recognized_on);
COMMENT ON TABLE finance.revenue_recognition IS 'Revenue journal (ASC 606): revenue is recognised when the order ships, one entry per order and GL account; refunds post negative reversals. Closed months are never restated; corrections are manual_adjustment entries.';
COMMENT ON COLUMN finance.revenue_recognition.entry_id IS 'Journal entry id.';
COMMENT ON COLUMN finance.revenue_recognition.gl_account_code IS 'GL account credited (4000 product, 4010 shipping, 4900 returns).';
COMMENT ON COLUMN finance.revenue_recognition.recognized_on IS 'Accounting date: UTC ship date, or refund date for reversals.';
COMMENT ON COLUMN finance.revenue_recognition.amount_usd IS 'Signed amount in USD; negative for reversals.';
COMMENT ON COLUMN finance.revenue_recognition.recognition_event IS 'What triggered the entry.';
COMMENT ON COLUMN finance.revenue_recognition.refund_id IS 'Refund that caused a reversal entry.';
COMMENT ON COLUMN finance.revenue_recognition.posted_at IS 'When the entry was written.';
COMMENT ON COLUMN finance.revenue_recognition.posted_by IS 'Database user or job that wrote the entry.';

INSERT INTO finance.revenue_recognition (order_id, gl_account_code, recognized_on, amount_usd, recognition_event, refund_id, posted_by)
SELECT f.order_id, '4000', (s.shipped_at AT TIME ZONE 'UTC')::date, f.net_revenue_usd, 'shipment', NULL::bigint, 'airflow:revrec_daily'
FROM marts.fct_orders AS f
JOIN staging.stg_shipments AS s ON s.order_id = f.order_id
UNION ALL
SELECT f.order_id, '4010', (s.shipped_at AT TIME ZONE 'UTC')::date, round(f.shipping_amount * f.fx_rate_to_usd, 2), 'shipment', NULL, 'airflow:revrec_daily'
FROM marts.fct_orders AS f
JOIN staging.stg_shipments AS s ON s.order_id = f.order_id
WHERE f.shipping_amount > 0
UNION ALL
SELECT r.order_id, '4900', (r.refunded_at AT TIME ZONE 'UTC')::date, -r.amount_usd, 'refund_reversal', r.refund_id, 'airflow:revrec_daily'
FROM finance.refunds AS r
ORDER BY 3, 1, 2;

CREATE VIEW finance.monthly_revenue AS
SELECT date_trunc('month', rr.recognized_on)::date                                           AS revenue_month,
       coalesce(sum(rr.amount_usd) FILTER (WHERE rr.gl_account_code = '4000'), 0)            AS product_revenue_usd,
       coalesce(sum(rr.amount_usd) FILTER (WHERE rr.gl_account_code = '4010'), 0)            AS shipping_revenue_usd,
       coalesce(sum(rr.amount_usd) FILTER (WHERE rr.gl_account_code = '4900'), 0)            AS refunds_usd,
       sum(rr.amount_usd)                                                                    AS net_revenue_usd,
       count(DISTINCT rr.order_id) FILTER (WHERE rr.recognition_event = 'shipment')          AS orders_recognized
FROM finance.revenue_recognition AS rr
JOIN finance.gl_accounts AS a ON a.account_code = rr.gl_account_code
WHERE a.account_type IN ('revenue', 'contra_revenue')
GROUP BY 1;
COMMENT ON VIEW finance.monthly_revenue IS 'Recognised revenue per calendar month in USD, net of refunds. This is the number reported to the board; it differs from marts.fct_daily_revenue, which counts orders when placed.';
COMMENT ON COLUMN finance.monthly_revenue.revenue_month IS 'First day of the accounting month.';
COMMENT ON COLUMN finance.monthly_revenue.product_revenue_usd IS 'GL 4000, USD.';
COMMENT ON COLUMN finance.monthly_revenue.shipping_revenue_usd IS 'GL 4010, USD.';
COMMENT ON COLUMN finance.monthly_revenue.refunds_usd IS 'GL 4900, negative, USD.';
COMMENT ON COLUMN finance.monthly_revenue.net_revenue_usd IS 'Product + shipping + refunds, USD.';
COMMENT ON COLUMN finance.monthly_revenue.orders_recognized IS 'Orders whose revenue was recognised in the month.';

CREATE VIEW finance.unpaid_orders AS
SELECT o.order_id,
       o.order_number,
       o.customer_email,
       o.order_status,
       o.currency_code,
       o.amount,
       o.ordered_at
FROM marts.orders AS o
WHERE o.order_status IN ('paid', 'shipped', 'delivered')
  AND NOT EXISTS (SELECT 1
                  FROM staging.stg_payments AS p
                  WHERE p.order_id = o.order_id AND p.payment_status = 'succeeded');
COMMENT ON VIEW finance.unpaid_orders IS 'Orders the shop marked paid, shipped or delivered without a succeeded Stripe charge. Worked through daily by accounts receivable; should be empty.';
COMMENT ON COLUMN finance.unpaid_orders.amount IS 'Amount the customer should have been charged, order currency.';

-- =============================================================================
-- ops
-- =============================================================================

CREATE TABLE ops.warehouses (
    warehouse_code  text     PRIMARY KEY CHECK (warehouse_code ~ '^[A-Z]{3}[0-9]$'),
    name            text     NOT NULL UNIQUE,
    city            text     NOT NULL,
    region          text     NOT NULL,
    country_code    char(2)  NOT NULL DEFAULT 'US',
    timezone        text     NOT NULL,
    capacity_units  integer  NOT NULL CHECK (capacity_units > 0),
    is_3pl          boolean  NOT NULL DEFAULT false,
    opened_on       date     NOT NULL
);
COMMENT ON TABLE ops.warehouses IS 'Fulfilment centres, one row per site. Maintained by hand by the ops team.';
COMMENT ON COLUMN ops.warehouses.warehouse_code IS 'Site code (IATA-style city code + number).';
COMMENT ON COLUMN ops.warehouses.timezone IS 'IANA time zone; cut-off times are local.';
COMMENT ON COLUMN ops.warehouses.capacity_units IS 'Storage capacity in pallet positions.';
COMMENT ON COLUMN ops.warehouses.is_3pl IS 'True if run by a third-party logistics partner.';

INSERT INTO ops.warehouses (warehouse_code, name, city, region, timezone, capacity_units, is_3pl, opened_on) VALUES
    ('PDX1', 'Portland Fulfilment Center', 'Portland', 'West', 'America/Los_Angeles', 12000, false, '2019-04-01'),
    ('CMH1', 'Columbus Fulfilment Center', 'Columbus', 'East', 'America/New_York', 18000, false, '2021-09-15'),
    ('RNO2', 'Reno 3PL (ShipRight)', 'Reno', 'West', 'America/Los_Angeles', 6000, true, '2023-05-01');

CREATE TABLE ops.shipping_sla_policies (
    carrier                 text          NOT NULL,
    service_level           text          NOT NULL CHECK (service_level IN ('ground', 'two_day', 'express')),
    promised_days           smallint      NOT NULL CHECK (promised_days > 0),
    cutoff_local_time       time          NOT NULL DEFAULT '14:00',
    penalty_usd             numeric(12,2) NOT NULL DEFAULT 0,
    effective_from          date          NOT NULL DEFAULT '2024-01-01',
    PRIMARY KEY (carrier, service_level)
);
COMMENT ON TABLE ops.shipping_sla_policies IS 'Delivery promise per carrier and service level, from the carrier contracts.';
COMMENT ON COLUMN ops.shipping_sla_policies.promised_days IS 'Calendar days from ship scan to delivery the carrier commits to.';
COMMENT ON COLUMN ops.shipping_sla_policies.cutoff_local_time IS 'Orders picked after this warehouse-local time ship the next day.';
COMMENT ON COLUMN ops.shipping_sla_policies.penalty_usd IS 'Credit the carrier owes per late parcel, USD.';

INSERT INTO ops.shipping_sla_policies (carrier, service_level, promised_days, penalty_usd)
SELECT c, s, CASE s WHEN 'ground' THEN 5 WHEN 'two_day' THEN 2 ELSE 1 END,
       CASE s WHEN 'ground' THEN 0 WHEN 'two_day' THEN 4.50 ELSE 12.00 END
FROM unnest(ARRAY['UPS', 'FedEx', 'USPS', 'DHL']) AS c
CROSS JOIN unnest(ARRAY['ground', 'two_day', 'express']) AS s;

CREATE TABLE ops.shipment_tracking (
    shipment_id      bigint              PRIMARY KEY,
    order_id         bigint              NOT NULL REFERENCES marts.fct_orders (order_id),
    warehouse_code   text                NOT NULL REFERENCES ops.warehouses (warehouse_code),
    carrier          text                NOT NULL,
    service_level    text                NOT NULL,
    tracking_number  text                NOT NULL UNIQUE,
    status           ops.shipment_status NOT NULL DEFAULT 'label_created',
    shipped_at       timestamptz         NOT NULL,
    promised_by      timestamptz         NOT NULL,
    delivered_at     timestamptz,
    is_late          boolean             GENERATED ALWAYS AS (delivered_at > promised_by) STORED,
    updated_at       timestamptz         NOT NULL DEFAULT now(),
    CONSTRAINT shipment_tracking_policy_fkey FOREIGN KEY (carrier, service_level)
        REFERENCES ops.shipping_sla_policies (carrier, service_level),
    CONSTRAINT shipment_tracking_promise_chk CHECK (promised_by > shipped_at)
);
CREATE INDEX shipment_tracking_order_id_idx ON ops.shipment_tracking (order_id);
COMMENT ON TABLE ops.shipment_tracking IS 'Shipment status with the SLA promise attached, one row per parcel. Updated every 30 minutes from carrier webhooks.';
COMMENT ON COLUMN ops.shipment_tracking.order_id IS 'Order shipped.';
COMMENT ON COLUMN ops.shipment_tracking.status IS 'Normalised tracking status.';
COMMENT ON COLUMN ops.shipment_tracking.promised_by IS 'shipped_at + promised_days of the SLA policy.';
COMMENT ON COLUMN ops.shipment_tracking.delivered_at IS 'Delivery scan; NULL while in transit.';
COMMENT ON COLUMN ops.shipment_tracking.is_late IS 'True if delivered after promised_by (generated; NULL while in transit).';

INSERT INTO ops.shipment_tracking (shipment_id, order_id, warehouse_code, carrier, service_level, tracking_number,
                                   status, shipped_at, promised_by, delivered_at)
SELECT s.shipment_id, s.order_id, s.warehouse_code, s.carrier, s.service_level, s.tracking_number,
       CASE WHEN s.delivered_at IS NOT NULL THEN 'delivered'
            WHEN s.shipment_id % 29 = 0 THEN 'exception'
            ELSE 'in_transit' END::ops.shipment_status,
       s.shipped_at,
       s.shipped_at + p.promised_days * interval '1 day',
       s.delivered_at
FROM staging.stg_shipments AS s
JOIN ops.shipping_sla_policies AS p ON p.carrier = s.carrier AND p.service_level = s.service_level
JOIN marts.fct_orders AS f ON f.order_id = s.order_id;

-- Partly documented: no column comments yet.
CREATE TABLE ops.inventory_levels (
    snapshot_date     date        NOT NULL,
    warehouse_code    text        NOT NULL REFERENCES ops.warehouses (warehouse_code),
    product_key       integer     NOT NULL REFERENCES marts.dim_products (product_key),
    on_hand_qty       integer     NOT NULL CHECK (on_hand_qty >= 0),
    reserved_qty      integer     NOT NULL DEFAULT 0 CHECK (reserved_qty >= 0),
    available_qty     integer     GENERATED ALWAYS AS (greatest(on_hand_qty - reserved_qty, 0)) STORED,
    inbound_qty       integer     NOT NULL DEFAULT 0,
    reorder_point     integer     NOT NULL DEFAULT 10,
    is_below_reorder  boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (snapshot_date, warehouse_code, product_key)
);
COMMENT ON TABLE ops.inventory_levels IS 'Daily stock per product and warehouse with reorder flags, last 14 days. Quantities in units (eaches).';

INSERT INTO ops.inventory_levels (snapshot_date, warehouse_code, product_key, on_hand_qty, reserved_qty, inbound_qty,
                                  reorder_point, is_below_reorder)
SELECT s.snapshot_date, s.warehouse_code, p.product_key, s.on_hand_qty, s.reserved_qty, s.inbound_qty,
       10 + p.product_key % 3 * 5,
       s.on_hand_qty - s.reserved_qty < 10 + p.product_key % 3 * 5
FROM raw.inventory_snapshots AS s
JOIN marts.dim_products AS p ON p.product_id = s.product_id;

CREATE VIEW ops.late_shipments AS
SELECT st.shipment_id,
       st.order_id,
       st.carrier,
       st.service_level,
       w.name                                                                   AS warehouse_name,
       st.status,
       st.shipped_at,
       st.promised_by,
       st.delivered_at,
       round((extract(epoch FROM coalesce(st.delivered_at, now()) - st.promised_by) / 3600)::numeric, 1) AS hours_late,
       p.penalty_usd                                                            AS carrier_credit_usd
FROM ops.shipment_tracking AS st
JOIN ops.warehouses AS w ON w.warehouse_code = st.warehouse_code
JOIN ops.shipping_sla_policies AS p ON p.carrier = st.carrier AND p.service_level = st.service_level
WHERE coalesce(st.delivered_at, now()) > st.promised_by;
COMMENT ON VIEW ops.late_shipments IS 'Parcels that missed their SLA promise: delivered late, or still undelivered past promised_by. Feeds the on-time-delivery SLO and carrier credit claims.';
COMMENT ON COLUMN ops.late_shipments.hours_late IS 'Hours past the promise; for undelivered parcels, measured up to now().';
COMMENT ON COLUMN ops.late_shipments.carrier_credit_usd IS 'Credit claimable from the carrier for this parcel, USD.';

-- Supplier catalogue lives in the procurement portal's database; exposed here
-- through postgres_fdw. The remote is not reachable from the demo (never queried).
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SERVER supplier_portal
    FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host 'suppliers.acme-outfitters.internal', port '5432', dbname 'supplier_portal', fetch_size '500');
CREATE USER MAPPING FOR PUBLIC SERVER supplier_portal OPTIONS (user 'warehouse_reader');

CREATE FOREIGN TABLE ops.supplier_catalog (
    supplier_sku      text          NOT NULL,
    supplier_name     text          NOT NULL,
    product_sku       text,
    description       text,
    unit_cost         numeric(12,2) NOT NULL,
    currency_code     char(3)       NOT NULL,
    lead_time_days    integer,
    min_order_qty     integer,
    updated_at        timestamptz
)
SERVER supplier_portal
OPTIONS (schema_name 'public', table_name 'catalog_items');
COMMENT ON FOREIGN TABLE ops.supplier_catalog IS 'Live supplier price list from the procurement portal (postgres_fdw). One row per supplier SKU. Queries hit the remote database; avoid full scans during business hours.';
COMMENT ON COLUMN ops.supplier_catalog.supplier_sku IS 'Supplier''s own article number.';
COMMENT ON COLUMN ops.supplier_catalog.product_sku IS 'Our SKU (raw.shop_products.sku) once the article is mapped; NULL until then.';
COMMENT ON COLUMN ops.supplier_catalog.unit_cost IS 'Quoted unit cost in currency_code, before freight and duty.';
COMMENT ON COLUMN ops.supplier_catalog.lead_time_days IS 'Quoted lead time from PO to arrival at our dock.';

-- =============================================================================
-- Ownership and grants
-- =============================================================================
-- raw belongs to the data platform team, staging and marts to analytics
-- engineering, finance to the finance team. ops stays with the bootstrap
-- superuser except for the site list and the supplier feed.

DO $$
DECLARE
    m   record;
    obj record;
BEGIN
    FOR m IN SELECT * FROM (VALUES ('raw', 'data_platform'),
                                   ('staging', 'analytics_engineers'),
                                   ('marts', 'analytics_engineers'),
                                   ('finance', 'finance_team')) AS t (schema_name, role_name)
    LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', m.schema_name, m.role_name);
        FOR obj IN
            SELECT c.relname,
                   CASE c.relkind WHEN 'v' THEN 'VIEW'
                                  WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE'
                                  ELSE 'TABLE' END AS kind
            FROM pg_catalog.pg_class AS c
            WHERE c.relnamespace = m.schema_name::regnamespace
              AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        LOOP
            EXECUTE format('ALTER %s %I.%I OWNER TO %I', obj.kind, m.schema_name, obj.relname, m.role_name);
        END LOOP;
    END LOOP;
END
$$;

ALTER TYPE raw.order_status OWNER TO data_platform;
ALTER TABLE marts.dim_date OWNER TO data_platform;
ALTER TABLE ops.warehouses OWNER TO data_platform;
ALTER FOREIGN TABLE ops.supplier_catalog OWNER TO data_platform;

GRANT USAGE ON SCHEMA raw TO analytics_engineers;
GRANT SELECT ON ALL TABLES IN SCHEMA raw TO analytics_engineers;
GRANT USAGE ON SCHEMA staging, marts TO finance_team, data_platform;
GRANT SELECT ON ALL TABLES IN SCHEMA staging TO finance_team;
GRANT SELECT ON ALL TABLES IN SCHEMA marts TO finance_team, data_platform;
GRANT SELECT ON marts.dim_date TO analytics_engineers;
GRANT USAGE ON SCHEMA finance TO analytics_engineers;
GRANT SELECT ON finance.fx_rates, finance.monthly_revenue TO analytics_engineers;
GRANT USAGE ON SCHEMA ops TO analytics_engineers, finance_team;
GRANT SELECT ON ALL TABLES IN SCHEMA ops TO analytics_engineers;

-- =============================================================================
-- Refresh and statistics
-- =============================================================================

REFRESH MATERIALIZED VIEW marts.fct_daily_revenue;
ANALYZE;
