-- The run of an ingest instance (proto/PROTOCOL.md §11, "Runs and regressions"): every
-- start of fleetcost-ingest is a new run with its own epoch, and the data transaction
-- records, beside the last seq, the epoch of the run that committed it. An aggregator
-- rebuilding from a snapshot of ingest_state then knows which run its seqs belong to,
-- so a later restart of the instance (a new epoch whose first seq continues from
-- last_seq) is not taken for a regression. 0: committed before runs existed.
ALTER TABLE ingest_state ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
