-- Columns whose types, defaults and ordinals print in every way the
-- public sample databases made the crawler stumble on, written anew for
-- TestLikePsql: domains with quoted names in public used from other
-- schemas and columns dropped after loading (as AdventureWorks for
-- Postgres does), enums and serial sequences (as Pagila does), and
-- sequences whose names need quoting. psql's \d is the reference.

CREATE DOMAIN "Name" varchar(50);
CREATE DOMAIN "Flag" boolean NOT NULL;
-- pg_catalog.int4 comes first in every search_path: this one stays
-- qualified.
CREATE DOMAIN public.int4 AS integer;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE FUNCTION next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'C' || floor(random() * 1000)::text $$;

CREATE SCHEMA hr;
-- Outside the search_path: qualified.
CREATE TYPE hr.level AS ENUM ('junior', 'senior');
CREATE SEQUENCE hr."Badge Seq";
CREATE FUNCTION hr.today() RETURNS date LANGUAGE sql AS $$ SELECT current_date $$;

CREATE TABLE hr.employee (
    id serial PRIMARY KEY,
    badge integer DEFAULT nextval('hr."Badge Seq"'),
    org_level smallint,
    name "Name" NOT NULL,
    salaried "Flag" NOT NULL DEFAULT true,
    level hr.level DEFAULT 'junior',
    mood mood DEFAULT 'ok',
    moods mood[],
    code text DEFAULT next_code(),
    hired date DEFAULT hr.today(),
    rowguid uuid NOT NULL DEFAULT gen_random_uuid(),
    odd public.int4,
    pay numeric(10,2),
    pay_eur numeric(10,2) GENERATED ALWAYS AS (pay * 0.9) STORED,
    vacation interval DEFAULT '1 day'::interval + '2 hours',
    modified timestamp without time zone NOT NULL DEFAULT now()
);
-- Dropped columns leave gaps in the ordinal positions.
ALTER TABLE hr.employee DROP COLUMN org_level;
ALTER TABLE hr.employee DROP COLUMN odd;
ALTER TABLE hr.employee ADD COLUMN node varchar DEFAULT '/';
ALTER TABLE hr.employee ADD COLUMN odd public.int4;

CREATE TABLE public."Badge Log" (
    at date NOT NULL,
    scratch integer,
    badge integer DEFAULT nextval('hr."Badge Seq"'::regclass),
    seq bigint GENERATED ALWAYS AS IDENTITY,
    note "Name"
) PARTITION BY RANGE (at);
ALTER TABLE public."Badge Log" DROP COLUMN scratch;
CREATE TABLE public."Badge Log 2024" PARTITION OF public."Badge Log"
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

CREATE VIEW hr.v_employee AS
    SELECT id, name, salaried, level, mood FROM hr.employee;
CREATE MATERIALIZED VIEW hr.levels AS
    SELECT level, count(*) AS n FROM hr.employee GROUP BY level;
