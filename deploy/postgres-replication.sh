#!/bin/sh
# Runs once, when the postgres container initialises its data directory: lets the
# owner role (the image's superuser) stream WAL with its password, for the hot standby
# of docker-compose's profile `ha` (docs/SCALING.md). Harmless without a standby.
echo "host replication fleetcost all scram-sha-256" >>"$PGDATA/pg_hba.conf"
