/*  fc_migrate: the migration runner behind `fleetcost migrate`. */
#include "fc_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"
#include "fc_pg.h"

#define MODULE "migrate"

//  Session advisory lock held for a whole run, so two `fleetcost migrate` against the
//  same database apply each migration once ("fcmigrat" as a number).
#define S_LOCK_KEY "7378698576718803572"

typedef struct {
    int version;
    char *name;
    char *checksum;
} s_applied_t;

//  Hex SHA-256 of a migration's bytes, computed by the server (sent as binary bytea,
//  so no encoding conversion touches it) into out[65].
static int s_checksum(PGconn *conn, const fc_migration_t *m, char *out)
{
    const char *values[] = {m->sql};
    int lengths[] = {(int)m->len};
    int formats[] = {1};
    PGresult *res = PQexecParams(conn, "SELECT encode(sha256($1::bytea), 'hex')", 1, NULL, values,
                                 lengths, formats, 0);
    int rc = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
        strlen(PQgetvalue(res, 0, 0)) == 64) {
        memcpy(out, PQgetvalue(res, 0, 0), 65);
        rc = 0;
    } else
        fc_error(MODULE, "checksum of %s: %s", m->name, fc_pg_error(conn));
    PQclear(res);
    return rc;
}

//  Applies one migration and records it, in one transaction: either both happen or
//  neither does.
static int s_apply(PGconn *conn, const fc_migration_t *m, const char *checksum)
{
    if (fc_pg_exec(conn, MODULE, "begin", "BEGIN"))
        return -1;
    PGresult *res = PQexec(conn, m->sql);
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fc_error(MODULE, "%s failed, rolled back: %s", m->name, fc_pg_error(conn));
        fc_pg_rollback(conn);
        return -1;
    }
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        fc_error(MODULE, "%s ended its transaction itself (no BEGIN/COMMIT in migrations)",
                 m->name);
        fc_pg_rollback(conn);
        return -1;
    }
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name, checksum};
    res = fc_pg_query(conn, MODULE, "record migration",
                      "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                      " VALUES ($1, $2, $3, now())",
                      3, params);
    if (!res) {
        fc_pg_rollback(conn);
        return -1;
    }
    PQclear(res);
    return fc_pg_exec(conn, MODULE, "commit", "COMMIT");
}

//  Reads schema_migrations into *applied (ordered by version); a missing table (only
//  possible in a dry run) reads as empty. Returns the row count or -1.
static int s_load_applied(PGconn *conn, s_applied_t **applied)
{
    *applied = NULL;
    PGresult *res = fc_pg_query(conn, MODULE, "read schema_migrations",
                                "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL);
    if (!res)
        return -1;
    bool exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!exists)
        return 0;
    res = fc_pg_query(conn, MODULE, "read schema_migrations",
                      "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0,
                      NULL);
    if (!res)
        return -1;
    int n = PQntuples(res);
    *applied = calloc((size_t)n + 1, sizeof **applied);
    if (!*applied) {
        PQclear(res);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        (*applied)[i].version = (int)fc_pg_int(res, i, 0);
        (*applied)[i].name = strdup(PQgetvalue(res, i, 1));
        (*applied)[i].checksum = strdup(PQgetvalue(res, i, 2));
    }
    PQclear(res);
    return n;
}

static void s_free_applied(s_applied_t *applied, int n)
{
    for (int i = 0; i < n; i++) {
        free(applied[i].name);
        free(applied[i].checksum);
    }
    free(applied);
}

static const s_applied_t *s_find(const s_applied_t *applied, int n, int version)
{
    for (int i = 0; i < n; i++)
        if (applied[i].version == version)
            return &applied[i];
    return NULL;
}

//  Everything after the lock is taken: verify, then apply what is missing.
static int s_run_locked(PGconn *conn, const fc_migration_t *list, size_t count, bool dry_run,
                        fc_migrate_fn *on_migration, void *arg, fc_migrate_result_t *result)
{
    if (!dry_run && fc_pg_exec(conn, MODULE, "create schema_migrations",
                               "CREATE TABLE IF NOT EXISTS schema_migrations ("
                               " version int PRIMARY KEY,"
                               " name text NOT NULL,"
                               " checksum text NOT NULL,"
                               " applied_at timestamptz NOT NULL DEFAULT now())"))
        return -1;
    s_applied_t *applied;
    int napplied = s_load_applied(conn, &applied);
    if (napplied < 0)
        return -1;

    //  Checksums are computed once and verified for every applied migration before
    //  anything is applied: an edited migration means the database and this program
    //  disagree about the schema, and applying later files on top would compound it.
    char(*sums)[65] = calloc(count ? count : 1, sizeof *sums);
    int rc = sums ? 0 : -1;
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (s_checksum(conn, &list[i], sums[i])) {
            rc = -1;
            break;
        }
        const s_applied_t *a = s_find(applied, napplied, list[i].version);
        if (a && strcmp(a->checksum, sums[i]) != 0) {
            fc_error(MODULE,
                     "%s was applied with checksum %.12s… but this program's copy has %.12s…:"
                     " applied migrations must never change; add a new migration instead",
                     list[i].name, a->checksum, sums[i]);
            rc = FC_MIGRATE_CHANGED;
        }
    }
    for (int i = 0; i < napplied && rc == 0; i++) {
        bool known = false;
        for (size_t j = 0; j < count && !known; j++)
            known = list[j].version == applied[i].version;
        if (!known)
            fc_warn(MODULE,
                    "database has migration %s that this program does not know"
                    " (a newer fleetcost applied it)",
                    applied[i].name);
    }
    int missing = 0;
    for (size_t i = 0; i < count; i++)
        missing += s_find(applied, napplied, list[i].version) == NULL;
    for (size_t i = 0; i < count && rc == 0 && !dry_run; i++) {
        if (s_find(applied, napplied, list[i].version))
            continue;
        if (s_apply(conn, &list[i], sums[i])) {
            rc = -1;
            break;
        }
        result->applied++;
        if (on_migration)
            on_migration(&list[i], false, arg);
    }
    for (size_t i = 0; i < count && rc == 0 && dry_run; i++)
        if (on_migration && !s_find(applied, napplied, list[i].version))
            on_migration(&list[i], true, arg);
    result->pending = missing - result->applied;
    free(sums);
    s_free_applied(applied, napplied);
    return rc;
}

int fc_migrate_run(PGconn *conn, const fc_migration_t *list, size_t count, bool dry_run,
                   fc_migrate_fn *on_migration, void *arg, fc_migrate_result_t *result)
{
    *result = (fc_migrate_result_t){0, 0};
    for (size_t i = 1; i < count; i++)
        if (list[i].version <= list[i - 1].version) {
            fc_error(MODULE, "migrations out of order or duplicated: %s after %s", list[i].name,
                     list[i - 1].name);
            return -1;
        }

    PGresult *res = fc_pg_query(conn, MODULE, "advisory lock",
                                "SELECT pg_try_advisory_lock(" S_LOCK_KEY ")", 0, NULL);
    if (!res)
        return -1;
    bool locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!locked) {
        fc_info(MODULE, "another migrate holds the lock on this database; waiting for it");
        if (fc_pg_exec(conn, MODULE, "advisory lock", "SELECT pg_advisory_lock(" S_LOCK_KEY ")"))
            return -1;
    }
    int rc = s_run_locked(conn, list, count, dry_run, on_migration, arg, result);
    //  The lock is the session's: release it even after an error (a failed migration
    //  was rolled back, so the session is usable).
    fc_pg_rollback(conn);
    if (fc_pg_exec(conn, MODULE, "advisory unlock", "SELECT pg_advisory_unlock(" S_LOCK_KEY ")"))
        rc = rc ? rc : -1;
    return rc;
}

int fc_migrate_partitions(PGconn *conn, int back, int ahead)
{
    char b[16], a[16];
    snprintf(b, sizeof b, "%d", back);
    snprintf(a, sizeof a, "%d", ahead);
    const char *params[] = {b, a};
    PGresult *res = fc_pg_query(conn, MODULE, "create event partitions",
                                "SELECT fc_ensure_event_partitions("
                                " (now() AT TIME ZONE 'UTC')::date - $1::int,"
                                " (now() AT TIME ZONE 'UTC')::date + $2::int)",
                                2, params);
    if (!res)
        return -1;
    int created = (int)fc_pg_int(res, 0, 0);
    PQclear(res);
    return created;
}
