-- Runs once, when the postgres container initialises its data directory. The reader
-- role owns nothing and sees tenant rows only through row-level security; the
-- migrations grant it what it may read.
CREATE ROLE fleetcost_reader NOLOGIN;
CREATE ROLE fleetcost_reporter LOGIN IN ROLE fleetcost_reader;
-- The same password as the owner role; change it with ALTER ROLE for separate credentials.
\set pw `cat /run/secrets/pg_password`
ALTER ROLE fleetcost_reporter PASSWORD :'pw';
ALTER ROLE fleetcost WITH CREATEROLE;
