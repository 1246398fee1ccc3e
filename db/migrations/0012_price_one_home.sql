-- 0012_price_one_home: pricing has one home (issue 16).
-- Every path that turns usage into money (ingest, reprice, the reporter) prices through
-- fc_price_usage in lib/fc_price.c. The reporter's "what caching saved" figure needs,
-- per event, the price version in force at the event's time (price_version, stored
-- already) and whether the long-context tier rates applied; the tier depends on the
-- event's whole prompt, which no sum keeps, so ingest and reprice record it here.
-- NULL: not priced (unpriced, lifecycle or cost events), or stored before this column
-- existed (reprice fills it). Nullable without a default: adding it rewrites nothing.
ALTER TABLE events ADD COLUMN price_tiered boolean;
