-- The CHECK on tenants.tz looked every time zone up in pg_timezone_names, which reads
-- the whole time zone database from disk: 70-150 ms per row on the reference machine.
-- ingest registers an unknown tenant (plaintext mode) inside the data transaction that
-- stores its first events, so every new tenant held that commit, and every ack waiting
-- on it, for that long: 20 new tenants at once made a cold start's ack p99 1.4 s
-- (docs/BENCHMARKS.md, issue #19). Such a tenant always has the default zone, 'UTC';
-- it is answered first. Any other name is looked up as before (same answers: 'UTC' is
-- in pg_timezone_names on every Postgres). The OR evaluates left to right and stops at
-- the first true, so the catalog scan runs only for other names.
CREATE OR REPLACE FUNCTION fc_valid_tz(tz text) RETURNS boolean
LANGUAGE sql STABLE STRICT
AS $$ SELECT tz = 'UTC' OR EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz) $$;
