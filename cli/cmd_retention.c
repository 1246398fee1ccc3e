/*  fleetcost retention: drops whole daily partitions of raw events older than
    --keep-days, optionally archiving each day first to DIR/events_YYYYMMDD.csv.gz.
    Rollups (cost_summaries) and everything else are untouched. Each dropped day is
    recorded in audit_log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_pg.h"
#include "fc_signal.h"

#define MODULE "retention"

//  keep-days starts at 7 because `fleetcost migrate` keeps the partitions of the last 7
//  days in place: a shorter retention would drop days migrate then recreates empty.
static const fc_option_t s_options[] = {
    {"keep-days", FC_OPT_INT, "90", 7, 36500, false,
     "keep raw events of this many whole days before today (UTC)"},
    {"archive", FC_OPT_STR, "", 0, 0, false,
     "write each day to DIR/events_YYYYMMDD.csv.gz before dropping it"},
    {"dry-run", FC_OPT_BOOL, "false", 0, 0, false, "list what would be dropped, change nothing"},
    FC_OPT_END};

//  Streams COPY ... TO STDOUT into gz. Returns the row count, or -1.
static int64_t s_copy_out(PGconn *conn, const char *quoted, gzFile gz)
{
    char sql[256];
    snprintf(sql, sizeof sql, "COPY public.%s TO STDOUT (FORMAT csv, HEADER true)", quoted);
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COPY_OUT) {
        fc_error(MODULE, "copy %s: %s", quoted, fc_pg_error(conn));
        return -1;
    }
    bool write_failed = false;
    char *buf;
    int n;
    while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
        if (!write_failed && gzwrite(gz, buf, (unsigned)n) != n)
            write_failed = true; //  keep reading so the connection stays usable
        PQfreemem(buf);
    }
    int64_t rows = -1;
    res = PQgetResult(conn);
    if (n == -1 && PQresultStatus(res) == PGRES_COMMAND_OK)
        rows = strtoll(PQcmdTuples(res), NULL, 10);
    else
        fc_error(MODULE, "copy %s: %s", quoted, fc_pg_error(conn));
    PQclear(res);
    while ((res = PQgetResult(conn)))
        PQclear(res);
    if (write_failed) {
        int zerr;
        fc_error(MODULE, "copy %s: compressing: %s", quoted, gzerror(gz, &zerr));
        return -1;
    }
    return rows;
}

static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) {
        fc_error(MODULE, "fsync %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

//  Writes the partition to DIR/<part>.csv.gz, durably: into a temporary file, fsync'd,
//  then linked to its final name and the directory fsync'd. link() never replaces a
//  file: if <part>.csv.gz exists (the day was recreated after an earlier drop, by a late
//  event, or a previous attempt failed after archiving), the archive gets the first free
//  name <part>-2.csv.gz, -3, ... so no archived row is ever overwritten. The final path
//  goes to path. Returns the row count or -1.
static int64_t s_archive(PGconn *conn, const char *part, const char *quoted, const char *dir,
                         char *path, size_t path_size)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.csv.gz.tmp", dir, part);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        fc_error(MODULE, "create %s: %s", tmp, strerror(errno));
        return -1;
    }
    //  gzclose closes the descriptor it was given: hand it a duplicate and keep fd for
    //  the fsync once zlib has flushed everything.
    int gzfd = dup(fd);
    gzFile gz = gzfd >= 0 ? gzdopen(gzfd, "wb6") : NULL;
    if (!gz) {
        fc_error(MODULE, "gzip %s: %s", tmp, strerror(errno));
        if (gzfd >= 0)
            close(gzfd);
        close(fd);
        unlink(tmp);
        return -1;
    }
    int64_t rows = s_copy_out(conn, quoted, gz);
    int zrc = gzclose(gz);
    if (rows >= 0 && zrc != Z_OK) {
        fc_error(MODULE, "write %s: gzclose failed (%d)", tmp, zrc);
        rows = -1;
    }
    if (rows >= 0 && fsync(fd) != 0) {
        fc_error(MODULE, "fsync %s: %s", tmp, strerror(errno));
        rows = -1;
    }
    close(fd);
    for (int i = 1; rows >= 0; i++) {
        if (i == 1)
            snprintf(path, path_size, "%s/%s.csv.gz", dir, part);
        else
            snprintf(path, path_size, "%s/%s-%d.csv.gz", dir, part, i);
        if (link(tmp, path) == 0)
            break;
        if (errno != EEXIST || i >= 1000) {
            fc_error(MODULE, "link %s: %s", path, strerror(errno));
            rows = -1;
        }
    }
    unlink(tmp);
    if (rows >= 0 && s_fsync_dir(dir) != 0)
        rows = -1;
    return rows;
}

//  Archives (when dir is set) and drops one partition, in one transaction.
//
//  The SHARE lock on the partition stops late events for that day from arriving
//  between the COPY and the DROP (they would be dropped without being archived); it
//  leaves reads alone and does not touch other days. DETACH then needs an ACCESS
//  EXCLUSIVE lock on events itself, which waits for in-flight ingest transactions; a
//  short lock_timeout bounds how long our queued request stalls writers and readers
//  behind it. If an ingest batch holding events is itself waiting for this day's
//  partition, Postgres reports a deadlock and aborts one side: either way nothing is
//  lost (ingest retries; a failed retention leaves the partition for the next run).
//  The archive is fsync'd before the DROP is committed.
static int s_drop(PGconn *conn, const char *part, const char *dir, int64_t keep_days)
{
    char *quoted = PQescapeIdentifier(conn, part, strlen(part));
    if (!quoted) {
        fc_error(MODULE, "%s: %s", part, fc_pg_error(conn));
        return -1;
    }
    char sql[512], path[4096] = "";
    int64_t rows = -1;
    int rc = -1;
    snprintf(sql, sizeof sql, "BEGIN; LOCK TABLE public.%s IN SHARE MODE", quoted);
    if (fc_pg_exec(conn, MODULE, part, sql))
        goto done;
    if (*dir)
        rows = s_archive(conn, part, quoted, dir, path, sizeof path);
    else {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM public.%s", quoted);
        PGresult *res = fc_pg_query(conn, MODULE, part, sql, 0, NULL);
        if (res)
            rows = fc_pg_int(res, 0, 0);
        PQclear(res);
    }
    if (rows < 0)
        goto done;
    snprintf(sql, sizeof sql,
             "SET LOCAL lock_timeout = '10s';"
             " ALTER TABLE public.events DETACH PARTITION public.%s;"
             " DROP TABLE public.%s",
             quoted, quoted);
    if (fc_pg_exec(conn, MODULE, part, sql))
        goto done;
    char rows_s[24], keep_s[24];
    snprintf(rows_s, sizeof rows_s, "%lld", (long long)rows);
    snprintf(keep_s, sizeof keep_s, "%lld", (long long)keep_days);
    const char *params[] = {part, rows_s, *path ? path : NULL, keep_s};
    PGresult *res = fc_pg_query(
        conn, MODULE, "audit",
        "INSERT INTO audit_log (actor, action, object, after)"
        " VALUES ('fleetcost retention as ' || current_user, 'retention.drop_partition', $1,"
        " jsonb_build_object('rows', $2::bigint, 'archive', $3::text, 'keep_days', $4::int))",
        4, params);
    if (!res)
        goto done;
    PQclear(res);
    if (fc_pg_exec(conn, MODULE, "commit", "COMMIT"))
        goto done;
    rc = 0;
    if (*path)
        printf("retention: dropped %s (%lld rows, archived to %s)\n", part, (long long)rows, path);
    else
        printf("retention: dropped %s (%lld rows, not archived)\n", part, (long long)rows);
    fflush(stdout);
done:
    if (rc)
        fc_pg_rollback(conn);
    PQfreemem(quoted);
    return rc;
}

int cmd_retention(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *config = fc_config_load("fleetcost retention",
                                         "drop (and optionally archive) old daily event partitions",
                                         tables, argc, argv, 0, 0, &rc);
    if (!config)
        return rc;
    int64_t keep_days = fc_config_int(config, "keep-days");
    bool dry_run = fc_config_bool(config, "dry-run");
    char dir[2048];
    snprintf(dir, sizeof dir, "%s", fc_config_str(config, "archive"));
    PGconn *conn = fc_pg_connect(fc_config_str(config, "pg-url"), MODULE);
    fc_config_destroy(&config);
    if (!conn)
        return 1;
    if (*dir && !dry_run && mkdir(dir, 0750) != 0 && errno != EEXIST) {
        fc_error(MODULE, "archive directory %s: %s", dir, strerror(errno));
        PQfinish(conn);
        return 1;
    }

    //  Daily partitions whose whole UTC day lies before today - keep_days, oldest first.
    char keep_s[24];
    snprintf(keep_s, sizeof keep_s, "%lld", (long long)keep_days);
    const char *params[] = {keep_s};
    PGresult *res = fc_pg_query(
        conn, MODULE, "list partitions",
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'public.events'::regclass AND c.relname ~ '^events_[0-9]{8}$'"
        "   AND to_date(substr(c.relname, 8), 'YYYYMMDD')"
        "       < (now() AT TIME ZONE 'UTC')::date - $1::int"
        " ORDER BY c.relname",
        1, params);
    if (!res) {
        PQfinish(conn);
        return 1;
    }
    int total = PQntuples(res), dropped = 0;
    rc = 0;
    for (int i = 0; i < total && !fc_signal_stopping(); i++) {
        const char *part = PQgetvalue(res, i, 0);
        if (dry_run) {
            printf("retention: would drop %s%s%s\n", part, *dir ? ", archiving to " : "", dir);
            continue;
        }
        if (s_drop(conn, part, dir, keep_days) != 0) {
            rc = 1;
            break; //  keep the order: never drop a newer day while an older one failed
        }
        dropped++;
    }
    PQclear(res);
    PQfinish(conn);
    if (dry_run)
        printf("retention: %d partition%s older than %lld days (dry run)\n", total,
               total == 1 ? "" : "s", (long long)keep_days);
    else if (total == 0)
        printf("retention: nothing older than %lld days\n", (long long)keep_days);
    else
        printf("retention: %d of %d partition%s dropped\n", dropped, total, total == 1 ? "" : "s");
    return rc;
}
