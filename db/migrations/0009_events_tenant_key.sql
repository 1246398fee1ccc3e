-- 0009_events_tenant_key: the tenant is part of an event's identity (issue #15).
--
-- Until now the events key was (event_id, event_time): an event of tenant B that
-- carried the id and time of an event of tenant A hit A's row, was acknowledged as a
-- duplicate (code 1) and lost, and the answer told B that A had such an event. Ids come
-- from the sender, so nothing stops two tenants from sending the same one. The key now
-- includes the tenant: (tenant_id, event_id, event_time). event_time stays in it
-- because Postgres requires the partition column in every unique index of a
-- partitioned table; tenant_id first is the order every other tenant table uses
-- (0001), the one a table distributed by tenant (Citus) needs, and ingest's duplicate
-- lookup and repricing always know the tenant. Measured with scripts/bench.sh steps 1
-- and 2 before and after this change: docs/BENCHMARKS.md, "Events key with the tenant".
--
-- The new key replaces the old one on the parent and, through it, on every daily
-- partition (one index build per partition, under an ACCESS EXCLUSIVE lock on events
-- for the length of the migration: run it while ingest is stopped on large databases).
-- The BRIN indexes of 0003 are unchanged: they serve time and seq range scans, not
-- lookups of one event.
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, event_id, event_time);
