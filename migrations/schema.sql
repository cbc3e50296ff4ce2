--
-- PostgreSQL database dump
--

--
-- Name: river_job_state; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.river_job_state AS ENUM (
    'available',
    'cancelled',
    'completed',
    'discarded',
    'pending',
    'retryable',
    'running',
    'scheduled'
);

--
-- Name: change_log_notify(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.change_log_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('almanac_changes', (SELECT max(seq)::text FROM new_rows));
    RETURN NULL;
END
$$;

--
-- Name: river_job_state_in_bitmask(bit, public.river_job_state); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.river_job_state_in_bitmask(bitmask bit, state public.river_job_state) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE state
        WHEN 'available' THEN get_bit(bitmask, 7)
        WHEN 'cancelled' THEN get_bit(bitmask, 6)
        WHEN 'completed' THEN get_bit(bitmask, 5)
        WHEN 'discarded' THEN get_bit(bitmask, 4)
        WHEN 'pending'   THEN get_bit(bitmask, 3)
        WHEN 'retryable' THEN get_bit(bitmask, 2)
        WHEN 'running'   THEN get_bit(bitmask, 1)
        WHEN 'scheduled' THEN get_bit(bitmask, 0)
        ELSE 0
    END = 1;
$$;

--
-- Name: run_supersedes(text, timestamp with time zone, text, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.run_supersedes(old_state text, old_at timestamp with time zone, new_state text, new_at timestamp with time zone) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT (CASE WHEN new_state IN ('COMPLETE', 'FAIL', 'ABORT') THEN 2 WHEN new_state IN ('START', 'RUNNING') THEN 1 ELSE 0 END,
            new_at)
        >= (CASE WHEN old_state IN ('COMPLETE', 'FAIL', 'ABORT') THEN 2 WHEN old_state IN ('START', 'RUNNING') THEN 1 ELSE 0 END,
            old_at)
$$;

--
-- Name: slo_statuses_delete(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.slo_statuses_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE slo_evaluations e SET declared_hash = 'migrated', seq = 0
    FROM datasets d
    WHERE e.dataset_id = d.id AND d.namespace = OLD.dataset_namespace AND d.name = OLD.dataset_name;
    DELETE FROM slo_reports r USING datasets d
    WHERE r.dataset_id = d.id AND d.namespace = OLD.dataset_namespace AND d.name = OLD.dataset_name
      AND r.source = OLD.source AND r.name = OLD.name;
    RETURN OLD;
END
$$;

--
-- Name: slo_statuses_insert(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.slo_statuses_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    id bigint;
BEGIN
    SELECT d.id INTO id FROM datasets d WHERE d.namespace = NEW.dataset_namespace AND d.name = NEW.dataset_name;
    IF id IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO slo_evaluations (dataset_id, seq, evaluated_at, declared_hash, anomalies)
    VALUES (id, 0, NEW.evaluated_at, 'migrated', '[]')
    ON CONFLICT (dataset_id) DO UPDATE SET declared_hash = 'migrated', seq = 0;
    IF EXISTS (SELECT 1 FROM slo_reports r WHERE r.dataset_id = id AND r.source = NEW.source AND r.name = NEW.name) THEN
        RETURN NULL; -- slo_statuses' key was (dataset, source, name)
    END IF;
    INSERT INTO slo_reports (dataset_id, ordinal, source, name, kind, status, attainment, error, evaluated_at, slo, report)
    VALUES (id, (SELECT coalesce(max(r.ordinal) + 1, 0) FROM slo_reports r WHERE r.dataset_id = id),
            NEW.source, NEW.name, '', NEW.status, NEW.attainment, '', NEW.evaluated_at,
            jsonb_build_object('Name', NEW.name, 'Source', NEW.source, 'Spec', jsonb_build_object('Objective', NEW.objective)),
            jsonb_build_object('Status', NEW.status, 'Summary', NEW.summary, 'Attainment', NEW.attainment));
    RETURN NEW;
END
$$;

--
-- Name: api_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_tokens (
    id bigint NOT NULL,
    hash bytea NOT NULL,
    name text NOT NULL,
    owner text DEFAULT ''::text NOT NULL,
    role text NOT NULL,
    scopes text[] NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    revoked_by text DEFAULT ''::text NOT NULL,
    CONSTRAINT api_tokens_check CHECK ((expires_at > created_at)),
    CONSTRAINT api_tokens_hash_check CHECK ((length(hash) = 32)),
    CONSTRAINT api_tokens_name_check CHECK ((name <> ''::text)),
    CONSTRAINT api_tokens_role_check CHECK ((role = ANY (ARRAY['viewer'::text, 'editor'::text, 'admin'::text]))),
    CONSTRAINT api_tokens_scopes_check CHECK (((cardinality(scopes) > 0) AND (scopes <@ ARRAY['read'::text, 'write'::text, 'lineage:write'::text])))
);

--
-- Name: api_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.api_tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.api_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: audit_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor text NOT NULL,
    dataset_id bigint NOT NULL,
    field text NOT NULL,
    column_name text DEFAULT ''::text NOT NULL,
    before text,
    after text,
    CONSTRAINT audit_log_field_check CHECK ((field = ANY (ARRAY['description'::text, 'column_description'::text, 'tag'::text, 'owner'::text, 'slo'::text, 'link'::text])))
);

--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: auth_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.auth_events (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    kind text NOT NULL,
    outcome text NOT NULL,
    actor text DEFAULT ''::text NOT NULL,
    subject text DEFAULT ''::text NOT NULL,
    detail text DEFAULT ''::text NOT NULL,
    remote_addr text DEFAULT ''::text NOT NULL,
    CONSTRAINT auth_events_kind_check CHECK ((kind = ANY (ARRAY['login'::text, 'logout'::text, 'session_revoked'::text, 'token_created'::text, 'token_used'::text, 'token_revoked'::text, 'role_changed'::text, 'access_denied'::text]))),
    CONSTRAINT auth_events_outcome_check CHECK ((outcome = ANY (ARRAY['success'::text, 'failure'::text])))
);

--
-- Name: auth_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.auth_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.auth_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: change_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.change_log (
    seq bigint NOT NULL,
    entity text NOT NULL,
    entity_id bigint NOT NULL,
    namespace text DEFAULT ''::text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    kind text NOT NULL,
    source text NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    details jsonb
);

--
-- Name: change_log_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.change_log ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.change_log_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: column_lineage; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.column_lineage (
    source text NOT NULL,
    namespace text NOT NULL,
    name text NOT NULL,
    column_name text NOT NULL,
    input_namespace text NOT NULL,
    input_name text NOT NULL,
    input_column text NOT NULL,
    transformation_type text DEFAULT ''::text NOT NULL,
    transformation_subtype text DEFAULT ''::text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    masking boolean DEFAULT false NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: columns; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.columns (
    dataset_id bigint NOT NULL,
    source text NOT NULL,
    name text NOT NULL,
    ordinal integer DEFAULT 0 NOT NULL,
    data_type text DEFAULT ''::text NOT NULL,
    nullable boolean DEFAULT true NOT NULL,
    default_expr text DEFAULT ''::text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    primary_key boolean DEFAULT false NOT NULL
);

--
-- Name: crawl_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.crawl_runs (
    id bigint NOT NULL,
    source text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    status text NOT NULL,
    counts jsonb DEFAULT '{}'::jsonb NOT NULL,
    errors jsonb DEFAULT '[]'::jsonb NOT NULL,
    CONSTRAINT crawl_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'partial'::text, 'failed'::text])))
);

--
-- Name: crawl_runs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.crawl_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.crawl_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: dataset_aliases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dataset_aliases (
    dataset_id bigint NOT NULL,
    source text NOT NULL,
    namespace text NOT NULL,
    name text NOT NULL,
    type text DEFAULT ''::text NOT NULL
);

--
-- Name: dataset_facts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dataset_facts (
    dataset_id bigint NOT NULL,
    source text NOT NULL,
    platform text DEFAULT ''::text NOT NULL,
    kind text DEFAULT ''::text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    definition text DEFAULT ''::text NOT NULL,
    row_estimate bigint,
    size_bytes bigint,
    partition_key text DEFAULT ''::text NOT NULL,
    partitions jsonb DEFAULT '[]'::jsonb NOT NULL,
    properties jsonb DEFAULT '{}'::jsonb NOT NULL,
    content_hash bytea NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    removed_at timestamp with time zone
);

--
-- Name: dataset_links; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dataset_links (
    id bigint NOT NULL,
    dataset_id bigint NOT NULL,
    title text NOT NULL,
    url text NOT NULL,
    added_by text NOT NULL,
    added_at timestamp with time zone NOT NULL,
    CONSTRAINT dataset_links_title_check CHECK (((title <> ''::text) AND (length(title) <= 200))),
    CONSTRAINT dataset_links_url_check CHECK (((url ~ '^https?://'::text) AND (length(url) <= 2048)))
);

--
-- Name: dataset_links_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.dataset_links ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.dataset_links_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: dataset_metrics; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dataset_metrics (
    namespace text NOT NULL,
    name text NOT NULL,
    observed_at timestamp with time zone NOT NULL,
    source text NOT NULL,
    direction text NOT NULL,
    run_id text DEFAULT ''::text NOT NULL,
    job_namespace text DEFAULT ''::text NOT NULL,
    job_name text DEFAULT ''::text NOT NULL,
    row_count bigint,
    bytes bigint,
    file_count bigint,
    column_metrics jsonb DEFAULT '{}'::jsonb NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT dataset_metrics_bytes_check CHECK ((bytes >= 0)),
    CONSTRAINT dataset_metrics_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text, ''::text]))),
    CONSTRAINT dataset_metrics_file_count_check CHECK ((file_count >= 0)),
    CONSTRAINT dataset_metrics_row_count_check CHECK ((row_count >= 0))
);

--
-- Name: dataset_popularity; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dataset_popularity (
    dataset_id bigint NOT NULL,
    jobs integer NOT NULL,
    runs bigint NOT NULL,
    queries bigint NOT NULL,
    score double precision NOT NULL,
    computed_at timestamp with time zone NOT NULL
);

--
-- Name: dataset_slos; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dataset_slos (
    id bigint NOT NULL,
    dataset_id bigint NOT NULL,
    name text NOT NULL,
    source text NOT NULL,
    declaration jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT dataset_slos_name_check CHECK ((name <> ''::text)),
    CONSTRAINT dataset_slos_source_check CHECK ((source ~~ 'user:%'::text))
);

--
-- Name: dataset_slos_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.dataset_slos ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.dataset_slos_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: datasets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.datasets (
    id bigint NOT NULL,
    namespace text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    removed_at timestamp with time zone
);

--
-- Name: datasets_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.datasets ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.datasets_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: follows; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.follows (
    id bigint NOT NULL,
    login text NOT NULL,
    kind text NOT NULL,
    namespace text DEFAULT ''::text NOT NULL,
    name text NOT NULL,
    channel text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT follows_channel_check CHECK ((channel <> ''::text)),
    CONSTRAINT follows_check CHECK (((kind = 'dataset'::text) = (namespace <> ''::text))),
    CONSTRAINT follows_kind_check CHECK ((kind = ANY (ARRAY['dataset'::text, 'team'::text, 'search'::text]))),
    CONSTRAINT follows_login_check CHECK ((login <> ''::text)),
    CONSTRAINT follows_name_check CHECK ((name <> ''::text))
);

--
-- Name: follows_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.follows ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.follows_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: foreign_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.foreign_keys (
    dataset_id bigint NOT NULL,
    source text NOT NULL,
    name text NOT NULL,
    columns text[] NOT NULL,
    target_namespace text NOT NULL,
    target_name text NOT NULL,
    target_columns text[] NOT NULL
);

--
-- Name: freshness_observations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.freshness_observations (
    source text NOT NULL,
    dataset_namespace text NOT NULL,
    dataset_name text NOT NULL,
    observed_at timestamp with time zone NOT NULL,
    max_loaded_at timestamp with time zone,
    status text NOT NULL,
    warn_after text DEFAULT ''::text NOT NULL,
    error_after text DEFAULT ''::text NOT NULL,
    criteria text DEFAULT ''::text NOT NULL,
    message text DEFAULT ''::text NOT NULL,
    run_id text DEFAULT ''::text NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT freshness_observations_status_check CHECK ((status = ANY (ARRAY['pass'::text, 'warn'::text, 'error'::text, 'runtime error'::text])))
);

--
-- Name: incident_detector; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.incident_detector (
    singleton boolean DEFAULT true NOT NULL,
    seq bigint NOT NULL,
    swept_at timestamp with time zone,
    CONSTRAINT incident_detector_singleton_check CHECK (singleton)
);

--
-- Name: incident_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.incident_events (
    id bigint NOT NULL,
    incident_id bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    kind text NOT NULL,
    actor text NOT NULL,
    note text DEFAULT ''::text NOT NULL,
    CONSTRAINT incident_events_kind_check CHECK ((kind = ANY (ARRAY['opened'::text, 'acknowledged'::text, 'resolved'::text, 'reviewed'::text])))
);

--
-- Name: incident_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.incident_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.incident_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: incidents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.incidents (
    id bigint NOT NULL,
    dataset_namespace text NOT NULL,
    dataset_name text NOT NULL,
    cause text NOT NULL,
    cause_key text DEFAULT ''::text NOT NULL,
    severity text NOT NULL,
    title text NOT NULL,
    detail text DEFAULT ''::text NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    opened_by text NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    acknowledged_at timestamp with time zone,
    acknowledged_by text DEFAULT ''::text NOT NULL,
    resolved_at timestamp with time zone,
    resolved_by text DEFAULT ''::text NOT NULL,
    resolution text DEFAULT ''::text NOT NULL,
    impact jsonb DEFAULT '[]'::jsonb NOT NULL,
    review jsonb,
    CONSTRAINT incidents_cause_check CHECK ((cause = ANY (ARRAY['check_failed'::text, 'run_failed'::text, 'run_late'::text, 'schema_breaking'::text, 'slo_breach'::text]))),
    CONSTRAINT incidents_severity_check CHECK ((severity = ANY (ARRAY['warn'::text, 'error'::text])))
);

--
-- Name: incidents_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.incidents ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.incidents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: job_facts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_facts (
    job_id bigint NOT NULL,
    source text NOT NULL,
    type text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    sql text DEFAULT ''::text NOT NULL,
    compiled_sql text DEFAULT ''::text NOT NULL,
    properties jsonb DEFAULT '{}'::jsonb NOT NULL,
    content_hash bytea NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    removed_at timestamp with time zone
);

--
-- Name: job_io; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_io (
    job_id bigint NOT NULL,
    source text NOT NULL,
    direction text NOT NULL,
    namespace text NOT NULL,
    name text NOT NULL,
    CONSTRAINT job_io_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text])))
);

--
-- Name: jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.jobs (
    id bigint NOT NULL,
    namespace text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: jobs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.jobs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: login_attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.login_attempts (
    state_hash bytea NOT NULL,
    nonce text NOT NULL,
    verifier text NOT NULL,
    return_to text DEFAULT '/'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT login_attempts_state_hash_check CHECK ((length(state_hash) = 32))
);

--
-- Name: notification_failures; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.notification_failures (
    id bigint NOT NULL,
    job_id bigint NOT NULL,
    channel text NOT NULL,
    recipient text DEFAULT ''::text NOT NULL,
    event text NOT NULL,
    namespace text DEFAULT ''::text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    incident_id bigint,
    status text NOT NULL,
    attempts integer NOT NULL,
    http_status integer,
    error text NOT NULL,
    body text DEFAULT ''::text NOT NULL,
    at timestamp with time zone NOT NULL,
    CONSTRAINT notification_failures_status_check CHECK ((status = ANY (ARRAY['failed'::text, 'dead'::text])))
);

--
-- Name: notification_failures_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.notification_failures ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.notification_failures_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: notifier; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.notifier (
    singleton boolean DEFAULT true NOT NULL,
    seq bigint NOT NULL,
    CONSTRAINT notifier_singleton_check CHECK (singleton)
);

--
-- Name: openlineage_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.openlineage_events (
    id bigint NOT NULL,
    digest bytea NOT NULL,
    event_kind text NOT NULL,
    event_type text DEFAULT ''::text NOT NULL,
    event_time timestamp with time zone NOT NULL,
    run_id text DEFAULT ''::text NOT NULL,
    job_namespace text DEFAULT ''::text NOT NULL,
    job_name text DEFAULT ''::text NOT NULL,
    body json NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    processed_at timestamp with time zone,
    error text DEFAULT ''::text NOT NULL,
    failed_at timestamp with time zone,
    CONSTRAINT openlineage_events_event_kind_check CHECK ((event_kind = ANY (ARRAY['run'::text, 'dataset'::text, 'job'::text])))
);

--
-- Name: openlineage_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.openlineage_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.openlineage_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: owners; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.owners (
    dataset_id bigint NOT NULL,
    source text NOT NULL,
    owner text NOT NULL,
    owner_kind text NOT NULL,
    ownership_type text DEFAULT ''::text NOT NULL,
    CONSTRAINT owners_owner_kind_check CHECK ((owner_kind = ANY (ARRAY['user'::text, 'team'::text, 'role'::text])))
);

--
-- Name: quality_checks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.quality_checks (
    source text NOT NULL,
    name text NOT NULL,
    dataset_namespace text NOT NULL,
    dataset_name text NOT NULL,
    column_name text DEFAULT ''::text NOT NULL,
    type text DEFAULT ''::text NOT NULL,
    severity text DEFAULT ''::text NOT NULL,
    definition text DEFAULT ''::text NOT NULL,
    properties jsonb DEFAULT '{}'::jsonb NOT NULL,
    content_hash bytea NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    removed_at timestamp with time zone
);

--
-- Name: quality_results; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.quality_results (
    source text NOT NULL,
    check_name text NOT NULL,
    run_id text NOT NULL,
    dataset_namespace text NOT NULL,
    dataset_name text NOT NULL,
    status text NOT NULL,
    failures bigint,
    message text DEFAULT ''::text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    duration interval DEFAULT '00:00:00'::interval NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    observed text DEFAULT ''::text NOT NULL,
    CONSTRAINT quality_results_status_check CHECK ((status = ANY (ARRAY['pass'::text, 'fail'::text, 'warn'::text, 'error'::text, 'skipped'::text])))
);

--
-- Name: query_reads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.query_reads (
    source text NOT NULL,
    namespace text NOT NULL,
    database text NOT NULL,
    queryid bigint NOT NULL,
    dataset_id bigint NOT NULL
);

--
-- Name: query_stats; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.query_stats (
    source text NOT NULL,
    namespace text NOT NULL,
    database text NOT NULL,
    queryid bigint NOT NULL,
    role text NOT NULL,
    query text NOT NULL,
    calls bigint NOT NULL,
    reads bigint NOT NULL,
    stats_reset timestamp with time zone,
    observed_at timestamp with time zone NOT NULL,
    CONSTRAINT query_stats_calls_check CHECK ((calls >= 0)),
    CONSTRAINT query_stats_reads_check CHECK ((reads >= 0))
);

--
-- Name: river_job; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.river_job (
    id bigint NOT NULL,
    state public.river_job_state DEFAULT 'available'::public.river_job_state NOT NULL,
    attempt smallint DEFAULT 0 NOT NULL,
    max_attempts smallint DEFAULT 25 NOT NULL,
    attempted_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finalized_at timestamp with time zone,
    scheduled_at timestamp with time zone DEFAULT now() NOT NULL,
    priority smallint DEFAULT 1 NOT NULL,
    args jsonb NOT NULL,
    attempted_by text[],
    errors jsonb[],
    kind text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    queue text DEFAULT 'default'::text NOT NULL,
    tags character varying(255)[] DEFAULT '{}'::character varying[] NOT NULL,
    unique_key bytea,
    unique_states bit(8),
    CONSTRAINT finalized_or_finalized_at_null CHECK ((((finalized_at IS NULL) AND (state <> ALL (ARRAY['cancelled'::public.river_job_state, 'completed'::public.river_job_state, 'discarded'::public.river_job_state]))) OR ((finalized_at IS NOT NULL) AND (state = ANY (ARRAY['cancelled'::public.river_job_state, 'completed'::public.river_job_state, 'discarded'::public.river_job_state]))))),
    CONSTRAINT kind_length CHECK (((char_length(kind) > 0) AND (char_length(kind) < 128))),
    CONSTRAINT max_attempts_is_positive CHECK ((max_attempts > 0)),
    CONSTRAINT priority_in_range CHECK (((priority >= 1) AND (priority <= 4))),
    CONSTRAINT queue_length CHECK (((char_length(queue) > 0) AND (char_length(queue) < 128)))
);

--
-- Name: river_job_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.river_job_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: river_job_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.river_job_id_seq OWNED BY public.river_job.id;

--
-- Name: river_leader; Type: TABLE; Schema: public; Owner: -
--

CREATE UNLOGGED TABLE public.river_leader (
    elected_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    leader_id text NOT NULL,
    name text DEFAULT 'default'::text NOT NULL,
    CONSTRAINT leader_id_length CHECK (((char_length(leader_id) > 0) AND (char_length(leader_id) < 128))),
    CONSTRAINT name_length CHECK ((name = 'default'::text))
);

--
-- Name: river_migration; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.river_migration (
    line text NOT NULL,
    version bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT line_length CHECK (((char_length(line) > 0) AND (char_length(line) < 128))),
    CONSTRAINT version_gte_1 CHECK ((version >= 1))
);

--
-- Name: river_notification; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.river_notification (
    id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    payload text NOT NULL,
    topic text NOT NULL,
    CONSTRAINT topic_length CHECK (((length(topic) > 0) AND (length(topic) < 128)))
);

--
-- Name: river_notification_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.river_notification_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: river_notification_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.river_notification_id_seq OWNED BY public.river_notification.id;

--
-- Name: river_queue; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.river_queue (
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    paused_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);

--
-- Name: runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.runs (
    run_id text NOT NULL,
    job_id bigint NOT NULL,
    source text NOT NULL,
    state text NOT NULL,
    state_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone,
    ended_at timestamp with time zone,
    error_message text DEFAULT ''::text NOT NULL,
    parent_run_id text DEFAULT ''::text NOT NULL,
    parent_job_namespace text DEFAULT ''::text NOT NULL,
    parent_job_name text DEFAULT ''::text NOT NULL,
    nominal_start timestamp with time zone,
    nominal_end timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT runs_state_check CHECK ((state = ANY (ARRAY['START'::text, 'RUNNING'::text, 'COMPLETE'::text, 'FAIL'::text, 'ABORT'::text, 'OTHER'::text])))
);

--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version bigint NOT NULL,
    dirty boolean NOT NULL
);

--
-- Name: schema_versions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_versions (
    dataset_id bigint NOT NULL,
    version integer NOT NULL,
    source text NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    columns jsonb NOT NULL,
    diff jsonb NOT NULL
);

--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    id bigint NOT NULL,
    token_hash bytea NOT NULL,
    login text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    email text DEFAULT ''::text NOT NULL,
    groups text[] DEFAULT '{}'::text[] NOT NULL,
    role text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    user_agent text DEFAULT ''::text NOT NULL,
    remote_addr text DEFAULT ''::text NOT NULL,
    CONSTRAINT sessions_login_check CHECK ((login <> ''::text)),
    CONSTRAINT sessions_role_check CHECK ((role = ANY (ARRAY['viewer'::text, 'editor'::text, 'admin'::text]))),
    CONSTRAINT sessions_token_hash_check CHECK ((length(token_hash) = 32))
);

--
-- Name: sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.sessions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: slo_evaluations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.slo_evaluations (
    dataset_id bigint NOT NULL,
    seq bigint NOT NULL,
    evaluated_at timestamp with time zone NOT NULL,
    declared_hash text NOT NULL,
    anomalies jsonb DEFAULT '[]'::jsonb NOT NULL
);

--
-- Name: slo_evaluator; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.slo_evaluator (
    singleton boolean DEFAULT true NOT NULL,
    seq bigint NOT NULL,
    CONSTRAINT slo_evaluator_singleton_check CHECK (singleton)
);

--
-- Name: slo_report_days; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.slo_report_days (
    dataset_id bigint NOT NULL,
    source text NOT NULL,
    name text NOT NULL,
    day date NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    attainment double precision,
    budget_remaining double precision,
    good double precision NOT NULL,
    total double precision NOT NULL,
    evaluated_at timestamp with time zone NOT NULL
);

--
-- Name: slo_reports; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.slo_reports (
    dataset_id bigint NOT NULL,
    ordinal integer NOT NULL,
    source text NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    attainment double precision,
    budget_remaining double precision,
    burn_fast double precision,
    burn_slow double precision,
    error text DEFAULT ''::text NOT NULL,
    evaluated_at timestamp with time zone NOT NULL,
    slo jsonb NOT NULL,
    report jsonb NOT NULL
);

--
-- Name: slo_statuses; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.slo_statuses AS
 SELECT d.namespace AS dataset_namespace,
    d.name AS dataset_name,
    r.source,
    r.name,
    r.status,
    COALESCE(r.attainment, (0)::double precision) AS attainment,
    COALESCE((((r.slo -> 'Spec'::text) ->> 'Objective'::text))::double precision, (0)::double precision) AS objective,
    COALESCE((r.report ->> 'Summary'::text), ''::text) AS summary,
    r.evaluated_at
   FROM (public.slo_reports r
     JOIN public.datasets d ON ((d.id = r.dataset_id)))
  WHERE (r.status <> 'error'::text);

--
-- Name: sources; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sources (
    name text NOT NULL,
    type text NOT NULL,
    namespace text DEFAULT ''::text NOT NULL,
    schedule text DEFAULT ''::text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: tags; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tags (
    dataset_id bigint NOT NULL,
    source text NOT NULL,
    tag text NOT NULL
);

--
-- Name: team_rollups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.team_rollups (
    team text NOT NULL,
    computed_at timestamp with time zone NOT NULL,
    change_seq bigint NOT NULL,
    payload jsonb NOT NULL
);

--
-- Name: team_snapshots; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.team_snapshots (
    team text NOT NULL,
    day date NOT NULL,
    datasets integer NOT NULL,
    described_datasets integer NOT NULL,
    columns integer NOT NULL,
    described_columns integer NOT NULL,
    slos integer NOT NULL,
    slos_met integer NOT NULL,
    row_count bigint NOT NULL,
    bytes bigint NOT NULL
);

--
-- Name: river_job id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.river_job ALTER COLUMN id SET DEFAULT nextval('public.river_job_id_seq'::regclass);

--
-- Name: river_notification id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.river_notification ALTER COLUMN id SET DEFAULT nextval('public.river_notification_id_seq'::regclass);

--
-- Name: api_tokens api_tokens_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_hash_key UNIQUE (hash);

--
-- Name: api_tokens api_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

--
-- Name: auth_events auth_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.auth_events
    ADD CONSTRAINT auth_events_pkey PRIMARY KEY (id);

--
-- Name: change_log change_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.change_log
    ADD CONSTRAINT change_log_pkey PRIMARY KEY (seq);

--
-- Name: column_lineage column_lineage_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.column_lineage
    ADD CONSTRAINT column_lineage_pkey PRIMARY KEY (namespace, name, source, column_name, input_namespace, input_name, input_column, transformation_type, transformation_subtype);

--
-- Name: columns columns_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.columns
    ADD CONSTRAINT columns_pkey PRIMARY KEY (dataset_id, source, name);

--
-- Name: crawl_runs crawl_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.crawl_runs
    ADD CONSTRAINT crawl_runs_pkey PRIMARY KEY (id);

--
-- Name: dataset_aliases dataset_aliases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_aliases
    ADD CONSTRAINT dataset_aliases_pkey PRIMARY KEY (dataset_id, source, namespace, name);

--
-- Name: dataset_facts dataset_facts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_facts
    ADD CONSTRAINT dataset_facts_pkey PRIMARY KEY (dataset_id, source);

--
-- Name: dataset_links dataset_links_dataset_id_url_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_links
    ADD CONSTRAINT dataset_links_dataset_id_url_key UNIQUE (dataset_id, url);

--
-- Name: dataset_links dataset_links_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_links
    ADD CONSTRAINT dataset_links_pkey PRIMARY KEY (id);

--
-- Name: dataset_metrics dataset_metrics_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_metrics
    ADD CONSTRAINT dataset_metrics_pkey PRIMARY KEY (namespace, name, observed_at, source, direction, run_id, job_namespace, job_name);

--
-- Name: dataset_popularity dataset_popularity_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_popularity
    ADD CONSTRAINT dataset_popularity_pkey PRIMARY KEY (dataset_id);

--
-- Name: dataset_slos dataset_slos_dataset_id_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_slos
    ADD CONSTRAINT dataset_slos_dataset_id_name_key UNIQUE (dataset_id, name);

--
-- Name: dataset_slos dataset_slos_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_slos
    ADD CONSTRAINT dataset_slos_pkey PRIMARY KEY (id);

--
-- Name: datasets datasets_namespace_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.datasets
    ADD CONSTRAINT datasets_namespace_name_key UNIQUE (namespace, name);

--
-- Name: datasets datasets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.datasets
    ADD CONSTRAINT datasets_pkey PRIMARY KEY (id);

--
-- Name: follows follows_login_kind_namespace_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.follows
    ADD CONSTRAINT follows_login_kind_namespace_name_key UNIQUE (login, kind, namespace, name);

--
-- Name: follows follows_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.follows
    ADD CONSTRAINT follows_pkey PRIMARY KEY (id);

--
-- Name: foreign_keys foreign_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.foreign_keys
    ADD CONSTRAINT foreign_keys_pkey PRIMARY KEY (dataset_id, source, name);

--
-- Name: freshness_observations freshness_observations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.freshness_observations
    ADD CONSTRAINT freshness_observations_pkey PRIMARY KEY (source, dataset_namespace, dataset_name, observed_at);

--
-- Name: incident_detector incident_detector_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incident_detector
    ADD CONSTRAINT incident_detector_pkey PRIMARY KEY (singleton);

--
-- Name: incident_events incident_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incident_events
    ADD CONSTRAINT incident_events_pkey PRIMARY KEY (id);

--
-- Name: incidents incidents_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_pkey PRIMARY KEY (id);

--
-- Name: job_facts job_facts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_facts
    ADD CONSTRAINT job_facts_pkey PRIMARY KEY (job_id, source);

--
-- Name: job_io job_io_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_io
    ADD CONSTRAINT job_io_pkey PRIMARY KEY (job_id, source, direction, namespace, name);

--
-- Name: jobs jobs_namespace_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_namespace_name_key UNIQUE (namespace, name);

--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

--
-- Name: login_attempts login_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.login_attempts
    ADD CONSTRAINT login_attempts_pkey PRIMARY KEY (state_hash);

--
-- Name: notification_failures notification_failures_job_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notification_failures
    ADD CONSTRAINT notification_failures_job_id_key UNIQUE (job_id);

--
-- Name: notification_failures notification_failures_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notification_failures
    ADD CONSTRAINT notification_failures_pkey PRIMARY KEY (id);

--
-- Name: notifier notifier_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notifier
    ADD CONSTRAINT notifier_pkey PRIMARY KEY (singleton);

--
-- Name: openlineage_events openlineage_events_digest_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.openlineage_events
    ADD CONSTRAINT openlineage_events_digest_key UNIQUE (digest);

--
-- Name: openlineage_events openlineage_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.openlineage_events
    ADD CONSTRAINT openlineage_events_pkey PRIMARY KEY (id);

--
-- Name: owners owners_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.owners
    ADD CONSTRAINT owners_pkey PRIMARY KEY (dataset_id, source, owner, ownership_type);

--
-- Name: quality_checks quality_checks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.quality_checks
    ADD CONSTRAINT quality_checks_pkey PRIMARY KEY (source, name);

--
-- Name: quality_results quality_results_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.quality_results
    ADD CONSTRAINT quality_results_pkey PRIMARY KEY (source, check_name, run_id);

--
-- Name: query_reads query_reads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.query_reads
    ADD CONSTRAINT query_reads_pkey PRIMARY KEY (source, namespace, database, queryid, dataset_id);

--
-- Name: query_stats query_stats_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.query_stats
    ADD CONSTRAINT query_stats_pkey PRIMARY KEY (source, namespace, database, queryid, role, observed_at);

--
-- Name: river_job river_job_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.river_job
    ADD CONSTRAINT river_job_pkey PRIMARY KEY (id);

--
-- Name: river_leader river_leader_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.river_leader
    ADD CONSTRAINT river_leader_pkey PRIMARY KEY (name);

--
-- Name: river_migration river_migration_pkey1; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.river_migration
    ADD CONSTRAINT river_migration_pkey1 PRIMARY KEY (line, version);

--
-- Name: river_notification river_notification_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.river_notification
    ADD CONSTRAINT river_notification_pkey PRIMARY KEY (id);

--
-- Name: river_queue river_queue_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.river_queue
    ADD CONSTRAINT river_queue_pkey PRIMARY KEY (name);

--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (run_id);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

--
-- Name: schema_versions schema_versions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_versions
    ADD CONSTRAINT schema_versions_pkey PRIMARY KEY (dataset_id, version);

--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);

--
-- Name: sessions sessions_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_token_hash_key UNIQUE (token_hash);

--
-- Name: slo_evaluations slo_evaluations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.slo_evaluations
    ADD CONSTRAINT slo_evaluations_pkey PRIMARY KEY (dataset_id);

--
-- Name: slo_evaluator slo_evaluator_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.slo_evaluator
    ADD CONSTRAINT slo_evaluator_pkey PRIMARY KEY (singleton);

--
-- Name: slo_report_days slo_report_days_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.slo_report_days
    ADD CONSTRAINT slo_report_days_pkey PRIMARY KEY (dataset_id, source, name, day);

--
-- Name: slo_reports slo_reports_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.slo_reports
    ADD CONSTRAINT slo_reports_pkey PRIMARY KEY (dataset_id, ordinal);

--
-- Name: sources sources_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sources
    ADD CONSTRAINT sources_pkey PRIMARY KEY (name);

--
-- Name: tags tags_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tags
    ADD CONSTRAINT tags_pkey PRIMARY KEY (dataset_id, source, tag);

--
-- Name: team_rollups team_rollups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team_rollups
    ADD CONSTRAINT team_rollups_pkey PRIMARY KEY (team);

--
-- Name: team_snapshots team_snapshots_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.team_snapshots
    ADD CONSTRAINT team_snapshots_pkey PRIMARY KEY (team, day);

--
-- Name: api_tokens_live_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX api_tokens_live_name ON public.api_tokens USING btree (owner, lower(name)) WHERE (revoked_at IS NULL);

--
-- Name: api_tokens_owner; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX api_tokens_owner ON public.api_tokens USING btree (owner, created_at DESC);

--
-- Name: audit_log_dataset; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_dataset ON public.audit_log USING btree (dataset_id, id DESC);

--
-- Name: auth_events_actor; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX auth_events_actor ON public.auth_events USING btree (lower(actor), at DESC);

--
-- Name: auth_events_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX auth_events_at ON public.auth_events USING btree (at DESC, id DESC);

--
-- Name: change_log_entity_seq; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX change_log_entity_seq ON public.change_log USING btree (entity, entity_id, seq);

--
-- Name: change_log_feed_entity_seq; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX change_log_feed_entity_seq ON public.change_log USING btree (entity, seq);

--
-- Name: change_log_kind_seq; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX change_log_kind_seq ON public.change_log USING btree (kind, seq);

--
-- Name: column_lineage_input; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX column_lineage_input ON public.column_lineage USING btree (input_namespace, input_name, input_column);

--
-- Name: crawl_runs_source; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX crawl_runs_source ON public.crawl_runs USING btree (source, started_at DESC);

--
-- Name: dataset_aliases_alias; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dataset_aliases_alias ON public.dataset_aliases USING btree (namespace, name);

--
-- Name: dataset_facts_source; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dataset_facts_source ON public.dataset_facts USING btree (source);

--
-- Name: dataset_metrics_observed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dataset_metrics_observed ON public.dataset_metrics USING btree (observed_at);

--
-- Name: dataset_metrics_run; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dataset_metrics_run ON public.dataset_metrics USING btree (run_id) WHERE (run_id <> ''::text);

--
-- Name: dataset_popularity_score; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dataset_popularity_score ON public.dataset_popularity USING btree (score DESC);

--
-- Name: datasets_live_changed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX datasets_live_changed ON public.datasets USING btree (updated_at DESC, namespace, name) WHERE (removed_at IS NULL);

--
-- Name: follows_target; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX follows_target ON public.follows USING btree (kind, namespace, name);

--
-- Name: foreign_keys_target; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX foreign_keys_target ON public.foreign_keys USING btree (target_namespace, target_name);

--
-- Name: freshness_observations_dataset; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX freshness_observations_dataset ON public.freshness_observations USING btree (dataset_namespace, dataset_name, observed_at DESC);

--
-- Name: incident_events_incident; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incident_events_incident ON public.incident_events USING btree (incident_id, id);

--
-- Name: incidents_dataset; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_dataset ON public.incidents USING btree (dataset_namespace, dataset_name, id DESC);

--
-- Name: incidents_one_open; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX incidents_one_open ON public.incidents USING btree (dataset_namespace, dataset_name, cause, cause_key) WHERE (resolved_at IS NULL);

--
-- Name: incidents_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_open ON public.incidents USING btree (dataset_namespace, dataset_name) WHERE (resolved_at IS NULL);

--
-- Name: incidents_resolved; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX incidents_resolved ON public.incidents USING btree (resolved_at DESC) WHERE (resolved_at IS NOT NULL);

--
-- Name: job_facts_source; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX job_facts_source ON public.job_facts USING btree (source);

--
-- Name: job_io_dataset; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX job_io_dataset ON public.job_io USING btree (namespace, name, direction);

--
-- Name: login_attempts_expires; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX login_attempts_expires ON public.login_attempts USING btree (expires_at);

--
-- Name: notification_failures_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX notification_failures_at ON public.notification_failures USING btree (id DESC);

--
-- Name: openlineage_events_failed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX openlineage_events_failed ON public.openlineage_events USING btree (id) WHERE (failed_at IS NOT NULL);

--
-- Name: openlineage_events_pending; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX openlineage_events_pending ON public.openlineage_events USING btree (id) WHERE (processed_at IS NULL);

--
-- Name: openlineage_events_received; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX openlineage_events_received ON public.openlineage_events USING btree (received_at);

--
-- Name: openlineage_events_run; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX openlineage_events_run ON public.openlineage_events USING btree (run_id) WHERE (run_id <> ''::text);

--
-- Name: owners_owner; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX owners_owner ON public.owners USING btree (owner);

--
-- Name: owners_team; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX owners_team ON public.owners USING btree (owner, dataset_id) WHERE (owner_kind = 'team'::text);

--
-- Name: quality_checks_dataset; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX quality_checks_dataset ON public.quality_checks USING btree (dataset_namespace, dataset_name);

--
-- Name: quality_results_check; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX quality_results_check ON public.quality_results USING btree (source, check_name, started_at DESC);

--
-- Name: quality_results_dataset; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX quality_results_dataset ON public.quality_results USING btree (dataset_namespace, dataset_name, started_at DESC);

--
-- Name: quality_results_started; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX quality_results_started ON public.quality_results USING btree (started_at);

--
-- Name: query_reads_dataset; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX query_reads_dataset ON public.query_reads USING btree (dataset_id);

--
-- Name: query_stats_database; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX query_stats_database ON public.query_stats USING btree (namespace, database, observed_at);

--
-- Name: river_job_args_index; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX river_job_args_index ON public.river_job USING gin (args);

--
-- Name: river_job_kind; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX river_job_kind ON public.river_job USING btree (kind);

--
-- Name: river_job_metadata_index; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX river_job_metadata_index ON public.river_job USING gin (metadata);

--
-- Name: river_job_prioritized_fetching_index; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX river_job_prioritized_fetching_index ON public.river_job USING btree (state, queue, priority, scheduled_at, id);

--
-- Name: river_job_state_and_finalized_at_index; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX river_job_state_and_finalized_at_index ON public.river_job USING btree (state, finalized_at) WHERE (finalized_at IS NOT NULL);

--
-- Name: river_job_unique_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX river_job_unique_idx ON public.river_job USING btree (unique_key) WHERE ((unique_key IS NOT NULL) AND (unique_states IS NOT NULL) AND public.river_job_state_in_bitmask(unique_states, state));

--
-- Name: river_notification_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX river_notification_created_at_idx ON public.river_notification USING btree (created_at);

--
-- Name: river_notification_topic_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX river_notification_topic_id_idx ON public.river_notification USING btree (topic, id);

--
-- Name: runs_failed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_failed ON public.runs USING btree (job_id) WHERE (state = ANY (ARRAY['FAIL'::text, 'ABORT'::text]));

--
-- Name: runs_job; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_job ON public.runs USING btree (job_id, state_at DESC);

--
-- Name: runs_parent; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_parent ON public.runs USING btree (parent_run_id) WHERE (parent_run_id <> ''::text);

--
-- Name: runs_recent; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_recent ON public.runs USING btree (state_at DESC, run_id);

--
-- Name: runs_running; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_running ON public.runs USING btree (job_id) WHERE (state = ANY (ARRAY['START'::text, 'RUNNING'::text]));

--
-- Name: sessions_live; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_live ON public.sessions USING btree (expires_at) WHERE (revoked_at IS NULL);

--
-- Name: sessions_login; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_login ON public.sessions USING btree (lower(login), created_at DESC);

--
-- Name: slo_evaluations_evaluated_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX slo_evaluations_evaluated_id ON public.slo_evaluations USING btree (evaluated_at, dataset_id);

--
-- Name: tags_tag; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tags_tag ON public.tags USING btree (tag);

--
-- Name: change_log change_log_notify; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER change_log_notify AFTER INSERT ON public.change_log REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.change_log_notify();

--
-- Name: slo_statuses slo_statuses_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER slo_statuses_delete INSTEAD OF DELETE ON public.slo_statuses FOR EACH ROW EXECUTE FUNCTION public.slo_statuses_delete();

--
-- Name: slo_statuses slo_statuses_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER slo_statuses_insert INSTEAD OF INSERT ON public.slo_statuses FOR EACH ROW EXECUTE FUNCTION public.slo_statuses_insert();

--
-- Name: audit_log audit_log_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: columns columns_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.columns
    ADD CONSTRAINT columns_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: dataset_aliases dataset_aliases_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_aliases
    ADD CONSTRAINT dataset_aliases_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: dataset_facts dataset_facts_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_facts
    ADD CONSTRAINT dataset_facts_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: dataset_links dataset_links_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_links
    ADD CONSTRAINT dataset_links_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: dataset_popularity dataset_popularity_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_popularity
    ADD CONSTRAINT dataset_popularity_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: dataset_slos dataset_slos_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dataset_slos
    ADD CONSTRAINT dataset_slos_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: foreign_keys foreign_keys_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.foreign_keys
    ADD CONSTRAINT foreign_keys_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: incident_events incident_events_incident_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incident_events
    ADD CONSTRAINT incident_events_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES public.incidents(id) ON DELETE CASCADE;

--
-- Name: job_facts job_facts_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_facts
    ADD CONSTRAINT job_facts_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

--
-- Name: job_io job_io_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_io
    ADD CONSTRAINT job_io_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

--
-- Name: owners owners_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.owners
    ADD CONSTRAINT owners_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: query_reads query_reads_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.query_reads
    ADD CONSTRAINT query_reads_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: runs runs_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT runs_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE;

--
-- Name: schema_versions schema_versions_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_versions
    ADD CONSTRAINT schema_versions_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: slo_evaluations slo_evaluations_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.slo_evaluations
    ADD CONSTRAINT slo_evaluations_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: slo_report_days slo_report_days_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.slo_report_days
    ADD CONSTRAINT slo_report_days_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- Name: slo_reports slo_reports_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.slo_reports
    ADD CONSTRAINT slo_reports_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.slo_evaluations(dataset_id) ON DELETE CASCADE;

--
-- Name: tags tags_dataset_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tags
    ADD CONSTRAINT tags_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES public.datasets(id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
