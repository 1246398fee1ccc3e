/*  fc_migrate: applies numbered SQL migrations, forward-only, under an advisory lock.

    A migration is one SQL file, db/migrations/NNNN_name.sql, run in its own transaction
    (the file must not contain BEGIN/COMMIT) and recorded in schema_migrations with the
    hex SHA-256 of its text. The fleetcost binary embeds the files at build time
    (db/embed.cmake generates the table), so it needs no files at run time. */
#ifndef FC_MIGRATE_H
#define FC_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int version;      //  NNNN, strictly increasing along a list
    const char *name; //  file name without ".sql", e.g. "0001_schema"
    const char *sql;  //  file text, NUL-terminated
    size_t len;       //  bytes of sql (the checksum covers exactly these)
} fc_migration_t;

//  The migrations embedded in this program (generated from db/migrations).
extern const fc_migration_t fc_migrations[];
extern const size_t fc_migrations_count;

typedef struct {
    int applied; //  applied by this run (0 in a dry run)
    int pending; //  still missing afterwards
} fc_migrate_result_t;

//  Called after each migration is applied (or found pending in a dry run).
typedef void(fc_migrate_fn)(const fc_migration_t *m, bool dry_run, void *arg);

//  Returned when an applied migration's text differs from the one recorded.
#define FC_MIGRATE_CHANGED (-2)

//  Brings the database up to `list`: takes the migration advisory lock for the whole
//  run, creates schema_migrations if absent, refuses (FC_MIGRATE_CHANGED, nothing
//  applied) when any applied migration's checksum differs from list, then applies the
//  missing ones in order. A dry run reports what is missing and changes nothing.
//  Returns 0, FC_MIGRATE_CHANGED or -1 (logged).
int fc_migrate_run(PGconn *conn, const fc_migration_t *list, size_t count, bool dry_run,
                   fc_migrate_fn *on_migration, void *arg, fc_migrate_result_t *result);

//  Creates the missing daily event partitions from back days before to ahead days
//  after today (UTC), through fc_ensure_event_partitions. Returns how many it created,
//  or -1 (logged).
int fc_migrate_partitions(PGconn *conn, int back, int ahead);

#endif
