-- Runs once, when the postgres container initialises its data directory. The reader
-- role owns nothing and sees tenant rows only through row-level security; the
-- migrations grant it what it may read. The reporter logs in as fleetcost_reporter with
-- its own password (deploy/reader_password), never the owner's: a leaked reporter
-- credential reads under RLS and writes nothing.
CREATE ROLE fleetcost_reader NOLOGIN;
CREATE ROLE fleetcost_reporter LOGIN IN ROLE fleetcost_reader;
\set pw `cat /run/secrets/reader_password`
ALTER ROLE fleetcost_reporter PASSWORD :'pw';
\unset pw
ALTER ROLE fleetcost WITH CREATEROLE;
